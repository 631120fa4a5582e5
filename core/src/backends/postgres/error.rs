//! The server's and the client's errors as [`BackendError`]s.
//!
//! A message holds what we were doing, the SQLSTATE and the server's primary
//! message, never its `DETAIL` (which can quote a row) nor anything bound:
//! values hold private keys, and connection settings hold a password.

use std::error::Error as _;

use tokio_postgres::error::SqlState;

use crate::backend::{BackendError, ErrorKind};
use crate::store::error::errno_name;

pub fn pg_error(e: &tokio_postgres::Error, doing: &str) -> BackendError {
  if let Some(db) = e.as_db_error() {
    let state = db.code();
    let kind = match state {
      s if *s == SqlState::LOCK_NOT_AVAILABLE => ErrorKind::Locked,
      s if *s == SqlState::DISK_FULL => ErrorKind::Full,
      s if *s == SqlState::READ_ONLY_SQL_TRANSACTION => ErrorKind::ReadOnly,
      s if *s == SqlState::INSUFFICIENT_PRIVILEGE => ErrorKind::ReadOnly,
      s if *s == SqlState::INVALID_PASSWORD || *s == SqlState::INVALID_AUTHORIZATION_SPECIFICATION => ErrorKind::Invalid,
      s if *s == SqlState::INVALID_CATALOG_NAME => ErrorKind::Invalid,
      // What the server cannot store: a NUL in text (22021), a character the
      // database's encoding lacks (22P05), an index row over its size limit
      // (54000), too long a string. The call is refused whole.
      s if *s == SqlState::CHARACTER_NOT_IN_REPERTOIRE
        || *s == SqlState::UNTRANSLATABLE_CHARACTER
        || *s == SqlState::PROGRAM_LIMIT_EXCEEDED
        || *s == SqlState::STRING_DATA_RIGHT_TRUNCATION
        || *s == SqlState::NULL_VALUE_NOT_ALLOWED =>
      {
        ErrorKind::Invalid
      }
      s if *s == SqlState::QUERY_CANCELED
        || *s == SqlState::ADMIN_SHUTDOWN
        || *s == SqlState::CRASH_SHUTDOWN
        || *s == SqlState::CANNOT_CONNECT_NOW
        || *s == SqlState::TOO_MANY_CONNECTIONS
        || *s == SqlState::IDLE_IN_TRANSACTION_SESSION_TIMEOUT
        || state.code().starts_with("08") =>
      {
        ErrorKind::Unavailable
      }
      _ => ErrorKind::Io,
    };
    return BackendError::new(kind, format!("{doing}: PostgreSQL {}: {}", state.code(), db.message())).with_code(code_of(kind));
  }
  // The client's own errors: the connection broke, could not be made, TLS…
  let mut detail = e.to_string();
  let mut errno_code = None;
  let mut source = e.source();
  while let Some(s) = source {
    if let Some(io) = s.downcast_ref::<std::io::Error>() {
      errno_code = io.raw_os_error().map(errno_name);
    }
    detail = format!("{detail}: {s}");
    source = s.source();
  }
  let tls = detail.contains("certificate") || detail.contains("TLS") || detail.contains("tls");
  let kind = if tls || detail.contains("invalid configuration") { ErrorKind::Invalid } else { ErrorKind::Unavailable };
  let code = if tls { "EBAILEYSTLS" } else { errno_code.unwrap_or(code_of(kind)) };
  BackendError::new(kind, format!("{doing}: {detail}")).with_code(code)
}

fn code_of(kind: ErrorKind) -> &'static str {
  kind.default_code()
}

pub fn unavailable(message: impl Into<String>) -> BackendError {
  BackendError::new(ErrorKind::Unavailable, message).with_code("ETIMEDOUT")
}
