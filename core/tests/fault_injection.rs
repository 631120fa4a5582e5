//! Fault injection: every mutating system call of a write, a batch and a
//! delete (create, write, fsync, close, rename, unlink, mkdir, folder fsync)
//! is made to fail in turn, with several errnos, through `FaultyIo`. For each
//! injected fault:
//!
//! - the call returns a typed error (a `BackendError` carrying the folder
//!   store's `StoreError::Io` with the injected errno), or succeeds when the
//!   fault index is past the last call;
//! - a single file is byte-identical to its old bytes when the fault hits at
//!   or before its rename, and holds the new bytes after it (only the folder
//!   fsync comes after the rename); in a batch every file is either its old or
//!   its new bytes, never torn; a deleted file is either there, intact, or gone;
//! - no temporary file is left;
//! - no file descriptor leaked (entries of /proc/self/fd, before and after);
//! - the store still works: the same call without a fault then succeeds.
//!
//! Every scenario runs over both I/O layers: the Unix one (directory
//! descriptors) and the portable one (`std::fs`, which Windows uses).
//!
//! `cargo test -p baileys_auth_core --release --test fault_injection -- --nocapture`
//! prints how many faults were exercised.

// Linux only: it uses /proc/self/fd to count descriptors. The behaviours it proves on
// other platforms are the jest suites' (which every runner of the workflow runs).
#![cfg(target_os = "linux")]

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use baileys_auth_core::backend::BackendError;
use baileys_auth_core::codec::{to_json_bytes, Object, Value};
use baileys_auth_core::store::faults::FaultyIo;
use baileys_auth_core::store::io::portable::PortableIo;
use baileys_auth_core::store::io::unix::UnixIo;
use baileys_auth_core::store::{Io, OpenOptions, StoreError};

#[path = "support/folder_store.rs"]
mod folder_store;
use folder_store::{store_error, FolderStore, SetOp};

/// Descriptor counts are process-wide: one scenario at a time.
static SERIAL: Mutex<()> = Mutex::new(());
static FAULTS: AtomicUsize = AtomicUsize::new(0);
static DIRS: AtomicUsize = AtomicUsize::new(0);

const ERRNOS: [i32; 3] = [libc::EIO, libc::ENOSPC, libc::EDQUOT];
const TEMP_PREFIX: &str = ".baileys-auth-tmp-";

/// A file's bytes, `None` when there is no file.
type FileBytes = Option<Vec<u8>>;

struct TempDir(PathBuf);

impl TempDir {
  fn new(tag: &str) -> TempDir {
    let p = std::env::temp_dir().join(format!("baileys-fault-{}-{}-{}", std::process::id(), tag, DIRS.fetch_add(1, Ordering::SeqCst)));
    let _ = std::fs::remove_dir_all(&p);
    std::fs::create_dir_all(&p).unwrap();
    TempDir(p)
  }
}

impl Drop for TempDir {
  fn drop(&mut self) {
    let _ = std::fs::remove_dir_all(&self.0);
  }
}

fn fd_count() -> usize {
  std::fs::read_dir("/proc/self/fd").unwrap().count()
}

/// Waits for the descriptor count to come back to `before`: a replaced
/// file's descriptor is closed by the store's reaper thread, a moment after
/// the call returned. A leak never comes back.
fn assert_no_fd_leak(before: usize, what: &str) {
  for _ in 0..2000 {
    if fd_count() <= before {
      return;
    }
    std::thread::sleep(Duration::from_millis(1));
  }
  let now = fd_count();
  let list: Vec<String> = std::fs::read_dir("/proc/self/fd")
    .unwrap()
    .flatten()
    .map(|e| format!("{:?} -> {:?}", e.file_name(), std::fs::read_link(e.path()).ok()))
    .collect();
  panic!("{what}: {before} descriptors before, {now} after:\n{}", list.join("\n"));
}

fn temps(dir: &Path) -> Vec<String> {
  std::fs::read_dir(dir)
    .unwrap()
    .flatten()
    .map(|e| e.file_name().to_string_lossy().into_owned())
    .filter(|n| n.starts_with(TEMP_PREFIX))
    .collect()
}

fn read(dir: &Path, name: &str) -> Option<Vec<u8>> {
  match std::fs::read(dir.join(name)) {
    Ok(b) => Some(b),
    Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
    Err(e) => panic!("reading {name}: {e}"),
  }
}

/// A value of realistic shape whose bytes depend on `seed`.
fn value(seed: u8, size: usize) -> Value {
  let mut key_pair = Object::new();
  key_pair.push("private", Value::Bytes(vec![seed; 32]));
  key_pair.push("public", Value::Bytes(vec![seed.wrapping_add(1); 32]));
  let mut o = Object::new();
  o.push("keyPair", Value::Object(key_pair));
  o.push("chain", Value::Bytes((0..size).map(|i| (i as u8).wrapping_mul(seed | 1)).collect()));
  o.push("note", Value::str(&format!("seed {seed}")));
  o.push("n", Value::Number(seed as f64 * 1.5));
  Value::Object(o)
}

#[derive(Clone, Copy, PartialEq, Debug)]
enum Kind {
  /// One file written: its old bytes up to and including a failed rename, new after.
  Single,
  /// Several files: each old or new.
  Batch,
  /// One file deleted: intact, or gone once the unlink succeeded.
  Delete,
  /// One key deleted with the `.tmp` and `.bak` Baileys' hardened helper
  /// keeps beside it: unlinked `.tmp`, `.bak`, then the key file, so that
  /// whatever is left after a fault, the key never reads as its backup.
  DeleteWithCompanions,
}

struct Scenario {
  name: &'static str,
  kind: Kind,
  fsync: bool,
  lock: bool,
  /// Files present before the call.
  initial: Vec<(String, Vec<u8>)>,
  /// Builds the ops of the call (`None`: through `save_creds`).
  ops: Box<dyn Fn() -> Vec<SetOp>>,
  creds: Option<Value>,
}

impl Scenario {
  fn run(&self, store: &FolderStore) -> Result<(), BackendError> {
    match &self.creds {
      Some(c) => store.save_creds(c),
      None => store.set((self.ops)()),
    }
  }

  /// Every file the call touches: name -> (old bytes, new bytes).
  fn expected(&self) -> BTreeMap<String, (FileBytes, FileBytes)> {
    let mut out = BTreeMap::new();
    let old = |name: &str| self.initial.iter().find(|(n, _)| n == name).map(|(_, b)| b.clone());
    if let Some(c) = &self.creds {
      out.insert("creds.json".to_owned(), (old("creds.json"), Some(to_json_bytes(c))));
    }
    for op in (self.ops)() {
      match op {
        SetOp::Write { name, value } => {
          let o = old(&name);
          out.insert(name, (o, Some(to_json_bytes(&value))));
        }
        SetOp::Delete { name } => {
          // The hardened helper's companions of the key go with it.
          for companion in [format!("{name}.tmp"), format!("{name}.bak")] {
            if let Some(o) = old(&companion) {
              out.insert(companion, (Some(o), None));
            }
          }
          let o = old(&name);
          out.insert(name, (o, None));
        }
      }
    }
    // Untouched files must stay as they are.
    for (n, b) in &self.initial {
      out.entry(n.clone()).or_insert((Some(b.clone()), Some(b.clone())));
    }
    out
  }

  fn prepare(&self, tag: &str) -> TempDir {
    let dir = TempDir::new(tag);
    for (n, b) in &self.initial {
      std::fs::write(dir.0.join(n), b).unwrap();
    }
    dir
  }

  fn open(&self, dir: &TempDir, io: Arc<FaultyIo>) -> FolderStore {
    let options = OpenOptions { fsync: self.fsync, lock: self.lock, ..OpenOptions::default() };
    folder_store::open_with(dir.0.to_str().unwrap(), options, io).expect("open")
  }
}

/// Runs the call once without faults: how many mutating calls it makes.
/// The layers every scenario runs over.
fn layers() -> [Arc<dyn Io>; 2] {
  [Arc::new(UnixIo), Arc::new(PortableIo)]
}

fn count_calls(s: &Scenario, layer: &Arc<dyn Io>) -> usize {
  let dir = s.prepare("count");
  let io = Arc::new(FaultyIo::over(layer.clone(), 0, libc::EIO));
  let store = s.open(&dir, io.clone());
  io.reset(0);
  s.run(&store).expect("the call without a fault");
  let n = io.calls();
  for (name, (_, new)) in s.expected() {
    assert_eq!(read(&dir.0, &name), new, "{}: {name} after a clean run", s.name);
  }
  assert!(temps(&dir.0).is_empty());
  n
}

fn exercise(s: &Scenario) -> usize {
  layers().iter().map(|layer| exercise_over(s, layer)).sum()
}

fn exercise_over(s: &Scenario, layer: &Arc<dyn Io>) -> usize {
  let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
  let total = count_calls(s, layer);
  assert!(total > 0, "{}: no mutating call at all", s.name);
  let expected = s.expected();
  let mut exercised = 0;
  for &errno in &ERRNOS {
    for n in 1..=total + 1 {
      let what = format!("{} over the {} layer (fault at call {n} of {total}, errno {errno})", s.name, layer.layer());
      let dir = s.prepare("run");
      let io = Arc::new(FaultyIo::over(layer.clone(), 0, errno));
      let store = s.open(&dir, io.clone());
      let fds_before = fd_count();
      io.reset(n);
      let result = s.run(&store);
      if n <= total {
        exercised += 1;
        match result.as_ref().map_err(|e| (e, store_error(e))) {
          Err((e, Some(file @ StoreError::Io { source, syscall, .. }))) => {
            assert_eq!(source.raw_os_error(), Some(errno), "{what}: wrong errno ({syscall})");
            let shown = file.to_string();
            let code = baileys_auth_core::store::error::errno_name(errno);
            assert!(shown.starts_with(code), "{what}: message {shown:?}");
            assert_eq!(file.code(), Some(code), "{what}");
            // The backend's error says the same.
            assert_eq!(e.message, shown, "{what}");
            assert_eq!(e.code, code, "{what}");
          }
          other => panic!("{what}: expected a typed I/O error, got {other:?}"),
        }
      } else {
        assert!(result.is_ok(), "{what}: {result:?}");
      }
      // Every file old or new, never anything else; precisely which for a single file.
      for (name, (old, new)) in &expected {
        let now = read(&dir.0, name);
        let ok = match s.kind {
          Kind::Single => {
            // Calls: create, write, [fsync], close, rename, [folder fsync].
            let rename_at = if s.fsync { total - 1 } else { total };
            if n <= rename_at {
              &now == old
            } else {
              &now == new
            }
          }
          Kind::Delete => {
            // Calls: unlink of <name>.tmp, of <name>.bak (both missing), of
            // <name>, [folder fsync].
            let unlink_at = if s.fsync { total - 1 } else { total };
            if n <= unlink_at {
              &now == old
            } else {
              &now == new
            }
          }
          Kind::DeleteWithCompanions => {
            // Calls: unlink .tmp, unlink .bak, [folder fsync], unlink the
            // key file, [folder fsync]. A file is there until its unlink ran.
            let unlink_at = if name.ends_with(".json.tmp") {
              1
            } else if name.ends_with(".json.bak") {
              2
            } else if name.ends_with(".json") && name != "creds.json" {
              if s.fsync {
                4
              } else {
                3
              }
            } else {
              usize::MAX
            };
            if n <= unlink_at {
              &now == old
            } else {
              &now == new
            }
          }
          Kind::Batch => &now == old || &now == new,
        };
        assert!(
          ok,
          "{what}: {name} holds {:?}, expected old {:?} or new {:?}",
          now.as_ref().map(|b| String::from_utf8_lossy(&b[..b.len().min(60)]).into_owned()),
          old.as_ref().map(|b| b.len()),
          new.as_ref().map(|b| b.len())
        );
      }
      if s.kind == Kind::DeleteWithCompanions {
        // Never the key file without its backup: that would read as the backup.
        let there = |suffix: &str| std::fs::read_dir(&dir.0).unwrap().flatten().any(|e| e.file_name().to_string_lossy().ends_with(suffix));
        let key = there("session-gone.json");
        let (bak, tmp) = (there("session-gone.json.bak"), there("session-gone.json.tmp"));
        assert!(key || !bak, "{what}: the key file is gone and its backup is left");
        assert!(bak || !tmp, "{what}: the backup is gone and the .tmp is left");
      }
      if s.kind == Kind::Batch && result.is_ok() {
        for (name, (_, new)) in &expected {
          assert_eq!(&read(&dir.0, name), new, "{what}: {name} after success");
        }
      }
      assert_eq!(temps(&dir.0), Vec::<String>::new(), "{what}: temporary file left");
      assert_no_fd_leak(fds_before, &what);
      // The store still works: the same call without a fault.
      io.reset(0);
      s.run(&store).unwrap_or_else(|e| panic!("{what}: retry failed: {e}"));
      for (name, (_, new)) in &expected {
        assert_eq!(&read(&dir.0, name), new, "{what}: {name} after the retry");
      }
      assert!(temps(&dir.0).is_empty(), "{what}: temporary file left by the retry");
      drop(store);
    }
  }
  FAULTS.fetch_add(exercised, Ordering::SeqCst);
  println!(
    "[fault_injection] {} ({} layer): {total} mutating calls x {} errnos = {exercised} injected faults",
    s.name,
    layer.layer(),
    ERRNOS.len()
  );
  exercised
}

fn creds_scenario(name: &'static str, fsync: bool, lock: bool, existing: bool) -> Scenario {
  let initial = if existing { vec![("creds.json".to_owned(), to_json_bytes(&value(1, 900)))] } else { vec![] };
  Scenario { name, kind: Kind::Single, fsync, lock, initial, ops: Box::new(Vec::new), creds: Some(value(2, 1100)) }
}

fn batch_initial() -> Vec<(String, Vec<u8>)> {
  (0..4)
    .map(|i| (format!("session-4917000{i}-1@s.whatsapp.net.json"), to_json_bytes(&value(10 + i, 500 + 300 * i as usize))))
    .chain(std::iter::once(("pre-key-9.json".to_owned(), to_json_bytes(&value(40, 64)))))
    .chain(std::iter::once(("creds.json".to_owned(), to_json_bytes(&value(41, 700)))))
    .collect()
}

fn batch_scenario(name: &'static str, fsync: bool, with_deletes: bool) -> Scenario {
  Scenario {
    name,
    kind: Kind::Batch,
    fsync,
    lock: false,
    initial: batch_initial(),
    ops: Box::new(move || {
      let mut ops: Vec<SetOp> = (0..4u8)
        .map(|i| SetOp::Write { name: format!("session-4917000{i}-1@s.whatsapp.net.json"), value: value(20 + i, 4000 + 1000 * i as usize) })
        .collect();
      ops.push(SetOp::Write { name: "pre-key-1.json".into(), value: value(30, 64) });
      ops.push(SetOp::Write { name: "pre-key-2.json".into(), value: value(31, 64) });
      if with_deletes {
        ops.push(SetOp::Delete { name: "pre-key-9.json".into() });
        ops.push(SetOp::Delete { name: "pre-key-404.json".into() });
      }
      ops
    }),
    creds: None,
  }
}

fn delete_scenario(name: &'static str, fsync: bool, existing: bool) -> Scenario {
  let mut initial = vec![("creds.json".to_owned(), to_json_bytes(&value(50, 300)))];
  if existing {
    initial.push(("session-gone.json".to_owned(), to_json_bytes(&value(51, 300))));
  }
  Scenario {
    name,
    kind: Kind::Delete,
    fsync,
    lock: false,
    initial,
    ops: Box::new(|| vec![SetOp::Delete { name: "session-gone.json".into() }]),
    creds: None,
  }
}

fn delete_with_companions_scenario(name: &'static str, fsync: bool) -> Scenario {
  let initial = vec![
    ("creds.json".to_owned(), to_json_bytes(&value(52, 300))),
    ("creds.json.bak".to_owned(), to_json_bytes(&value(53, 300))),
    ("session-gone.json".to_owned(), to_json_bytes(&value(54, 300))),
    ("session-gone.json.bak".to_owned(), to_json_bytes(&value(55, 300))),
    ("session-gone.json.tmp".to_owned(), to_json_bytes(&value(56, 300))),
  ];
  Scenario {
    name,
    kind: Kind::DeleteWithCompanions,
    fsync,
    lock: false,
    initial,
    ops: Box::new(|| vec![SetOp::Delete { name: "session-gone.json".into() }]),
    creds: None,
  }
}

#[test]
fn single_write_overwrite_fsync_off() {
  exercise(&creds_scenario("saveCreds over creds.json, fsync off", false, false, true));
}

#[test]
fn single_write_overwrite_fsync_on() {
  exercise(&creds_scenario("saveCreds over creds.json, fsync on", true, false, true));
}

#[test]
fn single_write_new_file_fsync_on_locked() {
  exercise(&creds_scenario("saveCreds of a new creds.json, fsync on, lock on", true, true, false));
}

#[test]
fn single_key_write_through_set() {
  let s = Scenario {
    name: "set of one key over an old one, fsync on",
    kind: Kind::Single,
    fsync: true,
    lock: false,
    initial: vec![("app-state-sync-key-AAAA__BB==.json".to_owned(), to_json_bytes(&value(60, 128)))],
    ops: Box::new(|| vec![SetOp::Write { name: "app-state-sync-key-AAAA__BB==.json".into(), value: value(61, 256) }]),
    creds: None,
  };
  exercise(&s);
}

#[test]
fn batch_fsync_on() {
  exercise(&batch_scenario("set of 6 keys (4 overwritten, 2 new), fsync on", true, false));
}

#[test]
fn batch_fsync_off() {
  exercise(&batch_scenario("set of 6 keys (4 overwritten, 2 new), fsync off", false, false));
}

#[test]
fn batch_with_deletes_fsync_on() {
  exercise(&batch_scenario("set of 6 writes + 2 deletes, fsync on", true, true));
}

#[test]
fn batch_with_deletes_fsync_off() {
  exercise(&batch_scenario("set of 6 writes + 2 deletes, fsync off", false, true));
}

#[test]
fn delete_fsync_on() {
  exercise(&delete_scenario("delete of a key, fsync on", true, true));
}

#[test]
fn delete_fsync_off() {
  exercise(&delete_scenario("delete of a key, fsync off", false, true));
}

#[test]
fn delete_missing_fsync_on() {
  exercise(&delete_scenario("delete of a missing key, fsync on", true, false));
}

#[test]
fn delete_with_companions_fsync_on() {
  exercise(&delete_with_companions_scenario("delete of a key with the hardened helper's .bak and .tmp, fsync on", true));
}

#[test]
fn delete_with_companions_fsync_off() {
  exercise(&delete_with_companions_scenario("delete of a key with the hardened helper's .bak and .tmp, fsync off", false));
}

/// `mkdir -p` of a missing folder: each mkdir fails in turn.
#[test]
fn open_creates_missing_parents() {
  let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
  let mut exercised = 0;
  for &errno in &ERRNOS {
    for n in 1..=4 {
      let root = TempDir::new("mkdir");
      let target = root.0.join("a").join("b").join("auth");
      let io = Arc::new(FaultyIo::new(n, errno));
      let before = fd_count();
      let r = folder_store::open_with(target.to_str().unwrap(), OpenOptions { lock: false, ..OpenOptions::default() }, io.clone());
      let what = format!("mkdir -p, fault at call {n}, errno {errno}");
      if n <= 3 {
        exercised += 1;
        match r {
          Err(StoreError::Io { syscall, source, .. }) => {
            assert_eq!(syscall, "mkdir", "{what}");
            assert_eq!(source.raw_os_error(), Some(errno), "{what}");
          }
          Err(e) => panic!("{what}: {e:?}"),
          Ok(_) => panic!("{what}: opened"),
        }
        assert!(!target.exists(), "{what}");
      } else {
        let store = r.unwrap_or_else(|e| panic!("{what}: {e:?}"));
        assert!(target.is_dir());
        drop(store);
      }
      assert_eq!(io.calls(), n.min(3), "{what}: calls made");
      assert_no_fd_leak(before, &what);
    }
  }
  FAULTS.fetch_add(exercised, Ordering::SeqCst);
  println!("[fault_injection] mkdir -p of 3 folders: {exercised} injected faults");
}

/// Runs last in name order when single-threaded; prints the running total.
#[test]
fn zz_report_total() {
  let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
  println!("[fault_injection] injected faults exercised so far in this process: {}", FAULTS.load(Ordering::SeqCst));
}
