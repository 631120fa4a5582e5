//! The Unix layer (Linux and macOS): system calls relative to the folder's
//! directory descriptor.
//!
//! What differs between the two is kept here under `cfg`: Linux has `O_PATH`
//! (a handle on a file that neither reads nor blocks, used to free replaced
//! files off the write path); macOS has not, and there `fsync(2)` only hands
//! the data to the drive, whose cache can still lose it: `fsync: true` asks
//! for `F_FULLFSYNC` instead, which reaches the disk.

use std::ffi::{CStr, CString};
use std::fs::File;
use std::io;
use std::os::fd::{AsRawFd, FromRawFd, IntoRawFd, OwnedFd, RawFd};
use std::path::Path;

use super::{invalid_name, Dir, Io, DIR_MODE, FILE_MODE};

/// The Unix system calls.
pub struct UnixIo;

fn cvt(ret: libc::c_int) -> io::Result<libc::c_int> {
  if ret < 0 {
    Err(io::Error::last_os_error())
  } else {
    Ok(ret)
  }
}

/// The byte count of a `read`/`write`, or its error.
fn cvt_len(ret: isize) -> io::Result<usize> {
  usize::try_from(ret).map_err(|_| io::Error::last_os_error())
}

/// Retries a call interrupted by a signal (never used for fsync: a failed
/// fsync is not retried, its error is final).
fn retry_eintr<T>(mut f: impl FnMut() -> io::Result<T>) -> io::Result<T> {
  loop {
    match f() {
      Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
      other => return other,
    }
  }
}

/// Runs `f` with `name` as a C string, on the stack for every name a file
/// system takes (no allocation on the write path); a NUL inside is `EINVAL`.
fn with_c<T>(name: &str, f: impl FnOnce(&CStr) -> io::Result<T>) -> io::Result<T> {
  let bytes = name.as_bytes();
  if bytes.len() < 256 {
    let mut buf = [0u8; 256];
    buf[..bytes.len()].copy_from_slice(bytes);
    let c = CStr::from_bytes_with_nul(&buf[..=bytes.len()]).map_err(|_| invalid_name())?;
    f(c)
  } else {
    let c = CString::new(name).map_err(|_| invalid_name())?;
    f(&c)
  }
}

pub fn path_cstring(path: &Path) -> io::Result<CString> {
  use std::os::unix::ffi::OsStrExt;
  CString::new(path.as_os_str().as_bytes()).map_err(|_| invalid_name())
}

/// The descriptor a [`Dir`] of this layer holds (`-1`, so `EBADF`, for one without).
pub(crate) fn dir_fd(dir: &Dir) -> RawFd {
  dir.handle().map_or(-1, |f| f.as_raw_fd())
}

/// SAFETY: `fd` must be a descriptor just opened and owned by nobody else.
unsafe fn own(fd: libc::c_int) -> File {
  File::from(OwnedFd::from_raw_fd(fd))
}

/// `fsync`, or on macOS `F_FULLFSYNC` (falling back to `fsync` on the file
/// systems that do not support it, as SQLite does).
fn sync(fd: RawFd) -> io::Result<()> {
  #[cfg(target_vendor = "apple")]
  {
    // SAFETY: a plain system call on a descriptor the caller holds open.
    if unsafe { libc::fcntl(fd, libc::F_FULLFSYNC) } == 0 {
      return Ok(());
    }
  }
  // SAFETY: as above.
  cvt(unsafe { libc::fsync(fd) }).map(drop)
}

impl Io for UnixIo {
  fn layer(&self) -> &'static str {
    "unix"
  }

  fn open_read(&self, dir: &Dir, name: &str) -> io::Result<File> {
    // O_NONBLOCK: a FIFO planted where a key file should be must not hang a worker.
    let flags = libc::O_RDONLY | libc::O_CLOEXEC | libc::O_NONBLOCK;
    with_c(name, |c| {
      // SAFETY: `c` is NUL-terminated for the call; the result is a fresh descriptor.
      let fd = retry_eintr(|| cvt(unsafe { libc::openat(dir_fd(dir), c.as_ptr(), flags) }))?;
      Ok(unsafe { own(fd) })
    })
  }

  #[cfg(target_os = "linux")]
  fn hold(&self, dir: &Dir, name: &str) -> Option<File> {
    let flags = libc::O_PATH | libc::O_NOFOLLOW | libc::O_CLOEXEC;
    with_c(name, |c| {
      // SAFETY: as in `open_read`.
      let fd = retry_eintr(|| cvt(unsafe { libc::openat(dir_fd(dir), c.as_ptr(), flags) }))?;
      Ok(unsafe { own(fd) })
    })
    .ok()
  }

  // No O_PATH outside Linux; the cost it moves away (freeing the inode inside
  // the rename) was measured on ext4 only.
  #[cfg(not(target_os = "linux"))]
  fn hold(&self, _dir: &Dir, _name: &str) -> Option<File> {
    None
  }

  fn create_new(&self, dir: &Dir, name: &str) -> io::Result<File> {
    let flags = libc::O_WRONLY | libc::O_CREAT | libc::O_EXCL | libc::O_NOFOLLOW | libc::O_CLOEXEC;
    let dirfd = dir_fd(dir);
    with_c(name, |c| {
      // SAFETY: as in `open_read`.
      let fd = retry_eintr(|| cvt(unsafe { libc::openat(dirfd, c.as_ptr(), flags, FILE_MODE as libc::c_uint) }))?;
      let file = unsafe { own(fd) };
      // The umask may have taken bits away from 0600 (it never adds any), and
      // the process may change it at any time: look (fstat is far cheaper than
      // an fchmod, which dirties the inode) and set it exactly when needed.
      let mut st: libc::stat = unsafe { std::mem::zeroed() };
      // SAFETY: `st` is a valid out-pointer; the descriptor is open.
      let exact = unsafe { libc::fstat(file.as_raw_fd(), &mut st) } == 0 && st.st_mode as u32 & 0o7777 == FILE_MODE;
      if !exact {
        if let Err(e) = cvt(unsafe { libc::fchmod(file.as_raw_fd(), FILE_MODE as libc::mode_t) }) {
          // The file is ours (O_EXCL): do not leave it behind (the caller only
          // removes temp files it got a descriptor for).
          drop(file);
          unsafe { libc::unlinkat(dirfd, c.as_ptr(), 0) };
          return Err(e);
        }
      }
      Ok(file)
    })
  }

  fn read_to_end(&self, file: &File, limit: u64, out: &mut Vec<u8>) -> io::Result<()> {
    let fd = file.as_raw_fd();
    let mut st: libc::stat = unsafe { std::mem::zeroed() };
    // SAFETY: `st` is a valid out-pointer; the descriptor is open.
    cvt(unsafe { libc::fstat(fd, &mut st) })?;
    match st.st_mode & libc::S_IFMT {
      libc::S_IFREG => {}
      libc::S_IFDIR => return Err(io::Error::from_raw_os_error(libc::EISDIR)),
      // A FIFO, socket or device where a file should be: not ours to read.
      _ => return Err(io::Error::from_raw_os_error(libc::EINVAL)),
    }
    if st.st_size as u64 > limit {
      return Err(io::Error::from_raw_os_error(libc::EFBIG));
    }
    out.clear();
    out.reserve(st.st_size as usize + 1);
    loop {
      if out.len() as u64 > limit {
        return Err(io::Error::from_raw_os_error(libc::EFBIG));
      }
      if out.capacity() == out.len() {
        out.reserve(4096);
      }
      let spare = out.capacity() - out.len();
      let n = retry_eintr(|| {
        // SAFETY: the spare capacity of `out` is valid for `spare` bytes.
        cvt_len(unsafe { libc::read(fd, out.as_mut_ptr().add(out.len()) as *mut libc::c_void, spare) })
      })?;
      if n == 0 {
        return Ok(());
      }
      // SAFETY: `read` initialised those `n` bytes.
      unsafe { out.set_len(out.len() + n) };
    }
  }

  fn write_all(&self, file: &File, mut bytes: &[u8]) -> io::Result<()> {
    while !bytes.is_empty() {
      let n = retry_eintr(|| {
        // SAFETY: `bytes` is valid for its length.
        cvt_len(unsafe { libc::write(file.as_raw_fd(), bytes.as_ptr() as *const libc::c_void, bytes.len()) })
      })?;
      if n == 0 {
        return Err(io::Error::from_raw_os_error(libc::EIO));
      }
      bytes = &bytes[n..];
    }
    Ok(())
  }

  fn fsync(&self, file: &File) -> io::Result<()> {
    sync(file.as_raw_fd())
  }

  fn fsync_dir(&self, dir: &Dir) -> io::Result<()> {
    sync(dir_fd(dir))
  }

  fn rename(&self, dir: &Dir, from: &str, to: &str, _durable: bool) -> io::Result<()> {
    let fd = dir_fd(dir);
    with_c(from, |from| {
      // SAFETY: both names are NUL-terminated for the call.
      with_c(to, |to| retry_eintr(|| cvt(unsafe { libc::renameat(fd, from.as_ptr(), fd, to.as_ptr()) })).map(drop))
    })
  }

  fn unlink(&self, dir: &Dir, name: &str) -> io::Result<()> {
    // SAFETY: the name is NUL-terminated for the call.
    with_c(name, |c| retry_eintr(|| cvt(unsafe { libc::unlinkat(dir_fd(dir), c.as_ptr(), 0) })).map(drop))
  }

  fn mkdir(&self, path: &Path) -> io::Result<()> {
    let c = path_cstring(path)?;
    // SAFETY: `c` is NUL-terminated for both calls.
    cvt(unsafe { libc::mkdir(c.as_ptr(), DIR_MODE as libc::mode_t) })?;
    cvt(unsafe { libc::chmod(c.as_ptr(), DIR_MODE as libc::mode_t) }).map(drop)
  }

  fn open_dir(&self, path: &Path) -> io::Result<Dir> {
    let c = path_cstring(path)?;
    // SAFETY: `c` is NUL-terminated; the result is a fresh descriptor.
    let fd = retry_eintr(|| cvt(unsafe { libc::open(c.as_ptr(), libc::O_RDONLY | libc::O_DIRECTORY | libc::O_CLOEXEC) }))?;
    Ok(Dir::new(path.to_owned(), Some(unsafe { own(fd) })))
  }

  fn close(&self, file: File) -> io::Result<()> {
    let raw = file.into_raw_fd();
    // EINTR on close on Linux still closes the descriptor: never retry.
    // SAFETY: `raw` was ours alone and is not used again.
    cvt(unsafe { libc::close(raw) }).map(drop)
  }
}
