//! The file: Baileys' SQLite schema, our metadata beside it, and the checks an
//! open makes before it writes anything.
//!
//! The tables are exactly those of Baileys' own SQLite store, so each can open
//! a file the other wrote. What we add does not get in its way: two header
//! fields (`application_id`, `user_version`) that Baileys' store never reads,
//! and one table of our own for values kept aside.
//!
//! A file that is not a database, a damaged one, one of another application or
//! of a newer version of this package is refused before the first write, and
//! left byte for byte as it was: such a file must never turn into a fresh
//! login. When no crash left a `-wal` or `-journal` beside it, the checks run
//! on an `immutable` read-only connection, which takes no lock and creates no
//! side file; otherwise recovery needs a normal connection, and the checks run
//! on it, with the checkpoint-on-close turned off until they pass.

use std::fs;
use std::io::{ErrorKind as IoKind, Read};
use std::path::{Path, PathBuf};
use std::time::Duration;

use rusqlite::config::DbConfig;
use rusqlite::{Connection, OpenFlags, OptionalExtension};

use super::error::sql_error;
use crate::backend::{BackendError, BackendResult, ErrorKind};
use crate::store::error::errno_name;

/// `PRAGMA application_id` of our files: "BaAN" (Baileys auth native).
pub const APPLICATION_ID: i32 = i32::from_be_bytes(*b"BaAN");
/// `PRAGMA user_version`: the version of our layout of the file.
pub const SCHEMA_VERSION: i32 = 1;
/// The one row of `creds` that holds the credentials, as in Baileys' store.
pub const CREDS_KEY: &str = "__creds__";
pub const QUARANTINE_TABLE: &str = "baileys_auth_native_quarantine";

/// Baileys' three statements, then our table.
const CREATE: &str = "\
CREATE TABLE IF NOT EXISTS creds (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS signal_keys (type TEXT NOT NULL, id TEXT NOT NULL, value TEXT NOT NULL, PRIMARY KEY (type, id));
CREATE INDEX IF NOT EXISTS signal_keys_type_idx ON signal_keys(type);
CREATE TABLE IF NOT EXISTS baileys_auth_native_quarantine (type TEXT NOT NULL, id TEXT NOT NULL, value BLOB NOT NULL, reason TEXT NOT NULL, at INTEGER NOT NULL);";

/// Every statement a connection runs stays prepared (the writer runs about
/// twenty different ones, readers' included).
const STATEMENT_CACHE: usize = 32;
/// Baileys' store waits up to 5 s for a lock; so do we.
pub const BUSY_TIMEOUT: Duration = Duration::from_secs(5);
/// After a checkpoint the WAL is cut back to this size, so that one huge
/// transaction (a migration) does not leave a huge WAL file behind.
const JOURNAL_SIZE_LIMIT: i64 = 16 << 20;

/// What the path holds before we open it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Found {
  Missing,
  /// A zero-byte file: SQLite's empty database.
  Empty,
  Database,
}

pub fn sidecar(db: &Path, suffix: &str) -> PathBuf {
  let mut name = db.as_os_str().to_owned();
  name.push(suffix);
  PathBuf::from(name)
}

fn io_error(what: &str, path: &Path, e: std::io::Error) -> BackendError {
  let code = e.raw_os_error().map(errno_name).unwrap_or("EIO");
  let kind = match e.raw_os_error() {
    Some(crate::errno::EROFS) => ErrorKind::ReadOnly,
    Some(crate::errno::ENOSPC) | Some(crate::errno::EDQUOT) => ErrorKind::Full,
    _ => ErrorKind::Io,
  };
  BackendError::new(kind, format!("cannot {what} {}: {e}", path.display())).with_code(code)
}

fn corrupt(path: &Path, why: &str) -> BackendError {
  BackendError::new(
    ErrorKind::Corrupt,
    format!(
      "{} exists but cannot be read as an auth database ({why}); it was left untouched. Restore it from a backup, or move it away to start a new session",
      path.display()
    ),
  )
}

/// Looks at the file with plain reads: there or not, and whether its first
/// 100 bytes are an SQLite header.
pub fn inspect_file(path: &Path) -> BackendResult<Found> {
  let meta = match fs::metadata(path) {
    Ok(m) => m,
    Err(e) if e.kind() == IoKind::NotFound => return Ok(Found::Missing),
    Err(e) => return Err(io_error("stat", path, e)),
  };
  if meta.is_dir() {
    return Err(BackendError::new(ErrorKind::Invalid, format!("{} is a directory, not a database file", path.display())));
  }
  if meta.len() == 0 {
    return Ok(Found::Empty);
  }
  let mut header = [0u8; 100];
  let mut file = fs::File::open(path).map_err(|e| io_error("open", path, e))?;
  if meta.len() < header.len() as u64 {
    return Err(corrupt(path, "too short to be a database"));
  }
  file.read_exact(&mut header).map_err(|e| io_error("read", path, e))?;
  check_header(&header).map_err(|why| corrupt(path, why))?;
  check_length(&header, meta.len(), leftover(&sidecar(path, "-wal"))).map_err(|why| corrupt(path, why))?;
  Ok(Found::Database)
}

/// The fixed parts of SQLite's 100-byte header (the file-format document,
/// "The Database Header").
fn check_header(h: &[u8; 100]) -> Result<(), &'static str> {
  if &h[..16] != b"SQLite format 3\0" {
    return Err("not an SQLite database");
  }
  let page_size = u32::from(u16::from_be_bytes([h[16], h[17]]));
  let page_size = if page_size == 1 { 65536 } else { page_size };
  if !(512..=65536).contains(&page_size) || !page_size.is_power_of_two() {
    return Err("damaged header: page size");
  }
  if !matches!(h[18], 1 | 2) || !matches!(h[19], 1 | 2) {
    return Err("damaged header: file format version");
  }
  if h[21] != 64 || h[22] != 32 || h[23] != 32 {
    return Err("damaged header: payload fractions");
  }
  Ok(())
}

/// A file cut short: SQLite writes whole pages, so a length that is not a
/// multiple of the page size is a truncated file (SQLite itself would read the
/// missing tail as zeros and lose what was there without a word). Without a
/// WAL beside it, the header's page count, when valid, must fit in the file too.
fn check_length(h: &[u8; 100], len: u64, has_wal: bool) -> Result<(), &'static str> {
  let page_size = u64::from(u16::from_be_bytes([h[16], h[17]]));
  let page_size = if page_size == 1 { 65536 } else { page_size };
  if !len.is_multiple_of(page_size) {
    return Err("truncated: its length is not a whole number of pages");
  }
  let change_counter = u32::from_be_bytes([h[24], h[25], h[26], h[27]]);
  let valid_for = u32::from_be_bytes([h[92], h[93], h[94], h[95]]);
  let pages = u64::from(u32::from_be_bytes([h[28], h[29], h[30], h[31]]));
  if !has_wal && pages > 0 && change_counter == valid_for && pages * page_size > len {
    return Err("truncated: shorter than the page count in its header");
  }
  Ok(())
}

fn leftover(path: &Path) -> bool {
  fs::metadata(path).map(|m| m.len() > 0).unwrap_or(false)
}

/// `file:` URI of an absolute path (on Windows `file:/C:/…`, with `/` for `\\`,
/// as SQLite's URI rules ask).
fn file_uri(path: &Path, query: &str) -> String {
  let mut uri = String::from("file:");
  #[cfg(unix)]
  let bytes = std::os::unix::ffi::OsStrExt::as_bytes(path.as_os_str()).to_vec();
  #[cfg(not(unix))]
  let bytes = {
    let text = path.to_string_lossy().replace('\\', "/");
    let text = text.strip_prefix("//?/").unwrap_or(&text).to_owned();
    if text.starts_with('/') {
      text.into_bytes()
    } else {
      format!("/{text}").into_bytes()
    }
  };
  for &b in &bytes {
    if b.is_ascii_alphanumeric() || b"/-._~".contains(&b) {
      uri.push(b as char);
    } else {
      uri.push_str(&format!("%{b:02X}"));
    }
  }
  uri.push('?');
  uri.push_str(query);
  uri
}

/// Runs every check on an existing database without changing anything, when
/// that is possible (no crash leftovers). Returns whether it ran.
pub fn precheck(path: &Path) -> BackendResult<bool> {
  if leftover(&sidecar(path, "-wal")) || leftover(&sidecar(path, "-journal")) {
    return Ok(false);
  }
  let flags = OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_URI | OpenFlags::SQLITE_OPEN_NO_MUTEX;
  let conn =
    Connection::open_with_flags(file_uri(path, "mode=ro&immutable=1"), flags).map_err(|e| sql_error(None, e, "cannot open", path))?;
  verify(&conn, path, true)?;
  Ok(true)
}

/// The checks: integrity (`deep`), our header fields, and that the tables are
/// Baileys' and ours only, in the shapes we write.
fn verify(conn: &Connection, path: &Path, deep: bool) -> BackendResult<()> {
  let read_err = |e: rusqlite::Error| {
    let err = sql_error(Some(conn), e, "cannot read", path);
    if err.kind == ErrorKind::Corrupt {
      corrupt(path, &err.message)
    } else {
      err
    }
  };
  if deep {
    let verdict: String = conn.query_row("PRAGMA quick_check(1)", [], |r| r.get(0)).map_err(read_err)?;
    if verdict != "ok" {
      let first = verdict.lines().find(|l| !l.starts_with("***")).unwrap_or(&verdict).trim().to_owned();
      return Err(corrupt(path, &format!("quick_check: {first}")));
    }
  }
  let (app, version) = header_fields(conn).map_err(read_err)?;
  check_versions(path, app, version)?;
  let mut stmt =
    conn.prepare("SELECT type, name FROM sqlite_schema WHERE substr(name, 1, 7) <> 'sqlite_' ORDER BY name").map_err(read_err)?;
  let objects = stmt.query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?))).map_err(read_err)?;
  for object in objects {
    let (kind, name) = object.map_err(read_err)?;
    let known = matches!(
      (kind.as_str(), name.as_str()),
      ("table", "creds") | ("table", "signal_keys") | ("index", "signal_keys_type_idx") | ("table", QUARANTINE_TABLE)
    );
    if !known {
      return Err(BackendError::new(
        ErrorKind::Invalid,
        format!("{} holds the {kind} {name:?}, which is not part of an auth store; it was left untouched", path.display()),
      ));
    }
  }
  check_columns(conn, path, "creds", &[("key", "TEXT", false, 1), ("value", "TEXT", true, 0)]).map_err(read_err)??;
  check_columns(conn, path, "signal_keys", &[("type", "TEXT", true, 1), ("id", "TEXT", true, 2), ("value", "TEXT", true, 0)])
    .map_err(read_err)??;
  check_creds_row(conn, path).map_err(read_err)?
}

/// Credentials that cannot be read are refused here, before the open changes
/// anything (such as switching a rollback-journal file to WAL): never a
/// silent new session over them, and never a changed file. (The keystore
/// reads them again with the caller's flavor; this is the check every line
/// agrees on: JSON that is an object.)
fn check_creds_row(conn: &Connection, path: &Path) -> rusqlite::Result<BackendResult<()>> {
  let has_table: Option<i64> =
    conn.query_row("SELECT 1 FROM sqlite_schema WHERE type = 'table' AND name = 'creds'", [], |r| r.get(0)).optional()?;
  if has_table.is_none() {
    return Ok(Ok(()));
  }
  let row: Option<Vec<u8>> =
    conn.query_row("SELECT CAST(value AS BLOB) FROM creds WHERE key = '__creds__'", [], |r| r.get(0)).optional()?;
  let Some(bytes) = row else { return Ok(Ok(())) };
  if crate::seal::is_sealed(&bytes) {
    // Encrypted: whether the key opens it is checked above the backend.
    return Ok(Ok(()));
  }
  Ok(match crate::codec::parse_file(&bytes, crate::codec::Flavor::Any) {
    Ok(crate::codec::Value::Object(_)) => Ok(()),
    Ok(_) => Err(corrupt(path, "its credentials are JSON that is not an object")),
    Err(e) => Err(corrupt(path, &format!("its credentials cannot be read: {e}"))),
  })
}

fn header_fields(conn: &Connection) -> rusqlite::Result<(i32, i32)> {
  let app: i32 = conn.query_row("PRAGMA application_id", [], |r| r.get(0))?;
  let version: i32 = conn.query_row("PRAGMA user_version", [], |r| r.get(0))?;
  Ok((app, version))
}

fn check_versions(path: &Path, app: i32, version: i32) -> BackendResult<()> {
  let untouched = "it was left untouched";
  if app != 0 && app != APPLICATION_ID {
    return Err(BackendError::new(
      ErrorKind::Invalid,
      format!("{} belongs to another application (application_id {app:#x}); {untouched}", path.display()),
    ));
  }
  if app == 0 && version != 0 {
    return Err(BackendError::new(
      ErrorKind::Invalid,
      format!("{} carries user_version {version} of another application; {untouched}", path.display()),
    ));
  }
  if version > SCHEMA_VERSION {
    return Err(BackendError::new(
      ErrorKind::Unsupported,
      format!(
        "{} was written by a newer version of baileys-auth-native (schema {version}; this one knows up to {SCHEMA_VERSION}); {untouched}. Upgrade the package",
        path.display()
      ),
    ));
  }
  Ok(())
}

/// `Ok(Err(..))`: the table is there in another shape. A missing table is fine.
fn check_columns(conn: &Connection, path: &Path, table: &str, want: &[(&str, &str, bool, i32)]) -> rusqlite::Result<BackendResult<()>> {
  let mut stmt = conn.prepare(&format!("PRAGMA table_info({table})"))?;
  let have: Vec<(String, String, bool, i32)> =
    stmt.query_map([], |r| Ok((r.get(1)?, r.get(2)?, r.get(3)?, r.get(5)?)))?.collect::<rusqlite::Result<_>>()?;
  if have.is_empty() {
    return Ok(Ok(()));
  }
  let same = have.len() == want.len()
    && have.iter().zip(want).all(|((n, t, nn, pk), (wn, wt, wnn, wpk))| n == wn && t.eq_ignore_ascii_case(wt) && nn == wnn && pk == wpk);
  if same {
    return Ok(Ok(()));
  }
  Ok(Err(BackendError::new(
    ErrorKind::Invalid,
    format!("{} has a table {table} that is not in the shape of Baileys' store; it was left untouched", path.display()),
  )))
}

/// Opens the writing connection, checks what [`precheck`] could not, then
/// switches to WAL and creates the tables (in one transaction with the
/// header fields).
pub fn open_writer(path: &Path, found: Found, fsync: bool, checked: bool) -> BackendResult<Connection> {
  if found == Found::Missing {
    // Private keys: the file (and SQLite's -wal and -shm, which take its
    // mode) is the owner's alone, whatever the umask.
    let mut options = fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    match options.open(path) {
      Ok(_) => {}
      Err(e) if e.kind() == IoKind::AlreadyExists => {}
      Err(e) => return Err(io_error("create", path, e)),
    }
  }
  let flags = OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX;
  let conn = Connection::open_with_flags(path, flags).map_err(|e| sql_error(None, e, "cannot open", path))?;
  let fail = |conn: &Connection, e: rusqlite::Error| sql_error(Some(conn), e, "cannot prepare", path);
  // Until the checks pass, closing must not checkpoint a leftover WAL into a
  // file we are about to refuse.
  conn.set_db_config(DbConfig::SQLITE_DBCONFIG_NO_CKPT_ON_CLOSE, true).map_err(|e| fail(&conn, e))?;
  conn.busy_timeout(BUSY_TIMEOUT).map_err(|e| fail(&conn, e))?;
  if conn.is_readonly("main").map_err(|e| fail(&conn, e))? {
    return Err(BackendError::new(ErrorKind::ReadOnly, format!("{} cannot be written (read-only file or file system)", path.display())));
  }
  verify(&conn, path, !checked)?;

  let mode: String = conn.query_row("PRAGMA journal_mode = WAL", [], |r| r.get(0)).map_err(|e| fail(&conn, e))?;
  if !mode.eq_ignore_ascii_case("wal") {
    return Err(BackendError::new(ErrorKind::Io, format!("{} cannot use WAL mode (journal mode stays {mode})", path.display())));
  }
  set_durability(&conn, fsync).map_err(|e| fail(&conn, e))?;
  conn.pragma_update(None, "journal_size_limit", JOURNAL_SIZE_LIMIT).map_err(|e| fail(&conn, e))?;
  // Our tables have no foreign keys; a file someone added some to behaves
  // the same whatever the build's default (the bundled build enforces them).
  conn.pragma_update(None, "foreign_keys", true).map_err(|e| fail(&conn, e))?;
  // Checkpoints run on a thread of their own (see `checkpoint`).
  conn.pragma_update(None, "wal_autocheckpoint", 0).map_err(|e| fail(&conn, e))?;

  conn.execute_batch("BEGIN IMMEDIATE").map_err(|e| fail(&conn, e))?;
  let setup = (|| {
    // Checked again inside the transaction: a process that does not take
    // our lock (Baileys' own store) may have changed the file meanwhile.
    let (app, version) = header_fields(&conn).map_err(|e| fail(&conn, e))?;
    check_versions(path, app, version)?;
    conn.execute_batch(CREATE).map_err(|e| fail(&conn, e))?;
    if app != APPLICATION_ID {
      conn.pragma_update(None, "application_id", APPLICATION_ID).map_err(|e| fail(&conn, e))?;
    }
    if version != SCHEMA_VERSION {
      conn.pragma_update(None, "user_version", SCHEMA_VERSION).map_err(|e| fail(&conn, e))?;
    }
    conn.execute_batch("COMMIT").map_err(|e| fail(&conn, e))
  })();
  if let Err(e) = setup {
    if !conn.is_autocommit() {
      let _ = conn.execute_batch("ROLLBACK");
    }
    return Err(e);
  }
  conn.set_db_config(DbConfig::SQLITE_DBCONFIG_NO_CKPT_ON_CLOSE, false).map_err(|e| fail(&conn, e))?;
  conn.set_prepared_statement_cache_capacity(STATEMENT_CACHE);
  Ok(conn)
}

/// The writer's durability: `synchronous = FULL` with `fsync`, else `NORMAL`.
/// On macOS an fsync only reaches the drive's cache: with `fsync`, SQLite is
/// also told to use `F_FULLFSYNC` (`fullfsync`), as the folder store does.
/// Elsewhere SQLite ignores that flag, so it is set the same way everywhere.
pub fn set_durability(conn: &Connection, fsync: bool) -> rusqlite::Result<()> {
  conn.pragma_update(None, "synchronous", if fsync { "FULL" } else { "NORMAL" })?;
  conn.pragma_update(None, "fullfsync", fsync)
}

/// The checkpoint thread's connection (it writes the database file, never a
/// transaction). `synchronous` stays at its default, FULL: the database is
/// fsynced before the WAL may start over, whatever the writer's level, with
/// `F_FULLFSYNC` on macOS (`checkpoint_fullfsync`; off the write path).
pub fn open_checkpointer(path: &Path) -> BackendResult<Connection> {
  let flags = OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX;
  let conn = Connection::open_with_flags(path, flags).map_err(|e| sql_error(None, e, "cannot open", path))?;
  conn.busy_timeout(BUSY_TIMEOUT).map_err(|e| sql_error(Some(&conn), e, "cannot prepare", path))?;
  conn.pragma_update(None, "checkpoint_fullfsync", true).map_err(|e| sql_error(Some(&conn), e, "cannot prepare", path))?;
  Ok(conn)
}

/// A reading connection (a WAL reader): never writes, never blocks the writer.
pub fn open_reader(path: &Path) -> BackendResult<Connection> {
  let flags = OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX;
  let conn = Connection::open_with_flags(path, flags).map_err(|e| sql_error(None, e, "cannot open", path))?;
  conn.busy_timeout(BUSY_TIMEOUT).map_err(|e| sql_error(Some(&conn), e, "cannot prepare", path))?;
  conn.set_prepared_statement_cache_capacity(STATEMENT_CACHE);
  Ok(conn)
}

#[cfg(test)]
mod tests {
  use super::*;

  #[test]
  fn uri_escapes_what_a_uri_reserves() {
    assert_eq!(file_uri(Path::new("/a b/c?d#e%f.db"), "mode=ro"), "file:/a%20b/c%3Fd%23e%25f.db?mode=ro");
  }

  #[test]
  fn fsync_asks_for_full_syncs_and_the_checkpointer_always_does() {
    let dir = std::env::temp_dir().join(format!("ban-durability-{}", std::process::id()));
    fs::create_dir_all(&dir).unwrap();
    for fsync in [true, false] {
      let path = dir.join(format!("{fsync}.db"));
      let writer = open_writer(&path, Found::Missing, fsync, false).unwrap();
      let level: i64 = writer.query_row("PRAGMA synchronous", [], |r| r.get(0)).unwrap();
      let full: bool = writer.query_row("PRAGMA fullfsync", [], |r| r.get(0)).unwrap();
      assert_eq!((level, full), if fsync { (2, true) } else { (1, false) });
      let checkpointer = open_checkpointer(&path).unwrap();
      assert!(checkpointer.query_row("PRAGMA checkpoint_fullfsync", [], |r| r.get::<_, bool>(0)).unwrap());
    }
    let _ = fs::remove_dir_all(&dir);
  }

  #[test]
  fn header_checks() {
    let mut h = [0u8; 100];
    h[..16].copy_from_slice(b"SQLite format 3\0");
    h[16..18].copy_from_slice(&4096u16.to_be_bytes());
    h[18] = 2;
    h[19] = 2;
    h[21] = 64;
    h[22] = 32;
    h[23] = 32;
    assert_eq!(check_header(&h), Ok(()));
    let mut bad = h;
    bad[16..18].copy_from_slice(&1000u16.to_be_bytes());
    assert!(check_header(&bad).is_err());
    let mut bad = h;
    bad[0] = b's';
    assert_eq!(check_header(&bad), Err("not an SQLite database"));
  }
}
