//! The folder store behind the [`Backend`] trait, what `useMultiFileAuthState`
//! runs on: `creds.json` and one file per key, in Baileys' format, with the
//! crash-safe protocol of [`crate::store::files`], on the per-file lanes of
//! the worker pool ([`crate::scheduler`]), which give the per-key order the
//! trait promises. Values are encoded and parsed on those lanes too
//! ([`read`]), so one call's files are worked on in parallel; it lives beside
//! Baileys' hardened helper (its `.json.bak` and `.json.tmp`, see [`read`]
//! and `clear`).
//!
//! What a folder cannot do, and this backend says so rather than hides it:
//! - `apply` is atomic per file, not per call (a crash may leave some files
//!   of a call written and others not, never a torn one);
//! - ids come back from `list_ids` from file names, as far as `fixFileName`
//!   can be undone ([`crate::listing`]): a `:` in a session id comes back as
//!   `-`, a `/` outside `app-state-sync-key` as `__`. The id read back always
//!   names the same file;
//! - an id no file can have (a NUL, a name too long) reads as missing, and
//!   writing it fails the whole call, before anything is written, with the
//!   error Node's `writeFile` gives for that name.

mod read;

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use parking_lot::Mutex;

use crate::backend::{Backend, BackendError, BackendResult, ErrorKind, FileError, KeyOp, KeyRead, KeyWrite, Pending};
use crate::listing;
use crate::naming::{key_file_name, CREDS_FILE};
use crate::scheduler::{self, Scheduler};
use crate::store::files;
use crate::store::{Folder, OpenOptions, RealIo, StoreError};
use crate::values::{Decode, ValueRead};

use read::{read_bytes, read_dir_names, read_key, read_key_bytes};

pub struct FolderBackend {
  /// `None` once closed (the owner lock goes with the last handle).
  folder: Mutex<Option<Arc<Folder>>>,
  closed: AtomicBool,
  scheduler: &'static Scheduler,
  /// The listing `list_ids` is paging through (see [`Listing`]).
  listing: Arc<Mutex<Option<Listing>>>,
}

/// One `readdir`'s sorted ids of a type, kept while `list_ids` pages
/// through them: a page asked for right after the previous one continues
/// from it, so listing a folder of 50,000 files reads the directory once,
/// not once per page.
struct Listing {
  key_type: String,
  ids: Vec<String>,
  /// Where the next page starts, and the last id handed out before it.
  next: usize,
}

/// Opens (creating when missing, mode 0700) the folder and takes its owner
/// lock when `options.lock`, as `useMultiFileAuthState` does. Blocking: run
/// it off the JavaScript thread.
pub fn open(display: &str, options: OpenOptions) -> Result<FolderBackend, StoreError> {
  open_with(display, options, Arc::new(RealIo))
}

/// [`open`] over any I/O layer (the fault-injecting one in tests).
pub fn open_with(display: &str, options: OpenOptions, io: Arc<dyn crate::store::io::Io>) -> Result<FolderBackend, StoreError> {
  let scheduler = pool()?;
  let folder = Arc::new(Folder::open(display, options, io)?);
  read::after_open(folder.clone());
  Ok(FolderBackend { folder: Mutex::new(Some(folder)), closed: AtomicBool::new(false), scheduler, listing: Arc::default() })
}

/// The worker pool the folder's files are read and written on.
pub fn pool() -> Result<&'static Scheduler, StoreError> {
  scheduler::global().map_err(|e| StoreError::Internal { message: format!("cannot start the I/O worker threads: {e}") })
}

fn panicked() -> StoreError {
  StoreError::Internal { message: "a file operation panicked".to_owned() }
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
  // Kept whole, so that the napi layer shows it as Node's `fs` would.
  out.file = Some(FileError::new(e));
  out
}

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
      || Err(panicked()),
      move |results| completer.complete(finish(&folder, results)),
    );
    pending
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

impl FolderBackend {
  /// The key files of `key_type` now in the folder: `(file name, id)` pairs,
  /// sorted by name (see [`crate::listing`] for how ids are recovered). For
  /// the plain functions' listing, which reads files by name.
  pub fn list_key_files(&self, key_type: &str) -> Pending<Vec<(String, String)>> {
    let folder = match self.folder() {
      Ok(f) => f,
      Err(e) => return ready(Err(e)),
    };
    let key_type = key_type.to_owned();
    self.run(
      folder,
      vec![(String::new(), ())],
      move |f, _, ()| {
        let mut found: Vec<(String, String)> =
          read_dir_names(f)?.into_iter().filter_map(|name| listing::id_of(&name, &key_type).map(|id| (name, id))).collect();
        found.sort();
        Ok(found)
      },
      |_, mut r| r.pop().unwrap_or_else(|| Ok(Vec::new())).map_err(backend_error),
    )
  }

  /// The sorted ids of `key_type` (a key whose only file is the hardened
  /// helper's `<name>.json.bak` is a key too) from one listing of the folder.
  fn all_ids(names: &[String], key_type: &str) -> Vec<String> {
    let backups = names.iter().filter_map(|n| n.strip_suffix(files::BACKUP_SUFFIX).filter(|base| base.ends_with(".json")));
    let mut ids: Vec<String> = names.iter().map(String::as_str).chain(backups).filter_map(|n| listing::id_of(n, key_type)).collect();
    ids.sort();
    ids.dedup();
    ids
  }

  /// The page after `after` from the listing being paged through, when the
  /// previous page of that listing ended at `after`.
  fn next_page(&self, key_type: &str, after: Option<&str>, limit: usize) -> Option<Vec<String>> {
    let mut cached = self.listing.lock();
    let l = cached.as_mut()?;
    let continues = l.key_type == key_type && l.next > 0 && after == Some(l.ids[l.next - 1].as_str());
    if !continues {
      return None;
    }
    let page: Vec<String> = l.ids[l.next..].iter().take(limit).cloned().collect();
    l.next += page.len();
    if page.len() < limit {
      *cached = None;
    }
    Some(page)
  }
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
      // Unreadable credentials, or a lone `creds.json.bak` of Baileys'
      // hardened helper, are errors, never "none" (see `read::read_creds`).
      |f, _, ()| read::read_creds(f),
      |_, mut r| r.pop().unwrap_or_else(|| Err(panicked())).map_err(backend_error),
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

  /// Each file is read and parsed on its lane, so a call's values are
  /// decoded in parallel; a file that is missing or cannot be read is
  /// answered from the `.bak` Baileys' hardened helper keeps beside it, as
  /// that helper would, and an unparseable one is moved aside (see
  /// [`read::read_key`]). Each id gets its own outcome, so the warnings of
  /// the reads that worked reach the logger even when another one failed.
  fn read_values(&self, key_type: &str, ids: &[String], decode: Decode) -> Option<Pending<Vec<BackendResult<ValueRead>>>> {
    let folder = match self.folder() {
      Ok(f) => f,
      Err(e) => return Some(ready(Err(e))),
    };
    let count = ids.len();
    // An id no file can have (a NUL, a name too long) reads as missing.
    let ops = ids.iter().enumerate().filter_map(|(i, id)| key_file_name(key_type, id).ok().map(|n| (n, i))).collect();
    Some(self.run(
      folder,
      ops,
      move |f, name, i: usize| Ok((i, read_key(f, name, decode))),
      move |_, results| {
        let mut out: Vec<BackendResult<ValueRead>> = (0..count).map(|_| Ok(ValueRead::MISSING)).collect();
        for r in results {
          match r {
            Ok((i, read)) => out[i] = read.map_err(backend_error),
            Err(e) => return Err(backend_error(e)),
          }
        }
        Ok(out)
      },
    ))
  }

  fn apply(&self, ops: Vec<KeyWrite>) -> Pending<()> {
    let folder = match self.folder() {
      Ok(f) => f,
      Err(e) => return ready(Err(e)),
    };
    // Every name first: a value no file can be named for fails the call
    // before anything is written (Node's `writeFile` would throw too).
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
      // A value still to encode is encoded here, on its file's lane.
      |f, name, op| match op {
        KeyOp::Put(payload) => files::write_atomic(f, name, &payload.into_bytes()),
        KeyOp::Delete => files::delete(f, name),
      },
      durable,
    )
  }

  fn list_ids(&self, key_type: &str, after: Option<&str>, limit: usize) -> Pending<Vec<String>> {
    if let Some(page) = self.next_page(key_type, after, limit) {
      return ready(Ok(page));
    }
    let folder = match self.folder() {
      Ok(f) => f,
      Err(e) => return ready(Err(e)),
    };
    let (key_type, after) = (key_type.to_owned(), after.map(str::to_owned));
    let handle = self.listing.clone();
    // A snapshot of the directory, as `readdir` gives it when its turn comes
    // on one lane (writes still queued on other lanes may not be in it yet),
    // kept for the pages after this one.
    self.run(
      folder,
      vec![(String::new(), ())],
      |f, _, ()| read_dir_names(f),
      move |_, mut r| {
        let names = r.pop().unwrap_or_else(|| Ok(Vec::new())).map_err(backend_error)?;
        let ids = FolderBackend::all_ids(&names, &key_type);
        let start = after.as_deref().map_or(0, |a| ids.partition_point(|id| id.as_str() <= a));
        let page: Vec<String> = ids[start..].iter().take(limit).cloned().collect();
        if page.len() == limit && limit > 0 {
          *handle.lock() = Some(Listing { key_type, next: start + page.len(), ids });
        }
        Ok(page)
      },
    )
  }

  /// Deletes every key file (every `*.json` but `creds.json`) with the
  /// `.bak` and `.tmp` Baileys' hardened helper keeps beside it (those of
  /// `creds.json` stay), also a `.bak` or `.tmp` whose `*.json` is gone: that
  /// helper would read such a `.bak` as the key. The credentials, the lock and
  /// any other file stay. Each key's files are unlinked on that key's lane
  /// in the order [`files::delete_with`] explains, so a kill half-way leaves
  /// some keys, no torn file, and no key that reads as an older value.
  fn clear(&self) -> Pending<()> {
    let folder = match self.folder() {
      Ok(f) => f,
      Err(e) => return ready(Err(e)),
    };
    let (pending, completer) = Pending::new();
    let scheduler = self.scheduler;
    // The listing runs on a lane too, never on the caller's thread.
    scheduler.submit(0, move || {
      let names = match std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| read_dir_names(&folder))) {
        Ok(Ok(names)) => names,
        Ok(Err(e)) => return completer.complete(Err(backend_error(e))),
        Err(_) => return completer.complete(Err(backend_error(panicked()))),
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
        keys.into_iter().map(|(name, (tmp, bak))| (scheduler.worker_for(&folder.path, &name), (name, tmp, bak))).collect();
      let work_folder = folder.clone();
      scheduler.run_batch(
        ops,
        move |(name, tmp, bak)| files::delete_with(&work_folder, &name, tmp, bak),
        || Err(panicked()),
        move |results: Vec<Result<(), StoreError>>| {
          let outcome = durable(&folder, results);
          if outcome.is_ok() {
            folder.key_backups_cleared();
          }
          completer.complete(outcome)
        },
      );
    });
    pending
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
    *self.listing.lock() = None;
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

  /// A fresh folder of its own, removed when the test ends (failed or not).
  struct TempDir(std::path::PathBuf);

  impl TempDir {
    fn new(tag: &str) -> TempDir {
      let dir = std::env::temp_dir().join(format!("ban-folder-backend-{tag}-{}", std::process::id()));
      let _ = std::fs::remove_dir_all(&dir);
      std::fs::create_dir_all(&dir).unwrap();
      TempDir(dir)
    }
  }

  impl Drop for TempDir {
    fn drop(&mut self) {
      let _ = std::fs::remove_dir_all(&self.0);
    }
  }

  /// A folder Baileys' hardened helper left between its two renames: only
  /// the `.bak` of a key, and of the credentials.
  #[test]
  fn what_the_hardened_helper_left_is_read_as_it_reads_it() {
    let tmp = TempDir::new("bak");
    let dir = &tmp.0;
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
  }

  /// Pages continue one listing; a page asked for after anything else lists again.
  #[test]
  fn list_ids_pages_through_one_listing() {
    let tmp = TempDir::new("pages");
    let dir = &tmp.0;
    for i in 0..600 {
      std::fs::write(dir.join(format!("pre-key-{i:04}.json")), b"{}").unwrap();
    }
    std::fs::write(dir.join("session-x.json"), b"{}").unwrap();
    let b = open(dir.to_str().unwrap(), OpenOptions::default()).unwrap();
    let first = b.list_ids("pre-key", None, 256).wait().unwrap();
    assert_eq!((first.len(), first[0].as_str(), first[255].as_str()), (256, "0000", "0255"));
    // A file written now is not in the listing being paged through...
    std::fs::write(dir.join("pre-key-0599a.json"), b"{}").unwrap();
    let second = b.list_ids("pre-key", Some("0255"), 256).wait().unwrap();
    assert_eq!((second.len(), second[0].as_str()), (256, "0256"));
    let third = b.list_ids("pre-key", Some("0511"), 256).wait().unwrap();
    assert_eq!((third.len(), third.last().map(String::as_str)), (88, Some("0599")));
    // ...and is in a new one, as is a page after an id of another listing.
    assert_eq!(b.list_ids("pre-key", Some("0599"), 10).wait().unwrap(), vec!["0599a".to_owned()]);
    assert_eq!(b.list_ids("session", None, 10).wait().unwrap(), vec!["x".to_owned()]);
    assert_eq!(b.list_ids("pre-key", Some("0597"), 2).wait().unwrap(), vec!["0598".to_owned(), "0599".to_owned()]);
    b.close().wait().unwrap();
  }
}
