//! The folder store as the integration tests drive it: a [`FolderBackend`]
//! behind a [`KeyStore`], with blocking calls, and keys still named by their
//! file names, as the tests build their folders. Included with `#[path]` by
//! the tests that need it; each uses only part of it.
#![allow(dead_code)]

use std::sync::{mpsc, Arc};
use std::time::Duration;

use baileys_auth_core::backend::BackendError;
use baileys_auth_core::backends::folder::{self, FolderBackend};
use baileys_auth_core::codec::Value;
use baileys_auth_core::keystore::{KeyChange, KeyStore};
use baileys_auth_core::listing::{self, Entry};
use baileys_auth_core::naming::key_file_name;
use baileys_auth_core::store::{Io, OpenOptions, StoreError};
use baileys_auth_core::values::{OpenedCreds, ValueRead};

/// One key of a `set`, named by its file.
pub enum SetOp {
  Write { name: String, value: Value },
  Delete { name: String },
}

impl SetOp {
  pub fn name(&self) -> &str {
    match self {
      SetOp::Write { name, .. } | SetOp::Delete { name } => name,
    }
  }

  /// The change of the key that the file holds (see [`key_of`]).
  pub fn into_change(self) -> KeyChange {
    let (name, value) = match self {
      SetOp::Write { name, value } => (name, Some(value)),
      SetOp::Delete { name } => (name, None),
    };
    let (key_type, id) = key_of(&name);
    KeyChange { key_type, id, value }
  }
}

/// The `(type, id)` whose file is `name`. Panics unless `name` is a key file
/// and naming that key again gives `name` back, so a test can never address
/// another file than the one it means.
pub fn key_of(name: &str) -> (String, String) {
  match listing::classify(name) {
    Entry::Key { key_type, id } => {
      let back = key_file_name(key_type, &id).unwrap_or_else(|e| panic!("{name}: ({key_type}, {id:?}) has no file name: {e}"));
      assert_eq!(back, name, "({key_type}, {id:?}), read back from {name}, names another file");
      (key_type.to_owned(), id)
    }
    other => panic!("{name} is not a key file ({other:?})"),
  }
}

/// The folder store's own error that a [`BackendError`] of the folder backend carries.
pub fn store_error(e: &BackendError) -> Option<&StoreError> {
  e.file.as_ref().map(|f| &*f.0)
}

/// Runs a call that answers through a callback, and waits for its answer.
pub fn wait<T: Send + 'static>(f: impl FnOnce(Box<dyn FnOnce(T) + Send>)) -> T {
  let (tx, rx) = mpsc::channel();
  f(Box::new(move |r| {
    let _ = tx.send(r);
  }));
  rx.recv_timeout(Duration::from_secs(60)).expect("the store never called back")
}

pub struct FolderStore {
  pub backend: Arc<FolderBackend>,
  pub keys: KeyStore,
}

/// Opens the folder over `io` as the napi layer does (blocking), without
/// reading the credentials.
pub fn open_with(display: &str, options: OpenOptions, io: Arc<dyn Io>) -> Result<FolderStore, StoreError> {
  let flavor = options.flavor;
  let backend = Arc::new(folder::open_with(display, options, io)?);
  let keys = KeyStore::new(backend.clone(), flavor);
  Ok(FolderStore { backend, keys })
}

impl FolderStore {
  /// `keys.set`, each op converted to the change of its key.
  pub fn set(&self, ops: Vec<SetOp>) -> Result<(), BackendError> {
    let changes = ops.into_iter().map(SetOp::into_change).collect();
    wait(|done| self.keys.set(changes, done))
  }

  pub fn save_creds(&self, creds: &Value) -> Result<(), BackendError> {
    wait(|done| self.keys.save_creds(creds, done))
  }

  /// The stored credentials, `None` when there are none (fresh ones would be made).
  pub fn load_creds(&self) -> Result<Option<Value>, BackendError> {
    wait(|done| self.keys.load_creds(done)).map(|c| match c {
      OpenedCreds::Loaded(v) => Some(v),
      OpenedCreds::Fresh(_) => None,
    })
  }

  pub fn get(&self, key_type: &str, ids: Vec<String>, plain_app_state: bool) -> Vec<Result<ValueRead, BackendError>> {
    wait(|done| self.keys.get(key_type, ids, plain_app_state, done))
  }

  pub fn clear(&self) -> Result<(), BackendError> {
    wait(|done| self.keys.clear(done))
  }

  /// `(file name, id)` of every key file of `key_type`, sorted by name.
  pub fn list_key_files(&self, key_type: &str) -> Result<Vec<(String, String)>, BackendError> {
    self.backend.list_key_files(key_type).wait()
  }
}
