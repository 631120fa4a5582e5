//! The queues between the callers, the writer thread and the reader threads,
//! and the order per key.
//!
//! Every write gets a sequence number when it is issued, and the key of each
//! of its ops is entered in `pending` (a hash of `(type, id)` → the number of
//! the latest unfinished write of it). Operations on one key then take effect
//! in the order they were issued, both ways:
//!
//! - **A read after a write.** A read whose keys have no pending write (the
//!   usual case) goes to the readers and runs beside the writer. One that has
//!   a pending write joins the writer's queue instead, behind that write; the
//!   writer commits what is ahead of it, runs the read on its own connection,
//!   and only then starts on what was issued after it. So the read sees the
//!   write, never a write that may still roll back (an overlay of pending
//!   values would be faster, and could show a value that never commits), and
//!   never a write issued after it.
//! - **A read before a write.** A reader takes its snapshot while it holds the
//!   queue lock, as it takes the read, so a read a reader has taken cannot see
//!   any write the writer takes later. A read still waiting for a reader when
//!   the writer takes a group with a later write of its keys is taken by the
//!   writer and run before that group (`overtaken`).
//!
//! Hash collisions only make a read take the slower, still correct, path. A
//! `clear` counts as a write of every key; a listing depends on every key.
//!
//! A read issued while the writer has nothing to do goes to the writer too:
//! its page cache holds what it wrote, while a reader's starts empty after
//! every commit. A write issued just after such a read waits for it.

use std::collections::hash_map::DefaultHasher;
use std::collections::{HashMap, VecDeque};
use std::hash::Hasher;
use std::time::{Duration, Instant};

use parking_lot::{Condvar, Mutex};

use crate::backend::{BackendError, Completer, KeyRead, KeyWrite, Pending};

pub enum WriteWork {
  Apply(Vec<KeyWrite>),
  SaveCreds(Vec<u8>),
  Clear,
  Quarantine {
    key_type: String,
    id: String,
    bytes: Vec<u8>,
    reason: String,
  },
  /// Completes when every earlier write is done (closing one of several handles).
  Barrier,
  /// Raises the durability to `synchronous = FULL` (a later opener asked for fsync).
  Durable,
  /// The last handle closed: finish, stop the readers, checkpoint, release.
  Close,
}

impl WriteWork {
  /// Encodes the values of a `set` still to encode (see [`crate::backend::Payload`]):
  /// on the writer thread, before its transaction begins.
  pub fn encode(&mut self) {
    if let WriteWork::Apply(ops) = self {
      ops.iter_mut().for_each(KeyWrite::encode);
    }
  }

  /// Whether it runs inside the group's transaction.
  pub fn transactional(&self) -> bool {
    !matches!(self, WriteWork::Barrier | WriteWork::Durable | WriteWork::Close)
  }
}

pub struct WriteJob {
  pub seq: u64,
  pub work: WriteWork,
  /// Key hashes entered in `pending` for this job.
  pub keys: Vec<u64>,
  pub done: Completer<()>,
}

pub enum ReadWork {
  Keys { key_type: String, ids: Vec<String>, done: Completer<Vec<KeyRead>> },
  Creds { done: Completer<Option<Vec<u8>>> },
  List { key_type: String, after: Option<String>, limit: usize, done: Completer<Vec<String>> },
}

impl ReadWork {
  pub fn fail(self, e: BackendError) {
    match self {
      ReadWork::Keys { done, .. } => done.complete(Err(e)),
      ReadWork::Creds { done } => done.complete(Err(e)),
      ReadWork::List { done, .. } => done.complete(Err(e)),
    }
  }
}

/// The writer's queue holds writes and the reads that must run between them.
enum Job {
  Write(WriteJob),
  Read(ReadWork),
}

/// What the writer does next, in this order.
#[derive(Default)]
pub struct Batch {
  /// Reads issued before some write of `writes` of their keys, not yet taken
  /// by a reader: they run first, before the group.
  pub before: Vec<ReadWork>,
  /// The group: one transaction.
  pub writes: Vec<WriteJob>,
  /// Reads issued after the group's writes of their keys: they run once it
  /// has committed, before anything issued after them.
  pub after: Vec<ReadWork>,
}

struct State {
  jobs: VecDeque<Job>,
  /// Reads for the readers, with the number of the last write issued before each.
  reads: VecDeque<(u64, ReadWork)>,
  pending: HashMap<u64, u64>,
  /// The latest unfinished `clear` (0: none).
  pending_all: u64,
  issued: u64,
  /// Every write numbered up to this one is finished (committed or failed).
  finished: u64,
  accepting: bool,
  readers_stop: bool,
  /// The writer waits for work (and no job is queued for it).
  writer_idle: bool,
  /// Open holds of the next group (see [`Queue::cork`]), and since when.
  corks: u32,
  corked_since: Option<Instant>,
  #[cfg(test)]
  held: (bool, bool),
}

impl State {
  fn latest(&self, k: u64) -> u64 {
    self.pending.get(&k).copied().unwrap_or(0)
  }

  /// The latest unfinished write that `work` depends on (0: none).
  fn depends_on(&self, work: &ReadWork) -> u64 {
    if self.issued == self.finished {
      return 0;
    }
    match work {
      ReadWork::Creds { .. } => self.latest(creds_hash()),
      ReadWork::List { .. } => self.issued,
      ReadWork::Keys { key_type, ids, .. } => {
        let mut latest = self.pending_all;
        if !self.pending.is_empty() {
          for id in ids {
            latest = latest.max(self.latest(key_hash(key_type, id)));
          }
        }
        latest
      }
    }
  }

  fn writer_held(&self) -> bool {
    #[cfg(test)]
    return self.held.0;
    #[cfg(not(test))]
    false
  }

  fn readers_held(&self) -> bool {
    #[cfg(test)]
    return self.held.1;
    #[cfg(not(test))]
    false
  }
}

pub struct Queue {
  state: Mutex<State>,
  writer_wake: Condvar,
  reader_wake: Condvar,
}

/// The key of the credentials in `pending`.
pub fn creds_hash() -> u64 {
  key_hash("\0", "__creds__")
}

pub fn key_hash(key_type: &str, id: &str) -> u64 {
  // Fixed keys: the same key hashes the same in the caller and the writer.
  let mut h = DefaultHasher::new();
  h.write(key_type.as_bytes());
  h.write_u8(0xff);
  h.write(id.as_bytes());
  h.finish()
}

/// Limits of one group: enough to absorb a burst, small enough that one
/// transaction (and the WAL it writes before a checkpoint) stays bounded.
const GROUP_MAX_CALLS: usize = 4096;
const GROUP_MAX_OPS: usize = 65536;

/// How long a cork holds the writer at most (see [`Queue::cork`]): far
/// longer than a turn that issues a burst takes (64 `set`s: well under a
/// millisecond), short against anything a bot would notice.
pub const MAX_CORK: Duration = Duration::from_millis(20);

fn ops_of(work: &WriteWork) -> usize {
  match work {
    WriteWork::Apply(ops) => ops.len().max(1),
    _ => 1,
  }
}

impl Queue {
  pub fn new() -> Queue {
    Queue {
      state: Mutex::new(State {
        jobs: VecDeque::new(),
        reads: VecDeque::new(),
        pending: HashMap::new(),
        pending_all: 0,
        issued: 0,
        finished: 0,
        accepting: true,
        readers_stop: false,
        writer_idle: false,
        corks: 0,
        corked_since: None,
        #[cfg(test)]
        held: (false, false),
      }),
      writer_wake: Condvar::new(),
      reader_wake: Condvar::new(),
    }
  }

  /// Issues a write. `keys` are the hashes of the keys it changes.
  pub fn write(&self, work: WriteWork, keys: Vec<u64>) -> Pending<()> {
    let (pending, done) = Pending::new();
    let mut s = self.state.lock();
    if !s.accepting {
      drop(s);
      done.complete(Err(BackendError::closed()));
      return pending;
    }
    s.issued += 1;
    let seq = s.issued;
    for &k in &keys {
      s.pending.insert(k, seq);
    }
    match work {
      WriteWork::Clear => s.pending_all = seq,
      WriteWork::Close => s.accepting = false,
      _ => {}
    }
    s.jobs.push_back(Job::Write(WriteJob { seq, work, keys, done }));
    drop(s);
    self.writer_wake.notify_one();
    pending
  }

  /// Issues a read: to the readers, or behind the pending writes it depends on.
  pub fn read(&self, work: ReadWork) {
    let mut s = self.state.lock();
    if !s.accepting {
      drop(s);
      return work.fail(BackendError::closed());
    }
    // An idle writer takes the read itself: SQLite drops a connection's page
    // cache when another connection changed the file, so the writer's cache
    // is warm where a reader's is cold.
    if s.depends_on(&work) > s.finished || (s.writer_idle && s.jobs.is_empty()) {
      s.writer_idle = false;
      s.jobs.push_back(Job::Read(work));
      drop(s);
      self.writer_wake.notify_one();
    } else {
      let issued = s.issued;
      s.reads.push_back((issued, work));
      drop(s);
      self.reader_wake.notify_one();
    }
  }

  /// The writer's next batch: the writes issued so far, up to the limits and
  /// up to the first read queued behind them, then the reads queued there.
  pub fn take(&self) -> Batch {
    let mut s = self.state.lock();
    s.writer_idle = true;
    loop {
      if s.jobs.is_empty() || s.writer_held() {
        self.writer_wake.wait(&mut s);
        continue;
      }
      // Corked: the writes wait for the caller's turn to end, or for
      // MAX_CORK at most (a read at the front is never held).
      match (s.corked_since, s.jobs.front()) {
        (Some(since), Some(Job::Write(_))) if s.corks > 0 && since.elapsed() < MAX_CORK => {
          let _ = self.writer_wake.wait_until(&mut s, since + MAX_CORK);
        }
        _ => break,
      }
    }
    s.writer_idle = false;
    let mut batch = Batch::default();
    let mut ops = 0;
    while let Some(Job::Write(job)) = s.jobs.front() {
      let n = ops_of(&job.work);
      if !batch.writes.is_empty() && (batch.writes.len() == GROUP_MAX_CALLS || ops + n > GROUP_MAX_OPS) {
        break;
      }
      ops += n;
      let Some(Job::Write(job)) = s.jobs.pop_front() else { unreachable!("front is a write") };
      let close = matches!(job.work, WriteWork::Close);
      batch.writes.push(job);
      if close {
        break;
      }
    }
    let close = batch.writes.last().is_some_and(|j| matches!(j.work, WriteWork::Close));
    while !close && matches!(s.jobs.front(), Some(Job::Read(_))) {
      let Some(Job::Read(work)) = s.jobs.pop_front() else { unreachable!("front is a read") };
      batch.after.push(work);
    }
    if !batch.writes.is_empty() && !s.reads.is_empty() {
      let waiting = std::mem::take(&mut s.reads);
      for (issued, work) in waiting {
        if s.overtaken(issued, &work) {
          batch.before.push(work);
        } else {
          s.reads.push_back((issued, work));
        }
      }
    }
    batch
  }

  /// Holds the next group until [`Queue::uncork`]: the caller is issuing
  /// more writes in the same turn of its event loop (a burst of `set`s), and
  /// they should make one transaction and one fsync together, not as many
  /// as the writer could start while the turn went on. Never longer than
  /// [`MAX_CORK`], so a long turn (or a lost uncork) delays a commit by that
  /// much at most, and no acknowledgement: the caller's thread cannot take
  /// one before its turn ends anyway.
  pub fn cork(&self) {
    let mut s = self.state.lock();
    if s.corks == 0 {
      s.corked_since = Some(Instant::now());
    }
    s.corks += 1;
  }

  pub fn uncork(&self) {
    let mut s = self.state.lock();
    s.corks = s.corks.saturating_sub(1);
    if s.corks == 0 {
      s.corked_since = None;
      drop(s);
      self.writer_wake.notify_one();
    }
  }

  /// Marks writes up to `last` finished: their keys leave `pending`. `jobs`
  /// are `(seq, keys)` of the group.
  pub fn finish(&self, last: u64, jobs: &[(u64, Vec<u64>)]) {
    let mut s = self.state.lock();
    s.finished = last;
    for (seq, keys) in jobs {
      for k in keys {
        if s.pending.get(k) == Some(seq) {
          s.pending.remove(k);
        }
      }
    }
    if s.pending_all <= last {
      s.pending_all = 0;
    }
  }

  /// A reader's next read, with what `begin` returned: `begin` starts the
  /// reader's snapshot and runs under the queue lock (see the module
  /// documentation). `None` once the readers are told to stop and nothing is
  /// left for them.
  pub fn next_read<T>(&self, begin: impl FnOnce() -> T) -> Option<(ReadWork, T)> {
    let mut s = self.state.lock();
    loop {
      if !s.readers_held() {
        if let Some((_, work)) = s.reads.pop_front() {
          let began = begin();
          return Some((work, began));
        }
        if s.readers_stop {
          return None;
        }
      }
      self.reader_wake.wait(&mut s);
    }
  }

  pub fn stop_readers(&self) {
    self.state.lock().readers_stop = true;
    self.reader_wake.notify_all();
  }

  #[cfg(test)]
  pub fn hold(&self, writer: bool, readers: bool) {
    self.state.lock().held = (writer, readers);
    self.writer_wake.notify_all();
    self.reader_wake.notify_all();
  }
}

impl State {
  /// Whether a write issued after `issued` changes what `work` reads.
  fn overtaken(&self, issued: u64, work: &ReadWork) -> bool {
    match work {
      ReadWork::Creds { .. } => self.latest(creds_hash()) > issued,
      ReadWork::List { .. } => self.issued > issued,
      ReadWork::Keys { key_type, ids, .. } => {
        self.pending_all > issued || ids.iter().any(|id| self.latest(key_hash(key_type, id)) > issued)
      }
    }
  }
}
