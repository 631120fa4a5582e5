//! Settling promises from the worker threads.
//!
//! Each JavaScript thread gets one thread-safe function and one mailbox. A
//! worker that finishes a call drops a closure in the mailbox (and wakes the
//! JavaScript thread only when the mailbox was empty); the JavaScript thread
//! drains the mailbox in one go, building each call's result there. One wake-up
//! can settle many calls, and no per-call thread-safe function is created.
//! The thread-safe function keeps the event loop alive only while promises
//! are pending, like any pending fs operation does.

use std::cell::RefCell;
use std::ffi::c_void;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::ptr;
use std::sync::Arc;

use napi::sys;
use parking_lot::Mutex;

use crate::js::{Js, JsErr, JsResult, Val};

/// Builds a call's outcome on the JavaScript thread: a value to resolve with,
/// or an error value to reject with.
pub type Settle = Box<dyn FnOnce(&Js) -> Result<Val, Val> + Send>;

struct Item {
  deferred: sys::napi_deferred,
  settle: Settle,
}

struct Mailbox {
  items: Vec<Item>,
  tsfn: sys::napi_threadsafe_function,
  /// The environment is gone: nothing may be posted to it any more.
  closed: bool,
}

// The raw handles are only used on the JavaScript thread, or under the lock
// for `napi_call_threadsafe_function`, which Node-API allows from any thread.
unsafe impl Send for Mailbox {}

struct Shared {
  mailbox: Mutex<Mailbox>,
}

struct Local {
  shared: Arc<Shared>,
  tsfn: sys::napi_threadsafe_function,
  pending: usize,
}

thread_local! {
  static LOCAL: RefCell<Option<Local>> = const { RefCell::new(None) };
}

/// A promise waiting for its result; `settle` may be called from any thread.
pub struct Pending {
  shared: Arc<Shared>,
  deferred: sys::napi_deferred,
}

unsafe impl Send for Pending {}

impl Pending {
  pub fn settle(self, settle: Settle) {
    let mut mb = self.shared.mailbox.lock();
    if mb.closed {
      return;
    }
    mb.items.push(Item { deferred: self.deferred, settle });
    if mb.items.len() == 1 {
      unsafe { sys::napi_call_threadsafe_function(mb.tsfn, ptr::null_mut(), sys::ThreadsafeFunctionCallMode::nonblocking) };
    }
  }
}

/// A new promise, and the handle that will settle it.
pub fn begin(js: &Js) -> JsResult<(Pending, Val)> {
  let shared = LOCAL.with(|cell| -> JsResult<Arc<Shared>> {
    let mut slot = cell.borrow_mut();
    if slot.is_none() {
      *slot = Some(create_local(js)?);
    }
    let local = slot.as_mut().ok_or_else(|| JsErr::Error("settle: no mailbox".into()))?;
    local.pending += 1;
    if local.pending == 1 {
      unsafe { sys::napi_ref_threadsafe_function(js.env, local.tsfn) };
    }
    Ok(local.shared.clone())
  })?;
  match js.create_promise() {
    Ok((deferred, promise)) => Ok((Pending { shared, deferred }, promise)),
    Err(e) => {
      finished(js, 1);
      Err(e)
    }
  }
}

/// A promise already settled (for arguments rejected up front). Still
/// asynchronous for the caller, as an `async` function's rejection is.
pub fn settled(js: &Js, result: Result<Val, Val>) -> JsResult<Val> {
  let (deferred, promise) = js.create_promise()?;
  js.settle(deferred, result);
  Ok(promise)
}

fn finished(js: &Js, n: usize) {
  LOCAL.with(|cell| {
    if let Some(local) = cell.borrow_mut().as_mut() {
      local.pending = local.pending.saturating_sub(n);
      if local.pending == 0 {
        unsafe { sys::napi_unref_threadsafe_function(js.env, local.tsfn) };
      }
    }
  });
}

fn create_local(js: &Js) -> JsResult<Local> {
  let shared = Arc::new(Shared { mailbox: Mutex::new(Mailbox { items: Vec::new(), tsfn: ptr::null_mut(), closed: false }) });
  let name = js.str_utf8("baileys-auth-native")?;
  let context = Arc::into_raw(shared.clone()) as *mut c_void;
  let mut tsfn = ptr::null_mut();
  let status = unsafe {
    sys::napi_create_threadsafe_function(
      js.env,
      ptr::null_mut(),
      ptr::null_mut(),
      name,
      0,
      1,
      context,
      Some(release_context),
      context,
      Some(drain),
      &mut tsfn,
    )
  };
  if let Err(e) = js.check(status) {
    unsafe { drop(Arc::from_raw(context as *const Shared)) };
    return Err(e);
  }
  unsafe { sys::napi_unref_threadsafe_function(js.env, tsfn) };
  shared.mailbox.lock().tsfn = tsfn;
  // Registered after the thread-safe function, so it runs before Node
  // tears that function down (cleanup hooks run in reverse order).
  unsafe { sys::napi_add_env_cleanup_hook(js.env, Some(close), Arc::into_raw(shared.clone()) as *mut c_void) };
  Ok(Local { shared, tsfn, pending: 0 })
}

unsafe extern "C" fn close(arg: *mut c_void) {
  let shared = Arc::from_raw(arg as *const Shared);
  {
    let mut mb = shared.mailbox.lock();
    mb.closed = true;
    mb.items.clear();
  }
  LOCAL.with(|cell| cell.borrow_mut().take());
}

unsafe extern "C" fn release_context(_env: sys::napi_env, data: *mut c_void, _hint: *mut c_void) {
  drop(Arc::from_raw(data as *const Shared));
}

unsafe extern "C" fn drain(env: sys::napi_env, _cb: sys::napi_value, context: *mut c_void, _data: *mut c_void) {
  if env.is_null() || context.is_null() {
    return;
  }
  let shared = &*(context as *const Shared);
  let items = std::mem::take(&mut shared.mailbox.lock().items);
  let js = Js::new(env);
  let n = items.len();
  for item in items {
    let mut scope = ptr::null_mut();
    sys::napi_open_handle_scope(env, &mut scope);
    let outcome = catch_unwind(AssertUnwindSafe(|| (item.settle)(&js)))
      .unwrap_or_else(|_| Err(js.error_value(JsErr::Error("internal error in baileys-auth-native while building a result".into()))));
    js.settle(item.deferred, outcome);
    sys::napi_close_handle_scope(env, scope);
  }
  finished(&js, n);
}
