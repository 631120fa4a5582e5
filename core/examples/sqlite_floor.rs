//! Timings of the SQLite backend with no JavaScript at all: what the napi
//! layer can at best reach. Medians of several rounds, each on a fresh file
//! where the workload needs one.
//!
//! `cargo run -p baileys_auth_core --release --example sqlite_floor [rounds]`
//!
//! It also measures the two ways to read many ids (a loop over one cached
//! statement, or one `IN (SELECT value FROM json_each(?))` statement) on a
//! plain rusqlite connection, which is how the reader's choice was made.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use baileys_auth_core::backend::{Backend, KeyWrite};
use baileys_auth_core::backends::sqlite::{self, SqliteBackend, SqliteOptions};
use rusqlite::Connection;

fn b64(n: usize, salt: usize) -> String {
  const A: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  (0..n).map(|i| A[(i * 7 + salt * 13) % 64] as char).collect()
}

/// A pre-key record as Baileys encodes one: about 150 bytes.
fn pre_key(i: usize) -> Vec<u8> {
  format!(
    "{{\"private\":{{\"type\":\"Buffer\",\"data\":\"{}=\"}},\"public\":{{\"type\":\"Buffer\",\"data\":\"{}=\"}}}}",
    b64(43, i),
    b64(43, i + 1)
  )
  .into_bytes()
}

/// A session record of 2 KiB.
fn session(i: usize) -> Vec<u8> {
  let mut v = format!("{{\"_sessions\":{{\"{}\":{{\"pad\":\"", b64(44, i)).into_bytes();
  v.resize(2048 - 4, b'Q');
  v.extend_from_slice(b"\"}}}");
  v
}

fn median(mut v: Vec<Duration>) -> Duration {
  v.sort();
  v[v.len() / 2]
}

fn ms(d: Duration) -> String {
  format!("{:>8.2} ms", d.as_secs_f64() * 1e3)
}

struct Scratch {
  dir: PathBuf,
  n: usize,
}

impl Scratch {
  fn new() -> Scratch {
    let dir = std::env::temp_dir().join(format!("baileys-sqlite-floor-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    Scratch { dir, n: 0 }
  }

  fn fresh(&mut self) -> PathBuf {
    self.n += 1;
    self.dir.join(format!("f{}.db", self.n))
  }
}

impl Drop for Scratch {
  fn drop(&mut self) {
    let _ = std::fs::remove_dir_all(&self.dir);
  }
}

fn ids(n: usize, prefix: &str) -> Vec<String> {
  (0..n).map(|i| format!("{prefix}{i}")).collect()
}

fn time(f: impl FnOnce()) -> Duration {
  let t = Instant::now();
  f();
  t.elapsed()
}

fn open(path: &Path, fsync: bool) -> SqliteBackend {
  sqlite::open(path, &SqliteOptions { fsync, ..SqliteOptions::default() }).unwrap()
}

fn backend_rounds(rounds: usize, fsync: bool, scratch: &mut Scratch) {
  let mut rows: Vec<(&str, Vec<Duration>)> = vec![
    ("open a new file", vec![]),
    ("set 812 pre-keys (fresh file)", vec![]),
    ("overwrite 500 sessions of 2 KiB", vec![]),
    ("get 812 pre-keys", vec![]),
    ("get 500 sessions", vec![]),
    ("get 1,000 missing ids", vec![]),
    ("get 812 pre-keys, again", vec![]),
    ("get 500 sessions, again", vec![]),
    ("200 sequential saveCreds", vec![]),
    ("64 concurrent small sets", vec![]),
    ("close (checkpoint)", vec![]),
  ];
  let pre_ids = ids(812, "");
  let sess_ids = ids(500, "1234567890.");
  for _ in 0..rounds {
    let path = scratch.fresh();
    let mut b = None;
    rows[0].1.push(time(|| b = Some(open(&path, fsync))));
    let b = b.unwrap();
    let ops: Vec<KeyWrite> = pre_ids.iter().enumerate().map(|(i, id)| KeyWrite::put("pre-key", id.clone(), pre_key(i))).collect();
    rows[1].1.push(time(|| b.apply(ops).wait().unwrap()));
    b.apply(sess_ids.iter().enumerate().map(|(i, id)| KeyWrite::put("session", id.clone(), session(i))).collect()).wait().unwrap();
    let ops: Vec<KeyWrite> = sess_ids.iter().enumerate().map(|(i, id)| KeyWrite::put("session", id.clone(), session(i + 1))).collect();
    rows[2].1.push(time(|| b.apply(ops).wait().unwrap()));
    rows[3].1.push(time(|| assert!(b.read("pre-key", pre_ids.clone()).wait().unwrap().iter().all(|r| matches!(r, Ok(Some(_)))))));
    rows[4].1.push(time(|| assert!(b.read("session", sess_ids.clone()).wait().unwrap().iter().all(|r| matches!(r, Ok(Some(_)))))));
    let missing = ids(1000, "nope-");
    rows[5].1.push(time(|| assert!(b.read("pre-key", missing).wait().unwrap().iter().all(|r| matches!(r, Ok(None))))));
    let creds = session(7)[..1400].to_vec();
    rows[6].1.push(time(|| assert!(b.read("pre-key", pre_ids.clone()).wait().unwrap().iter().all(|r| matches!(r, Ok(Some(_)))))));
    rows[7].1.push(time(|| assert!(b.read("session", sess_ids.clone()).wait().unwrap().iter().all(|r| matches!(r, Ok(Some(_)))))));
    rows[8].1.push(time(|| {
      for i in 0..200 {
        let mut c = creds.clone();
        c[20] = b'A' + (i % 26) as u8;
        b.save_creds(c).wait().unwrap();
      }
    }));
    rows[9].1.push(time(|| {
      let calls: Vec<_> = (0..64)
        .map(|i| {
          b.apply(vec![KeyWrite::put("sender-key", format!("123@g.us::{i}::0"), pre_key(i)), KeyWrite::delete("pre-key", format!("{i}"))])
        })
        .collect();
      for c in calls {
        c.wait().unwrap();
      }
    }));
    rows[10].1.push(time(|| b.close().wait().unwrap()));
  }
  for (name, v) in rows {
    println!("  {name:<34} {}", ms(median(v)));
  }
}

fn hundred_thousand(fsync: bool, scratch: &mut Scratch) {
  let path = scratch.fresh();
  let b = open(&path, fsync);
  let t = Instant::now();
  for batch in 0..100 {
    b.apply((0..1000).map(|i| KeyWrite::put("pre-key", (batch * 1000 + i).to_string(), pre_key(i))).collect()).wait().unwrap();
  }
  let write = t.elapsed();
  b.close().wait().unwrap();
  let size = std::fs::metadata(&path).unwrap().len();
  let t = Instant::now();
  let b = open(&path, fsync);
  let reopen = t.elapsed();
  b.close().wait().unwrap();
  println!(
    "  {:<34} {}   (file {:.1} MiB; reopen with checks {})",
    "100,000 keys in batches of 1,000",
    ms(write),
    size as f64 / 1048576.0,
    ms(reopen).trim()
  );
}

/// A plain connection, the same schema, to compare read strategies.
fn read_strategies(rounds: usize, scratch: &mut Scratch) {
  let path = scratch.fresh();
  let b = open(&path, false);
  b.apply((0..812).map(|i| KeyWrite::put("pre-key", i.to_string(), pre_key(i))).collect()).wait().unwrap();
  b.apply((0..500).map(|i| KeyWrite::put("session", format!("1234567890.{i}"), session(i))).collect()).wait().unwrap();
  b.close().wait().unwrap();
  let conn = Connection::open(&path).unwrap();

  let looped = |key_type: &str, ids: &[String]| -> usize {
    conn.execute_batch("BEGIN").unwrap();
    let mut stmt = conn.prepare_cached("SELECT value FROM signal_keys WHERE type = ?1 AND id = ?2").unwrap();
    let mut found = 0;
    for id in ids {
      let mut rows = stmt.query((key_type, id)).unwrap();
      if let Some(row) = rows.next().unwrap() {
        let v: &[u8] = row.get_ref(0).unwrap().as_bytes().unwrap();
        found += usize::from(!v.is_empty());
      }
    }
    conn.execute_batch("COMMIT").unwrap();
    found
  };
  let json_each = |key_type: &str, ids: &[String]| -> usize {
    let mut array = String::from("[");
    for (i, id) in ids.iter().enumerate() {
      if i > 0 {
        array.push(',');
      }
      array.push('"');
      array.push_str(id); // the ids here need no escaping
      array.push('"');
    }
    array.push(']');
    let mut stmt =
      conn.prepare_cached("SELECT id, value FROM signal_keys WHERE type = ?1 AND id IN (SELECT value FROM json_each(?2))").unwrap();
    let mut rows = stmt.query((key_type, &array)).unwrap();
    // The caller needs the answers in request order: map them back.
    let mut by_id = std::collections::HashMap::with_capacity(ids.len());
    while let Some(row) = rows.next().unwrap() {
      let id: String = row.get(0).unwrap();
      let v: Vec<u8> = row.get_ref(1).unwrap().as_bytes().unwrap().to_vec();
      by_id.insert(id, v);
    }
    ids.iter().filter(|id| by_id.contains_key(*id)).count()
  };
  let pre = ids(812, "");
  let sess = ids(500, "1234567890.");
  let missing = ids(1000, "nope-");
  println!("\nreading many ids on one plain connection (median of {rounds}):");
  println!("  {:<34} {:>11} {:>11}", "", "loop", "json_each");
  for (name, key_type, set, want) in
    [("812 pre-keys", "pre-key", &pre, 812), ("500 sessions", "session", &sess, 500), ("1,000 missing", "pre-key", &missing, 0)]
  {
    let mut a = Vec::new();
    let mut j = Vec::new();
    for _ in 0..rounds {
      a.push(time(|| assert_eq!(looped(key_type, set), want)));
      j.push(time(|| assert_eq!(json_each(key_type, set), want)));
    }
    println!("  {name:<34} {} {}", ms(median(a)), ms(median(j)));
  }
}

/// The same 812-key set on a plain connection, no threads: the floor of the floor.
fn plain_set(rounds: usize, fsync: bool, scratch: &mut Scratch) {
  let mut v = Vec::new();
  for _ in 0..rounds {
    let path = scratch.fresh();
    let b = open(&path, fsync);
    b.close().wait().unwrap();
    let conn = Connection::open(&path).unwrap();
    conn.pragma_update(None, "journal_mode", "WAL").unwrap();
    conn.pragma_update(None, "synchronous", if fsync { "FULL" } else { "NORMAL" }).unwrap();
    let values: Vec<Vec<u8>> = (0..812).map(pre_key).collect();
    v.push(time(|| {
      conn.execute_batch("BEGIN IMMEDIATE").unwrap();
      let mut stmt = conn
        .prepare_cached(
          "INSERT INTO signal_keys (type, id, value) VALUES (?1, ?2, ?3) ON CONFLICT (type, id) DO UPDATE SET value = excluded.value",
        )
        .unwrap();
      for (i, value) in values.iter().enumerate() {
        stmt.execute(("pre-key", i.to_string(), std::str::from_utf8(value).unwrap())).unwrap();
      }
      conn.execute_batch("COMMIT").unwrap();
    }));
  }
  println!("  {:<34} {}", "(plain rusqlite, same 812 set)", ms(median(v)));
}

fn main() {
  let rounds: usize = std::env::args().nth(1).and_then(|a| a.parse().ok()).unwrap_or(7);
  let mut scratch = Scratch::new();
  println!("SQLite {} (bundled), medians of {rounds} rounds, files in {}", rusqlite::version(), std::env::temp_dir().display());
  for fsync in [true, false] {
    println!("\nfsync: {fsync} (synchronous = {})", if fsync { "FULL" } else { "NORMAL" });
    backend_rounds(rounds, fsync, &mut scratch);
    plain_set(rounds, fsync, &mut scratch);
    hundred_thousand(fsync, &mut scratch);
  }
  read_strategies(rounds * 3, &mut scratch);
}
