//! File bytes → value, equal to `JSON.parse(await readFile(path, 'utf-8'), BufferJSON.reviver)`.
//!
//! - The bytes are decoded as Node decodes UTF-8: invalid sequences become
//!   U+FFFD, and a byte order mark is kept (so it is a syntax error, as in Node).
//! - The grammar is strict JSON. Strings are sequences of UTF-16 code units:
//!   an escaped lone surrogate (`"\ud83d"`) is legal and stays lone.
//! - Duplicate keys keep the first position and the last value; `__proto__` is
//!   an ordinary own key; numbers beyond the double range become ±Infinity.
//! - The reviver runs bottom-up, on each object as it closes.
//! - Parsing is iterative and stops at [`MAX_DEPTH`], so no input can exhaust
//!   the stack; Node's own reviver walk throws a RangeError at about 2,500
//!   levels, so no file Baileys can read is refused.

use std::borrow::Cow;
use std::collections::HashMap;
use std::fmt;

use super::js_string::JsString;
use super::revive_error::ReviveError;
use super::reviver::{revive_object, Flavor};
use super::value::{Object, Value};

/// The deepest nesting read or written. Baileys' own reader fails (RangeError)
/// from about 2,500 levels, its writer from about 4,500.
pub const MAX_DEPTH: usize = 2048;

#[derive(Debug, Clone, PartialEq)]
pub enum ParseError {
  /// The text is not JSON. `offset` is a byte offset in the file.
  Syntax { message: &'static str, offset: usize },
  /// Valid so far, but nested deeper than [`MAX_DEPTH`].
  TooDeep,
  /// The reviver of the chosen flavor throws on this value (only v6's can).
  Revive(ReviveError),
}

impl fmt::Display for ParseError {
  fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
    match self {
      ParseError::Syntax { message, offset } => write!(f, "{message} at byte {offset}"),
      ParseError::TooDeep => write!(f, "JSON nested deeper than {MAX_DEPTH} levels"),
      ParseError::Revive(e) => write!(f, "{e}"),
    }
  }
}

impl std::error::Error for ParseError {}

/// Decodes and parses a whole file.
pub fn parse_file(bytes: &[u8], flavor: Flavor) -> Result<Value, ParseError> {
  // Valid UTF-8 (every file we write) is checked with the fast validator
  // and borrowed; only invalid input pays for the replacing decoder.
  let text: Cow<str> = match std::str::from_utf8(bytes) {
    Ok(s) => Cow::Borrowed(s),
    Err(_) => String::from_utf8_lossy(bytes),
  };
  Parser { text: &text, b: text.as_bytes(), pos: 0, flavor }.parse()
}

// A revive error is not returned at once (fix found by the differential
// tests): `JSON.parse` parses the whole text before its reviver runs, so a
// syntax error anywhere wins over a reviver error, and a value replaced by a
// later duplicate key is never revived at all. Each value being built carries
// the reviver error of its subtree (`poison`), an object keeps the errors of
// the entries it still holds, and only an error that reaches the root of a
// syntactically valid text is returned.
enum Frame {
  Array { items: Vec<Value>, poison: Option<ReviveError> },
  Object { obj: Object, index: Option<HashMap<JsString, usize>>, key: JsString, poison: Vec<(usize, ReviveError)> },
}

struct Parser<'a> {
  text: &'a str,
  b: &'a [u8],
  pos: usize,
  flavor: Flavor,
}

impl Parser<'_> {
  fn err(&self, message: &'static str) -> ParseError {
    let message = if self.pos >= self.b.len() { "Unexpected end of JSON input" } else { message };
    ParseError::Syntax { message, offset: self.pos }
  }

  fn skip_ws(&mut self) {
    while self.pos < self.b.len() && matches!(self.b[self.pos], b' ' | b'\t' | b'\n' | b'\r') {
      self.pos += 1;
    }
  }

  fn peek(&self) -> Option<u8> {
    self.b.get(self.pos).copied()
  }

  fn parse(mut self) -> Result<Value, ParseError> {
    let mut stack: Vec<Frame> = Vec::new();
    'value: loop {
      self.skip_ws();
      let mut poison: Option<ReviveError> = None;
      let mut value = match self.peek() {
        Some(b'{') => {
          self.pos += 1;
          self.skip_ws();
          if self.peek() == Some(b'}') {
            self.pos += 1;
            let (v, e) = self.revive(Object::new());
            poison = e;
            v
          } else {
            if stack.len() >= MAX_DEPTH {
              return Err(ParseError::TooDeep);
            }
            let key = self.key()?;
            stack.push(Frame::Object { obj: Object::new(), index: None, key, poison: Vec::new() });
            continue 'value;
          }
        }
        Some(b'[') => {
          self.pos += 1;
          self.skip_ws();
          if self.peek() == Some(b']') {
            self.pos += 1;
            Value::Array(Vec::new())
          } else {
            if stack.len() >= MAX_DEPTH {
              return Err(ParseError::TooDeep);
            }
            stack.push(Frame::Array { items: Vec::new(), poison: None });
            continue 'value;
          }
        }
        Some(b'"') => Value::String(self.string()?),
        Some(b't') => self.literal(b"true", Value::Bool(true))?,
        Some(b'f') => self.literal(b"false", Value::Bool(false))?,
        Some(b'n') => self.literal(b"null", Value::Null)?,
        Some(b'-' | b'0'..=b'9') => self.number()?,
        _ => return Err(self.err("Unexpected token")),
      };
      // A value is complete: hand it to its parent, closing parents as they end.
      loop {
        match stack.last_mut() {
          None => {
            self.skip_ws();
            if self.pos != self.b.len() {
              return Err(self.err("Unexpected non-whitespace character after JSON"));
            }
            return match poison {
              Some(e) => Err(ParseError::Revive(e)),
              None => Ok(value),
            };
          }
          Some(Frame::Array { items, poison: array_poison }) => {
            items.push(value);
            if array_poison.is_none() {
              *array_poison = poison.take();
            }
            self.skip_ws();
            match self.peek() {
              Some(b',') => {
                self.pos += 1;
                continue 'value;
              }
              Some(b']') => {
                self.pos += 1;
                let Some(Frame::Array { items, poison: p }) = stack.pop() else { unreachable!() };
                value = Value::Array(items);
                poison = p;
              }
              _ => return Err(self.err("Expected ',' or ']' after array element")),
            }
          }
          Some(Frame::Object { obj, index, key, poison: entry_poison }) => {
            let at = insert_property(obj, index, std::mem::replace(key, JsString::Utf8(String::new())), value);
            // A repeated key drops the error of the value it replaces.
            entry_poison.retain(|(i, _)| *i != at);
            if let Some(e) = poison.take() {
              entry_poison.push((at, e));
            }
            self.skip_ws();
            match self.peek() {
              Some(b',') => {
                self.pos += 1;
                self.skip_ws();
                *key = self.key()?;
                continue 'value;
              }
              Some(b'}') => {
                self.pos += 1;
                let Some(Frame::Object { obj, poison: p, .. }) = stack.pop() else { unreachable!() };
                let (v, own) = self.revive(obj);
                value = v;
                poison = p.into_iter().next().map(|(_, e)| e).or(own);
              }
              _ => return Err(self.err("Expected ',' or '}' after property value")),
            }
          }
        }
      }
    }
  }

  /// The revived object, or a stand-in and the reviver's error.
  fn revive(&self, obj: Object) -> (Value, Option<ReviveError>) {
    match revive_object(obj, self.flavor) {
      Ok(v) => (v, None),
      Err(e) => (Value::Null, Some(e)),
    }
  }

  /// A property name and the `:` after it.
  fn key(&mut self) -> Result<JsString, ParseError> {
    if self.peek() != Some(b'"') {
      return Err(self.err("Expected property name"));
    }
    let key = self.string()?;
    self.skip_ws();
    if self.peek() != Some(b':') {
      return Err(self.err("Expected ':' after property name"));
    }
    self.pos += 1;
    Ok(key)
  }

  fn literal(&mut self, word: &[u8], value: Value) -> Result<Value, ParseError> {
    if self.b[self.pos..].starts_with(word) {
      self.pos += word.len();
      Ok(value)
    } else {
      Err(self.err("Unexpected token"))
    }
  }

  fn number(&mut self) -> Result<Value, ParseError> {
    let start = self.pos;
    let b = self.b;
    let mut i = self.pos;
    if b[i] == b'-' {
      i += 1;
    }
    match b.get(i) {
      Some(b'0') => i += 1,
      Some(b'1'..=b'9') => {
        while i < b.len() && b[i].is_ascii_digit() {
          i += 1;
        }
      }
      _ => {
        self.pos = i;
        return Err(self.err("No number after minus sign"));
      }
    }
    if b.get(i) == Some(&b'.') {
      i += 1;
      let digits_start = i;
      while i < b.len() && b[i].is_ascii_digit() {
        i += 1;
      }
      if i == digits_start {
        self.pos = i;
        return Err(self.err("Unterminated fractional number"));
      }
    }
    if matches!(b.get(i), Some(b'e' | b'E')) {
      i += 1;
      if matches!(b.get(i), Some(b'+' | b'-')) {
        i += 1;
      }
      let digits_start = i;
      while i < b.len() && b[i].is_ascii_digit() {
        i += 1;
      }
      if i == digits_start {
        self.pos = i;
        return Err(self.err("Exponent part is missing a number"));
      }
    }
    self.pos = i;
    // The slice is ASCII and matches the JSON number grammar, which Rust's
    // correctly rounded parser accepts; overflow gives ±infinity as in JS.
    let text = std::str::from_utf8(&b[start..i]).map_err(|_| self.err("Unexpected token"))?;
    text.parse::<f64>().map(Value::Number).map_err(|_| self.err("Unexpected token"))
  }

  fn string(&mut self) -> Result<JsString, ParseError> {
    self.pos += 1; // opening quote
    let b = self.b;
    let start = self.pos;
    // Fast path: no escape before the closing quote. (Base64 strings of
    // sessions run to kilobytes: find the quote with memchr, then check the
    // run for control characters in one branch-free pass.)
    let i = match memchr::memchr2(b'"', b'\\', &b[start..]) {
      Some(k) if b[start..start + k].iter().fold(true, |ok, &c| ok & (c >= 0x20)) => start + k,
      _ => {
        let mut i = start;
        while i < b.len() && b[i] != b'"' && b[i] != b'\\' && b[i] >= 0x20 {
          i += 1;
        }
        i
      }
    };
    if i < b.len() && b[i] == b'"' {
      self.pos = i + 1;
      return Ok(JsString::Utf8(self.slice(start, i).to_owned()));
    }
    let mut out = StringBuilder::Utf8(self.slice(start, i).as_bytes().to_vec());
    self.pos = i;
    loop {
      let Some(c) = self.peek() else {
        return Err(self.err("Unterminated string in JSON"));
      };
      match c {
        b'"' => {
          self.pos += 1;
          return Ok(out.finish());
        }
        b'\\' => {
          self.pos += 1;
          let Some(e) = self.peek() else {
            return Err(self.err("Unterminated string in JSON"));
          };
          self.pos += 1;
          match e {
            b'"' => out.push_ascii(b'"'),
            b'\\' => out.push_ascii(b'\\'),
            b'/' => out.push_ascii(b'/'),
            b'b' => out.push_ascii(0x08),
            b'f' => out.push_ascii(0x0C),
            b'n' => out.push_ascii(b'\n'),
            b'r' => out.push_ascii(b'\r'),
            b't' => out.push_ascii(b'\t'),
            b'u' => {
              let unit = self.hex4()?;
              if (0xD800..0xDC00).contains(&unit) && b[self.pos..].starts_with(b"\\u") {
                let save = self.pos;
                self.pos += 2;
                let low = self.hex4()?;
                if (0xDC00..0xE000).contains(&low) {
                  out.push_pair(unit, low);
                  continue;
                }
                self.pos = save;
              }
              out.push_unit(unit);
            }
            _ => {
              self.pos -= 1;
              return Err(self.err("Bad escaped character in JSON"));
            }
          }
        }
        0x00..=0x1F => return Err(self.err("Bad control character in string literal in JSON")),
        _ => {
          let run_start = self.pos;
          while self.pos < b.len() && b[self.pos] != b'"' && b[self.pos] != b'\\' && b[self.pos] >= 0x20 {
            self.pos += 1;
          }
          out.push_utf8(&b[run_start..self.pos]);
        }
      }
    }
  }

  fn hex4(&mut self) -> Result<u16, ParseError> {
    let mut v: u16 = 0;
    for _ in 0..4 {
      let d = match self.peek() {
        Some(c @ b'0'..=b'9') => c - b'0',
        Some(c @ b'a'..=b'f') => c - b'a' + 10,
        Some(c @ b'A'..=b'F') => c - b'A' + 10,
        _ => return Err(self.err("Bad Unicode escape in JSON")),
      };
      v = (v << 4) | d as u16;
      self.pos += 1;
    }
    Ok(v)
  }
}

impl Parser<'_> {
  /// A piece of the text. Every slice taken starts and ends next to an ASCII
  /// delimiter, so it is always on character boundaries.
  fn slice(&self, start: usize, end: usize) -> &str {
    self.text.get(start..end).unwrap_or("")
  }
}

/// Builds a string as UTF-8 until a lone surrogate turns up, then as UTF-16.
enum StringBuilder {
  Utf8(Vec<u8>),
  Utf16(Vec<u16>),
}

impl StringBuilder {
  fn push_ascii(&mut self, c: u8) {
    match self {
      StringBuilder::Utf8(v) => v.push(c),
      StringBuilder::Utf16(v) => v.push(c as u16),
    }
  }

  fn push_utf8(&mut self, bytes: &[u8]) {
    match self {
      StringBuilder::Utf8(v) => v.extend_from_slice(bytes),
      StringBuilder::Utf16(v) => v.extend(String::from_utf8_lossy(bytes).encode_utf16()),
    }
  }

  fn push_pair(&mut self, high: u16, low: u16) {
    match self {
      StringBuilder::Utf8(v) => {
        let cp = 0x10000 + (((high as u32) - 0xD800) << 10) + (low as u32 - 0xDC00);
        let ch = char::from_u32(cp).unwrap_or('\u{FFFD}');
        let mut buf = [0u8; 4];
        v.extend_from_slice(ch.encode_utf8(&mut buf).as_bytes());
      }
      StringBuilder::Utf16(v) => {
        v.push(high);
        v.push(low);
      }
    }
  }

  fn push_unit(&mut self, unit: u16) {
    if let StringBuilder::Utf8(v) = self {
      match char::from_u32(unit as u32) {
        Some(ch) => {
          let mut buf = [0u8; 4];
          v.extend_from_slice(ch.encode_utf8(&mut buf).as_bytes());
          return;
        }
        None => {
          // A lone surrogate: switch to UTF-16 for the rest of this string.
          let units: Vec<u16> = String::from_utf8_lossy(v).encode_utf16().collect();
          *self = StringBuilder::Utf16(units);
        }
      }
    }
    if let StringBuilder::Utf16(v) = self {
      v.push(unit);
    }
  }

  fn finish(self) -> JsString {
    match self {
      StringBuilder::Utf8(v) => JsString::Utf8(String::from_utf8(v).unwrap_or_else(|e| String::from_utf8_lossy(e.as_bytes()).into_owned())),
      StringBuilder::Utf16(v) => JsString::from_utf16(v),
    }
  }
}

/// Adds a property, or for a repeated key replaces the value in place
/// (`JSON.parse` keeps the first position and the last value).
/// Returns the entry's index.
fn insert_property(obj: &mut Object, index: &mut Option<HashMap<JsString, usize>>, key: JsString, value: Value) -> usize {
  const LINEAR_SCAN_LIMIT: usize = 16;
  if index.is_none() && obj.entries.len() >= LINEAR_SCAN_LIMIT {
    *index = Some(obj.entries.iter().enumerate().map(|(i, (k, _))| (k.clone(), i)).collect());
  }
  let existing = match index {
    Some(map) => map.get(&key).copied(),
    None => obj.entries.iter().position(|(k, _)| *k == key),
  };
  match existing {
    Some(i) => {
      obj.entries[i].1 = value;
      i
    }
    None => {
      if let Some(map) = index {
        map.insert(key.clone(), obj.entries.len());
      }
      obj.entries.push((key, value));
      obj.entries.len() - 1
    }
  }
}

#[cfg(test)]
mod tests {
  use super::*;

  fn p(s: &str) -> Result<Value, ParseError> {
    parse_file(s.as_bytes(), Flavor::V7)
  }

  #[test]
  fn parses_plain_json() {
    let v = p(r#" {"a":[1,-0,2.5e3,true,null,"x\n\u00e9"],"b":{}} "#).unwrap();
    let o = v.as_object().unwrap();
    assert_eq!(
      o.get("a").unwrap(),
      &Value::Array(vec![
        Value::Number(1.0),
        Value::Number(-0.0),
        Value::Number(2500.0),
        Value::Bool(true),
        Value::Null,
        Value::str("x\né"),
      ])
    );
  }

  #[test]
  fn duplicate_keys_keep_first_position_last_value() {
    let v = p(r#"{"a":1,"b":2,"a":3}"#).unwrap();
    let o = v.as_object().unwrap();
    assert_eq!(o.entries.len(), 2);
    assert_eq!(o.entries[0], (JsString::from("a"), Value::Number(3.0)));
  }

  #[test]
  fn lone_surrogates_survive() {
    let v = p(r#""\ud83d\ude00\ud83d""#).unwrap();
    assert_eq!(v, Value::String(JsString::Utf16(vec![0xD83D, 0xDE00, 0xD83D])));
    let v = p(r#""\ud83dx""#).unwrap();
    assert_eq!(v, Value::String(JsString::Utf16(vec![0xD83D, 0x78])));
  }

  #[test]
  fn rejects_what_json_parse_rejects() {
    for bad in [
      "",
      " ",
      "\u{FEFF}{}",
      "{",
      "[1,]",
      "{\"a\":1,}",
      "01",
      "1.",
      ".5",
      "+1",
      "'a'",
      "\"\t\"",
      "\"\\x\"",
      "tru",
      "nul",
      "[] x",
      "NaN",
      "\"\\u12\"",
    ] {
      assert!(p(bad).is_err(), "{bad:?} should fail");
    }
  }

  #[test]
  fn big_numbers_become_infinity() {
    assert_eq!(p("1e400").unwrap(), Value::Number(f64::INFINITY));
    assert_eq!(p("-1e400").unwrap(), Value::Number(f64::NEG_INFINITY));
  }

  #[test]
  fn invalid_utf8_is_replaced() {
    let v = parse_file(b"\"a\xffb\"", Flavor::V7).unwrap();
    assert_eq!(v, Value::str("a\u{FFFD}b"));
  }

  /// Found by the differential tests: JSON.parse parses the whole text before
  /// its reviver runs, so a syntax error wins over a v6 reviver error, and a
  /// value replaced by a later duplicate key is never revived.
  #[test]
  fn reviver_errors_come_after_syntax_and_skip_replaced_values() {
    let v6 = |s: &str| parse_file(s.as_bytes(), Flavor::V6);
    // The reviver would throw on the first object, but the text is not JSON.
    assert!(matches!(v6(r#"[{"type":"Buffer","data":5}, x]"#), Err(ParseError::Syntax { .. })));
    assert!(matches!(v6(r#"[{"type":"Buffer","data":5}"#), Err(ParseError::Syntax { .. })));
    // The throwing value is replaced by a duplicate key: nothing throws.
    let v = v6(r#"{"5":{"data":{},"type":"Buffer"},"5":0}"#).unwrap();
    assert_eq!(v.as_object().unwrap().entries, vec![(JsString::from("5"), Value::Number(0.0))]);
    // Replaced by a throwing value: throws. Nested anywhere: throws.
    assert!(matches!(v6(r#"{"a":1,"a":{"type":"Buffer","data":true}}"#), Err(ParseError::Revive(_))));
    assert!(matches!(v6(r#"[[{"a":[{"type":"Buffer","data":5}]}],1]"#), Err(ParseError::Revive(_))));
    assert!(matches!(v6(r#"{"x":{"y":{"type":"Buffer","data":5},"y":1},"z":{"buffer":true,"value":{}}}"#), Err(ParseError::Revive(_))));
    assert!(v6(r#"{"x":{"y":{"type":"Buffer","data":5},"y":1}}"#).is_ok());
  }

  #[test]
  fn depth_is_bounded() {
    let deep = "[".repeat(200_000) + &"]".repeat(200_000);
    assert_eq!(p(&deep), Err(ParseError::TooDeep));
    let ok = "[".repeat(MAX_DEPTH) + &"]".repeat(MAX_DEPTH);
    assert!(p(&ok).is_ok());
    let obj = "{\"a\":".repeat(200_000) + "1" + &"}".repeat(200_000);
    assert_eq!(p(&obj), Err(ParseError::TooDeep));
  }
}
