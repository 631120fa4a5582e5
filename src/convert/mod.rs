//! JavaScript values ⇄ the core's [`baileys_auth_core::codec::Value`]: the
//! value walk of `JSON.stringify` with Baileys' replacer, and the value
//! building of `JSON.parse` with its reviver. Shared by every export.

pub mod js_to_value;
pub mod value_to_js;
