//! SQLite's errors as [`BackendError`]s.
//!
//! SQLite never puts bound values in its messages, so a message here holds the
//! path, what we were doing and SQLite's own text (table or column names at
//! most), never key material.

use std::path::Path;

use rusqlite::{ffi, Connection, ErrorCode};

use crate::backend::{BackendError, ErrorKind};
use crate::store::error::errno_name;

/// Maps `e`, raised while `doing` (e.g. "cannot write to") the database at
/// `path`. With the connection at hand the OS errno behind an I/O error is
/// used too (EROFS is a read-only error, ENOSPC a full disk).
pub fn sql_error(conn: Option<&Connection>, e: rusqlite::Error, doing: &str, path: &Path) -> BackendError {
  let (kind, code) = match &e {
    rusqlite::Error::SqliteFailure(f, _) => classify(conn, f),
    _ => (ErrorKind::Internal, ErrorKind::Internal.default_code()),
  };
  BackendError::new(kind, format!("{doing} {}: {}", path.display(), detail(&e))).with_code(code)
}

fn detail(e: &rusqlite::Error) -> String {
  match e {
    rusqlite::Error::SqliteFailure(f, Some(msg)) => format!("{msg} ({})", f.extended_code),
    rusqlite::Error::SqliteFailure(f, None) => format!("{f} ({})", f.extended_code),
    other => other.to_string(),
  }
}

fn classify(conn: Option<&Connection>, f: &ffi::Error) -> (ErrorKind, &'static str) {
  let errno = conn.map(system_errno).unwrap_or(0);
  match f.code {
    ErrorCode::DatabaseBusy | ErrorCode::DatabaseLocked => (ErrorKind::Locked, "SQLITE_BUSY"),
    ErrorCode::DatabaseCorrupt | ErrorCode::NotADatabase => (ErrorKind::Corrupt, ErrorKind::Corrupt.default_code()),
    ErrorCode::DiskFull => (ErrorKind::Full, if errno == crate::errno::EDQUOT { "EDQUOT" } else { "ENOSPC" }),
    ErrorCode::ReadOnly => (ErrorKind::ReadOnly, if errno == crate::errno::EACCES { "EACCES" } else { "EROFS" }),
    ErrorCode::ConstraintViolation => (ErrorKind::Invalid, "SQLITE_CONSTRAINT"),
    ErrorCode::TooBig => (ErrorKind::Invalid, "SQLITE_TOOBIG"),
    ErrorCode::TypeMismatch => (ErrorKind::Invalid, "SQLITE_MISMATCH"),
    ErrorCode::OutOfMemory => (ErrorKind::Internal, "ENOMEM"),
    ErrorCode::SystemIoFailure | ErrorCode::CannotOpen | ErrorCode::PermissionDenied | ErrorCode::FileLockingProtocolFailed => {
      match errno {
        crate::errno::ENOSPC | crate::errno::EDQUOT => (ErrorKind::Full, errno_name(errno)),
        crate::errno::EROFS => (ErrorKind::ReadOnly, "EROFS"),
        0 => (ErrorKind::Io, "EIO"),
        n => (ErrorKind::Io, errno_name(n)),
      }
    }
    _ => (ErrorKind::Internal, "SQLITE_ERROR"),
  }
}

fn system_errno(conn: &Connection) -> i32 {
  // SAFETY: the handle is valid for as long as `conn` is borrowed, and
  // `sqlite3_system_errno` only reads a field of it.
  unsafe { ffi::sqlite3_system_errno(conn.handle()) }
}
