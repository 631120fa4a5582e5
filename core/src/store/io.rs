//! The system calls the store makes, behind a trait so that tests can fail
//! any one of them (see [`super::faults`]). Paths are names relative to the
//! folder's directory descriptor (`openat` and friends): a key file is found
//! without walking the folder's path again, and a folder renamed while open
//! keeps working.

use std::ffi::{CStr, CString};
use std::io;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::path::Path;

/// Mode of every file we create, whatever the umask.
pub const FILE_MODE: libc::mode_t = 0o600;
/// Mode of every folder we create, whatever the umask.
pub const DIR_MODE: libc::mode_t = 0o700;

pub trait Io: Send + Sync {
  /// Opens an existing file for reading (following symlinks, as Node does).
  fn open_read(&self, dir: RawFd, name: &CStr) -> io::Result<OwnedFd>;
  /// A handle on whatever `name` is (`O_PATH|O_NOFOLLOW`): never blocks, never reads.
  fn open_path(&self, dir: RawFd, name: &CStr) -> io::Result<OwnedFd>;
  /// Creates a new file: `O_CREAT|O_EXCL|O_NOFOLLOW`, mode 0600.
  fn create_new(&self, dir: RawFd, name: &CStr) -> io::Result<OwnedFd>;
  fn read_to_end(&self, fd: &OwnedFd, limit: u64, out: &mut Vec<u8>) -> io::Result<()>;
  fn write_all(&self, fd: &OwnedFd, bytes: &[u8]) -> io::Result<()>;
  fn fsync(&self, fd: &OwnedFd) -> io::Result<()>;
  fn rename(&self, dir: RawFd, from: &CStr, to: &CStr) -> io::Result<()>;
  fn unlink(&self, dir: RawFd, name: &CStr) -> io::Result<()>;
  fn mkdir(&self, path: &Path) -> io::Result<()>;
  fn open_dir(&self, path: &Path) -> io::Result<OwnedFd>;
  /// Closing can report a deferred write error (NFS); it is checked after writes.
  fn close(&self, fd: OwnedFd) -> io::Result<()>;
}

/// The real system calls.
pub struct RealIo;

fn cvt(ret: libc::c_int) -> io::Result<libc::c_int> {
  if ret < 0 {
    Err(io::Error::last_os_error())
  } else {
    Ok(ret)
  }
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

pub fn path_cstring(path: &Path) -> io::Result<CString> {
  use std::os::unix::ffi::OsStrExt;
  CString::new(path.as_os_str().as_bytes()).map_err(|_| io::Error::from_raw_os_error(libc::EINVAL))
}

impl Io for RealIo {
  fn open_read(&self, dir: RawFd, name: &CStr) -> io::Result<OwnedFd> {
    // O_NONBLOCK: a FIFO planted where a key file should be must not hang a worker.
    let flags = libc::O_RDONLY | libc::O_CLOEXEC | libc::O_NONBLOCK;
    let fd = retry_eintr(|| cvt(unsafe { libc::openat(dir, name.as_ptr(), flags) }))?;
    Ok(unsafe { OwnedFd::from_raw_fd(fd) })
  }

  fn open_path(&self, dir: RawFd, name: &CStr) -> io::Result<OwnedFd> {
    let flags = libc::O_PATH | libc::O_NOFOLLOW | libc::O_CLOEXEC;
    let fd = retry_eintr(|| cvt(unsafe { libc::openat(dir, name.as_ptr(), flags) }))?;
    Ok(unsafe { OwnedFd::from_raw_fd(fd) })
  }

  fn create_new(&self, dir: RawFd, name: &CStr) -> io::Result<OwnedFd> {
    let flags = libc::O_WRONLY | libc::O_CREAT | libc::O_EXCL | libc::O_NOFOLLOW | libc::O_CLOEXEC;
    let fd = retry_eintr(|| cvt(unsafe { libc::openat(dir, name.as_ptr(), flags, FILE_MODE as libc::c_uint) }))?;
    let fd = unsafe { OwnedFd::from_raw_fd(fd) };
    // The umask may have taken bits away from 0600 (it never adds any), and
    // the process may change it at any time: look (fstat is far cheaper than
    // an fchmod, which dirties the inode) and set it exactly when needed.
    let mut st: libc::stat = unsafe { std::mem::zeroed() };
    let exact = unsafe { libc::fstat(fd.as_raw_fd(), &mut st) } == 0 && st.st_mode & 0o7777 == FILE_MODE;
    if !exact {
      if let Err(e) = cvt(unsafe { libc::fchmod(fd.as_raw_fd(), FILE_MODE) }) {
        // The file is ours (O_EXCL): do not leave it behind (the caller only
        // removes temp files it got a descriptor for).
        drop(fd);
        unsafe { libc::unlinkat(dir, name.as_ptr(), 0) };
        return Err(e);
      }
    }
    Ok(fd)
  }

  fn read_to_end(&self, fd: &OwnedFd, limit: u64, out: &mut Vec<u8>) -> io::Result<()> {
    let mut st: libc::stat = unsafe { std::mem::zeroed() };
    cvt(unsafe { libc::fstat(fd.as_raw_fd(), &mut st) })?;
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
        let r = unsafe { libc::read(fd.as_raw_fd(), out.as_mut_ptr().add(out.len()) as *mut libc::c_void, spare) };
        if r < 0 {
          Err(io::Error::last_os_error())
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

  fn write_all(&self, fd: &OwnedFd, mut bytes: &[u8]) -> io::Result<()> {
    while !bytes.is_empty() {
      let n = retry_eintr(|| {
        let r = unsafe { libc::write(fd.as_raw_fd(), bytes.as_ptr() as *const libc::c_void, bytes.len()) };
        if r < 0 {
          Err(io::Error::last_os_error())
        } else {
          Ok(r as usize)
        }
      })?;
      if n == 0 {
        return Err(io::Error::from_raw_os_error(libc::EIO));
      }
      bytes = &bytes[n..];
    }
    Ok(())
  }

  fn fsync(&self, fd: &OwnedFd) -> io::Result<()> {
    cvt(unsafe { libc::fsync(fd.as_raw_fd()) }).map(drop)
  }

  fn rename(&self, dir: RawFd, from: &CStr, to: &CStr) -> io::Result<()> {
    retry_eintr(|| cvt(unsafe { libc::renameat(dir, from.as_ptr(), dir, to.as_ptr()) })).map(drop)
  }

  fn unlink(&self, dir: RawFd, name: &CStr) -> io::Result<()> {
    retry_eintr(|| cvt(unsafe { libc::unlinkat(dir, name.as_ptr(), 0) })).map(drop)
  }

  fn mkdir(&self, path: &Path) -> io::Result<()> {
    let c = path_cstring(path)?;
    cvt(unsafe { libc::mkdir(c.as_ptr(), DIR_MODE) })?;
    cvt(unsafe { libc::chmod(c.as_ptr(), DIR_MODE) }).map(drop)
  }

  fn open_dir(&self, path: &Path) -> io::Result<OwnedFd> {
    let c = path_cstring(path)?;
    let fd = retry_eintr(|| cvt(unsafe { libc::open(c.as_ptr(), libc::O_RDONLY | libc::O_DIRECTORY | libc::O_CLOEXEC) }))?;
    Ok(unsafe { OwnedFd::from_raw_fd(fd) })
  }

  fn close(&self, fd: OwnedFd) -> io::Result<()> {
    use std::os::fd::IntoRawFd;
    let raw = fd.into_raw_fd();
    // EINTR on close on Linux still closes the descriptor: never retry.
    cvt(unsafe { libc::close(raw) }).map(drop)
  }
}
