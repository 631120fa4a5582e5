//! JavaScript strings: sequences of UTF-16 code units that may hold lone
//! surrogates, which no Rust `String` can. Most strings are well-formed, so
//! they are kept as UTF-8 and only the rare ill-formed ones as UTF-16.

use std::fmt;

#[derive(Clone, PartialEq, Eq, Hash)]
pub enum JsString {
  /// A well-formed string (no lone surrogate).
  Utf8(String),
  /// A string holding at least one lone surrogate, as UTF-16 code units.
  Utf16(Vec<u16>),
}

impl JsString {
  /// From UTF-16 code units: kept as UTF-8 when they are well-formed.
  pub fn from_utf16(units: Vec<u16>) -> JsString {
    match String::from_utf16(&units) {
      Ok(s) => JsString::Utf8(s),
      Err(_) => JsString::Utf16(units),
    }
  }

  pub fn is_empty(&self) -> bool {
    match self {
      JsString::Utf8(s) => s.is_empty(),
      JsString::Utf16(u) => u.is_empty(),
    }
  }

  /// `self === other` for a string literal.
  pub fn eq_str(&self, other: &str) -> bool {
    match self {
      JsString::Utf8(s) => s == other,
      JsString::Utf16(_) => false, // a lone surrogate never equals a well-formed literal
    }
  }

  pub fn as_str(&self) -> Option<&str> {
    match self {
      JsString::Utf8(s) => Some(s),
      JsString::Utf16(_) => None,
    }
  }

  /// The UTF-16 code units, as `charCodeAt` sees them.
  pub fn code_units(&self) -> Vec<u16> {
    match self {
      JsString::Utf8(s) => s.encode_utf16().collect(),
      JsString::Utf16(u) => u.clone(),
    }
  }

  /// `parseInt(this, 10)` is not `NaN` (see [`super::js_number::parse_int_gives_number`]).
  pub fn parse_int_gives_number(&self) -> bool {
    match self {
      JsString::Utf8(s) => super::js_number::parse_int_gives_number_iter(s.encode_utf16()),
      JsString::Utf16(u) => super::js_number::parse_int_gives_number(u),
    }
  }

  /// Number of UTF-16 code units (`str.length`).
  pub fn js_len(&self) -> usize {
    match self {
      JsString::Utf8(s) => s.chars().map(char::len_utf16).sum(),
      JsString::Utf16(u) => u.len(),
    }
  }

  /// UTF-8 with every lone surrogate replaced by U+FFFD, which is what Node
  /// does when it encodes a string as UTF-8 (`Buffer.from(str)`, `writeFile`).
  pub fn to_string_lossy(&self) -> String {
    match self {
      JsString::Utf8(s) => s.clone(),
      JsString::Utf16(u) => String::from_utf16_lossy(u),
    }
  }

  /// The key as an array index (a canonical decimal integer below 2^32 - 1),
  /// which JavaScript enumerates before every other key.
  pub fn as_array_index(&self) -> Option<u32> {
    let s = self.as_str()?;
    let b = s.as_bytes();
    if b.is_empty() || b.len() > 10 || !b.iter().all(u8::is_ascii_digit) {
      return None;
    }
    if b.len() > 1 && b[0] == b'0' {
      return None;
    }
    let n: u64 = s.parse().ok()?;
    if n < u32::MAX as u64 {
      Some(n as u32)
    } else {
      None
    }
  }
}

impl From<&str> for JsString {
  fn from(s: &str) -> Self {
    JsString::Utf8(s.to_owned())
  }
}

impl From<String> for JsString {
  fn from(s: String) -> Self {
    JsString::Utf8(s)
  }
}

impl fmt::Debug for JsString {
  fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
    match self {
      JsString::Utf8(s) => fmt::Debug::fmt(s, f),
      JsString::Utf16(u) => write!(f, "utf16{:?}", u),
    }
  }
}

#[cfg(test)]
mod tests {
  use super::*;

  #[test]
  fn lone_surrogates_stay_utf16() {
    assert_eq!(JsString::from_utf16(vec![0x61, 0xD83D]), JsString::Utf16(vec![0x61, 0xD83D]));
    assert_eq!(JsString::from_utf16(vec![0xD83D, 0xDE00]), JsString::Utf8("😀".into()));
    assert_eq!(JsString::Utf16(vec![0xD800]).to_string_lossy(), "\u{FFFD}");
  }

  #[test]
  fn array_index_is_canonical_and_below_u32_max() {
    assert_eq!(JsString::from("0").as_array_index(), Some(0));
    assert_eq!(JsString::from("4294967294").as_array_index(), Some(4294967294));
    assert_eq!(JsString::from("4294967295").as_array_index(), None);
    assert_eq!(JsString::from("01").as_array_index(), None);
    assert_eq!(JsString::from("-1").as_array_index(), None);
    assert_eq!(JsString::from("").as_array_index(), None);
  }

  #[test]
  fn js_len_counts_utf16_units() {
    assert_eq!(JsString::from("a😀").js_len(), 3);
  }
}
