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
  /// `creds.json` (at `path`) cannot give credentials: it exists but cannot
  /// be read as credentials, or it is missing while a backup is beside it
  /// (see [`CredsFault`]).
  Corrupt { path: PathBuf, cause: CredsFault },
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

/// Why `creds.json` cannot give credentials, and what is beside it.
///
/// Baileys' hardened helper keeps the previous credentials as
/// `creds.json.bak` (it renames `creds.json` there before renaming its new
/// file over `creds.json`), and reads that backup when `creds.json` is
/// missing or unreadable. So a missing `creds.json` next to a backup is not
/// "no credentials": fresh ones there would log the device out.
#[derive(Debug)]
pub struct CredsFault {
  /// What is wrong with `creds.json` itself; `None` when it is missing (then
  /// `backup` is never [`CredsBackup::Absent`]).
  pub file: Option<ParseError>,
  pub backup: CredsBackup,
}

/// `creds.json.bak`, as found beside a `creds.json` that cannot be used.
#[derive(Debug)]
pub enum CredsBackup {
  Absent,
  /// It holds credentials (a JSON object the reader accepts).
  Readable {
    path: PathBuf,
  },
  /// It is there but cannot be read as credentials (`reason` says why:
  /// a parse error, or the failed system call).
  Unreadable {
    path: PathBuf,
    reason: String,
  },
}

/// `'text'` for a POSIX shell (a `'` inside as `'\''`), so a command in a
/// message can be pasted as it is; on Windows `"text"` for cmd and
/// PowerShell (a path cannot hold a `"` there).
fn shell_quoted(path: &std::path::Path) -> String {
  if cfg!(windows) {
    format!("\"{}\"", path.to_string_lossy())
  } else {
    format!("'{}'", path.to_string_lossy().replace('\'', "'\\''"))
  }
}

/// The command that renames a file, in the restore advice: `mv`, or on
/// Windows `move` (cmd's, and PowerShell's alias of Move-Item). The advice
/// never moves onto an existing file, so neither needs a flag to overwrite.
pub const MOVE_COMMAND: &str = if cfg!(windows) { "move" } else { "mv" };

/// The `cause` of the JavaScript error: what is wrong with the file (the
/// parse error, as before backups were looked at), or with the backup when
/// `creds.json` is missing.
impl fmt::Display for CredsFault {
  fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
    match (&self.file, &self.backup) {
      (Some(cause), _) => write!(f, "{cause}"),
      (None, CredsBackup::Unreadable { reason, .. }) => write!(f, "creds.json is missing and creds.json.bak cannot be read: {reason}"),
      (None, _) => f.write_str("creds.json is missing, and its backup creds.json.bak is there"),
    }
  }
}

impl std::error::Error for CredsFault {}

impl CredsFault {
  /// The whole message, for the credentials file at `path`.
  fn message(&self, path: &std::path::Path, f: &mut fmt::Formatter<'_>) -> fmt::Result {
    let (p, qp) = (path.display(), shell_quoted(path));
    match (&self.file, &self.backup) {
      (Some(cause), CredsBackup::Absent) => write!(
        f,
        "{p} exists but cannot be read ({cause}); it was left untouched. Restore it from a backup, or move it away to start a new session"
      ),
      (Some(cause), CredsBackup::Readable { path: b }) => {
        let aside = shell_quoted(&path.with_extension("json.unreadable"));
        write!(
          f,
          "{p} exists but cannot be read ({cause}); it was left untouched and nothing was written. Its backup {} (kept by Baileys' hardened helper) can be read: to restore it, run: {MOVE_COMMAND} {qp} {aside} && {MOVE_COMMAND} {} {qp}",
          b.display(),
          shell_quoted(b)
        )
      }
      (Some(cause), CredsBackup::Unreadable { path: b, reason }) => write!(
        f,
        "{p} exists but cannot be read ({cause}), and neither can its backup {} ({reason}); both were left untouched and nothing was written. Restore {p} from a backup of your own, or move both away to start a new session",
        b.display()
      ),
      (None, CredsBackup::Readable { path: b }) => write!(
        f,
        "{p} is missing, but its backup {} is there (Baileys' hardened helper keeps one, and leaves only the backup when it is stopped in the middle of a save); it was not used and nothing was written. To restore it, run: {MOVE_COMMAND} {} {qp}",
        b.display(),
        shell_quoted(b)
      ),
      (None, CredsBackup::Unreadable { path: b, reason }) => write!(
        f,
        "{p} is missing and its backup {} cannot be read ({reason}); nothing was written, and no new credentials were made over it. Repair the backup and restore it ({MOVE_COMMAND} {} {qp}), or move it away to start a new session",
        b.display(),
        shell_quoted(b)
      ),
      (None, CredsBackup::Absent) => write!(f, "{p} is missing"),
    }
  }
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
      StoreError::BadName { error: NameError::NotStorable(_) } => Some("EINVAL"),
      StoreError::NotADirectory { .. } => None,
      StoreError::Corrupt { .. } => Some("EBAILEYSCORRUPT"),
      StoreError::Locked { .. } => Some("EBAILEYSLOCKED"),
      StoreError::Invalid { .. } | StoreError::Internal { .. } => None,
    }
  }

  pub fn errno(&self) -> Option<i32> {
    match self {
      StoreError::Io { source, .. } => source.raw_os_error(),
      StoreError::BadName { error: NameError::TooLong(_) } => Some(crate::errno::ENAMETOOLONG),
      StoreError::BadName { error: NameError::NotStorable(_) } => Some(crate::errno::EINVAL),
      _ => None,
    }
  }
}

impl fmt::Display for StoreError {
  fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
    match self {
      StoreError::Io { syscall, path, source } => {
        let code = source.raw_os_error().map(errno_name).unwrap_or("EIO");
        let what = match source.raw_os_error() {
          Some(e) => crate::errno::node_message(e).map_or_else(|| io::Error::from_raw_os_error(e).to_string(), str::to_owned),
          None => source.to_string(),
        };
        // Node's format: "EACCES: permission denied, open '/path'"
        let what = what.split(" (os error").next().unwrap_or(&what).to_lowercase();
        write!(f, "{code}: {what}, {syscall} '{}'", path.display())
      }
      StoreError::Corrupt { path, cause } => cause.message(path, f),
      StoreError::BadName { error } => write!(f, "{error}"),
      StoreError::NotADirectory { folder } => {
        write!(f, "found something that is not a directory at {folder}, either delete it or specify a different location")
      }
      StoreError::Locked { folder, pid } => match pid {
        // The holder has our pid: another copy of this package in this
        // process (another version, from another node_modules), or a
        // process in another PID namespace (a container on a shared volume).
        Some(pid) if *pid == std::process::id() => write!(
          f,
          "the auth folder {} is in use by another process or copy of baileys-auth-native: its owner has pid {pid}, which is this process's own pid (another copy of the package loaded here, or a process in another container)",
          folder.display()
        ),
        Some(pid) => write!(f, "the auth folder {} is in use by another process (pid {pid})", folder.display()),
        None => write!(f, "the auth folder {} is in use by another process", folder.display()),
      },
      StoreError::Invalid { message } => f.write_str(message),
      StoreError::Internal { message } => write!(f, "internal error in baileys-auth-native: {message}"),
    }
  }
}

impl std::error::Error for StoreError {}

/// Symbolic name of an OS error code, as Node's `err.code` (see [`crate::errno`]).
pub use crate::errno::name as errno_name;
