//! The PostgreSQL backend's own promises, against a real server
//! (`BAN_PG_URL`; `npm run test:rust` starts one): the fencing token, the
//! lease's refusal of a second owner, and the group commit.

use std::time::{Duration, Instant};

use baileys_auth_core::backend::{Backend, ErrorKind, KeyWrite};
use baileys_auth_core::backends::postgres::{self, connect::ConnectionSpec, PostgresOptions};

fn server() -> Option<String> {
  let url = std::env::var("BAN_PG_URL").ok();
  if url.is_none() {
    eprintln!("BAN_PG_URL is not set (run through scripts/with-postgres.js); not run");
  }
  url
}

fn options(url: &str, account: &str, tag: &str) -> PostgresOptions {
  let mut o = PostgresOptions::new(ConnectionSpec::Text(url.to_owned()), account);
  o.table_prefix = format!("t{}{tag}_", std::process::id());
  o.lease_ttl = Duration::from_millis(600);
  o
}

/// Runs SQL on the server with a client of the test's own.
fn sql(url: &str, statements: &str) -> Vec<tokio_postgres::SimpleQueryMessage> {
  let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
  rt.block_on(async {
    let (client, conn) = tokio_postgres::connect(url, tokio_postgres::NoTls).await.unwrap();
    tokio::spawn(conn);
    client.simple_query(statements).await.unwrap()
  })
}

fn rows(messages: Vec<tokio_postgres::SimpleQueryMessage>) -> Vec<Vec<Option<String>>> {
  messages
    .into_iter()
    .filter_map(|m| match m {
      tokio_postgres::SimpleQueryMessage::Row(r) => Some((0..r.len()).map(|i| r.get(i).map(str::to_owned)).collect()),
      _ => None,
    })
    .collect()
}

#[test]
fn a_write_after_a_takeover_is_refused_and_changes_nothing() {
  let Some(url) = server() else { return };
  let o = options(&url, "fenced", "f");
  let b = postgres::open(&o).unwrap();
  b.apply(vec![KeyWrite::put("session", "a", b"1".to_vec())]).wait().unwrap();
  // Another owner took the lease over: its token is higher (what `acquire`
  // does once the lease has expired).
  sql(&url, &format!("UPDATE \"{}leases\" SET token = token + 1 WHERE account = 'fenced'", o.table_prefix));
  let calls = [
    b.apply(vec![KeyWrite::put("session", "a", b"2".to_vec()), KeyWrite::put("session", "b", b"3".to_vec())]),
    b.apply(vec![KeyWrite::delete("session", "a")]),
    b.save_creds(b"{}".to_vec()),
    b.clear(),
  ];
  for c in calls {
    assert_eq!(c.wait().unwrap_err().kind, ErrorKind::Fenced);
  }
  // Every later call is refused at once, reads too.
  assert_eq!(b.read("session", vec!["a".into()]).wait().unwrap_err().kind, ErrorKind::Fenced);
  let stored = rows(sql(&url, &format!("SELECT id, convert_from(value, 'UTF8') FROM \"{}keys\" ORDER BY id", o.table_prefix)));
  assert_eq!(stored, vec![vec![Some("a".to_owned()), Some("1".to_owned())]]);
  let creds = rows(sql(&url, &format!("SELECT count(*) FROM \"{}creds\"", o.table_prefix)));
  assert_eq!(creds, vec![vec![Some("0".to_owned())]]);
  b.close().wait().unwrap();
}

#[test]
fn a_live_lease_refuses_another_owner_until_it_is_released_or_expires() {
  let Some(url) = server() else { return };
  let o = options(&url, "held", "h");
  let b = postgres::open(&o).unwrap();
  // Another process's open: the same statement with another owner. Here the
  // row is made to look held by a foreign pid, then the lease is let lapse.
  b.close().wait().unwrap();
  sql(
    &url,
    &format!(
      "UPDATE \"{}leases\" SET owner_host = 'elsewhere', owner_pid = 4242, expires_at = now() + interval '400 milliseconds' WHERE account = 'held'",
      o.table_prefix
    ),
  );
  let e = postgres::open(&o).err().expect("a live lease refuses");
  assert_eq!(e.kind, ErrorKind::Locked);
  assert_eq!(e.owner_pid, Some(4242));
  assert_eq!(e.owner_host.as_deref(), Some("elsewhere"));
  assert!(e.message.contains("elsewhere"), "{}", e.message);
  let started = Instant::now();
  let b = loop {
    match postgres::open(&o) {
      Ok(b) => break b,
      Err(e) if e.kind == ErrorKind::Locked && started.elapsed() < Duration::from_secs(5) => std::thread::sleep(Duration::from_millis(20)),
      Err(e) => panic!("{e}"),
    }
  };
  // Taken over: the token went up.
  let token = rows(sql(&url, &format!("SELECT token FROM \"{}leases\" WHERE account = 'held'", o.table_prefix)));
  assert_eq!(token, vec![vec![Some("2".to_owned())]]);
  b.close().wait().unwrap();
}

#[test]
fn concurrent_writes_share_commits_and_each_lands_whole() {
  let Some(url) = server() else { return };
  let o = options(&url, "group", "g");
  let b = postgres::open(&o).unwrap();
  let calls: Vec<_> = (0..64)
    .map(|i| {
      b.apply(vec![KeyWrite::put("session", format!("s{i}"), vec![b'x'; 64]), KeyWrite::put("sender-key", format!("k{i}"), b"{}".to_vec())])
    })
    .collect();
  for c in calls {
    c.wait().unwrap();
  }
  let counters: std::collections::HashMap<_, _> = b.counters().into_iter().collect();
  assert!(counters["groups"] < 64, "64 concurrent calls took {} write runs", counters["groups"]);
  assert_eq!(counters["committedCalls"], 64);
  let n = rows(sql(&url, &format!("SELECT count(*) FROM \"{}keys\" WHERE account = 'group'", o.table_prefix)));
  assert_eq!(n, vec![vec![Some("128".to_owned())]]);
  b.close().wait().unwrap();
}

#[test]
fn a_newer_schema_is_refused_untouched() {
  let Some(url) = server() else { return };
  let o = options(&url, "version", "v");
  postgres::open(&o).unwrap().close().wait().unwrap();
  sql(&url, &format!("UPDATE \"{}meta\" SET value = '99' WHERE name = 'schema_version'", o.table_prefix));
  // The tables are checked once per pool and process: another pool (another
  // application_name) checks them again, as another process would.
  let mut again = o.clone();
  again.connection = ConnectionSpec::Text(format!("{url}{}application_name=version-check", if url.contains('?') { "&" } else { "?" }));
  let e = postgres::open(&again).err().expect("a newer schema is refused");
  assert_eq!(e.kind, ErrorKind::Unsupported, "{e}");
}
