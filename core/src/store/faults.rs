//! Fault injection: an [`Io`] that fails the Nth mutating system call
//! (create, write, fsync, rename, unlink, mkdir, close) with a chosen errno.
//! Used by the fault-injection tests to prove that every failure point of a
//! write, a batch and a delete leaves the folder as it was.

use std::ffi::CStr;
use std::io;
use std::os::fd::{OwnedFd, RawFd};
use std::path::Path;
use std::sync::atomic::{AtomicUsize, Ordering};

use super::io::{Io, RealIo};

pub struct FaultyIo {
  /// 1-based index of the call to fail; 0 never fails.
  fail_at: AtomicUsize,
  calls: AtomicUsize,
  errno: i32,
}

impl FaultyIo {
  pub fn new(fail_at: usize, errno: i32) -> Self {
    FaultyIo { fail_at: AtomicUsize::new(fail_at), calls: AtomicUsize::new(0), errno }
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
  fn open_read(&self, dir: RawFd, name: &CStr) -> io::Result<OwnedFd> {
    RealIo.open_read(dir, name)
  }
  fn open_path(&self, dir: RawFd, name: &CStr) -> io::Result<OwnedFd> {
    RealIo.open_path(dir, name)
  }
  fn create_new(&self, dir: RawFd, name: &CStr) -> io::Result<OwnedFd> {
    self.check()?;
    RealIo.create_new(dir, name)
  }
  fn read_to_end(&self, fd: &OwnedFd, limit: u64, out: &mut Vec<u8>) -> io::Result<()> {
    RealIo.read_to_end(fd, limit, out)
  }
  fn write_all(&self, fd: &OwnedFd, bytes: &[u8]) -> io::Result<()> {
    self.check()?;
    RealIo.write_all(fd, bytes)
  }
  fn fsync(&self, fd: &OwnedFd) -> io::Result<()> {
    self.check()?;
    RealIo.fsync(fd)
  }
  fn rename(&self, dir: RawFd, from: &CStr, to: &CStr) -> io::Result<()> {
    self.check()?;
    RealIo.rename(dir, from, to)
  }
  fn unlink(&self, dir: RawFd, name: &CStr) -> io::Result<()> {
    self.check()?;
    RealIo.unlink(dir, name)
  }
  fn mkdir(&self, path: &Path) -> io::Result<()> {
    self.check()?;
    RealIo.mkdir(path)
  }
  fn open_dir(&self, path: &Path) -> io::Result<OwnedFd> {
    RealIo.open_dir(path)
  }
  fn close(&self, fd: OwnedFd) -> io::Result<()> {
    // The descriptor is closed either way, as a failing close(2) does.
    let real = RealIo.close(fd);
    self.check()?;
    real
  }
}
