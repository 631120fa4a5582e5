//! One owner process per database file.
//!
//! SQLite's own locks only serialise transactions: two processes could both
//! keep a store open and overwrite each other's Signal sessions between their
//! transactions. So the owner holds an exclusive lock (`flock`; `LockFileEx`
//! on Windows) on a sidecar file,
//! `<db>.lock`, for as long as the store is open, and writes its pid there; a
//! second process is refused at once and told who holds the file. The kernel
//! drops the lock when the holder dies, however it dies. The descriptor is
//! close-on-exec, so programs the bot spawns do not inherit it.
//!
//! Unlike the folder lock, this one is released by `close()`: a database file
//! is handed over between processes (migration, a restart under a supervisor)
//! more often than a folder. Sharing inside one process is done one level up,
//! by sharing the open store itself.

use std::ffi::OsString;
use std::fs::File;
use std::io;
use std::path::{Path, PathBuf};

use crate::backend::{BackendError, BackendResult, ErrorKind};
use crate::lock::{open_lock_file, read_pid, try_lock, write_pid};
use crate::store::error::errno_name;

/// A held owner lock; dropping it releases the lock.
pub struct OwnerLock {
  _file: File,
}

/// `<db>.lock`, beside the database.
pub fn lock_path(db: &Path) -> PathBuf {
  let mut name = OsString::from(db.as_os_str());
  name.push(".lock");
  PathBuf::from(name)
}

pub fn acquire(db: &Path) -> BackendResult<OwnerLock> {
  let path = lock_path(db);
  let io_err = |what: &str, e: io::Error| {
    let code = e.raw_os_error().map(errno_name).unwrap_or("EIO");
    BackendError::new(ErrorKind::Io, format!("cannot {what} the lock file {}: {e}", path.display())).with_code(code)
  };
  if path.as_os_str().as_encoded_bytes().contains(&0) {
    return Err(BackendError::new(ErrorKind::Invalid, "the database path holds a NUL byte"));
  }
  let fd = open_lock_file(&path).map_err(|e| io_err("open", e))?;
  match try_lock(&fd) {
    Ok(true) => {}
    Ok(false) => {
      let pid = read_pid(&fd);
      let who = match pid {
        // Our own pid: another copy of this package in this process (the
        // lock is per open file, so it refuses us too), or a process in
        // another PID namespace (a container on a shared volume).
        Some(p) if p == std::process::id() => format!(
          "another process or copy of baileys-auth-native: its owner has pid {p}, which is this process's own pid (another copy of the package loaded here, or a process in another container)"
        ),
        Some(p) => format!("another process (pid {p})"),
        None => "another process".to_owned(),
      };
      let mut err = BackendError::new(ErrorKind::Locked, format!("the auth database {} is in use by {who}", db.display()));
      err.owner_pid = pid;
      return Err(err);
    }
    Err(e) => return Err(io_err("lock", e)),
  }
  write_pid(&fd);
  Ok(OwnerLock { _file: fd })
}
