//! Handles that live longer than one Node-API call: handle scopes (RAII
//! guards), references held across the asynchronous part of a call, and the
//! conversions to and from napi-rs' own types.

use std::ptr;

use napi::sys;

use super::js::{Js, JsErr, JsResult, Type, Val};

impl Js {
  /// Opens a handle scope, closed when the guard drops: every handle made
  /// meanwhile is released then.
  pub fn handle_scope(&self) -> HandleScope {
    let mut scope = ptr::null_mut();
    // A scope that cannot be opened leaves handles in the enclosing one,
    // which is only less frugal.
    let opened = napi_call!(self, napi_open_handle_scope(&mut scope)).is_ok();
    HandleScope { env: self.env, scope: if opened { scope } else { ptr::null_mut() } }
  }

  /// Throws `v` (for a synchronous export about to return).
  pub fn throw(&self, v: Val) {
    let _ = napi_call!(self, napi_throw(v));
  }

  /// Hands `v` to napi-rs as the return value of an export.
  pub fn as_unknown<'a>(&self, v: Val) -> napi::bindgen_prelude::Unknown<'a> {
    // SAFETY: `v` is a handle of this environment, made during the current
    // call, and napi-rs returns it to JavaScript before the scope closes.
    unsafe { napi::bindgen_prelude::Unknown::from_raw_unchecked(self.env, v) }
  }

  /// A napi-rs class instance (`#[napi] struct`) as a JavaScript value.
  pub fn class_instance<T: napi::bindgen_prelude::ToNapiValue>(&self, v: T) -> JsResult<Val> {
    // SAFETY: a valid env (see `from_raw`); napi-rs wraps `v` in a new object.
    unsafe { T::to_napi_value(self.env, v) }.map_err(|e| JsErr::Error(e.reason.clone()))
  }
}

/// An open handle scope; closed on drop (see [`Js::handle_scope`]).
pub struct HandleScope {
  env: sys::napi_env,
  scope: sys::napi_handle_scope,
}

impl Drop for HandleScope {
  fn drop(&mut self) {
    if !self.scope.is_null() {
      // SAFETY: the scope was opened on this env by `Js::handle_scope`, during
      // the callback still running (the guard cannot outlive it), and scopes
      // close in reverse order of opening because guards drop that way.
      unsafe { sys::napi_close_handle_scope(self.env, self.scope) };
    }
  }
}

/// A reference to a JavaScript value, kept across the asynchronous part of a
/// call (a logger, a class) and released when the call settles.
pub struct HeldRef {
  env: sys::napi_env,
  reference: sys::napi_ref,
  thread: std::thread::ThreadId,
}

// SAFETY: the handles are only used on the thread that made them: `value`
// takes that thread's `Js`, and `drop` checks the thread.
unsafe impl Send for HeldRef {}

impl HeldRef {
  /// A reference to `v`, or `None` for `undefined`/`null`/no value.
  pub fn new(js: &Js, v: Option<Val>) -> JsResult<Option<HeldRef>> {
    match v {
      Some(v) if !matches!(js.type_of(v)?, Type::Undefined | Type::Null) => {
        Ok(Some(HeldRef { env: js.env, reference: js.create_reference(v)?, thread: std::thread::current().id() }))
      }
      _ => Ok(None),
    }
  }

  /// The value (the reference is released when this handle drops).
  pub fn value(&self, js: &Js) -> JsResult<Val> {
    js.reference_value(self.reference)
  }
}

impl Drop for HeldRef {
  /// Released on the JavaScript thread that made it, whether the call
  /// succeeded or failed. (Dropped anywhere else means its environment is
  /// gone, and the reference with it.)
  fn drop(&mut self) {
    if std::thread::current().id() == self.thread {
      // SAFETY: on the thread that made the reference, whose env lives as
      // long as that thread runs JavaScript; settled calls drop it inside a
      // thread-safe-function callback of that env.
      let js = unsafe { Js::from_raw(self.env) };
      js.delete_reference(self.reference);
    }
  }
}
