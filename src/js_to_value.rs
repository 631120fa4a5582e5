//! JavaScript value → [`Value`], making every decision that
//! `JSON.stringify(value, BufferJSON.replacer)` makes, on the JavaScript
//! thread (it may call `toJSON`, getters and `Buffer.from`). The bytes are
//! produced later, off the thread, from the [`Value`].
//!
//! SerializeJSONProperty, step by step:
//! 1. objects, functions and BigInts: `value = value.toJSON(key)` if callable;
//! 2. the replacer: a `Uint8Array` (so any `Buffer`) or an object whose `type`
//!    is `'Buffer'` becomes `{type:'Buffer', data: base64(Buffer.from(value.data || value))}`;
//! 3. `Number`/`String`/`Boolean` objects are unwrapped;
//! 4. null, booleans, strings, numbers are written; BigInt throws a TypeError;
//!    arrays and plain objects are walked (own enumerable string keys only);
//!    `undefined`, functions and symbols are skipped in objects and `null` in arrays.
//!
//! Departures, on purpose: a cycle or nesting deeper than [`MAX_DEPTH`] is
//! refused up front (Baileys' writer throws a TypeError / RangeError too, but
//! only once it gets there); and since the whole value is walked before
//! anything is written, a `set` that throws writes nothing at all.

use baileys_auth_core::codec::{JsString, Object, Value, MAX_DEPTH};

use crate::js::{Js, JsErr, JsResult, Type, Val};
use crate::realm::Realm;

/// Where a value sits in its holder: `toJSON` is called with this key.
#[derive(Clone, Copy)]
enum Key {
  Root,
  Name(Val),
  Index(u32),
}

pub struct Walker<'a> {
  js: Js,
  realm: &'a Realm,
  /// Objects being walked, for cycle detection (as `JSON.stringify`'s stack).
  ancestors: Vec<Val>,
}

impl<'a> Walker<'a> {
  pub fn new(js: Js, realm: &'a Realm) -> Self {
    Walker { js, realm, ancestors: Vec::new() }
  }

  /// `JSON.stringify(value, BufferJSON.replacer)` as a [`Value`]; `None` is
  /// the `undefined` that `JSON.stringify` returns for a function, a symbol or
  /// `undefined` at the top.
  pub fn walk_root(&mut self, value: Val) -> JsResult<Option<Value>> {
    self.ancestors.clear();
    self.property(Key::Root, value)
  }

  fn key_value(&self, key: Key) -> JsResult<Val> {
    match key {
      Key::Root => self.js.str_utf8(""),
      Key::Name(v) => Ok(v),
      Key::Index(i) => self.js.str_utf8(&i.to_string()),
    }
  }

  fn property(&mut self, key: Key, mut value: Val) -> JsResult<Option<Value>> {
    let js = self.js;
    let mut t = js.type_of(value)?;
    // Whether `value` is a Uint8Array, when already known.
    let mut is_uint8: Option<bool> = None;

    if matches!(t, Type::Object | Type::Function | Type::BigInt) {
      let bytes = if t == Type::Object { js.uint8_bytes(value)? } else { None };
      let to_json = js.get(value, self.realm.to_json_key)?;
      if let Some(bytes) = bytes {
        // A Buffer whose toJSON is Buffer.prototype.toJSON: toJSON then the
        // replacer give exactly its bytes, so take them directly.
        if js.strict_equals(to_json, self.realm.buffer_to_json)? {
          return Ok(Some(Value::Bytes(bytes.to_vec())));
        }
      }
      if js.type_of(to_json)? == Type::Function {
        let k = self.key_value(key)?;
        value = js.call(to_json, value, &[k])?;
        t = js.type_of(value)?;
      } else if t == Type::Object {
        is_uint8 = Some(bytes.is_some());
      }
    }

    if matches!(t, Type::Object | Type::Function) {
      let uint8 = match is_uint8 {
        Some(known) => known,
        None => js.uint8_bytes(value)?.is_some(),
      };
      if uint8 || self.type_is_buffer(value)? {
        return Ok(Some(Value::Bytes(self.replacer_bytes(value)?)));
      }
    }

    if t == Type::Object {
      if let Some(unwrapped) = self.unwrap_boxed(value)? {
        value = unwrapped;
        t = js.type_of(value)?;
      }
    }

    Ok(Some(match t {
      Type::Null => Value::Null,
      Type::Boolean => Value::Bool(js.boolean(value)?),
      Type::Number => Value::Number(js.number(value)?),
      Type::String => Value::String(JsString::from_utf16(js.utf16_fast(value)?)),
      Type::BigInt => return Err(JsErr::Type("Do not know how to serialize a BigInt".into())),
      Type::Object => {
        self.enter(value)?;
        let v = if js.is_array(value)? { self.array(value)? } else { self.object(value)? };
        self.ancestors.pop();
        v
      }
      Type::Undefined | Type::Function | Type::Symbol | Type::External => return Ok(None),
    }))
  }

  /// `value?.type === 'Buffer'` (a full `[[Get]]`).
  fn type_is_buffer(&self, value: Val) -> JsResult<bool> {
    let t = self.js.get(value, self.realm.type_key)?;
    self.js.strict_equals(t, self.realm.buffer_string)
  }

  /// `Buffer.from(value?.data || value)`: the common cases directly, any
  /// other value through Node's own `Buffer.from` (which throws where Baileys' would).
  fn replacer_bytes(&self, value: Val) -> JsResult<Vec<u8>> {
    let js = self.js;
    let data = js.get(value, self.realm.data_key)?;
    let source = if js.truthy(data)? { data } else { value };
    if let Some(bytes) = js.uint8_bytes(source)? {
      return Ok(bytes.to_vec());
    }
    if js.type_of(source)? == Type::String {
      return Ok(js.utf8_lossy(source)?.into_bytes());
    }
    let buf = js.call(self.realm.buffer_from, self.realm.buffer, &[source])?;
    match js.uint8_bytes(buf)? {
      Some(bytes) => Ok(bytes.to_vec()),
      None => Err(JsErr::Type("Buffer.from did not return a Buffer".into())),
    }
  }

  /// The primitive inside a `Number`, `String`, `Boolean` or `BigInt` object
  /// (recognised by prototype chain; plain objects are skipped quickly).
  fn unwrap_boxed(&self, value: Val) -> JsResult<Option<Val>> {
    let js = self.js;
    let proto = js.prototype_of(value)?;
    if js.strict_equals(proto, self.realm.object_prototype)? || js.type_of(proto)? == Type::Null {
      return Ok(None);
    }
    if js.is_array(value)? {
      return Ok(None);
    }
    if js.instance_of(value, self.realm.number)? {
      return Ok(Some(js.double(js.to_number(value)?)?));
    }
    if js.instance_of(value, self.realm.string)? {
      return Ok(Some(js.to_string(value)?));
    }
    if js.instance_of(value, self.realm.boolean)? {
      let f = js.get_named(value, c"valueOf")?;
      return Ok(Some(js.call(f, value, &[])?));
    }
    if js.instance_of(value, self.realm.bigint)? {
      return Err(JsErr::Type("Do not know how to serialize a BigInt".into()));
    }
    Ok(None)
  }

  fn enter(&mut self, value: Val) -> JsResult<()> {
    for &a in &self.ancestors {
      if self.js.strict_equals(a, value)? {
        return Err(JsErr::Type("Converting circular structure to JSON".into()));
      }
    }
    if self.ancestors.len() >= MAX_DEPTH {
      return Err(JsErr::Range("Maximum call stack size exceeded (value nested too deeply to store)".into()));
    }
    self.ancestors.push(value);
    Ok(())
  }

  fn array(&mut self, arr: Val) -> JsResult<Value> {
    let js = self.js;
    let len = js.get_named(arr, c"length")?;
    let len = js.to_number(len)?.clamp(0.0, u32::MAX as f64) as u32;
    let mut items = Vec::with_capacity(len.min(1 << 16) as usize);
    for i in 0..len {
      let v = js.get_element(arr, i)?;
      items.push(self.property(Key::Index(i), v)?.unwrap_or(Value::Null));
    }
    Ok(Value::Array(items))
  }

  fn object(&mut self, obj: Val) -> JsResult<Value> {
    let js = self.js;
    let keys = js.own_keys(obj)?;
    let n = js.array_length(keys)?;
    let mut out = Object::with_capacity(n as usize);
    for i in 0..n {
      let k = js.get_element(keys, i)?;
      let v = js.get(obj, k)?;
      if let Some(v) = self.property(Key::Name(k), v)? {
        out.push(JsString::from_utf16(js.utf16_fast(k)?), v);
      }
    }
    Ok(Value::Object(out))
  }
}
