//! `Buffer.from(val)` of Node 20 for the values a parsed (and revived) JSON
//! file can hold, which Baileys v6's reviver hands to it: a Buffer, an array,
//! a plain object, a number or `true`. Strings never get here (they are base64).
//!
//! Node's `Buffer.from` (lib/buffer.js): `valueOf()` first, then `fromObject`
//! (`length` present → `fromArrayLike`; `{type:'Buffer', data:[..]}` → its
//! data), else a TypeError. Array elements go through `ToNumber` and then
//! `ToUint8`, as a `Uint8Array` stores them.

use super::js_convert::to_number;
use super::js_number::to_uint8;
use super::revive_error::ReviveError;
use super::value::{Object, Value};

/// Node would allocate this much (or more) for `{"length": 1e9}`; we refuse
/// instead of letting a 30-byte file claim a gigabyte.
const MAX_BUFFER_FROM_LENGTH: f64 = 64.0 * 1024.0 * 1024.0;

const NOT_BUFFERABLE: ReviveError = ReviveError {
  message: "The first argument must be of type string or an instance of Buffer, ArrayBuffer, or Array or an Array-like Object",
};
const TOO_LONG: ReviveError = ReviveError { message: "Invalid typed array length" };

pub fn buffer_from(val: &Value) -> Result<Vec<u8>, ReviveError> {
  match val {
    Value::Bytes(b) => Ok(b.clone()),
    Value::Array(items) => items.iter().map(|v| to_number(v).map(to_uint8)).collect(),
    Value::Object(obj) => object_buffer_from(obj),
    // Buffer.from(number | boolean | null): not an object, not a string.
    _ => Err(NOT_BUFFERABLE),
  }
}

fn object_buffer_from(obj: &Object) -> Result<Vec<u8>, ReviveError> {
  // `value.valueOf && value.valueOf()`: an own `valueOf` shadows the
  // prototype's; a truthy one is not callable (TypeError), an empty string is
  // used as the value, other falsy ones are ignored.
  if let Some(own) = obj.get("valueOf") {
    if own.is_truthy() {
      return Err(ReviveError { message: "value.valueOf is not a function" });
    }
    if matches!(own, Value::String(_)) {
      return Ok(Vec::new());
    }
  }
  if let Some(length) = obj.get("length") {
    return match length {
      Value::Number(n) => array_like(obj, *n),
      _ => Ok(Vec::new()),
    };
  }
  if matches!(obj.get("type"), Some(Value::String(t)) if t.eq_str("Buffer")) {
    if let Some(Value::Array(items)) = obj.get("data") {
      return items.iter().map(|v| to_number(v).map(to_uint8)).collect();
    }
  }
  Err(NOT_BUFFERABLE)
}

/// `fromArrayLike(obj)` for a plain object with a numeric `length`.
fn array_like(obj: &Object, length: f64) -> Result<Vec<u8>, ReviveError> {
  if length <= 0.0 || length.is_nan() {
    return Ok(Vec::new());
  }
  if length >= MAX_BUFFER_FROM_LENGTH {
    return Err(TOO_LONG);
  }
  let n = length.trunc() as usize;
  (0..n)
    .map(|i| match obj.get(&i.to_string()) {
      Some(v) => to_number(v).map(to_uint8),
      None => Ok(0), // undefined → NaN → 0
    })
    .collect()
}

#[cfg(test)]
mod tests {
  use super::*;
  use crate::codec::parser::parse_file;
  use crate::codec::reviver::Flavor;

  fn from(text: &str) -> Result<Vec<u8>, ReviveError> {
    // Parse without reviving children as v6 would, then call Buffer.from.
    let v = parse_file(text.as_bytes(), Flavor::V7).unwrap();
    buffer_from(&v)
  }

  #[test]
  fn arrays_convert_each_element() {
    assert_eq!(from(r#"[1, 256, -1, "0x10", " 7 ", true, null, [5], [1,2], {}, "x"]"#), Ok(vec![1, 0, 255, 16, 7, 1, 0, 5, 0, 0, 0]));
    assert_eq!(from(r#"[[[3]], [null], []]"#), Ok(vec![3, 0, 0]));
  }

  #[test]
  fn objects_follow_from_object() {
    assert_eq!(from(r#"{"length":2,"0":9}"#), Ok(vec![9, 0]));
    assert_eq!(from(r#"{"length":"2"}"#), Ok(vec![]));
    assert_eq!(from(r#"{"length":null}"#), Ok(vec![]));
    assert_eq!(from(r#"{"length":2.9,"1":"4"}"#), Ok(vec![0, 4]));
    assert_eq!(from(r#"{"type":"Buffer","data":[1,2]}"#), Ok(vec![1, 2]));
    assert_eq!(from(r#"{"valueOf":""}"#), Ok(vec![]));
    assert!(from(r#"{"valueOf":1}"#).is_err());
    assert!(from(r#"{"a":1}"#).is_err());
    assert!(from(r#"{"length":1e12}"#).is_err());
    assert!(from(r#"[{"toString":1}]"#).is_err());
    assert!(from("5").is_err());
  }
}
