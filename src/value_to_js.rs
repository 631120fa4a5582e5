//! [`Value`] → JavaScript value, as `JSON.parse` with Baileys' reviver builds
//! it: plain objects with own data properties (a `__proto__` key included),
//! arrays, strings with their lone surrogates, and Buffers (copied: at the
//! sizes of key files a copy is cheaper than an external buffer).

use baileys_auth_core::codec::{JsString, Value};

use crate::js::{Js, JsResult, Val};

pub fn to_js(js: &Js, value: &Value) -> JsResult<Val> {
  match value {
    Value::Undefined => js.undefined(),
    Value::Null => js.null(),
    Value::Bool(b) => js.bool_value(*b),
    Value::Number(n) => js.double(*n),
    Value::String(s) => string(js, s),
    Value::Bytes(b) => js.buffer_copy(b),
    Value::Array(items) => {
      let arr = js.array(items.len())?;
      for (i, item) in items.iter().enumerate() {
        let v = to_js(js, item)?;
        js.set_element(arr, i as u32, v)?;
      }
      Ok(arr)
    }
    Value::Object(obj) => {
      let o = js.object()?;
      let mut props = Vec::with_capacity(obj.entries.len());
      for (k, v) in &obj.entries {
        props.push((string(js, k)?, to_js(js, v)?));
      }
      js.define_data_properties(o, &props)?;
      Ok(o)
    }
  }
}

pub fn string(js: &Js, s: &JsString) -> JsResult<Val> {
  match s {
    JsString::Utf8(text) => js.str_utf8(text),
    JsString::Utf16(units) => js.str_utf16(units),
  }
}
