//! The operating system's error codes, by their POSIX names, on every platform.
//!
//! The store compares and builds `io::Error`s by code (`raw_os_error`), and
//! reports them by name (`err.code`, as Node does: `ENOSPC`, `EACCES`…). On
//! Unix the codes are errno values. On Windows `raw_os_error` is a Win32 error
//! code, so there each name below is the Win32 code that means it, and
//! [`name`] turns Win32 codes into the names Node gives them (libuv's
//! mapping): a bot on Windows sees the same `err.code` as on Linux.

#[cfg(unix)]
pub use libc::{
  EACCES, EAGAIN, EBUSY, EDQUOT, EEXIST, EFBIG, EINVAL, EIO, EISDIR, ENAMETOOLONG, ENOENT, ENOSPC, ENOTDIR, EPERM, EROFS, EWOULDBLOCK,
};

#[cfg(not(unix))]
mod win32 {
  // Win32 codes (winerror.h) standing for the POSIX names the store uses.
  pub const EPERM: i32 = 5; // ERROR_ACCESS_DENIED
  pub const EACCES: i32 = 5; // ERROR_ACCESS_DENIED
  pub const ENOENT: i32 = 2; // ERROR_FILE_NOT_FOUND
  pub const EIO: i32 = 1117; // ERROR_IO_DEVICE
  pub const EAGAIN: i32 = 33; // ERROR_LOCK_VIOLATION
  pub const EWOULDBLOCK: i32 = 33; // ERROR_LOCK_VIOLATION
  pub const EBUSY: i32 = 32; // ERROR_SHARING_VIOLATION
  pub const EEXIST: i32 = 80; // ERROR_FILE_EXISTS
  pub const ENOTDIR: i32 = 267; // ERROR_DIRECTORY
  pub const EISDIR: i32 = 336; // ERROR_DIRECTORY_NOT_SUPPORTED
  pub const EINVAL: i32 = 87; // ERROR_INVALID_PARAMETER
  pub const EFBIG: i32 = 223; // ERROR_FILE_TOO_LARGE
  pub const ENOSPC: i32 = 112; // ERROR_DISK_FULL
  pub const EDQUOT: i32 = 1295; // ERROR_DISK_QUOTA_EXCEEDED
  pub const EROFS: i32 = 19; // ERROR_WRITE_PROTECT
  pub const ENAMETOOLONG: i32 = 206; // ERROR_FILENAME_EXCED_RANGE
}
#[cfg(not(unix))]
pub use win32::*;

/// The name Node gives an OS error code (`err.code`), or `"UNKNOWN"`.
pub fn name(code: i32) -> &'static str {
  #[cfg(unix)]
  {
    unix_name(code)
  }
  #[cfg(not(unix))]
  {
    windows_name(code)
  }
}

#[cfg(unix)]
fn unix_name(errno: i32) -> &'static str {
  match errno {
    libc::EPERM => "EPERM",
    libc::ENOENT => "ENOENT",
    libc::EIO => "EIO",
    libc::EBADF => "EBADF",
    libc::EAGAIN => "EAGAIN",
    libc::ENOMEM => "ENOMEM",
    libc::EACCES => "EACCES",
    libc::EBUSY => "EBUSY",
    libc::EEXIST => "EEXIST",
    libc::EXDEV => "EXDEV",
    libc::ENOTDIR => "ENOTDIR",
    libc::EISDIR => "EISDIR",
    libc::EINVAL => "EINVAL",
    libc::ENFILE => "ENFILE",
    libc::EMFILE => "EMFILE",
    libc::EFBIG => "EFBIG",
    libc::ENOSPC => "ENOSPC",
    libc::EROFS => "EROFS",
    libc::EMLINK => "EMLINK",
    libc::ENAMETOOLONG => "ENAMETOOLONG",
    libc::ENOTEMPTY => "ENOTEMPTY",
    libc::ELOOP => "ELOOP",
    libc::EDQUOT => "EDQUOT",
    libc::ESTALE => "ESTALE",
    libc::ETIMEDOUT => "ETIMEDOUT",
    libc::EINTR => "EINTR",
    libc::ENXIO => "ENXIO",
    libc::ENODEV => "ENODEV",
    libc::ETXTBSY => "ETXTBSY",
    libc::EOVERFLOW => "EOVERFLOW",
    // A server's socket (the PostgreSQL backend).
    libc::ECONNREFUSED => "ECONNREFUSED",
    libc::ECONNRESET => "ECONNRESET",
    libc::ECONNABORTED => "ECONNABORTED",
    libc::EHOSTUNREACH => "EHOSTUNREACH",
    libc::ENETUNREACH => "ENETUNREACH",
    libc::ENETDOWN => "ENETDOWN",
    libc::EPIPE => "EPIPE",
    libc::ENOTCONN => "ENOTCONN",
    libc::EADDRNOTAVAIL => "EADDRNOTAVAIL",
    libc::EADDRINUSE => "EADDRINUSE",
    _ => "UNKNOWN",
  }
}

/// The name Node (libuv's `uv_translate_sys_error`) gives a Win32 error code.
/// Compiled everywhere, so that this machine's tests check it.
#[cfg_attr(unix, allow(dead_code))]
pub fn windows_name(code: i32) -> &'static str {
  match code {
    2 | 3 | 15 | 161 => "ENOENT",  // FILE_NOT_FOUND, PATH_NOT_FOUND, INVALID_DRIVE, BAD_PATHNAME
    4 => "EMFILE",                 // TOO_MANY_OPEN_FILES
    5 => "EPERM",                  // ACCESS_DENIED (libuv maps it to EPERM)
    19 => "EROFS",                 // WRITE_PROTECT
    6 => "EBADF",                  // INVALID_HANDLE
    8 | 14 => "ENOMEM",            // NOT_ENOUGH_MEMORY, OUTOFMEMORY
    17 => "EXDEV",                 // NOT_SAME_DEVICE
    32 => "EBUSY",                 // SHARING_VIOLATION
    33 => "EBUSY",                 // LOCK_VIOLATION
    39 | 112 => "ENOSPC",          // HANDLE_DISK_FULL, DISK_FULL
    80 | 183 => "EEXIST",          // FILE_EXISTS, ALREADY_EXISTS
    87 | 123 => "EINVAL",          // INVALID_PARAMETER, INVALID_NAME
    145 => "ENOTEMPTY",            // DIR_NOT_EMPTY
    206 => "ENAMETOOLONG",         // FILENAME_EXCED_RANGE
    223 => "EFBIG",                // FILE_TOO_LARGE
    267 => "ENOTDIR",              // DIRECTORY
    336 => "EISDIR",               // DIRECTORY_NOT_SUPPORTED
    1117 | 23 | 1392 => "EIO",     // IO_DEVICE, CRC, FILE_CORRUPT
    1295 => "EDQUOT",              // DISK_QUOTA_EXCEEDED
    1921 => "ELOOP",               // CANT_RESOLVE_FILENAME
    10061 => "ECONNREFUSED",       // WSAECONNREFUSED
    10054 => "ECONNRESET",         // WSAECONNRESET
    10053 => "ECONNABORTED",       // WSAECONNABORTED
    10065 => "EHOSTUNREACH",       // WSAEHOSTUNREACH
    10051 | 1231 => "ENETUNREACH", // WSAENETUNREACH, NETWORK_UNREACHABLE
    10050 => "ENETDOWN",           // WSAENETDOWN
    10057 => "ENOTCONN",           // WSAENOTCONN
    10049 => "EADDRNOTAVAIL",      // WSAEADDRNOTAVAIL
    10048 => "EADDRINUSE",         // WSAEADDRINUSE
    10060 => "ETIMEDOUT",          // WSAETIMEDOUT
    109 | 232 => "EPIPE",          // BROKEN_PIPE, NO_DATA
    _ => "UNKNOWN",
  }
}

/// `err.errno` as Node gives it for an OS error code: the negated errno on
/// Unix; on Windows libuv's own negative code for the error's name (Node
/// never shows a Win32 code there), `UNKNOWN`'s when libuv has none.
pub fn node_errno(code: i32) -> i32 {
  if cfg!(unix) {
    -code
  } else {
    libuv_windows_errno(name(code))
  }
}

/// The text of Node's message for an OS error code ("no such file or
/// directory"): libuv's wording on Windows, where the OS's own would be
/// another language's sentence; `None` on Unix, where it is the OS's
/// `strerror`, as Node's.
pub fn node_message(code: i32) -> Option<&'static str> {
  if cfg!(unix) {
    None
  } else {
    LIBUV.iter().find(|(n, _, _)| *n == name(code)).map(|(_, _, text)| *text)
  }
}

/// libuv's error codes on Windows (uv/errno.h) and texts (`uv_strerror`), for
/// the names [`name`] gives.
const LIBUV: [(&str, i32, &str); 36] = [
  ("EACCES", -4092, "permission denied"),
  ("EADDRINUSE", -4091, "address already in use"),
  ("EADDRNOTAVAIL", -4090, "address not available"),
  ("EAGAIN", -4088, "resource temporarily unavailable"),
  ("EBADF", -4083, "bad file descriptor"),
  ("EBUSY", -4082, "resource busy or locked"),
  ("ECONNABORTED", -4079, "software caused connection abort"),
  ("ECONNREFUSED", -4078, "connection refused"),
  ("ECONNRESET", -4077, "connection reset by peer"),
  ("EEXIST", -4075, "file already exists"),
  ("EHOSTUNREACH", -4073, "host is unreachable"),
  ("EINTR", -4072, "interrupted system call"),
  ("EINVAL", -4071, "invalid argument"),
  ("EIO", -4070, "i/o error"),
  ("EISDIR", -4068, "illegal operation on a directory"),
  ("ELOOP", -4067, "too many symbolic links encountered"),
  ("EMFILE", -4066, "too many open files"),
  ("ENAMETOOLONG", -4064, "name too long"),
  ("ENETDOWN", -4063, "network is down"),
  ("ENETUNREACH", -4062, "network is unreachable"),
  ("ENFILE", -4061, "file table overflow"),
  ("ENODEV", -4059, "no such device"),
  ("ENOENT", -4058, "no such file or directory"),
  ("ENOMEM", -4057, "not enough memory"),
  ("ENOSPC", -4055, "no space left on device"),
  ("ENOTCONN", -4053, "socket is not connected"),
  ("ENOTDIR", -4052, "not a directory"),
  ("ENOTEMPTY", -4051, "directory not empty"),
  ("EPERM", -4048, "operation not permitted"),
  ("EPIPE", -4047, "broken pipe"),
  ("EROFS", -4043, "read-only file system"),
  ("ETIMEDOUT", -4039, "connection timed out"),
  ("ETXTBSY", -4038, "text file is busy"),
  ("EXDEV", -4037, "cross-device link not permitted"),
  ("EFBIG", -4036, "file too large"),
  ("UNKNOWN", -4094, "unknown error"),
];

fn libuv_windows_errno(name: &str) -> i32 {
  LIBUV.iter().find(|(n, _, _)| *n == name).map_or(-4094, |(_, uv, _)| *uv)
}

#[cfg(test)]
mod tests {
  use super::*;

  #[test]
  fn windows_errors_carry_libuvs_codes_as_node_gives_them() {
    // The values of Node 20's own uv/errno.h for Windows.
    assert_eq!(libuv_windows_errno(windows_name(2)), -4058);
    assert_eq!(libuv_windows_errno(windows_name(5)), -4048);
    assert_eq!(libuv_windows_errno(windows_name(32)), -4082);
    assert_eq!(libuv_windows_errno(windows_name(112)), -4055);
    assert_eq!(libuv_windows_errno(windows_name(336)), -4068);
    assert_eq!(libuv_windows_errno(windows_name(999_999)), -4094);
    assert_eq!(libuv_windows_errno("EDQUOT"), -4094, "libuv has no EDQUOT");
    if cfg!(unix) {
      assert_eq!(node_errno(ENOENT), -ENOENT);
      assert_eq!(node_message(ENOENT), None);
    }
  }

  #[test]
  fn every_code_the_store_uses_has_its_own_name() {
    for (code, want) in [
      (ENOENT, "ENOENT"),
      (EBUSY, "EBUSY"),
      (EEXIST, "EEXIST"),
      (ENOTDIR, "ENOTDIR"),
      (EISDIR, "EISDIR"),
      (EINVAL, "EINVAL"),
      (EFBIG, "EFBIG"),
      (ENOSPC, "ENOSPC"),
      (EDQUOT, "EDQUOT"),
      (EROFS, "EROFS"),
      (ENAMETOOLONG, "ENAMETOOLONG"),
    ] {
      assert_eq!(name(code), want);
    }
  }

  #[test]
  fn windows_codes_read_as_node_names_them() {
    assert_eq!(windows_name(2), "ENOENT");
    assert_eq!(windows_name(3), "ENOENT");
    assert_eq!(windows_name(5), "EPERM");
    assert_eq!(windows_name(19), "EROFS");
    assert_eq!(windows_name(32), "EBUSY");
    assert_eq!(windows_name(112), "ENOSPC");
    assert_eq!(windows_name(183), "EEXIST");
    assert_eq!(windows_name(123), "EINVAL");
    assert_eq!(windows_name(223), "EFBIG");
    assert_eq!(windows_name(267), "ENOTDIR");
    assert_eq!(windows_name(10061), "ECONNREFUSED");
    assert_eq!(windows_name(999_999), "UNKNOWN");
  }
}
