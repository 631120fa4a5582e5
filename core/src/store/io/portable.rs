//! The portable layer: `std::fs` on paths, for every platform.
//!
//! It keeps the Unix layer's guarantees by other means:
//! - **one name, one file in the folder:** a name that is not a single plain
//!   path component (a separator, `..`, a drive prefix) is refused with
//!   `EINVAL` before any call, so nothing is ever written elsewhere;
//! - **exclusive, private creation:** `create_new` (`O_EXCL`, which never
//!   follows a symlink); on Unix, mode 0600 exactly, whatever the umask. On
//!   Windows there are no modes: a file takes the ACL its folder passes on
//!   (under the user's profile, that user's, SYSTEM's and the administrators');
//! - **the atomic replace:** `rename` on Unix; on Windows `MoveFileExW` with
//!   `MOVEFILE_REPLACE_EXISTING`, plus `MOVEFILE_WRITE_THROUGH` with
//!   `fsync: true`. A target another process holds open without sharing
//!   (an antivirus, a backup tool, an editor) gives a sharing violation:
//!   retried for a while ([`SHARED_RETRY_DELAYS_MS`]), then the error is
//!   returned and the target keeps its old bytes, never torn;
//! - **durability:** `File::sync_all` (`fsync`; `F_FULLFSYNC` on macOS;
//!   `FlushFileBuffers` on Windows). The folder is synced on Unix; on Windows
//!   a folder cannot be opened as a file, and NTFS journals its entries, with
//!   the write-through rename flushing them.
//!
//! What it gives up against the Unix layer: names are resolved from the
//! folder's path on every call (a folder renamed while open is not followed),
//! a replaced file is freed inside the rename, and a deferred write error
//! reported by `close(2)` (NFS) is not seen.

use std::fs::{self, File, OpenOptions};
use std::io::{self, Read, Write};
use std::path::{Component, Path, PathBuf};

use super::{invalid_name, Dir, Io};

/// `std::fs` on paths.
pub struct PortableIo;

/// How long to wait, one after another, before each retry of a replace or an
/// unlink that hit a sharing violation (Windows): about 1.3 s in all, longer
/// than an antivirus scan of a small file takes.
pub const SHARED_RETRY_DELAYS_MS: [u64; 8] = [1, 2, 5, 10, 25, 50, 200, 1000];

/// Retries `op` while `transient` says its error will pass, sleeping the given
/// delays in turn; then returns its last error.
pub fn retry_while(mut op: impl FnMut() -> io::Result<()>, transient: impl Fn(&io::Error) -> bool, delays_ms: &[u64]) -> io::Result<()> {
  let mut delays = delays_ms.iter();
  loop {
    match op() {
      Err(e) if transient(&e) => match delays.next() {
        Some(&ms) => std::thread::sleep(std::time::Duration::from_millis(ms)),
        None => return Err(e),
      },
      other => return other,
    }
  }
}

/// Whether an error is another process holding the file (Windows: sharing or
/// lock violation, or access denied, which a file pending deletion gives).
fn shared_elsewhere(e: &io::Error) -> bool {
  cfg!(windows) && matches!(e.raw_os_error(), Some(32) | Some(33) | Some(5))
}

/// `dir/name`, when `name` is one plain component; `EINVAL` otherwise.
fn entry(dir: &Dir, name: &str) -> io::Result<PathBuf> {
  let mut parts = Path::new(name).components();
  match (parts.next(), parts.next()) {
    (Some(Component::Normal(part)), None) if part == name && !name.contains('\0') => Ok(dir.path().join(name)),
    _ => Err(invalid_name()),
  }
}

impl Io for PortableIo {
  fn layer(&self) -> &'static str {
    "portable"
  }

  fn open_read(&self, dir: &Dir, name: &str) -> io::Result<File> {
    let mut options = OpenOptions::new();
    options.read(true);
    #[cfg(unix)]
    {
      // A FIFO planted where a key file should be must not hang a worker.
      use std::os::unix::fs::OpenOptionsExt;
      options.custom_flags(libc::O_NONBLOCK);
    }
    let path = entry(dir, name)?;
    options.open(&path).map_err(|e| {
      // Windows cannot open a directory as a file and says "access denied";
      // Node (and the Unix layer) say EISDIR.
      if cfg!(windows) && e.kind() == io::ErrorKind::PermissionDenied && fs::metadata(&path).is_ok_and(|m| m.is_dir()) {
        io::Error::from_raw_os_error(crate::errno::EISDIR)
      } else {
        e
      }
    })
  }

  fn hold(&self, _dir: &Dir, _name: &str) -> Option<File> {
    None
  }

  fn create_new(&self, dir: &Dir, name: &str) -> io::Result<File> {
    let path = entry(dir, name)?;
    let mut options = OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
      use std::os::unix::fs::OpenOptionsExt;
      options.mode(super::FILE_MODE);
    }
    let file = options.open(&path)?;
    #[cfg(unix)]
    {
      // The umask may have taken bits away: set the mode exactly when needed.
      use std::os::unix::fs::PermissionsExt;
      let exact = file.metadata().is_ok_and(|m| m.permissions().mode() & 0o7777 == super::FILE_MODE);
      if !exact {
        if let Err(e) = file.set_permissions(fs::Permissions::from_mode(super::FILE_MODE)) {
          drop(file);
          let _ = fs::remove_file(&path);
          return Err(e);
        }
      }
    }
    Ok(file)
  }

  fn read_to_end(&self, file: &File, limit: u64, out: &mut Vec<u8>) -> io::Result<()> {
    let meta = file.metadata()?;
    if meta.is_dir() {
      return Err(io::Error::from_raw_os_error(crate::errno::EISDIR));
    }
    if !meta.is_file() {
      // A FIFO, socket or device where a file should be: not ours to read.
      return Err(invalid_name());
    }
    if meta.len() > limit {
      return Err(io::Error::from_raw_os_error(crate::errno::EFBIG));
    }
    out.clear();
    out.reserve(meta.len() as usize + 1);
    // One byte past the limit tells a file that grew meanwhile.
    file.take(limit + 1).read_to_end(out)?;
    if out.len() as u64 > limit {
      return Err(io::Error::from_raw_os_error(crate::errno::EFBIG));
    }
    Ok(())
  }

  fn write_all(&self, mut file: &File, bytes: &[u8]) -> io::Result<()> {
    file.write_all(bytes)
  }

  fn fsync(&self, file: &File) -> io::Result<()> {
    file.sync_all()
  }

  fn fsync_dir(&self, dir: &Dir) -> io::Result<()> {
    match dir.handle() {
      Some(handle) => handle.sync_all(),
      None => Ok(()),
    }
  }

  fn rename(&self, dir: &Dir, from: &str, to: &str, durable: bool) -> io::Result<()> {
    let (from, to) = (entry(dir, from)?, entry(dir, to)?);
    retry_while(|| replace(&from, &to, durable), shared_elsewhere, &SHARED_RETRY_DELAYS_MS)
  }

  fn unlink(&self, dir: &Dir, name: &str) -> io::Result<()> {
    let path = entry(dir, name)?;
    retry_while(|| fs::remove_file(&path), shared_elsewhere, &SHARED_RETRY_DELAYS_MS)
  }

  fn mkdir(&self, path: &Path) -> io::Result<()> {
    #[cfg(unix)]
    {
      use std::os::unix::fs::{DirBuilderExt, PermissionsExt};
      fs::DirBuilder::new().mode(super::DIR_MODE).create(path)?;
      fs::set_permissions(path, fs::Permissions::from_mode(super::DIR_MODE))
    }
    #[cfg(not(unix))]
    {
      fs::create_dir(path)
    }
  }

  fn open_dir(&self, path: &Path) -> io::Result<Dir> {
    if !fs::metadata(path)?.is_dir() {
      return Err(io::Error::from_raw_os_error(crate::errno::ENOTDIR));
    }
    // A folder opens as a file for fsync on Unix only.
    let handle = if cfg!(unix) { Some(File::open(path)?) } else { None };
    Ok(Dir::new(path.to_owned(), handle))
  }

  fn close(&self, file: File) -> io::Result<()> {
    drop(file);
    Ok(())
  }
}

#[cfg(not(windows))]
fn replace(from: &Path, to: &Path, _durable: bool) -> io::Result<()> {
  fs::rename(from, to)
}

/// `MoveFileExW(from, to, MOVEFILE_REPLACE_EXISTING [| MOVEFILE_WRITE_THROUGH])`.
#[cfg(windows)]
fn replace(from: &Path, to: &Path, durable: bool) -> io::Result<()> {
  use std::os::windows::ffi::OsStrExt;
  use windows_sys::Win32::Storage::FileSystem::{MoveFileExW, MOVEFILE_REPLACE_EXISTING, MOVEFILE_WRITE_THROUGH};
  let wide = |p: &Path| p.as_os_str().encode_wide().chain(Some(0)).collect::<Vec<u16>>();
  let (from, to) = (wide(from), wide(to));
  let flags = MOVEFILE_REPLACE_EXISTING | if durable { MOVEFILE_WRITE_THROUGH } else { 0 };
  // SAFETY: both are NUL-terminated UTF-16 strings that live across the call.
  if unsafe { MoveFileExW(from.as_ptr(), to.as_ptr(), flags) } != 0 {
    Ok(())
  } else {
    Err(io::Error::last_os_error())
  }
}

#[cfg(test)]
mod tests {
  use super::*;
  use std::cell::Cell;

  #[test]
  fn names_that_are_not_one_component_are_refused() {
    let dir = Dir::new(PathBuf::from("/tmp/x"), None);
    for bad in ["", ".", "..", "a/b", "/abs", "a\0b", "a/"] {
      assert_eq!(entry(&dir, bad).unwrap_err().raw_os_error(), Some(crate::errno::EINVAL), "{bad:?}");
    }
    assert_eq!(entry(&dir, "creds.json").unwrap(), PathBuf::from("/tmp/x/creds.json"));
  }

  #[test]
  fn sharing_violations_are_retried_then_returned() {
    let calls = Cell::new(0);
    let busy = || io::Error::from_raw_os_error(32);
    let r = retry_while(
      || {
        calls.set(calls.get() + 1);
        if calls.get() < 3 {
          Err(busy())
        } else {
          Ok(())
        }
      },
      |e| e.raw_os_error() == Some(32),
      &[0, 0, 0],
    );
    assert!(r.is_ok());
    assert_eq!(calls.get(), 3);

    calls.set(0);
    let r = retry_while(
      || {
        calls.set(calls.get() + 1);
        Err(busy())
      },
      |e| e.raw_os_error() == Some(32),
      &[0, 0],
    );
    assert_eq!(r.unwrap_err().raw_os_error(), Some(32));
    assert_eq!(calls.get(), 3, "one try and two retries");

    calls.set(0);
    let r = retry_while(
      || {
        calls.set(calls.get() + 1);
        Err(io::Error::from_raw_os_error(crate::errno::ENOSPC))
      },
      |e| e.raw_os_error() == Some(32),
      &[0, 0],
    );
    assert!(r.is_err());
    assert_eq!(calls.get(), 1, "other errors are not retried");
  }
}
