//! The owner lock on every platform: `std::fs::File::try_lock` (Rust 1.89+),
//! which is `flock` on Unix and `LockFileEx` on Windows, so a process built
//! with either layer excludes one built with the other on the same machine.
//!
//! Windows differs in two ways. Its lock is mandatory: another process cannot
//! even read the locked file, so a refused second owner is told that the
//! folder is in use but not by which pid. And a file's identity is not
//! compared (std has no stable file index), so a lock file deleted and made
//! again while held is only noticed when it is gone.

use std::fs::{File, OpenOptions, TryLockError};
use std::io::{self, Read, Seek, SeekFrom, Write};
use std::path::Path;

use crate::store::io::Dir;

/// Opens (creating it, mode 0600 where there are modes) the lock file `name` inside `dir`.
pub fn open_in(dir: &Dir, name: &std::ffi::CStr) -> io::Result<File> {
  open_at(&dir.path().join(name.to_str().map_err(|_| io::Error::from_raw_os_error(crate::errno::EINVAL))?))
}

/// Opens (creating it) the lock file at `path`, never through a symlink on Unix.
pub fn open_at(path: &Path) -> io::Result<File> {
  let mut options = OpenOptions::new();
  options.read(true).write(true).create(true).truncate(false);
  #[cfg(unix)]
  {
    use std::os::unix::fs::OpenOptionsExt;
    options.mode(crate::store::io::FILE_MODE).custom_flags(libc::O_NOFOLLOW);
  }
  options.open(path)
}

/// An exclusive lock without waiting: `Ok(false)` when another process holds it.
pub fn try_lock(file: &File) -> io::Result<bool> {
  match file.try_lock() {
    Ok(()) => {
      #[cfg(unix)]
      {
        use std::os::unix::fs::PermissionsExt;
        let _ = file.set_permissions(std::fs::Permissions::from_mode(crate::store::io::FILE_MODE));
      }
      Ok(true)
    }
    Err(TryLockError::WouldBlock) => Ok(false),
    Err(TryLockError::Error(e)) => Err(e),
  }
}

pub fn write_pid(mut file: &File, text: &str) {
  let _ = file.set_len(0);
  let _ = file.seek(SeekFrom::Start(0)).and_then(|_| file.write_all(text.as_bytes()));
}

pub fn read_head(mut file: &File, buf: &mut [u8]) -> usize {
  file.seek(SeekFrom::Start(0)).and_then(|_| file.read(buf)).unwrap_or(0)
}

/// Whether `file` is still the file named `name` in `dir`.
pub fn is_file_at(file: &File, dir: &Dir, name: &std::ffi::CStr) -> bool {
  let Ok(name) = name.to_str() else { return false };
  let Ok(there) = std::fs::symlink_metadata(dir.path().join(name)) else { return false };
  #[cfg(unix)]
  {
    use std::os::unix::fs::MetadataExt;
    file.metadata().is_ok_and(|held| held.dev() == there.dev() && held.ino() == there.ino())
  }
  #[cfg(not(unix))]
  {
    let _ = (file, there);
    true
  }
}
