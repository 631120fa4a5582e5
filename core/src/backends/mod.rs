//! Storage backends behind [`crate::backend::Backend`].
//!
//! - [`folder`]: `creds.json` and a file per key, in the format of Baileys' own
//!   `useMultiFileAuthState` (atomic per file);
//! - [`sqlite`]: one database file in the format of Baileys' own SQLite store
//!   (atomic per call);
//! - [`postgres`]: accounts in a shared PostgreSQL database, one owner per
//!   account across hosts (a lease with a fencing token).

pub mod folder;
pub mod postgres;
pub mod sqlite;
