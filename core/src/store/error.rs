//! Errors of the store. None of them carries key material: at most a file
//! name (key type and id, which are JIDs and numbers, not secrets).

use std::fmt;
use std::io;
use std::path::PathBuf;

use crate::codec::ParseError;
use crate::naming::NameError;

#[derive(Debug)]
pub enum StoreError {
  /// A system call failed. `syscall` is what Node would name it.
  Io { syscall: &'static str, path: PathBuf, source: io::Error },
  /// `creds.json` exists but cannot be read as credentials.
  Corrupt { path: PathBuf, cause: ParseError },
  /// A key type or id that cannot name a file.
  BadName { error: NameError },
  /// Baileys' own error for a folder path that is a file.
  NotADirectory { folder: String },
  /// Another process owns the folder.
  Locked { folder: PathBuf, pid: Option<u32> },
  /// A stored value that the caller's conversion rejects (what Baileys'
  /// `AppStateSyncKeyData.fromObject` throws for it).
  Invalid { message: String },
  /// A bug of ours (a caught panic); the call failed, nothing else did.
  Internal { message: String },
}

impl StoreError {
  pub fn io(syscall: &'static str, path: impl Into<PathBuf>, source: io::Error) -> Self {
    StoreError::Io { syscall, path: path.into(), source }
  }

  /// The errno name Node would put in `err.code`.
  pub fn code(&self) -> Option<&'static str> {
    match self {
      StoreError::Io { source, .. } => Some(source.raw_os_error().map(errno_name).unwrap_or("EIO")),
      StoreError::BadName { error: NameError::TooLong(_) } => Some("ENAMETOOLONG"),
      StoreError::BadName { error: NameError::Nul } => Some("ERR_INVALID_ARG_VALUE"),
      StoreError::NotADirectory { .. } => None,
      StoreError::Corrupt { .. } => Some("EBAILEYSCORRUPT"),
      StoreError::Locked { .. } => Some("EBAILEYSLOCKED"),
      StoreError::Invalid { .. } | StoreError::Internal { .. } => None,
    }
  }

  pub fn errno(&self) -> Option<i32> {
    match self {
      StoreError::Io { source, .. } => source.raw_os_error(),
      StoreError::BadName { error: NameError::TooLong(_) } => Some(libc::ENAMETOOLONG),
      _ => None,
    }
  }
}

impl fmt::Display for StoreError {
  fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
    match self {
      StoreError::Io { syscall, path, source } => {
        let code = source.raw_os_error().map(errno_name).unwrap_or("EIO");
        let what = source.raw_os_error().map(|e| io::Error::from_raw_os_error(e).to_string()).unwrap_or_else(|| source.to_string());
        // Node's format: "EACCES: permission denied, open '/path'"
        let what = what.split(" (os error").next().unwrap_or(&what).to_lowercase();
        write!(f, "{code}: {what}, {syscall} '{}'", path.display())
      }
      StoreError::Corrupt { path, cause } => write!(
        f,
        "{} exists but cannot be read ({cause}); it was left untouched. Restore it from a backup, or move it away to start a new session",
        path.display()
      ),
      StoreError::BadName { error } => write!(f, "{error}"),
      StoreError::NotADirectory { folder } => {
        write!(f, "found something that is not a directory at {folder}, either delete it or specify a different location")
      }
      StoreError::Locked { folder, pid } => match pid {
        Some(pid) => write!(f, "the auth folder {} is in use by another process (pid {pid})", folder.display()),
        None => write!(f, "the auth folder {} is in use by another process", folder.display()),
      },
      StoreError::Invalid { message } => f.write_str(message),
      StoreError::Internal { message } => write!(f, "internal error in baileys-auth-native: {message}"),
    }
  }
}

impl std::error::Error for StoreError {}

/// Symbolic name of an errno, as Node's `err.code`.
pub fn errno_name(errno: i32) -> &'static str {
  match errno {
    libc::EPERM => "EPERM",
    libc::ENOENT => "ENOENT",
    libc::EIO => "EIO",
    libc::EBADF => "EBADF",
    libc::EAGAIN => "EAGAIN",
    libc::ENOMEM => "ENOMEM",
    libc::EACCES => "EACCES",
    libc::EBUSY => "EBUSY",
    libc::EEXIST => "EEXIST",
    libc::EXDEV => "EXDEV",
    libc::ENOTDIR => "ENOTDIR",
    libc::EISDIR => "EISDIR",
    libc::EINVAL => "EINVAL",
    libc::ENFILE => "ENFILE",
    libc::EMFILE => "EMFILE",
    libc::EFBIG => "EFBIG",
    libc::ENOSPC => "ENOSPC",
    libc::EROFS => "EROFS",
    libc::EMLINK => "EMLINK",
    libc::ENAMETOOLONG => "ENAMETOOLONG",
    libc::ENOTEMPTY => "ENOTEMPTY",
    libc::ELOOP => "ELOOP",
    libc::EDQUOT => "EDQUOT",
    libc::ESTALE => "ESTALE",
    libc::ETIMEDOUT => "ETIMEDOUT",
    libc::EINTR => "EINTR",
    libc::ENXIO => "ENXIO",
    libc::ENODEV => "ENODEV",
    libc::ETXTBSY => "ETXTBSY",
    libc::EOVERFLOW => "EOVERFLOW",
    _ => "UNKNOWN",
  }
}
