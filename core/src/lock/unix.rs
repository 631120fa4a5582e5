//! The owner lock's system calls on Unix: `flock`, relative to the folder's
//! descriptor, never through a symlink.

use std::ffi::CString;
use std::fs::File;
use std::io;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::path::Path;

use crate::store::io::unix::dir_fd;
use crate::store::io::{Dir, FILE_MODE};

fn open(dir: libc::c_int, name: &std::ffi::CStr) -> io::Result<File> {
  let flags = libc::O_RDWR | libc::O_CREAT | libc::O_NOFOLLOW | libc::O_CLOEXEC;
  // SAFETY: `name` is NUL-terminated for the call.
  let raw = unsafe { libc::openat(dir, name.as_ptr(), flags, FILE_MODE as libc::c_uint) };
  if raw < 0 {
    return Err(io::Error::last_os_error());
  }
  // SAFETY: `raw` is a descriptor we just opened and own alone.
  Ok(File::from(unsafe { OwnedFd::from_raw_fd(raw) }))
}

/// Opens (creating it, mode 0600) the lock file `name` inside `dir`.
pub fn open_in(dir: &Dir, name: &std::ffi::CStr) -> io::Result<File> {
  open(dir_fd(dir), name)
}

/// Opens (creating it, mode 0600) the lock file at `path`.
pub fn open_at(path: &Path) -> io::Result<File> {
  use std::os::unix::ffi::OsStrExt;
  let c = CString::new(path.as_os_str().as_bytes()).map_err(|_| io::Error::from_raw_os_error(libc::EINVAL))?;
  open(libc::AT_FDCWD, &c)
}

/// An exclusive `flock` without waiting: `Ok(false)` when another open file
/// description (another process) holds it.
pub fn try_lock(file: &File) -> io::Result<bool> {
  // SAFETY: a plain system call on a descriptor the caller owns.
  if unsafe { libc::flock(file.as_raw_fd(), libc::LOCK_EX | libc::LOCK_NB) } == 0 {
    // 0600 even if the file was there before with wider bits.
    unsafe { libc::fchmod(file.as_raw_fd(), FILE_MODE as libc::mode_t) };
    return Ok(true);
  }
  let e = io::Error::last_os_error();
  if e.raw_os_error() == Some(libc::EWOULDBLOCK) {
    Ok(false)
  } else {
    Err(e)
  }
}

pub fn write_pid(file: &File, text: &str) {
  // SAFETY: plain system calls on an open descriptor; `text` is valid for its length.
  unsafe {
    libc::ftruncate(file.as_raw_fd(), 0);
    libc::pwrite(file.as_raw_fd(), text.as_ptr() as *const libc::c_void, text.len(), 0);
  }
}

pub fn read_head(file: &File, buf: &mut [u8]) -> usize {
  // SAFETY: `buf` is valid for its length.
  let n = unsafe { libc::pread(file.as_raw_fd(), buf.as_mut_ptr() as *mut libc::c_void, buf.len(), 0) };
  n.max(0) as usize
}

/// Whether `file` is still the file named `name` in `dir` (same device and inode).
pub fn is_file_at(file: &File, dir: &Dir, name: &std::ffi::CStr) -> bool {
  let mut held: libc::stat = unsafe { std::mem::zeroed() };
  let mut there: libc::stat = unsafe { std::mem::zeroed() };
  let dirfd = dir_fd(dir);
  // SAFETY: valid out-pointers, an open descriptor, a NUL-terminated name.
  unsafe {
    libc::fstat(file.as_raw_fd(), &mut held) == 0
      && libc::fstatat(dirfd, name.as_ptr(), &mut there, libc::AT_SYMLINK_NOFOLLOW) == 0
      && held.st_dev == there.st_dev
      && held.st_ino == there.st_ino
  }
}
