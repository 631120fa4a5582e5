//! Thin, checked wrappers over the raw Node-API calls the binding needs.
//!
//! The binding talks to Node-API directly rather than through napi-rs'
//! higher-level types, because matching `JSON.stringify` exactly needs calls
//! those types make in other ways (own-only enumerable keys, `[[Get]]` with
//! getters, data properties defined without `[[Set]]`, typed-array kinds).

// `to_string`/`to_number` name the JavaScript conversions they perform.
#![allow(clippy::wrong_self_convention)]

use std::ffi::CStr;
use std::ptr;

use napi::sys;

/// Why a call into JavaScript did not give a value.
#[derive(Debug)]
pub enum JsErr {
  /// A JavaScript exception is pending (thrown by user code, a getter, `toJSON`…).
  Pending,
  Type(String),
  Range(String),
  Error(String),
}

pub type JsResult<T> = Result<T, JsErr>;

/// The Node-API environment of the callback running on this thread.
///
/// Every method is one checked Node-API call (or a few); any of them that can
/// run JavaScript (a getter, a Proxy trap, `toJSON`, a called function) may
/// change any JavaScript memory, which is why no method hands out a borrow of
/// JavaScript memory: bytes are copied out while no JavaScript can run
/// ([`Js::uint8_copy`]) and written in after the memory was looked up afresh
/// ([`Js::write_arraybuffer`]).
#[derive(Clone, Copy)]
pub struct Js {
  pub(super) env: sys::napi_env,
}

pub type Val = sys::napi_value;

/// `typeof`, as Node-API reports it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Type {
  Undefined,
  Null,
  Boolean,
  Number,
  String,
  Symbol,
  Object,
  Function,
  External,
  BigInt,
}

impl Js {
  /// # Safety
  /// `env` must be the environment of the Node-API callback (or finalizer,
  /// cleanup hook, thread-safe-function call) running now on this thread,
  /// and the value is only used during it.
  pub unsafe fn from_raw(env: sys::napi_env) -> Js {
    Js { env }
  }

  /// The environment napi-rs hands an exported function.
  pub fn from_env(env: &napi::Env) -> Js {
    // SAFETY: napi-rs gives an exported function the `Env` of the call it
    // is running in, on this thread.
    unsafe { Js::from_raw(env.raw()) }
  }

  pub fn raw_env(&self) -> sys::napi_env {
    self.env
  }

  pub fn check(&self, status: sys::napi_status) -> JsResult<()> {
    if status == sys::Status::napi_ok {
      return Ok(());
    }
    let mut pending = false;
    // SAFETY: a valid env (see `from_raw`) and a local out-pointer.
    unsafe { sys::napi_is_exception_pending(self.env, &mut pending) };
    if pending || status == sys::Status::napi_pending_exception {
      return Err(JsErr::Pending);
    }
    Err(JsErr::Error(format!("Node-API call failed (status {status})")))
  }

  pub fn type_of(&self, v: Val) -> JsResult<Type> {
    let mut t = 0;
    napi_call!(self, napi_typeof(v, &mut t))?;
    Ok(match t {
      sys::ValueType::napi_undefined => Type::Undefined,
      sys::ValueType::napi_null => Type::Null,
      sys::ValueType::napi_boolean => Type::Boolean,
      sys::ValueType::napi_number => Type::Number,
      sys::ValueType::napi_string => Type::String,
      sys::ValueType::napi_symbol => Type::Symbol,
      sys::ValueType::napi_object => Type::Object,
      sys::ValueType::napi_function => Type::Function,
      sys::ValueType::napi_bigint => Type::BigInt,
      _ => Type::External,
    })
  }

  /// `obj[name]`: a full `[[Get]]` (prototype chain, getters).
  pub fn get_named(&self, obj: Val, name: &CStr) -> JsResult<Val> {
    let mut out = ptr::null_mut();
    napi_call!(self, napi_get_named_property(obj, name.as_ptr(), &mut out))?;
    Ok(out)
  }

  pub fn get(&self, obj: Val, key: Val) -> JsResult<Val> {
    let mut out = ptr::null_mut();
    napi_call!(self, napi_get_property(obj, key, &mut out))?;
    Ok(out)
  }

  pub fn get_element(&self, obj: Val, index: u32) -> JsResult<Val> {
    let mut out = ptr::null_mut();
    napi_call!(self, napi_get_element(obj, index, &mut out))?;
    Ok(out)
  }

  /// `Object.hasOwn(obj, key)`.
  pub fn has_own(&self, obj: Val, key: Val) -> JsResult<bool> {
    let mut b = false;
    napi_call!(self, napi_has_own_property(obj, key, &mut b))?;
    Ok(b)
  }

  /// `index in obj` (HasProperty).
  pub fn has_element(&self, obj: Val, index: u32) -> JsResult<bool> {
    let mut b = false;
    napi_call!(self, napi_has_element(obj, index, &mut b))?;
    Ok(b)
  }

  /// `obj[key] = value` (`[[Set]]`).
  pub fn set(&self, obj: Val, key: Val, value: Val) -> JsResult<()> {
    napi_call!(self, napi_set_property(obj, key, value))
  }

  pub fn set_named(&self, obj: Val, name: &CStr, value: Val) -> JsResult<()> {
    napi_call!(self, napi_set_named_property(obj, name.as_ptr(), value))
  }

  pub fn set_element(&self, arr: Val, index: u32, value: Val) -> JsResult<()> {
    napi_call!(self, napi_set_element(arr, index, value))
  }

  pub fn is_array(&self, v: Val) -> JsResult<bool> {
    let mut b = false;
    napi_call!(self, napi_is_array(v, &mut b))?;
    Ok(b)
  }

  pub fn array_length(&self, v: Val) -> JsResult<u32> {
    let mut n = 0;
    napi_call!(self, napi_get_array_length(v, &mut n))?;
    Ok(n)
  }

  pub fn strict_equals(&self, a: Val, b: Val) -> JsResult<bool> {
    let mut r = false;
    napi_call!(self, napi_strict_equals(a, b, &mut r))?;
    Ok(r)
  }

  pub fn instance_of(&self, v: Val, ctor: Val) -> JsResult<bool> {
    let mut r = false;
    napi_call!(self, napi_instanceof(v, ctor, &mut r))?;
    Ok(r)
  }

  pub fn prototype_of(&self, v: Val) -> JsResult<Val> {
    let mut out = ptr::null_mut();
    napi_call!(self, napi_get_prototype(v, &mut out))?;
    Ok(out)
  }

  /// Own, enumerable, string-keyed property names, in `Object.keys` order.
  pub fn own_keys(&self, obj: Val) -> JsResult<Val> {
    let mut out = ptr::null_mut();
    napi_call!(
      self,
      napi_get_all_property_names(
        obj,
        sys::KeyCollectionMode::own_only,
        sys::KeyFilter::enumerable | sys::KeyFilter::skip_symbols,
        sys::KeyConversion::numbers_to_strings,
        &mut out,
      )
    )?;
    Ok(out)
  }

  /// The names a `for…in` loop visits (own and inherited, enumerable, strings).
  pub fn for_in_keys(&self, obj: Val) -> JsResult<Val> {
    let mut out = ptr::null_mut();
    napi_call!(self, napi_get_property_names(obj, &mut out))?;
    Ok(out)
  }

  pub fn call(&self, func: Val, this: Val, args: &[Val]) -> JsResult<Val> {
    let mut out = ptr::null_mut();
    napi_call!(self, napi_call_function(this, func, args.len(), args.as_ptr(), &mut out))?;
    Ok(out)
  }

  pub fn new_instance(&self, ctor: Val, args: &[Val]) -> JsResult<Val> {
    let mut out = ptr::null_mut();
    napi_call!(self, napi_new_instance(ctor, args.len(), args.as_ptr(), &mut out))?;
    Ok(out)
  }

  /// A string's UTF-16 code units (lone surrogates included).
  pub fn utf16(&self, v: Val) -> JsResult<Vec<u16>> {
    let mut len = 0usize;
    napi_call!(self, napi_get_value_string_utf16(v, ptr::null_mut(), 0, &mut len))?;
    let mut buf: Vec<u16> = vec![0; len + 1];
    let mut written = 0usize;
    napi_call!(self, napi_get_value_string_utf16(v, buf.as_mut_ptr(), buf.len(), &mut written))?;
    buf.truncate(written);
    Ok(buf)
  }

  /// Like [`Js::utf16`], with one call for strings of up to 255 code units
  /// (keys and ids nearly always are).
  pub fn utf16_fast(&self, v: Val) -> JsResult<Vec<u16>> {
    let mut buf = [0u16; 256];
    let mut written = 0usize;
    napi_call!(self, napi_get_value_string_utf16(v, buf.as_mut_ptr(), buf.len(), &mut written))?;
    if written < buf.len() - 1 {
      return Ok(buf[..written].to_vec());
    }
    self.utf16(v)
  }

  /// `!!v` with one call for objects (always truthy) and strings.
  pub fn truthy_typed(&self, v: Val, t: Type) -> JsResult<bool> {
    match t {
      Type::Object | Type::Function | Type::Symbol | Type::External => Ok(true),
      Type::Undefined | Type::Null => Ok(false),
      _ => self.truthy(v),
    }
  }

  /// A string as UTF-8, lone surrogates replaced by U+FFFD (as Node's
  /// `Buffer.from(str)` and file paths do).
  pub fn utf8_lossy(&self, v: Val) -> JsResult<String> {
    let mut len = 0usize;
    napi_call!(self, napi_get_value_string_utf8(v, ptr::null_mut(), 0, &mut len))?;
    let mut buf: Vec<u8> = vec![0; len + 1];
    let mut written = 0usize;
    napi_call!(self, napi_get_value_string_utf8(v, buf.as_mut_ptr() as *mut _, buf.len(), &mut written))?;
    buf.truncate(written);
    Ok(String::from_utf8(buf).unwrap_or_else(|e| String::from_utf8_lossy(e.as_bytes()).into_owned()))
  }

  pub fn number(&self, v: Val) -> JsResult<f64> {
    let mut n = 0.0;
    napi_call!(self, napi_get_value_double(v, &mut n))?;
    Ok(n)
  }

  pub fn boolean(&self, v: Val) -> JsResult<bool> {
    let mut b = false;
    napi_call!(self, napi_get_value_bool(v, &mut b))?;
    Ok(b)
  }

  /// `!!v` (ToBoolean).
  pub fn truthy(&self, v: Val) -> JsResult<bool> {
    let mut out = ptr::null_mut();
    napi_call!(self, napi_coerce_to_bool(v, &mut out))?;
    self.boolean(out)
  }

  /// `String(v)` for a template literal (`${v}`): ToString, which throws for symbols.
  pub fn to_string(&self, v: Val) -> JsResult<Val> {
    let mut out = ptr::null_mut();
    napi_call!(self, napi_coerce_to_string(v, &mut out))?;
    Ok(out)
  }

  pub fn to_number(&self, v: Val) -> JsResult<f64> {
    let mut out = ptr::null_mut();
    napi_call!(self, napi_coerce_to_number(v, &mut out))?;
    self.number(out)
  }

  /// ToObject (a `for…in` over a primitive walks its wrapper).
  pub fn to_object(&self, v: Val) -> JsResult<Val> {
    let mut out = ptr::null_mut();
    napi_call!(self, napi_coerce_to_object(v, &mut out))?;
    Ok(out)
  }

  pub fn undefined(&self) -> JsResult<Val> {
    let mut out = ptr::null_mut();
    napi_call!(self, napi_get_undefined(&mut out))?;
    Ok(out)
  }

  pub fn null(&self) -> JsResult<Val> {
    let mut out = ptr::null_mut();
    napi_call!(self, napi_get_null(&mut out))?;
    Ok(out)
  }

  pub fn global(&self) -> JsResult<Val> {
    let mut out = ptr::null_mut();
    napi_call!(self, napi_get_global(&mut out))?;
    Ok(out)
  }

  pub fn bool_value(&self, b: bool) -> JsResult<Val> {
    let mut out = ptr::null_mut();
    napi_call!(self, napi_get_boolean(b, &mut out))?;
    Ok(out)
  }

  pub fn double(&self, n: f64) -> JsResult<Val> {
    let mut out = ptr::null_mut();
    napi_call!(self, napi_create_double(n, &mut out))?;
    Ok(out)
  }

  /// `new Date(ms)`.
  pub fn date(&self, ms: f64) -> JsResult<Val> {
    let mut out = ptr::null_mut();
    napi_call!(self, napi_create_date(ms, &mut out))?;
    Ok(out)
  }

  pub fn str_utf8(&self, s: &str) -> JsResult<Val> {
    let mut out = ptr::null_mut();
    napi_call!(self, napi_create_string_utf8(s.as_ptr() as *const _, s.len() as isize, &mut out))?;
    Ok(out)
  }

  pub fn str_utf16(&self, units: &[u16]) -> JsResult<Val> {
    let mut out = ptr::null_mut();
    napi_call!(self, napi_create_string_utf16(units.as_ptr(), units.len() as isize, &mut out))?;
    Ok(out)
  }

  pub fn object(&self) -> JsResult<Val> {
    let mut out = ptr::null_mut();
    napi_call!(self, napi_create_object(&mut out))?;
    Ok(out)
  }

  pub fn array(&self, len: usize) -> JsResult<Val> {
    let mut out = ptr::null_mut();
    napi_call!(self, napi_create_array_with_length(len, &mut out))?;
    Ok(out)
  }

  /// Defines own data properties (writable, enumerable, configurable) in one
  /// call, as `JSON.parse` creates them: never through a setter, so a
  /// `__proto__` key stays an ordinary own property.
  pub fn define_data_properties(&self, obj: Val, props: &[(Val, Val)]) -> JsResult<()> {
    if props.is_empty() {
      return Ok(());
    }
    let attrs = sys::PropertyAttributes::writable | sys::PropertyAttributes::enumerable | sys::PropertyAttributes::configurable;
    let descs: Vec<sys::napi_property_descriptor> = props
      .iter()
      .map(|&(name, value)| sys::napi_property_descriptor {
        utf8name: ptr::null(),
        name,
        method: None,
        getter: None,
        setter: None,
        value,
        attributes: attrs,
        data: ptr::null_mut(),
      })
      .collect();
    napi_call!(self, napi_define_properties(obj, descs.len(), descs.as_ptr()))
  }

  pub fn create_reference(&self, v: Val) -> JsResult<sys::napi_ref> {
    let mut out = ptr::null_mut();
    napi_call!(self, napi_create_reference(v, 1, &mut out))?;
    Ok(out)
  }

  pub fn reference_value(&self, r: sys::napi_ref) -> JsResult<Val> {
    let mut out = ptr::null_mut();
    napi_call!(self, napi_get_reference_value(r, &mut out))?;
    Ok(out)
  }

  pub fn delete_reference(&self, r: sys::napi_ref) {
    let _ = napi_call!(self, napi_delete_reference(r));
  }

  /// The pending exception, cleared.
  pub fn take_exception(&self) -> Option<Val> {
    let mut pending = false;
    napi_call!(self, napi_is_exception_pending(&mut pending)).ok()?;
    if !pending {
      return None;
    }
    let mut out = ptr::null_mut();
    napi_call!(self, napi_get_and_clear_last_exception(&mut out)).ok()?;
    Some(out)
  }

  pub fn type_error(&self, message: &str) -> JsResult<Val> {
    self.make_error(ErrorKind::Type, None, message)
  }

  pub fn range_error(&self, message: &str) -> JsResult<Val> {
    self.make_error(ErrorKind::Range, None, message)
  }

  pub fn error(&self, message: &str) -> JsResult<Val> {
    self.make_error(ErrorKind::Plain, None, message)
  }

  fn make_error(&self, kind: ErrorKind, code: Option<&str>, message: &str) -> JsResult<Val> {
    let msg = self.str_utf8(message)?;
    let code = match code {
      Some(c) => self.str_utf8(c)?,
      None => ptr::null_mut(),
    };
    let mut out = ptr::null_mut();
    match kind {
      ErrorKind::Type => napi_call!(self, napi_create_type_error(code, msg, &mut out))?,
      ErrorKind::Range => napi_call!(self, napi_create_range_error(code, msg, &mut out))?,
      ErrorKind::Plain => napi_call!(self, napi_create_error(code, msg, &mut out))?,
    }
    Ok(out)
  }

  /// The JavaScript error value for a [`JsErr`] (taking a pending exception).
  pub fn error_value(&self, e: JsErr) -> Val {
    let made = match e {
      JsErr::Pending => return self.take_exception().unwrap_or_else(|| self.error("unknown JavaScript error").unwrap_or(ptr::null_mut())),
      JsErr::Type(m) => self.type_error(&m),
      JsErr::Range(m) => self.range_error(&m),
      JsErr::Error(m) => self.error(&m),
    };
    made.unwrap_or_else(|_| self.take_exception().unwrap_or(ptr::null_mut()))
  }

  pub fn create_promise(&self) -> JsResult<(sys::napi_deferred, Val)> {
    let mut deferred = ptr::null_mut();
    let mut promise = ptr::null_mut();
    napi_call!(self, napi_create_promise(&mut deferred, &mut promise))?;
    Ok((deferred, promise))
  }

  /// Resolves or rejects (and so frees) a deferred of this environment.
  pub fn settle(&self, deferred: sys::napi_deferred, result: Result<Val, Val>) {
    let _ = match result {
      Ok(v) => napi_call!(self, napi_resolve_deferred(deferred, v)),
      Err(e) => napi_call!(self, napi_reject_deferred(deferred, e)),
    };
  }
}

#[derive(Clone, Copy)]
enum ErrorKind {
  Type,
  Range,
  Plain,
}
