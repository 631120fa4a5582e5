//! Opening an auth folder: Baileys' checks, creation with private modes,
//! the owner lock, and a descriptor every file operation is relative to.

use std::io;
use std::os::fd::{AsRawFd, OwnedFd, RawFd};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use super::error::StoreError;
use super::io::Io;
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
  dir: OwnedFd,
  pub io: Arc<dyn Io>,
  pub options: OpenOptions,
  lock: Option<Arc<FolderLock>>,
}

impl Folder {
  /// Baileys' folder check (a non-directory is an error with its wording; a
  /// missing folder is created, with missing parents, mode 0700), then the
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
    let path = std::fs::canonicalize(given).map_err(|e| StoreError::io("realpath", given, e))?;
    let dir = io.open_dir(&path).map_err(|e| StoreError::io("open", &path, e))?;
    let lock = if options.lock { Some(lock::acquire(&path, dir.as_raw_fd())?) } else { None };
    Ok(Folder { display: display.to_owned(), path, dir, io, options, lock })
  }

  pub fn dir_fd(&self) -> RawFd {
    self.dir.as_raw_fd()
  }

  pub fn file_path(&self, name: &str) -> PathBuf {
    self.path.join(name)
  }

  pub fn holds_lock(&self) -> bool {
    self.lock.is_some()
  }

  /// Makes the folder's entries (renames, unlinks) durable.
  pub fn fsync_dir(&self) -> Result<(), StoreError> {
    self.io.fsync(&self.dir).map_err(|e| StoreError::io("fsync", &self.path, e))
  }
}

/// `mkdir -p`, each folder it creates getting mode 0700.
fn create_dir_all(io: &dyn Io, path: &Path) -> io::Result<()> {
  if path.as_os_str().is_empty() {
    return Err(io::Error::from_raw_os_error(libc::ENOENT));
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
      Err(e) if e.kind() == io::ErrorKind::AlreadyExists => return Err(io::Error::from_raw_os_error(libc::ENOTDIR)),
      Err(e) => return Err(e),
    }
  }
  Ok(())
}
