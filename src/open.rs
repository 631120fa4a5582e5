//! Opening a store of any backend: the exports `openFolderStore` (behind
//! `useMultiFileAuthState`) and `openSqliteAuthState`, the encryption
//! options, and the open on the worker pool that loads the credentials and
//! hands back a `NativeKeyStore` (`openPostgresAuthState`, in
//! [`crate::postgres_store`], shares all but its arguments).

use std::sync::Arc;

use baileys_auth_core::backend::{Backend, BackendError};
use baileys_auth_core::backends::folder;
use baileys_auth_core::backends::sqlite::{self, SqliteOptions};
use baileys_auth_core::keystore::KeyStore;
use baileys_auth_core::seal::{Sealed, Sealer};
use baileys_auth_core::values::OpenedCreds;
use napi::bindgen_prelude::*;
use napi_derive::napi;

use crate::backend_store::NativeKeyStore;
use crate::calls::{parse_options, promise_or_rejection, settle_with};
use crate::convert::value_to_js::to_js;
use crate::ffi::js::{Js, JsErr, JsResult, Type, Val};
use crate::ffi::realm::realm;
use crate::ffi::settle;
use crate::tasks::on_pool;

/// `openSqliteAuthState(dbPath, options)` → `Promise<{ store, creds, created }>`.
/// The file is opened (created when missing) off the JavaScript thread.
#[napi(js_name = "openSqliteAuthState", catch_unwind)]
pub fn open_sqlite_auth_state<'a>(env: &'a Env, db_path: Unknown<'a>, options: Option<Unknown<'a>>) -> Result<Unknown<'a>> {
  promise_or_rejection(env, |js| {
    let path = string_arg(js, db_path.value().value, "dbPath")?;
    // Durable by default: every acknowledged call survives a power loss.
    let opts = options.map(|o| o.value().value);
    let options = parse_options(js, opts, true)?;
    let sqlite_options = SqliteOptions { fsync: options.fsync, lock: options.lock, ..SqliteOptions::default() };
    // A file's values are bound to their type and id only: the file may move.
    let sealer = encryption_option(js, opts, "")?;
    open_on_pool(js, options.flavor, move || sealed(sqlite::open(&path, &sqlite_options).map(|b| Arc::new(b) as Arc<dyn Backend>), sealer))
  })
}

/// `openFolderStore(folder, options)` → `Promise<{ store, creds, created }>`:
/// a folder (created when missing, mode 0700) through the core's folder
/// backend, behind `useMultiFileAuthState` and every copy between stores.
/// Not durable by default, as Baileys' helper never fsyncs.
#[napi(js_name = "openFolderStore", catch_unwind)]
pub fn open_folder_store<'a>(env: &'a Env, folder: Unknown<'a>, options: Option<Unknown<'a>>) -> Result<Unknown<'a>> {
  promise_or_rejection(env, |js| {
    let display = string_arg(js, folder.value().value, "folder")?;
    let options = parse_options(js, options.map(|o| o.value().value), false)?;
    open_on_pool(js, options.flavor, move || {
      folder::open(&display, options).map(|b| Arc::new(b) as Arc<dyn Backend>).map_err(folder::backend_error)
    })
  })
}

/// `options.encryptionKey` (32 bytes: a Buffer / Uint8Array, or 64 hex
/// digits) and `options.previousEncryptionKeys` (older keys that still open,
/// for a rotation), as the sealer of a store whose values are bound to `scope`.
pub(crate) fn encryption_option(js: &Js, options: Option<Val>, scope: &str) -> JsResult<Option<Sealer>> {
  let Some(o) = options.filter(|o| js.type_of(*o).is_ok_and(|t| t == Type::Object)) else { return Ok(None) };
  let key = js.get_named(o, c"encryptionKey")?;
  if matches!(js.type_of(key)?, Type::Undefined | Type::Null) {
    return Ok(None);
  }
  let current = key_bytes(js, key, "options.encryptionKey")?;
  let mut previous = Vec::new();
  let old = js.get_named(o, c"previousEncryptionKeys")?;
  if !matches!(js.type_of(old)?, Type::Undefined | Type::Null) {
    if !js.is_array(old)? {
      return Err(JsErr::Type("options.previousEncryptionKeys must be an array of keys".into()));
    }
    for i in 0..js.array_length(old)? {
      previous.push(key_bytes(js, js.get_element(old, i)?, "options.previousEncryptionKeys[]")?);
    }
  }
  Ok(Some(Sealer::new(&current, &previous, scope)))
}

fn key_bytes(js: &Js, v: Val, what: &str) -> JsResult<[u8; 32]> {
  let bytes = match js.type_of(v)? {
    Type::String => {
      let hex = js.utf8_lossy(v)?;
      let ok = hex.len() == 64 && hex.bytes().all(|b| b.is_ascii_hexdigit());
      ok.then(|| (0..32).map(|i| u8::from_str_radix(&hex[2 * i..2 * i + 2], 16).unwrap_or(0)).collect::<Vec<u8>>())
    }
    _ => js.uint8_copy(v)?,
  };
  // The message never holds the key.
  bytes
    .and_then(|b| <[u8; 32]>::try_from(b.as_slice()).ok())
    .ok_or_else(|| JsErr::Type(format!("{what} must be 32 bytes: a Buffer or Uint8Array of 32, or 64 hex digits")))
}

pub(crate) fn string_arg(js: &Js, v: Val, name: &str) -> JsResult<String> {
  if js.type_of(v)? != Type::String {
    return Err(JsErr::Type(format!("The \"{name}\" argument must be of type string")));
  }
  js.utf8_lossy(v)
}

/// The opened backend, behind the sealer when the store is encrypted.
pub(crate) fn sealed(
  opened: std::result::Result<Arc<dyn Backend>, BackendError>,
  sealer: Option<Sealer>,
) -> std::result::Result<Arc<dyn Backend>, BackendError> {
  opened.map(|b| match sealer {
    Some(s) => Arc::new(Sealed::new(b, s)) as Arc<dyn Backend>,
    None => b,
  })
}

/// Opens a backend on the worker pool, then loads its credentials; the
/// promise resolves with `{ store, creds, created }`.
pub(crate) fn open_on_pool(
  js: &Js,
  flavor: baileys_auth_core::codec::Flavor,
  open: impl FnOnce() -> std::result::Result<Arc<dyn Backend>, BackendError> + Send + 'static,
) -> JsResult<Val> {
  realm(js)?;
  let (pending, promise) = settle::begin(js)?;
  let done = settle_with(pending, opened_to_js);
  on_pool("opening the store", open, move |opened| match opened {
    Err(e) => done(Err(e)),
    Ok(backend) => {
      let store = KeyStore::new(backend, flavor);
      let s2 = store.clone();
      store.load_creds(Box::new(move |r| match r {
        Ok(creds) => done(Ok((s2, creds))),
        // Unreadable credentials: the store is closed (its lock or lease
        // released) before the open rejects, so a retry elsewhere is not
        // refused by a store nobody holds any more.
        Err(e) => {
          let closing = s2.clone();
          closing.close(Box::new(move |_| done(Err(e))));
        }
      }));
    }
  });
  Ok(promise)
}

fn opened_to_js(js: &Js, (store, creds): (KeyStore, OpenedCreds)) -> JsResult<Val> {
  let (creds, created) = match creds {
    OpenedCreds::Loaded(v) => (v, false),
    OpenedCreds::Fresh(v) => (v, true),
  };
  let out = js.object()?;
  js.set_named(out, c"store", js.class_instance(NativeKeyStore::new(store))?)?;
  js.set_named(out, c"creds", to_js(js, &creds)?)?;
  js.set_named(out, c"created", js.bool_value(created)?)?;
  Ok(out)
}
