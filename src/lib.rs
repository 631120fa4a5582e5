//! The napi layer of baileys-auth-native: converts between JavaScript values
//! and the pure-Rust core (`baileys_auth_core`) and settles promises. No
//! codec, naming or file logic lives here.
//!
//! - [`auth_state`]: the exported functions and the `NativeAuthStore` class.
//! - [`codec_exports`]: the file codec on its own (`encodeAuthValue`, `decodeAuthValue`).
//! - [`js_to_value`] / [`value_to_js`]: JavaScript values ⇄ the core's values.
//! - [`folder_tools`]: `inspectFolder` (the CLI's stats and verify).
//! - [`settle`]: promises settled from the worker threads.
//! - [`errors`]: core errors as JavaScript errors.
//! - [`js`], [`realm`]: raw Node-API helpers and cached built-ins.

// Under `cfg(test)` (as `cargo clippy --all-targets` builds it) napi-derive
// registers no exports, so every exported function would look unused.
#![cfg_attr(test, allow(dead_code))]
#![deny(clippy::all)]

mod auth_state;
mod codec_exports;
mod errors;
mod folder_tools;
mod js;
mod js_to_value;
mod plain_exports;
mod realm;
mod settle;
mod value_to_js;
