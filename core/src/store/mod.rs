//! The crash-safe file store under an auth folder.

pub mod error;
pub mod faults;
pub mod files;
pub mod folder;
pub mod io;
pub mod reaper;

pub use error::StoreError;
pub use folder::{Folder, OpenOptions};
pub use io::{Io, RealIo};
