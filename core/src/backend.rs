//! What every storage backend offers, over encoded bytes.
//!
//! A backend stores the credentials and the Signal keys as the bytes the codec
//! made (`JSON.stringify(value, BufferJSON.replacer)` text); turning values into
//! bytes and back stays above it, shared by every backend. Keys are addressed by
//! `(type, id)` exactly as Baileys passes them, not by file names: limits of one
//! backend (a file name cannot hold a NUL) are that backend's errors, not the
//! API's.
//!
//! # Calls return at once; results come through a [`Pending`]
//!
//! Every method queues its work and returns a [`Pending`] without waiting for
//! any I/O. The moment of the call is the moment the operation is *issued*: a
//! backend orders operations on one key by that moment, so a `read` made after
//! an `apply` of the same key (issued, not yet finished) sees what the apply
//! wrote. The caller then either blocks on [`Pending::wait`] (a worker thread,
//! a test, a CLI) or hands a callback to [`Pending::then`] (the napi layer,
//! which must not block the JavaScript thread).
//!
//! Why not plain blocking methods: called from a pool of worker threads, two
//! calls issued in one order on the JavaScript thread could reach the backend in
//! the other order, and Baileys' per-key order would be lost between the call
//! and the backend. Why not callbacks only: every synchronous caller would need
//! an adapter (a channel per call). A `Pending` is both, for the price of one
//! small allocation per call.
//!
//! Opening is not part of the trait: each backend has its own options, and an
//! open is a blocking function of that backend (run it off the JavaScript
//! thread); it takes the owner lock and checks the store before anything is
//! written.

use std::fmt;
use std::sync::Arc;

use parking_lot::{Condvar, Mutex};

use crate::store::StoreError;
use crate::values::{Decode, ValueRead};

/// What went wrong, independent of the backend. The napi layer maps kinds to
/// its error classes (`Locked` → `AuthFolderLockedError`, `Corrupt` →
/// `AuthFileCorruptError`, …).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ErrorKind {
  /// Another process owns the store (or holds its database lock).
  Locked,
  /// The store exists but cannot be read as one: not a database, a damaged
  /// one. It was left as it was.
  Corrupt,
  /// An I/O error the backend cannot classify further.
  Io,
  /// No space left: the call did not happen; what was committed before stays.
  Full,
  /// The store cannot be written (read-only file or file system).
  ReadOnly,
  /// The store (or this handle of it) was closed.
  Closed,
  /// The call or the store's content is not acceptable (a value that is not
  /// UTF-8, a constraint the store enforces, a file of another application).
  Invalid,
  /// The store was written by a newer version of this package.
  Unsupported,
  /// Another process took this store over (its lease was lost): the call
  /// was refused and nothing of it was written; every later call fails too.
  Fenced,
  /// A sealed value cannot be opened with the encryption key given (another
  /// key, a value sealed for another account or key, a value that is not
  /// sealed at all in a store that is). Nothing is answered from it.
  Key,
  /// The server could not be reached, or did not answer in time; the call
  /// may be retried once it is back.
  Unavailable,
  /// A bug of ours (a panic, a broken invariant); the call failed, nothing else did.
  Internal,
}

impl ErrorKind {
  /// The `code` an error of this kind carries unless the backend knows better.
  pub fn default_code(self) -> &'static str {
    match self {
      ErrorKind::Locked => "EBAILEYSLOCKED",
      ErrorKind::Corrupt => "EBAILEYSCORRUPT",
      ErrorKind::Io => "EIO",
      ErrorKind::Full => "ENOSPC",
      ErrorKind::ReadOnly => "EROFS",
      ErrorKind::Closed => "EBAILEYSCLOSED",
      ErrorKind::Invalid => "EBAILEYSINVALID",
      ErrorKind::Unsupported => "EBAILEYSVERSION",
      ErrorKind::Fenced => "EBAILEYSFENCED",
      ErrorKind::Key => "EBAILEYSKEY",
      ErrorKind::Unavailable => "EBAILEYSUNAVAILABLE",
      ErrorKind::Internal => "EBAILEYSINTERNAL",
    }
  }
}

/// An error of any backend. The message names the store (a path) and what
/// failed, never a value: values hold private keys.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BackendError {
  pub kind: ErrorKind,
  pub message: String,
  /// A stable machine-readable code: an errno name (`ENOSPC`), or one of ours
  /// (`EBAILEYSLOCKED`).
  pub code: &'static str,
  /// For [`ErrorKind::Locked`]: the owner's pid, when the backend can tell.
  pub owner_pid: Option<u32>,
  /// For [`ErrorKind::Locked`] and [`ErrorKind::Fenced`] on a shared server:
  /// the owner's host name and when its lease ends (ms since the epoch).
  pub owner_host: Option<String>,
  pub owner_until_ms: Option<i64>,
  /// The folder store's own error, whole, when it is one: the napi layer
  /// shows it as Node's `fs` shows its errors (`syscall`, `path`, `errno`),
  /// as `useMultiFileAuthState` always did.
  pub file: Option<FileError>,
}

/// A folder store's error inside a [`BackendError`].
#[derive(Clone, Debug)]
pub struct FileError(pub Arc<StoreError>);

impl FileError {
  pub fn new(e: StoreError) -> FileError {
    FileError(Arc::new(e))
  }
}

/// Equal when they say the same (an `io::Error` has no equality of its own).
impl PartialEq for FileError {
  fn eq(&self, other: &FileError) -> bool {
    self.0.to_string() == other.0.to_string()
  }
}

impl Eq for FileError {}

impl BackendError {
  pub fn new(kind: ErrorKind, message: impl Into<String>) -> BackendError {
    BackendError {
      kind,
      message: message.into(),
      code: kind.default_code(),
      owner_pid: None,
      owner_host: None,
      owner_until_ms: None,
      file: None,
    }
  }

  pub fn with_code(mut self, code: &'static str) -> BackendError {
    self.code = code;
    self
  }

  pub fn closed() -> BackendError {
    BackendError::new(ErrorKind::Closed, "the auth store is closed")
  }

  pub fn internal(message: impl Into<String>) -> BackendError {
    BackendError::new(ErrorKind::Internal, message)
  }
}

impl fmt::Display for BackendError {
  fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
    f.write_str(&self.message)
  }
}

impl std::error::Error for BackendError {}

pub type BackendResult<T> = Result<T, BackendError>;

/// One change of an [`Backend::apply`] call.
#[derive(Debug, PartialEq, Eq)]
pub enum KeyOp {
  /// Store these bytes (encoded JSON text) as the key's value.
  Put(Payload),
  /// Remove the key; removing a missing key is not an error.
  Delete,
}

/// The bytes of a [`KeyOp::Put`]: given, or encoded later by the backend on
/// its own thread (the writer, a file's lane), so that turning a value into
/// text costs the JavaScript thread nothing. Either way a backend reads them
/// with [`Payload::encoded`] once the call is its own.
pub struct Payload(PayloadInner);

enum PayloadInner {
  Bytes(Vec<u8>),
  Later(Box<dyn FnOnce() -> Vec<u8> + Send + Sync>),
}

impl Payload {
  pub fn bytes(bytes: impl Into<Vec<u8>>) -> Payload {
    Payload(PayloadInner::Bytes(bytes.into()))
  }

  /// Bytes `encode` makes when the backend first asks for them.
  pub fn later(encode: impl FnOnce() -> Vec<u8> + Send + Sync + 'static) -> Payload {
    Payload(PayloadInner::Later(Box::new(encode)))
  }

  /// The bytes, encoded now on the calling thread if they were not yet.
  pub fn encoded(&mut self) -> &[u8] {
    if let PayloadInner::Later(_) = self.0 {
      let PayloadInner::Later(encode) = std::mem::replace(&mut self.0, PayloadInner::Bytes(Vec::new())) else { unreachable!() };
      self.0 = PayloadInner::Bytes(encode());
    }
    match &self.0 {
      PayloadInner::Bytes(b) => b,
      PayloadInner::Later(_) => unreachable!("encoded just above"),
    }
  }

  /// The bytes as an owned buffer (encoded now if they were not yet).
  pub fn into_bytes(mut self) -> Vec<u8> {
    self.encoded();
    match self.0 {
      PayloadInner::Bytes(b) => b,
      PayloadInner::Later(_) => unreachable!("encoded just above"),
    }
  }

  /// The bytes when they are already there.
  pub fn as_encoded(&self) -> Option<&[u8]> {
    match &self.0 {
      PayloadInner::Bytes(b) => Some(b),
      PayloadInner::Later(_) => None,
    }
  }
}

impl From<Vec<u8>> for Payload {
  fn from(bytes: Vec<u8>) -> Payload {
    Payload::bytes(bytes)
  }
}

impl fmt::Debug for Payload {
  fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
    match &self.0 {
      // Never the bytes: they are private keys.
      PayloadInner::Bytes(b) => write!(f, "Payload({} bytes)", b.len()),
      PayloadInner::Later(_) => f.write_str("Payload(not encoded yet)"),
    }
  }
}

/// Equal when both are encoded to equal bytes (for tests).
impl PartialEq for Payload {
  fn eq(&self, other: &Payload) -> bool {
    matches!((self.as_encoded(), other.as_encoded()), (Some(a), Some(b)) if a == b)
  }
}

impl Eq for Payload {}

/// `(type, id, op)`: one key of a `keys.set` call.
#[derive(Debug, PartialEq, Eq)]
pub struct KeyWrite {
  pub key_type: String,
  pub id: String,
  pub op: KeyOp,
}

impl KeyWrite {
  pub fn put(key_type: impl Into<String>, id: impl Into<String>, bytes: impl Into<Vec<u8>>) -> KeyWrite {
    KeyWrite { key_type: key_type.into(), id: id.into(), op: KeyOp::Put(Payload::bytes(bytes)) }
  }

  pub fn delete(key_type: impl Into<String>, id: impl Into<String>) -> KeyWrite {
    KeyWrite { key_type: key_type.into(), id: id.into(), op: KeyOp::Delete }
  }

  /// Encodes the value now if it is a put still to encode (see [`Payload`]).
  pub fn encode(&mut self) {
    if let KeyOp::Put(p) = &mut self.op {
      p.encoded();
    }
  }
}

/// One id's answer to a read: the stored bytes, `None` when there is no such
/// key, or an error of this id alone.
pub type KeyRead = BackendResult<Option<Vec<u8>>>;

/// A storage backend. Implementations are shared between threads; every
/// method returns at once (see the module documentation for the order they
/// promise).
pub trait Backend: Send + Sync {
  /// The stored credentials, `None` when there are none yet.
  fn load_creds(&self) -> Pending<Option<Vec<u8>>>;

  /// Replaces the credentials; durable when the pending completes (to the
  /// level the backend was opened with).
  fn save_creds(&self, bytes: Vec<u8>) -> Pending<()>;

  /// One answer per id, in the order of `ids` (duplicates answered each time).
  /// The outer error is for the whole call (closed store…), the inner ones per id.
  fn read(&self, key_type: &str, ids: Vec<String>) -> Pending<Vec<KeyRead>>;

  /// [`Backend::read`] and the decoding in one, for a backend with its own
  /// way to do both: the folder parses each file on its lane, and answers
  /// from the backups Baileys' hardened helper keeps when a file is missing
  /// or cannot be read. One outcome per id, in the order of `ids`. `None`
  /// (the default): [`crate::keystore`] decodes what `read` gives.
  fn read_values(&self, _key_type: &str, _ids: &[String], _decode: Decode) -> Option<Pending<Vec<BackendResult<ValueRead>>>> {
    None
  }

  /// Applies every op of the call, all or nothing where the backend can (the
  /// SQLite backend can; the folder backend gives per-file atomicity only).
  fn apply(&self, ops: Vec<KeyWrite>) -> Pending<()>;

  /// Up to `limit` ids of `key_type`, in ascending byte order, each greater
  /// than `after` when given: pass the last id of a page to get the next one.
  fn list_ids(&self, key_type: &str, after: Option<&str>, limit: usize) -> Pending<Vec<String>>;

  /// Removes every key of every type; the credentials stay.
  fn clear(&self) -> Pending<()>;

  /// Keeps `bytes` (a value of `(key_type, id)` that could not be decoded)
  /// aside with `reason`, and removes the key if it still holds those bytes,
  /// so the store heals and nothing is lost. `reason` must not hold the value.
  fn quarantine(&self, key_type: &str, id: &str, bytes: Vec<u8>, reason: &str) -> Pending<()>;

  /// Whether [`Backend::cork`] holds anything: the backend commits groups
  /// of calls, and can hold the next group. `false` by default.
  fn can_cork(&self) -> bool {
    false
  }

  /// The caller is about to issue more writes (the rest of its event loop's
  /// turn): hold the next group until [`Backend::uncork`], so that a burst of
  /// calls makes one commit for all of them rather than several. Each `cork`
  /// is followed by one `uncork`; the backend bounds the hold itself. No-op
  /// by default.
  fn cork(&self) {}

  fn uncork(&self) {}

  /// The caller is alive (its event loop turns): a backend that holds a
  /// lease renews it only while this keeps coming. No-op by default.
  fn keep_alive(&self) {}

  /// How many open handles share this store in the process (a store opened
  /// again shares the open one): what must be alone, a key rotation, checks.
  fn open_handles(&self) -> usize {
    1
  }

  /// Counters for tests and benchmarks (`round_trips`, `groups`, …); none by default.
  fn counters(&self) -> Vec<(&'static str, u64)> {
    Vec::new()
  }

  /// Completes once every call issued before it is done and the backend's
  /// resources of this handle are released (the owner lock with the last
  /// handle). Later calls fail with [`ErrorKind::Closed`]; closing again is a no-op.
  fn close(&self) -> Pending<()>;
}

/// The outcome of a call, delivered once: wait for it, or give it a callback.
#[must_use = "a Pending does nothing unless waited on or given a callback"]
pub struct Pending<T> {
  slot: Arc<Slot<T>>,
}

/// The other end of a [`Pending`]; dropping it without completing completes
/// the call with an internal error, so no caller ever waits forever.
pub struct Completer<T> {
  slot: Option<Arc<Slot<T>>>,
}

struct Slot<T> {
  state: Mutex<State<T>>,
  ready: Condvar,
}

enum State<T> {
  Waiting,
  Callback(Box<dyn FnOnce(BackendResult<T>) + Send>),
  Done(BackendResult<T>),
  Taken,
}

impl<T: Send + 'static> Pending<T> {
  pub fn new() -> (Pending<T>, Completer<T>) {
    let slot = Arc::new(Slot { state: Mutex::new(State::Waiting), ready: Condvar::new() });
    (Pending { slot: slot.clone() }, Completer { slot: Some(slot) })
  }

  /// A pending that is already complete.
  pub fn ready(result: BackendResult<T>) -> Pending<T> {
    Pending { slot: Arc::new(Slot { state: Mutex::new(State::Done(result)), ready: Condvar::new() }) }
  }

  /// Blocks the calling thread until the outcome is there.
  pub fn wait(self) -> BackendResult<T> {
    let mut state = self.slot.state.lock();
    loop {
      match std::mem::replace(&mut *state, State::Taken) {
        State::Done(result) => return result,
        State::Waiting => {
          *state = State::Waiting;
          self.slot.ready.wait(&mut state);
        }
        State::Callback(_) | State::Taken => unreachable!("a Pending is consumed by wait or then"),
      }
    }
  }

  /// Runs `f` with the outcome: at once on this thread when it is already
  /// there, otherwise on the backend's thread that completes the call, so `f`
  /// must be short (post the result somewhere and return).
  pub fn then(self, f: impl FnOnce(BackendResult<T>) + Send + 'static) {
    let mut state = self.slot.state.lock();
    match std::mem::replace(&mut *state, State::Taken) {
      State::Done(result) => {
        drop(state);
        f(result);
      }
      State::Waiting => *state = State::Callback(Box::new(f)),
      State::Callback(_) | State::Taken => unreachable!("a Pending is consumed by wait or then"),
    }
  }

  /// Whether the outcome is already there.
  pub fn is_done(&self) -> bool {
    matches!(*self.slot.state.lock(), State::Done(_))
  }
}

impl<T> Completer<T> {
  pub fn complete(mut self, result: BackendResult<T>) {
    if let Some(slot) = self.slot.take() {
      Self::deliver(&slot, result);
    }
  }

  fn deliver(slot: &Slot<T>, result: BackendResult<T>) {
    let mut state = slot.state.lock();
    match std::mem::replace(&mut *state, State::Taken) {
      State::Callback(f) => {
        drop(state);
        f(result);
      }
      State::Waiting => {
        *state = State::Done(result);
        drop(state);
        slot.ready.notify_all();
      }
      // The Pending was dropped unobserved; `Taken` stays.
      State::Taken => {}
      State::Done(_) => unreachable!("a Completer completes once"),
    }
  }
}

impl<T> Drop for Completer<T> {
  fn drop(&mut self) {
    if let Some(slot) = self.slot.take() {
      Self::deliver(&slot, Err(BackendError::internal("the backend dropped a call without answering it")));
    }
  }
}

impl<T> Drop for Pending<T> {
  fn drop(&mut self) {
    // Dropping a Pending unobserved is allowed (fire and forget): mark the
    // slot so the completer drops the outcome.
    let mut state = self.slot.state.lock();
    if matches!(*state, State::Waiting) {
      *state = State::Taken;
    }
  }
}

#[cfg(test)]
mod tests {
  use super::*;
  use std::sync::mpsc;

  #[test]
  fn wait_gets_a_value_completed_on_another_thread() {
    let (p, c) = Pending::<u32>::new();
    std::thread::spawn(move || c.complete(Ok(7)));
    assert_eq!(p.wait(), Ok(7));
  }

  #[test]
  fn then_runs_now_or_later() {
    let (tx, rx) = mpsc::channel();
    let tx2 = tx.clone();
    Pending::ready(Ok(1)).then(move |r| tx.send(r).unwrap());
    assert_eq!(rx.recv().unwrap(), Ok(1));
    let (p, c) = Pending::<u32>::new();
    p.then(move |r| tx2.send(r).unwrap());
    assert!(rx.try_recv().is_err());
    c.complete(Ok(2));
    assert_eq!(rx.recv().unwrap(), Ok(2));
  }

  #[test]
  fn a_dropped_completer_answers_with_an_internal_error() {
    let (p, c) = Pending::<()>::new();
    drop(c);
    assert_eq!(p.wait().unwrap_err().kind, ErrorKind::Internal);
  }

  #[test]
  fn a_dropped_pending_lets_the_completer_finish() {
    let (p, c) = Pending::<Vec<u8>>::new();
    drop(p);
    c.complete(Ok(vec![1]));
  }
}
