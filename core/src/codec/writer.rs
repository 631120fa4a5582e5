//! Value → file bytes, equal to `JSON.stringify(value, BufferJSON.replacer)`
//! written by `fs.writeFile` (UTF-8).
//!
//! The JavaScript-side decisions of that call (which keys, `toJSON`, the
//! replacer's Buffer test, `undefined` and functions) are made by the napi
//! layer while it walks the value; what reaches this module is already the
//! final JSON data, with every Buffer as [`Value::Bytes`].

use super::js_number::format_number;
use super::js_string::JsString;
use super::node_base64;
use super::value::Value;

/// Serializes a value the way Baileys' writer does, appending to `out`.
pub fn write_json(value: &Value, out: &mut Vec<u8>) {
  match value {
    Value::Undefined | Value::Null => out.extend_from_slice(b"null"),
    Value::Bool(true) => out.extend_from_slice(b"true"),
    Value::Bool(false) => out.extend_from_slice(b"false"),
    Value::Number(n) => {
      if n.is_finite() {
        out.extend_from_slice(format_number(*n).as_bytes());
      } else {
        out.extend_from_slice(b"null");
      }
    }
    Value::String(s) => write_string(s, out),
    Value::Bytes(bytes) => {
      // What the replacer makes of a Buffer: {type:'Buffer', data:<base64>}.
      out.extend_from_slice(b"{\"type\":\"Buffer\",\"data\":\"");
      out.extend_from_slice(node_base64::encode(bytes).as_bytes());
      out.extend_from_slice(b"\"}");
    }
    Value::Array(items) => {
      out.push(b'[');
      for (i, item) in items.iter().enumerate() {
        if i > 0 {
          out.push(b',');
        }
        write_json(item, out);
      }
      out.push(b']');
    }
    Value::Object(obj) => {
      out.push(b'{');
      let mut first = true;
      for (key, item) in obj.entries.iter() {
        if matches!(item, Value::Undefined) {
          continue;
        }
        if !first {
          out.push(b',');
        }
        first = false;
        write_string(key, out);
        out.push(b':');
        write_json(item, out);
      }
      out.push(b'}');
    }
  }
}

/// The whole file for one value.
pub fn to_json_bytes(value: &Value) -> Vec<u8> {
  let mut out = Vec::with_capacity(256);
  write_json(value, &mut out);
  out
}

/// QuoteJSONString: `"`, `\` and the short escapes, other code units below
/// 0x20 and lone surrogates as `\u` and four lowercase hex digits (`\u001f`,
/// `\ud800`); everything else (including `/`, U+2028 and U+2029) as UTF-8.
fn write_string(s: &JsString, out: &mut Vec<u8>) {
  out.push(b'"');
  match s {
    JsString::Utf8(text) => {
      let bytes = text.as_bytes();
      let mut start = 0;
      for (i, &b) in bytes.iter().enumerate() {
        if b < 0x20 || b == b'"' || b == b'\\' {
          out.extend_from_slice(&bytes[start..i]);
          write_escape(b as u16, out);
          start = i + 1;
        }
      }
      out.extend_from_slice(&bytes[start..]);
    }
    JsString::Utf16(units) => {
      let mut i = 0;
      while i < units.len() {
        let c = units[i];
        if (0xD800..0xDC00).contains(&c) && i + 1 < units.len() && (0xDC00..0xE000).contains(&units[i + 1]) {
          let cp = 0x10000 + (((c as u32) - 0xD800) << 10) + (units[i + 1] as u32 - 0xDC00);
          push_char(char::from_u32(cp).unwrap_or('\u{FFFD}'), out);
          i += 2;
          continue;
        }
        if c < 0x20 || c == b'"' as u16 || c == b'\\' as u16 || (0xD800..0xE000).contains(&c) {
          write_escape(c, out);
        } else {
          push_char(char::from_u32(c as u32).unwrap_or('\u{FFFD}'), out);
        }
        i += 1;
      }
    }
  }
  out.push(b'"');
}

fn push_char(ch: char, out: &mut Vec<u8>) {
  let mut buf = [0u8; 4];
  out.extend_from_slice(ch.encode_utf8(&mut buf).as_bytes());
}

fn write_escape(c: u16, out: &mut Vec<u8>) {
  match c {
    0x08 => out.extend_from_slice(b"\\b"),
    0x09 => out.extend_from_slice(b"\\t"),
    0x0A => out.extend_from_slice(b"\\n"),
    0x0C => out.extend_from_slice(b"\\f"),
    0x0D => out.extend_from_slice(b"\\r"),
    0x22 => out.extend_from_slice(b"\\\""),
    0x5C => out.extend_from_slice(b"\\\\"),
    _ => {
      const HEX: &[u8; 16] = b"0123456789abcdef";
      out.extend_from_slice(b"\\u");
      for shift in [12, 8, 4, 0] {
        out.push(HEX[((c >> shift) & 0xF) as usize]);
      }
    }
  }
}

#[cfg(test)]
mod tests {
  use super::*;
  use crate::codec::value::Object;

  fn s(v: &Value) -> String {
    String::from_utf8(to_json_bytes(v)).unwrap()
  }

  #[test]
  fn writes_buffers_as_baileys_does() {
    let mut o = Object::new();
    o.push("public", Value::Bytes(vec![1, 2, 3]));
    assert_eq!(s(&Value::Object(o)), r#"{"public":{"type":"Buffer","data":"AQID"}}"#);
  }

  #[test]
  fn escapes_like_json_stringify() {
    let v = Value::str("a\"b\\c\u{8}\u{c}\n\r\t\u{1}/\u{2028}é😀");
    assert_eq!(s(&v), "\"a\\\"b\\\\c\\b\\f\\n\\r\\t\\u0001/\u{2028}é😀\"");
    let lone = Value::String(JsString::Utf16(vec![0x61, 0xD83D, 0xDE00, 0xDC00, 0xD800]));
    assert_eq!(s(&lone), "\"a😀\\udc00\\ud800\"");
  }

  #[test]
  fn numbers_use_javascript_format() {
    let v = Value::Array(vec![
      Value::Number(1e21),
      Value::Number(f64::NAN),
      Value::Number(f64::NEG_INFINITY),
      Value::Number(-0.0),
      Value::Number(0.1 + 0.2),
    ]);
    assert_eq!(s(&v), "[1e+21,null,null,0,0.30000000000000004]");
  }
}
