//! The napi layer of baileys-auth-native: converts between JavaScript values
//! and the pure-Rust core (`baileys_auth_core`) and settles promises. No
//! codec, naming or file logic lives here.
//!
//! - [`backend_store`]: the `NativeKeyStore` class over any core backend (folder, SQLite,
//!   PostgreSQL); [`open`]: `openFolderStore`, `openSqliteAuthState` and what every open shares;
//!   [`postgres_store`]: `openPostgresAuthState` (its arguments; the calls are `NativeKeyStore`'s).
//! - [`calls`]: what every store's calls share (arguments, settlement, reads as values, the `set` walk).
//! - [`plain_exports`]: the plain functions over a folder (`loadKeys`, `saveKeys`, …).
//! - [`codec_exports`]: the file codec on its own (`encodeAuthValue`, `decodeAuthValue`), `initAuthCreds`.
//! - [`convert`]: JavaScript values ⇄ the core's values (the value walk and the value building).
//! - [`folder_tools`], [`sqlite_tools`]: `inspectFolder`, `inspectSqlite` (the CLI's stats and verify;
//!   [`reports`]: the parts of those reports every backend shares).
//! - [`errors`]: core errors as JavaScript errors; [`tasks`]: blocking work on the worker pool.
//! - [`ffi`]: raw Node-API (checked calls, handle scopes, cached built-ins,
//!   promises settled from the worker threads): nearly all `unsafe` code is there.

// Under `cfg(test)` (as `cargo clippy --all-targets` builds it) napi-derive
// registers no exports, so every exported function would look unused.
#![cfg_attr(test, allow(dead_code))]
#![deny(clippy::all)]
// Every `unsafe` block states the invariant it relies on.
#![deny(clippy::undocumented_unsafe_blocks, unsafe_op_in_unsafe_fn)]

mod backend_store;
mod calls;
mod codec_exports;
mod convert;
mod errors;
mod ffi;
mod folder_tools;
mod open;
mod plain_exports;
mod postgres_store;
mod reports;
mod sqlite_tools;
mod tasks;
