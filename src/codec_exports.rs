//! The codec on its own: Baileys' file bytes for a value, and the value for
//! file bytes, without a folder. For custom stores (SQL, Redis…) that want
//! byte-for-byte the files Baileys' helper writes, and for our differential
//! tests. Also fresh credentials (`initAuthCreds`) and the wrapper's error
//! classes (`setErrorClasses`, at load).

use baileys_auth_core::codec::{self, ParseError};
use napi::bindgen_prelude::*;
use napi_derive::napi;

use crate::calls::{flavor_arg, throw};
use crate::convert::js_to_value::Walker;
use crate::convert::value_to_js::to_js;
use crate::ffi::js::{Js, JsErr};
use crate::ffi::realm::realm;

/// `Buffer.from(JSON.stringify(value, BufferJSON.replacer))`, or `undefined`
/// where `JSON.stringify` gives `undefined`. Throws where it throws.
#[napi(js_name = "encodeAuthValue", catch_unwind)]
pub fn encode_auth_value<'a>(env: &'a Env, value: Unknown<'a>) -> Result<Unknown<'a>> {
  let js = Js::from_env(env);
  let realm = realm(&js).map_err(|e| throw(&js, e))?;
  let walked = Walker::new(js, &realm).walk_root(value.value().value).map_err(|e| throw(&js, e))?;
  let out = match walked {
    Some(v) => js.buffer_copy(&codec::to_json_bytes(&v)),
    None => js.undefined(),
  }
  .map_err(|e| throw(&js, e))?;
  Ok(js.as_unknown(out))
}

/// `JSON.parse(bytes.toString('utf-8'), BufferJSON.reviver)` of the chosen
/// line (`'v6'`, `'v7'`, or by default every form either reads). Throws a
/// SyntaxError for text that is not JSON.
#[napi(js_name = "decodeAuthValue", catch_unwind)]
pub fn decode_auth_value<'a>(env: &'a Env, bytes: Unknown<'a>, flavor: Option<Unknown<'a>>) -> Result<Unknown<'a>> {
  let js = Js::from_env(env);
  let flavor = flavor_arg(&js, flavor.map(|f| f.value().value)).map_err(|e| throw(&js, e))?;
  let input = bytes.value().value;
  // A copy: a view over a SharedArrayBuffer could change under the parser.
  let parsed = match js.uint8_copy(input).map_err(|e| throw(&js, e))? {
    Some(b) => codec::parse_file(&b, flavor),
    None => {
      let text = js.to_string(input).and_then(|s| js.utf8_lossy(s)).map_err(|e| throw(&js, e))?;
      codec::parse_file(text.as_bytes(), flavor)
    }
  };
  let value = match parsed {
    Ok(v) => v,
    Err(ParseError::Revive(e)) => return Err(throw(&js, JsErr::Type(e.to_string()))),
    Err(ParseError::TooDeep) => return Err(throw(&js, JsErr::Range(ParseError::TooDeep.to_string()))),
    Err(e @ ParseError::Syntax { .. }) => {
      let err = (|| {
        let r = realm(&js)?;
        let m = js.str_utf8(&e.to_string())?;
        js.new_instance(r.syntax_error, &[m])
      })();
      js.throw(err.unwrap_or_else(|e| js.error_value(e)));
      return Err(Error::new(Status::PendingException, ""));
    }
  };
  let out = to_js(&js, &value).map_err(|e| throw(&js, e))?;
  Ok(js.as_unknown(out))
}

/// `initAuthCreds(flavor?)`: fresh credentials, v7's key set unless `'v6'`.
#[napi(js_name = "initAuthCreds", catch_unwind)]
pub fn init_auth_creds<'a>(env: &'a Env, flavor: Option<Unknown<'a>>) -> Result<Unknown<'a>> {
  let js = Js::from_env(env);
  let flavor = flavor_arg(&js, flavor.map(|f| f.value().value)).map_err(|e| throw(&js, e))?;
  let creds = baileys_auth_core::creds::init_auth_creds(flavor);
  let v = to_js(&js, &creds).map_err(|e| throw(&js, e))?;
  Ok(js.as_unknown(v))
}

/// Registers the JavaScript wrapper's error classes (and captures the realm's
/// built-ins, at load: see [`crate::ffi::realm::set_error_classes`]).
#[napi(js_name = "setErrorClasses", catch_unwind)]
pub fn set_error_classes(env: &Env, corrupt: Unknown<'_>, locked: Unknown<'_>, intrinsics: Option<Unknown<'_>>) -> Result<()> {
  let js = Js::from_env(env);
  let intrinsics = intrinsics.map(|v| v.value().value);
  crate::ffi::realm::set_error_classes(&js, corrupt.value().value, locked.value().value, intrinsics).map_err(|e| throw(&js, e))
}
