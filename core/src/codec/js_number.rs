//! JavaScript number semantics that the Baileys format depends on:
//! `Number#toString` (what `JSON.stringify` writes), `ToNumber` of a string,
//! the integer conversions typed arrays and `>>> 0` apply, and `parseInt`.

/// Characters that JavaScript's `String.prototype.trim`, `parseInt` and
/// `Number()` treat as white space (WhiteSpace and LineTerminator).
pub fn is_js_whitespace(c: u16) -> bool {
  matches!(
    c,
    0x09 | 0x0A | 0x0B | 0x0C | 0x0D | 0x20 | 0xA0 | 0x1680 | 0x2000..=0x200A | 0x2028 | 0x2029 | 0x202F | 0x205F | 0x3000 | 0xFEFF
  )
}

/// `String(n)` for a finite number: the shortest round-trip digits in the
/// ECMAScript layout (`1e+21`, `1.5e-7`, `123456789012345680000`, `-0` → `0`).
pub fn format_number(n: f64) -> String {
  if n == 0.0 {
    return "0".to_owned();
  }
  let mut buf = ryu_js::Buffer::new();
  buf.format(n).to_owned()
}

/// `ToUint8`: what a `Uint8Array` (and so `Buffer.from(array)`) stores for `n`.
pub fn to_uint8(n: f64) -> u8 {
  to_integer_mod_2_32(n) as u8
}

/// `ToUint32`: what `n >>> 0` gives.
pub fn to_uint32(n: f64) -> u32 {
  to_integer_mod_2_32(n)
}

/// `ToInt32`: what `n | 0` gives.
pub fn to_int32(n: f64) -> i32 {
  to_integer_mod_2_32(n) as i32
}

fn to_integer_mod_2_32(n: f64) -> u32 {
  if !n.is_finite() {
    return 0;
  }
  let t = n.trunc();
  // Above 2^84 every double is a multiple of 2^32; below it i128 is exact.
  if t.abs() >= 2f64.powi(84) {
    return 0;
  }
  (t as i128).rem_euclid(1 << 32) as u32
}

/// `parseInt(s, 10)` is not `NaN`: after leading white space and an optional
/// sign there is at least one decimal digit. (`"1a"`, `" 1"` and `"-1"` pass.)
pub fn parse_int_gives_number(units: &[u16]) -> bool {
  parse_int_gives_number_iter(units.iter().copied())
}

/// [`parse_int_gives_number`] over any sequence of code units (no allocation).
pub fn parse_int_gives_number_iter(mut units: impl Iterator<Item = u16>) -> bool {
  let mut c = units.next();
  while matches!(c, Some(u) if is_js_whitespace(u)) {
    c = units.next();
  }
  if matches!(c, Some(u) if u == b'+' as u16 || u == b'-' as u16) {
    c = units.next();
  }
  matches!(c, Some(u) if (b'0' as u16..=b'9' as u16).contains(&u))
}

/// `Number(s)` (the abstract operation StringToNumber).
pub fn string_to_number(units: &[u16]) -> f64 {
  let mut start = 0;
  let mut end = units.len();
  while start < end && is_js_whitespace(units[start]) {
    start += 1;
  }
  while end > start && is_js_whitespace(units[end - 1]) {
    end -= 1;
  }
  let s = &units[start..end];
  if s.is_empty() {
    return 0.0;
  }
  if !s.iter().all(|&c| c < 0x80) {
    return f64::NAN;
  }
  let text: String = s.iter().map(|&c| c as u8 as char).collect();
  let b = text.as_bytes();
  if b.len() > 2 && b[0] == b'0' {
    let radix_bits = match b[1] {
      b'x' | b'X' => Some(4),
      b'o' | b'O' => Some(3),
      b'b' | b'B' => Some(1),
      _ => None,
    };
    if let Some(bits) = radix_bits {
      return parse_power_of_two_radix(&b[2..], bits);
    }
  }
  let (sign, body) = match b[0] {
    b'+' => (1.0, &text[1..]),
    b'-' => (-1.0, &text[1..]),
    _ => (1.0, &text[..]),
  };
  if body == "Infinity" {
    return sign * f64::INFINITY;
  }
  if !is_str_unsigned_decimal_literal(body.as_bytes()) {
    return f64::NAN;
  }
  // Rust's float parser is correctly rounded, as V8's is, and gives
  // infinity beyond the double range.
  match body.parse::<f64>() {
    Ok(v) => sign * v,
    Err(_) => f64::NAN,
  }
}

/// StrUnsignedDecimalLiteral without `Infinity`: `1`, `1.`, `1.5`, `.5`, each with an optional exponent.
fn is_str_unsigned_decimal_literal(b: &[u8]) -> bool {
  let mut i = 0;
  let int_digits = count_digits(&b[i..]);
  i += int_digits;
  let mut frac_digits = 0;
  if i < b.len() && b[i] == b'.' {
    i += 1;
    frac_digits = count_digits(&b[i..]);
    i += frac_digits;
  }
  if int_digits == 0 && frac_digits == 0 {
    return false;
  }
  if i < b.len() && (b[i] == b'e' || b[i] == b'E') {
    i += 1;
    if i < b.len() && (b[i] == b'+' || b[i] == b'-') {
      i += 1;
    }
    let exp_digits = count_digits(&b[i..]);
    if exp_digits == 0 {
      return false;
    }
    i += exp_digits;
  }
  i == b.len()
}

fn count_digits(b: &[u8]) -> usize {
  b.iter().take_while(|c| c.is_ascii_digit()).count()
}

/// A `0x` / `0o` / `0b` literal's digits, rounded to the nearest double (ties to even).
fn parse_power_of_two_radix(digits: &[u8], bits_per_digit: u32) -> f64 {
  let radix = 1u32 << bits_per_digit;
  let mut mantissa: u64 = 0; // the first (up to) 54 significant bits
  let mut mantissa_bits: u32 = 0;
  let mut dropped_bits: u32 = 0; // significant bits beyond those 54
  let mut sticky = false; // any 1 among the dropped bits
  for &d in digits {
    let v = match (d as char).to_digit(radix) {
      Some(v) => v,
      None => return f64::NAN,
    };
    for shift in (0..bits_per_digit).rev() {
      let bit = (v >> shift) & 1;
      if mantissa_bits == 0 && bit == 0 {
        continue; // leading zero
      }
      if mantissa_bits < 54 {
        mantissa = (mantissa << 1) | bit as u64;
        mantissa_bits += 1;
      } else {
        dropped_bits += 1;
        sticky |= bit == 1;
      }
    }
  }
  if mantissa_bits <= 53 {
    return mantissa as f64;
  }
  // 54 bits kept: the lowest is the rounding bit.
  let round_bit = mantissa & 1;
  let mut m = mantissa >> 1;
  let mut exponent = dropped_bits + 1;
  if round_bit == 1 && (sticky || m & 1 == 1) {
    m += 1;
    if m == 1 << 53 {
      m >>= 1;
      exponent += 1;
    }
  }
  if exponent > 1023 {
    return f64::INFINITY;
  }
  m as f64 * 2f64.powi(exponent as i32)
}

#[cfg(test)]
mod tests {
  use super::*;

  fn num(s: &str) -> f64 {
    string_to_number(&s.encode_utf16().collect::<Vec<_>>())
  }

  #[test]
  fn formats_like_number_to_string() {
    assert_eq!(format_number(1e21), "1e+21");
    assert_eq!(format_number(1.5e-7), "1.5e-7");
    assert_eq!(format_number(5e-324), "5e-324");
    assert_eq!(format_number(123456789012345680000.0), "123456789012345680000");
    assert_eq!(format_number(-0.0), "0");
    assert_eq!(format_number(0.1), "0.1");
    assert_eq!(format_number(-1.0), "-1");
    assert_eq!(format_number(1e-6), "0.000001");
    assert_eq!(format_number(1e-7), "1e-7");
  }

  #[test]
  fn converts_like_typed_arrays() {
    assert_eq!(to_uint8(-1.0), 255);
    assert_eq!(to_uint8(256.0), 0);
    assert_eq!(to_uint8(1.9), 1);
    assert_eq!(to_uint8(-1.5), 255);
    assert_eq!(to_uint8(f64::NAN), 0);
    assert_eq!(to_uint8(f64::INFINITY), 0);
    assert_eq!(to_uint8(2f64.powi(60) + 2f64.powi(9)), 0);
    assert_eq!(to_uint32(-1.0), u32::MAX);
    assert_eq!(to_uint32(4294967296.0 + 5.0), 5);
  }

  #[test]
  fn string_to_number_follows_the_grammar() {
    assert_eq!(num(""), 0.0);
    assert_eq!(num("  12 \n"), 12.0);
    assert_eq!(num("0x10"), 16.0);
    assert_eq!(num("0b101"), 5.0);
    assert_eq!(num("0o17"), 15.0);
    assert!(num("-0x10").is_nan());
    assert_eq!(num("1e2"), 100.0);
    assert_eq!(num(".5"), 0.5);
    assert_eq!(num("5."), 5.0);
    assert!(num(".").is_nan());
    assert!(num("1e").is_nan());
    assert!(num("inf").is_nan());
    assert!(num("NaN").is_nan());
    assert_eq!(num("-Infinity"), f64::NEG_INFINITY);
    assert_eq!(num("1e400"), f64::INFINITY);
    assert!(num("1_000").is_nan());
    assert_eq!(num("0x1fffffffffffff"), 9007199254740991.0);
    // 2^53 + 1 rounds to even (2^53); 2^53 + 3 rounds up to 2^53 + 4.
    assert_eq!(num("0x20000000000001"), 9007199254740992.0);
    assert_eq!(num("0x20000000000003"), 9007199254740996.0);
  }

  #[test]
  fn parse_int_validity() {
    let ok = |s: &str| parse_int_gives_number(&s.encode_utf16().collect::<Vec<_>>());
    assert!(ok("1a"));
    assert!(ok(" 1"));
    assert!(ok("-1"));
    assert!(ok("\u{FEFF}7"));
    assert!(!ok("a1"));
    assert!(!ok("-"));
    assert!(!ok(""));
    assert!(!ok("Infinity"));
  }
}
