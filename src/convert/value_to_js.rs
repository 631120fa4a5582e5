//! [`Value`] → JavaScript value, as `JSON.parse` with Baileys' reviver builds
//! it: plain objects with own data properties (a `__proto__` key included),
//! arrays, strings with their lone surrogates, and Buffers.
//!
//! Small Buffers are views on shared slabs, as Node's own pool makes them
//! (`Buffer.from(base64)` below 4 KiB, which is what Baileys' reader gives):
//! one allocation for many keys instead of one each, which is most of the
//! cost of building a `get` result. Larger ones get their own memory.
//!
//! Making a view calls `Buffer.from(slab, offset, length)`, which can run
//! JavaScript (a getter on `ArrayBuffer.prototype.byteLength`, say) that may
//! detach the slab. So the slab's memory is never remembered: each write looks
//! it up afresh ([`Js::write_arraybuffer`]) and starts a new slab when the old
//! one is gone, and a view that `Buffer.from` did not make as asked is
//! replaced by a copy.

use baileys_auth_core::codec::{JsString, Value};

use crate::ffi::js::{Js, JsResult, Val};
use crate::ffi::realm::Realm;

/// Buffers below this size share a slab (Node's pool takes those below 4 KiB).
const POOLED_BELOW: usize = 4096;
const SLAB_SIZE: usize = 64 * 1024;

pub struct Builder<'a> {
  js: Js,
  realm: Option<&'a Realm>,
  slab: Option<Slab>,
  /// Property names already made in this result (`public`, `private`…
  /// repeat in every key): made once, reused.
  keys: Vec<(String, Val)>,
  /// Array index names already made in this result.
  indices: Vec<Val>,
}

/// How many distinct property names a result remembers.
const KEY_CACHE: usize = 32;

struct Slab {
  array_buffer: Val,
  used: usize,
}

impl<'a> Builder<'a> {
  /// With a realm, small Buffers share slabs; without, each is copied alone.
  pub fn new(js: Js, realm: Option<&'a Realm>) -> Self {
    Builder { js, realm, slab: None, keys: Vec::new(), indices: Vec::new() }
  }

  pub fn build(&mut self, value: &Value) -> JsResult<Val> {
    let js = self.js;
    match value {
      Value::Undefined => js.undefined(),
      Value::Null => js.null(),
      Value::Bool(b) => js.bool_value(*b),
      Value::Number(n) => js.double(*n),
      Value::String(s) => string(&js, s),
      Value::Bytes(b) => self.buffer(b),
      Value::Array(items) => {
        let arr = js.array(items.len())?;
        let mut props = Vec::with_capacity(items.len());
        for (i, item) in items.iter().enumerate() {
          props.push((self.index_name(i)?, self.build(item)?));
        }
        js.define_data_properties(arr, &props)?;
        Ok(arr)
      }
      Value::Object(obj) => {
        let o = js.object()?;
        // Defined, never assigned, as `JSON.parse` does: an assignment would
        // run a setter that other code put on `Object.prototype` (or
        // `Array.prototype` for elements) in the middle of building, handing
        // it the values. One call per object, in entry order, keeps the text's
        // key order.
        let mut props = Vec::with_capacity(obj.entries.len());
        for (k, v) in &obj.entries {
          props.push((self.key(k)?, self.build(v)?));
        }
        js.define_data_properties(o, &props)?;
        Ok(o)
      }
    }
  }

  /// The property name of array index `i` ("0", "1", …), made once per result.
  fn index_name(&mut self, i: usize) -> JsResult<Val> {
    while self.indices.len() <= i {
      let name = self.js.str_utf8(&self.indices.len().to_string())?;
      self.indices.push(name);
    }
    Ok(self.indices[i])
  }

  fn key(&mut self, k: &JsString) -> JsResult<Val> {
    let JsString::Utf8(text) = k else { return string(&self.js, k) };
    if let Some((_, v)) = self.keys.iter().find(|(s, _)| s == text) {
      return Ok(*v);
    }
    let v = self.js.str_utf8(text)?;
    if self.keys.len() < KEY_CACHE {
      self.keys.push((text.clone(), v));
    }
    Ok(v)
  }

  fn buffer(&mut self, bytes: &[u8]) -> JsResult<Val> {
    let js = self.js;
    let Some(realm) = self.realm else { return js.buffer_copy(bytes) };
    if bytes.is_empty() || bytes.len() >= POOLED_BELOW {
      return js.buffer_copy(bytes);
    }
    let Some(offset) = self.place_in_slab(bytes)? else { return js.buffer_copy(bytes) };
    let ab = self.slab.as_ref().map(|s| s.array_buffer).unwrap_or(std::ptr::null_mut());
    let off = js.double(offset as f64)?;
    let len = js.double(bytes.len() as f64)?;
    let view = js.call(realm.buffer_from, realm.buffer, &[ab, off, len])?;
    if js.is_uint8_view_of(view, ab, offset, bytes.len())? {
      Ok(view)
    } else {
      Ok(js.buffer_copy(bytes)?)
    }
  }

  /// Copies `bytes` into the current slab (a new one when it is full or was
  /// detached) and returns their offset, or `None` if no slab takes them.
  fn place_in_slab(&mut self, bytes: &[u8]) -> JsResult<Option<usize>> {
    let js = self.js;
    for fresh in [false, true] {
      if fresh || self.slab.as_ref().is_none_or(|s| s.used + bytes.len() > SLAB_SIZE) {
        self.slab = Some(Slab { array_buffer: js.arraybuffer(SLAB_SIZE)?, used: 0 });
      }
      let Some(slab) = self.slab.as_mut() else { continue };
      let offset = slab.used;
      if js.write_arraybuffer(slab.array_buffer, offset, bytes)? {
        // Keep views 8-byte aligned, as Node's pool does.
        slab.used = (offset + bytes.len() + 7) & !7;
        return Ok(Some(offset));
      }
    }
    Ok(None)
  }
}

/// A value on its own (each Buffer with its own memory).
pub fn to_js(js: &Js, value: &Value) -> JsResult<Val> {
  Builder::new(*js, None).build(value)
}

pub fn string(js: &Js, s: &JsString) -> JsResult<Val> {
  match s {
    JsString::Utf8(text) => js.str_utf8(text),
    JsString::Utf16(units) => js.str_utf16(units),
  }
}
