//! File names inside an auth folder, exactly as Baileys' helper names them.
//!
//! Credentials live in `creds.json`; a key of `type` and `id` lives in
//! `fixFileName(`${type}-${id}.json`)`, where `fixFileName` turns every `/`
//! into `__` and then every `:` into `-`. After that no name can hold a `/`,
//! so no id can reach outside the folder; a name can still hold a NUL byte or
//! be longer than the file system allows, which [`key_file_name`] reports.
//!
//! On Windows a name can also be one the OS cannot store (see
//! [`windows_rule`]); there it is refused the same way, rather than written
//! elsewhere (a `\` is a folder separator there) or turned into another name.

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
  /// A name Windows cannot store as a file name (EINVAL), and why.
  NotStorable(&'static str),
}

impl fmt::Display for NameError {
  fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
    match self {
      NameError::Nul => write!(f, "a key type or id holds a NUL character, which no file name can hold"),
      NameError::TooLong(n) => write!(f, "the key's file name would be {n} bytes, more than the {NAME_MAX} the file system allows"),
      NameError::NotStorable(why) => write!(f, "the key's file name cannot be stored on this operating system: {why}"),
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
  if WINDOWS_NAMES {
    if let Some(why) = windows_rule(name) {
      return Err(NameError::NotStorable(why));
    }
  }
  Ok(())
}

/// Whether this build applies Windows' file name rules.
const WINDOWS_NAMES: bool = cfg!(windows);

/// Names Windows will not store as they are, and why; `None` for a name it
/// stores. Compiled on every platform, so this machine's tests check it.
///
/// What `fixFileName` can give is any text without `/` and `:`. Of that,
/// Windows refuses `\` (a separator: the file would land in another
/// folder), `* ? " < > |` and the control characters 1–31. Its other rules (a
/// reserved device name such as `CON` or `NUL` before the first dot, a name
/// ending in a dot or a space) cannot meet a key file, whose name always has a
/// `-` after its type and ends in `.json`; they are checked anyway, for
/// `creds.json`'s sake and any name to come.
pub fn windows_rule(name: &str) -> Option<&'static str> {
  if let Some(c) = name.chars().find(|c| matches!(c, '\\' | '/' | ':' | '*' | '?' | '"' | '<' | '>' | '|') || (*c as u32) < 32) {
    return Some(match c {
      '\\' | '/' => "it holds a path separator",
      c if (c as u32) < 32 => "it holds a control character",
      _ => "it holds one of the characters * ? \" < > | : that Windows does not allow",
    });
  }
  if name.ends_with('.') || name.ends_with(' ') {
    return Some("it ends with a dot or a space");
  }
  let stem = name.split('.').next().unwrap_or(name).trim_end_matches(' ');
  const DEVICES: [&str; 4] = ["CON", "PRN", "AUX", "NUL"];
  let upper = stem.to_ascii_uppercase();
  let numbered = |prefix: &str| {
    upper
      .strip_prefix(prefix)
      .is_some_and(|n| matches!(n, "1" | "2" | "3" | "4" | "5" | "6" | "7" | "8" | "9" | "0" | "\u{b9}" | "\u{b2}" | "\u{b3}"))
  };
  if DEVICES.contains(&upper.as_str()) || numbered("COM") || numbered("LPT") {
    return Some("it is a name Windows reserves for a device");
  }
  None
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
  fn windows_refuses_what_it_cannot_store_and_nothing_else() {
    for bad in [
      "session-a\\b.json",
      "session-a*b.json",
      "session-a?.json",
      "session-\"x\".json",
      "session-<a>.json",
      "session-a|b.json",
      "session-\u{1}.json",
    ] {
      assert!(windows_rule(bad).is_some(), "{bad:?}");
    }
    for reserved in ["CON", "con.json", "NUL.txt", "aux", "COM1.json", "lpt9", "COM\u{b9}.x", "PRN .json"] {
      assert_eq!(windows_rule(reserved), Some("it is a name Windows reserves for a device"), "{reserved:?}");
    }
    assert!(windows_rule("name.").is_some());
    assert!(windows_rule("name ").is_some());
    for good in [
      "creds.json",
      "pre-key-7.json",
      "session-1234-5@s.whatsapp.net.json",
      "sender-key-123-456@g.us--789.0.json",
      "app-state-sync-key-aB__cD==.json",
      "COM10.json",
      "CONSOLE.json",
      "session-CON.json",
      "lid-mapping-123_reverse.json",
      "session-\u{e9}\u{1f600}.json",
    ] {
      assert_eq!(windows_rule(good), None, "{good:?}");
    }
  }

  #[test]
  fn every_key_file_name_windows_refuses_holds_one_of_its_forbidden_characters() {
    // fixFileName's outputs for ids of every ASCII character (and a few
    // reserved words as ids): a refusal is only ever for a character, never
    // for a device name or a trailing dot, as the rules above say.
    let mut ids: Vec<String> = (0u8..128).map(|b| format!("a{}b", b as char)).collect();
    ids.extend(["CON", "nul", "COM1", "", ".", "..", " ", "x."].map(String::from));
    for key_type in ["pre-key", "session", "sender-key", "app-state-sync-key", "app-state-sync-version", "lid-mapping", "CON", "NUL"] {
      for id in &ids {
        let Ok(name) = key_file_name(key_type, id) else { continue };
        match windows_rule(&name) {
          None => {}
          Some(why) => {
            assert!(name.chars().any(|c| matches!(c, '\\' | '*' | '?' | '"' | '<' | '>' | '|') || (c as u32) < 32), "{name:?}: {why}")
          }
        }
      }
    }
  }

  #[test]
  fn bad_names_are_typed_errors() {
    assert_eq!(key_file_name("session", "a\0b"), Err(NameError::Nul));
    assert!(matches!(key_file_name("session", &"x".repeat(300)), Err(NameError::TooLong(_))));
  }
}
