//! Where the server is and how to reach it: a libpq connection string (URL or
//! `key=value` form) or pg-style fields, completed from the `PG*` environment
//! variables as `psql` completes them.
//!
//! tokio-postgres parses libpq strings itself, but refuses keys it does not
//! know and has no `verify-ca` / `verify-full` / `sslrootcert`. So the string
//! is split into its pairs here, the TLS keys are taken out (they decide the
//! TLS setup, see [`super::tls`]), and the rest is handed to tokio-postgres.

use std::str::FromStr;

use crate::backend::{BackendError, BackendResult, ErrorKind};

/// How the caller named the server.
#[derive(Clone, Debug, Default)]
pub enum ConnectionSpec {
  /// `postgres://user:pass@host:5432/db?sslmode=require` or
  /// `host=... user=... sslmode=verify-full`.
  Text(String),
  /// node-postgres' object form; what is `None` comes from the environment.
  Fields(Fields),
  /// Nothing: the environment only.
  #[default]
  Environment,
}

#[derive(Clone, Debug, Default)]
pub struct Fields {
  pub host: Option<String>,
  pub port: Option<u16>,
  pub user: Option<String>,
  pub password: Option<String>,
  pub database: Option<String>,
  pub ssl: Option<SslFields>,
}

/// node-postgres' `ssl`: `true`, or `{ rejectUnauthorized, ca }`.
#[derive(Clone, Debug)]
pub struct SslFields {
  /// `false`: encrypt without checking the certificate (`sslmode=require`).
  pub reject_unauthorized: bool,
  /// PEM text of the CA(s) to trust instead of the system's roots.
  pub ca_pem: Option<String>,
}

/// libpq's `sslmode`, all six.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum SslMode {
  Disable,
  /// libpq tries plain first, then TLS; tokio-postgres cannot, so it is
  /// taken as `prefer` (TLS when the server offers it, no check).
  Allow,
  Prefer,
  Require,
  VerifyCa,
  VerifyFull,
}

impl SslMode {
  fn parse(s: &str) -> BackendResult<SslMode> {
    Ok(match s {
      "disable" => SslMode::Disable,
      "allow" => SslMode::Allow,
      "prefer" => SslMode::Prefer,
      "require" => SslMode::Require,
      "verify-ca" => SslMode::VerifyCa,
      "verify-full" => SslMode::VerifyFull,
      other => return Err(invalid(format!("unknown sslmode \"{other}\" (disable, allow, prefer, require, verify-ca or verify-full)"))),
    })
  }
}

/// Where the trusted roots come from when the certificate is checked.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum Roots {
  /// The operating system's store.
  System,
  /// A PEM file (`sslrootcert`).
  File(String),
  /// PEM text (node-postgres' `ssl.ca`).
  Pem(String),
}

/// The TLS part of a connection: what tokio-postgres is asked, and how the
/// server's certificate is checked.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct TlsSetup {
  pub mode: SslMode,
  pub roots: Roots,
}

impl TlsSetup {
  /// Whether the chain is checked (libpq: `verify-*`, and `require` given a
  /// root file, which libpq then treats as `verify-ca`).
  pub fn verifies_chain(&self) -> bool {
    match self.mode {
      SslMode::VerifyCa | SslMode::VerifyFull => true,
      SslMode::Require => self.roots != Roots::System,
      _ => false,
    }
  }

  pub fn verifies_host(&self) -> bool {
    self.mode == SslMode::VerifyFull
  }
}

/// A server to connect to: the tokio-postgres configuration, its TLS setup,
/// and a key naming it (same key: same pool).
pub struct Target {
  pub config: tokio_postgres::Config,
  pub tls: TlsSetup,
  /// Every setting, password included: kept in memory as the pool's key,
  /// never printed.
  pub key: String,
  /// `host:port/database`, for messages.
  pub display: String,
}

/// Reads the environment through `env` (a closure, so tests need not change
/// the process's own).
pub fn resolve(spec: &ConnectionSpec, env: &dyn Fn(&str) -> Option<String>) -> BackendResult<Target> {
  let mut pairs = match spec {
    ConnectionSpec::Text(s) => parse_text(s)?,
    ConnectionSpec::Fields(f) => fields_pairs(f),
    ConnectionSpec::Environment => Vec::new(),
  };
  let ca_pem = match spec {
    ConnectionSpec::Fields(Fields { ssl: Some(SslFields { ca_pem: Some(pem), .. }), .. }) => Some(pem.clone()),
    _ => None,
  };
  for (key, var) in [
    ("host", "PGHOST"),
    ("hostaddr", "PGHOSTADDR"),
    ("port", "PGPORT"),
    ("dbname", "PGDATABASE"),
    ("user", "PGUSER"),
    ("password", "PGPASSWORD"),
    ("sslmode", "PGSSLMODE"),
    ("sslrootcert", "PGSSLROOTCERT"),
    ("connect_timeout", "PGCONNECT_TIMEOUT"),
    ("application_name", "PGAPPNAME"),
  ] {
    if !pairs.iter().any(|(k, _)| k == key) {
      if let Some(v) = env(var).filter(|v| !v.is_empty()) {
        pairs.push((key.to_owned(), v));
      }
    }
  }
  if matches!(spec, ConnectionSpec::Fields(_)) && !pairs.iter().any(|(k, _)| k == "sslmode") {
    // node-postgres without `ssl` (nor PGSSLMODE) connects in plain text.
    pairs.push(("sslmode".to_owned(), "disable".to_owned()));
  }
  if !pairs.iter().any(|(k, _)| k == "host" || k == "hostaddr") {
    pairs.push(("host".to_owned(), default_host()));
  }
  if !pairs.iter().any(|(k, _)| k == "application_name") {
    pairs.push(("application_name".to_owned(), "baileys-auth-native".to_owned()));
  }

  let mut mode = SslMode::Prefer;
  let mut root_file = None;
  let mut rest = Vec::new();
  for (k, v) in pairs {
    match k.as_str() {
      "sslmode" => mode = SslMode::parse(&v)?,
      "sslrootcert" => root_file = Some(v),
      "sslcert" | "sslkey" | "sslpassword" => {
        return Err(invalid(format!("\"{k}\" (client certificates) is not supported; use a password")));
      }
      // Harmless libpq keys tokio-postgres does not know.
      "sslcompression"
      | "gssencmode"
      | "krbsrvname"
      | "requiressl"
      | "service"
      | "passfile"
      | "sslcrl"
      | "sslcrldir"
      | "sslsni"
      | "ssl_min_protocol_version"
      | "ssl_max_protocol_version"
      | "fallback_application_name" => {}
      _ => rest.push((k, v)),
    }
  }
  let roots = match (ca_pem, root_file) {
    (Some(pem), _) => Roots::Pem(pem),
    (None, Some(f)) if f != "system" => Roots::File(f),
    _ => Roots::System,
  };
  let tls = TlsSetup { mode, roots };
  let tls_mode = match tls.mode {
    SslMode::Disable => "disable",
    SslMode::Allow | SslMode::Prefer => "prefer",
    SslMode::Require | SslMode::VerifyCa | SslMode::VerifyFull => "require",
  };
  rest.push(("sslmode".to_owned(), tls_mode.to_owned()));

  let text = rest.iter().map(|(k, v)| format!("{k}={}", quote(v))).collect::<Vec<_>>().join(" ");
  let config = tokio_postgres::Config::from_str(&text).map_err(|e| invalid(format!("invalid connection settings: {e}")))?;
  let get = |key: &str| rest.iter().find(|(k, _)| k == key).map(|(_, v)| v.as_str());
  let display = format!(
    "{}:{}/{}",
    get("host").or(get("hostaddr")).unwrap_or("?"),
    get("port").unwrap_or("5432"),
    get("dbname").or(get("user")).unwrap_or("")
  );
  let key = format!("{text} tls={tls:?}");
  Ok(Target { config, tls, key, display })
}

/// libpq's default: the Unix socket folder where the server's packages put it,
/// `localhost` elsewhere.
fn default_host() -> String {
  #[cfg(unix)]
  for dir in ["/var/run/postgresql", "/tmp"] {
    if std::fs::read_dir(dir).is_ok_and(|mut d| d.any(|e| e.is_ok_and(|e| e.file_name().to_string_lossy().starts_with(".s.PGSQL.")))) {
      return dir.to_owned();
    }
  }
  "localhost".to_owned()
}

fn fields_pairs(f: &Fields) -> Vec<(String, String)> {
  let mut pairs = Vec::new();
  let mut put = |k: &str, v: Option<String>| {
    if let Some(v) = v {
      pairs.push((k.to_owned(), v));
    }
  };
  put("host", f.host.clone());
  put("port", f.port.map(|p| p.to_string()));
  put("user", f.user.clone());
  put("password", f.password.clone());
  put("dbname", f.database.clone());
  // node-postgres: no `ssl` is a plain connection, `ssl: true` or an object
  // checks the certificate and the host unless `rejectUnauthorized: false`.
  put("sslmode", f.ssl.as_ref().map(|s| if s.reject_unauthorized { "verify-full" } else { "require" }.to_owned()));
  pairs
}

/// The pairs of a libpq connection string, in either form.
pub fn parse_text(s: &str) -> BackendResult<Vec<(String, String)>> {
  let t = s.trim();
  if let Some(rest) = t.strip_prefix("postgresql://").or_else(|| t.strip_prefix("postgres://")) {
    parse_url(rest)
  } else {
    parse_key_values(t)
  }
}

/// `[user[:password]@][host][:port][,host[:port]…][/dbname][?k=v&…]`.
fn parse_url(rest: &str) -> BackendResult<Vec<(String, String)>> {
  let (before_query, query) = match rest.split_once('?') {
    Some((a, q)) => (a, Some(q)),
    None => (rest, None),
  };
  let (authority, path) = match before_query.split_once('/') {
    Some((a, p)) => (a, Some(p)),
    None => (before_query, None),
  };
  let mut pairs = Vec::new();
  // The last '@': a password may hold a percent-encoded '@' only, but be lenient.
  let (userinfo, hosts) = match authority.rfind('@') {
    Some(i) => (Some(&authority[..i]), &authority[i + 1..]),
    None => (None, authority),
  };
  if let Some(ui) = userinfo {
    let (user, password) = match ui.split_once(':') {
      Some((u, p)) => (u, Some(p)),
      None => (ui, None),
    };
    if !user.is_empty() {
      pairs.push(("user".to_owned(), percent_decode(user)?));
    }
    if let Some(p) = password {
      pairs.push(("password".to_owned(), percent_decode(p)?));
    }
  }
  if !hosts.is_empty() {
    let mut host_list = Vec::new();
    let mut port_list = Vec::new();
    for h in hosts.split(',') {
      let (host, port) = split_host_port(h)?;
      host_list.push(host);
      port_list.push(port.unwrap_or_default());
    }
    if host_list.iter().any(|h| !h.is_empty()) {
      pairs.push(("host".to_owned(), host_list.join(",")));
    }
    if port_list.iter().any(|p| !p.is_empty()) {
      let ports: Vec<String> = port_list.into_iter().map(|p| if p.is_empty() { "5432".to_owned() } else { p }).collect();
      pairs.push(("port".to_owned(), ports.join(",")));
    }
  }
  if let Some(db) = path.filter(|p| !p.is_empty()) {
    pairs.push(("dbname".to_owned(), percent_decode(db)?));
  }
  for param in query.into_iter().flat_map(|q| q.split('&')).filter(|p| !p.is_empty()) {
    let (k, v) = param.split_once('=').ok_or_else(|| invalid(format!("URL parameter \"{param}\" has no value")))?;
    let k = percent_decode(k)?;
    // URL parameters override what the authority said (libpq does the same).
    pairs.retain(|(key, _)| *key != k);
    pairs.push((k, percent_decode(v)?));
  }
  Ok(pairs)
}

fn split_host_port(h: &str) -> BackendResult<(String, Option<String>)> {
  if let Some(rest) = h.strip_prefix('[') {
    let (host, after) = rest.split_once(']').ok_or_else(|| invalid("an IPv6 host in the URL lacks its ']'"))?;
    let port = after.strip_prefix(':').map(str::to_owned);
    return Ok((host.to_owned(), port));
  }
  Ok(match h.rsplit_once(':') {
    Some((host, port)) => (percent_decode(host)?, Some(port.to_owned())),
    None => (percent_decode(h)?, None),
  })
}

fn percent_decode(s: &str) -> BackendResult<String> {
  let bytes = s.as_bytes();
  let mut out = Vec::with_capacity(bytes.len());
  let mut i = 0;
  while i < bytes.len() {
    if bytes[i] == b'%' {
      let hex = bytes.get(i + 1..i + 3).and_then(|h| std::str::from_utf8(h).ok()).and_then(|h| u8::from_str_radix(h, 16).ok());
      out.push(hex.ok_or_else(|| invalid("a '%' in the URL is not followed by two hex digits"))?);
      i += 3;
    } else {
      out.push(bytes[i]);
      i += 1;
    }
  }
  String::from_utf8(out).map_err(|_| invalid("the URL decodes to bytes that are not UTF-8"))
}

/// `key = value` pairs separated by spaces; a value may be single-quoted,
/// with `\'` and `\\` inside.
fn parse_key_values(s: &str) -> BackendResult<Vec<(String, String)>> {
  let mut pairs = Vec::new();
  let mut chars = s.chars().peekable();
  loop {
    while chars.peek().is_some_and(|c| c.is_whitespace()) {
      chars.next();
    }
    if chars.peek().is_none() {
      return Ok(pairs);
    }
    let mut key = String::new();
    while let Some(&c) = chars.peek() {
      if c == '=' || c.is_whitespace() {
        break;
      }
      key.push(c);
      chars.next();
    }
    while chars.peek().is_some_and(|c| c.is_whitespace()) {
      chars.next();
    }
    if chars.next() != Some('=') {
      return Err(invalid(format!("connection setting \"{key}\" has no '='")));
    }
    while chars.peek().is_some_and(|c| c.is_whitespace()) {
      chars.next();
    }
    let mut value = String::new();
    if chars.peek() == Some(&'\'') {
      chars.next();
      loop {
        match chars.next() {
          Some('\\') => value.push(chars.next().ok_or_else(|| invalid("a connection setting ends in '\\'"))?),
          Some('\'') => break,
          Some(c) => value.push(c),
          None => return Err(invalid(format!("the quoted value of \"{key}\" is not closed"))),
        }
      }
    } else {
      while let Some(&c) = chars.peek() {
        if c.is_whitespace() {
          break;
        }
        chars.next();
        if c == '\\' {
          value.push(chars.next().ok_or_else(|| invalid("a connection setting ends in '\\'"))?);
        } else {
          value.push(c);
        }
      }
    }
    pairs.push((key, value));
  }
}

fn quote(v: &str) -> String {
  format!("'{}'", v.replace('\\', "\\\\").replace('\'', "\\'"))
}

fn invalid(message: impl Into<String>) -> BackendError {
  BackendError::new(ErrorKind::Invalid, message)
}

#[cfg(test)]
mod tests {
  use super::*;

  fn no_env(_: &str) -> Option<String> {
    None
  }

  #[test]
  fn url_with_everything() {
    let pairs = parse_text("postgres://bot%40x:p%40ss:w@db.example:6543/auth%20db?sslmode=verify-full&application_name=b").unwrap();
    let get = |k: &str| pairs.iter().find(|(key, _)| key == k).map(|(_, v)| v.clone());
    assert_eq!(get("user").as_deref(), Some("bot@x"));
    assert_eq!(get("password").as_deref(), Some("p@ss:w"));
    assert_eq!(get("host").as_deref(), Some("db.example"));
    assert_eq!(get("port").as_deref(), Some("6543"));
    assert_eq!(get("dbname").as_deref(), Some("auth db"));
    assert_eq!(get("sslmode").as_deref(), Some("verify-full"));
  }

  #[test]
  fn key_values_with_quotes() {
    let pairs = parse_text("host=h  password = 'it\\'s a \\\\ secret' dbname=d").unwrap();
    assert_eq!(pairs[1], ("password".to_owned(), "it's a \\ secret".to_owned()));
    assert_eq!(pairs.len(), 3);
    assert!(parse_text("host='open").is_err());
    assert!(parse_text("host").is_err());
  }

  #[test]
  fn tls_keys_are_taken_out_and_env_fills_the_rest() {
    let env = |k: &str| match k {
      "PGPORT" => Some("7777".to_owned()),
      "PGUSER" => Some("envuser".to_owned()),
      "PGSSLROOTCERT" => Some("/ca.pem".to_owned()),
      _ => None,
    };
    let t = resolve(&ConnectionSpec::Text("host=127.0.0.1 user=me sslmode=verify-ca".into()), &env).unwrap();
    assert_eq!(t.tls, TlsSetup { mode: SslMode::VerifyCa, roots: Roots::File("/ca.pem".into()) });
    assert_eq!(t.config.get_ports(), &[7777]);
    assert_eq!(t.config.get_user(), Some("me"));
    assert!(t.verifies_chain_for_test());
  }

  #[test]
  fn fields_follow_node_postgres() {
    let f = |ssl| ConnectionSpec::Fields(Fields { host: Some("h".into()), ssl, ..Fields::default() });
    assert_eq!(resolve(&f(None), &no_env).unwrap().tls.mode, SslMode::Disable);
    let strict = resolve(&f(Some(SslFields { reject_unauthorized: true, ca_pem: Some("PEM".into()) })), &no_env).unwrap();
    assert_eq!(strict.tls, TlsSetup { mode: SslMode::VerifyFull, roots: Roots::Pem("PEM".into()) });
    let loose = resolve(&f(Some(SslFields { reject_unauthorized: false, ca_pem: None })), &no_env).unwrap();
    assert_eq!(loose.tls.mode, SslMode::Require);
    assert!(!loose.tls.verifies_chain());
  }

  #[test]
  fn bad_settings_are_typed_errors() {
    let e = resolve(&ConnectionSpec::Text("host=h sslmode=maybe".into()), &no_env).err().unwrap();
    assert_eq!(e.kind, ErrorKind::Invalid);
    let e = resolve(&ConnectionSpec::Text("host=h sslcert=/c".into()), &no_env).err().unwrap();
    assert_eq!(e.kind, ErrorKind::Invalid);
    let e = resolve(&ConnectionSpec::Text("host=h password=hunter2 nonsense=1".into()), &no_env).err().unwrap();
    assert!(!e.message.contains("hunter2"), "{}", e.message);
  }

  impl Target {
    fn verifies_chain_for_test(&self) -> bool {
      self.tls.verifies_chain()
    }
  }
}
