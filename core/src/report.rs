//! What the CLI's `stats` and `verify` say of any store, in one shape: counts
//! per type, the credentials' summary, and the values that cannot be read
//! back. Each backend's report (`backends::sqlite::report`,
//! `backends::postgres::report`) fills these from its own tables.

use crate::codec::{self, Flavor, ParseError, Value};

/// Keys and bytes of one type.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct TypeCount {
  pub keys: u64,
  pub bytes: u64,
}

/// One value (or the store) that is not as it should be.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Finding {
  /// `None` for the store itself or the credentials.
  pub key_type: Option<String>,
  pub id: Option<String>,
  /// `integrity`, `corrupt` (not JSON), `revive` (JSON this line's reader
  /// refuses), `creds` (credentials that are not an object).
  pub problem: &'static str,
  pub detail: String,
}

/// What the stored credentials say: `(registered, me.id)`, `None` when they
/// are sealed (an encrypted store: a report has no key), or what is wrong.
pub fn creds_summary(bytes: &[u8], flavor: Flavor) -> Result<Option<(bool, Option<String>)>, Finding> {
  let finding = |detail: String| Finding { key_type: None, id: None, problem: "creds", detail };
  if crate::seal::is_sealed(bytes) {
    return Ok(None);
  }
  match codec::parse_file(bytes, flavor) {
    Ok(Value::Object(o)) => Ok(Some((
      matches!(o.get("registered"), Some(Value::Bool(true))),
      o.get("me").and_then(Value::as_object).and_then(|me| me.get("id")).and_then(Value::as_js_string).map(|s| s.to_string_lossy()),
    ))),
    Ok(_) => Err(finding("JSON that is not an object".into())),
    Err(e) => Err(finding(e.to_string())),
  }
}

/// Decodes one stored value as `flavor` reads it: `None` when it reads back
/// (or is sealed: without the key only its seal's form is known).
pub fn check_value(key_type: &str, id: &str, bytes: &[u8], flavor: Flavor) -> Option<Finding> {
  if crate::seal::is_sealed(bytes) {
    return None;
  }
  let finding = |problem, e: &dyn std::fmt::Display| Finding {
    key_type: Some(key_type.to_owned()),
    id: Some(id.to_owned()),
    problem,
    detail: e.to_string(),
  };
  match codec::parse_file(bytes, flavor) {
    Ok(_) => None,
    Err(ParseError::Revive(e)) => Some(finding("revive", &e)),
    Err(e) => Some(finding("corrupt", &e)),
  }
}
