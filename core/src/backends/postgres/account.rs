//! One open account: a task that takes the account's calls in the order they
//! were issued and runs them against the server.
//!
//! The queue is the order. The task takes everything queued so far and runs
//! it in runs of one kind, in order:
//! - **reads** (`get`, `listIds`, the credentials) of one run go out together,
//!   pipelined on one connection: one round trip for the run;
//! - **writes** of one run are one transaction, pipelined too: `BEGIN`, one
//!   statement per call, `COMMIT`, one round trip and one commit (one WAL
//!   flush on the server) for every call that arrived while the last run was
//!   in flight. That is the group commit. A single write is one statement in
//!   its own implicit transaction.
//!
//! So a read issued after a write waits for the write's commit and sees it,
//! a read issued before a write never sees it, and each call is all or
//! nothing. If a group fails for a reason other than the lease, its calls are
//! run again one by one, so one bad call cannot fail the others.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use deadpool_postgres::Object;
use futures_util::future::join_all;
use tokio::sync::mpsc;
use tokio::time::Instant;
use tokio_postgres::types::ToSql;

use super::error::{pg_error, unavailable};
use super::lease;
use super::runtime::Server;
use super::schema::Statements;
use crate::backend::{BackendError, BackendResult, Completer, KeyOp, KeyRead, KeyWrite};

/// Calls taken from the queue at once, at most.
const MAX_BATCH: usize = 1024;

pub enum Work {
  LoadCreds(Completer<Option<Vec<u8>>>),
  Read {
    key_type: String,
    ids: Vec<String>,
    done: Completer<Vec<KeyRead>>,
  },
  List {
    key_type: String,
    after: Option<String>,
    limit: usize,
    done: Completer<Vec<String>>,
  },
  Write {
    op: WriteOp,
    done: Completer<()>,
  },
  /// Completes once everything before it is done; with `release`, also ends
  /// the lease and stops the task.
  Close {
    release: bool,
    done: Completer<()>,
  },
}

pub enum WriteOp {
  Apply(Vec<KeyWrite>),
  SaveCreds(Vec<u8>),
  Clear,
  Quarantine { key_type: String, id: String, bytes: Vec<u8>, reason: String },
}

/// Counters of one account, for tests and benchmarks.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Stats {
  /// Round trips to the server (a pipelined run counts once).
  pub round_trips: u64,
  /// Write runs, and the calls in the largest.
  pub groups: u64,
  pub largest_group: u64,
  /// Calls whose commit succeeded.
  pub committed_calls: u64,
  /// Lease renewals by the heartbeat.
  pub renewals: u64,
}

#[derive(Default)]
pub struct Counters {
  round_trips: AtomicU64,
  groups: AtomicU64,
  largest_group: AtomicU64,
  committed_calls: AtomicU64,
  renewals: AtomicU64,
}

impl Counters {
  pub fn snapshot(&self) -> Stats {
    Stats {
      round_trips: self.round_trips.load(Ordering::Relaxed),
      groups: self.groups.load(Ordering::Relaxed),
      largest_group: self.largest_group.load(Ordering::Relaxed),
      committed_calls: self.committed_calls.load(Ordering::Relaxed),
      renewals: self.renewals.load(Ordering::Relaxed),
    }
  }

  fn trip(&self) {
    self.round_trips.fetch_add(1, Ordering::Relaxed);
  }
}

/// What the account's task, its heartbeat and its handles share.
pub struct Account {
  pub name: String,
  pub server: Arc<Server>,
  pub stmts: Arc<Statements>,
  pub token: i64,
  pub ttl: Duration,
  /// Opened without a lease: reads only.
  pub read_only: bool,
  /// Set once a write or a renewal found the token gone: every call fails.
  pub fenced: AtomicBool,
  /// Set once the lease is released.
  pub released: AtomicBool,
  /// When the caller last said it is alive (ms on [`Account::clock`]);
  /// `u64::MAX` until it first does: a caller that never does (a migration,
  /// a Rust program) is taken as alive while the account is open.
  pub alive_at: AtomicU64,
  pub clock: std::time::Instant,
  pub stats: Counters,
}

impl Account {
  pub fn keep_alive(&self) {
    self.alive_at.store(self.clock.elapsed().as_millis() as u64, Ordering::Relaxed);
  }

  /// Whether the caller said it is alive within half a lease.
  fn caller_alive(&self) -> bool {
    let at = self.alive_at.load(Ordering::Relaxed);
    let now = self.clock.elapsed().as_millis() as u64;
    at == u64::MAX || now.saturating_sub(at) <= (self.ttl.as_millis() as u64) / 2
  }

  fn ttl_ms(&self) -> f64 {
    self.ttl.as_secs_f64() * 1000.0
  }

  fn fence(&self) -> BackendError {
    self.fenced.store(true, Ordering::SeqCst);
    lease::fenced(&self.name)
  }

  async fn connection(&self) -> BackendResult<Object> {
    super::connection(&self.server).await
  }
}

/// A call in the queue, with when it was issued: its answer is due within
/// the server's timeout from then, however long the calls before it took
/// (while a server does not answer, the calls behind the first do not each
/// wait a timeout of their own).
pub struct Queued {
  pub at: Instant,
  pub work: Work,
}

/// The account's task: runs until a releasing `Close` (or every handle is gone).
pub async fn run(account: Arc<Account>, mut queue: mpsc::UnboundedReceiver<Queued>) {
  let mut batch = Vec::new();
  while let Some(first) = queue.recv().await {
    batch.push(first);
    while batch.len() < MAX_BATCH {
      match queue.try_recv() {
        Ok(w) => batch.push(w),
        Err(_) => break,
      }
    }
    let mut stop = false;
    let mut work = batch.drain(..).peekable();
    while let Some(Queued { at, work: w }) = work.next() {
      // The run's calls were issued at `at` or later: the earliest is due first.
      let deadline = at + account.server.timeout;
      match w {
        Work::Write { op, done } => {
          let mut writes = vec![(op, done)];
          while let Some(Queued { work: Work::Write { .. }, .. }) = work.peek() {
            if let Some(Queued { work: Work::Write { op, done }, .. }) = work.next() {
              writes.push((op, done));
            }
          }
          run_writes(&account, writes, deadline).await;
        }
        Work::Close { release, done } => {
          if release {
            done.complete(release_lease(&account).await);
            stop = true;
          } else {
            done.complete(Ok(()));
          }
        }
        read => {
          let mut reads = vec![read];
          while matches!(work.peek(), Some(Queued { work: Work::LoadCreds(_) | Work::Read { .. } | Work::List { .. }, .. })) {
            reads.extend(work.next().map(|q| q.work));
          }
          run_reads(&account, reads, deadline).await;
        }
      }
    }
    if stop {
      // Calls that raced the close were refused by their handle; anything
      // still queued is answered as closed.
      queue.close();
      while let Ok(q) = queue.try_recv() {
        refuse(q.work, BackendError::closed());
      }
      return;
    }
  }
}

fn refuse(w: Work, e: BackendError) {
  match w {
    Work::LoadCreds(done) => done.complete(Err(e)),
    Work::Read { done, .. } => done.complete(Err(e)),
    Work::List { done, .. } => done.complete(Err(e)),
    Work::Write { done, .. } => done.complete(Err(e)),
    Work::Close { done, .. } => done.complete(Err(e)),
  }
}

async fn release_lease(account: &Account) -> BackendResult<()> {
  account.released.store(true, Ordering::SeqCst);
  if account.read_only || account.fenced.load(Ordering::SeqCst) {
    return Ok(());
  }
  let conn = account.connection().await?;
  account.stats.trip();
  let r = tokio::time::timeout(account.server.timeout, lease::release(&conn, &account.stmts, &account.name, account.token)).await;
  match r {
    Ok(r) => r,
    Err(_) => {
      drop(Object::take(conn));
      Err(unavailable("the server did not confirm the lease's release in time; it ends by itself when its time runs out"))
    }
  }
}

/// Runs `f` on a connection, answering by `deadline`. A connection whose
/// call ran out of time is dropped, not put back: it may still be mid-answer.
async fn timed<T>(account: &Account, deadline: Instant, f: impl AsyncFnOnce(&Object) -> BackendResult<T>) -> BackendResult<T> {
  let late = || {
    unavailable(format!(
      "the PostgreSQL server at {} did not answer within {} ms",
      account.server.display,
      account.server.timeout.as_millis()
    ))
  };
  let conn = match tokio::time::timeout_at(deadline, account.connection()).await {
    Ok(conn) => conn?,
    Err(_) => return Err(late()),
  };
  account.stats.trip();
  match tokio::time::timeout_at(deadline, f(&conn)).await {
    Ok(r) => r,
    Err(_) => {
      drop(Object::take(conn));
      Err(late())
    }
  }
}

async fn run_reads(account: &Account, reads: Vec<Work>, deadline: Instant) {
  if account.fenced.load(Ordering::SeqCst) {
    reads.into_iter().for_each(|w| refuse(w, lease::fenced(&account.name)));
    return;
  }
  let s = &account.stmts;
  let name = account.name.as_str();
  let outcome = timed(account, deadline, async |conn| {
    // Prepared once per connection (cached), before the pipelined run.
    let fail = |e: tokio_postgres::Error| pg_error(&e, "cannot read the auth state");
    let creds = conn.prepare_cached(&s.load_creds).await.map_err(fail)?;
    let read = conn.prepare_cached(&s.read).await.map_err(fail)?;
    let first = conn.prepare_cached(&s.list_first).await.map_err(fail)?;
    let after = conn.prepare_cached(&s.list_after).await.map_err(fail)?;
    let queries = reads.iter().map(|w| {
      let (creds, read, first, after) = (&creds, &read, &first, &after);
      async move {
        match w {
          Work::LoadCreds(_) => conn.query(creds, &[&name]).await,
          Work::Read { key_type, ids, .. } => {
            let unique: Vec<&str> = unique_ids(ids);
            conn.query(read, &[&name, key_type, &unique]).await
          }
          Work::List { key_type, after: Some(a), limit, .. } => conn.query(after, &[&name, key_type, &(*limit as i64), a]).await,
          Work::List { key_type, after: None, limit, .. } => conn.query(first, &[&name, key_type, &(*limit as i64)]).await,
          _ => unreachable!("only reads are run here"),
        }
      }
    });
    let rows = join_all(queries).await;
    Ok(rows.into_iter().map(|r| r.map_err(fail)).collect::<Vec<_>>())
  })
  .await;
  let answers = match outcome {
    Ok(a) => a,
    Err(e) => {
      reads.into_iter().for_each(|w| refuse(w, e.clone()));
      return;
    }
  };
  for (w, rows) in reads.into_iter().zip(answers) {
    match (w, rows) {
      (w, Err(e)) => refuse(w, e),
      (Work::LoadCreds(done), Ok(rows)) => done.complete(Ok(rows.first().map(|r| r.get::<_, Vec<u8>>(0)))),
      (Work::Read { ids, done, .. }, Ok(rows)) => {
        let mut found: HashMap<String, Vec<u8>> = rows.into_iter().map(|r| (r.get(0), r.get(1))).collect();
        // How often each id is still to be answered: the last asker of a
        // duplicated id takes the bytes, the others a copy.
        let mut left: HashMap<&str, usize> = HashMap::with_capacity(ids.len());
        for id in &ids {
          *left.entry(id.as_str()).or_default() += 1;
        }
        let mut out = Vec::with_capacity(ids.len());
        for id in &ids {
          let n = left.get_mut(id.as_str()).map(|n| {
            *n -= 1;
            *n
          });
          out.push(Ok(if n == Some(0) { found.remove(id) } else { found.get(id).cloned() }));
        }
        done.complete(Ok(out));
      }
      (Work::List { done, .. }, Ok(rows)) => done.complete(Ok(rows.into_iter().map(|r| r.get(0)).collect())),
      _ => unreachable!("only reads are run here"),
    }
  }
}

fn unique_ids(ids: &[String]) -> Vec<&str> {
  let mut seen = std::collections::HashSet::with_capacity(ids.len());
  ids.iter().map(String::as_str).filter(|id| seen.insert(*id)).collect()
}

/// One statement of a write run, borrowing the calls' bytes.
enum Stmt<'a> {
  /// Puts and deletes of any number of calls, each key once (its last op),
  /// and the last credentials saved among them: one statement, one lease
  /// renewal, for a whole burst.
  Apply {
    del_types: Vec<&'a str>,
    del_ids: Vec<&'a str>,
    put_types: Vec<&'a str>,
    put_ids: Vec<&'a str>,
    put_values: Vec<&'a [u8]>,
    creds: Option<&'a [u8]>,
  },
  Clear,
  Quarantine {
    key_type: &'a str,
    id: &'a str,
    bytes: &'a [u8],
    reason: &'a str,
  },
}

impl<'a> Stmt<'a> {
  fn apply() -> Stmt<'a> {
    Stmt::Apply { del_types: vec![], del_ids: vec![], put_types: vec![], put_ids: vec![], put_values: vec![], creds: None }
  }

  fn is_empty(&self) -> bool {
    matches!(self, Stmt::Apply { del_types, put_types, creds: None, .. } if del_types.is_empty() && put_types.is_empty())
  }

  fn text<'s>(&self, s: &'s Statements) -> &'s str {
    match self {
      Stmt::Apply { .. } => &s.apply,
      Stmt::Clear => &s.clear,
      Stmt::Quarantine { .. } => &s.quarantine,
    }
  }

  /// `$1` account, `$2` token, `$3` lease ms, then the statement's own.
  fn bind<'b>(&'b self, head: [&'b (dyn ToSql + Sync); 3]) -> Vec<&'b (dyn ToSql + Sync)> {
    let mut v: Vec<&(dyn ToSql + Sync)> = head.to_vec();
    match self {
      Stmt::Apply { del_types, del_ids, put_types, put_ids, put_values, creds } => {
        v.extend([del_types as &(dyn ToSql + Sync), del_ids, put_types, put_ids, put_values, creds])
      }
      Stmt::Clear => {}
      Stmt::Quarantine { key_type, id, bytes, reason } => v.extend([key_type as &(dyn ToSql + Sync), id, bytes, reason]),
    }
    v
  }
}

/// The statements of a run of calls, in order. Consecutive `set`s and
/// `saveCreds` merge into one: the run is one transaction anyway, so each
/// call stays all or nothing, and the last op of a key wins as it would one
/// call after the other (an upsert may not touch a row twice either). A
/// `clear` or a quarantine keeps its place between them.
fn statements(ops: &mut [WriteOp]) -> Vec<Stmt<'_>> {
  fn flush<'a>(
    out: &mut Vec<Stmt<'a>>,
    last: &mut HashMap<(&'a str, &'a str), &'a KeyOp>,
    order: &mut Vec<(&'a str, &'a str)>,
    creds: &mut Option<&'a [u8]>,
  ) {
    let mut stmt = Stmt::apply();
    if let Stmt::Apply { del_types, del_ids, put_types, put_ids, put_values, creds: c } = &mut stmt {
      for key in order.drain(..) {
        // Each key once, in the order its last op was issued.
        let Some(op) = last.remove(&key) else { continue };
        match op {
          KeyOp::Put(payload) => {
            put_types.push(key.0);
            put_ids.push(key.1);
            // Encoded at the top of `statements`.
            put_values.push(payload.as_encoded().unwrap_or_default());
          }
          KeyOp::Delete => {
            del_types.push(key.0);
            del_ids.push(key.1);
          }
        }
      }
      *c = creds.take();
    }
    if !stmt.is_empty() {
      out.push(stmt);
    }
  }
  // The values of the run's `set`s are encoded here, on the runtime's
  // thread, not on the JavaScript thread that issued them.
  for op in ops.iter_mut() {
    if let WriteOp::Apply(writes) = op {
      writes.iter_mut().for_each(KeyWrite::encode);
    }
  }
  let ops = &*ops;
  let mut out = Vec::new();
  let mut last: HashMap<(&str, &str), &KeyOp> = HashMap::new();
  let mut order = Vec::new();
  let mut creds = None;
  for op in ops {
    match op {
      WriteOp::Apply(writes) => {
        for w in writes {
          let key = (w.key_type.as_str(), w.id.as_str());
          if last.insert(key, &w.op).is_none() {
            order.push(key);
          }
        }
      }
      WriteOp::SaveCreds(bytes) => creds = Some(bytes.as_slice()),
      WriteOp::Clear => {
        flush(&mut out, &mut last, &mut order, &mut creds);
        out.push(Stmt::Clear);
      }
      WriteOp::Quarantine { key_type, id, bytes, reason } => {
        flush(&mut out, &mut last, &mut order, &mut creds);
        out.push(Stmt::Quarantine { key_type, id, bytes, reason });
      }
    }
  }
  flush(&mut out, &mut last, &mut order, &mut creds);
  out
}

/// How one run of writes ended.
enum RunEnd {
  /// Every call committed.
  Committed,
  /// The lease is lost: nothing was written.
  Fenced,
  /// The run failed as a whole (nothing committed): this error (the
  /// connection, the time).
  Failed(BackendError),
  /// The server refused a statement (the data: a NUL in an id…), so the
  /// transaction rolled back: a run of several calls is run again call by
  /// call, so that only the bad one fails.
  Refused(BackendError),
}

async fn run_writes(account: &Account, writes: Vec<(WriteOp, Completer<()>)>, deadline: Instant) {
  if account.read_only {
    let e = BackendError::new(
      crate::backend::ErrorKind::ReadOnly,
      format!("the account \"{}\" was opened without its lease (lock: false): it cannot be written", account.name),
    );
    writes.into_iter().for_each(|(_, done)| done.complete(Err(e.clone())));
    return;
  }
  if account.fenced.load(Ordering::SeqCst) {
    writes.into_iter().for_each(|(_, done)| done.complete(Err(lease::fenced(&account.name))));
    return;
  }
  let (mut ops, dones): (Vec<WriteOp>, Vec<Completer<()>>) = writes.into_iter().unzip();
  let n = ops.len() as u64;
  account.stats.groups.fetch_add(1, Ordering::Relaxed);
  account.stats.largest_group.fetch_max(n, Ordering::Relaxed);
  match write_run(account, &statements(&mut ops), deadline).await {
    RunEnd::Committed => {
      account.stats.committed_calls.fetch_add(n, Ordering::Relaxed);
      dones.into_iter().for_each(|d| d.complete(Ok(())));
    }
    RunEnd::Fenced => {
      let e = account.fence();
      dones.into_iter().for_each(|d| d.complete(Err(e.clone())));
    }
    RunEnd::Failed(e) => dones.into_iter().for_each(|d| d.complete(Err(e.clone()))),
    RunEnd::Refused(e) if n == 1 => dones.into_iter().for_each(|d| d.complete(Err(e.clone()))),
    RunEnd::Refused(_) => {
      for (op, done) in ops.iter_mut().zip(dones) {
        let end = write_run(account, &statements(std::slice::from_mut(op)), Instant::now() + account.server.timeout).await;
        done.complete(match end {
          RunEnd::Committed => {
            account.stats.committed_calls.fetch_add(1, Ordering::Relaxed);
            Ok(())
          }
          RunEnd::Fenced => Err(account.fence()),
          RunEnd::Failed(e) | RunEnd::Refused(e) => Err(e),
        });
      }
    }
  }
}

/// One transaction of `params`: nothing to send (calls that change nothing,
/// answered in their place in the order), a single statement alone, or
/// `BEGIN` + the statements + `COMMIT` pipelined.
async fn write_run(account: &Account, params: &[Stmt<'_>], deadline: Instant) -> RunEnd {
  if params.is_empty() {
    return RunEnd::Committed;
  }
  let s = &account.stmts;
  let ttl_ms = account.ttl_ms();
  let head: [&(dyn ToSql + Sync); 3] = [&account.name, &account.token, &ttl_ms];
  let outcome = timed(account, deadline, async |conn| {
    let fail = |e: tokio_postgres::Error| pg_error(&e, "cannot write the auth state");
    let mut prepared = Vec::with_capacity(params.len());
    for p in params {
      prepared.push(conn.prepare_cached(p.text(s)).await.map_err(fail)?);
    }
    let binds: Vec<Vec<&(dyn ToSql + Sync)>> = params.iter().map(|p| p.bind(head)).collect();
    if params.len() == 1 {
      let row = conn.query_one(&prepared[0], &binds[0]).await;
      return Ok(vec![row.map(|r| r.get::<_, i64>(0))]);
    }
    // The idle timeout ends the session of a client stopped inside this
    // transaction, so a paused owner cannot keep the lease row locked.
    let begin = format!("BEGIN; SET LOCAL idle_in_transaction_session_timeout = {}", lease::lock_wait(account.ttl).as_millis());
    let statements = join_all(prepared.iter().zip(&binds).map(|(stmt, b)| conn.query_one(stmt, b)));
    let (begun, rows, committed) = tokio::join!(conn.batch_execute(&begin), statements, conn.batch_execute("COMMIT"));
    begun.map_err(fail)?;
    let rows: Vec<_> = rows.into_iter().map(|r| r.map(|r| r.get::<_, i64>(0))).collect();
    if rows.iter().all(Result::is_ok) {
      committed.map_err(fail)?;
    }
    Ok(rows)
  })
  .await;
  let rows = match outcome {
    Ok(rows) => rows,
    Err(e) => return RunEnd::Failed(e),
  };
  if rows.iter().any(|r| matches!(r, Ok(0))) {
    return RunEnd::Fenced;
  }
  match rows.into_iter().find_map(Result::err) {
    None => RunEnd::Committed,
    Some(e) => RunEnd::Refused(pg_error(&e, "cannot write the auth state")),
  }
}

/// Renews the lease every third of its length until the account is released;
/// a renewal that finds the token gone fences the account.
///
/// Only while the caller is alive: this runs on a thread of its own, which
/// would go on renewing for a bot whose event loop hangs forever, and keep
/// its account from every other host. So the JavaScript side says it is
/// alive from a timer ([`Account::keep_alive`]), and a lease whose caller
/// stopped turning for half a lease is let expire: another process can take
/// it over, and the frozen one's writes are fenced once it wakes.
pub async fn heartbeat(account: Arc<Account>) {
  let period = (account.ttl / 3).max(Duration::from_millis(20));
  loop {
    tokio::time::sleep(period).await;
    if account.released.load(Ordering::SeqCst) || account.fenced.load(Ordering::SeqCst) {
      return;
    }
    if !account.caller_alive() {
      continue;
    }
    let renewed = timed(&account, Instant::now() + account.server.timeout, async |conn| {
      lease::renew(conn, &account.stmts, &account.name, account.token, account.ttl).await
    })
    .await;
    account.stats.renewals.fetch_add(1, Ordering::Relaxed);
    if let Ok(false) = renewed {
      if !account.released.load(Ordering::SeqCst) {
        account.fence();
      }
      return;
    }
    // A failed renewal (server away) is tried again next period; the writes
    // stay safe meanwhile, as each one checks the token itself.
  }
}
