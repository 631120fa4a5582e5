//! The auth state's operations over any [`Backend`]: values in, values out.
//!
//! A backend stores bytes; this layer is the codec around it, written once
//! for every backend: values are encoded as Baileys' writer encodes them,
//! bytes are decoded as the chosen Baileys line reads them, `app-state-sync-key`
//! values are converted as `AppStateSyncKeyData.fromObject` would, and a value
//! that cannot be decoded is answered as missing, with a warning, and kept
//! aside by the backend (`quarantine`), so the store heals and nothing is lost.
//!
//! Every call is issued to the backend when it is made (that is its place in
//! the per-key order); encoding and decoding happen on the backend's threads
//! (its writer, its reader, a file's lane), never on the JavaScript thread.

use std::sync::Arc;

use crate::backend::{Backend, BackendError, ErrorKind, KeyOp, KeyWrite, Payload};
use crate::codec::{self, Flavor, ParseError, Value};
use crate::creds::init_auth_creds;
use crate::seal;
use crate::values::{Decode, OpenedCreds, ValueRead};

/// One key of a `keys.set` call: a value to store, or `None` to delete it.
pub struct KeyChange {
  pub key_type: String,
  pub id: String,
  pub value: Option<Value>,
}

pub type Done<T> = Box<dyn FnOnce(Result<T, BackendError>) + Send>;

/// The outcome of each read of a `get`, in the order of its ids (one error
/// alone when the whole call failed: a closed store…).
pub type ReadsDone = Box<dyn FnOnce(Vec<Result<ValueRead, BackendError>>) + Send>;

#[derive(Clone)]
pub struct KeyStore {
  backend: Arc<dyn Backend>,
  flavor: Flavor,
}

impl KeyStore {
  pub fn new(backend: Arc<dyn Backend>, flavor: Flavor) -> KeyStore {
    KeyStore { backend, flavor }
  }

  pub fn flavor(&self) -> Flavor {
    self.flavor
  }

  pub fn backend(&self) -> &Arc<dyn Backend> {
    &self.backend
  }

  /// The stored credentials, or fresh ones (not stored) when there are none.
  /// Stored bytes that are not credentials are an error: never a silent new
  /// session over them.
  pub fn load_creds(&self, done: Done<OpenedCreds>) {
    let flavor = self.flavor;
    self.backend.load_creds().then(move |r| {
      done(r.and_then(|bytes| match bytes {
        None => Ok(OpenedCreds::Fresh(init_auth_creds(flavor))),
        Some(bytes) => decode_creds(&bytes, flavor).map(OpenedCreds::Loaded),
      }))
    });
  }

  /// `saveCreds()`: the credentials as they are now.
  pub fn save_creds(&self, creds: &Value, done: Done<()>) {
    self.backend.save_creds(codec::to_json_bytes(creds)).then(done);
  }

  /// `keys.get(type, ids)`: one answer per id, in the order of `ids`. With
  /// `plain_app_state`, `app-state-sync-key` values come back converted as
  /// `AppStateSyncKeyData.fromObject` would (the caller gave no `proto`).
  pub fn get(&self, key_type: &str, ids: Vec<String>, plain_app_state: bool, done: ReadsDone) {
    let decode = Decode::new(self.flavor, key_type, plain_app_state);
    if let Some(pending) = self.backend.read_values(key_type, &ids, decode) {
      return pending.then(move |reads| done(reads.unwrap_or_else(|e| vec![Err(e)])));
    }
    let backend = self.backend.clone();
    let key_type = key_type.to_owned();
    let pending = self.backend.read(&key_type, ids.clone());
    pending.then(move |reads| {
      done(match reads {
        Ok(reads) => {
          ids.iter().zip(reads).map(|(id, read)| read.and_then(|bytes| decode_key(&*backend, &key_type, id, bytes, decode))).collect()
        }
        Err(e) => vec![Err(e)],
      })
    });
  }

  /// `keys.set(data)`: all of the call or none of it where the backend can.
  /// Values are encoded by the backend on its own thread (see [`Payload`]).
  pub fn set(&self, changes: Vec<KeyChange>, done: Done<()>) {
    let ops = changes
      .into_iter()
      .map(|c| match c.value {
        Some(v) => KeyWrite { key_type: c.key_type, id: c.id, op: KeyOp::Put(Payload::later(move || codec::to_json_bytes(&v))) },
        None => KeyWrite::delete(c.key_type, c.id),
      })
      .collect();
    self.backend.apply(ops).then(done);
  }

  /// A page of the ids of `key_type`, in ascending order, after `after`.
  pub fn list_ids(&self, key_type: &str, after: Option<&str>, limit: usize, done: Done<Vec<String>>) {
    self.backend.list_ids(key_type, after, limit).then(done);
  }

  /// Removes every key; the credentials stay.
  pub fn clear(&self, done: Done<()>) {
    self.backend.clear().then(done);
  }

  /// Waits for what was issued before, then releases the store.
  pub fn close(&self, done: Done<()>) {
    self.backend.close().then(done);
  }
}

fn decode_creds(bytes: &[u8], flavor: Flavor) -> Result<Value, BackendError> {
  if seal::is_sealed(bytes) {
    return Err(seal::needs_key("the stored credentials"));
  }
  match codec::parse_file(bytes, flavor) {
    Ok(v @ Value::Object(_)) => Ok(v),
    Ok(_) => Err(BackendError::new(ErrorKind::Corrupt, "the stored credentials are JSON that is not an object; left as they are")),
    Err(cause) => Err(BackendError::new(ErrorKind::Corrupt, format!("the stored credentials cannot be read ({cause}); left as they are"))),
  }
}

/// One stored value as `get` answers it. An undecodable value is `null` with
/// a warning, and is handed to the backend's quarantine (fire and forget: the
/// answer does not wait for it).
fn decode_key(backend: &dyn Backend, key_type: &str, id: &str, bytes: Option<Vec<u8>>, decode: Decode) -> Result<ValueRead, BackendError> {
  let Some(bytes) = bytes else { return Ok(ValueRead::MISSING) };
  // Sealed, and no key given: refused, never taken for a corrupt value (which
  // would be moved aside).
  if seal::is_sealed(&bytes) {
    return Err(seal::needs_key(&format!("{key_type} {id:?}")));
  }
  match codec::parse_file(&bytes, decode.flavor) {
    Ok(value) => {
      let value = decode.finish(value).map_err(|m| BackendError::new(ErrorKind::Invalid, m))?;
      Ok(ValueRead { value: Some(value), warning: None })
    }
    // Valid JSON this line's reviver refuses: the other line may read it, so it stays.
    Err(ParseError::Revive(e)) => Ok(ValueRead {
      value: None,
      warning: Some(format!("{key_type} {id:?} cannot be revived by this Baileys line's reader ({e}); answered as missing")),
    }),
    Err(cause) => {
      let reason = cause.to_string();
      drop(backend.quarantine(key_type, id, bytes, &reason));
      Ok(ValueRead { value: None, warning: Some(format!("{key_type} {id:?} is corrupt ({reason}); kept aside and answered as missing")) })
    }
  }
}
