//! One suite of what every backend promises through `dyn Backend`, run over
//! each backend. A new backend adds one `#[test]` at the bottom that hands
//! [`conformance`] a way to open its store.

use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};

use baileys_auth_core::backend::{Backend, ErrorKind, KeyWrite};
use baileys_auth_core::backends::folder;
use baileys_auth_core::backends::postgres::{self, connect::ConnectionSpec, PostgresOptions};
use baileys_auth_core::backends::sqlite::{self, SqliteOptions};
use baileys_auth_core::listing;
use baileys_auth_core::naming::key_file_name;
use baileys_auth_core::store::OpenOptions;

/// Ids of the kinds Baileys uses, and some that are awkward for one backend
/// or another (separators, non-ASCII, spaces); no NUL and nothing longer than
/// a file name may be, which a folder cannot hold.
const IDS: [&str; 9] = ["1", "812", "123-456@g.us::789::0", "aB/cD==", "1234:5@s.whatsapp.net", "__index", "with space", "ünïcødé", "x"];

fn value(tag: &str, n: usize) -> Vec<u8> {
  format!("{{\"tag\":{tag:?},\"n\":{n},\"pad\":\"{}\"}}", "é".repeat(n % 7)).into_bytes()
}

fn read(b: &dyn Backend, key_type: &str, ids: &[&str]) -> Vec<Option<Vec<u8>>> {
  let got = b.read(key_type, ids.iter().map(|s| s.to_string()).collect()).wait().unwrap();
  assert_eq!(got.len(), ids.len(), "one answer per id");
  got.into_iter().map(|r| r.unwrap()).collect()
}

fn list_all(b: &dyn Backend, key_type: &str, page: usize) -> Vec<String> {
  let mut all = Vec::new();
  let mut after: Option<String> = None;
  loop {
    let ids = b.list_ids(key_type, after.as_deref(), page).wait().unwrap();
    assert!(ids.len() <= page);
    let done = ids.len() < page;
    after = ids.last().cloned();
    all.extend(ids);
    if done {
      return all;
    }
  }
}

/// `open` opens the same store each time it is called; the store is empty
/// at the first call.
/// `listed(type, id)`: the id `list_ids` gives back for a key stored under
/// `id` (the id itself, except where a backend's naming is lossy: a folder).
pub fn conformance(open: &mut dyn FnMut() -> Box<dyn Backend>, listed: &dyn Fn(&str, &str) -> String) {
  let b = open();
  let b = b.as_ref();

  // Credentials: none at first, then exactly the bytes saved, the last ones.
  assert_eq!(b.load_creds().wait().unwrap(), None);
  b.save_creds(value("creds", 1)).wait().unwrap();
  b.save_creds(value("creds", 2)).wait().unwrap();
  assert_eq!(b.load_creds().wait().unwrap(), Some(value("creds", 2)));

  // Missing ids: one `None` each, in order, duplicates answered twice.
  assert_eq!(read(b, "pre-key", &["1", "2", "1"]), vec![None, None, None]);

  // Puts across types; types never mix, even when one is a prefix of another.
  let mut ops = Vec::new();
  for (n, id) in IDS.iter().enumerate() {
    ops.push(KeyWrite::put("sender-key", *id, value("sk", n)));
    ops.push(KeyWrite::put("sender-key-memory", *id, value("skm", n)));
  }
  ops.push(KeyWrite::put("session", "1234.0", vec![b'x'; 2048]));
  b.apply(ops).wait().unwrap();
  let got = read(b, "sender-key", &IDS);
  for (n, v) in got.iter().enumerate() {
    assert_eq!(v.as_deref(), Some(&value("sk", n)[..]), "id {}", IDS[n]);
  }
  assert_eq!(read(b, "sender-key-memory", &["x"]), vec![Some(value("skm", 8))]);
  assert_eq!(read(b, "session", &["1234.0"]), vec![Some(vec![b'x'; 2048])]);

  // Overwrite and delete in one call; deleting a missing key is no error.
  b.apply(vec![
    KeyWrite::put("sender-key", "1", value("again", 0)),
    KeyWrite::delete("sender-key", "812"),
    KeyWrite::delete("sender-key", "never-there"),
  ])
  .wait()
  .unwrap();
  assert_eq!(read(b, "sender-key", &["1", "812"]), vec![Some(value("again", 0)), None]);

  // Issued, not awaited: a read sees the write issued before it, and a
  // later write is not lost behind an earlier one.
  let w1 = b.apply(vec![KeyWrite::put("pre-key", "9", value("first", 9))]);
  let r1 = b.read("pre-key", vec!["9".to_owned()]);
  let w2 = b.apply(vec![KeyWrite::delete("pre-key", "9")]);
  let r2 = b.read("pre-key", vec!["9".to_owned()]);
  let c = b.save_creds(value("creds", 3));
  let rc = b.load_creds();
  assert_eq!(r1.wait().unwrap()[0], Ok(Some(value("first", 9))));
  assert_eq!(r2.wait().unwrap()[0], Ok(None));
  assert_eq!(rc.wait().unwrap(), Some(value("creds", 3)));
  w1.wait().unwrap();
  w2.wait().unwrap();
  c.wait().unwrap();

  // Listing: every id once, ascending by bytes, in pages of any size.
  let mut want: Vec<String> = IDS.iter().filter(|id| **id != "812").map(|id| listed("sender-key", id)).collect();
  want.sort();
  for page in [1, 2, 3, 100] {
    assert_eq!(list_all(b, "sender-key", page), want, "page size {page}");
  }
  assert_eq!(b.list_ids("sender-key", Some("\u{10ffff}"), 10).wait().unwrap(), Vec::<String>::new());
  assert_eq!(list_all(b, "no-such-type", 5), Vec::<String>::new());

  // Quarantine: the value goes aside and the key heals; a key written since
  // (other bytes than the undecodable ones) is kept.
  b.apply(vec![KeyWrite::put("app-state-sync-key", "AAA=", b"{not json".to_vec())]).wait().unwrap();
  b.quarantine("app-state-sync-key", "AAA=", b"{not json".to_vec(), "unexpected end of JSON").wait().unwrap();
  assert_eq!(read(b, "app-state-sync-key", &["AAA="]), vec![None]);
  b.apply(vec![KeyWrite::put("app-state-sync-key", "BBB=", value("fresh", 1))]).wait().unwrap();
  b.quarantine("app-state-sync-key", "BBB=", b"{stale".to_vec(), "bad").wait().unwrap();
  assert_eq!(read(b, "app-state-sync-key", &["BBB="]), vec![Some(value("fresh", 1))]);

  // Close: later calls refuse, closing again is fine.
  b.close().wait().unwrap();
  assert_eq!(b.load_creds().wait().unwrap_err().kind, ErrorKind::Closed);
  assert_eq!(b.apply(vec![KeyWrite::delete("pre-key", "1")]).wait().unwrap_err().kind, ErrorKind::Closed);
  b.close().wait().unwrap();

  // Everything acknowledged is there after a reopen; clear keeps the credentials.
  let b = open();
  let b = b.as_ref();
  assert_eq!(b.load_creds().wait().unwrap(), Some(value("creds", 3)));
  assert_eq!(read(b, "sender-key", &["1"]), vec![Some(value("again", 0))]);
  b.clear().wait().unwrap();
  for t in ["sender-key", "sender-key-memory", "session", "app-state-sync-key"] {
    assert_eq!(list_all(b, t, 100), Vec::<String>::new(), "{t} after clear");
  }
  assert_eq!(read(b, "sender-key", &["1"]), vec![None]);
  assert_eq!(b.load_creds().wait().unwrap(), Some(value("creds", 3)));
  b.close().wait().unwrap();
}

static DIRS: AtomicUsize = AtomicUsize::new(0);

fn temp_dir(tag: &str) -> PathBuf {
  let p = std::env::temp_dir().join(format!("baileys-conformance-{}-{tag}-{}", std::process::id(), DIRS.fetch_add(1, Ordering::SeqCst)));
  let _ = std::fs::remove_dir_all(&p);
  std::fs::create_dir_all(&p).unwrap();
  p
}

#[test]
fn sqlite_backend_conforms() {
  for fsync in [false, true] {
    let dir = temp_dir("sqlite");
    let db = dir.join("auth.db");
    let options = SqliteOptions { fsync, ..SqliteOptions::default() };
    conformance(&mut || Box::new(sqlite::open(&db, &options).unwrap()), &|_, id| id.to_owned());
    std::fs::remove_dir_all(&dir).unwrap();
  }
}

#[test]
fn folder_backend_conforms() {
  for fsync in [false, true] {
    let dir = temp_dir("folder");
    let auth = dir.join("auth");
    let display = auth.to_string_lossy().into_owned();
    let options = OpenOptions { fsync, ..OpenOptions::default() };
    // A folder names keys by file name (`fixFileName`), which listing undoes
    // as far as it can.
    let listed = |t: &str, id: &str| listing::id_of(&key_file_name(t, id).unwrap(), t).unwrap();
    conformance(&mut || Box::new(folder::open(&display, options).unwrap()), &listed);
    std::fs::remove_dir_all(&dir).unwrap();
  }
}

/// Needs a server: `BAN_PG_URL` (`npm run test:rust` starts a throw-away one
/// through `scripts/with-postgres.js`); without it the test says so and stops.
#[test]
fn postgres_backend_conforms() {
  let Ok(url) = std::env::var("BAN_PG_URL") else {
    eprintln!("postgres_backend_conforms: BAN_PG_URL is not set (run through scripts/with-postgres.js); not run");
    return;
  };
  // A prefix of its own per run, so the test starts from empty tables.
  let mut options = PostgresOptions::new(ConnectionSpec::Text(url), "conformance");
  options.table_prefix = format!("conf{}_", std::process::id());
  conformance(&mut || Box::new(postgres::open(&options).unwrap()), &|_, id| id.to_owned());
}
