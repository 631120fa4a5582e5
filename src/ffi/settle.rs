//! Settling promises from the worker threads.
//!
//! Each JavaScript thread gets one thread-safe function and one mailbox. A
//! worker that finishes a call drops a closure in the mailbox (and wakes the
//! JavaScript thread only when the mailbox was empty); the JavaScript thread
//! drains the mailbox in one go, building each call's result there. One wake-up
//! can settle many calls, and no per-call thread-safe function is created.
//! The thread-safe function keeps the event loop alive only while promises
//! are pending, like any pending fs operation does.
//!
//! A [`Pending`] that is dropped without being settled (a task lost at
//! shutdown, a callback never called) rejects its promise with an internal
//! error rather than keeping the event loop alive for ever.

use std::cell::RefCell;
use std::ffi::c_void;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::ptr;
use std::sync::Arc;

use napi::sys;
use parking_lot::Mutex;

use crate::ffi::js::{Js, JsErr, JsResult, Val};

/// Builds a call's outcome on the JavaScript thread: a value to resolve with,
/// or an error value to reject with.
pub type Settle = Box<dyn FnOnce(&Js) -> Result<Val, Val> + Send>;

struct Item {
  deferred: sys::napi_deferred,
  settle: Settle,
}

struct Mailbox {
  items: Vec<Item>,
  /// Work to run once the JavaScript thread's current turn has ended (see [`after_turn`]).
  tasks: Vec<Box<dyn FnOnce() + Send>>,
  tsfn: sys::napi_threadsafe_function,
  /// The environment is gone: nothing may be posted to it any more.
  closed: bool,
}

// SAFETY: the raw handles are only used on the JavaScript thread, or under
// the lock for `napi_call_threadsafe_function`, which Node-API allows from any
// thread.
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
  /// `None` once settled.
  deferred: Option<sys::napi_deferred>,
}

// SAFETY: the deferred is only used on the JavaScript thread: it travels to
// the mailbox, which that thread drains.
unsafe impl Send for Pending {}

impl Pending {
  pub fn settle(mut self, settle: Settle) {
    if let Some(deferred) = self.deferred.take() {
      post(&self.shared, Item { deferred, settle });
    }
  }
}

impl Drop for Pending {
  /// A completion lost without a result still settles its promise (and so
  /// releases the thread-safe function's hold on the event loop).
  fn drop(&mut self) {
    if let Some(deferred) = self.deferred.take() {
      let settle: Settle = Box::new(|js: &Js| {
        Err(js.error_value(JsErr::Error("internal error in baileys-auth-native: the operation ended without a result".into())))
      });
      post(&self.shared, Item { deferred, settle });
    }
  }
}

fn post(shared: &Shared, item: Item) {
  let mut mb = shared.mailbox.lock();
  if mb.closed {
    // The environment is gone, and its promises with it.
    return;
  }
  mb.items.push(item);
  if mb.items.len() + mb.tasks.len() == 1 {
    // SAFETY: `tsfn` is alive until `close` marks the mailbox closed, which
    // happens under this lock; Node-API allows this call from any thread.
    unsafe { sys::napi_call_threadsafe_function(mb.tsfn, ptr::null_mut(), sys::ThreadsafeFunctionCallMode::nonblocking) };
  }
}

/// Runs `f` on the JavaScript thread once its current turn has ended (the
/// running callback and its microtasks: the thread-safe function is called
/// from the event loop). For holding a burst of writes together; call it
/// while a promise of this thread is pending ([`begin`]), which keeps the
/// loop alive until then. A task still waiting when the environment goes is
/// run by its cleanup, and one posted after that is run at once: the tasks
/// are releases, and none may be lost.
pub fn after_turn(js: &Js, f: Box<dyn FnOnce() + Send>) -> JsResult<()> {
  let shared = LOCAL.with(|cell| -> JsResult<Arc<Shared>> {
    let mut slot = cell.borrow_mut();
    if slot.is_none() {
      *slot = Some(create_local(js)?);
    }
    Ok(slot.as_ref().ok_or_else(|| JsErr::Error("settle: no mailbox".into()))?.shared.clone())
  })?;
  let mut mb = shared.mailbox.lock();
  if mb.closed {
    drop(mb);
    f();
    return Ok(());
  }
  mb.tasks.push(f);
  if mb.items.len() + mb.tasks.len() == 1 {
    // SAFETY: as in `post`.
    unsafe { sys::napi_call_threadsafe_function(mb.tsfn, ptr::null_mut(), sys::ThreadsafeFunctionCallMode::nonblocking) };
  }
  Ok(())
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
      // SAFETY: a valid env (see `Js::from_raw`) and this thread's live
      // thread-safe function (dropped from `LOCAL` before Node frees it).
      unsafe { sys::napi_ref_threadsafe_function(js.raw_env(), local.tsfn) };
    }
    Ok(local.shared.clone())
  })?;
  match js.create_promise() {
    Ok((deferred, promise)) => Ok((Pending { shared, deferred: Some(deferred) }, promise)),
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
        // SAFETY: as in `begin`.
        unsafe { sys::napi_unref_threadsafe_function(js.raw_env(), local.tsfn) };
      }
    }
  });
}

fn create_local(js: &Js) -> JsResult<Local> {
  let shared =
    Arc::new(Shared { mailbox: Mutex::new(Mailbox { items: Vec::new(), tasks: Vec::new(), tsfn: ptr::null_mut(), closed: false }) });
  let name = js.str_utf8("baileys-auth-native")?;
  let context = Arc::into_raw(shared.clone()) as *mut c_void;
  let mut tsfn = ptr::null_mut();
  // SAFETY: a valid env; `context` is an owned `Arc` that `release_context`
  // frees once Node finalizes the function, and `drain` only borrows it.
  let status = unsafe {
    sys::napi_create_threadsafe_function(
      js.raw_env(),
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
    // SAFETY: the function was not created, so nothing else owns `context`.
    unsafe { drop(Arc::from_raw(context as *const Shared)) };
    return Err(e);
  }
  // SAFETY: the function was just created on this env.
  unsafe { sys::napi_unref_threadsafe_function(js.raw_env(), tsfn) };
  shared.mailbox.lock().tsfn = tsfn;
  // Registered after the thread-safe function, so it runs before Node
  // tears that function down (cleanup hooks run in reverse order).
  // SAFETY: a valid env; the hook's argument is an owned `Arc` that `close`
  // takes back.
  unsafe { sys::napi_add_env_cleanup_hook(js.raw_env(), Some(close), Arc::into_raw(shared.clone()) as *mut c_void) };
  Ok(Local { shared, tsfn, pending: 0 })
}

/// The environment's cleanup hook: nothing may be posted to it any more.
unsafe extern "C" fn close(arg: *mut c_void) {
  // SAFETY: `arg` is the `Arc` leaked for this hook in `create_local`, and the
  // hook runs once.
  let shared = unsafe { Arc::from_raw(arg as *const Shared) };
  let tasks = {
    let mut mb = shared.mailbox.lock();
    mb.closed = true;
    mb.items.clear();
    std::mem::take(&mut mb.tasks)
  };
  // A task is a release (an uncork): run, so no backend stays held.
  for task in tasks {
    let _ = catch_unwind(AssertUnwindSafe(task));
  }
  LOCAL.with(|cell| cell.borrow_mut().take());
}

/// The thread-safe function's finalizer.
unsafe extern "C" fn release_context(_env: sys::napi_env, data: *mut c_void, _hint: *mut c_void) {
  // SAFETY: `data` is the `Arc` leaked as the function's context in
  // `create_local`; Node calls the finalizer once.
  unsafe { drop(Arc::from_raw(data as *const Shared)) };
}

/// The thread-safe function's call, on the JavaScript thread: settles every
/// call in the mailbox.
unsafe extern "C" fn drain(env: sys::napi_env, _cb: sys::napi_value, context: *mut c_void, _data: *mut c_void) {
  if env.is_null() || context.is_null() {
    return;
  }
  // SAFETY: `context` is the function's `Arc<Shared>`, alive until its
  // finalizer runs, which cannot happen during this call.
  let shared = unsafe { &*(context as *const Shared) };
  let (items, tasks) = {
    let mut mb = shared.mailbox.lock();
    (std::mem::take(&mut mb.items), std::mem::take(&mut mb.tasks))
  };
  // First the tasks: they release held writes, which should start at once.
  for task in tasks {
    let _ = catch_unwind(AssertUnwindSafe(task));
  }
  // SAFETY: Node calls this on the JavaScript thread with that thread's env.
  let js = unsafe { Js::from_raw(env) };
  let n = items.len();
  for item in items {
    let _scope = js.handle_scope();
    let outcome = catch_unwind(AssertUnwindSafe(|| (item.settle)(&js)))
      .unwrap_or_else(|_| Err(js.error_value(JsErr::Error("internal error in baileys-auth-native while building a result".into()))));
    js.settle(item.deferred, outcome);
  }
  finished(&js, n);
}
