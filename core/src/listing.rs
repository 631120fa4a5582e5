//! What is in an auth folder: which file is which key, and back from file
//! names to ids.
//!
//! A key file is `fixFileName(`${type}-${id}.json`)`. Going back, a type's
//! prefix must not catch another type whose name starts with it:
//! `sender-key-memory-…` files are not sender keys (Baileys' own attempt at
//! listing gets this wrong; we take the longest known type that matches).
//! Ids come back by undoing `fixFileName` where a type's ids allow it:
//! - `sender-key`: `--` → `::` (its ids are `group::user::device`);
//! - `app-state-sync-key`: `__` → `/` (its ids are base64);
//! - every other type: unchanged, so tctoken's `__index` survives.
//!
//! What cannot be reversed exactly: any `:` that is not part of a `::` in a
//! sender-key id, and any `:` in the ids of other types (session ids of old
//! Baileys versions, `user:device@server` JIDs), came out as `-` and stays `-`;
//! a `/` in an id of a type other than `app-state-sync-key` came out as `__`
//! and stays `__`. The reversed id always names the same file again
//! (`fixFileName` of it gives the same name), so reading by it works.

use crate::naming::{fix_file_name, CREDS_FILE};
use crate::store::files::temp_name_pid;

/// Every key type Baileys v6 and v7 store.
pub const KNOWN_KEY_TYPES: [&str; 10] = [
  "pre-key",
  "session",
  "sender-key",
  "sender-key-memory",
  "app-state-sync-key",
  "app-state-sync-version",
  "lid-mapping",
  "device-list",
  "tctoken",
  "identity-key",
];

/// What a name in an auth folder is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Entry {
  Creds,
  /// A key file of a known type, with the id as reversed.
  Key {
    key_type: &'static str,
    id: String,
  },
  /// A `*.json` that no known type claims.
  UnknownJson,
  /// One of our temporary files (left by a killed process if its pid is gone).
  Temp {
    pid: u32,
  },
  /// A file moved aside because it could not be read.
  Corrupt,
  /// Our lock file.
  Lock,
  Other,
}

pub fn classify(name: &str) -> Entry {
  if name == CREDS_FILE {
    return Entry::Creds;
  }
  if name == crate::lock::LOCK_FILE {
    return Entry::Lock;
  }
  if let Some(pid) = temp_name_pid(name) {
    return Entry::Temp { pid };
  }
  if name.contains(".corrupt-") {
    return Entry::Corrupt;
  }
  if !name.ends_with(".json") {
    return Entry::Other;
  }
  match KNOWN_KEY_TYPES.iter().filter(|t| fixed_id(name, t).is_some()).max_by_key(|t| t.len()) {
    Some(t) => Entry::Key { key_type: t, id: reverse_id(t, fixed_id(name, t).unwrap_or_default()) },
    None => Entry::UnknownJson,
  }
}

/// The part of `name` after `${type}-` and before `.json`, if `name` has that shape.
fn fixed_id<'a>(name: &'a str, key_type: &str) -> Option<&'a str> {
  let prefix = fix_file_name(key_type);
  let rest = name.strip_prefix(prefix.as_str())?.strip_prefix('-')?;
  rest.strip_suffix(".json")
}

/// The id of `name` if it is a key file of `key_type` (known or not): the
/// longest type that matches owns the file.
pub fn id_of(name: &str, key_type: &str) -> Option<String> {
  if name == CREDS_FILE {
    return None;
  }
  let fixed = fixed_id(name, key_type)?;
  let claimed_by_longer =
    KNOWN_KEY_TYPES.iter().any(|t| t.len() > key_type.len() && t.starts_with(key_type) && fixed_id(name, t).is_some());
  if claimed_by_longer {
    return None;
  }
  Some(reverse_id(key_type, fixed))
}

/// Undoes `fixFileName` as far as the type's ids allow (see the module docs).
pub fn reverse_id(key_type: &str, fixed: &str) -> String {
  match key_type {
    "sender-key" => fixed.replace("--", "::"),
    "app-state-sync-key" => fixed.replace("__", "/"),
    _ => fixed.to_owned(),
  }
}

#[cfg(test)]
mod tests {
  use super::*;
  use crate::naming::key_file_name;

  #[test]
  fn prefixes_do_not_catch_longer_types() {
    let memory = key_file_name("sender-key-memory", "123@g.us").unwrap();
    assert_eq!(id_of(&memory, "sender-key"), None);
    assert_eq!(id_of(&memory, "sender-key-memory"), Some("123@g.us".into()));
    let version = key_file_name("app-state-sync-version", "critical_block").unwrap();
    assert_eq!(id_of(&version, "app-state-sync-key"), None);
    assert_eq!(classify(&version), Entry::Key { key_type: "app-state-sync-version", id: "critical_block".into() });
  }

  #[test]
  fn ids_come_back() {
    for (t, id) in [
      ("sender-key", "123-456@g.us::789::0"),
      ("app-state-sync-key", "AAAAAPS/x+=="),
      ("tctoken", "__index"),
      ("pre-key", "812"),
      ("lid-mapping", "1234567890_reverse"),
    ] {
      let name = key_file_name(t, id).unwrap();
      assert_eq!(id_of(&name, t).as_deref(), Some(id), "{t} {id}");
    }
  }

  #[test]
  fn irreversible_ids_still_name_the_same_file() {
    let name = key_file_name("session", "123:4@s.whatsapp.net").unwrap();
    let id = id_of(&name, "session").unwrap();
    assert_eq!(id, "123-4@s.whatsapp.net");
    assert_eq!(key_file_name("session", &id).unwrap(), name);
  }

  #[test]
  fn other_names_are_classified() {
    assert_eq!(classify("creds.json"), Entry::Creds);
    assert_eq!(classify(".baileys-auth.lock"), Entry::Lock);
    assert_eq!(classify(".baileys-auth-tmp-12-3"), Entry::Temp { pid: 12 });
    assert_eq!(classify("session-x.json.corrupt-1700000000000"), Entry::Corrupt);
    assert_eq!(classify("notes.json"), Entry::UnknownJson);
    assert_eq!(classify("README"), Entry::Other);
  }
}
