//! One owner per account, across hosts: a lease row per account with a
//! fencing token.
//!
//! - **Taking it:** one statement inserts the row, or takes it over when its
//!   `expires_at` has passed *by the server's clock*, and bumps the token. A
//!   live lease is refused at once with who holds it and until when.
//! - **Keeping it:** every write renews it in the write's own statement, and a
//!   heartbeat renews it every third of its length between writes.
//! - **Fencing:** both renewals match the token this owner got. After a
//!   takeover the token is higher, so the old owner's next write changes
//!   nothing and reports that the lease is lost (see `schema::Statements`).
//! - **A paused owner** cannot hold the row lock long: our transactions are
//!   sent whole (pipelined), and `idle_in_transaction_session_timeout` (set
//!   per transaction, below the lease) ends a session stopped inside one. A
//!   taker waits at most `lock_timeout` for the row.
//! - **Releasing it:** `close()` sets `expires_at` to `-infinity`: the next
//!   opener takes over at once.

use std::time::Duration;

use deadpool_postgres::Object;

use super::error::pg_error;
use super::schema::Statements;
use crate::backend::{BackendError, BackendResult, ErrorKind};

/// Who this process is, as written into the lease row.
#[derive(Clone, Debug)]
pub struct Owner {
  pub host: String,
  pub pid: i32,
  /// Random per open, so two opens on one host and pid are still told apart.
  pub id: String,
}

impl Owner {
  pub fn this_process() -> Owner {
    let mut random = [0u8; 8];
    // Only a label: without the OS's random source it is still unique enough
    // with the time in it.
    let _ = getrandom::getrandom(&mut random);
    let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_nanos()).unwrap_or(0);
    let id = format!("{:016x}{:08x}", u64::from_le_bytes(random), nanos as u32);
    Owner { host: host_name(), pid: std::process::id() as i32, id }
  }
}

fn host_name() -> String {
  #[cfg(unix)]
  {
    let mut buf = [0u8; 256];
    // SAFETY: the buffer is valid for its length; gethostname writes at most
    // that many bytes and we stop at the first NUL (or the end).
    let rc = unsafe { libc::gethostname(buf.as_mut_ptr().cast(), buf.len()) };
    if rc == 0 {
      let end = buf.iter().position(|&b| b == 0).unwrap_or(buf.len());
      return String::from_utf8_lossy(&buf[..end]).into_owned();
    }
  }
  std::env::var("COMPUTERNAME").or_else(|_| std::env::var("HOSTNAME")).unwrap_or_else(|_| "unknown-host".to_owned())
}

/// How long a taker waits for a lease row another session has locked.
pub fn lock_wait(ttl: Duration) -> Duration {
  (ttl / 2).clamp(Duration::from_millis(50), Duration::from_secs(5))
}

/// Takes the lease of `account`, returning the fencing token.
pub async fn acquire(conn: &Object, s: &Statements, account: &str, owner: &Owner, ttl: Duration) -> BackendResult<i64> {
  let fail = |e: tokio_postgres::Error| pg_error(&e, "cannot take the account's lease");
  let acquire = conn.prepare_cached(&s.acquire).await.map_err(fail)?;
  let ttl_ms = ttl.as_secs_f64() * 1000.0;
  let wait = format!("BEGIN; SET LOCAL lock_timeout = {}", lock_wait(ttl).as_millis());
  // One round trip: the three are pipelined.
  let params: [&(dyn tokio_postgres::types::ToSql + Sync); 5] = [&account, &owner.host, &owner.pid, &owner.id, &ttl_ms];
  let (begun, row, committed) = tokio::join!(conn.batch_execute(&wait), conn.query_opt(&acquire, &params), conn.batch_execute("COMMIT"));
  begun.map_err(fail)?;
  let row = match row {
    Ok(row) => row,
    Err(e) => {
      let err = fail(e);
      if err.kind == ErrorKind::Locked {
        // Another session is writing to the row right now (the owner's write,
        // or an owner stopped inside its transaction).
        return Err(held_by(conn, s, account, "another session is writing to it").await);
      }
      return Err(err);
    }
  };
  committed.map_err(fail)?;
  match row {
    Some(row) => Ok(row.get(0)),
    None => Err(held_by(conn, s, account, "its lease has not expired").await),
  }
}

/// The lock error of an account another owner holds, saying who and until when.
async fn held_by(conn: &Object, s: &Statements, account: &str, why: &str) -> BackendError {
  let row = match conn.prepare_cached(&s.owner).await {
    Ok(stmt) => conn.query_opt(&stmt, &[&account]).await.ok().flatten(),
    Err(_) => None,
  };
  let mut err = BackendError::new(ErrorKind::Locked, format!("the account \"{account}\" is owned by another process ({why})"));
  if let Some(row) = row {
    let host: Option<String> = row.get(0);
    let pid: Option<i32> = row.get(1);
    let until: Option<i64> = row.get(2);
    let left: Option<i64> = row.get(3);
    err.message = format!(
      "the account \"{account}\" is owned by {} pid {} until its lease ends in {} ms ({why}); it can be taken over once the owner closes it or stops renewing",
      host.as_deref().unwrap_or("?"),
      pid.map_or("?".to_owned(), |p| p.to_string()),
      left.unwrap_or(0).max(0)
    );
    err.owner_pid = pid.and_then(|p| u32::try_from(p).ok());
    err.owner_host = host;
    err.owner_until_ms = until;
  }
  err
}

/// Renews the lease: `Ok(false)` when the token no longer holds (taken over).
pub async fn renew(conn: &Object, s: &Statements, account: &str, token: i64, ttl: Duration) -> BackendResult<bool> {
  let fail = |e: tokio_postgres::Error| pg_error(&e, "cannot renew the account's lease");
  let stmt = conn.prepare_cached(&s.renew).await.map_err(fail)?;
  let row = conn.query_one(&stmt, &[&account, &token, &(ttl.as_secs_f64() * 1000.0)]).await.map_err(fail)?;
  Ok(row.get::<_, i64>(0) > 0)
}

pub async fn release(conn: &Object, s: &Statements, account: &str, token: i64) -> BackendResult<()> {
  let stmt = conn.prepare_cached(&s.release).await.map_err(|e| pg_error(&e, "cannot release the account's lease"))?;
  conn.execute(&stmt, &[&account, &token]).await.map_err(|e| pg_error(&e, "cannot release the account's lease"))?;
  Ok(())
}

/// The error of every call once the lease is lost.
pub fn fenced(account: &str) -> BackendError {
  BackendError::new(
    ErrorKind::Fenced,
    format!(
      "the account \"{account}\" was taken over by another process (this process's lease expired); nothing more is written through this state: open the account again to take it back"
    ),
  )
}
