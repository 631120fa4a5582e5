//! A store in one SQLite file, in the format of Baileys' own SQLite store
//! (`useSqliteAuthState`): the two can open each other's files.
//!
//! Per open file, in one process:
//! - one writer thread owning the one writing connection (`writer`), which
//!   commits everything issued meanwhile as one group;
//! - a few reader threads with read-only connections (`reader`), WAL
//!   readers that run beside the writer;
//! - the queues between them, which keep the order per key (`queue`);
//! - a checkpoint thread, so that no commit waits for a checkpoint (`checkpoint`);
//! - the owner lock on `<db>.lock` ([`lock`]);
//! - what a file holds, read-only, for the CLI's stats and verify ([`report`]).
//!
//! Opening the same file again in the process shares the open store (a bot
//! opens its store again on every reconnect); the last `close()` finishes the
//! writes, checkpoints the WAL, closes the file and releases the lock.

mod checkpoint;
mod error;
pub mod lock;
mod queue;
mod reader;
pub mod report;
pub mod schema;
mod writer;

use std::collections::HashMap;
use std::io::ErrorKind as IoKind;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, OnceLock};

use parking_lot::{Condvar, Mutex};

use self::queue::{creds_hash, key_hash, Queue, ReadWork, WriteWork};
use self::schema::Found;
use crate::backend::{Backend, BackendError, BackendResult, ErrorKind, KeyRead, KeyWrite, Pending};
use crate::store::error::errno_name;

#[derive(Clone, Debug)]
pub struct SqliteOptions {
  /// `true`: `synchronous = FULL`, every acknowledged call survives a power
  /// loss. `false`: `NORMAL`, it survives a crash of the process.
  pub fsync: bool,
  /// Take the owner lock (`<db>.lock`).
  pub lock: bool,
  /// Reading connections (threads), at least 1.
  pub readers: usize,
}

impl Default for SqliteOptions {
  fn default() -> SqliteOptions {
    SqliteOptions { fsync: true, lock: true, readers: 2 }
  }
}

/// Counters of one open file, for tests and benchmarks.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Stats {
  /// Groups the writer took from its queue.
  pub groups: u64,
  /// Calls in the largest group.
  pub largest_group: u64,
  /// `BEGIN IMMEDIATE`s (a group runs again when SQLite drops its transaction).
  pub transactions: u64,
  /// Successful `COMMIT`s.
  pub commits: u64,
  /// Calls those commits held.
  pub committed_calls: u64,
  /// Reads the writer ran itself: to keep the order per key, or because it
  /// had nothing else to do.
  pub writer_reads: u64,
  /// Checkpoints run by the checkpoint thread.
  pub checkpoints: u64,
  /// Checkpoints the writer had to run itself (the WAL outgrew the thread).
  pub writer_checkpoints: u64,
}

#[derive(Default)]
struct Counters {
  groups: AtomicU64,
  largest_group: AtomicU64,
  transactions: AtomicU64,
  commits: AtomicU64,
  committed_calls: AtomicU64,
  writer_reads: AtomicU64,
  checkpoints: AtomicU64,
  writer_checkpoints: AtomicU64,
}

/// What the threads of one open file share.
struct Shared {
  path: PathBuf,
  queue: Queue,
  checkpoints: checkpoint::Checkpoints,
  stats: Counters,
  /// Whether the writer runs with `synchronous = FULL`.
  durable: AtomicBool,
  /// Set once the file is closed and its lock released.
  finished: Mutex<bool>,
  finished_wake: Condvar,
}

impl Shared {
  fn wait_finished(&self) {
    let mut finished = self.finished.lock();
    while !*finished {
      self.finished_wake.wait(&mut finished);
    }
  }
}

struct Entry {
  shared: Arc<Shared>,
  handles: usize,
}

fn registry() -> &'static Mutex<HashMap<PathBuf, Entry>> {
  static REGISTRY: OnceLock<Mutex<HashMap<PathBuf, Entry>>> = OnceLock::new();
  REGISTRY.get_or_init(|| Mutex::new(HashMap::new()))
}

/// Called by the writer once the file is closed and the lock released.
fn forget(shared: &Arc<Shared>) {
  let mut reg = registry().lock();
  if reg.get(&shared.path).is_some_and(|e| Arc::ptr_eq(&e.shared, shared)) {
    reg.remove(&shared.path);
  }
  drop(reg);
  *shared.finished.lock() = true;
  shared.finished_wake.notify_all();
}

/// A handle of an open database file. Blocking: run it off the JavaScript
/// thread. Every check of the file runs before its first write.
///
/// A file already open in this process is shared, with the options of its
/// first open, except that `fsync: true` raises a shared store's durability
/// for every handle.
pub fn open(path: impl AsRef<Path>, options: &SqliteOptions) -> BackendResult<SqliteBackend> {
  let path = canonical(path.as_ref())?;
  loop {
    let mut reg = registry().lock();
    if let Some(entry) = reg.get_mut(&path) {
      let shared = entry.shared.clone();
      if entry.handles > 0 {
        entry.handles += 1;
        drop(reg);
        if options.fsync && !shared.durable.swap(true, Ordering::SeqCst) {
          // Queued before any write of the new handle, so those are durable.
          drop(shared.queue.write(WriteWork::Durable, Vec::new()));
        }
        return Ok(SqliteBackend { shared, closed: AtomicBool::new(false) });
      }
      // Its last handle closed and the writer is still finishing: wait,
      // then open the file anew.
      drop(reg);
      shared.wait_finished();
      continue;
    }
    let shared = start(&path, options)?;
    reg.insert(path, Entry { shared: shared.clone(), handles: 1 });
    return Ok(SqliteBackend { shared, closed: AtomicBool::new(false) });
  }
}

fn canonical(path: &Path) -> BackendResult<PathBuf> {
  let io_err = |p: &Path, e: std::io::Error| {
    let code = e.raw_os_error().map(errno_name).unwrap_or("EIO");
    BackendError::new(ErrorKind::Io, format!("cannot open {}: {e}", p.display())).with_code(code)
  };
  match crate::paths::canonicalize(path) {
    Ok(p) => Ok(p),
    Err(e) if e.kind() == IoKind::NotFound => {
      let name =
        path.file_name().ok_or_else(|| BackendError::new(ErrorKind::Invalid, format!("{} does not name a file", path.display())))?;
      let parent = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
      };
      Ok(crate::paths::canonicalize(parent).map_err(|e| io_err(parent, e))?.join(name))
    }
    Err(e) => Err(io_err(path, e)),
  }
}

fn start(path: &Path, options: &SqliteOptions) -> BackendResult<Arc<Shared>> {
  let lock = if options.lock { Some(lock::acquire(path)?) } else { None };
  let found = schema::inspect_file(path)?;
  let checked = match found {
    Found::Missing => true,
    Found::Empty => false,
    Found::Database => schema::precheck(path)?,
  };
  let mut conn = schema::open_writer(path, found, options.fsync, checked)?;
  let readers = (0..options.readers.max(1)).map(|_| schema::open_reader(path)).collect::<BackendResult<Vec<_>>>()?;
  let checkpointer = schema::open_checkpointer(path)?;

  let shared = Arc::new(Shared {
    path: path.to_owned(),
    queue: Queue::new(),
    checkpoints: checkpoint::Checkpoints::default(),
    stats: Counters::default(),
    durable: AtomicBool::new(options.fsync),
    finished: Mutex::new(false),
    finished_wake: Condvar::new(),
  });
  let hooked = shared.clone();
  conn
    .wal_hook(Some(move |_: &mut rusqlite::hooks::Wal, pages| {
      hooked.checkpoints.committed(pages);
      Ok(())
    }))
    .map_err(|e| error::sql_error(Some(&conn), e, "cannot prepare", path))?;

  let spawn_failed = |e: std::io::Error| BackendError::internal(format!("cannot start a database thread: {e}"));
  let mut threads = Vec::with_capacity(readers.len() + 1);
  let stop_all = |shared: &Shared| {
    shared.queue.stop_readers();
    shared.checkpoints.stop();
  };
  for (i, conn) in readers.into_iter().enumerate() {
    let s = shared.clone();
    match std::thread::Builder::new().name(format!("baileys-sqlite-read-{i}")).spawn(move || reader::run(conn, s)) {
      Ok(t) => threads.push(t),
      Err(e) => {
        stop_all(&shared);
        return Err(spawn_failed(e));
      }
    }
  }
  let s = shared.clone();
  match std::thread::Builder::new().name("baileys-sqlite-checkpoint".to_owned()).spawn(move || checkpoint::run(checkpointer, s)) {
    Ok(t) => threads.push(t),
    Err(e) => {
      stop_all(&shared);
      return Err(spawn_failed(e));
    }
  }
  let w = writer::Writer { conn, shared: shared.clone(), threads, lock };
  if let Err(e) = std::thread::Builder::new().name("baileys-sqlite-write".to_owned()).spawn(move || w.run()) {
    // The closure (with the connections and the lock) is dropped on failure.
    stop_all(&shared);
    return Err(spawn_failed(e));
  }
  Ok(shared)
}

/// One handle of an open database file; see [`Backend`] for the calls.
pub struct SqliteBackend {
  shared: Arc<Shared>,
  closed: AtomicBool,
}

impl SqliteBackend {
  /// The canonical path of the database file.
  pub fn path(&self) -> &Path {
    &self.shared.path
  }

  pub fn stats(&self) -> Stats {
    let c = &self.shared.stats;
    Stats {
      groups: c.groups.load(Ordering::Relaxed),
      largest_group: c.largest_group.load(Ordering::Relaxed),
      transactions: c.transactions.load(Ordering::Relaxed),
      commits: c.commits.load(Ordering::Relaxed),
      committed_calls: c.committed_calls.load(Ordering::Relaxed),
      writer_reads: c.writer_reads.load(Ordering::Relaxed),
      checkpoints: c.checkpoints.load(Ordering::Relaxed),
      writer_checkpoints: c.writer_checkpoints.load(Ordering::Relaxed),
    }
  }

  fn is_closed(&self) -> bool {
    self.closed.load(Ordering::Acquire)
  }

  fn read_work<T: Send + 'static>(&self, make: impl FnOnce(crate::backend::Completer<T>) -> ReadWork) -> Pending<T> {
    if self.is_closed() {
      return Pending::ready(Err(BackendError::closed()));
    }
    let (pending, done) = Pending::new();
    self.shared.queue.read(make(done));
    pending
  }

  fn write_work(&self, work: WriteWork, keys: Vec<u64>) -> Pending<()> {
    if self.is_closed() {
      return Pending::ready(Err(BackendError::closed()));
    }
    self.shared.queue.write(work, keys)
  }

  /// Tests: keep the writer and/or the readers from taking work.
  #[cfg(test)]
  fn hold(&self, writer: bool, readers: bool) {
    self.shared.queue.hold(writer, readers);
  }
}

impl Backend for SqliteBackend {
  fn load_creds(&self) -> Pending<Option<Vec<u8>>> {
    self.read_work(|done| ReadWork::Creds { done })
  }

  fn save_creds(&self, bytes: Vec<u8>) -> Pending<()> {
    self.write_work(WriteWork::SaveCreds(bytes), vec![creds_hash()])
  }

  fn read(&self, key_type: &str, ids: Vec<String>) -> Pending<Vec<KeyRead>> {
    self.read_work(|done| ReadWork::Keys { key_type: key_type.to_owned(), ids, done })
  }

  fn apply(&self, ops: Vec<KeyWrite>) -> Pending<()> {
    let keys = ops.iter().map(|op| key_hash(&op.key_type, &op.id)).collect();
    self.write_work(WriteWork::Apply(ops), keys)
  }

  fn list_ids(&self, key_type: &str, after: Option<&str>, limit: usize) -> Pending<Vec<String>> {
    self.read_work(|done| ReadWork::List { key_type: key_type.to_owned(), after: after.map(str::to_owned), limit, done })
  }

  fn clear(&self) -> Pending<()> {
    self.write_work(WriteWork::Clear, Vec::new())
  }

  fn quarantine(&self, key_type: &str, id: &str, bytes: Vec<u8>, reason: &str) -> Pending<()> {
    let keys = vec![key_hash(key_type, id)];
    self.write_work(WriteWork::Quarantine { key_type: key_type.to_owned(), id: id.to_owned(), bytes, reason: reason.to_owned() }, keys)
  }

  fn can_cork(&self) -> bool {
    true
  }

  fn cork(&self) {
    self.shared.queue.cork();
  }

  fn uncork(&self) {
    self.shared.queue.uncork();
  }

  fn open_handles(&self) -> usize {
    match registry().lock().get(&self.shared.path) {
      Some(e) if Arc::ptr_eq(&e.shared, &self.shared) => e.handles,
      _ => 0,
    }
  }

  fn counters(&self) -> Vec<(&'static str, u64)> {
    let s = self.stats();
    vec![
      ("groups", s.groups),
      ("largestGroup", s.largest_group),
      ("transactions", s.transactions),
      ("commits", s.commits),
      ("committedCalls", s.committed_calls),
    ]
  }

  fn close(&self) -> Pending<()> {
    if self.closed.swap(true, Ordering::AcqRel) {
      return Pending::ready(Ok(()));
    }
    let mut reg = registry().lock();
    let last = match reg.get_mut(&self.shared.path) {
      Some(entry) if Arc::ptr_eq(&entry.shared, &self.shared) => {
        entry.handles -= 1;
        entry.handles == 0
      }
      _ => return Pending::ready(Err(BackendError::internal("an open database is missing from the registry"))),
    };
    // Queued under the registry lock: no open can join a file whose close is
    // queued (it waits for the close to finish instead).
    self.shared.queue.write(if last { WriteWork::Close } else { WriteWork::Barrier }, Vec::new())
  }
}

impl Drop for SqliteBackend {
  fn drop(&mut self) {
    if !self.is_closed() {
      drop(self.close());
    }
  }
}

#[cfg(test)]
mod tests;
