//! The value model shared by the writer and the reader.
//!
//! It is the JSON data model plus one extra case, `Bytes`, for a Node `Buffer`:
//! on the write side the napi layer turns every value that Baileys' replacer
//! would turn into `{"type":"Buffer","data":"<base64>"}` into `Bytes`; on the
//! read side the reviver turns every object that Baileys' reviver would turn
//! into a `Buffer` into `Bytes`.

use super::js_string::JsString;

#[derive(Debug, Clone, PartialEq)]
pub enum Value {
  /// Only as an own property's value (`initAuthCreds` has keys whose value is
  /// `undefined`); the writer skips it in objects and writes `null` in arrays,
  /// as `JSON.stringify` does.
  Undefined,
  Null,
  Bool(bool),
  Number(f64),
  String(JsString),
  /// A Node `Buffer`.
  Bytes(Vec<u8>),
  Array(Vec<Value>),
  /// Own enumerable properties in the order JavaScript enumerates them
  /// for the object the entries came from (see [`Object`]).
  Object(Object),
}

/// An object's own properties, each key at most once.
///
/// On the write side the order is the one `JSON.stringify` walks (the napi
/// layer reads it from V8). On the read side it is the text order with
/// duplicates collapsed the way `JSON.parse` does (first position, last value);
/// JavaScript's own property order (integer-like keys first) is applied by V8
/// when the object is built, and by [`Object::js_order`] where the reviver needs it.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Object {
  pub entries: Vec<(JsString, Value)>,
}

impl Object {
  pub fn new() -> Self {
    Object { entries: Vec::new() }
  }

  pub fn with_capacity(n: usize) -> Self {
    Object { entries: Vec::with_capacity(n) }
  }

  /// The value of an own property, as `obj[key]` would give it for a parsed
  /// object (whose prototype holds no enumerable data).
  pub fn get(&self, key: &str) -> Option<&Value> {
    self.entries.iter().find(|(k, _)| k.eq_str(key)).map(|(_, v)| v)
  }

  pub fn has(&self, key: &str) -> bool {
    self.get(key).is_some()
  }

  pub fn len(&self) -> usize {
    self.entries.len()
  }

  pub fn is_empty(&self) -> bool {
    self.entries.is_empty()
  }

  pub fn push(&mut self, key: impl Into<JsString>, value: Value) {
    self.entries.push((key.into(), value));
  }

  /// Indices of `entries` in JavaScript's [[OwnPropertyKeys]] order:
  /// array-index keys ("0" … "4294967294" in canonical form) ascending,
  /// then every other key in insertion order.
  pub fn js_order(&self) -> Vec<usize> {
    let mut index_keys: Vec<(u32, usize)> = Vec::new();
    let mut other_keys: Vec<usize> = Vec::new();
    for (i, (k, _)) in self.entries.iter().enumerate() {
      match k.as_array_index() {
        Some(n) => index_keys.push((n, i)),
        None => other_keys.push(i),
      }
    }
    index_keys.sort_unstable_by_key(|&(n, _)| n);
    index_keys.into_iter().map(|(_, i)| i).chain(other_keys).collect()
  }
}

impl Value {
  pub fn str(s: &str) -> Value {
    Value::String(JsString::from(s))
  }

  /// JavaScript truthiness (`!!value`) of a value of this model.
  pub fn is_truthy(&self) -> bool {
    match self {
      Value::Undefined | Value::Null => false,
      Value::Bool(b) => *b,
      Value::Number(n) => *n != 0.0 && !n.is_nan(),
      Value::String(s) => !s.is_empty(),
      Value::Bytes(_) | Value::Array(_) | Value::Object(_) => true,
    }
  }

  pub fn as_js_string(&self) -> Option<&JsString> {
    match self {
      Value::String(s) => Some(s),
      _ => None,
    }
  }

  pub fn as_object(&self) -> Option<&Object> {
    match self {
      Value::Object(o) => Some(o),
      _ => None,
    }
  }
}

#[cfg(test)]
mod tests {
  use super::*;

  #[test]
  fn js_order_puts_array_indices_first() {
    let mut o = Object::new();
    for k in ["b", "4294967295", "4294967294", "01", "1", "0", "-1"] {
      o.push(k, Value::Null);
    }
    let keys: Vec<String> = o.js_order().into_iter().map(|i| o.entries[i].0.to_string_lossy()).collect();
    assert_eq!(keys, ["0", "1", "4294967294", "b", "4294967295", "01", "-1"]);
  }

  #[test]
  fn truthiness_follows_javascript() {
    assert!(!Value::Number(f64::NAN).is_truthy());
    assert!(!Value::Number(-0.0).is_truthy());
    assert!(!Value::str("").is_truthy());
    assert!(Value::str("0").is_truthy());
    assert!(Value::Bytes(vec![]).is_truthy());
    assert!(Value::Object(Object::new()).is_truthy());
  }
}
