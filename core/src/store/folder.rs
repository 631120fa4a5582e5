//! Opening an auth folder: Baileys' checks, creation with private modes,
//! the owner lock, and the open folder every file operation goes through.

use std::collections::HashMap;
use std::io;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU8, Ordering};
use std::sync::{Arc, OnceLock, Weak};

use parking_lot::Mutex;

use super::error::StoreError;
use super::io::{Dir, Io};
use crate::codec::Flavor;
use crate::lock::{self, FolderLock};

#[derive(Debug, Clone, Copy)]
pub struct OpenOptions {
  /// Which Baileys line's reader to follow (see [`Flavor`]).
  pub flavor: Flavor,
  /// fsync each written file before its rename and the folder after each batch.
  pub fsync: bool,
  /// Take the folder's owner lock (see [`crate::lock`]).
  pub lock: bool,
}

impl Default for OpenOptions {
  fn default() -> Self {
    OpenOptions { flavor: Flavor::Any, fsync: false, lock: true }
  }
}

pub struct Folder {
  /// The path as the caller gave it (for messages, as Baileys words them).
  pub display: String,
  /// The canonical path: two spellings of one folder share their file order.
  pub path: PathBuf,
  dir: Dir,
  pub io: Arc<dyn Io>,
  pub options: OpenOptions,
  lock: Option<Arc<FolderLock>>,
  key_backups: Arc<KeyBackups>,
}

/// Whether key files of a folder may have a `.bak` (or `.tmp`) of Baileys'
/// hardened helper beside them, as far as this process knows.
///
/// Reading a key whose file is missing then also tries its `.bak`: one more
/// `open` per missing id. A folder this process owns (holds the lock of) is
/// listed once after it is opened ([`Folder::begin_key_backup_scan`]); when
/// no key file has a companion, missing ids are answered without looking for
/// one. That stays true while the lock is held: this package never makes a
/// `.bak`, and the hardened helper must not write a folder another process
/// owns (two owners overwrite each other's sessions anyway). Without the lock
/// nothing is assumed. An unreadable key file always has its `.bak` looked at.
pub struct KeyBackups(AtomicU8);

const UNKNOWN: u8 = 0;
const SCANNING: u8 = 1;
const NONE: u8 = 2;
const SOME: u8 = 3;

impl KeyBackups {
  fn new() -> Arc<KeyBackups> {
    Arc::new(KeyBackups(AtomicU8::new(UNKNOWN)))
  }
}

/// One [`KeyBackups`] per folder and holding of its lock: every open of a
/// folder under the same lock shares what the first one's listing found; a
/// lock taken again (the folder was made again) starts from nothing known.
fn key_backups_for(path: &Path, lock: Option<&Arc<FolderLock>>) -> Arc<KeyBackups> {
  type Known = HashMap<PathBuf, (Weak<FolderLock>, Arc<KeyBackups>)>;
  static KNOWN: OnceLock<Mutex<Known>> = OnceLock::new();
  let Some(lock) = lock else { return KeyBackups::new() };
  let mut known = KNOWN.get_or_init(Default::default).lock();
  // The Weak keeps the lock's allocation, so an equal pointer is that very lock.
  match known.get(path) {
    Some((held, backups)) if std::ptr::eq(held.as_ptr(), Arc::as_ptr(lock)) => backups.clone(),
    _ => {
      let backups = KeyBackups::new();
      known.insert(path.to_owned(), (Arc::downgrade(lock), backups.clone()));
      backups
    }
  }
}

impl Folder {
  /// Baileys' folder check (a non-directory is an error with its wording; a
  /// missing folder is created, with missing parents, mode 0700 where there
  /// are modes), then the
  /// owner lock when asked for.
  pub fn open(display: &str, options: OpenOptions, io: Arc<dyn Io>) -> Result<Folder, StoreError> {
    let given = Path::new(display);
    match std::fs::metadata(given) {
      Ok(meta) if !meta.is_dir() => return Err(StoreError::NotADirectory { folder: display.to_owned() }),
      Ok(_) => {}
      // Baileys treats any failed stat as "missing" and lets `mkdir -p`
      // report the problem: same here, so errors read the same
      // ("ENOTDIR: not a directory, mkdir 'file/sub'").
      Err(_) => create_dir_all(io.as_ref(), given).map_err(|e| StoreError::io("mkdir", given, e))?,
    }
    let path = crate::paths::canonicalize(given).map_err(|e| StoreError::io("realpath", given, e))?;
    let dir = io.open_dir(&path).map_err(|e| StoreError::io("open", &path, e))?;
    let lock = if options.lock { Some(lock::acquire(&path, &dir)?) } else { None };
    let key_backups = key_backups_for(&path, lock.as_ref());
    Ok(Folder { display: display.to_owned(), path, dir, io, options, lock, key_backups })
  }

  pub fn dir(&self) -> &Dir {
    &self.dir
  }

  pub fn file_path(&self, name: &str) -> PathBuf {
    self.path.join(name)
  }

  pub fn holds_lock(&self) -> bool {
    self.lock.is_some()
  }

  /// Whether a missing key file may still have a `.bak` to read (see [`KeyBackups`]).
  pub fn may_have_key_backups(&self) -> bool {
    self.key_backups.0.load(Ordering::Acquire) != NONE
  }

  /// Whether the caller is to list the folder now and report what it found
  /// with [`Folder::end_key_backup_scan`]: once per holding of the lock, never
  /// without it.
  pub fn begin_key_backup_scan(&self) -> bool {
    self.lock.is_some() && self.key_backups.0.compare_exchange(UNKNOWN, SCANNING, Ordering::AcqRel, Ordering::Acquire).is_ok()
  }

  /// The listing begun with [`Folder::begin_key_backup_scan`] is done.
  pub fn end_key_backup_scan(&self, found: bool) {
    self.key_backups.0.store(if found { SOME } else { NONE }, Ordering::Release);
  }

  /// Every key file's companions were just removed (a `clear`): with the
  /// lock held, none can come back.
  pub fn key_backups_cleared(&self) {
    if self.lock.is_some() {
      self.key_backups.0.store(NONE, Ordering::Release);
    }
  }

  /// Makes the folder's entries (renames, unlinks) durable.
  pub fn fsync_dir(&self) -> Result<(), StoreError> {
    self.io.fsync_dir(&self.dir).map_err(|e| StoreError::io("fsync", &self.path, e))
  }
}

/// `mkdir -p`, each folder it creates getting mode 0700.
fn create_dir_all(io: &dyn Io, path: &Path) -> io::Result<()> {
  if path.as_os_str().is_empty() {
    return Err(io::Error::from_raw_os_error(crate::errno::ENOENT));
  }
  let mut missing = Vec::new();
  let mut cur = Some(path);
  while let Some(p) = cur {
    if p.as_os_str().is_empty() || std::fs::symlink_metadata(p).is_ok() {
      break;
    }
    missing.push(p.to_path_buf());
    cur = p.parent();
  }
  for p in missing.into_iter().rev() {
    match io.mkdir(&p) {
      Ok(()) => {}
      // Another process or thread made it first: fine if it is a directory.
      Err(e) if e.kind() == io::ErrorKind::AlreadyExists && p.is_dir() => {}
      // Something that is not a folder is in the way (as Node's `mkdir -p` reports it).
      Err(e) if e.kind() == io::ErrorKind::AlreadyExists => return Err(io::Error::from_raw_os_error(crate::errno::ENOTDIR)),
      Err(e) => return Err(e),
    }
  }
  Ok(())
}
