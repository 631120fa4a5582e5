//! `ToNumber` and `ToString` of parsed values (the abstract operations, for
//! the values a JSON file can hold once revived: no functions, no symbols,
//! and plain objects whose prototype is `Object.prototype`).

use super::js_number::{format_number, string_to_number};
use super::revive_error::ReviveError;
use super::value::Value;

const NO_PRIMITIVE: ReviveError = ReviveError { message: "Cannot convert object to primitive value" };

/// `ToNumber` of a parsed value.
pub fn to_number(v: &Value) -> Result<f64, ReviveError> {
  Ok(match v {
    Value::Undefined => f64::NAN,
    Value::Null => 0.0,
    Value::Bool(b) => *b as u8 as f64,
    Value::Number(n) => *n,
    Value::String(s) => string_to_number(&s.code_units()),
    _ => {
      let text = to_primitive_string(v)?;
      string_to_number(&text.encode_utf16().collect::<Vec<_>>())
    }
  })
}

/// `ToPrimitive` of an object value, which for every object a JSON file can
/// give ends in its `toString()`: a Buffer decodes as UTF-8, an array joins,
/// a plain object is "[object Object]" unless an own non-callable `toString`
/// hides the prototype's (then nothing is callable: TypeError).
fn to_primitive_string(v: &Value) -> Result<String, ReviveError> {
  match v {
    Value::Bytes(b) => Ok(String::from_utf8_lossy(b).into_owned()),
    Value::Array(items) => {
      let mut out = String::new();
      for (i, item) in items.iter().enumerate() {
        if i > 0 {
          out.push(',');
        }
        match item {
          Value::Null | Value::Undefined => {}
          other => out.push_str(&to_js_string(other)?),
        }
      }
      Ok(out)
    }
    Value::Object(obj) => {
      if obj.has("toString") {
        Err(NO_PRIMITIVE)
      } else {
        Ok("[object Object]".to_owned())
      }
    }
    other => to_js_string(other),
  }
}

/// `ToString` of a parsed value.
pub fn to_js_string(v: &Value) -> Result<String, ReviveError> {
  Ok(match v {
    Value::Undefined => "undefined".to_owned(),
    Value::Null => "null".to_owned(),
    Value::Bool(b) => b.to_string(),
    Value::Number(n) => {
      if n.is_nan() {
        "NaN".to_owned()
      } else if n.is_infinite() {
        if *n > 0.0 { "Infinity" } else { "-Infinity" }.to_owned()
      } else {
        format_number(*n)
      }
    }
    Value::String(s) => s.to_string_lossy(),
    _ => return to_primitive_string(v),
  })
}
