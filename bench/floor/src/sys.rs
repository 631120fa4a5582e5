//! The handful of Linux system calls the floor makes, declared by hand so that
//! the `floor` binary has no dependencies (it builds offline; the package's
//! one dependency, rusqlite, is only for `floor-sqlite`, behind a feature). x86_64 Linux with glibc ≥ 2.33 (for the `fstat` symbol) only,
//! which is the only target of baileys-auth-native.

#![allow(non_camel_case_types)]

#[cfg(not(all(target_os = "linux", target_arch = "x86_64")))]
compile_error!("the bench floor is written for x86_64 Linux only");

use std::ffi::CStr;
use std::io;
use std::os::raw::{c_char, c_int, c_uint, c_void};

pub type RawFd = c_int;

pub const O_RDONLY: c_int = 0;
pub const O_WRONLY: c_int = 0o1;
pub const O_CREAT: c_int = 0o100;
pub const O_EXCL: c_int = 0o200;
pub const O_TRUNC: c_int = 0o1000;
pub const O_DIRECTORY: c_int = 0o200000;
pub const O_NOFOLLOW: c_int = 0o400000;
pub const O_CLOEXEC: c_int = 0o2000000;
pub const ENOENT: i32 = 2;
pub const EINTR: i32 = 4;

/// `struct stat` of x86_64 Linux.
#[repr(C)]
pub struct Stat {
  pub st_dev: u64,
  pub st_ino: u64,
  pub st_nlink: u64,
  pub st_mode: u32,
  pub st_uid: u32,
  pub st_gid: u32,
  __pad0: i32,
  pub st_rdev: u64,
  pub st_size: i64,
  pub st_blksize: i64,
  pub st_blocks: i64,
  pub st_atime: i64,
  pub st_atime_nsec: i64,
  pub st_mtime: i64,
  pub st_mtime_nsec: i64,
  pub st_ctime: i64,
  pub st_ctime_nsec: i64,
  __unused: [i64; 3],
}

extern "C" {
  fn openat(dirfd: c_int, path: *const c_char, flags: c_int, ...) -> c_int;
  fn open(path: *const c_char, flags: c_int, ...) -> c_int;
  fn fstat(fd: c_int, buf: *mut Stat) -> c_int;
  fn fchmod(fd: c_int, mode: c_uint) -> c_int;
  fn read(fd: c_int, buf: *mut c_void, count: usize) -> isize;
  fn write(fd: c_int, buf: *const c_void, count: usize) -> isize;
  fn fsync(fd: c_int) -> c_int;
  fn close(fd: c_int) -> c_int;
  fn renameat(olddirfd: c_int, oldpath: *const c_char, newdirfd: c_int, newpath: *const c_char) -> c_int;
  fn renameat2(olddirfd: c_int, oldpath: *const c_char, newdirfd: c_int, newpath: *const c_char, flags: c_uint) -> c_int;
  fn __errno_location() -> *mut c_int;
  fn getpid() -> c_int;
  fn sync();
}

fn errno() -> i32 {
  unsafe { *__errno_location() }
}

fn cvt(r: c_int) -> io::Result<c_int> {
  if r < 0 {
    Err(io::Error::from_raw_os_error(errno()))
  } else {
    Ok(r)
  }
}

fn retry<T>(mut f: impl FnMut() -> io::Result<T>) -> io::Result<T> {
  loop {
    match f() {
      Err(e) if e.raw_os_error() == Some(EINTR) => continue,
      r => return r,
    }
  }
}

/// `sync(2)`: write back everything dirty, on every filesystem.
pub fn sync_all() {
  unsafe { sync() }
}

pub fn pid() -> u32 {
  unsafe { getpid() as u32 }
}

pub fn open_dir(path: &CStr) -> io::Result<RawFd> {
  retry(|| cvt(unsafe { open(path.as_ptr(), O_RDONLY | O_DIRECTORY | O_CLOEXEC) }))
}

/// Opens an existing file for reading; `Ok(None)` when it does not exist.
pub fn open_read(dir: RawFd, name: &CStr) -> io::Result<Option<RawFd>> {
  match retry(|| cvt(unsafe { openat(dir, name.as_ptr(), O_RDONLY | O_CLOEXEC) })) {
    Ok(fd) => Ok(Some(fd)),
    Err(e) if e.raw_os_error() == Some(ENOENT) => Ok(None),
    Err(e) => Err(e),
  }
}

/// `O_CREAT|O_EXCL|O_NOFOLLOW`, mode 0600, then `fchmod` 0600 (as our store does).
pub fn create_new(dir: RawFd, name: &CStr) -> io::Result<RawFd> {
  let flags = O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC;
  let fd = retry(|| cvt(unsafe { openat(dir, name.as_ptr(), flags, 0o600 as c_uint) }))?;
  if let Err(e) = cvt(unsafe { fchmod(fd, 0o600) }) {
    unsafe { close(fd) };
    return Err(e);
  }
  Ok(fd)
}

/// What Node's `writeFile` does (Baileys' protocol, for comparison only):
/// `O_WRONLY|O_CREAT|O_TRUNC`, mode 0666 (less the umask), in place.
pub fn open_trunc(dir: RawFd, name: &CStr) -> io::Result<RawFd> {
  let flags = O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC;
  retry(|| cvt(unsafe { openat(dir, name.as_ptr(), flags, 0o666 as c_uint) }))
}

pub fn fstat_size(fd: RawFd) -> io::Result<u64> {
  let mut st: Stat = unsafe { std::mem::zeroed() };
  cvt(unsafe { fstat(fd, &mut st) })?;
  Ok(st.st_size as u64)
}

/// Reads to the end into `out` (cleared first), sized by `fstat` as our store does.
pub fn read_to_end(fd: RawFd, out: &mut Vec<u8>) -> io::Result<()> {
  let size = fstat_size(fd)? as usize;
  out.clear();
  out.reserve(size + 1);
  loop {
    if out.capacity() == out.len() {
      out.reserve(4096);
    }
    let spare = out.capacity() - out.len();
    let n = retry(|| {
      let r = unsafe { read(fd, out.as_mut_ptr().add(out.len()) as *mut c_void, spare) };
      if r < 0 {
        Err(io::Error::from_raw_os_error(errno()))
      } else {
        Ok(r as usize)
      }
    })?;
    if n == 0 {
      return Ok(());
    }
    unsafe { out.set_len(out.len() + n) };
  }
}

pub fn write_all(fd: RawFd, mut bytes: &[u8]) -> io::Result<()> {
  while !bytes.is_empty() {
    let n = retry(|| {
      let r = unsafe { write(fd, bytes.as_ptr() as *const c_void, bytes.len()) };
      if r < 0 {
        Err(io::Error::from_raw_os_error(errno()))
      } else {
        Ok(r as usize)
      }
    })?;
    if n == 0 {
      return Err(io::Error::other("write returned 0"));
    }
    bytes = &bytes[n..];
  }
  Ok(())
}

pub fn fsync_fd(fd: RawFd) -> io::Result<()> {
  cvt(unsafe { fsync(fd) }).map(drop)
}

pub fn close_fd(fd: RawFd) -> io::Result<()> {
  cvt(unsafe { close(fd) }).map(drop)
}

/// `renameat2(RENAME_EXCHANGE)`: swaps two names atomically (both must exist).
pub fn exchange_in(dir: RawFd, a: &CStr, b: &CStr) -> io::Result<()> {
  retry(|| {
    cvt(unsafe {
      renameat2(dir, a.as_ptr(), dir, b.as_ptr(), 2 /* RENAME_EXCHANGE */)
    })
  })
  .map(drop)
}

/// Opens an existing temporary file of ours to rewrite it: `O_WRONLY|O_TRUNC|O_NOFOLLOW`.
pub fn open_rewrite(dir: RawFd, name: &CStr) -> io::Result<Option<RawFd>> {
  match retry(|| cvt(unsafe { openat(dir, name.as_ptr(), O_WRONLY | O_TRUNC | O_NOFOLLOW | O_CLOEXEC) })) {
    Ok(fd) => Ok(Some(fd)),
    Err(e) if e.raw_os_error() == Some(ENOENT) => Ok(None),
    Err(e) => Err(e),
  }
}

pub fn rename_in(dir: RawFd, from: &CStr, to: &CStr) -> io::Result<()> {
  retry(|| cvt(unsafe { renameat(dir, from.as_ptr(), dir, to.as_ptr()) })).map(drop)
}
