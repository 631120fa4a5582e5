//! The queues between the callers, the writer thread and the reader threads,
//! and the order per key.
//!
//! Every write call gets a sequence number when it is issued, and the key of
//! each of its ops is entered in `pending` (a hash of `(type, id)` → the
//! number of the latest unfinished write of it). A read looks its keys up in
//! `pending` when it is issued:
//! - none is pending (the usual case): it goes straight to a reader, whatever
//!   the writer is doing;
//! - some is: it is parked until the writer has finished that number, then
//!   runs on a reader, on a snapshot that holds that commit.
//!
//! So a read sees every write of its keys issued before it, and never a write
//! that may still roll back (answering from an overlay of pending values would
//! be faster but could show a value that never commits). Hash collisions only
//! make a read wait for an unrelated write. A `clear` counts as a write of
//! every key; a listing waits for every write issued before it.
//!
//! Not promised: a read issued *before* a write may run after the write
//! committed, and then see it (a newer value, never an older one).

use std::collections::hash_map::DefaultHasher;
use std::collections::{HashMap, VecDeque};
use std::hash::Hasher;

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

struct State {
  writes: VecDeque<WriteJob>,
  reads: VecDeque<ReadWork>,
  /// Reads waiting for the writer to finish a sequence number.
  parked: Vec<(u64, ReadWork)>,
  pending: HashMap<u64, u64>,
  /// The latest unfinished `clear` (0: none).
  pending_all: u64,
  issued: u64,
  /// Every write numbered up to this one is finished (committed or failed).
  finished: u64,
  accepting: bool,
  readers_stop: bool,
  #[cfg(test)]
  held: bool,
}

impl State {
  /// The sequence number a read must wait for (0: none).
  fn wait_for(&self, work: &ReadWork) -> u64 {
    let latest = |k: u64| self.pending.get(&k).copied().unwrap_or(0);
    match work {
      ReadWork::Creds { .. } => latest(creds_hash()),
      ReadWork::List { .. } => self.issued,
      ReadWork::Keys { key_type, ids, .. } => {
        let mut wait_for = self.pending_all;
        if !self.pending.is_empty() {
          for id in ids {
            wait_for = wait_for.max(latest(key_hash(key_type, id)));
          }
        }
        wait_for
      }
    }
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
        writes: VecDeque::new(),
        reads: VecDeque::new(),
        parked: Vec::new(),
        pending: HashMap::new(),
        pending_all: 0,
        issued: 0,
        finished: 0,
        accepting: true,
        readers_stop: false,
        #[cfg(test)]
        held: false,
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
    s.writes.push_back(WriteJob { seq, work, keys, done });
    drop(s);
    self.writer_wake.notify_one();
    pending
  }

  /// Issues a read: straight to a reader, or parked behind the unfinished
  /// writes of the keys it reads.
  pub fn read(&self, work: ReadWork) {
    let mut s = self.state.lock();
    if !s.accepting {
      drop(s);
      return work.fail(BackendError::closed());
    }
    let wait_for = if s.issued == s.finished { 0 } else { s.wait_for(&work) };
    if wait_for > s.finished {
      s.parked.push((wait_for, work));
    } else {
      s.reads.push_back(work);
      drop(s);
      self.reader_wake.notify_one();
    }
  }

  /// The writer's next group: every write issued so far, up to the limits.
  pub fn take_writes(&self) -> Vec<WriteJob> {
    let mut s = self.state.lock();
    loop {
      #[cfg(test)]
      let held = s.held;
      #[cfg(not(test))]
      let held = false;
      if !s.writes.is_empty() && !held {
        break;
      }
      self.writer_wake.wait(&mut s);
    }
    let mut group = Vec::new();
    let mut ops = 0;
    while let Some(job) = s.writes.front() {
      let n = ops_of(&job.work);
      if !group.is_empty() && (group.len() == GROUP_MAX_CALLS || ops + n > GROUP_MAX_OPS) {
        break;
      }
      ops += n;
      let job = s.writes.pop_front().expect("front exists");
      let close = matches!(job.work, WriteWork::Close);
      group.push(job);
      if close {
        break;
      }
    }
    group
  }

  /// Marks writes up to `last` finished: their keys leave `pending`, and the
  /// reads parked on them go to the readers. `jobs` are `(seq, keys)` of the group.
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
    if !s.parked.is_empty() {
      let parked = std::mem::take(&mut s.parked);
      for (wait_for, work) in parked {
        if wait_for <= last {
          s.reads.push_back(work);
        } else {
          s.parked.push((wait_for, work));
        }
      }
    }
    let wake = !s.reads.is_empty();
    drop(s);
    if wake {
      self.reader_wake.notify_all();
    }
  }

  /// A reader's next read; `None` once the readers are told to stop and
  /// nothing is left for them.
  pub fn next_read(&self) -> Option<ReadWork> {
    let mut s = self.state.lock();
    loop {
      if let Some(work) = s.reads.pop_front() {
        return Some(work);
      }
      if s.readers_stop && s.parked.is_empty() {
        return None;
      }
      self.reader_wake.wait(&mut s);
    }
  }

  pub fn stop_readers(&self) {
    self.state.lock().readers_stop = true;
    self.reader_wake.notify_all();
  }

  #[cfg(test)]
  pub fn hold_writer(&self, held: bool) {
    self.state.lock().held = held;
    self.writer_wake.notify_all();
  }
}
