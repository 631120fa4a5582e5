//! The SQLite backend with real files and real processes: the file's format
//! (and Baileys' store's files), bad files left untouched, the owner lock
//! across processes, sharing inside one, bounded growth, a full disk and a
//! read-only file system.
//!
//! Some tests run a copy of this test binary as a child process: the child
//! runs one `#[ignore]`d test (`child_*`), told what to do by environment
//! variables, and does nothing when run without them.

// Linux only: it uses mount namespaces and a tmpfs for the full-disk case, and Unix modes. The behaviours it proves on
// other platforms are the jest suites' (which every runner of the workflow runs).
#![cfg(target_os = "linux")]

use std::collections::BTreeSet;
use std::fs;
use std::io::{BufRead, BufReader, Write};
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use baileys_auth_core::backend::{Backend, ErrorKind, KeyWrite};
use baileys_auth_core::backends::sqlite::schema::{APPLICATION_ID, QUARANTINE_TABLE, SCHEMA_VERSION};
use baileys_auth_core::backends::sqlite::{self, SqliteBackend, SqliteOptions};
use rusqlite::Connection;

static DIRS: AtomicUsize = AtomicUsize::new(0);

struct TempDir(PathBuf);

impl TempDir {
  fn new(tag: &str) -> TempDir {
    TempDir::under(&std::env::temp_dir(), tag)
  }

  fn under(base: &Path, tag: &str) -> TempDir {
    let p = base.join(format!("baileys-sqlite-{}-{tag}-{}", std::process::id(), DIRS.fetch_add(1, Ordering::SeqCst)));
    let _ = fs::remove_dir_all(&p);
    fs::create_dir_all(&p).unwrap();
    TempDir(p)
  }

  fn db(&self) -> PathBuf {
    self.0.join("auth.db")
  }
}

impl Drop for TempDir {
  fn drop(&mut self) {
    let _ = fs::remove_dir_all(&self.0);
  }
}

fn quick() -> SqliteOptions {
  SqliteOptions { fsync: false, ..SqliteOptions::default() }
}

fn open(db: &Path) -> SqliteBackend {
  sqlite::open(db, &quick()).unwrap()
}

fn get(b: &dyn Backend, key_type: &str, id: &str) -> Option<Vec<u8>> {
  b.read(key_type, vec![id.to_owned()]).wait().unwrap().pop().unwrap().unwrap()
}

/// Every file of a folder with its bytes: the whole on-disk state.
fn snapshot(dir: &Path) -> Vec<(String, Vec<u8>)> {
  let mut all: Vec<(String, Vec<u8>)> = fs::read_dir(dir)
    .unwrap()
    .map(|e| e.unwrap().path())
    .map(|p| (p.file_name().unwrap().to_string_lossy().into_owned(), fs::read(&p).unwrap()))
    .collect();
  all.sort();
  all
}

/// Like `snapshot`, without our lock file (taking the lock is not a change of the database).
fn db_files(dir: &Path) -> Vec<(String, Vec<u8>)> {
  snapshot(dir).into_iter().filter(|(name, _)| !name.ends_with(".lock")).collect()
}

fn schema_objects(conn: &Connection) -> Vec<(String, String)> {
  let mut stmt = conn.prepare("SELECT type, name FROM sqlite_schema ORDER BY name").unwrap();
  stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?))).unwrap().map(|r| r.unwrap()).collect()
}

#[test]
fn the_file_has_baileys_schema_and_our_header_fields() {
  let dir = TempDir::new("format");
  let b = open(&dir.db());
  b.save_creds(b"{\"noiseKey\":1}".to_vec()).wait().unwrap();
  b.apply(vec![KeyWrite::put("pre-key", "1", &b"{\"a\":1}"[..]), KeyWrite::put("session", "1234.0", &b"{}"[..])]).wait().unwrap();
  b.close().wait().unwrap();

  let mode = fs::metadata(dir.db()).unwrap().permissions().mode() & 0o777;
  assert_eq!(mode, 0o600, "a new database is the owner's alone");
  assert!(!dir.0.join("auth.db-wal").exists(), "close folds the WAL back in");

  let conn = Connection::open(dir.db()).unwrap();
  let want: Vec<(String, String)> = [
    ("table", QUARANTINE_TABLE),
    ("table", "creds"),
    ("table", "signal_keys"),
    ("index", "signal_keys_type_idx"),
    ("index", "sqlite_autoindex_creds_1"),
    ("index", "sqlite_autoindex_signal_keys_1"),
  ]
  .iter()
  .map(|(a, b)| (a.to_string(), b.to_string()))
  .collect();
  assert_eq!(schema_objects(&conn), want);
  let app: i32 = conn.query_row("PRAGMA application_id", [], |r| r.get(0)).unwrap();
  let version: i32 = conn.query_row("PRAGMA user_version", [], |r| r.get(0)).unwrap();
  let journal: String = conn.query_row("PRAGMA journal_mode", [], |r| r.get(0)).unwrap();
  assert_eq!((app, version, journal.as_str()), (APPLICATION_ID, SCHEMA_VERSION, "wal"));
  let creds: (String, String, String) =
    conn.query_row("SELECT key, value, typeof(value) FROM creds", [], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?))).unwrap();
  assert_eq!(creds, ("__creds__".to_owned(), "{\"noiseKey\":1}".to_owned(), "text".to_owned()));
  let mut stmt = conn.prepare("SELECT type, id, value, typeof(value) FROM signal_keys ORDER BY type, id").unwrap();
  let rows: Vec<(String, String, String, String)> =
    stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?))).unwrap().map(|r| r.unwrap()).collect();
  assert_eq!(
    rows,
    vec![
      ("pre-key".into(), "1".into(), "{\"a\":1}".into(), "text".into()),
      ("session".into(), "1234.0".into(), "{}".into(), "text".into())
    ]
  );
}

/// What Baileys' `useSqliteAuthState` does when it opens a file (its
/// statements and pragmas, per the contract document), done here with rusqlite.
fn open_like_baileys(db: &Path) -> Connection {
  let conn = Connection::open(db).unwrap();
  conn
    .execute_batch(
      "PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL;
       CREATE TABLE IF NOT EXISTS creds (key TEXT PRIMARY KEY, value TEXT NOT NULL);
       CREATE TABLE IF NOT EXISTS signal_keys (type TEXT NOT NULL, id TEXT NOT NULL, value TEXT NOT NULL, PRIMARY KEY (type, id));
       CREATE INDEX IF NOT EXISTS signal_keys_type_idx ON signal_keys(type);",
    )
    .unwrap();
  conn
}

/// A file as Baileys' store leaves it after a `saveCreds` and a `set`.
fn write_like_baileys(db: &Path) {
  let conn = open_like_baileys(db);
  conn
    .execute_batch(
      "BEGIN IMMEDIATE;
       INSERT INTO creds (key, value) VALUES ('__creds__', '{\"registrationId\":42}');
       INSERT INTO signal_keys (type, id, value) VALUES ('pre-key', '7', '{\"keyPair\":{}}');
       INSERT INTO signal_keys (type, id, value) VALUES ('sender-key', '1@g.us::2::0', '[1,2]');
       COMMIT;",
    )
    .unwrap();
}

#[test]
fn a_file_of_baileys_store_opens_and_stays_readable_by_it() {
  let dir = TempDir::new("interop");
  write_like_baileys(&dir.db());
  let b = open(&dir.db());
  assert_eq!(b.load_creds().wait().unwrap().as_deref(), Some(&b"{\"registrationId\":42}"[..]));
  assert_eq!(get(&b, "pre-key", "7").as_deref(), Some(&b"{\"keyPair\":{}}"[..]));
  assert_eq!(get(&b, "sender-key", "1@g.us::2::0").as_deref(), Some(&b"[1,2]"[..]));
  b.apply(vec![KeyWrite::put("pre-key", "8", &b"{}"[..])]).wait().unwrap();
  b.close().wait().unwrap();
  // Baileys' own statements still run on it and see our row.
  let conn = open_like_baileys(&dir.db());
  let v: String = conn.query_row("SELECT value FROM signal_keys WHERE type = 'pre-key' AND id = '8'", [], |r| r.get(0)).unwrap();
  assert_eq!(v, "{}");
}

#[test]
fn values_are_the_exact_bytes_and_must_be_utf8() {
  let dir = TempDir::new("bytes");
  let b = open(&dir.db());
  let odd = "{\"s\":\"\\ud83d lone, \u{2028}, \u{1F600}, nul:\u{0}\"}".as_bytes().to_vec();
  let big = vec![b'7'; 1 << 20];
  b.apply(vec![
    KeyWrite::put("session", "a", odd.clone()),
    KeyWrite::put("session", "big", big.clone()),
    KeyWrite::put("session", "empty", Vec::new()),
  ])
  .wait()
  .unwrap();
  assert_eq!(get(&b, "session", "a"), Some(odd));
  assert_eq!(get(&b, "session", "big"), Some(big));
  assert_eq!(get(&b, "session", "empty"), Some(Vec::new()));
  let e = b.save_creds(vec![b'{', 0xff, b'}']).wait().unwrap_err();
  assert_eq!(e.kind, ErrorKind::Invalid);
  b.close().wait().unwrap();
}

#[test]
fn a_set_is_all_or_nothing_across_types() {
  let dir = TempDir::new("atomic");
  let b = open(&dir.db());
  b.apply(vec![KeyWrite::put("session", "s", &b"old"[..])]).wait().unwrap();
  let e = b
    .apply(vec![
      KeyWrite::put("pre-key", "1", &b"{}"[..]),
      KeyWrite::delete("session", "s"),
      KeyWrite::put("sender-key", "x", &b"{}"[..]),
      KeyWrite::put("app-state-sync-key", "k", vec![0xe2, 0x82]),
    ])
    .wait()
    .unwrap_err();
  assert_eq!(e.kind, ErrorKind::Invalid);
  assert!(e.message.contains("app-state-sync-key") && e.message.contains("\"k\""), "{e}");
  assert_eq!(get(&b, "pre-key", "1"), None);
  assert_eq!(get(&b, "session", "s").as_deref(), Some(&b"old"[..]));
  assert_eq!(get(&b, "sender-key", "x"), None);
  b.close().wait().unwrap();
}

#[test]
fn concurrent_calls_are_grouped_and_each_is_acknowledged_after_its_commit() {
  let dir = TempDir::new("burst");
  let b = sqlite::open(dir.db(), &SqliteOptions::default()).unwrap();
  let before = b.stats();
  let calls: Vec<_> = (0..256).map(|i| b.apply(vec![KeyWrite::put("sender-key", format!("g{i}"), format!("{{\"n\":{i}}}"))])).collect();
  for c in calls {
    c.wait().unwrap();
  }
  let s = b.stats();
  assert_eq!(s.committed_calls - before.committed_calls, 256);
  // Issued back to back while fsyncs run: far fewer commits than calls.
  assert!(s.commits - before.commits <= 64, "{s:?}");
  assert!(s.largest_group > 1, "{s:?}");
  let ids: Vec<String> = (0..256).map(|i| format!("g{i}")).collect();
  assert!(b.read("sender-key", ids).wait().unwrap().iter().all(|r| matches!(r, Ok(Some(_)))));
  b.close().wait().unwrap();
}

#[test]
fn a_read_sees_every_write_issued_before_it_under_load() {
  let dir = TempDir::new("order");
  let b = open(&dir.db());
  let mut checks = Vec::new();
  for round in 0..200 {
    let id = format!("k{}", round % 7);
    let v = format!("{{\"round\":{round}}}").into_bytes();
    let w = b.apply(vec![KeyWrite::put("session", id.clone(), v.clone())]);
    let r = b.read("session", vec![id, "k-other".to_owned()]);
    checks.push((w, r, v));
  }
  for (w, r, v) in checks {
    assert_eq!(r.wait().unwrap()[0], Ok(Some(v)));
    w.wait().unwrap();
  }
  b.close().wait().unwrap();
}

#[test]
fn listing_pages_through_many_ids() {
  let dir = TempDir::new("list");
  let b = open(&dir.db());
  let ids: Vec<String> = (0..2500).map(|i| format!("{i}")).collect();
  b.apply(ids.iter().map(|id| KeyWrite::put("pre-key", id.clone(), &b"{}"[..])).collect()).wait().unwrap();
  b.apply(vec![KeyWrite::put("pre-keys", "0", &b"{}"[..]), KeyWrite::put("pre-ke", "9", &b"{}"[..])]).wait().unwrap();
  let mut seen = Vec::new();
  let mut after: Option<String> = None;
  let mut pages = 0;
  loop {
    let page = b.list_ids("pre-key", after.as_deref(), 1000).wait().unwrap();
    pages += 1;
    if page.is_empty() {
      break;
    }
    after = page.last().cloned();
    seen.extend(page);
  }
  assert_eq!(pages, 4, "three full pages and an empty one");
  let mut want = ids.clone();
  want.sort();
  assert_eq!(seen, want);
  assert_eq!(b.list_ids("pre-key", None, 0).wait().unwrap(), Vec::<String>::new());
  b.close().wait().unwrap();
}

#[test]
fn clear_keeps_the_credentials_and_quarantine_keeps_the_bytes() {
  let dir = TempDir::new("clear");
  let b = open(&dir.db());
  b.save_creds(b"{\"me\":true}".to_vec()).wait().unwrap();
  b.apply(vec![KeyWrite::put("session", "bad", vec![b'{'; 3]), KeyWrite::put("session", "good", &b"{}"[..])]).wait().unwrap();
  b.quarantine("session", "bad", vec![b'{'; 3], "Unexpected end of JSON input").wait().unwrap();
  assert_eq!(get(&b, "session", "bad"), None);
  b.clear().wait().unwrap();
  assert_eq!(get(&b, "session", "good"), None);
  assert_eq!(b.load_creds().wait().unwrap().as_deref(), Some(&b"{\"me\":true}"[..]));
  b.close().wait().unwrap();
  let conn = Connection::open(dir.db()).unwrap();
  let kept: (String, String, Vec<u8>, String, i64) = conn
    .query_row(&format!("SELECT type, id, value, reason, at FROM {QUARANTINE_TABLE}"), [], |r| {
      Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?))
    })
    .unwrap();
  assert_eq!(
    (kept.0.as_str(), kept.1.as_str(), kept.2.as_slice(), kept.3.as_str()),
    ("session", "bad", &b"{{{"[..], "Unexpected end of JSON input")
  );
  assert!(kept.4 > 1_600_000_000_000, "a time in ms");
}

#[test]
fn reopening_in_the_process_shares_the_store() {
  let dir = TempDir::new("share");
  let a = open(&dir.db());
  // Through another spelling of the same path.
  let b = sqlite::open(dir.0.join(".").join("auth.db"), &quick()).unwrap();
  assert_eq!(a.path(), b.path());
  a.apply(vec![KeyWrite::put("pre-key", "1", &b"{}"[..])]).wait().unwrap();
  assert_eq!(get(&b, "pre-key", "1").as_deref(), Some(&b"{}"[..]));
  a.close().wait().unwrap();
  assert_eq!(a.load_creds().wait().unwrap_err().kind, ErrorKind::Closed);
  // The other handle still works, and still holds the owner lock.
  b.save_creds(b"{}".to_vec()).wait().unwrap();
  assert_eq!(child_open(&dir.db()).0, "locked");
  b.close().wait().unwrap();
  assert_eq!(child_open(&dir.db()).0, "opened");
  // Closed everywhere: the next open starts the store again.
  let c = open(&dir.db());
  assert_eq!(c.load_creds().wait().unwrap().as_deref(), Some(&b"{}"[..]));
  drop(c);
  // A handle dropped without close closes too.
  let d = open(&dir.db());
  d.close().wait().unwrap();
}

/// Runs a child that opens `db` once and reports what happened.
fn child_open(db: &Path) -> (String, Duration) {
  let out = Command::new(std::env::current_exe().unwrap())
    .args(["--exact", "child_open_once", "--ignored", "--nocapture", "--test-threads=1"])
    .env("BAILEYS_SQLITE_CHILD_DB", db)
    .output()
    .unwrap();
  let text = String::from_utf8_lossy(&out.stdout);
  let line = text.lines().find_map(|l| l.split_once("CHILD ").map(|(_, rest)| rest)).unwrap_or_else(|| panic!("child said: {text}"));
  let (what, micros) = line.split_once(' ').unwrap();
  (what.to_owned(), Duration::from_micros(micros.parse().unwrap()))
}

#[test]
#[ignore = "run by child_open()"]
fn child_open_once() {
  let Some(db) = std::env::var_os("BAILEYS_SQLITE_CHILD_DB") else { return };
  let t = Instant::now();
  let what = match sqlite::open(&db, &quick()) {
    Ok(b) => {
      b.close().wait().unwrap();
      "opened".to_owned()
    }
    Err(e) if e.kind == ErrorKind::Locked => "locked".to_owned(),
    Err(e) => format!("error:{:?}", e.kind),
  };
  println!("CHILD {what} {}", t.elapsed().as_micros());
}

#[test]
#[ignore = "run by a_second_process_is_refused_quickly"]
fn child_hold_lock() {
  let Some(db) = std::env::var_os("BAILEYS_SQLITE_CHILD_DB") else { return };
  let b = sqlite::open(&db, &quick()).unwrap();
  b.save_creds(b"{\"owner\":\"child\"}".to_vec()).wait().unwrap();
  println!("READY");
  std::io::stdout().flush().unwrap();
  // Hold the store until the parent closes our stdin.
  let mut line = String::new();
  let _ = std::io::stdin().read_line(&mut line);
  b.close().wait().unwrap();
}

#[test]
fn a_second_process_is_refused_quickly() {
  let dir = TempDir::new("lock");
  let mut child = Command::new(std::env::current_exe().unwrap())
    .args(["--exact", "child_hold_lock", "--ignored", "--nocapture", "--test-threads=1"])
    .env("BAILEYS_SQLITE_CHILD_DB", dir.db())
    .stdin(Stdio::piped())
    .stdout(Stdio::piped())
    .spawn()
    .unwrap();
  let mut out = BufReader::new(child.stdout.take().unwrap());
  let mut line = String::new();
  while !line.contains("READY") {
    line.clear();
    assert!(out.read_line(&mut line).unwrap() > 0, "the child ended before it held the lock");
  }
  let t = Instant::now();
  let e = sqlite::open(dir.db(), &quick()).err().expect("the child owns the file");
  assert!(t.elapsed() < Duration::from_millis(500), "refused at once, took {:?}", t.elapsed());
  assert_eq!(e.kind, ErrorKind::Locked);
  assert_eq!(e.code, "EBAILEYSLOCKED");
  assert_eq!(e.owner_pid, Some(child.id()));
  assert!(e.message.contains(&child.id().to_string()), "{e}");
  drop(child.stdin.take());
  assert!(child.wait().unwrap().success());
  // The owner is gone: the file opens, with what the child wrote.
  let b = open(&dir.db());
  assert_eq!(b.load_creds().wait().unwrap().as_deref(), Some(&b"{\"owner\":\"child\"}"[..]));
  b.close().wait().unwrap();
}

/// Opens `db`, which must be refused with `kind`, and checks that no byte of
/// the folder changed and no file appeared (the lock file aside).
fn refused_untouched(dir: &TempDir, kind: ErrorKind) -> String {
  let before = db_files(&dir.0);
  let e = sqlite::open(dir.db(), &quick()).err().unwrap_or_else(|| panic!("expected {kind:?}"));
  assert_eq!(e.kind, kind, "{e}");
  assert_eq!(db_files(&dir.0), before, "the files are left as they were");
  e.message
}

#[test]
fn files_that_are_not_databases_are_corrupt_and_untouched() {
  let cases: Vec<(&str, Vec<u8>)> = vec![
    ("text", b"{\"noiseKey\":{\"private\":\"...\"}}".to_vec()),
    ("short", b"SQLite format 3\0".to_vec()),
    ("zeros", vec![0; 8192]),
    ("random", (0..65536u32).map(|i| (i.wrapping_mul(2654435761) >> 13) as u8).collect()),
  ];
  for (tag, bytes) in cases {
    let dir = TempDir::new(tag);
    fs::write(dir.db(), &bytes).unwrap();
    let message = refused_untouched(&dir, ErrorKind::Corrupt);
    assert!(message.contains("left untouched"), "{message}");
    assert_eq!(fs::read(dir.db()).unwrap(), bytes);
  }
}

/// A database of ours with enough keys to span many pages.
fn filled(dir: &TempDir) {
  let b = open(&dir.db());
  b.save_creds(b"{\"creds\":1}".to_vec()).wait().unwrap();
  b.apply(
    (0..2000).map(|i| KeyWrite::put("session", format!("{i}.0"), format!("{{\"n\":{i},\"pad\":\"{}\"}}", "x".repeat(300)))).collect(),
  )
  .wait()
  .unwrap();
  b.close().wait().unwrap();
}

#[test]
fn a_damaged_database_is_corrupt_and_untouched() {
  type Damage = fn(&mut Vec<u8>);
  let cases: [(&str, Damage); 4] = [
    ("header", |f| f[16..18].copy_from_slice(&[0x12, 0x34])),
    ("page", |f| f[4096 * 5..4096 * 5 + 64].fill(0xa5)),
    ("schema-page", |f| f[100..200].fill(0x5a)),
    ("truncated", |f| f.truncate(f.len() / 2)),
  ];
  for (tag, damage) in cases {
    let dir = TempDir::new(tag);
    filled(&dir);
    let mut bytes = fs::read(dir.db()).unwrap();
    damage(&mut bytes);
    fs::write(dir.db(), &bytes).unwrap();
    let message = refused_untouched(&dir, ErrorKind::Corrupt);
    assert!(message.contains("auth.db"), "{tag}: {message}");
    assert_eq!(fs::read(dir.db()).unwrap(), bytes, "{tag}");
  }
}

#[test]
fn a_newer_schema_or_another_application_is_refused_untouched() {
  for (tag, pragmas, kind) in [
    ("newer", format!("PRAGMA application_id = {APPLICATION_ID}; PRAGMA user_version = {};", SCHEMA_VERSION + 1), ErrorKind::Unsupported),
    ("foreign-app", "PRAGMA application_id = 1234;".to_owned(), ErrorKind::Invalid),
    ("foreign-table", "CREATE TABLE users (name TEXT);".to_owned(), ErrorKind::Invalid),
    ("other-shape", "CREATE TABLE signal_keys (type TEXT, id TEXT, value BLOB);".to_owned(), ErrorKind::Invalid),
  ] {
    let dir = TempDir::new(tag);
    if tag == "newer" {
      filled(&dir);
    }
    let conn = Connection::open(dir.db()).unwrap();
    conn.execute_batch(&pragmas).unwrap();
    drop(conn);
    let message = refused_untouched(&dir, kind);
    assert!(message.contains("left untouched"), "{message}");
  }
}

#[test]
fn an_empty_file_is_an_empty_store() {
  let dir = TempDir::new("empty");
  fs::write(dir.db(), b"").unwrap();
  let b = open(&dir.db());
  assert_eq!(b.load_creds().wait().unwrap(), None);
  b.close().wait().unwrap();
}

#[test]
fn a_missing_folder_is_an_io_error() {
  let dir = TempDir::new("nofolder");
  let e = sqlite::open(dir.0.join("no").join("auth.db"), &quick()).err().unwrap();
  assert_eq!((e.kind, e.code), (ErrorKind::Io, "ENOENT"));
}

#[test]
fn a_crash_leaves_a_wal_that_the_next_open_recovers() {
  let dir = TempDir::new("crash");
  // A child writes and is killed before it closes: its WAL stays.
  crash_after_commit(&dir.db());
  assert!(fs::metadata(dir.0.join("auth.db-wal")).map(|m| m.len() > 0).unwrap_or(false), "the WAL holds the commit");
  let b = open(&dir.db());
  assert_eq!(b.load_creds().wait().unwrap().as_deref(), Some(&b"{\"owner\":\"child\"}"[..]));
  b.close().wait().unwrap();
  let conn = Connection::open(dir.db()).unwrap();
  let ok: String = conn.query_row("PRAGMA integrity_check", [], |r| r.get(0)).unwrap();
  assert_eq!(ok, "ok");
}

/// Starts a child that opens `db`, writes its credentials and waits; kills it
/// once it has, so that its WAL stays behind as after a crash.
fn crash_after_commit(db: &Path) {
  let mut child = Command::new(std::env::current_exe().unwrap())
    .args(["--exact", "child_hold_lock", "--ignored", "--nocapture", "--test-threads=1"])
    .env("BAILEYS_SQLITE_CHILD_DB", db)
    .stdin(Stdio::piped())
    .stdout(Stdio::piped())
    .spawn()
    .unwrap();
  let mut out = BufReader::new(child.stdout.take().unwrap());
  let mut line = String::new();
  while !line.contains("READY") {
    line.clear();
    assert!(out.read_line(&mut line).unwrap() > 0);
  }
  child.kill().unwrap();
  child.wait().unwrap();
}

#[test]
fn a_damaged_database_with_a_crash_wal_is_corrupt_and_untouched() {
  let dir = TempDir::new("crash-corrupt");
  filled(&dir);
  crash_after_commit(&dir.db());
  let wal = dir.0.join("auth.db-wal");
  assert!(fs::metadata(&wal).unwrap().len() > 0);
  let mut bytes = fs::read(dir.db()).unwrap();
  bytes[4096 * 7..4096 * 7 + 512].fill(0x3c);
  fs::write(dir.db(), &bytes).unwrap();
  let wal_bytes = fs::read(&wal).unwrap();
  let e = sqlite::open(dir.db(), &quick()).err().expect("corrupt");
  assert_eq!(e.kind, ErrorKind::Corrupt, "{e}");
  // The checks needed a normal connection (recovery rebuilt the -shm index),
  // but neither the database nor its WAL changed.
  assert_eq!(fs::read(dir.db()).unwrap(), bytes);
  assert_eq!(fs::read(&wal).unwrap(), wal_bytes);
}

#[test]
fn a_hundred_thousand_keys_keep_the_wal_bounded() {
  let dir = TempDir::new("growth");
  let b = open(&dir.db());
  let wal = dir.0.join("auth.db-wal");
  let mut largest_wal = 0;
  let t = Instant::now();
  for batch in 0..100 {
    let ops = (0..1000)
      .map(|i| {
        let n = batch * 1000 + i;
        // About the size of a pre-key record.
        KeyWrite::put("pre-key", n.to_string(), format!("{{\"keyPair\":{{\"private\":\"{n:0>44}\",\"public\":\"{n:0>44}\"}},\"n\":{n}}}"))
      })
      .collect();
    b.apply(ops).wait().unwrap();
    largest_wal = largest_wal.max(fs::metadata(&wal).map(|m| m.len()).unwrap_or(0));
  }
  let elapsed = t.elapsed();
  assert_eq!(b.list_ids("pre-key", Some("99998"), 10).wait().unwrap(), vec!["99999".to_owned()]);
  let stats = b.stats();
  assert!(stats.checkpoints + stats.writer_checkpoints > 0, "{stats:?}");
  b.close().wait().unwrap();
  let db = fs::metadata(dir.db()).unwrap().len();
  let wal_after = fs::metadata(&wal).map(|m| m.len()).unwrap_or(0);
  println!(
    "100k keys in batches of 1,000: {elapsed:?}; largest WAL {} KiB; database {} KiB; checkpoints {} in the background, {} by the writer",
    largest_wal >> 10,
    db >> 10,
    stats.checkpoints,
    stats.writer_checkpoints
  );
  assert!(largest_wal < 24 << 20, "WAL grew to {largest_wal} bytes");
  assert!(db < 48 << 20 && db > 4 << 20, "database is {db} bytes");
  assert_eq!(wal_after, 0, "no WAL left after close");
}

// ---- A full disk and a read-only file system, on a small tmpfs mounted in
// a private mount namespace of a child process (needs CAP_SYS_ADMIN; the
// test says so and passes when the machine does not allow it).

#[test]
fn full_disk_and_read_only_give_typed_errors_and_keep_the_data() {
  let out = Command::new(std::env::current_exe().unwrap())
    .args(["--exact", "child_small_disk", "--ignored", "--nocapture", "--test-threads=1"])
    .env("BAILEYS_SQLITE_CHILD_DISK", "1")
    .output()
    .unwrap();
  let text = String::from_utf8_lossy(&out.stdout);
  if text.contains("SKIP") {
    eprintln!("skipped: {}", text.lines().find(|l| l.contains("SKIP")).unwrap());
    return;
  }
  assert!(out.status.success() && text.contains("DISK OK"), "child:\n{text}\n{}", String::from_utf8_lossy(&out.stderr));
}

fn sh(args: &[&str]) -> bool {
  Command::new(args[0]).args(&args[1..]).status().map(|s| s.success()).unwrap_or(false)
}

#[test]
#[ignore = "run by full_disk_and_read_only_give_typed_errors_and_keep_the_data"]
fn child_small_disk() {
  if std::env::var_os("BAILEYS_SQLITE_CHILD_DISK").is_none() {
    return;
  }
  // SAFETY: plain system calls; the child has no other use for its mount table.
  let private = unsafe {
    libc::unshare(libc::CLONE_NEWNS) == 0
      && libc::mount(c"none".as_ptr(), c"/".as_ptr(), std::ptr::null(), libc::MS_REC | libc::MS_PRIVATE, std::ptr::null()) == 0
  };
  let mnt = TempDir::new("tmpfs");
  let m = mnt.0.to_str().unwrap();
  if !private || !sh(&["mount", "-t", "tmpfs", "-o", "size=8m,mode=0700", "tmpfs", m]) {
    println!("SKIP: cannot mount a tmpfs here (needs CAP_SYS_ADMIN)");
    return;
  }
  let db = mnt.0.join("auth.db");
  let b = sqlite::open(&db, &SqliteOptions::default()).unwrap();
  b.save_creds(b"{\"creds\":\"kept\"}".to_vec()).wait().unwrap();
  b.apply((0..100).map(|i| KeyWrite::put("session", i.to_string(), format!("{{\"v\":{i}}}"))).collect()).wait().unwrap();

  // Fill what is left of the file system.
  let mut filler = fs::File::create(mnt.0.join("filler")).unwrap();
  let chunk = vec![0u8; 64 << 10];
  while filler.write_all(&chunk).is_ok() {}
  let _ = filler.write_all(&[0u8; 512]);
  drop(filler);

  let big = |tag: &str| (0..500).map(|i| KeyWrite::put("session", format!("{tag}{i}"), vec![b'x'; 2048])).collect::<Vec<_>>();
  let e = b.apply(big("full")).wait().unwrap_err();
  assert_eq!(e.kind, ErrorKind::Full, "{e:?}");
  assert_eq!(e.code, "ENOSPC");
  // What was committed before is intact and readable; nothing of the failed call is there.
  assert_eq!(b.load_creds().wait().unwrap().as_deref(), Some(&b"{\"creds\":\"kept\"}"[..]));
  assert_eq!(get(&b, "session", "99").as_deref(), Some(&b"{\"v\":99}"[..]));
  assert_eq!(get(&b, "session", "full0"), None);

  // Space back: the store works again.
  fs::remove_file(mnt.0.join("filler")).unwrap();
  b.apply(big("after")).wait().unwrap();
  assert_eq!(get(&b, "session", "after499").map(|v| v.len()), Some(2048));
  b.close().wait().unwrap();

  // Read-only file system: a typed error at open, and the file intact.
  assert!(sh(&["mount", "-o", "remount,ro", m]));
  let before = db_files(&mnt.0);
  let e = sqlite::open(&db, &SqliteOptions { lock: false, ..SqliteOptions::default() }).err().expect("read-only");
  assert_eq!(e.kind, ErrorKind::ReadOnly, "{e:?}");
  assert_eq!(db_files(&mnt.0), before);
  assert!(sh(&["mount", "-o", "remount,rw", m]));
  let b = sqlite::open(&db, &SqliteOptions::default()).unwrap();
  assert_eq!(get(&b, "session", "after0").map(|v| v.len()), Some(2048));
  b.close().wait().unwrap();
  let conn = Connection::open(&db).unwrap();
  let ok: String = conn.query_row("PRAGMA integrity_check", [], |r| r.get(0)).unwrap();
  assert_eq!(ok, "ok");
  drop(conn);
  sh(&["umount", m]);
  println!("DISK OK");
}

#[test]
fn an_unknown_type_lists_nothing_and_ids_are_sorted_by_bytes() {
  let dir = TempDir::new("sorted");
  let b = open(&dir.db());
  let ids = ["b", "a", "B", "é", "aa", "10", "9"];
  b.apply(ids.iter().map(|id| KeyWrite::put("t", *id, &b"1"[..])).collect()).wait().unwrap();
  let got = b.list_ids("t", None, 100).wait().unwrap();
  let want: BTreeSet<&str> = ids.iter().copied().collect();
  assert_eq!(got, want.iter().map(|s| s.to_string()).collect::<Vec<_>>());
  b.close().wait().unwrap();
}

// ---- The WAL's fsync comes before every acknowledgement, grouped calls
// included: a child writes under strace and prints a marker at each step.

#[test]
#[ignore = "run by every_acknowledgement_follows_an_fsync_of_the_wal"]
fn child_acknowledged_writes() {
  let Some(db) = std::env::var_os("BAILEYS_SQLITE_CHILD_DB") else { return };
  let b = sqlite::open(&db, &SqliteOptions::default()).unwrap();
  let mut out = std::io::stdout();
  for round in 0..5 {
    writeln!(out, "ISSUE {round}").unwrap();
    let calls: Vec<_> = (0..8).map(|i| b.apply(vec![KeyWrite::put("session", format!("{round}.{i}"), &b"{}"[..])])).collect();
    for (i, c) in calls.into_iter().enumerate() {
      c.wait().unwrap();
      writeln!(out, "ACK {round}.{i}").unwrap();
    }
  }
  b.close().wait().unwrap();
}

#[test]
fn every_acknowledgement_follows_an_fsync_of_the_wal() {
  let dir = TempDir::new("strace");
  let trace = dir.0.join("trace.txt");
  let status = Command::new("strace")
    .args(["-f", "-y", "-qq", "-e", "trace=fsync,fdatasync,write,pwrite64", "-o"])
    .arg(&trace)
    .arg(std::env::current_exe().unwrap())
    .args(["--exact", "child_acknowledged_writes", "--ignored", "--nocapture", "--test-threads=1"])
    .env("BAILEYS_SQLITE_CHILD_DB", dir.db())
    .stdout(Stdio::null())
    .status();
  match status {
    Ok(s) if s.success() => {}
    other => {
      eprintln!("skipped: strace cannot run here ({other:?})");
      return;
    }
  }
  let text = fs::read_to_string(&trace).unwrap();
  // Per round: the WAL is fsynced after the calls were issued and before the
  // first of them is acknowledged; and when the last one is acknowledged
  // (nothing else is in flight then), no WAL write is left unsynced. (Which
  // group each call went in is not visible here; the unit tests hold the
  // writer to show that no call of a group is answered before its COMMIT.)
  let (mut synced, mut dirty, mut acks) = (false, false, 0);
  for line in text.lines() {
    let wal = line.contains("auth.db-wal>");
    if line.contains("\"ISSUE ") {
      synced = false;
    } else if wal && (line.contains("fdatasync(") || line.contains("fsync(")) {
      (synced, dirty) = (true, false);
    } else if wal && line.contains("pwrite64(") {
      dirty = true;
    } else if line.contains("\"ACK ") {
      assert!(synced, "an acknowledgement before the WAL's fsync: {line}");
      assert!(!(line.contains(".7\\n") && dirty), "the last acknowledgement with WAL writes unsynced: {line}");
      acks += 1;
    }
  }
  assert_eq!(acks, 40, "every call acknowledged:\n{text}");
}
