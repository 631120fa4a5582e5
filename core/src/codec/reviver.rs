//! `BufferJSON.reviver` of each Baileys line, applied to one parsed object
//! (its children are already revived, as `JSON.parse` does bottom-up).
//!
//! - v7 (and Baileys' main branch):
//!   1. `type === 'Buffer'` and a string `data` → `Buffer.from(data, 'base64')`;
//!   2. a non-empty object whose every key passes `parseInt(key, 10)` and whose
//!      every value is a number → `Buffer.from(Object.values(obj))` (old files
//!      that stored a `Uint8Array` as `{"0":..,"1":..}`).
//! - v6: `buffer === true` or `type === 'Buffer'` → `val = data || value`;
//!   a string is base64, anything else goes through `Buffer.from(val || [])`,
//!   which throws for numbers, `true` and most objects (the released helper
//!   then reports the whole file as missing).
//! - `Any` (our default): v7's rules, then v6's where they apply and succeed,
//!   so that every file either line can read is read.

use super::js_buffer_from::buffer_from;
use super::js_number::to_uint8;
use super::node_base64;
use super::revive_error::ReviveError;
use super::value::{Object, Value};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Flavor {
  V6,
  V7,
  #[default]
  Any,
}

impl Flavor {
  pub fn from_name(name: &str) -> Option<Flavor> {
    match name {
      "v6" => Some(Flavor::V6),
      "v7" => Some(Flavor::V7),
      "any" => Some(Flavor::Any),
      _ => None,
    }
  }
}

pub fn revive_object(obj: Object, flavor: Flavor) -> Result<Value, ReviveError> {
  match flavor {
    Flavor::V7 => Ok(revive_v7(&obj).unwrap_or(Value::Object(obj))),
    Flavor::V6 => match revive_v6(&obj) {
      Some(result) => result.map(Value::Bytes),
      None => Ok(Value::Object(obj)),
    },
    Flavor::Any => {
      if let Some(v) = revive_v7(&obj) {
        return Ok(v);
      }
      match revive_v6(&obj) {
        Some(Ok(bytes)) => Ok(Value::Bytes(bytes)),
        _ => Ok(Value::Object(obj)),
      }
    }
  }
}

fn revive_v7(obj: &Object) -> Option<Value> {
  if let (Some(Value::String(t)), Some(Value::String(data))) = (obj.get("type"), obj.get("data")) {
    if t.eq_str("Buffer") {
      return Some(Value::Bytes(decode_base64(data)));
    }
  }
  if obj.is_empty() {
    return None;
  }
  // Values first: the common object fails here without looking at its keys.
  let values_ok = obj.entries.iter().all(|(_, v)| matches!(v, Value::Number(_)));
  if !values_ok || !obj.entries.iter().all(|(k, _)| k.parse_int_gives_number()) {
    return None;
  }
  let bytes = obj
    .js_order()
    .into_iter()
    .map(|i| match obj.entries[i].1 {
      Value::Number(n) => to_uint8(n),
      _ => 0,
    })
    .collect();
  Some(Value::Bytes(bytes))
}

/// `None` when the v6 rule does not apply; `Some(Err)` when it applies and
/// `Buffer.from` would throw.
fn revive_v6(obj: &Object) -> Option<Result<Vec<u8>, ReviveError>> {
  let marked =
    matches!(obj.get("buffer"), Some(Value::Bool(true))) || matches!(obj.get("type"), Some(Value::String(t)) if t.eq_str("Buffer"));
  if !marked {
    return None;
  }
  let val = match obj.get("data") {
    Some(d) if d.is_truthy() => Some(d),
    _ => obj.get("value"),
  };
  Some(match val {
    Some(Value::String(s)) => Ok(decode_base64(s)),
    Some(v) if v.is_truthy() => buffer_from(v),
    _ => Ok(Vec::new()),
  })
}

fn decode_base64(s: &super::js_string::JsString) -> Vec<u8> {
  match s.as_str() {
    Some(text) if text.is_ascii() => node_base64::decode_ascii(text),
    _ => node_base64::decode(&s.code_units()),
  }
}

#[cfg(test)]
mod tests {
  use super::*;
  use crate::codec::parser::parse_file;

  fn read(text: &str, flavor: Flavor) -> Option<Value> {
    parse_file(text.as_bytes(), flavor).ok()
  }

  fn bytes(b: &[u8]) -> Option<Value> {
    Some(Value::Bytes(b.to_vec()))
  }

  #[test]
  fn v7_revives_base64_and_index_objects() {
    assert_eq!(read(r#"{"type":"Buffer","data":"AQID"}"#, Flavor::V7), bytes(&[1, 2, 3]));
    assert_eq!(read(r#"{"1":2,"0":1,"1a":3}"#, Flavor::V7), bytes(&[1, 2, 3]));
    assert_eq!(read(r#"{"0":256.7,"1":-1}"#, Flavor::V7), bytes(&[0, 255]));
    assert!(matches!(read(r#"{"a":1}"#, Flavor::V7), Some(Value::Object(_))));
    assert!(matches!(read(r#"{}"#, Flavor::V7), Some(Value::Object(_))));
    assert!(matches!(read(r#"{"type":"Buffer","data":[1,2]}"#, Flavor::V7), Some(Value::Object(_))));
  }

  #[test]
  fn v6_revives_its_forms_and_throws_where_buffer_from_throws() {
    assert_eq!(read(r#"{"type":"Buffer","data":[1,2,"3",null,true]}"#, Flavor::V6), bytes(&[1, 2, 3, 0, 1]));
    assert_eq!(read(r#"{"buffer":true,"value":"AQID"}"#, Flavor::V6), bytes(&[1, 2, 3]));
    assert_eq!(read(r#"{"type":"Buffer"}"#, Flavor::V6), bytes(&[]));
    assert_eq!(read(r#"{"type":"Buffer","data":5}"#, Flavor::V6), None);
    assert_eq!(read(r#"{"type":"Buffer","data":{"a":1}}"#, Flavor::V6), None);
    assert!(matches!(read(r#"{"0":1}"#, Flavor::V6), Some(Value::Object(_))));
  }

  #[test]
  fn any_reads_both_lines_forms() {
    assert_eq!(read(r#"{"type":"Buffer","data":[1,2]}"#, Flavor::Any), bytes(&[1, 2]));
    assert_eq!(read(r#"{"0":7}"#, Flavor::Any), bytes(&[7]));
    assert!(matches!(read(r#"{"type":"Buffer","data":5}"#, Flavor::Any), Some(Value::Object(_))));
  }
}
