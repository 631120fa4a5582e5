//! The auth state over any backend of the core's [`Backend`] trait, as one
//! JavaScript class, `NativeKeyStore`, and the exports that open one
//! (`openSqliteAuthState`). Arguments are converted on the JavaScript thread
//! with the value walk every store shares; the call is issued to the backend
//! at once (its place in the per-key order) and its promise settles when the
//! backend answers.

use std::sync::Arc;

use baileys_auth_core::auth_store::{pool, OpenedCreds};
use baileys_auth_core::backend::{Backend, BackendError};
use baileys_auth_core::backends::sqlite::{self, SqliteOptions};
use baileys_auth_core::keystore::{KeyChange, KeyStore};
use napi::bindgen_prelude::*;
use napi_derive::napi;

use crate::auth_state::{get_result, ids_arg, parse_options, promise_or_rejection, settle_with, ReadCall, ReadsSink};
use crate::convert::js_to_value::Walker;
use crate::convert::value_to_js::to_js;
use crate::ffi::js::{Js, JsErr, JsResult, Type, Val};
use crate::ffi::realm::realm;
use crate::ffi::settle;

/// Ids one `listIds` page holds at most.
const MAX_PAGE: usize = 1 << 16;

/// `openSqliteAuthState(dbPath, options)` → `Promise<{ store, creds, created }>`.
/// The file is opened (created when missing) off the JavaScript thread.
#[napi(js_name = "openSqliteAuthState", catch_unwind)]
pub fn open_sqlite_auth_state<'a>(env: &'a Env, db_path: Unknown<'a>, options: Option<Unknown<'a>>) -> Result<Unknown<'a>> {
  promise_or_rejection(env, |js| {
    let path = db_path.value().value;
    if js.type_of(path)? != Type::String {
      return Err(JsErr::Type("The \"dbPath\" argument must be of type string".into()));
    }
    let path = js.utf8_lossy(path)?;
    // Durable by default: every acknowledged call survives a power loss.
    let options = parse_options(js, options.map(|o| o.value().value), true)?;
    realm(js)?;
    let (pending, promise) = settle::begin(js)?;
    let done = settle_with(pending, opened_to_js);
    let sqlite_options = SqliteOptions { fsync: options.fsync, lock: options.lock, ..SqliteOptions::default() };
    let flavor = options.flavor;
    let pool = match pool() {
      Ok(p) => p,
      Err(e) => {
        done(Err(BackendError::internal(e.to_string())));
        return Ok(promise);
      }
    };
    pool.submit(0, move || {
      let opened = std::panic::catch_unwind(|| sqlite::open(&path, &sqlite_options))
        .unwrap_or_else(|_| Err(BackendError::internal("opening the database panicked")));
      match opened {
        Err(e) => done(Err(e)),
        Ok(backend) => {
          let store = KeyStore::new(Arc::new(backend) as Arc<dyn Backend>, flavor);
          let s2 = store.clone();
          store.load_creds(Box::new(move |r| done(r.map(|creds| (s2, creds)))));
        }
      }
    });
    Ok(promise)
  })
}

fn opened_to_js(js: &Js, (store, creds): (KeyStore, OpenedCreds)) -> JsResult<Val> {
  let (creds, created) = match creds {
    OpenedCreds::Loaded(v) => (v, false),
    OpenedCreds::Fresh(v) => (v, true),
  };
  let out = js.object()?;
  js.set_named(out, c"store", js.class_instance(NativeKeyStore { store })?)?;
  js.set_named(out, c"creds", to_js(js, &creds)?)?;
  js.set_named(out, c"created", js.bool_value(created)?)?;
  Ok(out)
}

/// An open store of any backend, as the JavaScript wrapper sees it.
#[napi]
pub struct NativeKeyStore {
  store: KeyStore,
}

#[napi]
impl NativeKeyStore {
  /// `keys.get(type, ids)`: as the folder store's (see `NativeAuthStore.get`).
  #[napi(catch_unwind)]
  pub fn get<'a>(
    &self,
    env: &'a Env,
    key_type: Unknown<'a>,
    ids: Unknown<'a>,
    app_state_class: Option<Unknown<'a>>,
    logger: Option<Unknown<'a>>,
  ) -> Result<Unknown<'a>> {
    let store = self.store.clone();
    promise_or_rejection(env, |js| {
      let key_type = js.utf8_lossy(js.to_string(key_type.value().value)?)?;
      let (id_keys, ids) = ids_arg(js, ids.value().value)?;
      let reads: ReadCall<BackendError> =
        ReadCall::begin(js, &key_type, app_state_class, logger, move |js, convert, reads| get_result(js, convert, &id_keys, reads))?;
      store.get(&key_type, ids, reads.plain, all_or_error(reads.done));
      Ok(reads.promise)
    })
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
    let store = self.store.clone();
    promise_or_rejection(env, |js| {
      let key_type = js.utf8_lossy(js.to_string(key_type.value().value)?)?;
      let (_, ids) = ids_arg(js, ids.value().value)?;
      let reads: ReadCall<BackendError> = ReadCall::begin(js, &key_type, app_state_class, logger, |js, convert, reads| {
        let out = js.array(reads.len())?;
        for (i, read) in reads.iter().enumerate() {
          js.set_element(out, i as u32, convert.value(read.value.as_ref())?)?;
        }
        Ok(out)
      })?;
      store.get(&key_type, ids, reads.plain, all_or_error(reads.done));
      Ok(reads.promise)
    })
  }

  /// `keys.set(data)`: truthy values written, falsy ones deleted, the whole
  /// call in one transaction where the backend has them.
  #[napi(catch_unwind)]
  pub fn set<'a>(&self, env: &'a Env, data: Unknown<'a>) -> Result<Unknown<'a>> {
    let store = self.store.clone();
    promise_or_rejection(env, |js| {
      let changes = key_changes(js, data.value().value)?;
      let (pending, promise) = settle::begin(js)?;
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
      let key_type = js.utf8_lossy(js.to_string(key_type.value().value)?)?;
      let after = after.value().value;
      let after = match js.type_of(after)? {
        Type::Undefined | Type::Null => None,
        _ => Some(js.utf8_lossy(js.to_string(after)?)?),
      };
      let limit = js.to_number(limit.value().value)?;
      let limit = if limit.is_finite() && limit >= 1.0 { (limit as usize).min(MAX_PAGE) } else { MAX_PAGE };
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

/// The keystore's answer to a read (all reads, or one error for the call) as
/// the per-read outcomes the shared settling takes.
fn all_or_error(done: ReadsSink<BackendError>) -> baileys_auth_core::keystore::ReadsDone {
  Box::new(move |r| {
    done(match r {
      Ok(reads) => reads.into_iter().map(Ok).collect(),
      Err(e) => vec![Err(e)],
    })
  })
}

/// Baileys' `set(data)` as changes: truthy values walked (all before anything
/// is issued, so a value that cannot be stored fails the call and writes
/// nothing), falsy ones deleted.
fn key_changes(js: &Js, data: Val) -> JsResult<Vec<KeyChange>> {
  let realm = realm(js)?;
  let mut walker = Walker::new(*js, &realm);
  let mut changes = Vec::new();
  crate::auth_state::for_each_key(js, data, |key_type, id, value| {
    let value =
      if js.truthy_typed(value, js.type_of(value)?)? {
        Some(walker.walk_root(value)?.ok_or_else(|| {
          JsErr::Type(format!("The value of {key_type} {id} cannot be serialized (JSON.stringify gives undefined for it)"))
        })?)
      } else {
        None
      };
    changes.push(KeyChange { key_type: key_type.to_owned(), id: id.to_owned(), value });
    Ok(())
  })?;
  Ok(changes)
}
