//! What the calls of every store share, written once: a bad argument as a
//! rejected promise (never a synchronous throw, as Baileys' async functions
//! do), the options, promise settlement with a core result, the ids of a
//! `get`, the reads turned into values (with the caller's
//! `AppStateSyncKeyData` class and logger), and the walk over a `set(data)`.

use baileys_auth_core::backend::BackendError;
use baileys_auth_core::codec::{Flavor, JsString, Value};
use baileys_auth_core::store::OpenOptions;
use baileys_auth_core::values::{ValueRead, APP_STATE_SYNC_KEY};
use napi::bindgen_prelude::*;

use crate::convert::value_to_js::{string, Builder};
use crate::errors::ToJsError;
use crate::ffi::handles::HeldRef;
use crate::ffi::js::{Js, JsErr, JsResult, Type, Val};
use crate::ffi::realm::{realm, Realm};
use crate::ffi::settle::{self, Pending};

/// Runs `body`, turning any failure into a rejected promise.
pub(crate) fn promise_or_rejection<'a>(env: &Env, body: impl FnOnce(&Js) -> JsResult<Val>) -> Result<Unknown<'a>> {
  let js = Js::from_env(env);
  let promise = match body(&js) {
    Ok(p) => p,
    Err(e) => {
      let err = js.error_value(e);
      settle::settled(&js, Err(err)).map_err(|_| Error::from_reason("cannot create a promise"))?
    }
  };
  Ok(js.as_unknown(promise))
}

/// Settles `pending` with a store result.
pub(crate) fn settle_with<T: Send + 'static, E: ToJsError>(
  pending: Pending,
  build: impl FnOnce(&Js, T) -> JsResult<Val> + Send + 'static,
) -> impl FnOnce(std::result::Result<T, E>) + Send + 'static {
  move |result| {
    pending.settle(Box::new(move |js: &Js| {
      let realm = realm(js).map_err(|e| js.error_value(e))?;
      match result {
        Ok(v) => build(js, v).map_err(|e| js.error_value(e)),
        Err(e) => Err(e.to_js_error(js, &realm)),
      }
    }))
  }
}

/// `{ flavor?, fsync?, lock? }`; `fsync` is `default_fsync` when not given.
pub(crate) fn parse_options(js: &Js, options: Option<Val>, default_fsync: bool) -> JsResult<OpenOptions> {
  let mut out = OpenOptions { fsync: default_fsync, ..OpenOptions::default() };
  let Some(opts) = options else { return Ok(out) };
  if matches!(js.type_of(opts)?, Type::Undefined | Type::Null) {
    return Ok(out);
  }
  if js.type_of(opts)? != Type::Object {
    return Err(JsErr::Type("options must be an object".into()));
  }
  let flavor = js.get_named(opts, c"flavor")?;
  match js.type_of(flavor)? {
    Type::Undefined => {}
    Type::String => {
      let name = js.utf8_lossy(flavor)?;
      out.flavor =
        Flavor::from_name(&name).ok_or_else(|| JsErr::Type(format!("options.flavor must be 'v6', 'v7' or 'any', not '{name}'")))?;
    }
    _ => return Err(JsErr::Type("options.flavor must be 'v6', 'v7' or 'any'".into())),
  }
  let fsync = js.get_named(opts, c"fsync")?;
  if js.type_of(fsync)? != Type::Undefined {
    out.fsync = js.truthy(fsync)?;
  }
  let lock = js.get_named(opts, c"lock")?;
  if js.type_of(lock)? != Type::Undefined {
    out.lock = js.truthy(lock)?;
  }
  Ok(out)
}

pub(crate) fn flavor_arg(js: &Js, flavor: Option<Val>) -> JsResult<Flavor> {
  match flavor {
    None => Ok(Flavor::Any),
    Some(v) => match js.type_of(v)? {
      Type::Undefined | Type::Null => Ok(Flavor::Any),
      Type::String => {
        let name = js.utf8_lossy(v)?;
        Flavor::from_name(&name).ok_or_else(|| JsErr::Type(format!("flavor must be 'v6', 'v7' or 'any', not '{name}'")))
      }
      _ => Err(JsErr::Type("flavor must be 'v6', 'v7' or 'any'".into())),
    },
  }
}

/// Throws a [`JsErr`] from a synchronous export.
pub(crate) fn throw(js: &Js, e: JsErr) -> Error {
  js.throw(js.error_value(e));
  Error::new(Status::PendingException, "")
}

/// Ids (or file names) one reading call takes: far more than any `get`
/// Baileys makes, and refused before anything is allocated for them (a sparse
/// array can claim 2³²−1 elements).
const MAX_IDS: usize = 1 << 24;

/// Baileys' `proto.Message.AppStateSyncKeyData` when the caller gave it and
/// the call reads `app-state-sync-key`s: their values then come back through
/// its `fromObject`; otherwise the core converts them to equal plain objects.
pub(crate) struct AppStateClass {
  class: Option<HeldRef>,
}

impl AppStateClass {
  pub(crate) fn new(js: &Js, key_type: &str, class: Option<Val>) -> JsResult<Self> {
    let class = if key_type == APP_STATE_SYNC_KEY { HeldRef::new(js, class)? } else { None };
    Ok(AppStateClass { class })
  }

  /// Whether the core should make the plain-object form itself.
  pub(crate) fn plain(&self) -> bool {
    self.class.is_none()
  }

  /// Turns reads into values, on the JavaScript thread.
  pub(crate) fn converter<'r>(&self, js: &Js, realm: &'r Realm) -> JsResult<Converter<'r>> {
    let from_object = match &self.class {
      Some(r) => {
        let class = r.value(js)?;
        Some((class, js.get_named(class, c"fromObject")?))
      }
      None => None,
    };
    Ok(Converter { js: *js, builder: Builder::new(*js, Some(realm)), from_object })
  }
}

pub(crate) struct Converter<'r> {
  js: Js,
  builder: Builder<'r>,
  from_object: Option<(Val, Val)>,
}

impl Converter<'_> {
  /// One `get` answer as a JavaScript value: `null`, or the value (through
  /// `fromObject` when the caller gave Baileys' class).
  pub(crate) fn value(&mut self, value: Option<&Value>) -> JsResult<Val> {
    match value {
      None => self.js.null(),
      Some(v) => {
        let built = self.builder.build(v)?;
        match self.from_object {
          Some((class, f)) if v.is_truthy() => self.js.call(f, class, &[built]),
          _ => Ok(built),
        }
      }
    }
  }
}

/// The ids of `keys.get(type, ids)` as Baileys' `ids.map` visits them (holes
/// skipped, each `String(id)`): as the result's keys, and as text.
pub(crate) fn ids_arg(js: &Js, ids: Val) -> JsResult<(Vec<JsString>, Vec<String>)> {
  if !js.is_array(ids)? {
    return Err(JsErr::Type("ids.map is not a function".into()));
  }
  let n = js.array_length(ids)?;
  if n as usize > MAX_IDS {
    return Err(JsErr::Range(format!("keys.get: {n} ids is more than one call reads (the limit is {MAX_IDS})")));
  }
  let mut id_keys: Vec<JsString> = Vec::with_capacity(n.min(1 << 16) as usize);
  let mut id_names: Vec<String> = Vec::with_capacity(n.min(1 << 16) as usize);
  for i in 0..n {
    // `ids.map` skips the holes of a sparse array.
    if !js.has_element(ids, i)? {
      continue;
    }
    let id = js.to_string(js.get_element(ids, i)?)?;
    let key = JsString::from_utf16(js.utf16_fast(id)?);
    id_names.push(key.to_string_lossy());
    id_keys.push(key);
  }
  Ok((id_keys, id_names))
}

/// The values of a read as an array, in request order (`null` for a missing one).
pub(crate) fn values_array(js: &Js, convert: &mut Converter<'_>, reads: Vec<ValueRead>) -> JsResult<Val> {
  let out = js.array(reads.len())?;
  for (i, read) in reads.iter().enumerate() {
    js.set_element(out, i as u32, convert.value(read.value.as_ref())?)?;
  }
  Ok(out)
}

/// `{ [id]: value | null }` of a `get`.
pub(crate) fn get_result(js: &Js, convert: &mut Converter<'_>, id_keys: &[JsString], reads: Vec<ValueRead>) -> JsResult<Val> {
  let out = js.object()?;
  for (key, read) in id_keys.iter().zip(reads) {
    js.set(out, string(js, key)?, convert.value(read.value.as_ref())?)?;
  }
  Ok(out)
}

/// Settles a `get`-like call: first every warning goes to the logger (also
/// when the call then fails), then the first failed read rejects the call,
/// else `build` makes the result.
pub(crate) fn settle_reads<E: ToJsError>(
  pending: Pending,
  build: impl FnOnce(&Js, Vec<ValueRead>) -> JsResult<Val> + Send + 'static,
  logger: Option<HeldRef>,
) -> impl FnOnce(Vec<std::result::Result<ValueRead, E>>) + Send + 'static {
  move |reads| {
    pending.settle(Box::new(move |js: &Js| {
      let realm = realm(js).map_err(|e| js.error_value(e))?;
      if let Some(logger) = logger.as_ref().and_then(|l| l.value(js).ok()) {
        for msg in reads.iter().filter_map(|r| r.as_ref().ok().and_then(|r| r.warning.as_deref())) {
          warn(js, logger, msg);
        }
      }
      let mut ok = Vec::with_capacity(reads.len());
      for read in reads {
        match read {
          Ok(r) => ok.push(r),
          Err(e) => return Err(e.to_js_error(js, &realm)),
        }
      }
      build(js, ok).map_err(|e| js.error_value(e))
    }))
  }
}

/// What every reading call (`get`, `readIds`, `plainLoadKey`) sets up on
/// the JavaScript thread before it queues its reads: the caller's
/// `AppStateSyncKeyData` class and logger held until the reads come back, the
/// promise, and the callback that turns the reads into the answer with `build`.
/// Receives the outcome of each read of a call, in request order.
pub(crate) type ReadsSink<E> = Box<dyn FnOnce(Vec<std::result::Result<ValueRead, E>>) + Send>;

pub(crate) struct ReadCall<E = BackendError> {
  pub promise: Val,
  /// Whether the core makes app-state keys' plain-object form itself.
  pub plain: bool,
  pub done: ReadsSink<E>,
}

impl<E: ToJsError> ReadCall<E> {
  pub(crate) fn begin(
    js: &Js,
    key_type: &str,
    app_state_class: Option<Unknown<'_>>,
    logger: Option<Unknown<'_>>,
    build: impl FnOnce(&Js, &mut Converter<'_>, Vec<ValueRead>) -> JsResult<Val> + Send + 'static,
  ) -> JsResult<ReadCall<E>> {
    let class = AppStateClass::new(js, key_type, app_state_class.map(|v| v.value().value))?;
    let logger = HeldRef::new(js, logger.map(|v| v.value().value))?;
    let (pending, promise) = settle::begin(js)?;
    let plain = class.plain();
    let done = settle_reads(
      pending,
      move |js: &Js, reads: Vec<ValueRead>| {
        let realm = realm(js)?;
        let mut convert = class.converter(js, &realm)?;
        build(js, &mut convert, reads)
      },
      logger,
    );
    Ok(ReadCall { promise, plain, done: Box::new(done) })
  }
}

pub(crate) fn warn(js: &Js, logger: Val, message: &str) {
  let result = (|| -> JsResult<()> {
    let f = js.get_named(logger, c"warn")?;
    if js.type_of(f)? == Type::Function {
      js.call(f, logger, &[js.str_utf8(message)?])?;
    }
    Ok(())
  })();
  if result.is_err() {
    // A throwing logger must not lose the data the call read.
    js.take_exception();
  }
}

/// Visits the keys of a `set(data)` call as Baileys' loops do
/// (`for (type in data) for (id in data[type])`), with each key's value;
/// every backend's `set` is built on it. The handles of one key are released
/// once `f` returns.
pub(crate) fn for_each_key(js: &Js, data: Val, mut f: impl FnMut(&str, &str, Val) -> JsResult<()>) -> JsResult<()> {
  if matches!(js.type_of(data)?, Type::Undefined | Type::Null) {
    return Ok(());
  }
  let data = js.to_object(data)?;
  let types = js.for_in_keys(data)?;
  for t in 0..js.array_length(types)? {
    let type_key = js.get_element(types, t)?;
    let category = js.get(data, type_key)?;
    if matches!(js.type_of(category)?, Type::Undefined | Type::Null) {
      continue;
    }
    let key_type = js.utf8_lossy(type_key)?;
    let category = js.to_object(category)?;
    let ids = js.for_in_keys(category)?;
    for i in 0..js.array_length(ids)? {
      let _scope = js.handle_scope();
      let id_key = js.get_element(ids, i)?;
      let id = String::from_utf16_lossy(&js.utf16_fast(id_key)?);
      let value = js.get(category, id_key)?;
      f(&key_type, &id, value)?;
    }
  }
  Ok(())
}
