//! Tests that need to hold the writer still (so that calls pile up into one
//! group deterministically); everything else is in `core/tests/`.

use std::fs;
use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use super::*;
use crate::backend::{KeyWrite, Pending};

static DIRS: AtomicUsize = AtomicUsize::new(0);

struct TempDir(PathBuf);

impl TempDir {
  fn new(tag: &str) -> TempDir {
    let p = std::env::temp_dir().join(format!("baileys-sqlite-unit-{}-{tag}-{}", std::process::id(), DIRS.fetch_add(1, Ordering::SeqCst)));
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

fn put(id: &str, value: &str) -> KeyWrite {
  KeyWrite::put("pre-key", id, value.as_bytes())
}

fn get(b: &SqliteBackend, id: &str) -> Option<String> {
  let mut r = b.read("pre-key", vec![id.to_owned()]).wait().unwrap();
  r.pop().unwrap().unwrap().map(|v| String::from_utf8(v).unwrap())
}

/// Long enough for a call that is going to complete to do so.
fn settle() {
  std::thread::sleep(Duration::from_millis(50));
}

#[test]
fn calls_issued_during_a_commit_share_one_transaction() {
  let dir = TempDir::new("group");
  let b = open(dir.db(), &SqliteOptions::default()).unwrap();
  let before = b.stats();
  b.hold(true, false);
  let calls: Vec<Pending<()>> = (0..64).map(|i| b.apply(vec![put(&i.to_string(), "{}")])).collect();
  settle();
  assert!(calls.iter().all(|c| !c.is_done()), "no call is acknowledged before its commit");
  b.hold(false, false);
  for c in calls {
    c.wait().unwrap();
  }
  let after = b.stats();
  assert_eq!(after.groups - before.groups, 1);
  assert_eq!(after.transactions - before.transactions, 1);
  assert_eq!(after.commits - before.commits, 1);
  assert_eq!(after.committed_calls - before.committed_calls, 64);
  assert_eq!(after.largest_group, 64);
  assert_eq!(get(&b, "63").as_deref(), Some("{}"));
  b.close().wait().unwrap();
}

/// A cork holds the writes issued under it, then they make one group; a
/// read is never held; a cork nobody lifts lets go after MAX_CORK.
#[test]
fn a_cork_holds_the_next_group_until_uncorked() {
  let dir = TempDir::new("cork");
  let b = open(dir.db(), &quick()).unwrap();
  b.apply(vec![put("r", "read me")]).wait().unwrap();
  let before = b.stats();
  let started = std::time::Instant::now();
  b.cork();
  let calls: Vec<Pending<()>> = (0..8).map(|i| b.apply(vec![put(&i.to_string(), "{}")])).collect();
  // A read of another key is answered while the writes are held.
  assert_eq!(get(&b, "r").as_deref(), Some("read me"));
  std::thread::sleep(Duration::from_millis(5));
  let held = calls.iter().all(|c| !c.is_done());
  // Only meaningful if this thread was not held up past the cork's bound.
  if started.elapsed() < queue::MAX_CORK {
    assert!(held, "the writes waited for the uncork");
  }
  b.uncork();
  for c in calls {
    c.wait().unwrap();
  }
  if started.elapsed() < queue::MAX_CORK {
    assert_eq!(b.stats().groups - before.groups, 1);
  }
  // A cork that is never lifted holds for MAX_CORK at most.
  b.cork();
  let t = std::time::Instant::now();
  b.apply(vec![put("late", "{}")]).wait().unwrap();
  assert!(t.elapsed() >= queue::MAX_CORK.mul_f32(0.9), "held until the bound");
  b.uncork();
  b.close().wait().unwrap();
}

#[test]
fn a_failing_call_rolls_back_alone_inside_its_group() {
  let dir = TempDir::new("savepoint");
  let b = open(dir.db(), &quick()).unwrap();
  b.apply(vec![put("b1", "old")]).wait().unwrap();
  let before = b.stats();
  b.hold(true, false);
  let a = b.apply(vec![put("a1", "A")]);
  // Its first op succeeds, its second is not UTF-8: the first must go too.
  let bad = b.apply(vec![put("b1", "new"), KeyWrite::put("pre-key", "b2", vec![0xff, 0xfe])]);
  let c = b.apply(vec![put("c1", "C"), KeyWrite::delete("pre-key", "nothing")]);
  b.hold(false, false);
  a.wait().unwrap();
  assert_eq!(bad.wait().unwrap_err().kind, ErrorKind::Invalid);
  c.wait().unwrap();
  let after = b.stats();
  assert_eq!(after.commits - before.commits, 1, "one commit for the group");
  assert_eq!(after.committed_calls - before.committed_calls, 2);
  assert_eq!(get(&b, "a1").as_deref(), Some("A"));
  assert_eq!(get(&b, "b1").as_deref(), Some("old"));
  assert_eq!(get(&b, "b2"), None);
  assert_eq!(get(&b, "c1").as_deref(), Some("C"));
  b.close().wait().unwrap();
}

#[test]
fn a_call_that_sqlite_rejects_rolls_back_alone() {
  let dir = TempDir::new("trigger");
  let b = open(dir.db(), &quick()).unwrap();
  // Another connection adds a trigger behind the store's back: an insert of
  // id 'poison' aborts its statement, as a violated constraint would.
  let raw = rusqlite::Connection::open(dir.db()).unwrap();
  raw
    .execute_batch("CREATE TRIGGER poison BEFORE INSERT ON signal_keys WHEN NEW.id = 'poison' BEGIN SELECT RAISE(ABORT, 'poisoned'); END;")
    .unwrap();
  drop(raw);
  b.hold(true, false);
  let a = b.apply(vec![put("x", "1")]);
  let bad = b.apply(vec![put("y", "2"), put("poison", "3")]);
  let c = b.apply(vec![put("z", "4")]);
  b.hold(false, false);
  a.wait().unwrap();
  let e = bad.wait().unwrap_err();
  assert_eq!((e.kind, e.code), (ErrorKind::Invalid, "SQLITE_CONSTRAINT"));
  assert!(e.message.contains("poisoned"), "{e}");
  c.wait().unwrap();
  assert_eq!(get(&b, "x").as_deref(), Some("1"));
  assert_eq!(get(&b, "y"), None);
  assert_eq!(get(&b, "z").as_deref(), Some("4"));
  b.close().wait().unwrap();
}

#[test]
fn a_failing_call_alone_in_its_transaction_leaves_nothing() {
  let dir = TempDir::new("alone");
  let b = open(dir.db(), &quick()).unwrap();
  let e = b.apply(vec![put("k", "1"), KeyWrite::put("pre-key", "j", vec![0x80])]).wait().unwrap_err();
  assert_eq!(e.kind, ErrorKind::Invalid);
  assert!(!e.message.contains('\u{fffd}'), "no value bytes in the message");
  assert_eq!(get(&b, "k"), None);
  b.close().wait().unwrap();
}

#[test]
fn a_read_waits_for_a_pending_write_of_its_key_only() {
  let dir = TempDir::new("order");
  let b = open(dir.db(), &quick()).unwrap();
  b.apply(vec![put("other", "there"), put("k", "old")]).wait().unwrap();
  b.hold(true, false);
  let w = b.apply(vec![put("k", "new")]);
  let r = b.read("pre-key", vec!["other".to_owned(), "k".to_owned()]);
  let unrelated = b.read("pre-key", vec!["other".to_owned()]);
  let creds = b.load_creds();
  // Unrelated reads do not wait for the held writer…
  assert_eq!(unrelated.wait().unwrap()[0].as_ref().unwrap().as_deref(), Some(&b"there"[..]));
  assert_eq!(creds.wait().unwrap(), None);
  settle();
  // …the read of a key with a write pending does.
  assert!(!r.is_done());
  b.hold(false, false);
  w.wait().unwrap();
  let r = r.wait().unwrap();
  assert_eq!(r[1].as_ref().unwrap().as_deref(), Some(&b"new"[..]));
  b.close().wait().unwrap();
}

#[test]
fn a_read_after_a_write_that_fails_sees_the_old_value() {
  let dir = TempDir::new("order-fail");
  let b = open(dir.db(), &quick()).unwrap();
  b.apply(vec![put("k", "old")]).wait().unwrap();
  b.hold(true, false);
  let w = b.apply(vec![put("k", "new"), KeyWrite::put("pre-key", "bad", vec![0xc3])]);
  let r = b.read("pre-key", vec!["k".to_owned()]);
  b.hold(false, false);
  assert!(w.wait().is_err());
  assert_eq!(r.wait().unwrap()[0].as_ref().unwrap().as_deref(), Some(&b"old"[..]));
  b.close().wait().unwrap();
}

#[test]
fn reads_wait_for_a_pending_clear_and_creds_for_a_pending_save() {
  let dir = TempDir::new("order-clear");
  let b = open(dir.db(), &quick()).unwrap();
  b.apply(vec![put("k", "v")]).wait().unwrap();
  b.hold(true, false);
  let cleared = b.clear();
  let saved = b.save_creds(b"{\"me\":1}".to_vec());
  let r = b.read("pre-key", vec!["k".to_owned()]);
  let creds = b.load_creds();
  let listed = b.list_ids("pre-key", None, 10);
  settle();
  assert!(!r.is_done() && !creds.is_done() && !listed.is_done());
  b.hold(false, false);
  cleared.wait().unwrap();
  saved.wait().unwrap();
  assert_eq!(r.wait().unwrap()[0], Ok(None));
  assert_eq!(creds.wait().unwrap().as_deref(), Some(&b"{\"me\":1}"[..]));
  assert_eq!(listed.wait().unwrap(), Vec::<String>::new());
  b.close().wait().unwrap();
}

#[test]
fn close_waits_for_pending_writes_and_then_refuses_calls() {
  let dir = TempDir::new("close");
  let b = open(dir.db(), &quick()).unwrap();
  b.hold(true, false);
  let w = b.apply(vec![put("k", "v")]);
  let closed = b.close();
  settle();
  assert!(!closed.is_done());
  b.hold(false, false);
  w.wait().unwrap();
  closed.wait().unwrap();
  assert_eq!(b.read("pre-key", vec!["k".to_owned()]).wait().unwrap_err().kind, ErrorKind::Closed);
  assert_eq!(b.apply(vec![put("k", "w")]).wait().unwrap_err().kind, ErrorKind::Closed);
  b.close().wait().unwrap();
  let again = open(dir.db(), &quick()).unwrap();
  assert_eq!(get(&again, "k").as_deref(), Some("v"));
  again.close().wait().unwrap();
}

#[test]
fn a_read_issued_before_a_write_does_not_see_it() {
  let dir = TempDir::new("before");
  let b = open(dir.db(), &quick()).unwrap();
  b.apply(vec![put("k", "old")]).wait().unwrap();
  // The read waits for a reader (the writer is busy, so it does not take
  // it); a write of its key, issued after it, reaches the writer first: the
  // writer runs the read before the write.
  b.hold(true, true);
  let busy = b.apply(vec![put("elsewhere", "1")]);
  let r = b.read("pre-key", vec!["k".to_owned()]);
  let unrelated = b.read("pre-key", vec!["other".to_owned()]);
  let w = b.apply(vec![put("k", "new")]);
  b.hold(false, true);
  busy.wait().unwrap();
  w.wait().unwrap();
  assert_eq!(r.wait().unwrap()[0].as_ref().unwrap().as_deref(), Some(&b"old"[..]));
  assert_eq!(b.stats().writer_reads, 1);
  assert!(!unrelated.is_done(), "reads of other keys stay with the readers");
  b.hold(false, false);
  assert_eq!(unrelated.wait().unwrap()[0], Ok(None));
  assert_eq!(get(&b, "k").as_deref(), Some("new"));
  b.close().wait().unwrap();
}

#[test]
fn reads_between_writes_of_one_key_see_exactly_the_writes_before_them() {
  let dir = TempDir::new("between");
  let b = open(dir.db(), &quick()).unwrap();
  b.hold(true, false);
  let mut reads = Vec::new();
  let mut writes = Vec::new();
  for i in 0..10 {
    writes.push(b.apply(vec![put("k", &i.to_string())]));
    reads.push(b.read("pre-key", vec!["k".to_owned()]));
  }
  writes.push(b.apply(vec![KeyWrite::delete("pre-key", "k")]));
  let last = b.read("pre-key", vec!["k".to_owned()]);
  b.hold(false, false);
  for (i, r) in reads.into_iter().enumerate() {
    assert_eq!(r.wait().unwrap()[0].as_ref().unwrap().as_deref(), Some(i.to_string().as_bytes()));
  }
  assert_eq!(last.wait().unwrap()[0], Ok(None));
  for w in writes {
    w.wait().unwrap();
  }
  b.close().wait().unwrap();
}

#[test]
fn a_reader_snapshot_is_taken_at_begin() {
  // The order guarantee for reads issued before a write rests on this: the
  // snapshot exists once `begin_snapshot` returns, before any statement of
  // the read itself.
  let dir = TempDir::new("snapshot");
  let b = open(dir.db(), &quick()).unwrap();
  b.apply(vec![put("k", "old")]).wait().unwrap();
  let reader = schema::open_reader(&dir.db()).unwrap();
  reader::begin_snapshot(&reader).unwrap();
  b.apply(vec![put("k", "new")]).wait().unwrap();
  let seen: String = reader.query_row("SELECT value FROM signal_keys WHERE id = 'k'", [], |r| r.get(0)).unwrap();
  assert_eq!(seen, "old");
  reader::end_snapshot(&reader);
  let seen: String = reader.query_row("SELECT value FROM signal_keys WHERE id = 'k'", [], |r| r.get(0)).unwrap();
  assert_eq!(seen, "new");
  drop(reader);
  b.close().wait().unwrap();
}

#[test]
fn a_failed_commit_runs_the_calls_again_one_by_one() {
  let dir = TempDir::new("commit-fails");
  let b = open(dir.db(), &quick()).unwrap();
  b.apply(vec![put("pinned", "{}")]).wait().unwrap();
  // A deferred foreign key is only checked at COMMIT: deleting the row it
  // points at makes the group's COMMIT fail, whichever call did it.
  let raw = rusqlite::Connection::open(dir.db()).unwrap();
  raw
    .execute_batch(
      "PRAGMA foreign_keys = ON;
       CREATE TABLE pins (t TEXT, i TEXT, FOREIGN KEY (t, i) REFERENCES signal_keys (type, id) DEFERRABLE INITIALLY DEFERRED);
       INSERT INTO pins VALUES ('pre-key', 'pinned');",
    )
    .unwrap();
  drop(raw);
  let before = b.stats();
  b.hold(true, false);
  let a = b.apply(vec![put("a", "1")]);
  let guilty = b.apply(vec![put("b", "2"), KeyWrite::delete("pre-key", "pinned")]);
  let c = b.apply(vec![put("c", "3")]);
  b.hold(false, false);
  a.wait().unwrap();
  let e = guilty.wait().unwrap_err();
  assert_eq!((e.kind, e.code), (ErrorKind::Invalid, "SQLITE_CONSTRAINT"), "{e}");
  c.wait().unwrap();
  let after = b.stats();
  assert_eq!(after.transactions - before.transactions, 4, "the group, then one per call");
  assert_eq!(after.commits - before.commits, 2);
  assert_eq!(get(&b, "a").as_deref(), Some("1"));
  assert_eq!(get(&b, "b"), None);
  assert_eq!(get(&b, "pinned").as_deref(), Some("{}"));
  assert_eq!(get(&b, "c").as_deref(), Some("3"));
  b.close().wait().unwrap();
}
