//! One file at a time: read, atomic write, delete, and moving a corrupt file aside.
//!
//! The write protocol: a new temporary dot-file in the same folder with a
//! unique name (pid and counter, never ending in `.json`), created
//! exclusively (`O_CREAT|O_EXCL|O_NOFOLLOW`) with mode 0600, fully written, fsynced when
//! asked, closed, then renamed over the target. The old file is never moved
//! away first, so at every instant the target holds either the old bytes or
//! the new ones. On any failure the temporary file is removed and the target
//! is untouched.

use std::io;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

use super::error::StoreError;
use super::folder::Folder;
use crate::naming::NAME_MAX;

/// Largest file we read. Real key files are kilobytes; a bigger file is
/// treated as corrupt rather than read into memory.
pub const MAX_FILE_SIZE: u64 = 64 * 1024 * 1024;

const TEMP_PREFIX: &str = ".baileys-auth-tmp-";

/// The counter of temporary names. It starts at a random value, so that the
/// names this process uses can be told from those a dead process with the
/// same pid left (pids are reused; pid 1 in every container).
fn temp_counter() -> &'static (u64, AtomicU64) {
  static COUNTER: std::sync::OnceLock<(u64, AtomicU64)> = std::sync::OnceLock::new();
  COUNTER.get_or_init(|| {
    let start = (u32::from_le_bytes(crate::xeddsa::random_bytes::<4>()) as u64) << 20;
    (start, AtomicU64::new(start))
  })
}

/// A fresh temporary name: `.baileys-auth-tmp-<pid>-<counter>`.
pub fn temp_name() -> String {
  format!("{TEMP_PREFIX}{}-{}", own_pid(), temp_counter().1.fetch_add(1, Ordering::Relaxed))
}

/// Whether `name` is a temporary file this very process may be writing now.
fn is_own_temp(name: &str) -> bool {
  let Some(rest) = name.strip_prefix(TEMP_PREFIX) else { return false };
  let Some((pid, counter)) = rest.split_once('-') else { return false };
  let (start, next) = temp_counter();
  pid.parse::<u32>().ok() == Some(own_pid()) && counter.parse::<u64>().is_ok_and(|n| n >= *start && n < next.load(Ordering::Relaxed))
}

/// `getpid()` once (it is a system call each time; no Rust code runs in a forked child).
fn own_pid() -> u32 {
  static PID: std::sync::OnceLock<u32> = std::sync::OnceLock::new();
  *PID.get_or_init(std::process::id)
}

/// The pid in one of our temporary names, or `None` for any other name.
pub fn temp_name_pid(name: &str) -> Option<u32> {
  let rest = name.strip_prefix(TEMP_PREFIX)?;
  let (pid, counter) = rest.split_once('-')?;
  if pid.is_empty() || counter.is_empty() || !counter.bytes().all(|b| b.is_ascii_digit()) {
    return None;
  }
  pid.parse().ok()
}

/// Reads a whole file; `Ok(None)` when it does not exist.
pub fn read(folder: &Folder, name: &str, out: &mut Vec<u8>) -> Result<Option<()>, StoreError> {
  let path_err = |syscall, e| StoreError::io(syscall, folder.file_path(name), e);
  let fd = match folder.io.open_read(folder.dir(), name) {
    Ok(fd) => fd,
    Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
    Err(e) => return Err(path_err("open", e)),
  };
  folder.io.read_to_end(&fd, MAX_FILE_SIZE, out).map_err(|e| path_err("read", e))?;
  Ok(Some(()))
}

/// Replaces `name` with `bytes` atomically (the protocol above).
pub fn write_atomic(folder: &Folder, name: &str, bytes: &[u8]) -> Result<(), StoreError> {
  let io = folder.io.as_ref();
  let dir = folder.dir();
  // A name of ours can already exist: a dead process that had our pid (pid
  // reuse, e.g. pid 1 in a restarted container) left it. Our counter never
  // repeats a name, so such a file is never ours: take the next name.
  let mut attempts = 0;
  let (tmp, fd) = loop {
    let tmp = temp_name();
    match io.create_new(dir, &tmp) {
      Ok(fd) => break (tmp, fd),
      Err(e) if e.kind() == io::ErrorKind::AlreadyExists && attempts < 1024 => attempts += 1,
      Err(e) => return Err(StoreError::io("open", folder.file_path(&tmp), e)),
    }
  };
  let written = io.write_all(&fd, bytes).map_err(|e| StoreError::io("write", folder.file_path(&tmp), e)).and_then(|()| {
    if folder.options.fsync {
      // Never retried: after a failed fsync the page cache may already have
      // dropped the dirty pages, so a second fsync could "succeed" on nothing.
      io.fsync(&fd).map_err(|e| StoreError::io("fsync", folder.file_path(&tmp), e))
    } else {
      Ok(())
    }
  });
  let closed = io.close(fd).map_err(|e| StoreError::io("close", folder.file_path(&tmp), e));
  let mut replaced = None;
  let result = written.and(closed).and_then(|()| {
    // Hold the file about to be replaced, so that freeing it happens on the
    // reaper thread rather than inside this rename (see `reaper`).
    replaced = io.hold(dir, name);
    io.rename(dir, &tmp, name, folder.options.fsync).map_err(|e| StoreError::io("rename", folder.file_path(name), e))
  });
  if let Some(old) = replaced {
    super::reaper::close_later(old);
  }
  if result.is_err() {
    let _ = io.unlink(dir, &tmp);
  }
  result
}

/// The suffix of the backup Baileys' hardened helper keeps of a file: it
/// renames `<name>` to `<name>.bak` before renaming its new file over `<name>`.
pub const BACKUP_SUFFIX: &str = ".bak";

/// The suffix of the temporary file that helper writes a file's new bytes to
/// (`<name>.tmp`, then renamed over `<name>`). Never read: it may be torn.
pub const HARDENED_TEMP_SUFFIX: &str = ".tmp";

/// `<name>.bak`, or `None` when that name is longer than any file can have
/// (so no such backup can exist).
pub fn backup_name(name: &str) -> Option<String> {
  (name.len() + BACKUP_SUFFIX.len() <= NAME_MAX).then(|| format!("{name}{BACKUP_SUFFIX}"))
}

/// `<name>.tmp` of the hardened helper, or `None` when it cannot exist.
pub fn hardened_temp_name(name: &str) -> Option<String> {
  (name.len() + HARDENED_TEMP_SUFFIX.len() <= NAME_MAX).then(|| format!("{name}{HARDENED_TEMP_SUFFIX}"))
}

/// Whether `name` is a backup or temporary file of the hardened helper for a
/// key file (`*.json.bak`, `*.json.tmp`, but not `creds.json`'s): the
/// `*.json` it belongs to.
pub fn hardened_key_companion(name: &str) -> Option<&str> {
  let base = name.strip_suffix(BACKUP_SUFFIX).or_else(|| name.strip_suffix(HARDENED_TEMP_SUFFIX))?;
  (base.ends_with(".json") && base != crate::naming::CREDS_FILE).then_some(base)
}

/// Removes `name` and the files Baileys' hardened helper keeps beside it
/// (`<name>.tmp`, `<name>.bak`); a missing file is not an error. This is how
/// that helper deletes too: a `.bak` left behind would be read by it as the
/// key's value the next time, bringing a deleted key back.
pub fn delete(folder: &Folder, name: &str) -> Result<(), StoreError> {
  delete_with(folder, name, true, true)
}

/// [`delete`], unlinking `<name>.tmp` and `<name>.bak` only where asked (the
/// caller knows from a `readdir` which are there).
///
/// The order is `.tmp`, then `.bak`, then `name` itself, each only after the
/// one before is gone, and the first failure stops it (leaving `name`). Why:
/// a reader (ours, or the hardened helper) takes `name` when it reads, and
/// the `.bak` only when `name` is missing or unreadable; nobody takes the
/// `.tmp`. So as long as `name` is there the key reads as its current value,
/// whatever else is left; `name` goes last, when nothing is left to fall back
/// to. Unlinking `name` first would open a window (a crash, a kill, a failed
/// unlink of the `.bak`) where the key reads as the `.bak`: not deleted, not
/// current, but the value before it, brought back. The `.tmp` goes first as
/// the file nobody trusts: whatever a helper might make of a stray `.tmp`, it
/// never outlives the files that would be read before it. With `fsync`, the
/// folder is synced after the backups went and before `name` goes, so a
/// power cut cannot reorder the unlinks either (only when a backup was there:
/// a folder this package alone wrote pays nothing).
pub fn delete_with(folder: &Folder, name: &str, tmp: bool, bak: bool) -> Result<(), StoreError> {
  let mut removed = false;
  let companions = [tmp.then(|| hardened_temp_name(name)).flatten(), bak.then(|| backup_name(name)).flatten()];
  for companion in companions.iter().flatten() {
    removed |= unlink_if_present(folder, companion)?;
  }
  if removed && folder.options.fsync {
    folder.fsync_dir()?;
  }
  unlink_if_present(folder, name).map(drop)
}

/// Unlinks `name`; `Ok(false)` when there was no such file.
fn unlink_if_present(folder: &Folder, name: &str) -> Result<bool, StoreError> {
  match folder.io.unlink(folder.dir(), name) {
    Ok(()) => Ok(true),
    Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(false),
    Err(e) => Err(StoreError::io("unlink", folder.file_path(name), e)),
  }
}

/// Moves a file that cannot be read aside as `<name>.corrupt-<unix-ms>`,
/// keeping its bytes; returns the new name.
pub fn move_aside(folder: &Folder, name: &str) -> Result<String, StoreError> {
  let ms = SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_millis()).unwrap_or(0);
  let suffix = format!(".corrupt-{ms}");
  let mut base = name.to_owned();
  while base.len() + suffix.len() > NAME_MAX {
    base.pop();
  }
  let aside = format!("{base}{suffix}");
  folder.io.rename(folder.dir(), name, &aside, folder.options.fsync).map_err(|e| StoreError::io("rename", folder.file_path(name), e))?;
  Ok(aside)
}

/// Removes temporary files left by killed processes. With the folder's lock
/// held, no other process writes here, so every temporary file of another pid
/// is stale; without it, only those whose process is gone.
pub fn remove_stale_temps(folder: &Folder) -> usize {
  tidy(folder, true).removed
}

/// What [`tidy`] found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Tidied {
  /// Stale temporary files removed.
  pub removed: usize,
  /// Whether some key file has a `.bak` or `.tmp` of Baileys' hardened helper
  /// beside it (or the folder could not be listed, so it may).
  pub key_backups: bool,
}

/// One pass over the folder after an open: removes the stale temporary files
/// (see [`remove_stale_temps`]) when `remove_temps`, and sees whether any key
/// file has a companion of the hardened helper ([`hardened_key_companion`]).
pub fn tidy(folder: &Folder, remove_temps: bool) -> Tidied {
  let Ok(entries) = std::fs::read_dir(&folder.path) else {
    return Tidied { removed: 0, key_backups: true };
  };
  let own = std::process::id();
  let mut out = Tidied { removed: 0, key_backups: false };
  for entry in entries {
    let Ok(entry) = entry else {
      out.key_backups = true;
      continue;
    };
    let name = entry.file_name();
    let Some(name) = name.to_str() else { continue };
    if hardened_key_companion(name).is_some() {
      out.key_backups = true;
      continue;
    }
    if !remove_temps {
      continue;
    }
    let Some(pid) = temp_name_pid(name) else { continue };
    if is_own_temp(name) || (pid != own && !folder.holds_lock() && process_alive(pid)) {
      continue;
    }
    if folder.io.unlink(folder.dir(), name).is_ok() {
      out.removed += 1;
    }
  }
  out
}

#[cfg(unix)]
fn process_alive(pid: u32) -> bool {
  // SAFETY: signal 0 only checks that the process exists.
  let r = unsafe { libc::kill(pid as libc::pid_t, 0) };
  r == 0 || io::Error::last_os_error().raw_os_error() == Some(libc::EPERM)
}

/// Windows: a process that can be opened and has no exit code yet, or one
/// this user may not open (it exists).
#[cfg(windows)]
fn process_alive(pid: u32) -> bool {
  use windows_sys::Win32::Foundation::{CloseHandle, GetLastError, ERROR_ACCESS_DENIED, STILL_ACTIVE};
  use windows_sys::Win32::System::Threading::{GetExitCodeProcess, OpenProcess, PROCESS_QUERY_LIMITED_INFORMATION};
  // SAFETY: plain calls; the handle is closed before returning.
  unsafe {
    let handle = OpenProcess(PROCESS_QUERY_LIMITED_INFORMATION, 0, pid);
    if handle.is_null() {
      return GetLastError() == ERROR_ACCESS_DENIED;
    }
    let mut code = 0u32;
    let alive = GetExitCodeProcess(handle, &mut code) == 0 || code == STILL_ACTIVE as u32;
    CloseHandle(handle);
    alive
  }
}

/// Without a check, every other process counts as alive: its temporary
/// files are then only removed by the folder's owner (who holds the lock).
#[cfg(not(any(unix, windows)))]
fn process_alive(_pid: u32) -> bool {
  true
}

#[cfg(test)]
mod tests {
  use super::*;

  #[test]
  fn temp_names_are_recognised_and_never_json() {
    let t = temp_name();
    assert!(t.starts_with('.'));
    assert!(!t.ends_with(".json"));
    assert_eq!(temp_name_pid(&t), Some(std::process::id()));
    assert_eq!(temp_name_pid("creds.json"), None);
    assert_eq!(temp_name_pid(".baileys-auth-tmp-12-x"), None);
    assert_eq!(temp_name_pid(".baileys-auth.lock"), None);
  }
}
