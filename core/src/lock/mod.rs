//! One owner per auth folder.
//!
//! The owner holds an exclusive lock (`flock`; `LockFileEx` on Windows) on `.baileys-auth.lock` inside the
//! folder for the life of the process and writes its pid there, so that a
//! second process is refused at once and told who holds the folder. The kernel
//! drops the lock when the holder dies, however it dies, so a killed bot never
//! leaves a stale lock behind. The descriptor is close-on-exec, so programs the
//! bot spawns (ffmpeg…) do not inherit the lock.
//!
//! Inside one process the lock is shared: bots call `useMultiFileAuthState`
//! again on every reconnect, and that must keep working.

use std::collections::HashMap;
use std::ffi::CStr;
use std::fs::File;
use std::io;
use std::path::{Path, PathBuf};
use std::sync::{Arc, OnceLock};

use parking_lot::Mutex;

use crate::store::error::StoreError;
use crate::store::io::Dir;

// The system calls, with the I/O layer's choice (see `store::io`).
#[cfg(not(unix_io))]
mod portable;
#[cfg(not(unix_io))]
use portable as sys;
#[cfg(unix_io)]
mod unix;
#[cfg(unix_io)]
use unix as sys;

pub const LOCK_FILE: &str = ".baileys-auth.lock";
const LOCK_FILE_C: &CStr = c".baileys-auth.lock";

/// A held folder lock; dropping the last handle does not release it (see [`acquire`]).
pub struct FolderLock {
  file: File,
  pub folder: PathBuf,
}

impl FolderLock {
  /// Whether the file this lock holds is still the lock file in `dir`.
  fn is_lock_file_of(&self, dir: &Dir) -> bool {
    sys::is_file_at(&self.file, dir, LOCK_FILE_C)
  }
}

fn registry() -> &'static Mutex<HashMap<PathBuf, Arc<FolderLock>>> {
  static REGISTRY: OnceLock<Mutex<HashMap<PathBuf, Arc<FolderLock>>>> = OnceLock::new();
  REGISTRY.get_or_init(|| Mutex::new(HashMap::new()))
}

/// Takes (or, in this process, shares) the lock of the folder whose
/// canonical path is `folder` and whose directory is open as `dir`.
/// Locks stay held until the process ends, as the owner of a folder is a process.
pub fn acquire(folder: &Path, dir: &Dir) -> Result<Arc<FolderLock>, StoreError> {
  let mut held = registry().lock();
  if let Some(lock) = held.get(folder) {
    if lock.is_lock_file_of(dir) {
      return Ok(lock.clone());
    }
    // The folder (or its lock file) was deleted and made again since we
    // locked it (a bot that deletes its folder on logout and pairs again):
    // our lock is on a file that is gone, so lock the one there now.
    held.remove(folder);
  }
  let io_err = |syscall, e| StoreError::io(syscall, folder.join(LOCK_FILE), e);
  let file = sys::open_in(dir, LOCK_FILE_C).map_err(|e| io_err("open", e))?;
  match try_lock(&file) {
    Ok(true) => {}
    Ok(false) => return Err(StoreError::Locked { folder: folder.to_owned(), pid: read_pid(&file) }),
    Err(e) => return Err(io_err("flock", e)),
  }
  write_pid(&file);
  let lock = Arc::new(FolderLock { file, folder: folder.to_owned() });
  held.insert(folder.to_owned(), lock.clone());
  Ok(lock)
}

/// Whether this process holds the lock of `folder`.
pub fn held_here(folder: &Path) -> bool {
  registry().lock().contains_key(folder)
}

/// An exclusive lock without waiting (`flock`; `LockFileEx` on Windows):
/// `Ok(false)` when another open file description (another process) holds it.
/// On success the file is made 0600 where there are modes. Shared by every
/// owner lock of the package (a folder's, a database file's).
pub(crate) fn try_lock(file: &File) -> io::Result<bool> {
  sys::try_lock(file)
}

/// Opens (creating it) a lock file at `path` (a database file's `<db>.lock`).
pub(crate) fn open_lock_file(path: &Path) -> io::Result<File> {
  sys::open_at(path)
}

/// Writes this process's pid into a held lock file.
pub(crate) fn write_pid(file: &File) {
  // Informational only: a failure here does not weaken the lock.
  sys::write_pid(file, &format!("{}\n", std::process::id()));
}

/// The pid a lock file's holder wrote there, if any (never on Windows, where
/// the holder's lock keeps others from reading it).
pub(crate) fn read_pid(file: &File) -> Option<u32> {
  let mut buf = [0u8; 32];
  let n = sys::read_head(file, &mut buf);
  std::str::from_utf8(&buf[..n]).ok()?.trim().parse().ok()
}

/// The pid written in a folder's lock file, if any (for the CLI).
pub fn recorded_pid(folder: &Path) -> Option<u32> {
  std::fs::read_to_string(folder.join(LOCK_FILE)).ok()?.trim().parse().ok()
}
