//! The tables, created on first use, and the statements over them.
//!
//! ```sql
//! <prefix>meta       (name text PRIMARY KEY, value text)        -- schema_version = 1
//! <prefix>leases     (account PRIMARY KEY, token, owner_host, owner_pid, owner_id, acquired_at, expires_at)
//! <prefix>creds      (account PRIMARY KEY, value bytea)
//! <prefix>keys       (account, type, id, value bytea, PRIMARY KEY (account, type, id))
//! <prefix>quarantine (account, type, id, value bytea, reason, at)
//! ```
//!
//! Values are the exact bytes the codec writes (`encodeAuthValue`), or their
//! seal when the store is encrypted: `bytea`, so both fit. `type` and `id` are
//! `COLLATE "C"`: the primary key's order is then byte order, which is the
//! order `listIds` promises, and a page is one index range scan.
//!
//! Every account, type and id is bound as a parameter, never spliced into SQL;
//! only the schema and the prefix are, and they are checked to be plain
//! identifiers first.

use tokio_postgres::error::SqlState;
use tokio_postgres::Client;

use super::error::pg_error;
use crate::backend::{BackendError, BackendResult, ErrorKind};

/// The layout this package writes. A database whose `schema_version` is
/// higher was set up by a newer package: refused, untouched.
pub const SCHEMA_VERSION: i64 = 1;

/// The qualified, quoted table names of one `(schema, prefix)`.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Tables {
  pub schema: Option<String>,
  pub prefix: String,
  pub meta: String,
  pub leases: String,
  pub creds: String,
  pub keys: String,
  pub quarantine: String,
}

impl Tables {
  pub fn new(schema: Option<&str>, prefix: &str) -> BackendResult<Tables> {
    if let Some(s) = schema {
      check_identifier(s, "schema", 63)?;
    }
    if !prefix.is_empty() {
      check_identifier(prefix, "tablePrefix", 40)?;
    }
    let name = |table: &str| match schema {
      Some(s) => format!("\"{s}\".\"{prefix}{table}\""),
      None => format!("\"{prefix}{table}\""),
    };
    Ok(Tables {
      schema: schema.map(str::to_owned),
      prefix: prefix.to_owned(),
      meta: name("meta"),
      leases: name("leases"),
      creds: name("creds"),
      keys: name("keys"),
      quarantine: name("quarantine"),
    })
  }

  /// The advisory lock that serializes our DDL on one server, per layout.
  fn ddl_lock_key(&self) -> i64 {
    // FNV-1a: stable across processes and versions (a std hasher is not).
    let mut h: u64 = 0xcbf29ce484222325;
    let text = format!("baileys-auth-native:{}:{}", self.schema.as_deref().unwrap_or(""), self.prefix);
    for b in text.bytes() {
      h ^= u64::from(b);
      h = h.wrapping_mul(0x100000001b3);
    }
    h as i64
  }
}

/// Schema names and prefixes go into SQL as quoted identifiers: letters,
/// digits and `_` only, so quoting cannot be escaped and the name is the same
/// in every tool.
fn check_identifier(s: &str, what: &str, max: usize) -> BackendResult<()> {
  let ok =
    !s.is_empty() && s.len() <= max && s.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_') && !s.as_bytes()[0].is_ascii_digit();
  if ok {
    Ok(())
  } else {
    Err(BackendError::new(ErrorKind::Invalid, format!("{what} must be 1 to {max} letters, digits or '_', not starting with a digit")))
  }
}

/// Makes sure the tables exist in a version this package knows. Several
/// processes may run this at once: the DDL is serialized with an advisory lock
/// held for its transaction, and every statement is idempotent.
pub async fn ensure(client: &mut Client, t: &Tables) -> BackendResult<()> {
  // The usual case, read-only: the tables are there, in our version.
  match client.query_opt(&format!("SELECT value FROM {} WHERE name = 'schema_version'", t.meta), &[]).await {
    Ok(row) => {
      if let Some(row) = row {
        return check_version(row.get::<_, String>(0).as_str(), t);
      }
    }
    Err(e) if e.code() == Some(&SqlState::UNDEFINED_TABLE) || e.code() == Some(&SqlState::INVALID_SCHEMA_NAME) => {}
    Err(e) => return Err(pg_error(&e, "cannot read the schema version")),
  }
  let tx = client.transaction().await.map_err(|e| pg_error(&e, "cannot create the tables"))?;
  let fail = |e: tokio_postgres::Error| pg_error(&e, "cannot create the tables");
  tx.execute("SELECT pg_advisory_xact_lock($1)", &[&t.ddl_lock_key()]).await.map_err(fail)?;
  if let Some(s) = &t.schema {
    tx.batch_execute(&format!("CREATE SCHEMA IF NOT EXISTS \"{s}\"")).await.map_err(fail)?;
  }
  tx.batch_execute(&format!("CREATE TABLE IF NOT EXISTS {} (name text PRIMARY KEY, value text NOT NULL)", t.meta)).await.map_err(fail)?;
  if let Some(row) = tx.query_opt(&format!("SELECT value FROM {} WHERE name = 'schema_version'", t.meta), &[]).await.map_err(fail)? {
    // Another process created them while we waited for the lock.
    return check_version(row.get::<_, String>(0).as_str(), t);
  }
  tx.batch_execute(&format!(
    "CREATE TABLE IF NOT EXISTS {leases} (
       account text COLLATE \"C\" PRIMARY KEY,
       token bigint NOT NULL,
       owner_host text,
       owner_pid integer,
       owner_id text,
       acquired_at timestamptz NOT NULL DEFAULT now(),
       expires_at timestamptz NOT NULL);
     CREATE TABLE IF NOT EXISTS {creds} (
       account text COLLATE \"C\" PRIMARY KEY,
       value bytea NOT NULL);
     CREATE TABLE IF NOT EXISTS {keys} (
       account text COLLATE \"C\" NOT NULL,
       type text COLLATE \"C\" NOT NULL,
       id text COLLATE \"C\" NOT NULL,
       value bytea NOT NULL,
       PRIMARY KEY (account, type, id));
     -- Sessions (about 2.7 KB encoded) pass the 2 KB mark past which values
     -- are compressed and moved out of line, and they are random bytes in
     -- base64: compressing them fails every time, and reading them back
     -- from the TOAST table costs a lookup each. Kept in the row up to a
     -- full page instead.
     ALTER TABLE {keys} ALTER COLUMN value SET STORAGE MAIN;
     ALTER TABLE {keys} SET (toast_tuple_target = 8160);
     CREATE TABLE IF NOT EXISTS {quarantine} (
       account text NOT NULL,
       type text NOT NULL,
       id text NOT NULL,
       value bytea NOT NULL,
       reason text NOT NULL,
       at timestamptz NOT NULL DEFAULT now());
     INSERT INTO {meta} (name, value) VALUES ('schema_version', '{SCHEMA_VERSION}') ON CONFLICT (name) DO NOTHING;",
    leases = t.leases,
    creds = t.creds,
    keys = t.keys,
    quarantine = t.quarantine,
    meta = t.meta,
  ))
  .await
  .map_err(fail)?;
  tx.commit().await.map_err(fail)
}

fn check_version(found: &str, t: &Tables) -> BackendResult<()> {
  match found.parse::<i64>() {
    Ok(v) if v == SCHEMA_VERSION => Ok(()),
    Ok(v) if v > SCHEMA_VERSION => Err(BackendError::new(
      ErrorKind::Unsupported,
      format!(
        "the tables {} were set up by a newer baileys-auth-native (schema version {v}; this one knows {SCHEMA_VERSION}): upgrade the package; nothing was changed",
        t.keys
      ),
    )),
    _ => Err(BackendError::new(ErrorKind::Corrupt, format!("{} holds an unknown schema_version \"{found}\"; nothing was changed", t.meta))),
  }
}

/// The statements of one layout, as text (each connection prepares them once:
/// deadpool-postgres caches them per connection).
///
/// Every write is one statement that also renews the lease, and only if the
/// lease still carries this owner's fencing token: the `lease` CTE updates the
/// lease row (which also locks it until the commit, so a takeover waits for
/// the write, or the write for the takeover) and every change of the
/// statement is conditioned on it. Its count tells the caller whether the
/// token held; when it did not, nothing was written.
pub struct Statements {
  pub load_creds: String,
  pub read: String,
  pub list_first: String,
  pub list_after: String,
  pub apply: String,
  pub clear: String,
  pub quarantine: String,
  pub acquire: String,
  pub owner: String,
  pub renew: String,
  pub release: String,
}

/// `$1` account, `$2` token, `$3` lease length in ms. A released lease
/// (`-infinity`) is not renewed: a heartbeat racing `close()` must not bring
/// it back.
fn lease_cte(t: &Tables) -> String {
  format!(
    "WITH lease AS (UPDATE {} SET expires_at = now() + $3::float8 * interval '1 millisecond' \
     WHERE account = $1 AND token = $2 AND expires_at > '-infinity' RETURNING 1)",
    t.leases
  )
}

impl Statements {
  pub fn new(t: &Tables) -> Statements {
    let lease = lease_cte(t);
    let held = "EXISTS (SELECT 1 FROM lease)";
    Statements {
      load_creds: format!("SELECT value FROM {} WHERE account = $1", t.creds),
      read: format!("SELECT id, value FROM {} WHERE account = $1 AND type = $2 AND id = ANY($3::text[])", t.keys),
      list_first: format!("SELECT id FROM {} WHERE account = $1 AND type = $2 ORDER BY id LIMIT $3", t.keys),
      list_after: format!("SELECT id FROM {} WHERE account = $1 AND type = $2 AND id > $4 ORDER BY id LIMIT $3", t.keys),
      // $4/$5: types and ids to delete; $6/$7/$8: types, ids and values to
      // put (each key once: its last op was chosen before); $9: credentials
      // to save, or NULL. Every `set` and `saveCreds` of a group is this one
      // statement.
      apply: format!(
        "{lease}, del AS (DELETE FROM {keys} k USING unnest($4::text[], $5::text[]) AS d(type, id) \
           WHERE k.account = $1 AND k.type = d.type AND k.id = d.id AND {held}), \
         put AS (INSERT INTO {keys} (account, type, id, value) \
           SELECT $1, u.type, u.id, u.value FROM unnest($6::text[], $7::text[], $8::bytea[]) AS u(type, id, value) WHERE {held} \
           ON CONFLICT (account, type, id) DO UPDATE SET value = EXCLUDED.value), \
         creds AS (INSERT INTO {creds} (account, value) SELECT $1, $9::bytea FROM lease WHERE $9::bytea IS NOT NULL \
           ON CONFLICT (account) DO UPDATE SET value = EXCLUDED.value) \
         SELECT count(*) FROM lease",
        keys = t.keys,
        creds = t.creds
      ),
      clear: format!("{lease}, del AS (DELETE FROM {keys} WHERE account = $1 AND {held}) SELECT count(*) FROM lease", keys = t.keys),
      // $4 type, $5 id, $6 the bytes, $7 why: kept aside, and the key removed
      // only if it still holds those bytes.
      quarantine: format!(
        "{lease}, keep AS (INSERT INTO {q} (account, type, id, value, reason) SELECT $1, $4, $5, $6, $7 FROM lease), \
         del AS (DELETE FROM {keys} WHERE account = $1 AND type = $4 AND id = $5 AND value = $6 AND {held}) \
         SELECT count(*) FROM lease",
        q = t.quarantine,
        keys = t.keys
      ),
      // $1 account, $2 host, $3 pid, $4 owner id, $5 lease ms. Takes the lease
      // if it is free or expired, by the server's clock, and bumps the token.
      acquire: format!(
        "INSERT INTO {l} AS l (account, token, owner_host, owner_pid, owner_id, acquired_at, expires_at) \
         VALUES ($1, 1, $2, $3, $4, now(), now() + $5::float8 * interval '1 millisecond') \
         ON CONFLICT (account) DO UPDATE SET token = l.token + 1, owner_host = EXCLUDED.owner_host, \
           owner_pid = EXCLUDED.owner_pid, owner_id = EXCLUDED.owner_id, acquired_at = now(), expires_at = EXCLUDED.expires_at \
         WHERE l.expires_at <= now() \
         RETURNING token",
        l = t.leases
      ),
      owner: format!(
        "SELECT owner_host, owner_pid, (extract(epoch FROM expires_at) * 1000)::int8, \
           (extract(epoch FROM expires_at - now()) * 1000)::int8 FROM {} WHERE account = $1",
        t.leases
      ),
      renew: format!("{lease} SELECT count(*) FROM lease"),
      // Ends the lease now; the token stays, so the next owner's is higher.
      release: format!("UPDATE {} SET expires_at = '-infinity' WHERE account = $1 AND token = $2", t.leases),
    }
  }
}

#[cfg(test)]
mod tests {
  use super::*;

  #[test]
  fn identifiers_are_checked() {
    assert!(Tables::new(Some("auth"), "bot_").is_ok());
    assert!(Tables::new(None, "").is_ok());
    for bad in ["", "a\"b", "1x", "a b", "x;drop", &"a".repeat(64)] {
      assert_eq!(Tables::new(Some(bad), "p").unwrap_err().kind, ErrorKind::Invalid, "{bad:?}");
    }
    assert!(Tables::new(None, "bad-prefix").is_err());
  }

  #[test]
  fn names_are_quoted_and_qualified() {
    let t = Tables::new(Some("s"), "p_").unwrap();
    assert_eq!(t.keys, "\"s\".\"p_keys\"");
    assert_eq!(Tables::new(None, "").unwrap().leases, "\"leases\"");
    assert_ne!(t.ddl_lock_key(), Tables::new(Some("s"), "q_").unwrap().ddl_lock_key());
  }
}
