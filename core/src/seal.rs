//! Encryption at rest (`encryptionKey`): any backend's values and
//! credentials sealed with XChaCha20-Poly1305 before they are stored.
//!
//! A sealed value is text, `BANSEAL1:` and the base64 of: the key's id (the
//! first 4 bytes of SHA-256 of the key), a random 24-byte nonce, then the
//! ciphertext and its tag. The associated data is `baileys-auth-native/seal/1`
//! then fields, each its length (8 bytes, little-endian) and its bytes: the
//! scope, then `creds`, or `key`, the type and the id. Text, because a SQLite store's values are text in
//! Baileys' schema; and a prefix no JSON text has, so that a store opened
//! without its key says so instead of taking the values for corrupt ones. The associated data binds it to where it belongs: the scope (the
//! account of a shared server, empty for a file), whether it is the
//! credentials or a key, the key's type and id. A row copied to another key
//! or account, or another key's seal, fails to open, as does a value that
//! is not sealed at all: an encrypted store never answers with unsealed bytes.
//!
//! [`Sealed`] wraps a backend: what goes in is sealed, what comes out is
//! opened, so the codec above and the migration copy (plaintext bytes, byte
//! for byte) are the same as without encryption. Rotation: open with the new
//! key and the old one among `previous`, and rewrite every value (see
//! `migrate::reseal`).

use std::sync::Arc;

use chacha20poly1305::aead::{Aead, KeyInit, Payload};
use chacha20poly1305::{XChaCha20Poly1305, XNonce};
use sha2::{Digest, Sha256};

use crate::backend::{Backend, BackendError, BackendResult, ErrorKind, KeyOp, KeyRead, KeyWrite, Pending};

/// What every sealed value starts with.
pub const PREFIX: &[u8] = b"BANSEAL1:";
const NONCE: usize = 24;
const HEADER: usize = 4 + NONCE;

/// Whether `stored` is a sealed value (of any key).
pub fn is_sealed(stored: &[u8]) -> bool {
  stored.starts_with(PREFIX)
}

/// The error of a sealed value met without a key.
pub fn needs_key(what: &str) -> BackendError {
  BackendError::new(ErrorKind::Key, format!("{what} is encrypted: open the store with its encryptionKey"))
}

struct Key {
  id: [u8; 4],
  cipher: XChaCha20Poly1305,
}

impl Key {
  fn new(bytes: &[u8; 32]) -> Key {
    let digest = Sha256::digest(bytes);
    Key { id: [digest[0], digest[1], digest[2], digest[3]], cipher: XChaCha20Poly1305::new(bytes.into()) }
  }
}

/// The keys of one store: the one that seals, and older ones that still open.
pub struct Sealer {
  current: Key,
  previous: Vec<Key>,
  scope: String,
}

enum Place<'a> {
  Creds,
  Key(&'a str, &'a str),
}

impl Sealer {
  pub fn new(key: &[u8; 32], previous: &[[u8; 32]], scope: impl Into<String>) -> Sealer {
    Sealer { current: Key::new(key), previous: previous.iter().map(Key::new).collect(), scope: scope.into() }
  }

  /// Each field with its length first, so that no two places give the same
  /// bytes (a NUL inside a type or an id cannot shift one into the other).
  fn aad(&self, place: &Place<'_>) -> Vec<u8> {
    fn field(aad: &mut Vec<u8>, bytes: &[u8]) {
      aad.extend_from_slice(&(bytes.len() as u64).to_le_bytes());
      aad.extend_from_slice(bytes);
    }
    let mut aad = b"baileys-auth-native/seal/1".to_vec();
    field(&mut aad, self.scope.as_bytes());
    match place {
      Place::Creds => field(&mut aad, b"creds"),
      Place::Key(t, id) => {
        field(&mut aad, b"key");
        field(&mut aad, t.as_bytes());
        field(&mut aad, id.as_bytes());
      }
    }
    aad
  }

  fn seal(&self, place: &Place<'_>, plain: &[u8]) -> BackendResult<Vec<u8>> {
    let mut nonce = [0u8; NONCE];
    getrandom::getrandom(&mut nonce).map_err(|e| BackendError::internal(format!("no random nonce from the OS: {e}")))?;
    let sealed = self
      .current
      .cipher
      .encrypt(XNonce::from_slice(&nonce), Payload { msg: plain, aad: &self.aad(place) })
      .map_err(|_| BackendError::internal("cannot seal a value"))?;
    let mut raw = Vec::with_capacity(HEADER + sealed.len());
    raw.extend_from_slice(&self.current.id);
    raw.extend_from_slice(&nonce);
    raw.extend_from_slice(&sealed);
    let mut out = PREFIX.to_vec();
    out.extend_from_slice(base64_simd::STANDARD.encode_to_string(&raw).as_bytes());
    Ok(out)
  }

  fn open(&self, place: &Place<'_>, stored: &[u8]) -> BackendResult<Vec<u8>> {
    let what = match place {
      Place::Creds => "the credentials".to_owned(),
      Place::Key(t, id) => format!("{t} {id:?}"),
    };
    let refuse = |why: &str| BackendError::new(ErrorKind::Key, format!("{what} cannot be opened: {why}"));
    let raw = match stored.strip_prefix(PREFIX) {
      Some(b64) => base64_simd::STANDARD.decode_to_vec(b64).map_err(|_| refuse("its seal is damaged"))?,
      None => return Err(refuse("the store is encrypted but this value is not sealed (written without encryptionKey?)")),
    };
    if raw.len() < HEADER + 16 {
      return Err(refuse("its seal is damaged"));
    }
    let stored = &raw[..];
    let id = &stored[..4];
    let key = std::iter::once(&self.current)
      .chain(&self.previous)
      .find(|k| k.id == id)
      .ok_or_else(|| refuse("it was sealed with another encryption key"))?;
    key
      .cipher
      .decrypt(XNonce::from_slice(&stored[4..HEADER]), Payload { msg: &stored[HEADER..], aad: &self.aad(place) })
      .map_err(|_| refuse("its seal does not match (tampered, or moved from another key or account)"))
  }
}

/// A backend whose values are sealed.
pub struct Sealed {
  inner: Arc<dyn Backend>,
  sealer: Arc<Sealer>,
}

impl Sealed {
  pub fn new(inner: Arc<dyn Backend>, sealer: Sealer) -> Sealed {
    Sealed { inner, sealer: Arc::new(sealer) }
  }
}

/// Runs `f` on the outcome of `p` as a new pending (on the backend's thread).
fn map<T: Send + 'static, U: Send + 'static>(p: Pending<T>, f: impl FnOnce(T) -> BackendResult<U> + Send + 'static) -> Pending<U> {
  let (out, done) = Pending::new();
  p.then(move |r| done.complete(r.and_then(f)));
  out
}

impl Backend for Sealed {
  fn load_creds(&self) -> Pending<Option<Vec<u8>>> {
    let s = self.sealer.clone();
    map(self.inner.load_creds(), move |b| b.map(|b| s.open(&Place::Creds, &b)).transpose())
  }

  fn save_creds(&self, bytes: Vec<u8>) -> Pending<()> {
    match self.sealer.seal(&Place::Creds, &bytes) {
      Ok(sealed) => self.inner.save_creds(sealed),
      Err(e) => Pending::ready(Err(e)),
    }
  }

  fn read(&self, key_type: &str, ids: Vec<String>) -> Pending<Vec<KeyRead>> {
    let s = self.sealer.clone();
    let t = key_type.to_owned();
    let asked = ids.clone();
    map(self.inner.read(key_type, ids), move |reads| {
      Ok(reads.into_iter().zip(&asked).map(|(r, id)| r.and_then(|b| b.map(|b| s.open(&Place::Key(&t, id), &b)).transpose())).collect())
    })
  }

  fn apply(&self, ops: Vec<KeyWrite>) -> Pending<()> {
    let sealed: BackendResult<Vec<KeyWrite>> = ops
      .into_iter()
      .map(|w| match w.op {
        // Sealed here, on the caller's thread: sealing can fail (no random
        // nonce), and a failure must fail the call before anything is issued.
        KeyOp::Put(mut payload) => {
          let b = self.sealer.seal(&Place::Key(&w.key_type, &w.id), payload.encoded())?;
          Ok(KeyWrite { op: KeyOp::Put(b.into()), ..w })
        }
        KeyOp::Delete => Ok(w),
      })
      .collect();
    match sealed {
      Ok(ops) => self.inner.apply(ops),
      Err(e) => Pending::ready(Err(e)),
    }
  }

  fn list_ids(&self, key_type: &str, after: Option<&str>, limit: usize) -> Pending<Vec<String>> {
    self.inner.list_ids(key_type, after, limit)
  }

  fn clear(&self) -> Pending<()> {
    self.inner.clear()
  }

  /// The key's stored seal is kept aside as it is, and the key removed, if
  /// it still opens to the plaintext that could not be decoded: read again
  /// first, without waiting (the answer comes on the backend's thread), so
  /// the store compares its own stored bytes and heals as a plain one does.
  fn quarantine(&self, key_type: &str, id: &str, bytes: Vec<u8>, reason: &str) -> Pending<()> {
    let (out, done) = Pending::new();
    let (inner, sealer) = (self.inner.clone(), self.sealer.clone());
    let (t, i, why) = (key_type.to_owned(), id.to_owned(), reason.to_owned());
    self.inner.read(key_type, vec![id.to_owned()]).then(move |r| match r.map(|mut v| v.pop()) {
      Ok(Some(Ok(Some(stored)))) if sealer.open(&Place::Key(&t, &i), &stored).is_ok_and(|p| p == bytes) => {
        inner.quarantine(&t, &i, stored, &why).then(move |r| done.complete(r));
      }
      // Gone, or written since: nothing to keep aside.
      Ok(_) => done.complete(Ok(())),
      Err(e) => done.complete(Err(e)),
    });
    out
  }

  fn can_cork(&self) -> bool {
    self.inner.can_cork()
  }

  fn cork(&self) {
    self.inner.cork();
  }

  fn uncork(&self) {
    self.inner.uncork();
  }

  fn keep_alive(&self) {
    self.inner.keep_alive()
  }

  fn open_handles(&self) -> usize {
    self.inner.open_handles()
  }

  fn counters(&self) -> Vec<(&'static str, u64)> {
    self.inner.counters()
  }

  fn close(&self) -> Pending<()> {
    self.inner.close()
  }
}

#[cfg(test)]
mod tests {
  use super::*;

  #[test]
  fn a_seal_opens_only_in_its_place_and_with_its_key() {
    let s = Sealer::new(&[7; 32], &[], "acct");
    let sealed = s.seal(&Place::Key("session", "1.0"), b"{\"a\":1}").unwrap();
    assert_eq!(s.open(&Place::Key("session", "1.0"), &sealed).unwrap(), b"{\"a\":1}");
    assert!(!sealed.windows(7).any(|w| w == b"{\"a\":1}"), "the plaintext is not in the seal");
    let kind = |r: BackendResult<Vec<u8>>| r.unwrap_err().kind;
    assert_eq!(kind(s.open(&Place::Key("session", "2.0"), &sealed)), ErrorKind::Key);
    assert_eq!(kind(s.open(&Place::Key("pre-key", "1.0"), &sealed)), ErrorKind::Key);
    assert_eq!(kind(s.open(&Place::Creds, &sealed)), ErrorKind::Key);
    assert_eq!(kind(Sealer::new(&[7; 32], &[], "other").open(&Place::Key("session", "1.0"), &sealed)), ErrorKind::Key);
    assert_eq!(kind(Sealer::new(&[8; 32], &[], "acct").open(&Place::Key("session", "1.0"), &sealed)), ErrorKind::Key);
    assert_eq!(kind(s.open(&Place::Key("session", "1.0"), b"{\"a\":1}")), ErrorKind::Key);
    let mut flipped = sealed.clone();
    let last = flipped.len() - 3;
    flipped[last] = if flipped[last] == b'A' { b'B' } else { b'A' };
    assert_eq!(kind(s.open(&Place::Key("session", "1.0"), &flipped)), ErrorKind::Key);
  }

  #[test]
  fn a_previous_key_still_opens_and_the_current_one_seals() {
    let old = Sealer::new(&[1; 32], &[], "a");
    let sealed = old.seal(&Place::Creds, b"{}").unwrap();
    let rotated = Sealer::new(&[2; 32], &[[1; 32]], "a");
    assert_eq!(rotated.open(&Place::Creds, &sealed).unwrap(), b"{}");
    let resealed = rotated.seal(&Place::Creds, b"{}").unwrap();
    assert_eq!(old.open(&Place::Creds, &resealed).unwrap_err().kind, ErrorKind::Key);
    assert_eq!(Sealer::new(&[2; 32], &[], "a").open(&Place::Creds, &resealed).unwrap(), b"{}");
  }
}
