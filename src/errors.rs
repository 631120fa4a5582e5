//! Store errors as JavaScript errors: I/O errors shaped like Node's own
//! (`code`, `errno`, `syscall`, `path`), and the wrapper's typed classes for a
//! corrupt credentials file and a folder owned by another process.

use baileys_auth_core::backend::{BackendError, ErrorKind};
use baileys_auth_core::store::StoreError;

use crate::ffi::js::{Js, JsResult, Val};
use crate::ffi::realm::Realm;

/// An error of the core as the JavaScript error a call rejects with.
pub trait ToJsError: Send + 'static {
  fn to_js_error(&self, js: &Js, realm: &Realm) -> Val;
}

impl ToJsError for StoreError {
  fn to_js_error(&self, js: &Js, realm: &Realm) -> Val {
    store_error(js, realm, self)
  }
}

impl ToJsError for BackendError {
  fn to_js_error(&self, js: &Js, realm: &Realm) -> Val {
    // The folder store's errors keep their own, Node-like shape.
    if let Some(file) = &self.file {
      return store_error(js, realm, &file.0);
    }
    backend_error(js, realm, self).unwrap_or_else(|err| js.error_value(err))
  }
}

pub fn store_error(js: &Js, realm: &Realm, e: &StoreError) -> Val {
  build(js, realm, e).unwrap_or_else(|err| js.error_value(err))
}

/// A backend's error: the lock and corruption kinds as the wrapper's typed
/// classes (with the store's `path`, and the owner's `pid` when known), any
/// other as an `Error` with the kind's `code`.
fn backend_error(js: &Js, realm: &Realm, e: &BackendError) -> JsResult<Val> {
  let err = match e.kind {
    ErrorKind::Locked => {
      let err = typed(js, realm.locked_error, "AuthFolderLockedError", &e.message)?;
      let pid = match e.owner_pid {
        Some(p) => js.double(p as f64)?,
        None => js.null()?,
      };
      js.set_named(err, c"pid", pid)?;
      owner_fields(js, err, e)?;
      err
    }
    ErrorKind::Fenced => {
      let err = typed(js, None, "AuthLeaseLostError", &e.message)?;
      owner_fields(js, err, e)?;
      err
    }
    ErrorKind::Corrupt => typed(js, realm.corrupt_error, "AuthFileCorruptError", &e.message)?,
    ErrorKind::Key => typed(js, None, "AuthKeyError", &e.message)?,
    ErrorKind::Invalid => js.type_error(&e.message)?,
    _ => js.error(&e.message)?,
  };
  js.set_named(err, c"code", js.str_utf8(e.code)?)?;
  Ok(err)
}

/// A shared server's owner: `host` and `until` (a `Date`) when known.
fn owner_fields(js: &Js, err: Val, e: &BackendError) -> JsResult<()> {
  if let Some(host) = &e.owner_host {
    js.set_named(err, c"host", js.str_utf8(host)?)?;
  }
  if let Some(ms) = e.owner_until_ms {
    js.set_named(err, c"until", js.date(ms as f64)?)?;
  }
  Ok(())
}

fn build(js: &Js, realm: &Realm, e: &StoreError) -> JsResult<Val> {
  let message = e.to_string();
  let err = match e {
    StoreError::Corrupt { path, cause } => {
      let err = typed(js, realm.corrupt_error, "AuthFileCorruptError", &message)?;
      js.set_named(err, c"path", js.str_utf8(&path.to_string_lossy())?)?;
      let cause_msg = js.str_utf8(&cause.to_string())?;
      let cause = js.new_instance(realm.syntax_error, &[cause_msg])?;
      js.set_named(err, c"cause", cause)?;
      err
    }
    StoreError::Locked { folder, pid } => {
      let err = typed(js, realm.locked_error, "AuthFolderLockedError", &message)?;
      js.set_named(err, c"folder", js.str_utf8(&folder.to_string_lossy())?)?;
      let pid = match pid {
        Some(p) => js.double(*p as f64)?,
        None => js.null()?,
      };
      js.set_named(err, c"pid", pid)?;
      err
    }
    // As Node's `writeFile` throws: a NUL in a path is a TypeError, a name
    // too long (or one this OS cannot store) an ordinary Error with its errno.
    StoreError::BadName { .. } if e.errno().is_some() => js.error(&message)?,
    StoreError::BadName { .. } | StoreError::Invalid { .. } => js.type_error(&message)?,
    StoreError::Io { syscall, path, .. } => {
      let err = js.error(&message)?;
      js.set_named(err, c"syscall", js.str_utf8(syscall)?)?;
      js.set_named(err, c"path", js.str_utf8(&path.to_string_lossy())?)?;
      err
    }
    StoreError::NotADirectory { .. } | StoreError::Internal { .. } => js.error(&message)?,
  };
  if let Some(code) = e.code() {
    js.set_named(err, c"code", js.str_utf8(code)?)?;
  }
  if let Some(errno) = e.errno() {
    // Node's fs errors carry the negated errno (libuv's code on Windows).
    js.set_named(err, c"errno", js.double(baileys_auth_core::errno::node_errno(errno) as f64)?)?;
  }
  Ok(err)
}

/// An instance of a registered error class, or a plain `Error` with its `name`.
fn typed(js: &Js, class: Option<Val>, name: &str, message: &str) -> JsResult<Val> {
  let msg = js.str_utf8(message)?;
  match class {
    Some(c) => js.new_instance(c, &[msg]),
    None => {
      let err = js.error(message)?;
      js.set_named(err, c"name", js.str_utf8(name)?)?;
      Ok(err)
    }
  }
}
