//! What `proto.Message.AppStateSyncKeyData.fromObject(value)` makes of a
//! stored `app-state-sync-key`, for callers who do not pass Baileys' `proto`.
//!
//! Baileys stores the message through its `toJSON` form
//! (`{"keyData":"<base64>","fingerprint":{..},"timestamp":"<decimal>"}`) and
//! revives it with `fromObject`, which turns `keyData` back into bytes (app
//! state sync needs bytes there) and `timestamp` into a `Long`. We give the
//! same own properties as a plain object: `keyData` a Buffer, `fingerprint`
//! with its integers as `>>> 0` makes them, `timestamp` a Long-shaped
//! `{low, high, unsigned}`. Where the generated `fromObject` throws, so do we.

use super::js_convert::to_number;
use super::js_number::is_js_whitespace;
use super::js_number::{parse_int_gives_number, to_int32, to_uint32};
use super::js_string::JsString;
use super::revive_error::ReviveError;
use super::reviver::Flavor;
use super::value::{Object, Value};

const INVALID_ENCODING: ReviveError = ReviveError { message: "invalid encoding" };
const FINGERPRINT_NOT_OBJECT: ReviveError = ReviveError { message: ".proto.Message.AppStateSyncKeyData.fingerprint: object expected" };
const DEVICE_INDEXES_NOT_ARRAY: ReviveError =
  ReviveError { message: ".proto.Message.AppStateSyncKeyFingerprint.deviceIndexes: array expected" };

/// `AppStateSyncKeyData.fromObject(value)` as a plain object.
pub fn from_object(value: &Value, flavor: Flavor) -> Result<Value, ReviveError> {
  let mut out = Object::new();
  let Value::Object(d) = value else {
    // A primitive, an array or a Buffer has none of the fields.
    return Ok(Value::Object(out));
  };
  if let Some(key_data) = present(d.get("keyData")) {
    match key_data {
      Value::String(s) => out.push("keyData", Value::Bytes(protobuf_base64_decode(s)?)),
      other => {
        if let Some(len) = js_length(other) {
          // v7 keeps any value with `length >= 0`, v6 one with a truthy length.
          let keep = if flavor == Flavor::V6 { len != 0.0 && !len.is_nan() } else { len >= 0.0 };
          if keep {
            out.push("keyData", other.clone());
          }
        }
      }
    }
  }
  if let Some(fp) = present(d.get("fingerprint")) {
    out.push("fingerprint", fingerprint_from_object(fp)?);
  }
  if let Some(ts) = present(d.get("timestamp")) {
    let (low, high) = long_from_value(ts)?;
    let mut long = Object::new();
    long.push("low", Value::Number(low as f64));
    long.push("high", Value::Number(high as f64));
    long.push("unsigned", Value::Bool(false));
    out.push("timestamp", Value::Object(long));
  }
  Ok(Value::Object(out))
}

/// `d.field != null`.
fn present(v: Option<&Value>) -> Option<&Value> {
  match v {
    None | Some(Value::Null) => None,
    Some(v) => Some(v),
  }
}

/// `value.length` for the values that have one.
fn js_length(v: &Value) -> Option<f64> {
  match v {
    Value::Bytes(b) => Some(b.len() as f64),
    Value::Array(a) => Some(a.len() as f64),
    Value::String(s) => Some(s.js_len() as f64),
    Value::Object(o) => match o.get("length") {
      Some(Value::Number(n)) => Some(*n),
      _ => None,
    },
    _ => None,
  }
}

fn fingerprint_from_object(fp: &Value) -> Result<Value, ReviveError> {
  let mut out = Object::new();
  let fields = match fp {
    Value::Object(o) => o,
    Value::Array(_) | Value::Bytes(_) => return Ok(Value::Object(out)),
    _ => return Err(FINGERPRINT_NOT_OBJECT),
  };
  for name in ["rawId", "currentIndex"] {
    if let Some(v) = present(fields.get(name)) {
      out.push(name, Value::Number(to_uint32(to_number(v)?) as f64));
    }
  }
  if let Some(v) = fields.get("deviceIndexes") {
    if v.is_truthy() {
      let Value::Array(items) = v else {
        return Err(DEVICE_INDEXES_NOT_ARRAY);
      };
      let indexes = items.iter().map(|i| to_number(i).map(|n| Value::Number(to_uint32(n) as f64))).collect::<Result<Vec<_>, _>>()?;
      out.push("deviceIndexes", Value::Array(indexes));
    }
  }
  Ok(Value::Object(out))
}

/// protobufjs' `util.base64.decode` into a buffer of `util.base64.length` bytes:
/// standard alphabet only, a `=` after the second character of a group ends
/// it, anything else outside the alphabet throws.
fn protobuf_base64_decode(s: &JsString) -> Result<Vec<u8>, ReviveError> {
  let units = s.code_units();
  let mut out = Vec::with_capacity(units.len() * 3 / 4);
  let mut j = 0;
  let mut t: u8 = 0;
  for &c in &units {
    if c == b'=' as u16 && j > 1 {
      break;
    }
    let v = match c {
      0x41..=0x5A => c - 0x41,
      0x61..=0x7A => c - 0x61 + 26,
      0x30..=0x39 => c - 0x30 + 52,
      0x2B => 62,
      0x2F => 63,
      _ => return Err(INVALID_ENCODING),
    } as u8;
    match j {
      0 => {
        t = v;
        j = 1;
      }
      1 => {
        out.push(t << 2 | (v & 48) >> 4);
        t = v;
        j = 2;
      }
      2 => {
        out.push((t & 15) << 4 | (v & 60) >> 2);
        t = v;
        j = 3;
      }
      _ => {
        out.push((t & 3) << 6 | v);
        j = 0;
      }
    }
  }
  if j == 1 {
    return Err(INVALID_ENCODING);
  }
  // The buffer was sized by base64.length(); for well-formed input that is
  // exactly what was decoded. (protobufjs leaves any extra bytes of its
  // uninitialised buffer as they were; we leave them zero.)
  let expected = protobuf_base64_length(&units);
  out.resize(expected, 0);
  Ok(out)
}

/// protobufjs' `util.base64.length` (then truncated, as `Buffer.allocUnsafe` does).
fn protobuf_base64_length(units: &[u16]) -> usize {
  let len = units.len();
  if len == 0 {
    return 0;
  }
  let mut p = len;
  let mut n = 0usize;
  loop {
    p -= 1;
    if p % 4 > 1 && units[p] == b'=' as u16 {
      n += 1;
    } else {
      break;
    }
  }
  ((len * 3) as f64 / 4.0 - n as f64).max(0.0) as usize
}

/// `Long.fromValue(v)` then `.unsigned = false`: `(low, high)` as signed 32-bit halves.
fn long_from_value(v: &Value) -> Result<(i32, i32), ReviveError> {
  match v {
    Value::Number(n) => Ok(long_from_number(*n)),
    Value::String(s) => long_from_string(&s.code_units()),
    Value::Object(o) => {
      let part = |name| -> Result<i32, ReviveError> {
        match o.get(name) {
          Some(v) => Ok(to_int32(to_number(v)?)),
          None => Ok(0),
        }
      };
      Ok((part("low")?, part("high")?))
    }
    // Booleans, arrays and Buffers have no low/high: fromBits(undefined, undefined).
    _ => Ok((0, 0)),
  }
}

fn split(v: i64) -> (i32, i32) {
  (v as i32, (v >> 32) as i32)
}

/// `Long.fromNumber(n)` (signed).
fn long_from_number(n: f64) -> (i32, i32) {
  if n.is_nan() {
    return (0, 0);
  }
  if n <= -9223372036854775808.0 {
    return split(i64::MIN);
  }
  if n + 1.0 >= 9223372036854775808.0 {
    return split(i64::MAX);
  }
  if n < 0.0 {
    let (lo, hi) = long_from_number(-n);
    return split((((hi as i64) << 32) | (lo as u32 as i64)).wrapping_neg());
  }
  let two32 = 4294967296.0;
  (to_int32(n % two32), to_int32(n / two32))
}

/// `Long.fromString(s, false, 10)`: eight-digit chunks through `parseInt`,
/// combined with wrapping 64-bit arithmetic.
fn long_from_string(units: &[u16]) -> Result<(i32, i32), ReviveError> {
  if units.is_empty() {
    return Err(ReviveError { message: "empty string" });
  }
  let text = String::from_utf16_lossy(units);
  if matches!(text.as_str(), "NaN" | "Infinity" | "+Infinity" | "-Infinity") {
    return Ok((0, 0));
  }
  match units.iter().position(|&c| c == b'-' as u16) {
    Some(p) if p > 0 => return Err(ReviveError { message: "interior hyphen" }),
    Some(_) => {
      let (lo, hi) = long_from_string(&units[1..])?;
      let v = ((hi as i64) << 32) | (lo as u32 as i64);
      return Ok(split(v.wrapping_neg()));
    }
    None => {}
  }
  let mut result: i64 = 0;
  for chunk in units.chunks(8) {
    let value = parse_int_decimal(chunk);
    let (lo, hi) = long_from_number(value);
    let value = ((hi as i64) << 32) | (lo as u32 as i64);
    result = result.wrapping_mul(10i64.pow(chunk.len() as u32)).wrapping_add(value);
  }
  Ok(split(result))
}

/// `parseInt(s, 10)` (NaN when there is no digit).
fn parse_int_decimal(units: &[u16]) -> f64 {
  if !parse_int_gives_number(units) {
    return f64::NAN;
  }
  let mut i = 0;
  while is_js_whitespace(units[i]) {
    i += 1;
  }
  let mut sign = 1.0;
  if units[i] == b'-' as u16 || units[i] == b'+' as u16 {
    if units[i] == b'-' as u16 {
      sign = -1.0;
    }
    i += 1;
  }
  let digits: String = units[i..].iter().take_while(|&&c| (0x30..=0x39).contains(&c)).map(|&c| c as u8 as char).collect();
  sign * digits.parse::<f64>().unwrap_or(f64::NAN)
}

#[cfg(test)]
mod tests {
  use super::*;
  use crate::codec::parser::parse_file;

  fn conv(text: &str) -> Result<Value, ReviveError> {
    from_object(&parse_file(text.as_bytes(), Flavor::Any).unwrap(), Flavor::V7)
  }

  #[test]
  fn converts_the_stored_form() {
    let v =
      conv(r#"{"keyData":"AAECAw==","fingerprint":{"rawId":5,"currentIndex":-1,"deviceIndexes":[0,"1"]},"timestamp":"1700000000123"}"#)
        .unwrap();
    let o = v.as_object().unwrap();
    assert_eq!(o.get("keyData"), Some(&Value::Bytes(vec![0, 1, 2, 3])));
    let fp = o.get("fingerprint").unwrap().as_object().unwrap();
    assert_eq!(fp.get("currentIndex"), Some(&Value::Number(4294967295.0)));
    assert_eq!(fp.get("deviceIndexes"), Some(&Value::Array(vec![Value::Number(0.0), Value::Number(1.0)])));
    let ts = o.get("timestamp").unwrap().as_object().unwrap();
    // Long.fromValue("1700000000123") in the long package: low -807049093, high 395
    assert_eq!(ts.get("low"), Some(&Value::Number(-807049093.0)));
    assert_eq!(ts.get("high"), Some(&Value::Number(395.0)));
  }

  #[test]
  fn throws_where_from_object_throws() {
    assert!(conv(r#"{"keyData":"a*b"}"#).is_err());
    assert!(conv(r#"{"fingerprint":5}"#).is_err());
    assert!(conv(r#"{"fingerprint":{"deviceIndexes":{"a":1}}}"#).is_err());
    assert!(conv(r#"{"timestamp":"1-2"}"#).is_err());
  }

  #[test]
  fn negative_and_huge_timestamps_wrap_like_long() {
    assert_eq!(long_from_string(&"-1".encode_utf16().collect::<Vec<_>>()), Ok((-1, -1)));
    assert_eq!(long_from_number(-1.0), (-1, -1));
    assert_eq!(long_from_number(1e300), split(i64::MAX));
  }
}
