//! The one writer of a database file, with group commit.
//!
//! The writer thread takes every write issued so far as one group and runs
//! the group as one `BEGIN IMMEDIATE … COMMIT`: one WAL append and, with
//! `synchronous = FULL`, one fsync for all of them. Calls issued while that
//! commit runs make up the next group, so a burst costs a few commits, not one
//! per call. Inside the group each call runs in its own `SAVEPOINT`: a call
//! that fails is rolled back alone and the others still commit. No call is
//! acknowledged before the `COMMIT` that holds it has returned.
//!
//! Some errors (a full disk, an I/O error) make SQLite roll back the whole
//! transaction, not just the statement; then the failed call gets its error
//! and the calls that had succeeded run again in a fresh transaction. When
//! the `COMMIT` itself fails, the calls run again one transaction each.

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{SystemTime, UNIX_EPOCH};

use rusqlite::wal::CheckpointMode;
use rusqlite::Connection;

use super::error::sql_error;
use super::lock::OwnerLock;
use super::queue::{Batch, ReadWork, WriteJob, WriteWork};
use super::reader;
use super::schema::QUARANTINE_TABLE;
use super::Shared;
use crate::backend::{BackendError, BackendResult, Completer, ErrorKind, KeyOp};

const PUT_KEY: &str =
  "INSERT INTO signal_keys (type, id, value) VALUES (?1, ?2, ?3) ON CONFLICT (type, id) DO UPDATE SET value = excluded.value";
const DELETE_KEY: &str = "DELETE FROM signal_keys WHERE type = ?1 AND id = ?2";
const PUT_CREDS: &str = "INSERT INTO creds (key, value) VALUES ('__creds__', ?1) ON CONFLICT (key) DO UPDATE SET value = excluded.value";

pub struct Writer {
  pub conn: Connection,
  pub shared: Arc<Shared>,
  /// The reader and checkpoint threads, joined at close.
  pub threads: Vec<JoinHandle<()>>,
  pub lock: Option<OwnerLock>,
}

fn answer(done: Completer<()>, result: BackendResult<()>) {
  // A caller's callback that panics must not take the writer down with it.
  let _ = catch_unwind(AssertUnwindSafe(|| done.complete(result)));
}

impl Writer {
  pub fn run(mut self) {
    loop {
      let Batch { before, mut writes, after } = self.shared.queue.take();
      self.serve(before);
      let close = match writes.last() {
        Some(job) if matches!(job.work, WriteWork::Close) => writes.pop(),
        _ => None,
      };
      if !writes.is_empty() {
        self.commit_group(writes);
      }
      self.serve(after);
      if self.shared.checkpoints.take_overdue() {
        self.checkpoint_now();
      }
      if let Some(job) = close {
        return self.shut_down(job);
      }
    }
  }

  /// Reads that must run between groups (see `queue`), on this connection.
  fn serve(&self, reads: Vec<ReadWork>) {
    for work in reads {
      self.shared.stats.writer_reads.fetch_add(1, Ordering::Relaxed);
      match reader::begin_snapshot(&self.conn) {
        Ok(()) => drop(catch_unwind(AssertUnwindSafe(|| reader::serve(&self.conn, &self.shared.path, work)))),
        Err(e) => work.fail(sql_error(Some(&self.conn), e, "cannot read from", &self.shared.path)),
      }
      reader::end_snapshot(&self.conn);
    }
  }

  fn commit_group(&mut self, group: Vec<WriteJob>) {
    let last = group.last().map(|j| j.seq).unwrap_or(0);
    let stats = &self.shared.stats;
    stats.groups.fetch_add(1, Ordering::Relaxed);
    stats.largest_group.fetch_max(group.len() as u64, Ordering::Relaxed);
    let mut seqs = Vec::with_capacity(group.len());
    let mut works = Vec::with_capacity(group.len());
    let mut dones = Vec::with_capacity(group.len());
    for job in group {
      seqs.push((job.seq, job.keys));
      let mut work = job.work;
      work.encode();
      works.push(work);
      dones.push(job.done);
    }
    let results = catch_unwind(AssertUnwindSafe(|| self.run_group(&works))).unwrap_or_else(|_| {
      if !self.conn.is_autocommit() {
        let _ = self.conn.execute_batch("ROLLBACK");
      }
      works.iter().map(|_| Err(BackendError::internal("a database write panicked"))).collect()
    });
    // Order matters: the keys leave `pending` before anyone hears of the
    // commit, so a read issued from a completion callback is not parked.
    self.shared.queue.finish(last, &seqs);
    for (done, result) in dones.into_iter().zip(results) {
      answer(done, result);
    }
  }

  fn run_group(&mut self, works: &[WriteWork]) -> Vec<BackendResult<()>> {
    let mut results: Vec<Option<BackendResult<()>>> = works
      .iter()
      .map(|w| match w {
        WriteWork::Durable => Some(self.make_durable()),
        w if !w.transactional() => Some(Ok(())),
        _ => None,
      })
      .collect();
    // After a failed COMMIT nobody can tell which call caused it (a full
    // disk, a deferred constraint): the calls then run again, one
    // transaction each, so that only the guilty one fails.
    let mut isolate = false;
    loop {
      let mut todo: Vec<usize> = (0..works.len()).filter(|&i| results[i].is_none()).collect();
      if isolate {
        todo.truncate(1);
      }
      if todo.is_empty() {
        break;
      }
      if let Err(e) = self.step("BEGIN IMMEDIATE") {
        for i in todo {
          results[i] = Some(Err(e.clone()));
        }
        if isolate {
          continue;
        }
        break;
      }
      self.shared.stats.transactions.fetch_add(1, Ordering::Relaxed);
      let alone = todo.len() == 1;
      let mut succeeded = Vec::with_capacity(todo.len());
      let mut lost = false;
      for &i in &todo {
        match self.run_call(&works[i], alone) {
          Ok(()) => succeeded.push(i),
          Err(e) => {
            results[i] = Some(Err(e));
            if self.conn.is_autocommit() {
              // The whole transaction is gone: run the others again.
              lost = true;
              break;
            }
          }
        }
      }
      if lost {
        continue;
      }
      match self.step("COMMIT") {
        Ok(()) => {
          self.shared.stats.commits.fetch_add(1, Ordering::Relaxed);
          self.shared.stats.committed_calls.fetch_add(succeeded.len() as u64, Ordering::Relaxed);
          for i in succeeded {
            results[i] = Some(Ok(()));
          }
        }
        Err(e) => {
          if !self.conn.is_autocommit() {
            let _ = self.conn.execute_batch("ROLLBACK");
          }
          if succeeded.len() > 1 {
            isolate = true;
            continue;
          }
          for i in succeeded {
            results[i] = Some(Err(e.clone()));
          }
        }
      }
      if !isolate {
        break;
      }
    }
    results.into_iter().map(|r| r.unwrap_or_else(|| Err(BackendError::internal("a write was left unanswered")))).collect()
  }

  /// One call inside the group's transaction, all or nothing. When it is the
  /// only call, the transaction is its savepoint.
  fn run_call(&mut self, work: &WriteWork, alone: bool) -> BackendResult<()> {
    if !alone {
      self.step("SAVEPOINT call")?;
    }
    let result = self.exec(work);
    match result {
      Ok(()) if alone => Ok(()),
      Ok(()) => self.step("RELEASE call").inspect_err(|_| self.abandon()),
      Err(e) => {
        // Alone, the call's transaction goes; in a group, its savepoint
        // (or, if even that fails, the transaction: the others run again).
        if !self.conn.is_autocommit() && (alone || self.step("ROLLBACK TO call").and_then(|_| self.step("RELEASE call")).is_err()) {
          self.abandon();
        }
        Err(e)
      }
    }
  }

  /// Rolls the whole transaction back (the group then runs again without the
  /// failed call).
  fn abandon(&self) {
    if !self.conn.is_autocommit() {
      let _ = self.conn.execute_batch("ROLLBACK");
    }
  }

  fn step(&self, sql: &str) -> BackendResult<()> {
    let run = || self.conn.prepare_cached(sql)?.execute([]).map(|_| ());
    run().map_err(|e| self.error(e))
  }

  fn error(&self, e: rusqlite::Error) -> BackendError {
    sql_error(Some(&self.conn), e, "cannot write to", &self.shared.path)
  }

  fn exec(&self, work: &WriteWork) -> BackendResult<()> {
    let conn = &self.conn;
    let err = |e| self.error(e);
    match work {
      WriteWork::Apply(ops) => {
        let mut put = conn.prepare_cached(PUT_KEY).map_err(err)?;
        let mut delete = conn.prepare_cached(DELETE_KEY).map_err(err)?;
        for op in ops {
          match &op.op {
            KeyOp::Put(payload) => {
              // Encoded by `commit_group` before the transaction began.
              let text = utf8(payload.as_encoded().unwrap_or_default(), &op.key_type, &op.id)?;
              put.execute((&op.key_type, &op.id, text)).map_err(err)?;
            }
            KeyOp::Delete => {
              delete.execute((&op.key_type, &op.id)).map_err(err)?;
            }
          }
        }
        Ok(())
      }
      WriteWork::SaveCreds(bytes) => {
        let text = utf8(bytes, "creds", "")?;
        conn.prepare_cached(PUT_CREDS).and_then(|mut s| s.execute([text])).map(|_| ()).map_err(err)
      }
      WriteWork::Clear => conn.prepare_cached("DELETE FROM signal_keys").and_then(|mut s| s.execute([])).map(|_| ()).map_err(err),
      WriteWork::Quarantine { key_type, id, bytes, reason } => {
        let at = SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_millis() as i64).unwrap_or(0);
        let insert = format!("INSERT INTO {QUARANTINE_TABLE} (type, id, value, reason, at) VALUES (?1, ?2, ?3, ?4, ?5)");
        conn.prepare_cached(&insert).and_then(|mut s| s.execute((key_type, id, bytes, reason, at))).map_err(err)?;
        // Only if the key still holds those bytes: a value written since
        // is not what was found undecodable.
        let remove = "DELETE FROM signal_keys WHERE type = ?1 AND id = ?2 AND CAST(value AS BLOB) = ?3";
        conn.prepare_cached(remove).and_then(|mut s| s.execute((key_type, id, bytes))).map(|_| ()).map_err(err)
      }
      WriteWork::Barrier | WriteWork::Durable | WriteWork::Close => Ok(()),
    }
  }

  /// The WAL outgrew the checkpoint thread: checkpoint all of it now,
  /// between two groups, so that the next group starts the WAL over.
  fn checkpoint_now(&self) {
    if self.conn.wal_checkpoint_v2(None::<&str>, CheckpointMode::FULL).is_ok() {
      self.shared.stats.writer_checkpoints.fetch_add(1, Ordering::Relaxed);
    }
  }

  fn make_durable(&self) -> BackendResult<()> {
    super::schema::set_durability(&self.conn, true).map_err(|e| self.error(e))
  }

  /// The last handle closed: every earlier write is done (this job is last in
  /// the queue). Stop the readers, fold the WAL back into the file, close,
  /// release the owner lock.
  fn shut_down(self, job: WriteJob) {
    let Writer { conn, shared, threads, lock } = self;
    shared.queue.stop_readers();
    shared.checkpoints.stop();
    for thread in threads {
      let _ = thread.join();
    }
    // A checkpoint another process keeps from finishing (busy) is no
    // failure: every commit is in the WAL, and the next open folds it in.
    let mut result = conn
      .query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |r| r.get::<_, i64>(0))
      .map(|_busy| ())
      .map_err(|e| sql_error(Some(&conn), e, "cannot checkpoint", &shared.path));
    if let Err((_, e)) = conn.close() {
      result = result.and(Err(sql_error(None, e, "cannot close", &shared.path)));
    }
    drop(lock);
    super::forget(&shared);
    answer(job.done, result);
  }
}

fn utf8<'a>(bytes: &'a [u8], key_type: &str, id: &str) -> BackendResult<&'a str> {
  std::str::from_utf8(bytes).map_err(|_| {
    let which = if id.is_empty() { key_type.to_owned() } else { format!("{key_type} {id:?}") };
    BackendError::new(ErrorKind::Invalid, format!("the value of {which} is not UTF-8 text"))
  })
}
