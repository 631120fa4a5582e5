//! `useMultiFileAuthState`'s operations on one folder, without JavaScript:
//! open (with credentials), `get`, `set`, `saveCreds`. Each call is one batch
//! on the worker pool; results come back through a callback, which the napi
//! layer turns into a settled promise.

use std::collections::HashSet;
use std::path::PathBuf;
use std::sync::{Arc, OnceLock};

use crate::codec::{self, app_state_key, Flavor, ParseError, Value};
use crate::creds::init_auth_creds;
use crate::listing;
use crate::naming::{self, NameError, CREDS_FILE};
use crate::scheduler::{self, Scheduler};
use crate::store::error::StoreError;
use crate::store::files;
use crate::store::folder::{Folder, OpenOptions};
use crate::store::io::Io;

pub const APP_STATE_SYNC_KEY: &str = "app-state-sync-key";

/// One id's answer to `get`.
#[derive(Debug)]
pub struct KeyRead {
  /// `None` is `null`: missing, or unreadable (see `warning`).
  pub value: Option<Value>,
  /// Set when the file could not be read and was answered as `null`; for the logger.
  pub warning: Option<String>,
}

/// One entry of `set`.
pub enum SetOp {
  Write { name: String, value: Value },
  Delete { name: String },
}

/// The credentials an open found.
pub enum OpenedCreds {
  Loaded(Value),
  /// There was no `creds.json`: fresh credentials, not yet written (as Baileys).
  Fresh(Value),
}

#[derive(Clone)]
pub struct AuthStore {
  folder: Arc<Folder>,
  scheduler: &'static Scheduler,
}

type Done<T> = Box<dyn FnOnce(Result<T, StoreError>) + Send>;

/// The outcome of each read of a `get`, in request order.
pub type ReadsDone = Box<dyn FnOnce(Vec<Result<KeyRead, StoreError>>) + Send>;

/// The worker pool, or why it could not be started.
pub fn pool() -> Result<&'static Scheduler, StoreError> {
  scheduler::global().map_err(|e| StoreError::Internal { message: format!("cannot start the I/O worker threads: {e}") })
}

fn panicked() -> StoreError {
  StoreError::Internal { message: "a file operation panicked".to_owned() }
}

impl AuthStore {
  /// Opens the folder and reads its credentials, all off the calling thread.
  pub fn open(display: String, options: OpenOptions, io: Arc<dyn Io>, done: Done<(AuthStore, OpenedCreds)>) {
    let scheduler = match pool() {
      Ok(s) => s,
      Err(e) => return done(Err(e)),
    };
    // The folder is prepared on some worker; the credentials are then read on
    // the worker that owns creds.json, behind any save already queued there.
    scheduler.submit(0, move || {
      let opened =
        std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| Folder::open(&display, options, io))).unwrap_or_else(|_| Err(panicked()));
      match opened {
        Err(e) => done(Err(e)),
        Ok(folder) => {
          let store = AuthStore { folder: Arc::new(folder), scheduler };
          let s2 = store.clone();
          store.load_creds(Box::new(move |r| {
            let opened = r.is_ok();
            let clean = s2.clone();
            done(r.map(|creds| {
              let creds = match creds {
                Some(v) => OpenedCreds::Loaded(v),
                None => OpenedCreds::Fresh(init_auth_creds(options.flavor)),
              };
              (s2, creds)
            }));
            if opened {
              after_open(clean.folder.clone());
            }
          }));
        }
      }
    });
  }

  /// Opens synchronously (for the plain functions, tools and tests, on a
  /// thread that may block). Prepares the folder exactly as [`AuthStore::open`]
  /// does, stale temporary files included; only the credentials are left for
  /// the caller to load.
  pub fn open_blocking(display: &str, options: OpenOptions, io: Arc<dyn Io>) -> Result<AuthStore, StoreError> {
    let scheduler = pool()?;
    let folder = Arc::new(Folder::open(display, options, io)?);
    after_open(folder.clone());
    Ok(AuthStore { folder, scheduler })
  }

  pub fn folder(&self) -> &Folder {
    &self.folder
  }

  pub fn flavor(&self) -> Flavor {
    self.folder.options.flavor
  }

  fn worker(&self, name: &str) -> usize {
    self.scheduler.worker_for(&self.folder.path, name)
  }

  /// `creds.json`, or `None` when there is none. A file that exists but is
  /// not credentials is an error: never silently start a new session over it.
  pub fn load_creds(&self, done: Done<Option<Value>>) {
    let folder = self.folder.clone();
    let ops = vec![(self.worker(CREDS_FILE), ())];
    self.scheduler.run_batch(
      ops,
      move |()| read_creds(&folder),
      || Err(panicked()),
      move |mut r| done(r.pop().unwrap_or_else(|| Err(panicked()))),
    );
  }

  /// `saveCreds()`: writes the credentials as they are now.
  pub fn save_creds(&self, creds: Value, done: Done<()>) {
    self.set(vec![SetOp::Write { name: CREDS_FILE.to_owned(), value: creds }], done);
  }

  /// `keys.get(type, ids)`: one answer per id, in the order of `ids`.
  /// With `plain_app_state`, `app-state-sync-key` values are converted as
  /// `AppStateSyncKeyData.fromObject` would (the caller gave no `proto`).
  pub fn get(&self, key_type: &str, ids: Vec<String>, plain_app_state: bool, done: ReadsDone) {
    let names = ids.iter().map(|id| naming::key_file_name(key_type, id)).collect();
    self.read_names(key_type, names, plain_app_state, done)
  }

  /// Reads key files of `key_type` by file name (a name no file can have reads as missing).
  /// Each name gets its own outcome, so that the warnings of the reads that
  /// worked reach the logger even when another read of the call failed.
  pub fn read_names(&self, key_type: &str, names: Vec<Result<String, NameError>>, plain_app_state: bool, done: ReadsDone) {
    let folder = self.folder.clone();
    let app_state = plain_app_state && key_type == APP_STATE_SYNC_KEY;
    let ops: Vec<(usize, Option<String>)> = names
      .into_iter()
      .map(|name| match name {
        Ok(n) => (self.worker(&n), Some(n)),
        // No file can have this name (NUL, too long): missing.
        Err(_) => (0, None),
      })
      .collect();
    self.scheduler.run_batch(
      ops,
      move |name| match name {
        None => Ok(KeyRead { value: None, warning: None }),
        Some(name) => read_key(&folder, &name, app_state),
      },
      || Err(panicked()),
      done,
    );
  }

  /// The key files of `key_type` now in the folder: `(file name, id)` pairs,
  /// sorted by name (see [`crate::listing`] for how ids are recovered).
  pub fn list_key_files(&self, key_type: &str, done: Done<Vec<(String, String)>>) {
    let folder = self.folder.clone();
    let key_type = key_type.to_owned();
    self.scheduler.run_batch(
      vec![(0, ())],
      move |()| {
        let mut found: Vec<(String, String)> =
          read_dir_names(&folder)?.into_iter().filter_map(|name| listing::id_of(&name, &key_type).map(|id| (name, id))).collect();
        found.sort();
        Ok(found)
      },
      || Err(panicked()),
      move |mut r| done(r.pop().unwrap_or_else(|| Err(panicked()))),
    );
  }

  /// Deletes every key file (every `*.json` but `creds.json`); the
  /// credentials, the lock and any other file stay. Each file is unlinked on
  /// its own worker, so a kill half-way leaves some keys and no torn file.
  pub fn clear(&self, done: Done<()>) {
    let store = self.clone();
    let folder = self.folder.clone();
    self.scheduler.submit(0, move || {
      let names = match std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| read_dir_names(&folder))) {
        Ok(Ok(names)) => names,
        Ok(Err(e)) => return done(Err(e)),
        Err(_) => return done(Err(panicked())),
      };
      let ops = names.into_iter().filter(|n| n.ends_with(".json") && n != CREDS_FILE).map(|name| SetOp::Delete { name }).collect();
      store.set(ops, done);
    });
  }

  /// `keys.set(data)` after the caller has turned it into ops: all run, in
  /// parallel across files; the call fails with the first error.
  pub fn set(&self, ops: Vec<SetOp>, done: Done<()>) {
    let folder = self.folder.clone();
    let fsync_folder = self.folder.clone();
    let ops: Vec<(usize, SetOp)> = ops
      .into_iter()
      .map(|op| {
        let name = match &op {
          SetOp::Write { name, .. } | SetOp::Delete { name } => name,
        };
        (self.worker(name), op)
      })
      .collect();
    let any = !ops.is_empty();
    self.scheduler.run_batch(
      ops,
      move |op| match op {
        SetOp::Write { name, value } => {
          let bytes = codec::to_json_bytes(&value);
          drop(value);
          files::write_atomic(&folder, &name, &bytes)
        }
        SetOp::Delete { name } => files::delete(&folder, &name),
      },
      || Err(panicked()),
      move |results: Vec<Result<(), StoreError>>| {
        let mut outcome: Result<(), StoreError> = results.into_iter().collect();
        // One folder fsync for the whole batch: it makes every rename and
        // unlink of the call durable at once.
        if outcome.is_ok() && any && fsync_folder.options.fsync {
          outcome = fsync_folder.fsync_dir();
        }
        done(outcome)
      },
    );
  }
}

/// Turns a key's type and id into its file name for `set`; a name no file can
/// have is an error there (Node's `writeFile` throws too), so nothing is written.
pub fn key_name_for_write(key_type: &str, id: &str) -> Result<String, StoreError> {
  naming::key_file_name(key_type, id).map_err(|error| StoreError::BadName { error })
}

/// After an open, on a thread of its own once the credentials were handed
/// over (a big folder's `readdir` takes milliseconds and nothing should wait
/// for it): removes the temporary files killed processes left, once per
/// folder and process.
pub(crate) fn after_open(folder: Arc<Folder>) {
  static CLEANED: OnceLock<parking_lot::Mutex<HashSet<PathBuf>>> = OnceLock::new();
  let clean = CLEANED.get_or_init(Default::default).lock().insert(folder.path.clone());
  if !clean {
    return;
  }
  let _ = std::thread::Builder::new().name("baileys-auth-clean".into()).spawn(move || {
    let _ = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| files::remove_stale_temps(&folder)));
  });
}

/// Every name in the folder (one `readdir`; names that are not UTF-8 cannot be
/// Baileys' files and are skipped).
pub(crate) fn read_dir_names(folder: &Folder) -> Result<Vec<String>, StoreError> {
  let entries = std::fs::read_dir(&folder.path).map_err(|e| StoreError::io("scandir", &folder.path, e))?;
  let mut names = Vec::new();
  for entry in entries {
    let entry = entry.map_err(|e| StoreError::io("scandir", &folder.path, e))?;
    if let Ok(name) = entry.file_name().into_string() {
      names.push(name);
    }
  }
  Ok(names)
}

fn read_creds(folder: &Folder) -> Result<Option<Value>, StoreError> {
  let mut buf = Vec::new();
  let path = folder.file_path(CREDS_FILE);
  match files::read(folder, CREDS_FILE, &mut buf) {
    Ok(None) => Ok(None),
    Ok(Some(())) => match codec::parse_file(&buf, folder.options.flavor) {
      Ok(v @ Value::Object(_)) => Ok(Some(v)),
      Ok(_) => {
        Err(StoreError::Corrupt { path, cause: ParseError::Syntax { message: "the file holds JSON that is not an object", offset: 0 } })
      }
      Err(cause) => Err(StoreError::Corrupt { path, cause }),
    },
    Err(StoreError::Io { source, .. }) if source.raw_os_error() == Some(libc::EFBIG) => {
      Err(StoreError::Corrupt { path, cause: ParseError::Syntax { message: "the file is larger than any credentials file", offset: 0 } })
    }
    Err(e) => Err(e),
  }
}

fn read_key(folder: &Folder, name: &str, app_state: bool) -> Result<KeyRead, StoreError> {
  thread_local! {
    static BUF: std::cell::RefCell<Vec<u8>> = const { std::cell::RefCell::new(Vec::new()) };
  }
  let parsed = BUF.with(|buf| {
    let mut buf = buf.borrow_mut();
    let found = files::read(folder, name, &mut buf);
    let parsed = match found {
      Ok(None) => Ok(None),
      Ok(Some(())) => Ok(Some(codec::parse_file(&buf, folder.options.flavor))),
      Err(StoreError::Io { source, .. }) if source.raw_os_error() == Some(libc::EFBIG) => {
        Ok(Some(Err(ParseError::Syntax { message: "the file is larger than any key file", offset: 0 })))
      }
      Err(e) => Err(e),
    };
    // Do not keep a huge buffer alive on the worker.
    if buf.capacity() > 1 << 20 {
      *buf = Vec::new();
    }
    parsed
  })?;
  match parsed {
    None => Ok(KeyRead { value: None, warning: None }),
    Some(Ok(value)) => {
      if app_state && value.is_truthy() {
        let converted =
          app_state_key::from_object(&value, folder.options.flavor).map_err(|e| StoreError::Invalid { message: e.message.to_owned() })?;
        Ok(KeyRead { value: Some(converted), warning: None })
      } else {
        Ok(KeyRead { value: Some(value), warning: None })
      }
    }
    Some(Err(ParseError::Revive(e))) => Ok(KeyRead {
      value: None,
      warning: Some(format!("{name} cannot be revived by this Baileys line's reader ({e}); answered as missing")),
    }),
    Some(Err(cause)) => {
      // Unparseable: answer null so that Baileys re-creates this key, and
      // keep the bytes aside for inspection.
      let warning = match files::move_aside(folder, name) {
        Ok(aside) => format!("{name} is corrupt ({cause}); moved aside to {aside} and answered as missing"),
        Err(e) => format!("{name} is corrupt ({cause}); answered as missing, and moving it aside failed: {e}"),
      };
      Ok(KeyRead { value: None, warning: Some(warning) })
    }
  }
}
