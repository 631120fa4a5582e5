//! `inspectSqlite(dbPath, { verify, flavor })`: what an auth database holds and
//! what cannot be read back (the CLI's `stats` and `verify` of a SQLite file),
//! read-only and off the JavaScript thread.

use std::path::Path;

use baileys_auth_core::backends::sqlite::report::{report, SqliteReport};
use baileys_auth_core::codec::{Object, Value};
use napi::bindgen_prelude::*;
use napi_derive::napi;

use crate::calls::{flavor_arg, promise_or_rejection, settle_with};
use crate::convert::value_to_js::to_js;
use crate::ffi::js::{Js, JsErr, Type};
use crate::ffi::settle;
use crate::reports::{by_type_value, finding_value, opt_str};
use crate::tasks::on_pool;

#[napi(js_name = "inspectSqlite", catch_unwind)]
pub fn inspect_sqlite<'a>(env: &'a Env, db_path: Unknown<'a>, options: Option<Unknown<'a>>) -> Result<Unknown<'a>> {
  promise_or_rejection(env, |js| {
    let path = db_path.value().value;
    if js.type_of(path)? != Type::String {
      return Err(JsErr::Type("The \"dbPath\" argument must be of type string".into()));
    }
    let path = js.utf8_lossy(path)?;
    let (mut verify, mut flavor) = (false, Default::default());
    if let Some(opts) = options.map(|o| o.value().value) {
      if js.type_of(opts)? == Type::Object {
        verify = js.truthy(js.get_named(opts, c"verify")?)?;
        flavor = flavor_arg(js, Some(js.get_named(opts, c"flavor")?))?;
      }
    }
    let (pending, promise) = settle::begin(js)?;
    let done = settle_with(pending, |js: &Js, r: SqliteReport| to_js(js, &report_value(&r)));
    on_pool("inspecting the database", move || report(Path::new(&path), verify, flavor), done);
    Ok(promise)
  })
}

fn report_value(r: &SqliteReport) -> Value {
  let mut o = Object::new();
  o.push("file", Value::str(&r.path.to_string_lossy()));
  o.push("hasCreds", Value::Bool(r.has_creds));
  o.push("registered", r.registered.map(Value::Bool).unwrap_or(Value::Null));
  o.push("accountId", opt_str(r.account_id.as_deref()));
  o.push("byType", by_type_value(&r.by_type));
  o.push("fileBytes", Value::Number(r.file_bytes as f64));
  o.push("quarantined", Value::Number(r.quarantined as f64));
  o.push("verified", Value::Number(r.verified as f64));
  o.push("sealed", Value::Number(r.sealed as f64));
  let findings = r.findings.iter().map(finding_value).collect();
  o.push("findings", Value::Array(findings));
  Value::Object(o)
}
