//! The reading connections: WAL readers beside the writer, so a read waits
//! neither for a commit nor for its fsync (only reads of keys with a write
//! still pending wait, see `queue`).
//!
//! Every read runs inside one read transaction, so the answer is one
//! snapshot: it never holds half of a `set`. A read of many ids runs one
//! statement per id, prepared once and cached. Measured against one `id IN (SELECT value FROM
//! json_each(?))` statement (examples/sqlite_floor.rs prints both), the loop
//! wins for present and missing ids alike: each probe is a short B-tree
//! descent, and the JSON array costs an encoding here plus a parse there.

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::Path;
use std::sync::Arc;

use rusqlite::types::ValueRef;
use rusqlite::Connection;

use super::error::sql_error;
use super::queue::ReadWork;
use super::Shared;
use crate::backend::{BackendResult, KeyRead};

const GET_KEY: &str = "SELECT value FROM signal_keys WHERE type = ?1 AND id = ?2";
const GET_CREDS: &str = "SELECT value FROM creds WHERE key = '__creds__'";
const LIST_FIRST: &str = "SELECT id FROM signal_keys WHERE type = ?1 ORDER BY id LIMIT ?2";
const LIST_AFTER: &str = "SELECT id FROM signal_keys WHERE type = ?1 AND id > ?2 ORDER BY id LIMIT ?3";

pub fn run(conn: Connection, shared: Arc<Shared>) {
  warm_up(&conn);
  while let Some((work, began)) = shared.queue.next_read(|| begin_snapshot(&conn)) {
    match began {
      // A panic drops the completer, which answers the caller with an
      // internal error; the reader goes on with the next read.
      Ok(()) => drop(catch_unwind(AssertUnwindSafe(|| serve(&conn, &shared.path, work)))),
      Err(e) => work.fail(sql_error(Some(&conn), e, "cannot read from", &shared.path)),
    }
    end_snapshot(&conn);
  }
}

/// Loads the schema and prepares the statements now, at open, rather than in
/// the first read.
pub fn warm_up(conn: &Connection) {
  if begin_snapshot(conn).is_ok() {
    for sql in [GET_KEY, GET_CREDS, LIST_FIRST, LIST_AFTER] {
      let _ = conn.prepare_cached(sql);
    }
  }
  end_snapshot(conn);
}

/// Starts a read transaction and takes its snapshot now (a `BEGIN` alone
/// takes it at the first read): the queue calls this while it holds its lock.
pub fn begin_snapshot(conn: &Connection) -> rusqlite::Result<()> {
  conn.prepare_cached("BEGIN")?.execute([])?;
  conn.prepare_cached("PRAGMA user_version")?.query_row([], |_| Ok(()))
}

pub fn end_snapshot(conn: &Connection) {
  if !conn.is_autocommit() {
    let _ = conn.prepare_cached("COMMIT").and_then(|mut s| s.execute([]));
  }
}

/// Answers `work` on `conn`, inside the snapshot the caller began.
pub fn serve(conn: &Connection, path: &Path, work: ReadWork) {
  let err = |e| sql_error(Some(conn), e, "cannot read from", path);
  match work {
    ReadWork::Keys { key_type, ids, done } => done.complete(read_keys(conn, path, &key_type, &ids)),
    ReadWork::Creds { done } => done.complete(read_creds(conn).map_err(err)),
    ReadWork::List { key_type, after, limit, done } => done.complete(list(conn, &key_type, after.as_deref(), limit).map_err(err)),
  }
}

/// The stored bytes of a value. Our writer and Baileys' store write TEXT; a
/// value another writer stored as a number is given as its text.
fn bytes_of(value: ValueRef<'_>) -> Option<Vec<u8>> {
  match value {
    ValueRef::Text(b) | ValueRef::Blob(b) => Some(b.to_vec()),
    ValueRef::Integer(i) => Some(i.to_string().into_bytes()),
    ValueRef::Real(f) => Some(f.to_string().into_bytes()),
    ValueRef::Null => None,
  }
}

fn read_keys(conn: &Connection, path: &Path, key_type: &str, ids: &[String]) -> BackendResult<Vec<KeyRead>> {
  let err = |e| sql_error(Some(conn), e, "cannot read from", path);
  let mut get = conn.prepare_cached(GET_KEY).map_err(err)?;
  let mut out = Vec::with_capacity(ids.len());
  for id in ids {
    let one = (|| {
      let mut rows = get.query((key_type, id))?;
      Ok(match rows.next()? {
        Some(row) => bytes_of(row.get_ref(0)?),
        None => None,
      })
    })();
    out.push(one.map_err(err));
  }
  Ok(out)
}

fn read_creds(conn: &Connection) -> rusqlite::Result<Option<Vec<u8>>> {
  let mut get = conn.prepare_cached(GET_CREDS)?;
  let mut rows = get.query([])?;
  Ok(match rows.next()? {
    Some(row) => bytes_of(row.get_ref(0)?),
    None => None,
  })
}

fn list(conn: &Connection, key_type: &str, after: Option<&str>, limit: usize) -> rusqlite::Result<Vec<String>> {
  let limit = i64::try_from(limit).unwrap_or(i64::MAX);
  let mut out = Vec::new();
  let mut push = |row: &rusqlite::Row<'_>| -> rusqlite::Result<()> {
    if let Some(id) = bytes_of(row.get_ref(0)?) {
      out.push(String::from_utf8_lossy(&id).into_owned());
    }
    Ok(())
  };
  match after {
    None => {
      let mut stmt = conn.prepare_cached(LIST_FIRST)?;
      let mut rows = stmt.query((key_type, limit))?;
      while let Some(row) = rows.next()? {
        push(row)?;
      }
    }
    Some(after) => {
      let mut stmt = conn.prepare_cached(LIST_AFTER)?;
      let mut rows = stmt.query((key_type, after, limit))?;
      while let Some(row) = rows.next()? {
        push(row)?;
      }
    }
  }
  Ok(out)
}
