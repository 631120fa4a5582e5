//! Fault injection: an [`Io`] that fails the Nth mutating system call
//! (create, write, fsync, rename, unlink, mkdir, close) of the layer it wraps
//! with a chosen errno.
//! Used by the fault-injection tests to prove that every failure point of a
//! write, a batch and a delete leaves the folder as it was.

use std::fs::File;
use std::io;
use std::path::Path;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use super::io::{Dir, Io, RealIo};

pub struct FaultyIo {
  inner: Arc<dyn Io>,
  /// 1-based index of the call to fail; 0 never fails.
  fail_at: AtomicUsize,
  calls: AtomicUsize,
  errno: i32,
}

impl FaultyIo {
  /// Over this build's layer ([`RealIo`]).
  pub fn new(fail_at: usize, errno: i32) -> Self {
    Self::over(Arc::new(RealIo), fail_at, errno)
  }

  /// Over a chosen layer (the tests run the loop over each one).
  pub fn over(inner: Arc<dyn Io>, fail_at: usize, errno: i32) -> Self {
    FaultyIo { inner, fail_at: AtomicUsize::new(fail_at), calls: AtomicUsize::new(0), errno }
  }

  /// How many mutating calls were made so far.
  pub fn calls(&self) -> usize {
    self.calls.load(Ordering::SeqCst)
  }

  pub fn reset(&self, fail_at: usize) {
    self.calls.store(0, Ordering::SeqCst);
    self.fail_at.store(fail_at, Ordering::SeqCst);
  }

  fn check(&self) -> io::Result<()> {
    let n = self.calls.fetch_add(1, Ordering::SeqCst) + 1;
    if n == self.fail_at.load(Ordering::SeqCst) {
      Err(io::Error::from_raw_os_error(self.errno))
    } else {
      Ok(())
    }
  }
}

impl Io for FaultyIo {
  fn layer(&self) -> &'static str {
    self.inner.layer()
  }
  fn open_read(&self, dir: &Dir, name: &str) -> io::Result<File> {
    self.inner.open_read(dir, name)
  }
  fn hold(&self, dir: &Dir, name: &str) -> Option<File> {
    self.inner.hold(dir, name)
  }
  fn create_new(&self, dir: &Dir, name: &str) -> io::Result<File> {
    self.check()?;
    self.inner.create_new(dir, name)
  }
  fn read_to_end(&self, file: &File, limit: u64, out: &mut Vec<u8>) -> io::Result<()> {
    self.inner.read_to_end(file, limit, out)
  }
  fn write_all(&self, file: &File, bytes: &[u8]) -> io::Result<()> {
    self.check()?;
    self.inner.write_all(file, bytes)
  }
  fn fsync(&self, file: &File) -> io::Result<()> {
    self.check()?;
    self.inner.fsync(file)
  }
  fn fsync_dir(&self, dir: &Dir) -> io::Result<()> {
    self.check()?;
    self.inner.fsync_dir(dir)
  }
  fn rename(&self, dir: &Dir, from: &str, to: &str, durable: bool) -> io::Result<()> {
    self.check()?;
    self.inner.rename(dir, from, to, durable)
  }
  fn unlink(&self, dir: &Dir, name: &str) -> io::Result<()> {
    self.check()?;
    self.inner.unlink(dir, name)
  }
  fn mkdir(&self, path: &Path) -> io::Result<()> {
    self.check()?;
    self.inner.mkdir(path)
  }
  fn open_dir(&self, path: &Path) -> io::Result<Dir> {
    self.inner.open_dir(path)
  }
  fn close(&self, file: File) -> io::Result<()> {
    // The file is closed either way, as a failing close(2) does.
    let real = self.inner.close(file);
    self.check()?;
    real
  }
}
