//! Fresh credentials: Baileys' `initAuthCreds()`, same keys in the same order.

use crate::codec::node_base64;
use crate::codec::{Flavor, Object, Value};
use crate::xeddsa::{self, KeyPair};

/// libsignal's key type byte, prefixed to a public key before it is signed.
const KEY_BUNDLE_TYPE: u8 = 5;

fn key_pair_value(pair: &KeyPair) -> Value {
  let mut o = Object::with_capacity(2);
  o.push("private", Value::Bytes(pair.private.to_vec()));
  o.push("public", Value::Bytes(pair.public.to_vec()));
  Value::Object(o)
}

/// `signedKeyPair(identity, keyId)`: a fresh pre-key signed by the identity key.
pub fn signed_key_pair(identity: &KeyPair, key_id: u32) -> Value {
  let pre_key = xeddsa::generate_key_pair();
  let mut message = [0u8; 33];
  message[0] = KEY_BUNDLE_TYPE;
  message[1..].copy_from_slice(&pre_key.public);
  let signature = xeddsa::sign(&identity.private, &message);
  let mut o = Object::with_capacity(3);
  o.push("keyPair", key_pair_value(&pre_key));
  o.push("signature", Value::Bytes(signature.to_vec()));
  o.push("keyId", Value::Number(key_id as f64));
  Value::Object(o)
}

/// Baileys' `generateRegistrationId()` is `Uint16Array.from(randomBytes(2))[0] & 16383`:
/// `Uint16Array.from` takes each *byte* as an element, so the result is one
/// random byte (0..=255). We draw it the same way, on purpose.
pub fn registration_id() -> u16 {
  xeddsa::random_bytes::<1>()[0] as u16
}

/// `initAuthCreds()` of the given line: v7 (and `Any`) has `additionalData`, v6 does not.
pub fn init_auth_creds(flavor: Flavor) -> Value {
  let identity = xeddsa::generate_key_pair();
  let mut o = Object::with_capacity(16);
  o.push("noiseKey", key_pair_value(&xeddsa::generate_key_pair()));
  o.push("pairingEphemeralKeyPair", key_pair_value(&xeddsa::generate_key_pair()));
  o.push("signedIdentityKey", key_pair_value(&identity));
  o.push("signedPreKey", signed_key_pair(&identity, 1));
  o.push("registrationId", Value::Number(registration_id() as f64));
  o.push("advSecretKey", Value::str(&node_base64::encode(&xeddsa::random_bytes::<32>())));
  o.push("processedHistoryMessages", Value::Array(Vec::new()));
  o.push("nextPreKeyId", Value::Number(1.0));
  o.push("firstUnuploadedPreKeyId", Value::Number(1.0));
  o.push("accountSyncCounter", Value::Number(0.0));
  let mut settings = Object::with_capacity(1);
  settings.push("unarchiveChats", Value::Bool(false));
  o.push("accountSettings", Value::Object(settings));
  o.push("registered", Value::Bool(false));
  o.push("pairingCode", Value::Undefined);
  o.push("lastPropHash", Value::Undefined);
  o.push("routingInfo", Value::Undefined);
  if flavor != Flavor::V6 {
    o.push("additionalData", Value::Undefined);
  }
  Value::Object(o)
}

#[cfg(test)]
mod tests {
  use super::*;

  fn bytes<'a>(v: &'a Value, path: &[&str]) -> &'a [u8] {
    let mut cur = v;
    for p in path {
      cur = cur.as_object().unwrap().get(p).unwrap();
    }
    match cur {
      Value::Bytes(b) => b,
      other => panic!("{other:?}"),
    }
  }

  #[test]
  fn shape_and_order_match_baileys() {
    let keys = |f| -> Vec<String> { init_auth_creds(f).as_object().unwrap().entries.iter().map(|(k, _)| k.to_string_lossy()).collect() };
    let v7 = keys(Flavor::V7);
    assert_eq!(v7.len(), 16);
    assert_eq!(v7.last().unwrap(), "additionalData");
    assert_eq!(keys(Flavor::V6), v7[..15].to_vec());
  }

  #[test]
  fn signed_pre_key_signature_verifies() {
    let creds = init_auth_creds(Flavor::V7);
    let identity: [u8; 32] = bytes(&creds, &["signedIdentityKey", "public"]).try_into().unwrap();
    let pre_key = bytes(&creds, &["signedPreKey", "keyPair", "public"]);
    let sig: [u8; 64] = bytes(&creds, &["signedPreKey", "signature"]).try_into().unwrap();
    let mut msg = vec![5u8];
    msg.extend_from_slice(pre_key);
    assert!(xeddsa::verify(&identity, &msg, &sig));
  }

  #[test]
  fn registration_ids_stay_in_a_byte() {
    assert!((0..10_000).all(|_| registration_id() <= 255));
  }
}
