//! The parts of the stats and verify reports every backend shares, as values.

use std::collections::BTreeMap;

use baileys_auth_core::codec::{Object, Value};
use baileys_auth_core::report::{Finding, TypeCount};

pub fn opt_str(s: Option<&str>) -> Value {
  s.map(Value::str).unwrap_or(Value::Null)
}

/// `{ [type]: { keys, bytes } }`.
pub fn by_type_value(by_type: &BTreeMap<String, TypeCount>) -> Value {
  let mut out = Object::new();
  for (t, c) in by_type {
    let mut e = Object::new();
    e.push("keys", Value::Number(c.keys as f64));
    e.push("bytes", Value::Number(c.bytes as f64));
    out.push(t.as_str(), Value::Object(e));
  }
  Value::Object(out)
}

/// `{ type, id, problem, detail }`.
pub fn finding_value(f: &Finding) -> Value {
  let mut e = Object::new();
  e.push("type", opt_str(f.key_type.as_deref()));
  e.push("id", opt_str(f.id.as_deref()));
  e.push("problem", Value::str(f.problem));
  e.push("detail", Value::str(&f.detail));
  Value::Object(e)
}
