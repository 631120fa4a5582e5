//! The SQLite floor of `npm run bench:sqlite`.
//!
//! The same SQLite work as baileys-auth-native's SQLite backend on the bench's
//! workloads, with no JavaScript, no codec and no queues, on one thread (plus
//! a checkpoint thread, as ours: see below): the
//! values are given ready (the exact text our addon stores, from
//! `--templates`), and a read copies each value's bytes out of SQLite (as our
//! reader does) without parsing them. What is left is SQLite itself, driven
//! the way our backend drives it:
//!
//! - the file: made like ours (created 0600, `journal_mode = WAL`,
//!   `synchronous = FULL` or `NORMAL`, `journal_size_limit` 16 MiB, the
//!   contract's tables and our quarantine table, `application_id` and
//!   `user_version`), untimed;
//! - a write call: `BEGIN IMMEDIATE`, one prepared, cached
//!   `INSERT … ON CONFLICT (type, id) DO UPDATE` per key, `COMMIT`;
//! - a read call: `BEGIN`, one prepared, cached `SELECT value … WHERE type =
//!   ? AND id = ?` per id, the value's bytes copied into a `Vec`, `COMMIT`;
//!   on the writer's connection, as ours when its writer is idle (which it is
//!   at every read of the bench: each follows an awaited write) because that
//!   connection's page cache is warm; `--reads reader` runs them on a second,
//!   read-only connection instead (whose cache SQLite drops whenever the
//!   writer changed the file);
//! - `saveCreds`: `BEGIN IMMEDIATE`, the `__creds__` upsert, `COMMIT`;
//! - checkpoints as ours (core/src/backends/sqlite/checkpoint.rs): the
//!   automatic checkpoint off, a WAL hook after each commit that wakes a
//!   thread with its own connection for a `PASSIVE` checkpoint once the WAL
//!   holds 1,000 pages, and a `FULL` checkpoint by the writer itself before
//!   its next transaction once it holds 4,000. `--checkpoint inline` instead
//!   keeps SQLite's default (the `COMMIT` that takes the WAL past 1,000 pages
//!   checkpoints it), to show what moving it off the commit path buys.
//!
//! Usage: floor-sqlite --base DIR --templates DIR [--workloads 1,2,3,4,5,6,9]
//!                     [--sync full,normal] [--repeat R] [--w9-batches 100] [--w9-batch 1000]
//!                     [--pause-ms 50] [--checkpoint background|inline] [--reads writer|reader] [--keep-files]
//! Prints one JSON object: {"sqlite":"3.x","results":[{"sync":"full","workload":1,"ms":..},..]}
//!
//! Built only by the bench (`cargo build --release --features sqlite --bin floor-sqlite`):
//! rusqlite with its bundled SQLite, the version our addon links.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Condvar, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use rusqlite::wal::CheckpointMode;
use rusqlite::{Connection, OpenFlags};

// The bench's data set; the JavaScript harness uses the same ids (bench/workloads.mjs).
const PRE_KEYS: usize = 812;
const SESSIONS: usize = 500;
const MISSING: usize = 1000;
const SAVES: usize = 200;

fn pre_key_id(i: usize) -> String {
  i.to_string()
}
fn session_id(i: usize) -> String {
  format!("{}.0", 4915100000000u64 + i as u64)
}
fn missing_id(i: usize) -> String {
  format!("{}_1.0", 100000000000000u64 + i as u64)
}

// Our backend's statements, character for character (core/src/backends/sqlite/).
const CREATE: &str = "\
CREATE TABLE IF NOT EXISTS creds (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS signal_keys (type TEXT NOT NULL, id TEXT NOT NULL, value TEXT NOT NULL, PRIMARY KEY (type, id));
CREATE INDEX IF NOT EXISTS signal_keys_type_idx ON signal_keys(type);
CREATE TABLE IF NOT EXISTS baileys_auth_native_quarantine (type TEXT NOT NULL, id TEXT NOT NULL, value BLOB NOT NULL, reason TEXT NOT NULL, at INTEGER NOT NULL);";
const PUT_KEY: &str =
  "INSERT INTO signal_keys (type, id, value) VALUES (?1, ?2, ?3) ON CONFLICT (type, id) DO UPDATE SET value = excluded.value";
const PUT_CREDS: &str = "INSERT INTO creds (key, value) VALUES ('__creds__', ?1) ON CONFLICT (key) DO UPDATE SET value = excluded.value";
const GET_KEY: &str = "SELECT value FROM signal_keys WHERE type = ?1 AND id = ?2";

struct Templates {
  pre_key: String,
  /// The sessions as first written, and the other value the timed overwrite
  /// writes: SQLite skips an overwrite with identical bytes (no page is
  /// dirtied), so the two must differ, as the harness's do.
  session: String,
  session_b: String,
  creds: String,
  w9: String,
}

fn load_templates(dir: &Path) -> Templates {
  let read = |name: &str| std::fs::read_to_string(dir.join(name)).unwrap_or_else(|e| panic!("template {name}: {e}"));
  Templates {
    pre_key: read("pre-key.json"),
    session: read("session.json"),
    session_b: read("session-b.json"),
    creds: read("creds.json"),
    w9: read("w9.json"),
  }
}

/// The credentials of each save, each with its own `accountSyncCounter` (the
/// harness changes it before each save; identical bytes would dirty no page).
fn creds_texts(template: &str, n: usize) -> Vec<String> {
  const FIELD: &str = "\"accountSyncCounter\":";
  let at = template.find(FIELD).expect("the creds template has an accountSyncCounter") + FIELD.len();
  let digits = template[at..].bytes().take_while(u8::is_ascii_digit).count();
  (0..n).map(|i| format!("{}{}{}", &template[..at], i + 1, &template[at + digits..])).collect()
}

/// Our backend's thresholds (core/src/backends/sqlite/checkpoint.rs), in pages.
const CHECKPOINT_START: i32 = 1000;
const CHECKPOINT_OVERDUE: i32 = 4 * CHECKPOINT_START;

/// The checkpoint thread and what the writer's WAL hook tells it.
#[derive(Default)]
struct Checkpoints {
  /// (a checkpoint is wanted, stop)
  state: Mutex<(bool, bool)>,
  wake: Condvar,
  overdue: AtomicBool,
}

impl Checkpoints {
  fn committed(&self, pages: i32) {
    if pages >= CHECKPOINT_START {
      let mut s = self.state.lock().unwrap();
      if !s.0 {
        s.0 = true;
        self.wake.notify_one();
      }
    }
    if pages >= CHECKPOINT_OVERDUE {
      self.overdue.store(true, Ordering::Relaxed);
    }
  }

  fn next(&self) -> bool {
    let mut s = self.state.lock().unwrap();
    loop {
      if s.1 {
        return false;
      }
      if s.0 {
        s.0 = false;
        return true;
      }
      s = self.wake.wait(s).unwrap();
    }
  }

  fn stop(&self) {
    self.state.lock().unwrap().1 = true;
    self.wake.notify_one();
  }
}

static INLINE_CHECKPOINTS: AtomicBool = AtomicBool::new(false);
static READS_ON_READER: AtomicBool = AtomicBool::new(false);

struct Db {
  path: PathBuf,
  writer: Connection,
  reader: Connection,
  checkpoints: Arc<Checkpoints>,
  checkpointer: Option<JoinHandle<()>>,
}

impl Db {
  /// A fresh file, set up as our backend sets up a new one.
  fn fresh(base: &Path, seq: &mut u32, full: bool) -> Db {
    use std::os::unix::fs::OpenOptionsExt;
    *seq += 1;
    let path = base.join(format!("floor-sqlite-{}-{}.db", std::process::id(), seq));
    for suffix in ["", "-wal", "-shm"] {
      let _ = std::fs::remove_file(format!("{}{suffix}", path.display()));
    }
    std::fs::OpenOptions::new().write(true).create_new(true).mode(0o600).open(&path).expect("create the file");
    let mut writer = Connection::open_with_flags(&path, OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX).expect("open");
    writer.busy_timeout(Duration::from_secs(5)).unwrap();
    let mode: String = writer.query_row("PRAGMA journal_mode = WAL", [], |r| r.get(0)).unwrap();
    assert!(mode.eq_ignore_ascii_case("wal"), "journal mode {mode}");
    writer.pragma_update(None, "synchronous", if full { "FULL" } else { "NORMAL" }).unwrap();
    writer.pragma_update(None, "journal_size_limit", 16i64 << 20).unwrap();
    let inline = INLINE_CHECKPOINTS.load(Ordering::Relaxed);
    if !inline {
      writer.pragma_update(None, "wal_autocheckpoint", 0).unwrap();
    }
    writer.execute_batch("BEGIN IMMEDIATE").unwrap();
    writer.execute_batch(CREATE).unwrap();
    writer.pragma_update(None, "application_id", i32::from_be_bytes(*b"BaAN")).unwrap();
    writer.pragma_update(None, "user_version", 1).unwrap();
    writer.execute_batch("COMMIT").unwrap();
    let reader =
      Connection::open_with_flags(&path, OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX).expect("open a reader");
    reader.busy_timeout(Duration::from_secs(5)).unwrap();
    let checkpoints = Arc::new(Checkpoints::default());
    let mut checkpointer = None;
    if !inline {
      // After the pragma: `wal_autocheckpoint` replaces any WAL hook.
      let hooked = checkpoints.clone();
      writer
        .wal_hook(Some(move |_: &mut rusqlite::hooks::Wal, pages| {
          hooked.committed(pages);
          Ok(())
        }))
        .unwrap();
      let conn = Connection::open_with_flags(&path, OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX).expect("open");
      conn.busy_timeout(Duration::from_secs(5)).unwrap();
      let cp = checkpoints.clone();
      checkpointer = Some(
        std::thread::Builder::new()
          .name("floor-checkpoint".into())
          .spawn(move || {
            while cp.next() {
              let _ = conn.wal_checkpoint_v2(None::<&str>, CheckpointMode::PASSIVE);
            }
          })
          .unwrap(),
      );
    }
    Db { path, writer, reader, checkpoints, checkpointer }
  }

  /// Before a transaction: the WAL outgrew the checkpoint thread, so the
  /// writer checkpoints all of it (as our writer does between two groups).
  fn overdue(&self) {
    if self.checkpoints.overdue.swap(false, Ordering::Relaxed) {
      let _ = self.writer.wal_checkpoint_v2(None::<&str>, CheckpointMode::FULL);
    }
  }

  fn step(conn: &Connection, sql: &str) {
    conn.prepare_cached(sql).unwrap().execute([]).unwrap();
  }

  /// One `set` call: every key in one transaction.
  #[inline(never)] // a function of its own in a profile
  fn put_keys(&self, key_type: &str, ids: &[String], value: &str) {
    self.overdue();
    Db::step(&self.writer, "BEGIN IMMEDIATE");
    let mut put = self.writer.prepare_cached(PUT_KEY).unwrap();
    for id in ids {
      put.execute((key_type, id, value)).unwrap();
    }
    drop(put);
    Db::step(&self.writer, "COMMIT");
  }

  /// One `get` call: one read transaction, one probe per id; returns the bytes read.
  #[inline(never)] // a function of its own in a profile
  fn get_keys(&self, key_type: &str, ids: &[String]) -> (usize, usize) {
    let conn = if READS_ON_READER.load(Ordering::Relaxed) { &self.reader } else { &self.writer };
    Db::step(conn, "BEGIN");
    let mut get = conn.prepare_cached(GET_KEY).unwrap();
    let mut out: Vec<Option<Vec<u8>>> = Vec::with_capacity(ids.len());
    for id in ids {
      let mut rows = get.query((key_type, id)).unwrap();
      out.push(match rows.next().unwrap() {
        Some(row) => Some(row.get_ref(0).unwrap().as_bytes().unwrap().to_vec()),
        None => None,
      });
    }
    drop(get);
    Db::step(conn, "COMMIT");
    let found = out.iter().filter(|v| v.is_some()).count();
    (found, out.iter().flatten().map(Vec::len).sum())
  }

  #[inline(never)] // a function of its own in a profile
  fn save_creds(&self, text: &str) {
    self.overdue();
    Db::step(&self.writer, "BEGIN IMMEDIATE");
    self.writer.prepare_cached(PUT_CREDS).unwrap().execute([text]).unwrap();
    Db::step(&self.writer, "COMMIT");
  }

  fn count(&self, key_type: &str) -> i64 {
    self.writer.query_row("SELECT count(*) FROM signal_keys WHERE type = ?1", [key_type], |r| r.get(0)).unwrap()
  }

  /// As our `close()`: fold the WAL back, then close (untimed).
  fn close(self) -> PathBuf {
    let Db { path, writer, reader, checkpoints, checkpointer } = self;
    checkpoints.stop();
    if let Some(t) = checkpointer {
      t.join().unwrap();
    }
    drop(reader);
    let _: i64 = writer.query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |r| r.get(0)).unwrap();
    writer.close().map_err(|(_, e)| e).unwrap();
    path
  }
}

fn remove_db(path: &Path) {
  for suffix in ["", "-wal", "-shm"] {
    let _ = std::fs::remove_file(format!("{}{suffix}", path.display()));
  }
}

fn sync_all() {
  // What the harness does between turns (not timed): nothing left dirty by the previous one.
  let _ = std::process::Command::new("sync").status();
}

fn ms(t: Instant) -> f64 {
  t.elapsed().as_secs_f64() * 1000.0
}

struct Args {
  base: PathBuf,
  templates: PathBuf,
  workloads: Vec<u32>,
  syncs: Vec<String>,
  repeat: usize,
  w9_batches: usize,
  w9_batch: usize,
  keep_files: bool,
  /// Before each timed section, as the harness's `quiesce()` (which pauses
  /// 50 ms after a GC): the same time for the kernel to write back what the
  /// previous section left dirty.
  pause: Duration,
}

fn list(s: &str) -> Vec<u32> {
  s.split(',').filter(|x| !x.is_empty()).map(|x| x.trim().parse().expect("a number list")).collect()
}

fn parse_args() -> Args {
  let mut a = Args {
    base: std::env::temp_dir(),
    templates: PathBuf::new(),
    workloads: vec![1, 2, 3, 4, 5, 6, 9],
    syncs: vec!["full".into(), "normal".into()],
    repeat: 1,
    w9_batches: 100,
    w9_batch: 1000,
    keep_files: false,
    pause: Duration::from_millis(50),
  };
  let mut it = std::env::args().skip(1);
  while let Some(flag) = it.next() {
    let mut val = || it.next().unwrap_or_else(|| panic!("{flag} needs a value"));
    match flag.as_str() {
      "--base" => a.base = PathBuf::from(val()),
      "--templates" => a.templates = PathBuf::from(val()),
      "--workloads" => a.workloads = list(&val()),
      "--sync" => a.syncs = val().split(',').filter(|s| !s.is_empty()).map(str::to_owned).collect(),
      "--repeat" => a.repeat = val().parse().expect("--repeat R"),
      "--w9-batches" => a.w9_batches = val().parse().unwrap(),
      "--w9-batch" => a.w9_batch = val().parse().unwrap(),
      "--keep-files" => a.keep_files = true,
      "--reads" => match val().as_str() {
        "writer" => {}
        "reader" => READS_ON_READER.store(true, Ordering::Relaxed),
        other => panic!("--reads writer|reader, not {other}"),
      },
      "--checkpoint" => match val().as_str() {
        "background" => {}
        "inline" => INLINE_CHECKPOINTS.store(true, Ordering::Relaxed),
        other => panic!("--checkpoint background|inline, not {other}"),
      },
      "--pause-ms" => a.pause = Duration::from_millis(val().parse().expect("--pause-ms MS")),
      other => panic!("unknown option {other}"),
    }
  }
  for s in &a.syncs {
    assert!(s == "full" || s == "normal", "--sync takes full and/or normal, not {s}");
  }
  a
}

struct Sample {
  sync: String,
  workload: u32,
  ms: f64,
}

fn run_level(args: &Args, t: &Templates, sync: &str, out: &mut Vec<Sample>, seq: &mut u32, made: &mut Vec<PathBuf>) {
  sync_all();
  let full = sync == "full";
  let pause = || std::thread::sleep(args.pause);
  let has = |w: u32| args.workloads.contains(&w);
  let mut push = |workload: u32, ms: f64| out.push(Sample { sync: sync.to_owned(), workload, ms });
  let pre_keys: Vec<String> = (1..=PRE_KEYS).map(pre_key_id).collect();
  let sessions: Vec<String> = (0..SESSIONS).map(session_id).collect();
  let missing: Vec<String> = (0..MISSING).map(missing_id).collect();

  if [1, 2, 3, 4, 5, 6].iter().any(|&w| has(w)) {
    let db = Db::fresh(&args.base, seq, full);
    if has(1) || has(2) {
      pause();
      let t0 = Instant::now();
      db.put_keys("pre-key", &pre_keys, &t.pre_key);
      if has(1) {
        push(1, ms(t0));
      }
    }
    if has(2) {
      pause();
      let t0 = Instant::now();
      let (found, bytes) = db.get_keys("pre-key", &pre_keys);
      push(2, ms(t0));
      assert!(found == PRE_KEYS && bytes > 0, "pre-keys were not read");
    }
    if has(3) || has(4) {
      // The sessions exist before the timed overwrite (written untimed, as the harness does).
      db.put_keys("session", &sessions, &t.session);
      if has(3) {
        pause();
        let t0 = Instant::now();
        db.put_keys("session", &sessions, &t.session_b);
        push(3, ms(t0));
      }
    }
    if has(4) {
      pause();
      let t0 = Instant::now();
      let (found, _) = db.get_keys("session", &sessions);
      push(4, ms(t0));
      assert_eq!(found, SESSIONS, "sessions were not read");
    }
    if has(5) {
      pause();
      let t0 = Instant::now();
      let (found, _) = db.get_keys("session", &missing);
      push(5, ms(t0));
      assert_eq!(found, 0, "missing ids were found");
    }
    if has(6) {
      let texts = creds_texts(&t.creds, SAVES);
      pause();
      let t0 = Instant::now();
      for text in &texts {
        db.save_creds(text);
      }
      push(6, ms(t0));
    }
    made.push(db.close());
  }
  if has(9) {
    let db = Db::fresh(&args.base, seq, full);
    sync_all();
    let total = args.w9_batches * args.w9_batch;
    let ids: Vec<String> = (1..=total).map(pre_key_id).collect();
    pause();
    let t0 = Instant::now();
    for b in 0..args.w9_batches {
      db.put_keys("pre-key", &ids[b * args.w9_batch..(b + 1) * args.w9_batch], &t.w9);
    }
    push(9, ms(t0));
    assert_eq!(db.count("pre-key") as usize, total, "workload 9 wrote every key");
    made.push(db.close());
  }
}

fn main() {
  let args = parse_args();
  let t = load_templates(&args.templates);
  let mut out = Vec::new();
  let mut made = Vec::new();
  let mut seq = 0;
  for _ in 0..args.repeat {
    for sync in &args.syncs {
      run_level(&args, &t, sync, &mut out, &mut seq, &mut made);
    }
  }
  if !args.keep_files {
    for p in &made {
      remove_db(p);
    }
  }
  let results: Vec<String> =
    out.iter().map(|r| format!("{{\"sync\":\"{}\",\"workload\":{},\"ms\":{:.4}}}", r.sync, r.workload, r.ms)).collect();
  println!("{{\"sqlite\":\"{}\",\"results\":[{}]}}", rusqlite::version(), results.join(","));
}
