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
//!
//! Bounded work: an array whose `length` V8's `JSON.stringify` refuses
//! (≥ 2³² or more than half the longest string) throws V8's own `RangeError`
//! before anything is read; and one walk takes at most [`MAX_NODES`] array
//! elements and object entries (far above any auth value), checked before
//! anything is allocated for them, so a Proxy that lies about its length
//! costs nothing. That limit is ours: V8 would grind on until memory or the
//! string length ran out.
//!
//! Memory safety: JavaScript may run at nearly every step (getters, Proxy
//! traps, `toJSON`, `valueOf`), and it can detach, transfer or resize any
//! buffer. So bytes are never borrowed from a view: they are copied with
//! [`Js::uint8_copy`] after the last call that could run JavaScript, and the
//! copy is used only if the view still has the length the walk decided on.

use baileys_auth_core::codec::{JsString, Object, Value, MAX_DEPTH};

use crate::ffi::js::{Js, JsErr, JsResult, Type, Val};
use crate::ffi::realm::Realm;

/// Where a value sits in its holder: `toJSON` is called with this key.
#[derive(Clone, Copy)]
enum Key {
  Root,
  Name(Val),
  Index(u32),
}

/// Array elements plus object entries one walk takes (about 8 million).
pub const MAX_NODES: usize = 1 << 23;

/// V8's `String::kMaxLength` on 64-bit targets: `JSON.stringify` refuses an
/// array longer than half of it, since each element takes two characters.
const V8_MAX_STRING_LENGTH: f64 = ((1u64 << 29) - 24) as f64;

pub struct Walker<'a> {
  js: Js,
  realm: &'a Realm,
  /// Objects being walked, for cycle detection (as `JSON.stringify`'s stack).
  ancestors: Vec<Val>,
  /// Elements and entries this walk may still take (see [`MAX_NODES`]).
  budget: usize,
}

impl<'a> Walker<'a> {
  pub fn new(js: Js, realm: &'a Realm) -> Self {
    Walker { js, realm, ancestors: Vec::new(), budget: MAX_NODES }
  }

  /// `JSON.stringify(value, BufferJSON.replacer)` as a [`Value`]; `None` is
  /// the `undefined` that `JSON.stringify` returns for a function, a symbol or
  /// `undefined` at the top.
  pub fn walk_root(&mut self, value: Val) -> JsResult<Option<Value>> {
    self.ancestors.clear();
    self.budget = MAX_NODES;
    self.property(Key::Root, value)
  }

  /// Takes `n` elements or entries from the walk's budget, or refuses the
  /// whole value before anything is allocated for them.
  fn take_budget(&mut self, n: usize) -> JsResult<()> {
    if n > self.budget {
      return Err(JsErr::Range(format!(
        "value too large to store: more than {MAX_NODES} array elements and object entries in one value (the limit of baileys-auth-native)"
      )));
    }
    self.budget -= n;
    Ok(())
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
      let uint8 = if t == Type::Object { js.uint8_len(value)?.is_some() } else { false };
      let to_json = js.get(value, self.realm.to_json_key)?;
      // A Buffer whose toJSON is Buffer.prototype.toJSON: toJSON then the
      // replacer give exactly its bytes, so take them directly.
      if uint8 && js.strict_equals(to_json, self.realm.buffer_to_json)? {
        if let Some(bytes) = self.view_bytes_as_copied(value, false)? {
          return Ok(Some(Value::Bytes(bytes)));
        }
      }
      if js.type_of(to_json)? == Type::Function {
        let k = self.key_value(key)?;
        value = js.call(to_json, value, &[k])?;
        t = js.type_of(value)?;
      } else if t == Type::Object {
        is_uint8 = Some(uint8);
      }
    }

    // The value's prototype, for the tests below (Node-API gives `null` for a Proxy).
    let mut proto = None;
    if matches!(t, Type::Object | Type::Function) {
      let p = js.prototype_of(value)?;
      proto = Some(p);
      let uint8 = self.replacer_sees_uint8(value, p, is_uint8)?;
      if uint8 || self.type_is_buffer(value)? {
        return Ok(Some(Value::Bytes(self.replacer_bytes(value)?)));
      }
    }

    if t == Type::Object {
      if let Some(unwrapped) = self.unwrap_boxed(value, proto)? {
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
        let v = if self.is_array(value, proto)? { self.array(value)? } else { self.object(value)? };
        self.ancestors.pop();
        v
      }
      Type::Undefined | Type::Function | Type::Symbol | Type::External => return Ok(None),
    }))
  }

  /// Baileys' `Buffer.isBuffer(value) || value instanceof Uint8Array`.
  ///
  /// Fix (differential tests): that is a prototype-chain test, not a brand
  /// check (we used to ask Node-API whether the value is a Uint8Array). A
  /// Proxy of a Uint8Array or an `Object.create(Uint8Array.prototype)` passes
  /// it (and then makes Buffer.from throw, as in Baileys); a Uint8Array whose
  /// prototype was replaced does not (it is walked as an object). `brand` is
  /// what Node-API said, when already asked. An object whose prototype is
  /// `Object.prototype`, the common case, is decided without another call.
  fn replacer_sees_uint8(&self, value: Val, proto: Val, brand: Option<bool>) -> JsResult<bool> {
    let js = self.js;
    if js.strict_equals(proto, self.realm.object_prototype)? {
      return Ok(false);
    }
    match js.instance_of(value, self.realm.uint8_array) {
      Ok(b) => Ok(b),
      Err(JsErr::Pending) => Err(JsErr::Pending),
      Err(_) => Ok(match brand {
        Some(b) => b,
        None => js.uint8_len(value)?.is_some(),
      }),
    }
  }

  /// `Array.isArray(value)` (IsArray, which sees through a Proxy).
  ///
  /// Fix (differential tests): Node-API's `napi_is_array` is false for a
  /// Proxy of an array, which JSON.stringify writes as an array. Node-API
  /// reports a `null` prototype for every Proxy, so only such objects are
  /// asked again through `Array.isArray`.
  fn is_array(&self, value: Val, proto: Option<Val>) -> JsResult<bool> {
    let js = self.js;
    if js.is_array(value)? {
      return Ok(true);
    }
    match proto {
      Some(p) if js.type_of(p)? == Type::Null => {
        let r = js.call(self.realm.array_is_array, self.realm.object_prototype, &[value])?;
        js.boolean(r)
      }
      _ => Ok(false),
    }
  }

  /// The bytes of the view `value` as `Buffer.prototype.toJSON` (or, with
  /// `via_value_of`, `Buffer.from`) would copy them, when they can be taken
  /// directly: the view has no own `length` (that function reads `length` on
  /// every step), its `length` is its true length, and for `Buffer.from` its
  /// `valueOf` is the standard one. `None` sends the value the general way,
  /// through the real functions.
  ///
  /// The bytes are copied after the last call that can run JavaScript, and
  /// kept only if the view still has the length `length` gave: a getter that
  /// shrinks, detaches or transfers the buffer sends it the general way too.
  fn view_bytes_as_copied(&self, value: Val, via_value_of: bool) -> JsResult<Option<Vec<u8>>> {
    let js = self.js;
    if js.has_own(value, self.realm.length_key)? {
      return Ok(None);
    }
    let length = js.get(value, self.realm.length_key)?;
    // Not a number: Node-API says so without an exception.
    let Ok(length) = js.number(length) else { return Ok(None) };
    if via_value_of && !self.standard_value_of(value)? {
      return Ok(None);
    }
    Ok(js.uint8_copy(value)?.filter(|bytes| bytes.len() as f64 == length))
  }

  /// `value.valueOf === Object.prototype.valueOf` (a full `[[Get]]`; the
  /// original `valueOf`, whatever the realm's is now).
  fn standard_value_of(&self, value: Val) -> JsResult<bool> {
    let js = self.js;
    let own = js.get_named(value, c"valueOf")?;
    js.strict_equals(own, self.realm.object_value_of)
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
    if js.uint8_len(source)?.is_some() {
      // Buffer.from(view) calls `view.valueOf()` and copies `view.length`
      // elements: only a view with the standard `valueOf` and its true
      // `length` is copied directly.
      if let Some(bytes) = self.view_bytes_as_copied(source, true)? {
        return Ok(bytes);
      }
    }
    if js.type_of(source)? == Type::String {
      return Ok(js.utf8_lossy(source)?.into_bytes());
    }
    let buf = js.call(self.realm.buffer_from, self.realm.buffer, &[source])?;
    // Copied at once: nothing runs between Buffer.from's return and the copy.
    match js.uint8_copy(buf)? {
      Some(bytes) => Ok(bytes),
      None => Err(JsErr::Type("Buffer.from did not return a Buffer".into())),
    }
  }

  /// The primitive inside a `Number`, `String`, `Boolean` or `BigInt` object
  /// (recognised by prototype chain; plain objects are skipped quickly).
  ///
  /// Known departure: a boxed primitive whose prototype is not its usual one
  /// (replaced with `Object.setPrototypeOf`, or from another realm) is walked
  /// as an object, where JSON.stringify unwraps it by internal slot. Telling
  /// those apart would take a throwing brand check on every plain object.
  fn unwrap_boxed(&self, value: Val, proto: Option<Val>) -> JsResult<Option<Val>> {
    let js = self.js;
    let proto = match proto {
      Some(p) => p,
      None => js.prototype_of(value)?,
    };
    if js.strict_equals(proto, self.realm.object_prototype)? || js.type_of(proto)? == Type::Null {
      return Ok(None);
    }
    if js.is_array(value)? {
      return Ok(None);
    }
    // Fix (differential tests): the prototype chain only suggests a boxed
    // primitive; JSON.stringify goes by the internal slot. An
    // `Object.create(Number.prototype)` has none (it is a plain `{}` to
    // JSON.stringify, and made us throw), and a `Boolean` object's own
    // `valueOf` is never called (we used to call it). `slot_value` checks the slot.
    let [number_value_of, string_value_of, boolean_value_of, bigint_value_of] = self.realm.value_ofs;
    if js.instance_of(value, self.realm.number)? && self.slot_value(number_value_of, value)?.is_some() {
      return Ok(Some(js.double(js.to_number(value)?)?));
    }
    if js.instance_of(value, self.realm.string)? && self.slot_value(string_value_of, value)?.is_some() {
      return Ok(Some(js.to_string(value)?));
    }
    if js.instance_of(value, self.realm.boolean)? {
      if let Some(b) = self.slot_value(boolean_value_of, value)? {
        return Ok(Some(b));
      }
    }
    if js.instance_of(value, self.realm.bigint)? && self.slot_value(bigint_value_of, value)?.is_some() {
      return Err(JsErr::Type("Do not know how to serialize a BigInt".into()));
    }
    Ok(None)
  }

  /// `valueOf.call(value)` with the original `Number`, `String`, `Boolean`
  /// or `BigInt.prototype.valueOf`: the primitive in the value's
  /// [[NumberData]] / [[StringData]] / [[BooleanData]] / [[BigIntData]]
  /// slot, or `None` when it has no such slot (those methods throw then).
  fn slot_value(&self, value_of: Val, value: Val) -> JsResult<Option<Val>> {
    let js = self.js;
    match js.call(value_of, value, &[]) {
      Ok(v) => Ok(Some(v)),
      Err(JsErr::Pending) => {
        js.take_exception();
        Ok(None)
      }
      Err(e) => Err(e),
    }
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
    // ToLength, then V8's refusals (json-stringifier: a length that is no
    // uint32, or more elements than half the longest string, is "Invalid
    // string length" before any element is read).
    let len = js.to_number(len)?;
    let len = if len.is_nan() || len <= 0.0 { 0.0 } else { len.trunc() };
    if len > u32::MAX as f64 || len > V8_MAX_STRING_LENGTH / 2.0 {
      return Err(JsErr::Range("Invalid string length".into()));
    }
    let len = len as u32;
    self.take_budget(len as usize)?;
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
    self.take_budget(n as usize)?;
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
