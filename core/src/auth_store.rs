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
use crate::store::error::{CredsBackup, CredsFault, StoreError};
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

  /// Deletes every key file (every `*.json` but `creds.json`) with the
  /// `.bak` and `.tmp` Baileys' hardened helper keeps beside it (those of
  /// `creds.json` stay), also a `.bak` or `.tmp` whose `*.json` is gone: that
  /// helper would read such a `.bak` as the key. The credentials, the lock and
  /// any other file stay. Each key's files are unlinked on that key's worker
  /// in the order [`files::delete_with`] explains, so a kill half-way leaves
  /// some keys, no torn file, and no key that reads as an older value.
  pub fn clear(&self, done: Done<()>) {
    let folder = self.folder.clone();
    let scheduler = self.scheduler;
    let store = self.clone();
    self.scheduler.submit(0, move || {
      let names = match std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| read_dir_names(&folder))) {
        Ok(Ok(names)) => names,
        Ok(Err(e)) => return done(Err(e)),
        Err(_) => return done(Err(panicked())),
      };
      // name -> (has a .tmp, has a .bak), for every key file or companion found.
      let mut keys: std::collections::BTreeMap<String, (bool, bool)> = Default::default();
      for name in names {
        if let Some(base) = files::hardened_key_companion(&name) {
          let entry = keys.entry(base.to_owned()).or_default();
          if name.ends_with(files::BACKUP_SUFFIX) {
            entry.1 = true;
          } else {
            entry.0 = true;
          }
        } else if name.ends_with(".json") && name != CREDS_FILE {
          keys.entry(name).or_default();
        }
      }
      let ops: Vec<(usize, (String, bool, bool))> =
        keys.into_iter().map(|(name, (tmp, bak))| (store.worker(&name), (name, tmp, bak))).collect();
      let any = !ops.is_empty();
      let (work_folder, end_folder) = (folder.clone(), folder);
      scheduler.run_batch(
        ops,
        move |(name, tmp, bak)| files::delete_with(&work_folder, &name, tmp, bak),
        || Err(panicked()),
        move |results: Vec<Result<(), StoreError>>| {
          let mut outcome: Result<(), StoreError> = results.into_iter().collect();
          if outcome.is_ok() && any && end_folder.options.fsync {
            outcome = end_folder.fsync_dir();
          }
          if outcome.is_ok() {
            end_folder.key_backups_cleared();
          }
          done(outcome)
        },
      );
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
/// for it), one listing of the folder that removes the temporary files killed
/// processes left (once per folder and process) and sees whether any key file
/// has a `.bak` of Baileys' hardened helper (once per holding of the lock:
/// see [`crate::store::folder::KeyBackups`]).
pub(crate) fn after_open(folder: Arc<Folder>) {
  static CLEANED: OnceLock<parking_lot::Mutex<HashSet<PathBuf>>> = OnceLock::new();
  let clean = CLEANED.get_or_init(Default::default).lock().insert(folder.path.clone());
  let scan = folder.begin_key_backup_scan();
  if !clean && !scan {
    return;
  }
  let spawned = std::thread::Builder::new().name("baileys-auth-clean".into()).spawn({
    let folder = folder.clone();
    move || {
      let found = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| files::tidy(&folder, clean)));
      if scan {
        // Anything but a clean listing leaves backups possible.
        folder.end_key_backup_scan(found.map_or(true, |t| t.key_backups));
      }
    }
  });
  if spawned.is_err() && scan {
    folder.end_key_backup_scan(true);
  }
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

/// What one file gave.
enum Parsed {
  Missing,
  Value(Value),
  Unreadable(ParseError),
}

/// Reads and parses one file of the folder, on the worker's reused buffer.
/// A file larger than any we read is unreadable (`too_large` says so); other
/// I/O errors are the caller's.
fn read_parsed(folder: &Folder, name: &str, too_large: &'static str) -> Result<Parsed, StoreError> {
  thread_local! {
    static BUF: std::cell::RefCell<Vec<u8>> = const { std::cell::RefCell::new(Vec::new()) };
  }
  BUF.with(|buf| {
    let mut buf = buf.borrow_mut();
    let parsed = match files::read(folder, name, &mut buf) {
      Ok(None) => Ok(Parsed::Missing),
      Ok(Some(())) => Ok(match codec::parse_file(&buf, folder.options.flavor) {
        Ok(v) => Parsed::Value(v),
        Err(e) => Parsed::Unreadable(e),
      }),
      Err(StoreError::Io { source, .. }) if source.raw_os_error() == Some(crate::errno::EFBIG) => {
        Ok(Parsed::Unreadable(ParseError::Syntax { message: too_large, offset: 0 }))
      }
      Err(e) => Err(e),
    };
    // Do not keep a huge buffer alive on the worker.
    if buf.capacity() > 1 << 20 {
      *buf = Vec::new();
    }
    parsed
  })
}

const NOT_AN_OBJECT: ParseError = ParseError::Syntax { message: "the file holds JSON that is not an object", offset: 0 };
const CREDS_TOO_LARGE: &str = "the file is larger than any credentials file";

/// A credentials file as credentials: only a JSON object is.
fn read_creds_file(folder: &Folder, name: &str) -> Result<Parsed, StoreError> {
  Ok(match read_parsed(folder, name, CREDS_TOO_LARGE)? {
    Parsed::Value(Value::Object(o)) => Parsed::Value(Value::Object(o)),
    Parsed::Value(_) => Parsed::Unreadable(NOT_AN_OBJECT),
    other => other,
  })
}

/// `creds.json`, or `None` when there is none. A file that exists but is not
/// credentials is an error: never silently start a new session over it. Nor
/// is a missing `creds.json` "no credentials" when Baileys' hardened helper
/// left its backup `creds.json.bak` (it does when stopped between its two
/// renames): that is an error too, naming the backup and how to restore it.
/// The backup is never restored here, and nothing is written.
pub(crate) fn read_creds(folder: &Folder) -> Result<Option<Value>, StoreError> {
  let file = match read_creds_file(folder, CREDS_FILE)? {
    Parsed::Value(v) => return Ok(Some(v)),
    Parsed::Missing => None,
    Parsed::Unreadable(cause) => Some(cause),
  };
  let backup = creds_backup(folder);
  if file.is_none() && matches!(backup, CredsBackup::Absent) {
    return Ok(None);
  }
  Err(StoreError::Corrupt { path: folder.file_path(CREDS_FILE), cause: CredsFault { file, backup } })
}

/// What `creds.json.bak` is. Any failure to read it (a system call too) makes
/// it unreadable: the error is about `creds.json` either way.
fn creds_backup(folder: &Folder) -> CredsBackup {
  let name = format!("{CREDS_FILE}{}", files::BACKUP_SUFFIX);
  let path = folder.file_path(&name);
  match read_creds_file(folder, &name) {
    Ok(Parsed::Missing) => CredsBackup::Absent,
    Ok(Parsed::Value(_)) => CredsBackup::Readable { path },
    Ok(Parsed::Unreadable(cause)) => CredsBackup::Unreadable { path, reason: cause.to_string() },
    Err(e) => CredsBackup::Unreadable { path, reason: e.to_string() },
  }
}

/// One key. When its file is missing or unreadable while the `.bak` Baileys'
/// hardened helper keeps beside it reads, the answer is the backup's value,
/// as that helper would give (its `.tmp` is never read: it may be torn). An
/// unparseable file is answered as missing and moved aside (the store heals:
/// Baileys makes the key again), a backup as well; one this Baileys line's
/// reviver refuses is answered as missing and kept (another line's reader may
/// take it).
fn read_key(folder: &Folder, name: &str, app_state: bool) -> Result<KeyRead, StoreError> {
  const TOO_LARGE: &str = "the file is larger than any key file";
  let (value, warning) = match read_parsed(folder, name, TOO_LARGE)? {
    Parsed::Value(v) => (Some(v), None),
    Parsed::Missing if !folder.may_have_key_backups() => (None, None),
    // The hardened helper's state after a crash between its two renames: the
    // backup is the key's value, read without a word (it is not damage).
    Parsed::Missing => match read_backup(folder, name)? {
      Backup::Value(v, _) => (Some(v), None),
      Backup::None => (None, None),
      Backup::Unreadable(note) => (None, Some(format!("{name} is missing and its backup {note}; answered as missing"))),
    },
    Parsed::Unreadable(ParseError::Revive(e)) => {
      let what = format!("{name} cannot be revived by this Baileys line's reader ({e})");
      match read_backup(folder, name)? {
        Backup::Value(v, bak) => (Some(v), Some(format!("{what}; answered from its backup {bak}, kept by Baileys' hardened helper"))),
        Backup::None => (None, Some(format!("{what}; answered as missing"))),
        Backup::Unreadable(note) => (None, Some(format!("{what}, and its backup {note}; answered as missing"))),
      }
    }
    Parsed::Unreadable(cause) => {
      // Unparseable: keep the bytes aside for inspection, and answer the
      // backup's value if there is one, else null so that Baileys re-creates
      // this key.
      let backup = read_backup(folder, name)?;
      let moved = match files::move_aside(folder, name) {
        Ok(aside) => format!("moved aside to {aside}"),
        Err(e) => format!("moving it aside failed: {e}"),
      };
      match backup {
        Backup::Value(v, bak) => (
          Some(v),
          Some(format!("{name} is corrupt ({cause}); {moved}, and answered from its backup {bak}, kept by Baileys' hardened helper")),
        ),
        Backup::None => (None, Some(format!("{name} is corrupt ({cause}); {moved} and answered as missing"))),
        Backup::Unreadable(note) => (None, Some(format!("{name} is corrupt ({cause}); {moved}; its backup {note}; answered as missing"))),
      }
    }
  };
  match value {
    Some(value) if app_state && value.is_truthy() => {
      let converted =
        app_state_key::from_object(&value, folder.options.flavor).map_err(|e| StoreError::Invalid { message: e.message.to_owned() })?;
      Ok(KeyRead { value: Some(converted), warning })
    }
    value => Ok(KeyRead { value, warning }),
  }
}

/// What a key's `.bak` gave.
enum Backup {
  None,
  /// Its value, and the backup's name.
  Value(Value, String),
  /// It cannot be read; the text says so and what became of it
  /// ("<name> is corrupt (...); moved aside to ...").
  Unreadable(String),
}

/// Reads `<name>.bak`. An unparseable backup is moved aside as an unparseable
/// key file is; a system call's failure is the call's error, as for the key
/// file itself.
fn read_backup(folder: &Folder, name: &str) -> Result<Backup, StoreError> {
  let Some(bak) = files::backup_name(name) else { return Ok(Backup::None) };
  Ok(match read_parsed(folder, &bak, "the file is larger than any key file")? {
    Parsed::Missing => Backup::None,
    Parsed::Value(v) => Backup::Value(v, bak),
    Parsed::Unreadable(ParseError::Revive(e)) => Backup::Unreadable(format!("{bak} cannot be revived by this Baileys line's reader ({e})")),
    Parsed::Unreadable(cause) => match files::move_aside(folder, &bak) {
      Ok(aside) => Backup::Unreadable(format!("{bak} is corrupt ({cause}); moved aside to {aside}")),
      Err(e) => Backup::Unreadable(format!("{bak} is corrupt ({cause}); moving it aside failed: {e}")),
    },
  })
}
