//! File names inside an auth folder, exactly as Baileys' helper names them.
//!
//! Credentials live in `creds.json`; a key of `type` and `id` lives in
//! `fixFileName(`${type}-${id}.json`)`, where `fixFileName` turns every `/`
//! into `__` and then every `:` into `-`. After that no name can hold a `/`,
//! so no id can reach outside the folder; a name can still hold a NUL byte or
//! be longer than the file system allows, which [`key_file_name`] reports.

use std::fmt;

pub const CREDS_FILE: &str = "creds.json";

/// Longest file name (in bytes) that Linux file systems take.
pub const NAME_MAX: usize = 255;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NameError {
  /// The name holds a NUL byte, which no path can (Node throws
  /// ERR_INVALID_ARG_VALUE for such paths).
  Nul,
  /// Longer than [`NAME_MAX`] bytes (ENAMETOOLONG).
  TooLong(usize),
}

impl fmt::Display for NameError {
  fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
    match self {
      NameError::Nul => write!(f, "a key type or id holds a NUL character, which no file name can hold"),
      NameError::TooLong(n) => write!(f, "the key's file name would be {n} bytes, more than the {NAME_MAX} the file system allows"),
    }
  }
}

impl std::error::Error for NameError {}

/// Baileys' `fixFileName`.
pub fn fix_file_name(name: &str) -> String {
  name.replace('/', "__").replace(':', "-")
}

/// The file name of a key: `fixFileName(`${type}-${id}.json`)`.
///
/// `key_type` and `id` are the strings JavaScript's `String(x)` gives, as
/// Node would write them into a path (UTF-8, lone surrogates as U+FFFD).
pub fn key_file_name(key_type: &str, id: &str) -> Result<String, NameError> {
  let mut name = String::with_capacity(key_type.len() + id.len() + 8);
  for part in [key_type, "-", id, ".json"] {
    push_fixed(&mut name, part);
  }
  check_name(&name)?;
  Ok(name)
}

/// Appends `part` with `fixFileName` applied (one pass, same result as the two replaces).
fn push_fixed(out: &mut String, part: &str) {
  for c in part.chars() {
    match c {
      '/' => out.push_str("__"),
      ':' => out.push('-'),
      c => out.push(c),
    }
  }
}

pub fn check_name(name: &str) -> Result<(), NameError> {
  if name.as_bytes().contains(&0) {
    return Err(NameError::Nul);
  }
  if name.len() > NAME_MAX {
    return Err(NameError::TooLong(name.len()));
  }
  Ok(())
}

#[cfg(test)]
mod tests {
  use super::*;

  #[test]
  fn names_like_baileys() {
    assert_eq!(key_file_name("sender-key", "123-456@g.us::789.0").unwrap(), "sender-key-123-456@g.us--789.0.json");
    assert_eq!(key_file_name("app-state-sync-key", "aB/cD==").unwrap(), "app-state-sync-key-aB__cD==.json");
    assert_eq!(key_file_name("pre-key", "7").unwrap(), "pre-key-7.json");
    assert_eq!(key_file_name("session", "1234:5@s.whatsapp.net").unwrap(), "session-1234-5@s.whatsapp.net.json");
  }

  #[test]
  fn names_never_leave_the_folder() {
    for id in ["../../etc/passwd", "/abs/path", "a/../../b", ".."] {
      let name = key_file_name("session", id).unwrap();
      assert!(!name.contains('/'), "{name}");
      assert_ne!(name, "..");
    }
  }

  #[test]
  fn bad_names_are_typed_errors() {
    assert_eq!(key_file_name("session", "a\0b"), Err(NameError::Nul));
    assert!(matches!(key_file_name("session", &"x".repeat(300)), Err(NameError::TooLong(_))));
  }
}
