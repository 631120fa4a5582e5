//! The pure-Rust core of baileys-auth-native. Nothing here knows about napi:
//! the napi layer (`../src`) converts JavaScript values to and from
//! [`codec::Value`] and forwards calls to [`keystore::KeyStore`] over a backend.
//!
//! - [`codec`]: Baileys' file format (JSON + BufferJSON), both lines' readers.
//! - [`naming`]: key file names (`fixFileName`); [`listing`]: back from names to ids.
//! - [`store`]: folder, atomic writes, I/O layers (Unix, portable) with fault injection;
//!   [`errno`]: OS error codes by their POSIX names on every platform.
//! - [`scheduler`]: the worker pool and per-file ordering.
//! - [`lock`]: one owner process per folder.
//! - [`inspect`]: what is in a folder, and what cannot be read back (CLI).
//! - [`creds`], [`xeddsa`]: fresh credentials.
//! - [`backend`]: the trait every storage backend implements, over encoded bytes;
//!   [`keystore`]: the auth state over any backend (the codec around it);
//!   [`values`]: what a read answers once decoded;
//!   [`backends`]: the implementations ([`backends::folder`], [`backends::sqlite`]);
//!   [`migrate`]: copying between any two backends, as bytes;
//!   [`report`]: the shape of every backend's stats and verify report.
//! - [`seal`]: encryption at rest, a wrapper around any backend.

pub mod backend;
pub mod backends;
pub mod codec;
pub mod creds;
pub mod errno;
pub mod inspect;
pub mod keystore;
pub mod listing;
pub mod lock;
pub mod migrate;
pub mod naming;
pub mod paths;
pub mod report;
pub mod scheduler;
pub mod seal;
pub mod store;
pub mod values;
pub mod xeddsa;
