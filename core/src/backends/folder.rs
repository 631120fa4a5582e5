//! The folder store behind the [`Backend`] trait: `creds.json` and one file
//! per key, in Baileys' format, with the crash-safe protocol of
//! [`crate::store::files`], on the per-file lanes of the worker pool
//! ([`crate::scheduler`]), which give the per-key order the trait promises.
//!
//! What a folder cannot do, and this backend says so rather than hides it:
//! - `apply` is atomic per file, not per call (a crash may leave some files
//!   of a call written and others not, never a torn one);
//! - ids come back from `list_ids` from file names, as far as `fixFileName`
//!   can be undone ([`crate::listing`]): a `:` in a session id comes back as
//!   `-`, a `/` outside `app-state-sync-key` as `__`. The id read back always
//!   names the same file;
//! - an id no file can have (a NUL, a name too long) reads as missing, and
//!   writing it is an [`ErrorKind::Invalid`] error for the whole call, before
//!   anything is written.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use parking_lot::Mutex;

use crate::auth_store::pool;
use crate::backend::{Backend, BackendError, BackendResult, ErrorKind, KeyOp, KeyRead, KeyWrite, Pending};
use crate::listing;
use crate::naming::{key_file_name, CREDS_FILE};
use crate::scheduler::Scheduler;
use crate::store::files;
use crate::store::{Folder, OpenOptions, RealIo, StoreError};

pub struct FolderBackend {
  /// `None` once closed (the owner lock goes with the last handle).
  folder: Mutex<Option<Arc<Folder>>>,
  closed: AtomicBool,
  scheduler: &'static Scheduler,
}

/// Opens (creating when missing, mode 0700) the folder and takes its owner
/// lock when `options.lock`, as `useMultiFileAuthState` does. Blocking.
pub fn open(display: &str, options: OpenOptions) -> BackendResult<FolderBackend> {
  let scheduler = pool().map_err(backend_error)?;
  let folder = Folder::open(display, options, Arc::new(RealIo)).map_err(backend_error)?;
  let folder = Arc::new(folder);
  crate::auth_store::after_open(folder.clone());
  Ok(FolderBackend { folder: Mutex::new(Some(folder)), closed: AtomicBool::new(false), scheduler })
}

/// A folder store's error as any backend's.
pub fn backend_error(e: StoreError) -> BackendError {
  let kind = match &e {
    StoreError::Locked { .. } => ErrorKind::Locked,
    StoreError::Corrupt { .. } => ErrorKind::Corrupt,
    StoreError::BadName { .. } | StoreError::Invalid { .. } | StoreError::NotADirectory { .. } => ErrorKind::Invalid,
    StoreError::Internal { .. } => ErrorKind::Internal,
    StoreError::Io { source, .. } => match source.raw_os_error() {
      Some(crate::errno::ENOSPC) | Some(crate::errno::EDQUOT) => ErrorKind::Full,
      Some(crate::errno::EROFS) | Some(crate::errno::EACCES) | Some(crate::errno::EPERM) => ErrorKind::ReadOnly,
      _ => ErrorKind::Io,
    },
  };
  let mut out = BackendError::new(kind, e.to_string());
  if let Some(code) = e.code() {
    out = out.with_code(code);
  }
  if let StoreError::Locked { pid, .. } = e {
    out.owner_pid = pid;
  }
  out
}

/// The value of an id whose file is too large to be a key file: empty bytes,
/// which no reader decodes, so the key is answered as missing and its file
/// moved aside (see `quarantine`), as the folder store always did.
const TOO_LARGE: Vec<u8> = Vec::new();

impl FolderBackend {
  fn folder(&self) -> BackendResult<Arc<Folder>> {
    if self.closed.load(Ordering::Acquire) {
      return Err(BackendError::closed());
    }
    self.folder.lock().clone().ok_or_else(BackendError::closed)
  }

  /// Runs `ops` on the lanes of their files and completes with `finish` of
  /// the results; issued now, so its place in each file's order is now.
  fn run<O, R, T>(
    &self,
    folder: Arc<Folder>,
    ops: Vec<(String, O)>,
    work: impl Fn(&Folder, &str, O) -> Result<R, StoreError> + Send + Sync + 'static,
    finish: impl FnOnce(&Folder, Vec<Result<R, StoreError>>) -> BackendResult<T> + Send + 'static,
  ) -> Pending<T>
  where
    O: Send + 'static,
    R: Send + 'static,
    T: Send + 'static,
  {
    let (pending, completer) = Pending::new();
    let lanes: Vec<(usize, (String, O))> =
      ops.into_iter().map(|(name, op)| (self.scheduler.worker_for(&folder.path, &name), (name, op))).collect();
    let for_work = folder.clone();
    self.scheduler.run_batch(
      lanes,
      move |(name, op)| work(&for_work, &name, op),
      || Err(StoreError::Internal { message: "a file operation panicked".into() }),
      move |results| completer.complete(finish(&folder, results)),
    );
    pending
  }
}

/// A key file's bytes, or, when it is missing, those of the `<name>.bak`
/// Baileys' hardened helper keeps (it leaves only that when stopped between
/// its two renames, and reads it then, as the folder store does).
fn read_key_bytes(folder: &Folder, name: &str) -> Result<Option<Vec<u8>>, StoreError> {
  match read_bytes(folder, name)? {
    Some(b) => Ok(Some(b)),
    None => match files::backup_name(name) {
      Some(bak) => read_bytes(folder, &bak),
      None => Ok(None),
    },
  }
}

/// The bytes of a file (`None` when missing).
fn read_bytes(folder: &Folder, name: &str) -> Result<Option<Vec<u8>>, StoreError> {
  let mut buf = Vec::new();
  match files::read(folder, name, &mut buf) {
    Ok(None) => Ok(None),
    Ok(Some(())) => Ok(Some(buf)),
    Err(StoreError::Io { source, .. }) if source.raw_os_error() == Some(crate::errno::EFBIG) => Ok(Some(TOO_LARGE)),
    Err(e) => Err(e),
  }
}

/// One folder fsync for a whole call that changed files, when asked for.
fn durable(folder: &Folder, results: Vec<Result<(), StoreError>>) -> BackendResult<()> {
  let any = !results.is_empty();
  results.into_iter().collect::<Result<(), StoreError>>().map_err(backend_error)?;
  if any && folder.options.fsync {
    folder.fsync_dir().map_err(backend_error)?;
  }
  Ok(())
}

fn ready<T: Send + 'static>(r: BackendResult<T>) -> Pending<T> {
  Pending::ready(r)
}

impl Backend for FolderBackend {
  fn load_creds(&self) -> Pending<Option<Vec<u8>>> {
    let folder = match self.folder() {
      Ok(f) => f,
      Err(e) => return ready(Err(e)),
    };
    self.run(
      folder,
      vec![(CREDS_FILE.to_owned(), ())],
      // The folder store's own checks first (unreadable credentials, or a
      // lone `creds.json.bak` of Baileys' hardened helper, are errors, never
      // "none"), then the bytes as the file holds them.
      |f, name, ()| match crate::auth_store::read_creds(f)? {
        None => Ok(None),
        Some(_) => read_bytes(f, name),
      },
      |_, mut r| r.pop().unwrap_or_else(|| Err(StoreError::Internal { message: "no answer".into() })).map_err(backend_error),
    )
  }

  fn save_creds(&self, bytes: Vec<u8>) -> Pending<()> {
    let folder = match self.folder() {
      Ok(f) => f,
      Err(e) => return ready(Err(e)),
    };
    self.run(folder, vec![(CREDS_FILE.to_owned(), bytes)], |f, name, b: Vec<u8>| files::write_atomic(f, name, &b), durable)
  }

  fn read(&self, key_type: &str, ids: Vec<String>) -> Pending<Vec<KeyRead>> {
    let folder = match self.folder() {
      Ok(f) => f,
      Err(e) => return ready(Err(e)),
    };
    // An id no file can have reads as missing, without touching the disk.
    let names: Vec<Option<String>> = ids.iter().map(|id| key_file_name(key_type, id).ok()).collect();
    let ops = names.iter().enumerate().filter_map(|(i, n)| n.clone().map(|n| (n, i))).collect();
    let count = ids.len();
    self.run(
      folder,
      ops,
      |f, name, i: usize| read_key_bytes(f, name).map(|b| (i, b)),
      move |_, results| {
        let mut out: Vec<KeyRead> = (0..count).map(|_| Ok(None)).collect();
        for r in results {
          match r {
            Ok((i, bytes)) => out[i] = Ok(bytes),
            Err(e) => return Err(backend_error(e)),
          }
        }
        Ok(out)
      },
    )
  }

  fn apply(&self, ops: Vec<KeyWrite>) -> Pending<()> {
    let folder = match self.folder() {
      Ok(f) => f,
      Err(e) => return ready(Err(e)),
    };
    let mut named = Vec::with_capacity(ops.len());
    for w in ops {
      match (key_file_name(&w.key_type, &w.id), w.op) {
        (Ok(name), op) => named.push((name, op)),
        // Nothing to delete: no file can have that name.
        (Err(_), KeyOp::Delete) => {}
        (Err(e), KeyOp::Put(_)) => return ready(Err(backend_error(StoreError::BadName { error: e }))),
      }
    }
    self.run(
      folder,
      named,
      |f, name, op| match op {
        KeyOp::Put(bytes) => files::write_atomic(f, name, &bytes),
        KeyOp::Delete => files::delete(f, name),
      },
      durable,
    )
  }

  fn list_ids(&self, key_type: &str, after: Option<&str>, limit: usize) -> Pending<Vec<String>> {
    let folder = match self.folder() {
      Ok(f) => f,
      Err(e) => return ready(Err(e)),
    };
    let (key_type, after) = (key_type.to_owned(), after.map(str::to_owned));
    // A snapshot of the directory, as `readdir` gives it when its turn comes
    // on one lane (writes still queued on other lanes may not be in it yet).
    self.run(
      folder,
      vec![(String::new(), ())],
      |f, _, ()| crate::auth_store::read_dir_names(f),
      move |_, mut r| {
        let names = r.pop().unwrap_or_else(|| Ok(Vec::new())).map_err(backend_error)?;
        // A key whose only file is the hardened helper's `<name>.json.bak` is a key too.
        let backups = names.iter().filter_map(|n| n.strip_suffix(".bak").filter(|base| base.ends_with(".json")));
        let mut ids: Vec<String> = names.iter().map(String::as_str).chain(backups).filter_map(|n| listing::id_of(n, &key_type)).collect();
        ids.sort();
        ids.dedup();
        Ok(ids.into_iter().filter(|id| after.as_deref().is_none_or(|a| id.as_str() > a)).take(limit).collect())
      },
    )
  }

  fn clear(&self) -> Pending<()> {
    let folder = match self.folder() {
      Ok(f) => f,
      Err(e) => return ready(Err(e)),
    };
    let names = match crate::auth_store::read_dir_names(&folder) {
      Ok(n) => n,
      Err(e) => return ready(Err(backend_error(e))),
    };
    let ops = names.into_iter().filter(|n| n.ends_with(".json") && n != CREDS_FILE).map(|n| (n, ())).collect();
    self.run(folder, ops, |f, name, ()| files::delete(f, name), durable)
  }

  fn quarantine(&self, key_type: &str, id: &str, bytes: Vec<u8>, _reason: &str) -> Pending<()> {
    let folder = match self.folder() {
      Ok(f) => f,
      Err(e) => return ready(Err(e)),
    };
    let Ok(name) = key_file_name(key_type, id) else { return ready(Ok(())) };
    self.run(
      folder,
      vec![(name, bytes)],
      |f, name, bytes: Vec<u8>| {
        // Only the bytes that could not be decoded go aside: a file written
        // since is kept.
        match read_bytes(f, name)? {
          Some(now) if now == bytes => files::move_aside(f, name).map(drop),
          _ => Ok(()),
        }
      },
      |_, r| r.into_iter().collect::<Result<(), StoreError>>().map_err(backend_error),
    )
  }

  fn close(&self) -> Pending<()> {
    let Some(folder) = self.folder.lock().take() else { return ready(Ok(())) };
    self.closed.store(true, Ordering::Release);
    // One no-op on every lane: each runs after everything issued before the
    // close on its lane, so the close completes when they all have.
    let (pending, completer) = Pending::new();
    let lanes: Vec<(usize, ())> = (0..self.scheduler.workers()).map(|w| (w, ())).collect();
    self.scheduler.run_batch(
      lanes,
      |()| (),
      || (),
      move |_| {
        drop(folder);
        completer.complete(Ok(()));
      },
    );
    pending
  }
}

#[cfg(test)]
mod tests {
  use super::*;

  /// A folder Baileys' hardened helper left between its two renames: only
  /// the `.bak` of a key, and of the credentials.
  #[test]
  fn what_the_hardened_helper_left_is_read_as_it_reads_it() {
    let dir = std::env::temp_dir().join(format!("ban-folder-backend-bak-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("pre-key-1.json.bak"), b"{\"k\":1}").unwrap();
    std::fs::write(dir.join("pre-key-2.json"), b"{\"k\":2}").unwrap();
    let b = open(dir.to_str().unwrap(), OpenOptions::default()).unwrap();
    let got = b.read("pre-key", vec!["1".into(), "2".into(), "3".into()]).wait().unwrap();
    assert_eq!(got, vec![Ok(Some(b"{\"k\":1}".to_vec())), Ok(Some(b"{\"k\":2}".to_vec())), Ok(None)]);
    assert_eq!(b.list_ids("pre-key", None, 10).wait().unwrap(), vec!["1".to_owned(), "2".to_owned()]);
    assert_eq!(b.load_creds().wait().unwrap(), None);
    std::fs::write(dir.join("creds.json.bak"), b"{\"registered\":true}").unwrap();
    assert_eq!(b.load_creds().wait().unwrap_err().kind, ErrorKind::Corrupt);
    b.close().wait().unwrap();
    let _ = std::fs::remove_dir_all(&dir);
  }
}
