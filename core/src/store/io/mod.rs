//! The system calls the store makes, behind a trait so that tests can fail
//! any one of them (see [`super::faults`]), in two layers:
//!
//! - [`unix`] (Linux and macOS): every name is relative to the folder's
//!   directory descriptor (`openat` and friends), so a key file is found
//!   without walking the folder's path again, and a folder renamed while open
//!   keeps working. Linux adds `O_PATH` handles that move the freeing of a
//!   replaced file off the write path ([`super::reaper`]).
//! - [`portable`] (every platform, Windows among them): `std::fs` on paths.
//!
//! [`RealIo`] is the one this build uses: the Unix layer on Unix, the portable
//! one elsewhere, or everywhere with the `portable-io` feature (which is how
//! CI runs the suites over the portable layer on Linux). Both give the same
//! guarantees: a new file is created exclusively and privately, the atomic
//! replace is one rename, and nothing ever follows a name out of the folder.

use std::fs::File;
use std::io;
use std::path::{Path, PathBuf};

pub mod portable;
#[cfg(unix)]
pub mod unix;

#[cfg(not(unix_io))]
pub use portable::PortableIo as RealIo;
#[cfg(unix_io)]
pub use unix::UnixIo as RealIo;

/// An open folder: its path, and the handle the layer keeps on it (the Unix
/// layer's descriptor every name is relative to; the portable layer's handle
/// for fsync, where the platform has one).
pub struct Dir {
  path: PathBuf,
  handle: Option<File>,
}

impl Dir {
  pub fn new(path: PathBuf, handle: Option<File>) -> Dir {
    Dir { path, handle }
  }

  pub fn path(&self) -> &Path {
    &self.path
  }

  pub fn handle(&self) -> Option<&File> {
    self.handle.as_ref()
  }
}

pub trait Io: Send + Sync {
  /// Which layer this is (`"unix"`, `"portable"`), for reports and tests.
  fn layer(&self) -> &'static str;
  /// Opens an existing file for reading (following symlinks, as Node does).
  fn open_read(&self, dir: &Dir, name: &str) -> io::Result<File>;
  /// A handle that keeps `name`'s file alive past a rename over it, where the
  /// layer has a cheap one (see [`super::reaper`]); never blocks, never reads.
  fn hold(&self, dir: &Dir, name: &str) -> Option<File>;
  /// Creates a new file, exclusively, never through a symlink, private to its
  /// owner (mode 0600 where there are modes).
  fn create_new(&self, dir: &Dir, name: &str) -> io::Result<File>;
  /// Reads a regular file whole; `EFBIG` past `limit`, `EISDIR`/`EINVAL` for
  /// what is not a regular file.
  fn read_to_end(&self, file: &File, limit: u64, out: &mut Vec<u8>) -> io::Result<()>;
  fn write_all(&self, file: &File, bytes: &[u8]) -> io::Result<()>;
  /// Makes a file's bytes durable (`F_FULLFSYNC` on macOS, `FlushFileBuffers` on Windows).
  fn fsync(&self, file: &File) -> io::Result<()>;
  /// Makes the folder's entries (renames, unlinks) durable.
  fn fsync_dir(&self, dir: &Dir) -> io::Result<()>;
  /// Replaces `to` with `from` atomically; `durable` when the caller syncs
  /// (Windows then asks for write-through).
  fn rename(&self, dir: &Dir, from: &str, to: &str, durable: bool) -> io::Result<()>;
  fn unlink(&self, dir: &Dir, name: &str) -> io::Result<()>;
  /// Creates one folder, private to its owner (mode 0700 where there are modes).
  fn mkdir(&self, path: &Path) -> io::Result<()>;
  fn open_dir(&self, path: &Path) -> io::Result<Dir>;
  /// Closing can report a deferred write error (NFS) on Unix; it is checked after writes.
  fn close(&self, file: File) -> io::Result<()>;
}

/// Mode of every file we create, whatever the umask (where there are modes).
pub const FILE_MODE: u32 = 0o600;
/// Mode of every folder we create, whatever the umask.
pub const DIR_MODE: u32 = 0o700;

/// `EINVAL` as an `io::Error` (a name no file can have).
pub(crate) fn invalid_name() -> io::Error {
  io::Error::from_raw_os_error(crate::errno::EINVAL)
}

/// Which layer this build's [`RealIo`] is (`"unix"` or `"portable"`).
pub fn layer() -> &'static str {
  RealIo.layer()
}

#[cfg(test)]
mod tests {
  #[test]
  fn the_build_uses_the_layer_its_features_ask_for() {
    let want = if cfg!(all(unix, not(feature = "portable-io"))) { "unix" } else { "portable" };
    assert_eq!(super::layer(), want);
  }
}
