//! `openPostgresAuthState(connection, account, options)`: an account in a
//! shared PostgreSQL database, as a `NativeKeyStore` (every call after the
//! open is the shared class's). Only the arguments are PostgreSQL's own; and
//! `inspectPostgres`, the CLI's stats and verify of a server.

use std::sync::Arc;
use std::time::Duration;

use baileys_auth_core::backend::Backend;
use baileys_auth_core::backends::postgres::connect::{ConnectionSpec, Fields, SslFields};
use baileys_auth_core::backends::postgres::report::{report, LeaseInfo, Report, ReportOptions};
use baileys_auth_core::backends::postgres::{self, PostgresOptions};
use baileys_auth_core::codec::{Object, Value};
use napi::bindgen_prelude::*;
use napi_derive::napi;

use crate::calls::{flavor_arg, parse_options, promise_or_rejection, settle_with};
use crate::convert::value_to_js::to_js;
use crate::ffi::js::{Js, JsErr, JsResult, Type, Val};
use crate::ffi::settle;
use crate::open::{encryption_option, open_on_pool, sealed, string_arg};
use crate::reports::{by_type_value, finding_value, opt_str};
use crate::tasks::on_pool;

/// `connection`: a libpq string or URL, node-postgres' object form, or
/// nothing (the `PG*` variables). `account`: any non-empty string.
#[napi(js_name = "openPostgresAuthState", catch_unwind)]
pub fn open_postgres_auth_state<'a>(
  env: &'a Env,
  connection: Unknown<'a>,
  account: Unknown<'a>,
  options: Option<Unknown<'a>>,
) -> Result<Unknown<'a>> {
  promise_or_rejection(env, |js| {
    let spec = connection_arg(js, connection.value().value)?;
    let account = string_arg(js, account.value().value, "account")?;
    if account.is_empty() {
      return Err(JsErr::Type("The \"account\" argument must be a non-empty string".into()));
    }
    let opts = options.map(|o| o.value().value);
    let common = parse_options(js, opts, true)?;
    let mut pg = PostgresOptions::new(spec, account);
    pg.lease = common.lock;
    if let Some(o) = opts.filter(|o| js.type_of(*o).is_ok_and(|t| t == Type::Object)) {
      if let Some(ms) = number_option(js, o, c"leaseTtlMs", 100.0, 86_400_000.0)? {
        pg.lease_ttl = Duration::from_millis(ms as u64);
      }
      if let Some(n) = number_option(js, o, c"poolSize", 1.0, 1000.0)? {
        pg.pool_size = n as usize;
      }
      if let Some(ms) = number_option(js, o, c"timeoutMs", 10.0, 3_600_000.0)? {
        pg.timeout = Duration::from_millis(ms as u64);
      }
      if let Some(s) = string_option(js, o, c"schema")? {
        pg.schema = Some(s);
      }
      if let Some(p) = string_option(js, o, c"tablePrefix")? {
        pg.table_prefix = p;
      }
    }
    // Sealed values are bound to their account: a row copied to another fails to open.
    let sealer = encryption_option(js, opts, &pg.account)?;
    open_on_pool(js, common.flavor, move || sealed(postgres::open(&pg).map(|b| Arc::new(b) as Arc<dyn Backend>), sealer))
  })
}

fn connection_arg(js: &Js, v: Val) -> JsResult<ConnectionSpec> {
  match js.type_of(v)? {
    Type::Undefined | Type::Null => Ok(ConnectionSpec::Environment),
    Type::String => Ok(ConnectionSpec::Text(js.utf8_lossy(v)?)),
    Type::Object => {
      if let Some(s) = string_option(js, v, c"connectionString")? {
        return Ok(ConnectionSpec::Text(s));
      }
      let port = number_option(js, v, c"port", 1.0, 65535.0)?.map(|p| p as u16);
      let ssl = js.get_named(v, c"ssl")?;
      let ssl = match js.type_of(ssl)? {
        Type::Undefined | Type::Null => None,
        Type::Boolean => js.boolean(ssl)?.then_some(SslFields { reject_unauthorized: true, ca_pem: None }),
        Type::Object => {
          let reject = js.get_named(ssl, c"rejectUnauthorized")?;
          let reject_unauthorized = js.type_of(reject)? == Type::Undefined || js.truthy(reject)?;
          let ca = js.get_named(ssl, c"ca")?;
          let ca_pem = match js.type_of(ca)? {
            Type::Undefined | Type::Null => None,
            // A Buffer or a string: its text (String(buffer) is its UTF-8).
            _ => Some(js.utf8_lossy(js.to_string(ca)?)?),
          };
          Some(SslFields { reject_unauthorized, ca_pem })
        }
        _ => return Err(JsErr::Type("connection.ssl must be a boolean or an object".into())),
      };
      Ok(ConnectionSpec::Fields(Fields {
        host: string_option(js, v, c"host")?,
        port,
        user: string_option(js, v, c"user")?,
        password: string_option(js, v, c"password")?,
        database: string_option(js, v, c"database")?,
        ssl,
      }))
    }
    _ => Err(JsErr::Type("connection must be a connection string, an object or undefined".into())),
  }
}

fn string_option(js: &Js, o: Val, name: &std::ffi::CStr) -> JsResult<Option<String>> {
  let v = js.get_named(o, name)?;
  match js.type_of(v)? {
    Type::Undefined | Type::Null => Ok(None),
    Type::String => Ok(Some(js.utf8_lossy(v)?)),
    _ => Err(JsErr::Type(format!("{} must be a string", name.to_string_lossy()))),
  }
}

fn number_option(js: &Js, o: Val, name: &std::ffi::CStr, min: f64, max: f64) -> JsResult<Option<f64>> {
  let v = js.get_named(o, name)?;
  match js.type_of(v)? {
    Type::Undefined | Type::Null => Ok(None),
    Type::Number => {
      let n = js.number(v)?;
      if !(min..=max).contains(&n) {
        return Err(JsErr::Range(format!("{} must be a number from {min} to {max}", name.to_string_lossy())));
      }
      Ok(Some(n))
    }
    _ => Err(JsErr::Type(format!("{} must be a number", name.to_string_lossy()))),
  }
}

/// `inspectPostgres(connection, account, { verify, flavor, schema, tablePrefix, timeoutMs })`:
/// one account's report (`account` a string), or every account with its key
/// count and lease (`account` null). Read-only: no lease is taken.
#[napi(js_name = "inspectPostgres", catch_unwind)]
pub fn inspect_postgres<'a>(
  env: &'a Env,
  connection: Unknown<'a>,
  account: Unknown<'a>,
  options: Option<Unknown<'a>>,
) -> Result<Unknown<'a>> {
  promise_or_rejection(env, |js| {
    let spec = connection_arg(js, connection.value().value)?;
    let account = match js.type_of(account.value().value)? {
      Type::Undefined | Type::Null => None,
      _ => Some(string_arg(js, account.value().value, "account")?),
    };
    let mut o = ReportOptions {
      schema: None,
      table_prefix: PostgresOptions::new(ConnectionSpec::Environment, "").table_prefix,
      verify: false,
      flavor: Default::default(),
      timeout: Duration::from_secs(10),
    };
    if let Some(opts) = options.map(|o| o.value().value).filter(|v| js.type_of(*v).is_ok_and(|t| t == Type::Object)) {
      o.verify = js.truthy(js.get_named(opts, c"verify")?)?;
      o.flavor = flavor_arg(js, Some(js.get_named(opts, c"flavor")?))?;
      o.schema = string_option(js, opts, c"schema")?;
      if let Some(p) = string_option(js, opts, c"tablePrefix")? {
        o.table_prefix = p;
      }
      if let Some(ms) = number_option(js, opts, c"timeoutMs", 10.0, 3_600_000.0)? {
        o.timeout = Duration::from_millis(ms as u64);
      }
    }
    let (pending, promise) = settle::begin(js)?;
    let done = settle_with(pending, |js: &Js, r: Report| to_js(js, &report_value(&r)));
    on_pool("inspecting the database", move || report(&spec, account.as_deref(), &o), done);
    Ok(promise)
  })
}

fn lease_value(l: &Option<LeaseInfo>) -> Value {
  let Some(l) = l else { return Value::Null };
  let mut o = Object::new();
  o.push("token", Value::Number(l.token as f64));
  o.push("host", opt_str(l.owner_host.as_deref()));
  o.push("pid", l.owner_pid.map(|p| Value::Number(p as f64)).unwrap_or(Value::Null));
  o.push("until", l.until_ms.map(|ms| Value::Number(ms as f64)).unwrap_or(Value::Null));
  o.push("held", Value::Bool(l.live));
  Value::Object(o)
}

fn report_value(r: &Report) -> Value {
  match r {
    Report::Accounts(list) => {
      let mut o = Object::new();
      let accounts = list
        .iter()
        .map(|a| {
          let mut e = Object::new();
          e.push("account", Value::str(&a.account));
          e.push("keys", Value::Number(a.keys as f64));
          e.push("hasCreds", Value::Bool(a.has_creds));
          e.push("lease", lease_value(&a.lease));
          Value::Object(e)
        })
        .collect();
      o.push("accounts", Value::Array(accounts));
      Value::Object(o)
    }
    Report::Account(r) => {
      let mut o = Object::new();
      o.push("account", Value::str(&r.account));
      o.push("hasCreds", Value::Bool(r.has_creds));
      o.push("registered", r.registered.map(Value::Bool).unwrap_or(Value::Null));
      o.push("accountId", opt_str(r.account_id.as_deref()));
      o.push("byType", by_type_value(&r.by_type));
      o.push("lease", lease_value(&r.lease));
      o.push("quarantined", Value::Number(r.quarantined as f64));
      o.push("verified", Value::Number(r.verified as f64));
      o.push("sealed", Value::Number(r.sealed as f64));
      o.push("sealed", Value::Number(r.sealed as f64));
      o.push("findings", Value::Array(r.findings.iter().map(finding_value).collect()));
      Value::Object(o)
    }
  }
}
