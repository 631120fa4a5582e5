//! One-shot operations behind the plain functions of `lib/plain.js`
//! (`loadCredentials`, `saveCredentials`, `loadKeys`, `saveKeys`,
//! `deleteKeys`) and behind `withListing` of `lib/migrate.js`.
//!
//! Each call opens the folder on a worker, does one thing through the core's
//! folder backend (as a [`KeyStore`], the same calls `useMultiFileAuthState`
//! makes), and settles a promise. Calls open their folder on one worker
//! in the order they are made, so the file operations of successive calls are
//! queued in that order too.
//!
//! - Reading calls (`plainLoadCreds`, `plainLoadKey`, `plainListKeyFiles`)
//!   never take the owner lock, so they work beside a running owner, and do
//!   not create a missing folder (it reads as empty).
//! - Writing calls (`plainSaveCreds`, `plainSaveKey`) take the folder's owner
//!   lock (shared in this process, `AuthFolderLockedError` when another
//!   process holds it) and create a missing folder as `useMultiFileAuthState`
//!   does; a delete (`plainSaveKey` with a falsy value) in a missing folder
//!   does nothing and creates nothing.

use std::path::Path;
use std::sync::Arc;

use baileys_auth_core::backend::{Backend, BackendError};
use baileys_auth_core::backends::folder::{self, backend_error, FolderBackend};
use baileys_auth_core::codec::{Flavor, Value};
use baileys_auth_core::keystore::KeyStore;
use baileys_auth_core::store::{OpenOptions, StoreError};
use baileys_auth_core::values::OpenedCreds;
use napi::bindgen_prelude::*;
use napi_derive::napi;

use crate::backend_store::key_change;
use crate::calls::{flavor_arg, promise_or_rejection, settle_with, ReadCall};
use crate::convert::js_to_value::Walker;
use crate::convert::value_to_js::to_js;
use crate::ffi::js::{Js, JsErr, JsResult, Type, Val};
use crate::ffi::realm::realm;
use crate::ffi::settle;
use crate::tasks::on_pool;

fn folder_arg(js: &Js, folder: Unknown<'_>) -> JsResult<String> {
  let folder = folder.value().value;
  if js.type_of(folder)? != Type::String {
    return Err(JsErr::Type("The \"folder\" argument must be of type string".into()));
  }
  js.utf8_lossy(folder)
}

/// `{ flavor?, fsync? }`; the lock is the function's to decide.
fn options_arg(js: &Js, options: Option<Unknown<'_>>, lock: bool) -> JsResult<OpenOptions> {
  let mut out = OpenOptions { lock, ..OpenOptions::default() };
  let Some(opts) = options.map(|o| o.value().value) else { return Ok(out) };
  match js.type_of(opts)? {
    Type::Undefined | Type::Null => return Ok(out),
    Type::Object => {}
    _ => return Err(JsErr::Type("options must be an object".into())),
  }
  out.flavor = flavor_arg(js, Some(js.get_named(opts, c"flavor")?)).map_err(|e| match e {
    JsErr::Type(m) => JsErr::Type(format!("options.{m}")),
    e => e,
  })?;
  out.fsync = js.truthy(js.get_named(opts, c"fsync")?)?;
  Ok(out)
}

/// `String(x)`, as Baileys' template literals turn types and ids into text.
fn text(js: &Js, v: Unknown<'_>) -> JsResult<String> {
  js.utf8_lossy(js.to_string(v.value().value)?)
}

/// Opens an existing folder (taking the lock if `options.lock`); `None` when
/// the folder does not exist (nothing is created).
fn open_existing(display: &str, options: OpenOptions) -> std::result::Result<Option<FolderBackend>, StoreError> {
  let path = Path::new(display);
  match std::fs::metadata(path) {
    Ok(m) if !m.is_dir() => Err(StoreError::NotADirectory { folder: display.to_owned() }),
    Ok(_) => folder::open(display, options).map(Some),
    Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
    Err(e) => Err(StoreError::io("stat", path, e)),
  }
}

/// Opens on a worker, then hands the folder to `then`: created when missing
/// if `create`, else `None` for a missing folder. The folder (and its lock)
/// goes once the call's work is done.
fn with_folder(
  display: String,
  options: OpenOptions,
  create: bool,
  then: impl FnOnce(std::result::Result<Option<Arc<FolderBackend>>, BackendError>) + Send + 'static,
) {
  on_pool(
    "opening the folder",
    move || {
      let opened = if create { folder::open(&display, options).map(Some) } else { open_existing(&display, options) };
      opened.map(|f| f.map(Arc::new)).map_err(backend_error)
    },
    then,
  );
}

/// The folder as a [`KeyStore`], for the calls `useMultiFileAuthState` makes.
fn key_store(folder: Arc<FolderBackend>, flavor: Flavor) -> KeyStore {
  KeyStore::new(folder as Arc<dyn Backend>, flavor)
}

/// `plainLoadCreds(folder, options?)` → `Promise<{ creds, created }>`:
/// `creds.json`, or fresh credentials (`created: true`, nothing written) when
/// there is none or no folder. A file that is not credentials rejects with
/// `AuthFileCorruptError`. No lock; a missing folder is not created.
#[napi(js_name = "plainLoadCreds", catch_unwind)]
pub fn plain_load_creds<'a>(env: &'a Env, folder: Unknown<'a>, options: Option<Unknown<'a>>) -> Result<Unknown<'a>> {
  promise_or_rejection(env, |js| {
    let display = folder_arg(js, folder)?;
    let options = options_arg(js, options, false)?;
    realm(js)?;
    let (pending, promise) = settle::begin(js)?;
    let done = settle_with(pending, |js: &Js, (creds, created): (Value, bool)| {
      let out = js.object()?;
      js.set_named(out, c"creds", to_js(js, &creds)?)?;
      js.set_named(out, c"created", js.bool_value(created)?)?;
      Ok(out)
    });
    let flavor = options.flavor;
    let fresh = move || (baileys_auth_core::creds::init_auth_creds(flavor), true);
    with_folder(display, options, false, move |opened| match opened {
      Err(e) => done(Err(e)),
      Ok(None) => done(Ok(fresh())),
      Ok(Some(f)) => key_store(f, flavor).load_creds(Box::new(move |r| {
        done(r.map(|c| match c {
          OpenedCreds::Loaded(c) => (c, false),
          OpenedCreds::Fresh(c) => (c, true),
        }))
      })),
    });
    Ok(promise)
  })
}

/// `plainSaveCreds(folder, creds, options?)` → `Promise<void>`: writes
/// `creds.json` atomically, under the folder's owner lock.
#[napi(js_name = "plainSaveCreds", catch_unwind)]
pub fn plain_save_creds<'a>(env: &'a Env, folder: Unknown<'a>, creds: Unknown<'a>, options: Option<Unknown<'a>>) -> Result<Unknown<'a>> {
  promise_or_rejection(env, |js| {
    let display = folder_arg(js, folder)?;
    let options = options_arg(js, options, true)?;
    let realm = realm(js)?;
    let value = Walker::new(*js, &realm).walk_root(creds.value().value)?.ok_or_else(|| JsErr::Type("creds cannot be serialized".into()))?;
    let (pending, promise) = settle::begin(js)?;
    let done = settle_with(pending, |js: &Js, ()| js.undefined());
    let flavor = options.flavor;
    with_folder(display, options, true, move |opened| match opened {
      Err(e) => done(Err(e)),
      Ok(None) => done(Err(BackendError::internal("the folder was not opened"))),
      Ok(Some(f)) => key_store(f, flavor).save_creds(&value, Box::new(done)),
    });
    Ok(promise)
  })
}

/// `plainLoadKey(folder, type, id, appStateClass?, logger?, options?)` →
/// `Promise<value | null>`: one key, read as `keys.get(type, [id])` reads it
/// (`app-state-sync-key` values through `appStateClass.fromObject` when given).
/// No lock; a missing folder reads as `null` and is not created.
#[napi(js_name = "plainLoadKey", catch_unwind)]
pub fn plain_load_key<'a>(
  env: &'a Env,
  folder: Unknown<'a>,
  key_type: Unknown<'a>,
  id: Unknown<'a>,
  app_state_class: Option<Unknown<'a>>,
  logger: Option<Unknown<'a>>,
  options: Option<Unknown<'a>>,
) -> Result<Unknown<'a>> {
  promise_or_rejection(env, |js| {
    let display = folder_arg(js, folder)?;
    let key_type = text(js, key_type)?;
    let id = text(js, id)?;
    let options = options_arg(js, options, false)?;
    let reads = ReadCall::begin(js, &key_type, app_state_class, logger, |_, convert, mut reads| {
      convert.value(reads.pop().and_then(|r| r.value).as_ref())
    })?;
    let (plain, done) = (reads.plain, reads.done);
    let flavor = options.flavor;
    with_folder(display, options, false, move |opened| match opened {
      Err(e) => done(vec![Err(e)]),
      Ok(None) => done(Vec::new()),
      Ok(Some(f)) => key_store(f, flavor).get(&key_type, vec![id], plain, done),
    });
    Ok(reads.promise)
  })
}

/// `plainSaveKey(folder, type, id, value, options?)` → `Promise<void>`: as
/// `keys.set({ [type]: { [id]: value } })`: a truthy value is written, a falsy
/// one deletes the key (a missing file is not an error). Under the owner lock.
#[napi(js_name = "plainSaveKey", catch_unwind)]
pub fn plain_save_key<'a>(
  env: &'a Env,
  folder: Unknown<'a>,
  key_type: Unknown<'a>,
  id: Unknown<'a>,
  value: Unknown<'a>,
  options: Option<Unknown<'a>>,
) -> Result<Unknown<'a>> {
  promise_or_rejection(env, |js| {
    let display = folder_arg(js, folder)?;
    let key_type = text(js, key_type)?;
    let id = text(js, id)?;
    let options = options_arg(js, options, true)?;
    let realm = realm(js)?;
    let changes = vec![key_change(js, &mut Walker::new(*js, &realm), &key_type, &id, value.value().value)?];
    let (pending, promise) = settle::begin(js)?;
    let done = settle_with(pending, |js: &Js, ()| js.undefined());
    // A delete in a folder that does not exist has nothing to do: the folder is not created.
    let create = changes.iter().any(|c| c.value.is_some());
    let flavor = options.flavor;
    with_folder(display, options, create, move |opened| match opened {
      Err(e) => done(Err(e)),
      Ok(None) => done(Ok(())),
      Ok(Some(f)) => key_store(f, flavor).set(changes, Box::new(done)),
    });
    Ok(promise)
  })
}

/// `plainListKeyFiles(folder, type)` → `Promise<{ names, ids }>`: the key
/// files of a type now in the folder, sorted by name, with their ids (see the
/// core's `listing`). No lock; a missing folder lists nothing.
#[napi(js_name = "plainListKeyFiles", catch_unwind)]
pub fn plain_list_key_files<'a>(env: &'a Env, folder: Unknown<'a>, key_type: Unknown<'a>) -> Result<Unknown<'a>> {
  promise_or_rejection(env, |js| {
    let display = folder_arg(js, folder)?;
    let key_type = text(js, key_type)?;
    let (pending, promise) = settle::begin(js)?;
    let done = settle_with(pending, |js: &Js, found: Vec<(String, String)>| key_files_to_js(js, &found));
    with_folder(display, OpenOptions { lock: false, ..OpenOptions::default() }, false, move |opened| match opened {
      Err(e) => done(Err(e)),
      Ok(None) => done(Ok(Vec::new())),
      Ok(Some(f)) => f.list_key_files(&key_type).then(done),
    });
    Ok(promise)
  })
}

/// `{ names, ids }` of `plainListKeyFiles`.
fn key_files_to_js(js: &Js, found: &[(String, String)]) -> JsResult<Val> {
  let names = js.array(found.len())?;
  let ids = js.array(found.len())?;
  for (i, (name, id)) in found.iter().enumerate() {
    js.set_element(names, i as u32, js.str_utf8(name)?)?;
    js.set_element(ids, i as u32, js.str_utf8(id)?)?;
  }
  let out = js.object()?;
  js.set_named(out, c"names", names)?;
  js.set_named(out, c"ids", ids)?;
  Ok(out)
}
