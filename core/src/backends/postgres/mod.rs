//! Accounts in a shared PostgreSQL database, for bot fleets on several hosts.
//!
//! - [`connect`]: where the server is (URL, `key=value`, fields, `PG*`);
//!   [`tls`]: rustls, checking as `sslmode` says;
//! - [`runtime`]: the tokio runtime and one pool per server;
//! - [`schema`]: the tables (created on first use) and the statements;
//! - [`lease`]: one owner per account, with a fencing token;
//! - [`report`]: the CLI's stats and verify (read-only, no lease);
//! - [`account`]: the task that runs one account's calls in order, with
//!   group commit.
//!
//! Opening an account that is open in this process already shares it (a bot
//! opens its state again on every reconnect); the last `close()` finishes the
//! writes and releases the lease.

pub mod account;
pub mod connect;
mod error;
pub mod lease;
pub mod report;
pub mod runtime;
pub mod schema;
mod tls;

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use deadpool_postgres::Object;
use parking_lot::{Condvar, Mutex};
use tokio::sync::mpsc;

use self::account::{Account, Queued, Stats, Work, WriteOp};
use self::connect::ConnectionSpec;
use self::runtime::Server;
use self::schema::{Statements, Tables};
use crate::backend::{Backend, BackendError, BackendResult, ErrorKind, KeyRead, KeyWrite, Pending};

#[derive(Clone, Debug)]
pub struct PostgresOptions {
  pub connection: ConnectionSpec,
  /// The account's name in the shared tables: any string.
  pub account: String,
  /// How long the lease lasts without renewal: the longest a takeover waits
  /// after the owner died or lost the server.
  pub lease_ttl: Duration,
  /// Connections of the server's pool (the first open of a server sets it).
  pub pool_size: usize,
  /// The schema of the tables; `None`: the connection's `search_path`.
  pub schema: Option<String>,
  pub table_prefix: String,
  /// Longest wait for a connection or an answer.
  pub timeout: Duration,
  /// Take the account's lease. `false` opens it read-only, beside its owner
  /// (a migration's source, a report): every write is refused.
  pub lease: bool,
}

impl PostgresOptions {
  pub fn new(connection: ConnectionSpec, account: impl Into<String>) -> PostgresOptions {
    PostgresOptions {
      connection,
      account: account.into(),
      lease_ttl: Duration::from_secs(15),
      pool_size: 16,
      schema: None,
      table_prefix: "baileys_".to_owned(),
      timeout: Duration::from_secs(10),
      lease: true,
    }
  }
}

/// A connection of the server's pool, within its timeout.
pub(crate) async fn connection(server: &Server) -> BackendResult<Object> {
  server.pool.get().await.map_err(|e| {
    use deadpool_postgres::PoolError;
    match e {
      PoolError::Backend(e) => error::pg_error(&e, &format!("cannot connect to the PostgreSQL server at {}", server.display)),
      PoolError::Timeout(_) => {
        error::unavailable(format!("no connection to the PostgreSQL server at {} within {} ms", server.display, server.timeout.as_millis()))
      }
      other => BackendError::new(ErrorKind::Unavailable, format!("cannot connect to the PostgreSQL server at {}: {other}", server.display)),
    }
  })
}

struct Entry {
  shared: Arc<Shared>,
  handles: usize,
}

/// An account of the registry: being opened by a thread of this process, or open.
enum Slot {
  Opening,
  Open(Entry),
}

/// One open account in this process: its state and its queue.
struct Shared {
  key: String,
  account: Arc<Account>,
  queue: mpsc::UnboundedSender<Queued>,
  finished: Mutex<bool>,
  finished_wake: Condvar,
}

struct Registry {
  slots: Mutex<HashMap<String, Slot>>,
  /// Woken when an open ends (done or failed).
  opened: Condvar,
}

fn registry() -> &'static Registry {
  static REGISTRY: OnceLock<Registry> = OnceLock::new();
  REGISTRY.get_or_init(|| Registry { slots: Mutex::new(HashMap::new()), opened: Condvar::new() })
}

/// Opens `options.account`: creates the tables when needed, takes the lease
/// (a live lease of another owner is a [`ErrorKind::Locked`] error naming
/// it), and starts the account's task. Blocking: run it off the JavaScript
/// thread.
pub fn open(options: &PostgresOptions) -> BackendResult<PostgresBackend> {
  let target = connect::resolve(&options.connection, &|k| std::env::var(k).ok())?;
  let tables = Tables::new(options.schema.as_deref(), &options.table_prefix)?;
  // The account as the server knows it: however the connection is spelled
  // (URL or key=value, password, TLS settings), one server, database and
  // role is one registry entry, so a process never locks itself out.
  let c = &target.config;
  let key = format!(
    "{:?}\u{0}{:?}\u{0}{:?}\u{0}{:?}\u{0}{:?}\u{0}{}\u{0}{}",
    c.get_hosts(),
    c.get_ports(),
    c.get_user(),
    c.get_dbname(),
    tables,
    options.account,
    options.lease
  );
  let rt = runtime::runtime()?;
  let server = runtime::server(target, options.pool_size, options.timeout)?;
  let reg = registry();
  let mut slots = reg.slots.lock();
  loop {
    match slots.get_mut(&key) {
      Some(Slot::Opening) => reg.opened.wait(&mut slots),
      Some(Slot::Open(entry)) if entry.handles > 0 => {
        entry.handles += 1;
        return Ok(PostgresBackend { shared: entry.shared.clone(), closed: AtomicBool::new(false) });
      }
      Some(Slot::Open(entry)) => {
        // Its last handle is closing: wait for the release, then take it anew.
        let shared = entry.shared.clone();
        drop(slots);
        let mut finished = shared.finished.lock();
        while !*finished {
          shared.finished_wake.wait(&mut finished);
        }
        drop(finished);
        slots = reg.slots.lock();
      }
      None => break,
    }
  }
  // This thread opens it; others of this process wait for the outcome.
  slots.insert(key.clone(), Slot::Opening);
  drop(slots);
  let opened = start(rt, &server, &tables, options, &key);
  let mut slots = reg.slots.lock();
  match &opened {
    Ok(shared) => slots.insert(key, Slot::Open(Entry { shared: shared.clone(), handles: 1 })),
    Err(_) => slots.remove(&key),
  };
  reg.opened.notify_all();
  opened.map(|shared| PostgresBackend { shared, closed: AtomicBool::new(false) })
}

fn start(
  rt: &tokio::runtime::Runtime,
  server: &Arc<Server>,
  tables: &Tables,
  options: &PostgresOptions,
  key: &str,
) -> BackendResult<Arc<Shared>> {
  let stmts = Arc::new(Statements::new(tables));
  let owner = lease::Owner::this_process();
  let ttl = options.lease_ttl.max(Duration::from_millis(100));
  let token = rt.block_on(async {
    server.ensure_tables(tables).await?;
    if !options.lease {
      return Ok(0);
    }
    let conn = connection(server).await?;
    match tokio::time::timeout(server.timeout, lease::acquire(&conn, &stmts, &options.account, &owner, ttl)).await {
      Ok(r) => r,
      Err(_) => {
        drop(Object::take(conn));
        Err(error::unavailable("the server did not answer the lease request in time"))
      }
    }
  })?;
  let account = Arc::new(Account {
    name: options.account.clone(),
    server: server.clone(),
    stmts,
    token,
    ttl,
    read_only: !options.lease,
    fenced: AtomicBool::new(false),
    released: AtomicBool::new(false),
    alive_at: AtomicU64::new(u64::MAX),
    clock: std::time::Instant::now(),
    stats: Default::default(),
  });
  let (tx, rx) = mpsc::unbounded_channel();
  let shared = Arc::new(Shared {
    key: key.to_owned(),
    account: account.clone(),
    queue: tx,
    finished: Mutex::new(false),
    finished_wake: Condvar::new(),
  });
  let done = shared.clone();
  rt.spawn(async move {
    account::run(account, rx).await;
    forget(&done);
  });
  if options.lease {
    rt.spawn(account::heartbeat(shared.account.clone()));
  }
  Ok(shared)
}

fn forget(shared: &Arc<Shared>) {
  let mut slots = registry().slots.lock();
  if matches!(slots.get(&shared.key), Some(Slot::Open(e)) if Arc::ptr_eq(&e.shared, shared)) {
    slots.remove(&shared.key);
  }
  drop(slots);
  *shared.finished.lock() = true;
  shared.finished_wake.notify_all();
}

fn close_shared(shared: &Shared, release: bool) -> Pending<()> {
  let (pending, done) = Pending::new();
  if let Err(mpsc::error::SendError(Queued { work: Work::Close { done, .. }, .. })) =
    shared.queue.send(Queued { at: tokio::time::Instant::now(), work: Work::Close { release, done } })
  {
    done.complete(Ok(()));
  }
  pending
}

/// One handle of an open account; see [`Backend`] for the calls.
pub struct PostgresBackend {
  shared: Arc<Shared>,
  closed: AtomicBool,
}

impl PostgresBackend {
  pub fn stats(&self) -> Stats {
    self.shared.account.stats.snapshot()
  }

  /// The fencing token this process holds the account with.
  pub fn token(&self) -> i64 {
    self.shared.account.token
  }

  fn send<T: Send + 'static>(&self, make: impl FnOnce(crate::backend::Completer<T>) -> Work) -> Pending<T> {
    if self.closed.load(Ordering::Acquire) {
      return Pending::ready(Err(BackendError::closed()));
    }
    if self.shared.account.fenced.load(Ordering::SeqCst) {
      return Pending::ready(Err(lease::fenced(&self.shared.account.name)));
    }
    let (pending, done) = Pending::new();
    if let Err(mpsc::error::SendError(work)) = self.shared.queue.send(Queued { at: tokio::time::Instant::now(), work: make(done) }) {
      drop(work);
      return Pending::ready(Err(BackendError::closed()));
    }
    pending
  }

  fn write(&self, op: WriteOp) -> Pending<()> {
    self.send(|done| Work::Write { op, done })
  }
}

impl Backend for PostgresBackend {
  fn load_creds(&self) -> Pending<Option<Vec<u8>>> {
    self.send(Work::LoadCreds)
  }

  fn save_creds(&self, bytes: Vec<u8>) -> Pending<()> {
    self.write(WriteOp::SaveCreds(bytes))
  }

  fn read(&self, key_type: &str, ids: Vec<String>) -> Pending<Vec<KeyRead>> {
    self.send(|done| Work::Read { key_type: key_type.to_owned(), ids, done })
  }

  fn apply(&self, ops: Vec<KeyWrite>) -> Pending<()> {
    self.write(WriteOp::Apply(ops))
  }

  fn list_ids(&self, key_type: &str, after: Option<&str>, limit: usize) -> Pending<Vec<String>> {
    self.send(|done| Work::List { key_type: key_type.to_owned(), after: after.map(str::to_owned), limit, done })
  }

  fn clear(&self) -> Pending<()> {
    self.write(WriteOp::Clear)
  }

  fn quarantine(&self, key_type: &str, id: &str, bytes: Vec<u8>, reason: &str) -> Pending<()> {
    self.write(WriteOp::Quarantine { key_type: key_type.to_owned(), id: id.to_owned(), bytes, reason: reason.to_owned() })
  }

  fn keep_alive(&self) {
    self.shared.account.keep_alive();
  }

  fn open_handles(&self) -> usize {
    match registry().slots.lock().get(&self.shared.key) {
      Some(Slot::Open(e)) if Arc::ptr_eq(&e.shared, &self.shared) => e.handles,
      _ => 0,
    }
  }

  fn counters(&self) -> Vec<(&'static str, u64)> {
    let s = self.stats();
    vec![
      ("roundTrips", s.round_trips),
      ("groups", s.groups),
      ("largestGroup", s.largest_group),
      ("committedCalls", s.committed_calls),
      ("renewals", s.renewals),
      ("token", self.token() as u64),
    ]
  }

  fn close(&self) -> Pending<()> {
    if self.closed.swap(true, Ordering::AcqRel) {
      return Pending::ready(Ok(()));
    }
    let mut slots = registry().slots.lock();
    let last = match slots.get_mut(&self.shared.key) {
      Some(Slot::Open(entry)) if Arc::ptr_eq(&entry.shared, &self.shared) => {
        entry.handles -= 1;
        entry.handles == 0
      }
      _ => return Pending::ready(Err(BackendError::internal("an open account is missing from the registry"))),
    };
    // Queued under the registry lock: an open cannot join an account whose
    // release is queued (it waits for it instead).
    close_shared(&self.shared, last)
  }
}

impl Drop for PostgresBackend {
  fn drop(&mut self) {
    if !self.closed.load(Ordering::Acquire) {
      drop(self.close());
    }
  }
}
