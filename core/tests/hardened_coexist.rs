//! Living beside Baileys' hardened helper (the unreleased line that keeps
//! `.bak` copies; `shared/docs/baileys-contract.md`, "Baileys' hardened
//! line"). Its write is: new bytes to `<name>.tmp`, rename `<name>` to
//! `<name>.bak`, rename the `.tmp` over `<name>`; its read takes `<name>`, or
//! `<name>.bak` when `<name>` is missing or unreadable; its delete removes
//! all three. The folders here are built by hand in the states that protocol
//! leaves, and each rule of the folder store is checked on them:
//!
//! 1. a delete (and `clear`) removes the key's `.tmp` and `.bak` too, `.tmp`
//!    first and the key file last (the fault-injection suite checks every
//!    crash point of that order);
//! 2. a missing `creds.json` next to `creds.json.bak`, or an unreadable one
//!    next to any backup, is `StoreError::Corrupt` (inside the backend's
//!    `Corrupt` error) naming the backup, and nothing is written;
//! 3. a key whose file is missing or unreadable reads as its `.bak`; a `.tmp`
//!    alone is never read;
//! 4. the key files listed (`list_key_files`) never include a `.bak` or a
//!    `.tmp` (the keys listed through the trait, `list_ids`, include one kept
//!    only as its `.bak`, as `get` answers it: see the backend's unit tests).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use baileys_auth_core::backend::{BackendError, ErrorKind};
use baileys_auth_core::codec::{to_json_bytes, Object, Value};
use baileys_auth_core::store::error::{CredsBackup, CredsFault};
use baileys_auth_core::store::{Folder, OpenOptions, RealIo, StoreError};
use baileys_auth_core::values::ValueRead;

#[path = "support/folder_store.rs"]
mod folder_store;
use folder_store::{store_error, FolderStore, SetOp};

static DIRS: AtomicUsize = AtomicUsize::new(0);

struct TempDir(PathBuf);

impl TempDir {
  fn new(tag: &str) -> TempDir {
    let p = std::env::temp_dir().join(format!("baileys-hardened-{}-{tag}-{}", std::process::id(), DIRS.fetch_add(1, Ordering::SeqCst)));
    let _ = std::fs::remove_dir_all(&p);
    std::fs::create_dir_all(&p).unwrap();
    TempDir(p)
  }

  fn write(&self, name: &str, bytes: &[u8]) {
    std::fs::write(self.0.join(name), bytes).unwrap();
  }

  fn has(&self, name: &str) -> bool {
    self.0.join(name).exists()
  }

  /// Every file with its bytes (the lock file left out: opening takes it).
  fn files(&self) -> BTreeMap<String, Vec<u8>> {
    std::fs::read_dir(&self.0)
      .unwrap()
      .flatten()
      .map(|e| e.file_name().to_string_lossy().into_owned())
      .filter(|n| n != ".baileys-auth.lock")
      .map(|n| {
        let b = std::fs::read(self.0.join(&n)).unwrap();
        (n, b)
      })
      .collect()
  }

  fn names(&self) -> Vec<String> {
    self.files().into_keys().collect()
  }

  fn open(&self, lock: bool) -> FolderStore {
    let options = OpenOptions { lock, ..OpenOptions::default() };
    folder_store::open_with(self.0.to_str().unwrap(), options, Arc::new(RealIo)).expect("open")
  }

  /// Whether reads of missing keys in this folder still look for their
  /// `.bak`, as an open of it under the lock this process holds knows it: every
  /// such open shares what the first one's listing found (the backend does not
  /// hand out its `Folder`; the rule's effect on reads is checked apart).
  fn may_have_key_backups(&self) -> bool {
    let folder = Folder::open(self.0.to_str().unwrap(), OpenOptions::default(), Arc::new(RealIo)).expect("open under the lock");
    assert!(folder.holds_lock());
    folder.may_have_key_backups()
  }
}

impl Drop for TempDir {
  fn drop(&mut self) {
    let _ = std::fs::remove_dir_all(&self.0);
  }
}

fn value(tag: &str) -> Value {
  let mut o = Object::new();
  o.push("tag", Value::str(tag));
  o.push("bytes", Value::Bytes(tag.as_bytes().to_vec()));
  Value::Object(o)
}

fn bytes(tag: &str) -> Vec<u8> {
  to_json_bytes(&value(tag))
}

/// The tag of a value read back, `None` for null.
fn tag(v: &Option<Value>) -> Option<String> {
  let o = v.as_ref()?.as_object()?;
  o.get("tag").and_then(Value::as_js_string).map(|s| s.to_string_lossy())
}

fn get(store: &FolderStore, key_type: &str, ids: &[&str]) -> Vec<ValueRead> {
  let ids = ids.iter().map(|s| s.to_string()).collect();
  store.get(key_type, ids, false).into_iter().map(|r| r.expect("get")).collect()
}

fn set(store: &FolderStore, ops: Vec<SetOp>) {
  store.set(ops).expect("set")
}

fn load_creds(store: &FolderStore) -> Result<Option<Value>, BackendError> {
  store.load_creds()
}

// ---- rule 1: deletes take the backups along ----

#[test]
fn a_deleted_key_takes_its_bak_and_tmp_along() {
  let dir = TempDir::new("delete");
  dir.write("creds.json", &bytes("creds"));
  dir.write("session-a.json", &bytes("current"));
  dir.write("session-a.json.bak", &bytes("previous"));
  dir.write("session-a.json.tmp", b"{\"torn");
  // The hardened helper killed between its renames: only the backup (and the .tmp).
  dir.write("session-b.json.bak", &bytes("b-previous"));
  dir.write("session-b.json.tmp", &bytes("b-next"));
  let store = dir.open(true);
  set(&store, vec![SetOp::Delete { name: "session-a.json".into() }, SetOp::Delete { name: "session-b.json".into() }]);
  assert_eq!(dir.names(), ["creds.json"]);
  // Nothing brings them back: neither our read nor a reader taking the backup.
  let r = get(&store, "session", &["a", "b"]);
  assert_eq!(r.iter().map(|r| tag(&r.value)).collect::<Vec<_>>(), [None, None]);
  assert!(r.iter().all(|r| r.warning.is_none()));
}

#[test]
fn a_set_of_a_new_value_leaves_the_backup_alone() {
  // Only a delete removes companions: a write replaces the key file, which
  // every reader prefers to the backup.
  let dir = TempDir::new("write");
  dir.write("session-a.json", &bytes("current"));
  dir.write("session-a.json.bak", &bytes("previous"));
  let store = dir.open(true);
  set(&store, vec![SetOp::Write { name: "session-a.json".into(), value: value("newer") }]);
  assert_eq!(dir.files()["session-a.json"], bytes("newer"));
  assert_eq!(dir.files()["session-a.json.bak"], bytes("previous"));
  assert_eq!(tag(&get(&store, "session", &["a"])[0].value).as_deref(), Some("newer"));
}

#[test]
fn clear_removes_every_key_backup_and_keeps_the_creds_ones() {
  let dir = TempDir::new("clear");
  for (n, b) in [
    ("creds.json", bytes("creds")),
    ("creds.json.bak", bytes("creds-previous")),
    ("creds.json.tmp", b"{\"half".to_vec()),
    ("pre-key-1.json", bytes("1")),
    ("pre-key-1.json.bak", bytes("1-previous")),
    ("pre-key-2.json", bytes("2")),
    ("pre-key-2.json.tmp", bytes("2-next")),
    ("session-orphan.json.bak", bytes("orphan")),
    ("sender-key-orphan.json.tmp", bytes("orphan-next")),
    ("notes.txt", b"kept".to_vec()),
    ("other.bak", b"not a key's".to_vec()),
  ] {
    dir.write(n, &b);
  }
  let store = dir.open(true);
  store.clear().expect("clear");
  assert_eq!(dir.names(), ["creds.json", "creds.json.bak", "creds.json.tmp", "notes.txt", "other.bak"]);
  assert!(dir.has(".baileys-auth.lock"));
  // With the lock held, the store now knows no key has a backup.
  assert!(!dir.may_have_key_backups());
  let r = get(&store, "session", &["orphan"]);
  assert_eq!(tag(&r[0].value), None);
  // And its reads act on it: a backup the hardened helper should not have
  // written into an owned folder is not looked for.
  dir.write("session-probe.json.bak", &bytes("probe"));
  assert_eq!(tag(&get(&store, "session", &["probe"])[0].value), None);
}

#[test]
fn clear_with_fsync_removes_the_backups_too() {
  let dir = TempDir::new("clear-fsync");
  dir.write("pre-key-1.json", &bytes("1"));
  dir.write("pre-key-1.json.bak", &bytes("0"));
  let options = OpenOptions { fsync: true, ..OpenOptions::default() };
  let store = folder_store::open_with(dir.0.to_str().unwrap(), options, Arc::new(RealIo)).unwrap();
  store.clear().expect("clear");
  assert!(dir.names().is_empty());
}

// ---- rule 2: credentials next to a backup ----

fn corrupt(r: Result<Option<Value>, BackendError>) -> (PathBuf, CredsFault, String) {
  match r {
    Err(e) if matches!(store_error(&e), Some(StoreError::Corrupt { .. })) => {
      assert_eq!(e.kind, ErrorKind::Corrupt);
      assert_eq!(e.code, "EBAILEYSCORRUPT");
      let file = e.file.expect("checked above");
      let e = Arc::try_unwrap(file.0).expect("the folder store's error is the backend error's alone");
      let message = e.to_string();
      assert_eq!(e.code(), Some("EBAILEYSCORRUPT"));
      let StoreError::Corrupt { path, cause } = e else { unreachable!() };
      (path, cause, message)
    }
    other => panic!("expected StoreError::Corrupt, got {other:?}"),
  }
}

fn canonical(dir: &TempDir, name: &str) -> PathBuf {
  std::fs::canonicalize(&dir.0).unwrap().join(name)
}

#[test]
fn missing_creds_next_to_a_backup_is_not_no_credentials() {
  let dir = TempDir::new("creds-missing");
  dir.write("creds.json.bak", &bytes("creds-previous"));
  dir.write("creds.json.tmp", &bytes("creds-next"));
  let before = dir.files();
  let store = dir.open(true);
  let (path, cause, message) = corrupt(load_creds(&store));
  assert_eq!(path, canonical(&dir, "creds.json"));
  assert!(cause.file.is_none());
  assert!(matches!(&cause.backup, CredsBackup::Readable { path } if *path == canonical(&dir, "creds.json.bak")));
  let bak = canonical(&dir, "creds.json.bak");
  let creds = canonical(&dir, "creds.json");
  assert!(message.contains("is missing, but its backup"), "{message}");
  assert!(message.contains(&move_command(&bak, &creds)), "{message}");
  assert!(message.contains("nothing was written"), "{message}");
  assert_eq!(cause.to_string(), "creds.json is missing, and its backup creds.json.bak is there");
  assert_eq!(dir.files(), before, "nothing is written, nothing restored");
  // Following the message's advice opens the folder with the backup's credentials.
  std::fs::rename(&bak, &creds).unwrap();
  let loaded = load_creds(&store).unwrap();
  assert_eq!(tag(&loaded).as_deref(), Some("creds-previous"));
}

#[test]
fn missing_creds_next_to_an_unreadable_backup_is_an_error_too() {
  for (what, bak) in [("torn", b"{\"noiseKey\":{\"priv".to_vec()), ("not an object", b"null".to_vec()), ("empty", Vec::new())] {
    let dir = TempDir::new("creds-bad-backup");
    dir.write("creds.json.bak", &bak);
    let before = dir.files();
    let store = dir.open(true);
    let (path, cause, message) = corrupt(load_creds(&store));
    assert_eq!(path, canonical(&dir, "creds.json"), "{what}");
    assert!(matches!(cause.backup, CredsBackup::Unreadable { .. }), "{what}");
    assert!(message.contains("is missing and its backup"), "{what}: {message}");
    assert!(message.contains("cannot be read"), "{what}: {message}");
    assert!(message.contains("no new credentials were made over it"), "{what}: {message}");
    assert!(cause.to_string().starts_with("creds.json is missing and creds.json.bak cannot be read: "), "{what}: {cause}");
    assert_eq!(dir.files(), before, "{what}");
  }
}

// Windows: std's File::open of a directory fails with ACCESS_DENIED (EPERM) before any EISDIR.
#[cfg(not(windows))]
#[test]
fn a_backup_that_is_not_a_file_is_unreadable() {
  let dir = TempDir::new("creds-bak-dir");
  std::fs::create_dir(dir.0.join("creds.json.bak")).unwrap();
  let store = dir.open(true);
  let (_, cause, message) = corrupt(load_creds(&store));
  match &cause.backup {
    CredsBackup::Unreadable { reason, .. } => assert!(reason.starts_with("EISDIR"), "{reason}"),
    other => panic!("{other:?}"),
  }
  assert!(message.contains("EISDIR"), "{message}");
}

#[test]
fn unreadable_creds_next_to_a_readable_backup_names_it() {
  let dir = TempDir::new("creds-unreadable");
  dir.write("creds.json", b"{\"noiseKey\":");
  dir.write("creds.json.bak", &bytes("creds-previous"));
  let before = dir.files();
  let store = dir.open(true);
  let (path, cause, message) = corrupt(load_creds(&store));
  assert_eq!(path, canonical(&dir, "creds.json"));
  assert!(cause.file.is_some());
  assert!(matches!(cause.backup, CredsBackup::Readable { .. }));
  // The JavaScript error's `cause` stays the parse error of creds.json.
  assert_eq!(cause.to_string(), cause.file.as_ref().unwrap().to_string());
  let (creds, bak) = (canonical(&dir, "creds.json"), canonical(&dir, "creds.json.bak"));
  assert!(message.starts_with(&format!("{} exists but cannot be read (", creds.display())), "{message}");
  assert!(
    message.contains(&format!(
      "{} && {}",
      move_command(&creds, Path::new(&format!("{}.unreadable", creds.display()))),
      move_command(&bak, &creds)
    )),
    "{message}"
  );
  assert_eq!(dir.files(), before);
}

#[test]
fn unreadable_creds_next_to_an_unreadable_backup_says_both() {
  let dir = TempDir::new("creds-both");
  dir.write("creds.json", b"[]");
  dir.write("creds.json.bak", b"{");
  let store = dir.open(true);
  let (_, cause, message) = corrupt(load_creds(&store));
  assert!(matches!(cause.backup, CredsBackup::Unreadable { .. }));
  assert!(message.contains("and neither can its backup"), "{message}");
  assert!(message.contains("holds JSON that is not an object"), "{message}");
}

#[test]
fn without_a_backup_creds_behave_as_before() {
  // Unreadable, no backup: the message of before.
  let dir = TempDir::new("creds-plain");
  dir.write("creds.json", b"{\"a\":");
  let store = dir.open(true);
  let (_, cause, message) = corrupt(load_creds(&store));
  assert!(matches!(cause.backup, CredsBackup::Absent));
  assert!(message.ends_with("exists but cannot be read (Unexpected end of JSON input at byte 5); it was left untouched. Restore it from a backup, or move it away to start a new session"), "{message}");
  // Missing, nothing beside it (or only the helper's .tmp, which may be torn): no credentials.
  let dir = TempDir::new("creds-none");
  dir.write("creds.json.tmp", &bytes("never renamed"));
  let store = dir.open(true);
  assert!(load_creds(&store).unwrap().is_none());
  // Readable: the file, whatever backup is beside it.
  let dir = TempDir::new("creds-readable");
  dir.write("creds.json", &bytes("creds"));
  dir.write("creds.json.bak", b"garbage");
  let store = dir.open(true);
  assert_eq!(tag(&load_creds(&store).unwrap()).as_deref(), Some("creds"));
}

#[test]
fn opening_refuses_fresh_credentials_over_a_backup() {
  let dir = TempDir::new("open");
  dir.write("creds.json.bak", &bytes("creds-previous"));
  let before = dir.files();
  // An open as the napi layer makes it: the folder, then its credentials.
  let store = folder_store::open_with(dir.0.to_str().unwrap(), OpenOptions::default(), Arc::new(RealIo)).expect("the folder itself opens");
  let r = store.load_creds();
  match r {
    Err(e) => match store_error(&e) {
      Some(StoreError::Corrupt { path, .. }) => assert_eq!(*path, canonical(&dir, "creds.json")),
      _ => panic!("{e}"),
    },
    Ok(_) => panic!("opened with fresh credentials over a backup"),
  }
  assert_eq!(dir.files(), before);
}

// ---- rule 3: a key reads as its backup when its file cannot ----

#[test]
fn a_missing_key_file_reads_as_its_backup() {
  let dir = TempDir::new("key-missing");
  dir.write("session-a.json.bak", &bytes("a-previous"));
  dir.write("session-a.json.tmp", &bytes("a-next"));
  dir.write("session-b.json.tmp", &bytes("b-next"));
  dir.write("session-c.json", &bytes("c"));
  dir.write("session-c.json.bak", &bytes("c-previous"));
  let before = dir.files();
  for lock in [true, false] {
    let store = dir.open(lock);
    let r = get(&store, "session", &["a", "b", "c", "d"]);
    let tags: Vec<_> = r.iter().map(|r| tag(&r.value)).collect();
    assert_eq!(tags, [Some("a-previous".into()), None, Some("c".into()), None], "lock {lock}");
    assert!(r.iter().all(|r| r.warning.is_none()), "lock {lock}");
    assert_eq!(dir.files(), before, "a get changes nothing");
  }
}

#[test]
fn an_unreadable_key_file_is_moved_aside_and_reads_as_its_backup() {
  let dir = TempDir::new("key-unreadable");
  dir.write("pre-key-7.json", b"{\"public\":{\"type\":\"Buf");
  dir.write("pre-key-7.json.bak", &bytes("7-previous"));
  let store = dir.open(true);
  let r = get(&store, "pre-key", &["7"]);
  assert_eq!(tag(&r[0].value).as_deref(), Some("7-previous"));
  let warning = r[0].warning.as_deref().expect("a warning for the logger");
  assert!(warning.starts_with("pre-key-7.json is corrupt ("), "{warning}");
  assert!(warning.contains("moved aside to pre-key-7.json.corrupt-"), "{warning}");
  assert!(warning.contains("answered from its backup pre-key-7.json.bak"), "{warning}");
  let names = dir.names();
  assert!(!names.contains(&"pre-key-7.json".to_owned()));
  assert!(names.iter().any(|n| n.starts_with("pre-key-7.json.corrupt-")), "{names:?}");
  assert!(names.contains(&"pre-key-7.json.bak".to_owned()));
  // Read again: the file is gone now, the backup still answers, silently.
  let again = get(&store, "pre-key", &["7"]);
  assert_eq!(tag(&again[0].value).as_deref(), Some("7-previous"));
  assert!(again[0].warning.is_none());
}

#[test]
fn an_unreadable_backup_is_moved_aside_too() {
  let dir = TempDir::new("key-both");
  dir.write("pre-key-8.json", b"garbage");
  dir.write("pre-key-8.json.bak", b"{\"x\":");
  dir.write("pre-key-9.json.bak", b"[1,");
  let store = dir.open(true);
  let r = get(&store, "pre-key", &["8", "9"]);
  assert_eq!(r.iter().map(|r| tag(&r.value)).collect::<Vec<_>>(), [None, None]);
  let w8 = r[0].warning.as_deref().unwrap();
  assert!(w8.contains("pre-key-8.json is corrupt") && w8.contains("pre-key-8.json.bak is corrupt"), "{w8}");
  let w9 = r[1].warning.as_deref().unwrap();
  assert!(w9.starts_with("pre-key-9.json is missing and its backup pre-key-9.json.bak is corrupt"), "{w9}");
  let names = dir.names();
  assert_eq!(names.iter().filter(|n| n.contains(".corrupt-")).count(), 3, "{names:?}");
  assert!(!names.iter().any(|n| n.ends_with(".json") || n.ends_with(".bak")), "{names:?}");
}

#[test]
fn an_app_state_key_from_a_backup_is_converted_like_any() {
  let dir = TempDir::new("key-app-state");
  let mut key = Object::new();
  key.push("keyData", Value::Bytes(vec![1, 2, 3]));
  key.push("timestamp", Value::Number(1700000000123.0));
  dir.write("app-state-sync-key-AAAA__BB==.json.bak", &to_json_bytes(&Value::Object(key)));
  let store = dir.open(true);
  let r = store.get("app-state-sync-key", vec!["AAAA/BB==".into()], true);
  let v = r.into_iter().next().unwrap().unwrap().value.expect("the backup's value");
  let o = v.as_object().unwrap();
  assert!(matches!(o.get("keyData"), Some(Value::Bytes(b)) if b == &[1, 2, 3]));
  // fromObject turns the number into a Long-shaped object.
  assert!(o.get("timestamp").and_then(Value::as_object).is_some(), "{v:?}");
}

// Windows: std's File::open of a directory fails with ACCESS_DENIED (EPERM) before any EISDIR.
#[cfg(not(windows))]
#[test]
fn a_backup_that_cannot_be_opened_is_the_calls_error() {
  let dir = TempDir::new("key-bak-dir");
  std::fs::create_dir(dir.0.join("session-x.json.bak")).unwrap();
  let store = dir.open(false);
  let r = store.get("session", vec!["x".into()], false);
  match r.into_iter().next().unwrap() {
    Err(e) => match store_error(&e) {
      Some(StoreError::Io { source, .. }) => assert_eq!(source.raw_os_error(), Some(baileys_auth_core::errno::EISDIR)),
      _ => panic!("{e:?}"),
    },
    other => panic!("{other:?}"),
  }
}

#[test]
fn an_owned_folder_without_backups_stops_looking_for_them() {
  fn settled(dir: &TempDir) -> bool {
    for _ in 0..5000 {
      if !dir.may_have_key_backups() {
        return true;
      }
      std::thread::sleep(Duration::from_millis(1));
    }
    false
  }
  /// The tag a read of the missing key `session-probe` answers, once a backup
  /// of it was written behind the store's back (the hardened helper must not
  /// write a folder another process owns): `None` when the store no longer
  /// looks for backups.
  fn probe(dir: &TempDir, store: &FolderStore) -> Option<String> {
    dir.write("session-probe.json.bak", &bytes("probe"));
    tag(&get(store, "session", &["probe"])[0].value)
  }
  // No companion anywhere: once listed, missing ids cost one open again.
  let dir = TempDir::new("scan-none");
  dir.write("session-a.json", &bytes("a"));
  dir.write("creds.json.bak", &bytes("creds backups do not count"));
  let store = dir.open(true);
  assert!(settled(&dir), "the listing after the open found nothing");
  assert_eq!(probe(&dir, &store), None, "the store still looks for backups");
  // A second open under the same lock shares what the listing found.
  let second = dir.open(true);
  assert!(!dir.may_have_key_backups());
  assert_eq!(probe(&dir, &second), None, "the second open looks for backups");
  // Without the lock nothing is assumed.
  assert_eq!(probe(&dir, &dir.open(false)).as_deref(), Some("probe"));
  // A companion anywhere: backups stay looked for.
  let dir = TempDir::new("scan-some");
  dir.write("session-a.json.tmp", &bytes("a-next"));
  let store = dir.open(true);
  std::thread::sleep(Duration::from_millis(200));
  assert!(dir.may_have_key_backups());
  assert_eq!(probe(&dir, &store).as_deref(), Some("probe"));
  let dir = TempDir::new("scan-some-bak");
  dir.write("sender-key-g--u--0.json.bak", &bytes("sk"));
  let store = dir.open(true);
  std::thread::sleep(Duration::from_millis(200));
  assert!(dir.may_have_key_backups());
  assert_eq!(tag(&get(&store, "sender-key", &["g::u::0"])[0].value).as_deref(), Some("sk"));
}

// ---- rule 4: listing ----

#[test]
fn listing_never_counts_a_backup_or_tmp_as_a_key() {
  let dir = TempDir::new("list");
  dir.write("session-a.json", &bytes("a"));
  dir.write("session-a.json.bak", &bytes("a-previous"));
  dir.write("session-a.json.tmp", &bytes("a-next"));
  dir.write("session-b.json.bak", &bytes("b-previous"));
  dir.write("session-c.json.tmp", &bytes("c-next"));
  dir.write("session-d.json.bak.corrupt-1700000000000", b"{");
  let store = dir.open(true);
  let listed = store.list_key_files("session").unwrap();
  assert_eq!(listed, [("session-a.json".to_owned(), "a".to_owned())]);
  let report = baileys_auth_core::inspect::inspect(
    Path::new(&dir.0),
    &baileys_auth_core::inspect::InspectOptions { verify: true, flavor: Default::default() },
    None,
  )
  .unwrap();
  assert_eq!(report.by_type.get("session").map(|s| s.files), Some(1));
  assert_eq!(report.total_files, 1);
  assert_eq!(report.moved_aside, ["session-d.json.bak.corrupt-1700000000000"]);
}

/// The restore advice's rename, as the message spells it on this platform.
fn move_command(from: &Path, to: &Path) -> String {
  if cfg!(windows) {
    format!("move \"{}\" \"{}\"", from.display(), to.display())
  } else {
    format!("mv '{}' '{}'", from.display(), to.display())
  }
}
