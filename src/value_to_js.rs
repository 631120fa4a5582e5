//! [`Value`] → JavaScript value, as `JSON.parse` with Baileys' reviver builds
//! it: plain objects with own data properties (a `__proto__` key included),
//! arrays, strings with their lone surrogates, and Buffers.
//!
//! Small Buffers are views on shared slabs, as Node's own pool makes them
//! (`Buffer.from(base64)` below 4 KiB, which is what Baileys' reader gives):
//! one allocation for many keys instead of one each, which is most of the
//! cost of building a `get` result. Larger ones get their own memory.

use std::ptr;

use baileys_auth_core::codec::{JsString, Value};
use napi::sys;

use crate::js::{Js, JsResult, Val};
use crate::realm::Realm;

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
}

/// How many distinct property names a result remembers.
const KEY_CACHE: usize = 32;

struct Slab {
  array_buffer: Val,
  data: *mut u8,
  used: usize,
}

impl<'a> Builder<'a> {
  /// With a realm, small Buffers share slabs; without, each is copied alone.
  pub fn new(js: Js, realm: Option<&'a Realm>) -> Self {
    Builder { js, realm, slab: None, keys: Vec::new() }
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
        for (i, item) in items.iter().enumerate() {
          let v = self.build(item)?;
          js.set_element(arr, i as u32, v)?;
        }
        Ok(arr)
      }
      Value::Object(obj) => {
        let o = js.object()?;
        // Each entry is stored at its place, in entry order (see `store_plan`).
        for (i, define) in obj.store_plan() {
          let (k, v) = &obj.entries[i];
          let key = self.key(k)?;
          let value = self.build(v)?;
          if define {
            js.define_data_properties(o, &[(key, value)])?;
          } else {
            js.set(o, key, value)?;
          }
        }
        Ok(o)
      }
    }
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
    if self.slab.as_ref().is_none_or(|s| s.used + bytes.len() > SLAB_SIZE) {
      let mut data = ptr::null_mut();
      let mut ab = ptr::null_mut();
      js.check(unsafe { sys::napi_create_arraybuffer(js.env, SLAB_SIZE, &mut data, &mut ab) })?;
      self.slab = Some(Slab { array_buffer: ab, data: data as *mut u8, used: 0 });
    }
    let Some(slab) = self.slab.as_mut() else { return js.buffer_copy(bytes) };
    let offset = slab.used;
    // SAFETY: the slab holds SLAB_SIZE bytes and offset + len <= SLAB_SIZE.
    unsafe { ptr::copy_nonoverlapping(bytes.as_ptr(), slab.data.add(offset), bytes.len()) };
    // Keep views 8-byte aligned, as Node's pool does.
    slab.used = (offset + bytes.len() + 7) & !7;
    let ab = slab.array_buffer;
    let off = js.double(offset as f64)?;
    let len = js.double(bytes.len() as f64)?;
    js.call(realm.buffer_from, realm.buffer, &[ab, off, len])
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
