//! Built-ins of the JavaScript realm the binding runs in, kept as references
//! per environment (one per JavaScript thread), and the error classes the
//! JavaScript wrapper registers.
//!
//! They are captured once, when the package is loaded (`setErrorClasses`
//! runs then), so replacing `Buffer.from`, `Array.isArray` or a `valueOf`
//! later changes nothing here: the value walk compares with and calls the
//! originals, as `JSON.stringify` uses its internal operations.

use std::cell::RefCell;
use std::ffi::CStr;

use napi::sys;

use crate::ffi::js::{Js, JsErr, JsResult, Val};

struct Refs {
  buffer_to_json: sys::napi_ref,
  buffer_from: sys::napi_ref,
  buffer: sys::napi_ref,
  uint8_array: sys::napi_ref,
  array_is_array: sys::napi_ref,
  object_prototype: sys::napi_ref,
  object_value_of: sys::napi_ref,
  number: sys::napi_ref,
  string: sys::napi_ref,
  boolean: sys::napi_ref,
  bigint: sys::napi_ref,
  value_ofs: [sys::napi_ref; 4],
  syntax_error: sys::napi_ref,
  corrupt_error: Option<sys::napi_ref>,
  locked_error: Option<sys::napi_ref>,
}

thread_local! {
  static REFS: RefCell<Option<Refs>> = const { RefCell::new(None) };
}

/// The built-ins as values of the current handle scope.
pub struct Realm {
  /// `Buffer.prototype.toJSON`, to recognise an untouched Buffer.
  pub buffer_to_json: Val,
  /// `Buffer.from` and `Buffer`, for the rare values the replacer hands to `Buffer.from`.
  pub buffer_from: Val,
  pub buffer: Val,
  /// `Uint8Array`, for Baileys' `value instanceof Uint8Array`.
  pub uint8_array: Val,
  pub array_is_array: Val,
  pub object_prototype: Val,
  /// `Object.prototype.valueOf`, to recognise a view `Buffer.from` copies as it is.
  pub object_value_of: Val,
  pub number: Val,
  pub string: Val,
  pub boolean: Val,
  pub bigint: Val,
  /// `valueOf` of `Number`, `String`, `Boolean` and `BigInt.prototype`, in
  /// that order: they read a boxed primitive's internal slot.
  pub value_ofs: [Val; 4],
  pub syntax_error: Val,
  /// Property names used on every value, created once: `toJSON`, `type`,
  /// `data`, `length`, and the string `'Buffer'` to compare `type` with.
  pub to_json_key: Val,
  pub type_key: Val,
  pub data_key: Val,
  pub length_key: Val,
  pub buffer_string: Val,
  pub corrupt_error: Option<Val>,
  pub locked_error: Option<Val>,
}

fn global_member(js: &Js, name: &CStr) -> JsResult<Val> {
  let g = js.global()?;
  js.get_named(g, name)
}

fn init(js: &Js) -> JsResult<Refs> {
  let buffer = global_member(js, c"Buffer")?;
  let buffer_proto = js.get_named(buffer, c"prototype")?;
  let object = global_member(js, c"Object")?;
  let object_prototype = js.get_named(object, c"prototype")?;
  let array = global_member(js, c"Array")?;
  let r = |v: Val| js.create_reference(v);
  let value_of = |ctor: &CStr| -> JsResult<sys::napi_ref> {
    let proto = js.get_named(global_member(js, ctor)?, c"prototype")?;
    r(js.get_named(proto, c"valueOf")?)
  };
  Ok(Refs {
    buffer_to_json: r(js.get_named(buffer_proto, c"toJSON")?)?,
    buffer_from: r(js.get_named(buffer, c"from")?)?,
    buffer: r(buffer)?,
    uint8_array: r(global_member(js, c"Uint8Array")?)?,
    array_is_array: r(js.get_named(array, c"isArray")?)?,
    object_value_of: r(js.get_named(object_prototype, c"valueOf")?)?,
    object_prototype: r(object_prototype)?,
    number: r(global_member(js, c"Number")?)?,
    string: r(global_member(js, c"String")?)?,
    boolean: r(global_member(js, c"Boolean")?)?,
    bigint: r(global_member(js, c"BigInt")?)?,
    value_ofs: [value_of(c"Number")?, value_of(c"String")?, value_of(c"Boolean")?, value_of(c"BigInt")?],
    syntax_error: r(global_member(js, c"SyntaxError")?)?,
    corrupt_error: None,
    locked_error: None,
  })
}

/// An environment cleanup hook (it touches no JavaScript).
unsafe extern "C" fn forget_refs(_arg: *mut std::ffi::c_void) {
  // The environment is going away and takes its references with it.
  REFS.with(|r| r.borrow_mut().take());
}

fn with_refs<T>(js: &Js, f: impl FnOnce(&mut Refs) -> JsResult<T>) -> JsResult<T> {
  REFS.with(|cell| {
    let mut slot = cell.borrow_mut();
    if slot.is_none() {
      *slot = Some(init(js)?);
      // SAFETY: a valid env (see `Js::from_raw`); the hook takes no data and
      // only clears this thread's cache.
      unsafe { sys::napi_add_env_cleanup_hook(js.raw_env(), Some(forget_refs), std::ptr::null_mut()) };
    }
    match slot.as_mut() {
      Some(refs) => f(refs),
      None => Err(JsErr::Error("realm not initialised".into())),
    }
  })
}

pub fn realm(js: &Js) -> JsResult<Realm> {
  with_refs(js, |r| {
    let v = |x| js.reference_value(x);
    Ok(Realm {
      buffer_to_json: v(r.buffer_to_json)?,
      buffer_from: v(r.buffer_from)?,
      buffer: v(r.buffer)?,
      uint8_array: v(r.uint8_array)?,
      array_is_array: v(r.array_is_array)?,
      object_prototype: v(r.object_prototype)?,
      object_value_of: v(r.object_value_of)?,
      number: v(r.number)?,
      string: v(r.string)?,
      boolean: v(r.boolean)?,
      bigint: v(r.bigint)?,
      value_ofs: [v(r.value_ofs[0])?, v(r.value_ofs[1])?, v(r.value_ofs[2])?, v(r.value_ofs[3])?],
      syntax_error: v(r.syntax_error)?,
      // Strings cannot be referenced before Node-API 9 (Node 20 refuses):
      // they are made once per call instead.
      to_json_key: js.str_utf8("toJSON")?,
      type_key: js.str_utf8("type")?,
      data_key: js.str_utf8("data")?,
      length_key: js.str_utf8("length")?,
      buffer_string: js.str_utf8("Buffer")?,
      corrupt_error: r.corrupt_error.map(v).transpose()?,
      locked_error: r.locked_error.map(v).transpose()?,
    })
  })
}

/// Registers the wrapper's `AuthFileCorruptError` and `AuthFolderLockedError`.
///
/// `intrinsics`, when given, is `{ isArray, valueOfs }` from a fresh realm
/// (the wrapper makes one with `vm` at load): `JSON.stringify` asks IsArray and
/// reads boxed primitives' slots internally, so for those two the walk uses
/// functions that code which ran before the package was loaded cannot have
/// replaced. (Both work on values of any realm.)
pub fn set_error_classes(js: &Js, corrupt: Val, locked: Val, intrinsics: Option<Val>) -> JsResult<()> {
  with_refs(js, |r| {
    if let Some(pristine) = intrinsics {
      let is_array = js.get_named(pristine, c"isArray")?;
      let value_ofs = js.get_named(pristine, c"valueOfs")?;
      let mut fresh = Vec::with_capacity(4);
      for i in 0..4 {
        fresh.push(js.get_element(value_ofs, i)?);
      }
      if js.type_of(is_array)? == crate::ffi::js::Type::Function {
        js.delete_reference(std::mem::replace(&mut r.array_is_array, js.create_reference(is_array)?));
      }
      for (slot, f) in r.value_ofs.iter_mut().zip(fresh) {
        if js.type_of(f)? == crate::ffi::js::Type::Function {
          js.delete_reference(std::mem::replace(slot, js.create_reference(f)?));
        }
      }
    }
    if let Some(old) = r.corrupt_error.take() {
      js.delete_reference(old);
    }
    if let Some(old) = r.locked_error.take() {
      js.delete_reference(old);
    }
    r.corrupt_error = Some(js.create_reference(corrupt)?);
    r.locked_error = Some(js.create_reference(locked)?);
    Ok(())
  })
}
