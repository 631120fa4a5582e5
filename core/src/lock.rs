//! One owner per auth folder.
//!
//! The owner holds an exclusive `flock` on `.baileys-auth.lock` inside the
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
use std::io;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::path::{Path, PathBuf};
use std::sync::{Arc, OnceLock};

use parking_lot::Mutex;

use crate::store::error::StoreError;

pub const LOCK_FILE: &str = ".baileys-auth.lock";
const LOCK_FILE_C: &CStr = c".baileys-auth.lock";

/// A held folder lock; dropping the last handle does not release it (see [`acquire`]).
pub struct FolderLock {
  _fd: OwnedFd,
  pub folder: PathBuf,
}

impl FolderLock {
  /// Whether the file this lock holds is still the lock file in `dir`.
  fn is_lock_file_of(&self, dir: RawFd) -> bool {
    let mut held: libc::stat = unsafe { std::mem::zeroed() };
    let mut there: libc::stat = unsafe { std::mem::zeroed() };
    unsafe {
      libc::fstat(self._fd.as_raw_fd(), &mut held) == 0
        && libc::fstatat(dir, LOCK_FILE_C.as_ptr(), &mut there, libc::AT_SYMLINK_NOFOLLOW) == 0
        && held.st_dev == there.st_dev
        && held.st_ino == there.st_ino
    }
  }
}

fn registry() -> &'static Mutex<HashMap<PathBuf, Arc<FolderLock>>> {
  static REGISTRY: OnceLock<Mutex<HashMap<PathBuf, Arc<FolderLock>>>> = OnceLock::new();
  REGISTRY.get_or_init(|| Mutex::new(HashMap::new()))
}

/// Takes (or, in this process, shares) the lock of the folder whose
/// canonical path is `folder` and whose directory is open as `dir`.
/// Locks stay held until the process ends, as the owner of a folder is a process.
pub fn acquire(folder: &Path, dir: RawFd) -> Result<Arc<FolderLock>, StoreError> {
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
  let flags = libc::O_RDWR | libc::O_CREAT | libc::O_NOFOLLOW | libc::O_CLOEXEC;
  let raw = unsafe { libc::openat(dir, LOCK_FILE_C.as_ptr(), flags, 0o600 as libc::c_uint) };
  if raw < 0 {
    return Err(io_err("open", io::Error::last_os_error()));
  }
  let fd = unsafe { OwnedFd::from_raw_fd(raw) };
  match try_lock(&fd) {
    Ok(true) => {}
    Ok(false) => return Err(StoreError::Locked { folder: folder.to_owned(), pid: read_pid(&fd) }),
    Err(e) => return Err(io_err("flock", e)),
  }
  unsafe { libc::fchmod(fd.as_raw_fd(), 0o600) };
  write_pid(&fd);
  let lock = Arc::new(FolderLock { _fd: fd, folder: folder.to_owned() });
  held.insert(folder.to_owned(), lock.clone());
  Ok(lock)
}

/// Whether this process holds the lock of `folder`.
pub fn held_here(folder: &Path) -> bool {
  registry().lock().contains_key(folder)
}

/// An exclusive `flock` without waiting: `Ok(false)` when another open file
/// description (another process) holds it. Shared by every owner lock of the
/// package (a folder's, a database file's).
pub(crate) fn try_lock(fd: &OwnedFd) -> io::Result<bool> {
  // SAFETY: a plain system call on a descriptor the caller owns.
  if unsafe { libc::flock(fd.as_raw_fd(), libc::LOCK_EX | libc::LOCK_NB) } == 0 {
    return Ok(true);
  }
  let e = io::Error::last_os_error();
  if e.raw_os_error() == Some(libc::EWOULDBLOCK) {
    Ok(false)
  } else {
    Err(e)
  }
}

/// Writes this process's pid into a held lock file.
pub(crate) fn write_pid(fd: &OwnedFd) {
  // Informational only: a failure here does not weaken the lock.
  let text = format!("{}\n", std::process::id());
  unsafe {
    libc::ftruncate(fd.as_raw_fd(), 0);
    libc::pwrite(fd.as_raw_fd(), text.as_ptr() as *const libc::c_void, text.len(), 0);
  }
}

/// The pid a lock file's holder wrote there, if any.
pub(crate) fn read_pid(fd: &OwnedFd) -> Option<u32> {
  let mut buf = [0u8; 32];
  let n = unsafe { libc::pread(fd.as_raw_fd(), buf.as_mut_ptr() as *mut libc::c_void, buf.len(), 0) };
  if n <= 0 {
    return None;
  }
  std::str::from_utf8(&buf[..n as usize]).ok()?.trim().parse().ok()
}

/// The pid written in a folder's lock file, if any (for the CLI).
pub fn recorded_pid(folder: &Path) -> Option<u32> {
  std::fs::read_to_string(folder.join(LOCK_FILE)).ok()?.trim().parse().ok()
}
