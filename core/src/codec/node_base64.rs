//! Base64 as Node 20 does it.
//!
//! Writing uses the standard alphabet with padding (`buf.toString('base64')`),
//! which `base64-simd` does. Reading must give exactly the bytes of
//! `Buffer.from(str, 'base64')`, which is far more lenient than any crate's
//! decoder: both alphabets, optional padding, characters outside the alphabet
//! skipped, decoding stops at a `=` that ends a group, and each UTF-16 code
//! unit is looked at through its low byte only (so `'\u0142'` reads as `'B'`).
//! The output length is also bounded the way Node bounds it. The functions
//! below follow Node 20's `lib/buffer.js` (`fromStringFast`,
//! `base64ByteLength`) and `src/base64-inl.h` (`base64_decode`), and are
//! checked against the real `Buffer.from` by the differential tests.

pub fn encode(bytes: &[u8]) -> String {
  base64_simd::STANDARD.encode_to_string(bytes)
}

/// `Buffer.from(s, 'base64')` of an ASCII string. Nearly every string Baileys
/// stored is canonical padded base64, which a strict, fast decoder reads to
/// the same bytes as Node's; anything else takes Node's own rules below. The
/// SIMD decoder cut the workers' instructions on a `get` of 2 KiB sessions by
/// more than half (callgrind) against the `base64` crate's.
pub fn decode_ascii(text: &str) -> Vec<u8> {
  match base64_simd::STANDARD.decode_to_vec(text.as_bytes()) {
    Ok(bytes) => bytes,
    Err(_) => decode(text.as_bytes()),
  }
}

/// `Buffer.from(s, 'base64')` for a string given as UTF-16 code units
/// (or as Latin-1 / ASCII bytes, which are the same code units).
pub fn decode<U: Copy + Into<u32>>(src: &[U]) -> Vec<u8> {
  let len = src.len();
  if len == 0 {
    return Vec::new();
  }
  // lib/buffer.js sizes the destination: 4 bytes a character for short
  // strings, else base64ByteLength().
  const POOL_HALF: usize = 8 * 1024 / 2;
  let dst_len = if len * 4 < POOL_HALF { len * 4 } else { js_byte_length(src) };
  let mut dst = vec![0u8; dst_len];
  let n = decode_into(&mut dst, src);
  dst.truncate(n);
  dst
}

fn unit<U: Into<u32> + Copy>(u: U) -> u32 {
  u.into()
}

/// `base64ByteLength` of lib/buffer.js: at most two trailing `=` removed, then 3/4.
fn js_byte_length<U: Copy + Into<u32>>(src: &[U]) -> usize {
  let mut bytes = src.len();
  if unit(src[bytes - 1]) == 0x3D {
    bytes -= 1;
  }
  if bytes > 1 && unit(src[bytes - 1]) == 0x3D {
    bytes -= 1;
  }
  (bytes * 3) >> 2
}

/// `base64_decoded_size` of src/base64-inl.h.
fn native_decoded_size<U: Copy + Into<u32>>(src: &[U]) -> usize {
  let mut size = src.len();
  if size < 2 {
    return 0;
  }
  if unit(src[size - 1]) == 0x3D {
    size -= 1;
    if unit(src[size - 1]) == 0x3D {
      size -= 1;
    }
  }
  if size > 1 {
    (size / 4) * 3 + (size % 4).div_ceil(2)
  } else {
    0
  }
}

/// The value of an alphabet character (both alphabets), or `None`.
/// Only the low byte of a code unit is looked at, as Node's decoder does.
fn unbase64(low_byte: u8) -> Option<u8> {
  match low_byte {
    b'A'..=b'Z' => Some(low_byte - b'A'),
    b'a'..=b'z' => Some(low_byte - b'a' + 26),
    b'0'..=b'9' => Some(low_byte - b'0' + 52),
    b'+' | b'-' => Some(62),
    b'/' | b'_' => Some(63),
    _ => None,
  }
}

fn low_byte<U: Copy + Into<u32>>(u: U) -> u8 {
  unit(u) as u8
}

/// `base64_decode_fast`: whole groups of four alphabet characters at a time,
/// falling back to the group-by-group slow path on anything else.
fn decode_into<U: Copy + Into<u32>>(dst: &mut [u8], src: &[U]) -> usize {
  let dst_len = dst.len();
  let src_len = src.len();
  let available = dst_len.min(native_decoded_size(src));
  let max_k = available / 3 * 3;
  let mut max_i = src_len / 4 * 4;
  let mut i = 0;
  let mut k = 0;
  while i < max_i && k < max_k {
    let quad = [unbase64(low_byte(src[i])), unbase64(low_byte(src[i + 1])), unbase64(low_byte(src[i + 2])), unbase64(low_byte(src[i + 3]))];
    if let [Some(a), Some(b), Some(c), Some(d)] = quad {
      dst[k] = (a << 2) | (b >> 4);
      dst[k + 1] = (b << 4) | (c >> 2);
      dst[k + 2] = (c << 6) | d;
      i += 4;
      k += 3;
    } else {
      if !decode_group_slow(dst, src, &mut i, &mut k) {
        return k;
      }
      max_i = i + (src_len - i) / 4 * 4;
    }
  }
  if i < src_len && k < dst_len {
    decode_group_slow(dst, src, &mut i, &mut k);
  }
  k
}

/// `base64_decode_group_slow`: one group, skipping characters outside the
/// alphabet; `false` means decoding stops (a `=`, the end of the input, or a full destination).
fn decode_group_slow<U: Copy + Into<u32>>(dst: &mut [u8], src: &[U], i: &mut usize, k: &mut usize) -> bool {
  let src_len = src.len();
  let dst_len = dst.len();
  let mut hi: u8 = 0;
  for step in 0..4 {
    let lo = loop {
      let c = low_byte(src[*i]);
      *i += 1;
      if let Some(v) = unbase64(c) {
        break v;
      }
      if c == b'=' || *i >= src_len {
        return false;
      }
    };
    match step {
      1 => {
        dst[*k] = (hi << 2) | (lo >> 4);
        *k += 1;
      }
      2 => {
        dst[*k] = (hi << 4) | (lo >> 2);
        *k += 1;
      }
      3 => {
        dst[*k] = (hi << 6) | lo;
        *k += 1;
      }
      _ => {}
    }
    if *i >= src_len || *k >= dst_len {
      return false;
    }
    hi = lo;
  }
  true
}

#[cfg(test)]
mod tests {
  use super::*;

  fn d(s: &str) -> Vec<u8> {
    decode(&s.encode_utf16().collect::<Vec<u16>>())
  }

  #[test]
  fn decodes_standard_and_url_safe() {
    assert_eq!(d("aGVsbG8gd29ybGQ"), b"hello world");
    assert_eq!(d("aGVsbG8="), b"hello");
    assert_eq!(d("+/+/"), d("-_-_"));
  }

  #[test]
  fn matches_node_quirks() {
    // Observed with Node 20: Buffer.from(x, 'base64').
    assert_eq!(d("aGVs\u{0142}bG8"), [0x68, 0x65, 0x6c, 0x05, 0xb1, 0xbc]);
    assert_eq!(d("aG=VsbG8"), [0x68]);
    assert_eq!(d("aGV=sbG8"), [0x68, 0x65]);
    assert_eq!(d("aGVs=bG8"), [0x68, 0x65, 0x6c]);
    assert_eq!(d("a"), Vec::<u8>::new());
    assert_eq!(d(""), Vec::<u8>::new());
  }

  #[test]
  fn fast_path_agrees_with_node_rules() {
    for s in ["", "AQ==", "AQI=", "AQID", "aGVsbG8gd29ybGQ=", "AR==", "A", "AQ", "AQ=", "-_-_", "AQ ID", "AQ==AQ=="] {
      assert_eq!(decode_ascii(s), decode(s.as_bytes()), "{s:?}");
    }
  }

  /// The fast path must never read a string differently from Node's rules:
  /// random strings near valid base64 (canonical encodings, then mutated:
  /// stray `=`, spaces, the URL-safe alphabet, non-zero trailing bits, cut
  /// padding), a million of them.
  #[test]
  fn fast_path_agrees_with_node_rules_on_random_strings() {
    const NOISE: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/=-_ \n.";
    let mut state = 0x9E37_79B9_7F4A_7C15u64;
    let mut next = move || {
      state ^= state << 13;
      state ^= state >> 7;
      state ^= state << 17;
      state
    };
    for _ in 0..1_000_000 {
      let len = (next() % 40) as usize;
      let bytes: Vec<u8> = (0..len).map(|_| next() as u8).collect();
      let mut text = encode(&bytes).into_bytes();
      for _ in 0..(next() % 3) {
        if text.is_empty() {
          break;
        }
        let at = (next() as usize) % text.len();
        match next() % 3 {
          0 => text[at] = NOISE[(next() as usize) % NOISE.len()],
          1 => text.insert(at, NOISE[(next() as usize) % NOISE.len()]),
          _ => {
            text.truncate(at);
          }
        }
      }
      let text = String::from_utf8(text).unwrap();
      assert_eq!(decode_ascii(&text), decode(text.as_bytes()), "{text:?}");
    }
  }

  #[test]
  fn encodes_with_padding() {
    assert_eq!(encode(b"hello"), "aGVsbG8=");
    assert_eq!(encode(b""), "");
  }
}
