//! What is in an auth database, and what cannot be read back: the CLI's
//! `stats` and `verify` for a SQLite file. Read-only: it never writes, never
//! takes the owner lock, and works beside a running bot (a WAL reader).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use rusqlite::{Connection, OpenFlags, OptionalExtension};

use super::error::sql_error;
use super::schema::{inspect_file, sidecar, Found, QUARANTINE_TABLE};
use crate::backend::{BackendError, BackendResult, ErrorKind};
use crate::codec::Flavor;
use crate::report::{check_value, creds_summary};

pub use crate::report::{Finding, TypeCount};

#[derive(Clone, Debug, Default)]
pub struct SqliteReport {
  pub path: PathBuf,
  pub has_creds: bool,
  pub registered: Option<bool>,
  pub account_id: Option<String>,
  pub by_type: BTreeMap<String, TypeCount>,
  /// The database file, its WAL and shared-memory file.
  pub file_bytes: u64,
  /// Values kept aside because they could not be decoded.
  pub quarantined: u64,
  /// Values decoded (with `verify`).
  pub verified: u64,
  /// Values (and credentials) found sealed (`encryptionKey`): without the
  /// key they are counted, not decoded.
  pub sealed: u64,
  pub findings: Vec<Finding>,
}

/// Counts what the file holds; with `verify`, also runs SQLite's
/// `integrity_check` and decodes every value as `flavor` reads it.
pub fn report(path: &Path, verify: bool, flavor: Flavor) -> BackendResult<SqliteReport> {
  let mut out = SqliteReport { path: path.to_owned(), ..SqliteReport::default() };
  match inspect_file(path)? {
    Found::Missing => {
      return Err(BackendError::new(ErrorKind::Io, format!("no such file: {}", path.display())).with_code("ENOENT"));
    }
    // SQLite's empty database: nothing in it yet.
    Found::Empty => return Ok(out),
    Found::Database => {}
  }
  out.file_bytes = ["", "-wal", "-shm"].iter().filter_map(|s| std::fs::metadata(sidecar(path, s)).ok()).map(|m| m.len()).sum();
  let flags = OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX;
  let conn = Connection::open_with_flags(path, flags).map_err(|e| sql_error(None, e, "cannot open", path))?;
  let _ = conn.busy_timeout(std::time::Duration::from_secs(5));
  let err = |e: rusqlite::Error| sql_error(Some(&conn), e, "cannot read", path);
  if verify {
    let mut stmt = conn.prepare("PRAGMA integrity_check").map_err(err)?;
    let lines = stmt.query_map([], |r| r.get::<_, String>(0)).map_err(err)?;
    for line in lines {
      let line = line.map_err(err)?;
      if line != "ok" {
        out.findings.push(Finding { key_type: None, id: None, problem: "integrity", detail: line });
      }
    }
  }
  let table_exists = |name: &str| -> BackendResult<bool> {
    conn
      .query_row("SELECT 1 FROM sqlite_schema WHERE type = 'table' AND name = ?1", [name], |_| Ok(()))
      .optional()
      .map(|r| r.is_some())
      .map_err(err)
  };
  if table_exists("creds")? {
    let creds: Option<Vec<u8>> =
      conn.query_row("SELECT CAST(value AS BLOB) FROM creds WHERE key = '__creds__'", [], |r| r.get(0)).optional().map_err(err)?;
    if let Some(bytes) = creds {
      out.has_creds = true;
      match creds_summary(&bytes, flavor) {
        Ok(Some((registered, id))) => {
          out.registered = Some(registered);
          out.account_id = id;
        }
        Ok(None) => out.sealed += 1,
        Err(f) => out.findings.push(f),
      }
    }
  }
  if table_exists("signal_keys")? {
    let mut stmt = conn.prepare("SELECT type, count(*), sum(length(CAST(value AS BLOB))) FROM signal_keys GROUP BY type").map_err(err)?;
    let rows = stmt.query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, i64>(1)?, r.get::<_, Option<i64>>(2)?))).map_err(err)?;
    for row in rows {
      let (t, keys, bytes) = row.map_err(err)?;
      out.by_type.insert(t, TypeCount { keys: keys.max(0) as u64, bytes: bytes.unwrap_or(0).max(0) as u64 });
    }
    if verify {
      let mut stmt = conn.prepare("SELECT type, id, CAST(value AS BLOB) FROM signal_keys ORDER BY type, id").map_err(err)?;
      let mut rows = stmt.query([]).map_err(err)?;
      while let Some(row) = rows.next().map_err(err)? {
        let (t, id): (String, String) = (row.get(0).map_err(err)?, row.get(1).map_err(err)?);
        let bytes = row.get_ref(2).map_err(err)?.as_blob().unwrap_or(&[]);
        if crate::seal::is_sealed(bytes) {
          out.sealed += 1;
          continue;
        }
        out.verified += 1;
        out.findings.extend(check_value(&t, &id, bytes, flavor));
      }
    }
  }
  if table_exists(QUARANTINE_TABLE)? {
    let n: i64 = conn.query_row(&format!("SELECT count(*) FROM {QUARANTINE_TABLE}"), [], |r| r.get(0)).map_err(err)?;
    out.quarantined = n.max(0) as u64;
  }
  Ok(out)
}

#[cfg(test)]
mod tests {
  use super::*;
  use crate::backend::{Backend, KeyWrite};
  use crate::backends::sqlite::{open, SqliteOptions};

  #[test]
  fn counts_keys_and_finds_undecodable_values() {
    let dir = std::env::temp_dir().join(format!("ban-report-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let db = dir.join("auth.db");
    let store = open(&db, &SqliteOptions { fsync: false, ..SqliteOptions::default() }).unwrap();
    store.save_creds(br#"{"registered":true,"me":{"id":"1:2@s.whatsapp.net"}}"#.to_vec()).wait().unwrap();
    store
      .apply(vec![
        KeyWrite::put("pre-key", "1", b"{\"a\":1}".to_vec()),
        KeyWrite::put("pre-key", "2", b"{\"a\":".to_vec()),
        KeyWrite::put("session", "x", b"\"s\"".to_vec()),
      ])
      .wait()
      .unwrap();
    let r = report(&db, true, Flavor::Any).unwrap();
    assert!(r.has_creds);
    assert_eq!(r.registered, Some(true));
    assert_eq!(r.account_id.as_deref(), Some("1:2@s.whatsapp.net"));
    assert_eq!(r.by_type["pre-key"], TypeCount { keys: 2, bytes: 12 });
    assert_eq!(r.by_type["session"].keys, 1);
    assert_eq!(r.verified, 3);
    assert_eq!(r.findings.len(), 1);
    assert_eq!((r.findings[0].problem, r.findings[0].id.as_deref()), ("corrupt", Some("2")));
    store.close().wait().unwrap();
    let _ = std::fs::remove_dir_all(&dir);
  }

  #[test]
  fn a_file_that_is_not_a_database_is_corrupt_and_untouched() {
    let dir = std::env::temp_dir().join(format!("ban-report-bad-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let db = dir.join("auth.db");
    std::fs::write(&db, vec![b'x'; 4096]).unwrap();
    assert_eq!(report(&db, true, Flavor::Any).unwrap_err().kind, ErrorKind::Corrupt);
    assert_eq!(std::fs::read(&db).unwrap(), vec![b'x'; 4096]);
    assert_eq!(std::fs::read_dir(&dir).unwrap().count(), 1);
    let _ = std::fs::remove_dir_all(&dir);
  }
}
