//! The auth state over any backend of the core's [`Backend`] trait, as one
//! JavaScript class, `NativeKeyStore` (opened by [`crate::open`] and
//! [`crate::postgres_store`]). Arguments are converted on the JavaScript
//! thread with the value walk every store shares; the call is issued to the
//! backend at once (its place in the per-key order) and its promise settles
//! when the backend answers.

use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::Arc;

use baileys_auth_core::backend::{Backend, BackendError};
use baileys_auth_core::keystore::{KeyChange, KeyStore};
use baileys_auth_core::migrate::{compare_page, copy_creds, copy_page, PageCheck, PageCopy};
use napi::bindgen_prelude::*;
use napi_derive::napi;

use crate::calls::{for_each_key, get_result, ids_arg, promise_or_rejection, settle_with, values_array, ReadCall};
use crate::convert::js_to_value::Walker;
use crate::ffi::js::{Js, JsErr, JsResult, Type, Val};
use crate::ffi::realm::realm;
use crate::ffi::settle;

/// Ids one `listIds` page holds at most.
const MAX_PAGE: usize = 1 << 16;

/// An open store of any backend, as the JavaScript wrapper sees it.
#[napi]
pub struct NativeKeyStore {
  store: KeyStore,
  /// Writes issued in this turn of the event loop (see [`NativeKeyStore::hold_writes`]).
  turn: Arc<AtomicU32>,
  /// Whether the backend can hold a group ([`Backend::can_cork`]).
  corks: bool,
}

/// How a read answers: `get`'s object keyed by id, or `readIds`' array.
enum Answer {
  ById,
  InOrder,
}

impl NativeKeyStore {
  pub(crate) fn new(store: KeyStore) -> NativeKeyStore {
    NativeKeyStore { corks: store.backend().can_cork(), store, turn: Arc::default() }
  }

  /// Holds this store's writes together until the JavaScript turn that
  /// issues them ends, where the backend groups commits: a burst (64 `set`s
  /// as messages arrive, all issued before the first is awaited) then takes
  /// two commits, the first call's and one for all the rest, where it took
  /// as many as the writer could start while the turn went on. The first
  /// write of a turn is never held: a lone call (an awaited `saveCreds`)
  /// commits at once, as before. The second corks the backend; the end of
  /// the turn uncorks it.
  fn hold_writes(&self, js: &Js) {
    if !self.corks {
      return;
    }
    match self.turn.fetch_add(1, Ordering::AcqRel) {
      0 => {
        let (turn, backend) = (self.turn.clone(), self.store.backend().clone());
        let end = Box::new(move || {
          if turn.swap(0, Ordering::AcqRel) >= 2 {
            backend.uncork();
          }
        });
        if settle::after_turn(js, end).is_err() {
          // No way to hear of the turn's end: never hold.
          self.turn.store(u32::MAX / 2, Ordering::Release);
        }
      }
      1 => self.store.backend().cork(),
      _ => {}
    }
  }

  /// The read behind `get` and `readIds`: the arguments, the call, and the
  /// promise settled with the answer built as `answer` says.
  fn read<'a>(
    &self,
    env: &'a Env,
    key_type: Unknown<'a>,
    ids: Unknown<'a>,
    app_state_class: Option<Unknown<'a>>,
    logger: Option<Unknown<'a>>,
    answer: Answer,
  ) -> Result<Unknown<'a>> {
    let store = self.store.clone();
    promise_or_rejection(env, |js| {
      let key_type = js.utf8_lossy(js.to_string(key_type.value().value)?)?;
      let (id_keys, ids) = ids_arg(js, ids.value().value)?;
      let reads: ReadCall<BackendError> = match answer {
        Answer::ById => {
          ReadCall::begin(js, &key_type, app_state_class, logger, move |js, convert, reads| get_result(js, convert, &id_keys, reads))?
        }
        Answer::InOrder => ReadCall::begin(js, &key_type, app_state_class, logger, values_array)?,
      };
      store.get(&key_type, ids, reads.plain, reads.done);
      Ok(reads.promise)
    })
  }
}

#[napi]
impl NativeKeyStore {
  /// The caller's event loop turns: a store with a lease renews it only
  /// while this keeps coming (the wrapper calls it from an unref'd timer).
  #[napi(js_name = "keepAlive", catch_unwind)]
  pub fn keep_alive(&self) {
    self.store.backend().keep_alive();
  }

  /// How many open handles of this process share the store (this one included).
  #[napi(js_name = "openHandles", catch_unwind)]
  pub fn open_handles(&self) -> u32 {
    self.store.backend().open_handles() as u32
  }

  /// The backend's counters (`{ roundTrips, groups, … }`), for tests and benchmarks.
  #[napi(catch_unwind)]
  pub fn counters<'a>(&self, env: &'a Env) -> Result<Unknown<'a>> {
    let js = Js::from_env(env);
    let build = || -> JsResult<Val> {
      let out = js.object()?;
      for (name, n) in self.store.backend().counters() {
        js.set(out, js.str_utf8(name)?, js.double(n as f64)?)?;
      }
      Ok(out)
    };
    build().map(|v| js.as_unknown(v)).map_err(|e| Error::from_reason(format!("{e:?}")))
  }

  /// `keys.get(type, ids)` → `{ [id]: value | null }`. With `appStateClass`
  /// (Baileys' `proto.Message.AppStateSyncKeyData`), app-state keys come back
  /// through its `fromObject`; without it, as an equal plain object.
  /// Warnings about values that could not be read go to `logger.warn`.
  #[napi(catch_unwind)]
  pub fn get<'a>(
    &self,
    env: &'a Env,
    key_type: Unknown<'a>,
    ids: Unknown<'a>,
    app_state_class: Option<Unknown<'a>>,
    logger: Option<Unknown<'a>>,
  ) -> Result<Unknown<'a>> {
    self.read(env, key_type, ids, app_state_class, logger, Answer::ById)
  }

  /// The values of `ids` as an array in the order of `ids` (`null` for a
  /// missing one), for `list()`: an object keyed by id cannot hold an own
  /// `__proto__` value, which `get` (as Baileys' `data[id] = value`) turns
  /// into the result's prototype.
  #[napi(js_name = "readIds", catch_unwind)]
  pub fn read_ids<'a>(
    &self,
    env: &'a Env,
    key_type: Unknown<'a>,
    ids: Unknown<'a>,
    app_state_class: Option<Unknown<'a>>,
    logger: Option<Unknown<'a>>,
  ) -> Result<Unknown<'a>> {
    self.read(env, key_type, ids, app_state_class, logger, Answer::InOrder)
  }

  /// `keys.set(data)`: truthy values written, falsy ones deleted, the whole
  /// call in one transaction where the backend has them.
  #[napi(catch_unwind)]
  pub fn set<'a>(&self, env: &'a Env, data: Unknown<'a>) -> Result<Unknown<'a>> {
    let store = self.store.clone();
    promise_or_rejection(env, |js| {
      let changes = key_changes(js, data.value().value)?;
      let (pending, promise) = settle::begin(js)?;
      self.hold_writes(js);
      store.set(changes, Box::new(settle_with(pending, |js: &Js, ()| js.undefined())));
      Ok(promise)
    })
  }

  /// `saveCreds()`: writes `creds` as it is at this moment.
  #[napi(js_name = "saveCreds", catch_unwind)]
  pub fn save_creds<'a>(&self, env: &'a Env, creds: Unknown<'a>) -> Result<Unknown<'a>> {
    let store = self.store.clone();
    promise_or_rejection(env, |js| {
      let realm = realm(js)?;
      let value =
        Walker::new(*js, &realm).walk_root(creds.value().value)?.ok_or_else(|| JsErr::Type("creds cannot be serialized".into()))?;
      let (pending, promise) = settle::begin(js)?;
      self.hold_writes(js);
      store.save_creds(&value, Box::new(settle_with(pending, |js: &Js, ()| js.undefined())));
      Ok(promise)
    })
  }

  /// One page of the ids of a type, ascending, after `after` (a string, or
  /// `null` for the first page): `Promise<string[]>` of at most `limit`.
  #[napi(js_name = "listIds", catch_unwind)]
  pub fn list_ids<'a>(&self, env: &'a Env, key_type: Unknown<'a>, after: Unknown<'a>, limit: Unknown<'a>) -> Result<Unknown<'a>> {
    let store = self.store.clone();
    promise_or_rejection(env, |js| {
      let (key_type, after, limit) = page_args(js, key_type, after, limit)?;
      let (pending, promise) = settle::begin(js)?;
      store.list_ids(
        &key_type,
        after.as_deref(),
        limit,
        Box::new(settle_with(pending, |js: &Js, ids: Vec<String>| {
          let out = js.array(ids.len())?;
          for (i, id) in ids.iter().enumerate() {
            js.set_element(out, i as u32, js.str_utf8(id)?)?;
          }
          Ok(out)
        })),
      );
      Ok(promise)
    })
  }

  /// Copies one page of a type to `dest` as bytes (see
  /// `baileys_auth_core::migrate::copy_page`): `Promise<{ copied, next }>`,
  /// `next` the `after` of the next page or `null` at the end.
  #[napi(js_name = "copyPageTo", catch_unwind)]
  pub fn copy_page_to<'a>(
    &self,
    env: &'a Env,
    dest: &NativeKeyStore,
    key_type: Unknown<'a>,
    after: Unknown<'a>,
    limit: Unknown<'a>,
  ) -> Result<Unknown<'a>> {
    let build = |js: &Js, page: PageCopy| {
      let out = js.object()?;
      js.set_named(out, c"copied", js.double(page.copied as f64)?)?;
      js.set_named(out, c"next", next_value(js, &page.next)?)?;
      Ok(out)
    };
    self.page_call(env, dest, (key_type, after, limit), copy_page, build)
  }

  /// Compares one page of a type with `dest` as bytes: `Promise<{ checked,
  /// next, differences: [{ id, problem: 'missing' | 'value' }] }>`.
  #[napi(js_name = "comparePageWith", catch_unwind)]
  pub fn compare_page_with<'a>(
    &self,
    env: &'a Env,
    dest: &NativeKeyStore,
    key_type: Unknown<'a>,
    after: Unknown<'a>,
    limit: Unknown<'a>,
  ) -> Result<Unknown<'a>> {
    let build = |js: &Js, page: PageCheck| {
      let out = js.object()?;
      js.set_named(out, c"checked", js.double(page.checked as f64)?)?;
      js.set_named(out, c"next", next_value(js, &page.next)?)?;
      let diffs = js.array(page.differences.len())?;
      for (i, (id, problem)) in page.differences.iter().enumerate() {
        let d = js.object()?;
        js.set_named(d, c"id", js.str_utf8(id)?)?;
        js.set_named(d, c"problem", js.str_utf8(problem)?)?;
        js.set_element(diffs, i as u32, d)?;
      }
      js.set_named(out, c"differences", diffs)?;
      Ok(out)
    };
    self.page_call(env, dest, (key_type, after, limit), compare_page, build)
  }

  /// Copies the credentials to `dest` as bytes; `Promise<boolean>`: whether
  /// they read back equal (always `true` without `verify`).
  #[napi(js_name = "copyCredsTo", catch_unwind)]
  pub fn copy_creds_to<'a>(&self, env: &'a Env, dest: &NativeKeyStore, verify: Unknown<'a>) -> Result<Unknown<'a>> {
    let (from, to) = (self.store.backend().clone(), dest.store.backend().clone());
    promise_or_rejection(env, |js| {
      let verify = js.truthy(verify.value().value)?;
      let (pending, promise) = settle::begin(js)?;
      let done = settle_with(pending, |js: &Js, same: bool| js.bool_value(same));
      off_the_pool(move || copy_creds(from.as_ref(), to.as_ref(), verify), done);
      Ok(promise)
    })
  }

  /// Removes every key; the credentials stay.
  #[napi(catch_unwind)]
  pub fn clear<'a>(&self, env: &'a Env) -> Result<Unknown<'a>> {
    let store = self.store.clone();
    promise_or_rejection(env, |js| {
      let (pending, promise) = settle::begin(js)?;
      store.clear(Box::new(settle_with(pending, |js: &Js, ()| js.undefined())));
      Ok(promise)
    })
  }

  /// Waits for the calls made before it, then releases the store (and its
  /// owner lock with the last handle); later calls reject.
  #[napi(catch_unwind)]
  pub fn close<'a>(&self, env: &'a Env) -> Result<Unknown<'a>> {
    let store = self.store.clone();
    promise_or_rejection(env, |js| {
      let (pending, promise) = settle::begin(js)?;
      store.close(Box::new(settle_with(pending, |js: &Js, ()| js.undefined())));
      Ok(promise)
    })
  }
}

/// One page of work between two backends (`copy_page`, `compare_page`).
type PageWork<T> = fn(&dyn Backend, &dyn Backend, &str, Option<&str>, usize) -> std::result::Result<T, BackendError>;

impl NativeKeyStore {
  /// A paged call between this store and `dest` (`copyPageTo`,
  /// `comparePageWith`): arguments read on the JavaScript thread, `work` run
  /// on a thread of its own, its answer built by `build`.
  fn page_call<'a, T: Send + 'static>(
    &self,
    env: &'a Env,
    dest: &NativeKeyStore,
    (key_type, after, limit): (Unknown<'a>, Unknown<'a>, Unknown<'a>),
    work: PageWork<T>,
    build: impl FnOnce(&Js, T) -> JsResult<Val> + Send + 'static,
  ) -> Result<Unknown<'a>> {
    let (from, to) = (self.store.backend().clone(), dest.store.backend().clone());
    promise_or_rejection(env, |js| {
      let (key_type, after, limit) = page_args(js, key_type, after, limit)?;
      let (pending, promise) = settle::begin(js)?;
      let done = settle_with(pending, build);
      off_the_pool(move || work(from.as_ref(), to.as_ref(), &key_type, after.as_deref(), limit), done);
      Ok(promise)
    })
  }
}

/// `(type, after, limit)` of a paged call, as `String(type)`, `null` or
/// `String(after)`, and a page size.
fn page_args(js: &Js, key_type: Unknown<'_>, after: Unknown<'_>, limit: Unknown<'_>) -> JsResult<(String, Option<String>, usize)> {
  Ok((js.utf8_lossy(js.to_string(key_type.value().value)?)?, optional_text(js, after.value().value)?, page_limit(js, limit.value().value)?))
}

/// A page's `next`: the id to continue after, or `null`.
fn next_value(js: &Js, next: &Option<String>) -> JsResult<Val> {
  match next {
    Some(n) => js.str_utf8(n),
    None => js.null(),
  }
}

/// `null`/`undefined` or `String(v)`.
fn optional_text(js: &Js, v: Val) -> JsResult<Option<String>> {
  match js.type_of(v)? {
    Type::Undefined | Type::Null => Ok(None),
    _ => Ok(Some(js.utf8_lossy(js.to_string(v)?)?)),
  }
}

/// A page size: a number from 1 to [`MAX_PAGE`] (anything else: the most).
fn page_limit(js: &Js, v: Val) -> JsResult<usize> {
  let limit = js.to_number(v)?;
  Ok(if limit.is_finite() && limit >= 1.0 { (limit as usize).min(MAX_PAGE) } else { MAX_PAGE })
}

/// Runs a blocking copy on a thread of its own: it waits on the backends'
/// answers, so it must not take a lane of the worker pool they run on.
fn off_the_pool<T: Send + 'static>(
  work: impl FnOnce() -> std::result::Result<T, BackendError> + Send + 'static,
  done: impl FnOnce(std::result::Result<T, BackendError>) + Send + 'static,
) {
  let done = Arc::new(parking_lot::Mutex::new(Some(Box::new(done) as Box<dyn FnOnce(std::result::Result<T, BackendError>) + Send>)));
  let on_spawn_error = done.clone();
  let spawned = std::thread::Builder::new().name("baileys-auth-copy".into()).spawn(move || {
    let r = std::panic::catch_unwind(std::panic::AssertUnwindSafe(work)).unwrap_or_else(|_| Err(BackendError::internal("a copy panicked")));
    if let Some(done) = done.lock().take() {
      done(r);
    }
  });
  if let Err(e) = spawned {
    if let Some(done) = on_spawn_error.lock().take() {
      done(Err(BackendError::internal(format!("cannot start a thread: {e}"))));
    }
  }
}

/// Baileys' `set(data)` as changes: truthy values walked (all before anything
/// is issued, so a value that cannot be stored fails the call and writes
/// nothing), falsy ones deleted.
fn key_changes(js: &Js, data: Val) -> JsResult<Vec<KeyChange>> {
  let realm = realm(js)?;
  let mut walker = Walker::new(*js, &realm);
  let mut changes = Vec::new();
  for_each_key(js, data, |key_type, id, value| {
    changes.push(key_change(js, &mut walker, key_type, id, value)?);
    Ok(())
  })?;
  Ok(changes)
}

/// One key of a `set`: a truthy value walked, a falsy one a delete.
pub(crate) fn key_change(js: &Js, walker: &mut Walker, key_type: &str, id: &str, value: Val) -> JsResult<KeyChange> {
  let value = if js.truthy_typed(value, js.type_of(value)?)? {
    Some(
      walker
        .walk_root(value)?
        .ok_or_else(|| JsErr::Type(format!("The value of {key_type} {id} cannot be serialized (JSON.stringify gives undefined for it)")))?,
    )
  } else {
    None
  };
  Ok(KeyChange { key_type: key_type.to_owned(), id: id.to_owned(), value })
}
