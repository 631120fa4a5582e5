//! X25519 key pairs and XEdDSA signatures, as libsignal (and so Baileys)
//! makes and checks them, on curve25519-dalek.
//!
//! A private key is 32 random bytes kept unclamped, as Node's X25519 key
//! generation gives them (libsignal clamps on use). A public key is the 32-byte
//! Montgomery u-coordinate, without the 0x05 type byte libsignal prefixes.
//! Signatures follow the XEdDSA specification (signal.org/docs/specifications/xeddsa):
//! the Edwards key is taken with its sign bit cleared (negating the scalar
//! when needed), so libsignal's `curve.verifySignature` accepts them.

use curve25519_dalek::edwards::EdwardsPoint;
use curve25519_dalek::montgomery::MontgomeryPoint;
use curve25519_dalek::scalar::{clamp_integer, Scalar};
use sha2::{Digest, Sha512};

pub struct KeyPair {
  pub private: [u8; 32],
  pub public: [u8; 32],
}

pub fn random_bytes<const N: usize>() -> [u8; N] {
  let mut buf = [0u8; N];
  // The OS random source failing is not something a caller can recover from
  // or that any input can cause; the napi layer turns this panic into an error.
  getrandom::getrandom(&mut buf).expect("the operating system's random source failed");
  buf
}

pub fn generate_key_pair() -> KeyPair {
  key_pair_from_private(random_bytes::<32>())
}

pub fn key_pair_from_private(private: [u8; 32]) -> KeyPair {
  let public = MontgomeryPoint::mul_base_clamped(private).to_bytes();
  KeyPair { private, public }
}

/// XEdDSA signature of `message` by the X25519 `private` key, with 64 bytes of fresh randomness.
pub fn sign(private: &[u8; 32], message: &[u8]) -> [u8; 64] {
  sign_with_random(private, message, &random_bytes::<64>())
}

pub fn sign_with_random(private: &[u8; 32], message: &[u8], random: &[u8; 64]) -> [u8; 64] {
  let k = Scalar::from_bytes_mod_order(clamp_integer(*private));
  let edwards = EdwardsPoint::mul_base(&k).compress();
  let mut public_edwards = edwards.to_bytes();
  // calculate_key_pair: a = -k when the Edwards point's sign bit is set.
  let a = if public_edwards[31] & 0x80 != 0 { -k } else { k };
  public_edwards[31] &= 0x7F;

  // r = hash1(a || M || Z) mod q, hash1(X) = SHA-512(0xFE || 0xFF * 31 || X)
  let mut h1 = Sha512::new();
  let mut prefix = [0xFFu8; 32];
  prefix[0] = 0xFE;
  h1.update(prefix);
  h1.update(a.as_bytes());
  h1.update(message);
  h1.update(random);
  let r = Scalar::from_bytes_mod_order_wide(&h1.finalize().into());
  let big_r = EdwardsPoint::mul_base(&r).compress().to_bytes();

  // h = SHA-512(R || A || M) mod q; s = r + h * a mod q
  let mut h2 = Sha512::new();
  h2.update(big_r);
  h2.update(public_edwards);
  h2.update(message);
  let h = Scalar::from_bytes_mod_order_wide(&h2.finalize().into());
  let s = r + h * a;

  let mut sig = [0u8; 64];
  sig[..32].copy_from_slice(&big_r);
  sig[32..].copy_from_slice(s.as_bytes());
  sig
}

/// XEdDSA verification (used by our tests; Baileys verifies with libsignal).
pub fn verify(public: &[u8; 32], message: &[u8], sig: &[u8; 64]) -> bool {
  let Some(edwards) = MontgomeryPoint(*public).to_edwards(0) else {
    return false;
  };
  let public_edwards = edwards.compress().to_bytes();
  let mut r_bytes = [0u8; 32];
  r_bytes.copy_from_slice(&sig[..32]);
  let mut s_bytes = [0u8; 32];
  s_bytes.copy_from_slice(&sig[32..]);
  let Some(s) = Option::<Scalar>::from(Scalar::from_canonical_bytes(s_bytes)) else {
    return false;
  };
  let mut h = Sha512::new();
  h.update(r_bytes);
  h.update(public_edwards);
  h.update(message);
  let h = Scalar::from_bytes_mod_order_wide(&h.finalize().into());
  let check = EdwardsPoint::vartime_double_scalar_mul_basepoint(&h, &-edwards, &s);
  check.compress().to_bytes() == r_bytes
}

#[cfg(test)]
mod tests {
  use super::*;

  #[test]
  fn signatures_verify_and_forgeries_do_not() {
    for _ in 0..50 {
      let id = generate_key_pair();
      let mut msg = vec![5u8];
      msg.extend_from_slice(&generate_key_pair().public);
      let sig = sign(&id.private, &msg);
      assert!(verify(&id.public, &msg, &sig));
      let mut bad = sig;
      bad[10] ^= 1;
      assert!(!verify(&id.public, &msg, &bad));
      msg[3] ^= 1;
      assert!(!verify(&id.public, &msg, &sig));
    }
  }

  #[test]
  fn public_key_is_x25519_of_private() {
    // RFC 7748 section 6.1 test vector (Alice).
    let private: [u8; 32] = hex("77076d0a7318a57d3c16c17251b26645df4c2f87ebc0992ab177fba51db92c2a");
    let pair = key_pair_from_private(private);
    assert_eq!(pair.public, hex::<32>("8520f0098930a754748b7ddcb43ef75a0dbf3a0d26381af4eba4a98eaa9b4e6a"));
  }

  fn hex<const N: usize>(s: &str) -> [u8; N] {
    let mut out = [0u8; N];
    for i in 0..N {
      out[i] = u8::from_str_radix(&s[2 * i..2 * i + 2], 16).unwrap();
    }
    out
  }
}
