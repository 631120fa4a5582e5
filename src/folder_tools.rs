//! Folder tools for the CLI and for users of large folders: `inspectFolder`
//! (the CLI's `stats` and `verify`). The work is the core's
//! ([`baileys_auth_core::inspect`]); this converts options and the report.

use std::path::Path;
use std::sync::Arc;

use baileys_auth_core::codec::{Object, Value};
use baileys_auth_core::inspect::{inspect, FileTime, InspectOptions, Report};
use baileys_auth_core::store::{files, Folder, OpenOptions, RealIo, StoreError};
use napi::bindgen_prelude::*;
use napi_derive::napi;

use crate::calls::{promise_or_rejection, settle_with};
use crate::convert::value_to_js::to_js;
use crate::ffi::js::{Js, JsErr, Type};
use crate::ffi::settle;
use crate::tasks::on_pool;

/// `inspectFolder(folder, { verify?, fix?, flavor? })` → `Promise<report>`.
/// Read-only unless `fix`, which moves unreadable files aside (never deletes)
/// and needs the folder's lock.
#[napi(js_name = "inspectFolder", catch_unwind)]
pub fn inspect_folder<'a>(env: &'a Env, folder: Unknown<'a>, options: Option<Unknown<'a>>) -> Result<Unknown<'a>> {
  promise_or_rejection(env, |js| {
    let folder = folder.value().value;
    if js.type_of(folder)? != Type::String {
      return Err(JsErr::Type("The \"folder\" argument must be of type string".into()));
    }
    let display = js.utf8_lossy(folder)?;
    let (mut verify, mut fix, mut flavor) = (false, false, Default::default());
    if let Some(opts) = options.map(|o| o.value().value) {
      if js.type_of(opts)? == Type::Object {
        verify = js.truthy(js.get_named(opts, c"verify")?)?;
        fix = js.truthy(js.get_named(opts, c"fix")?)?;
        let f = js.get_named(opts, c"flavor")?;
        flavor = crate::calls::flavor_arg(js, Some(f))?;
      }
    }
    let (pending, promise) = settle::begin(js)?;
    let done = settle_with(pending, move |js: &Js, (path, report): (String, Report)| to_js(js, &report_value(&path, &report)));
    let run = move || -> std::result::Result<(String, Report), StoreError> {
      let path = Path::new(&display);
      match std::fs::metadata(path) {
        Ok(m) if m.is_dir() => {}
        Ok(_) => return Err(StoreError::NotADirectory { folder: display.clone() }),
        Err(e) => return Err(StoreError::io("stat", path, e)),
      }
      let options = InspectOptions { verify: verify || fix, flavor };
      if fix {
        let folder = Folder::open(&display, OpenOptions { flavor, fsync: false, lock: true }, Arc::new(RealIo))?;
        let mut mover = |name: &str| files::move_aside(&folder, name);
        let report = inspect(&folder.path, &options, Some(&mut mover))?;
        Ok((folder.path.to_string_lossy().into_owned(), report))
      } else {
        let canonical = baileys_auth_core::paths::canonicalize(path).map_err(|e| StoreError::io("realpath", path, e))?;
        let report = inspect(&canonical, &options, None)?;
        Ok((canonical.to_string_lossy().into_owned(), report))
      }
    };
    on_pool("inspecting the folder", run, done);
    Ok(promise)
  })
}

fn num(n: u64) -> Value {
  Value::Number(n as f64)
}

fn strings(list: &[String]) -> Value {
  Value::Array(list.iter().map(|s| Value::str(s)).collect())
}

fn time(t: &Option<FileTime>) -> Value {
  match t {
    None => Value::Null,
    Some(t) => {
      let mut o = Object::new();
      o.push("name", Value::str(&t.name));
      o.push("mtimeMs", Value::Number(t.mtime_ms));
      Value::Object(o)
    }
  }
}

fn report_value(path: &str, r: &Report) -> Value {
  let mut o = Object::new();
  o.push("folder", Value::str(path));
  o.push("hasCreds", Value::Bool(r.has_creds));
  o.push("registered", r.registered.map(Value::Bool).unwrap_or(Value::Null));
  o.push("accountId", r.account_id.as_deref().map(Value::str).unwrap_or(Value::Null));
  let mut by_type = Object::new();
  for (t, s) in &r.by_type {
    let mut e = Object::new();
    e.push("files", num(s.files));
    e.push("bytes", num(s.bytes));
    by_type.push(t.as_str(), Value::Object(e));
  }
  o.push("byType", Value::Object(by_type));
  o.push("totalFiles", num(r.total_files));
  o.push("totalBytes", num(r.total_bytes));
  o.push("oldest", time(&r.oldest));
  o.push("newest", time(&r.newest));
  o.push("staleTemps", strings(&r.stale_temps));
  o.push("movedAside", strings(&r.moved_aside));
  o.push("verified", num(r.verified));
  let findings = r
    .findings
    .iter()
    .map(|f| {
      let mut e = Object::new();
      e.push("name", Value::str(&f.name));
      e.push("problem", Value::str(f.problem.as_str()));
      e.push("detail", Value::str(&f.detail));
      e.push("movedTo", f.moved_to.as_deref().map(Value::str).unwrap_or(Value::Null));
      Value::Object(e)
    })
    .collect();
  o.push("findings", Value::Array(findings));
  Value::Object(o)
}

/// `ioLayer()`: which I/O layer this binary's folder store uses, `'unix'` or
/// `'portable'` (built with the `portable-io` feature, or for Windows).
#[napi(js_name = "ioLayer")]
pub fn io_layer() -> &'static str {
  baileys_auth_core::store::io::layer()
}
