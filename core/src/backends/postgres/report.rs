//! The CLI's `stats` and `verify` for a PostgreSQL server: one account (what
//! it holds, who holds its lease, what cannot be read back), or every account
//! of the tables. Read-only: it takes no lease and works beside running bots.

use std::collections::BTreeMap;

use tokio_postgres::error::SqlState;

use super::connect::{self, ConnectionSpec};
use super::error::pg_error;
use super::runtime;
use super::schema::Tables;
use crate::backend::{BackendError, BackendResult};
use crate::codec::Flavor;
use crate::report::{check_value, creds_summary, Finding, TypeCount};

/// Rows read per page when verifying.
const PAGE: i64 = 1000;

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LeaseInfo {
  pub token: i64,
  pub owner_host: Option<String>,
  pub owner_pid: Option<i32>,
  /// When it ends (ms since the epoch); `None` once released.
  pub until_ms: Option<i64>,
  /// Whether it is held now, by the server's clock.
  pub live: bool,
}

#[derive(Clone, Debug, Default)]
pub struct AccountReport {
  pub account: String,
  pub has_creds: bool,
  pub registered: Option<bool>,
  pub account_id: Option<String>,
  pub by_type: BTreeMap<String, TypeCount>,
  pub lease: Option<LeaseInfo>,
  pub quarantined: u64,
  pub verified: u64,
  /// Values (and credentials) found sealed: counted, not decoded.
  pub sealed: u64,
  pub findings: Vec<Finding>,
}

#[derive(Clone, Debug)]
pub struct AccountSummary {
  pub account: String,
  pub keys: u64,
  pub has_creds: bool,
  pub lease: Option<LeaseInfo>,
}

pub enum Report {
  Account(AccountReport),
  Accounts(Vec<AccountSummary>),
}

pub struct ReportOptions {
  pub schema: Option<String>,
  pub table_prefix: String,
  pub verify: bool,
  pub flavor: Flavor,
  pub timeout: std::time::Duration,
}

/// Blocking: run it off the JavaScript thread.
pub fn report(spec: &ConnectionSpec, account: Option<&str>, o: &ReportOptions) -> BackendResult<Report> {
  let target = connect::resolve(spec, &|k| std::env::var(k).ok())?;
  let tables = Tables::new(o.schema.as_deref(), &o.table_prefix)?;
  let rt = runtime::runtime()?;
  let server = runtime::server(target, 4, o.timeout)?;
  rt.block_on(async {
    let conn = super::connection(&server).await?;
    let work = async {
      match account {
        Some(a) => account_report(&conn, &tables, a, o).await.map(Report::Account),
        None => accounts(&conn, &tables).await.map(Report::Accounts),
      }
    };
    match tokio::time::timeout(o.timeout * 6, work).await {
      Ok(r) => r,
      Err(_) => Err(super::error::unavailable("the server did not answer the report's queries in time")),
    }
  })
}

fn missing_tables(e: &tokio_postgres::Error) -> bool {
  e.code() == Some(&SqlState::UNDEFINED_TABLE) || e.code() == Some(&SqlState::INVALID_SCHEMA_NAME)
}

fn lease_of(row: &tokio_postgres::Row, from: usize) -> Option<LeaseInfo> {
  let token: Option<i64> = row.get(from);
  token.map(|token| LeaseInfo {
    token,
    owner_host: row.get(from + 1),
    owner_pid: row.get(from + 2),
    until_ms: row.get(from + 3),
    live: row.get::<_, Option<bool>>(from + 4).unwrap_or(false),
  })
}

const LEASE_COLUMNS: &str = "l.token, l.owner_host, l.owner_pid, \
  CASE WHEN l.expires_at = '-infinity' THEN NULL ELSE (extract(epoch FROM l.expires_at) * 1000)::int8 END, l.expires_at > now()";

async fn accounts(conn: &deadpool_postgres::Object, t: &Tables) -> BackendResult<Vec<AccountSummary>> {
  let sql = format!(
    "WITH a AS (SELECT account FROM {l} UNION SELECT account FROM {c} UNION SELECT DISTINCT account FROM {k}) \
     SELECT a.account, (SELECT count(*) FROM {k} WHERE account = a.account), \
       EXISTS (SELECT 1 FROM {c} WHERE account = a.account), {LEASE_COLUMNS} \
     FROM a LEFT JOIN {l} l ON l.account = a.account ORDER BY a.account",
    l = t.leases,
    c = t.creds,
    k = t.keys
  );
  let rows = match conn.query(&sql, &[]).await {
    Ok(rows) => rows,
    Err(e) if missing_tables(&e) => return Ok(Vec::new()),
    Err(e) => return Err(pg_error(&e, "cannot list the accounts")),
  };
  Ok(
    rows
      .iter()
      .map(|r| AccountSummary { account: r.get(0), keys: r.get::<_, i64>(1).max(0) as u64, has_creds: r.get(2), lease: lease_of(r, 3) })
      .collect(),
  )
}

async fn account_report(conn: &deadpool_postgres::Object, t: &Tables, account: &str, o: &ReportOptions) -> BackendResult<AccountReport> {
  let mut out = AccountReport { account: account.to_owned(), ..AccountReport::default() };
  let fail = |e: tokio_postgres::Error| -> BackendError { pg_error(&e, "cannot read the account") };
  let creds = match conn.query_opt(&format!("SELECT value FROM {} WHERE account = $1", t.creds), &[&account]).await {
    Ok(row) => row,
    Err(e) if missing_tables(&e) => return Ok(out),
    Err(e) => return Err(fail(e)),
  };
  if let Some(row) = creds {
    out.has_creds = true;
    match creds_summary(&row.get::<_, Vec<u8>>(0), o.flavor) {
      Ok(Some((registered, id))) => {
        out.registered = Some(registered);
        out.account_id = id;
      }
      Ok(None) => out.sealed += 1,
      Err(f) => out.findings.push(f),
    }
  }
  let counts = format!("SELECT type, count(*), sum(length(value))::int8 FROM {} WHERE account = $1 GROUP BY type", t.keys);
  for r in conn.query(&counts, &[&account]).await.map_err(fail)? {
    let (keys, bytes): (i64, Option<i64>) = (r.get(1), r.get(2));
    out.by_type.insert(r.get(0), TypeCount { keys: keys.max(0) as u64, bytes: bytes.unwrap_or(0).max(0) as u64 });
  }
  let lease = format!("SELECT {LEASE_COLUMNS} FROM {} l WHERE l.account = $1", t.leases);
  out.lease = conn.query_opt(&lease, &[&account]).await.map_err(fail)?.and_then(|r| lease_of(&r, 0));
  let q = format!("SELECT count(*) FROM {} WHERE account = $1", t.quarantine);
  out.quarantined = conn.query_one(&q, &[&account]).await.map_err(fail)?.get::<_, i64>(0).max(0) as u64;
  if o.verify {
    let page =
      format!("SELECT type, id, value FROM {} WHERE account = $1 AND (type, id) > ($2, $3) ORDER BY type, id LIMIT {PAGE}", t.keys);
    let (mut after_type, mut after_id) = (String::new(), String::new());
    loop {
      let rows = conn.query(&page, &[&account, &after_type, &after_id]).await.map_err(fail)?;
      for r in &rows {
        let (ty, id, bytes): (String, String, Vec<u8>) = (r.get(0), r.get(1), r.get(2));
        if crate::seal::is_sealed(&bytes) {
          out.sealed += 1;
          continue;
        }
        out.verified += 1;
        out.findings.extend(check_value(&ty, &id, &bytes, o.flavor));
      }
      match rows.last() {
        Some(last) if rows.len() as i64 == PAGE => {
          after_type = last.get(0);
          after_id = last.get(1);
        }
        _ => break,
      }
    }
  }
  Ok(out)
}
