//! The process's tokio runtime for every PostgreSQL store, and one connection
//! pool per server (same settings, same pool), shared by every account opened
//! on it.

use std::collections::HashMap;
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use deadpool_postgres::{Manager, ManagerConfig, Pool, RecyclingMethod, Runtime};
use parking_lot::Mutex;
use tokio::sync::OnceCell;

use super::connect::Target;
use super::schema::Tables;
use super::tls;
use crate::backend::{BackendError, BackendResult};

/// Two threads: the work is network waits, and the bot's own threads matter more.
const THREADS: usize = 2;

pub fn runtime() -> BackendResult<&'static tokio::runtime::Runtime> {
  static RUNTIME: OnceLock<Result<tokio::runtime::Runtime, String>> = OnceLock::new();
  RUNTIME
    .get_or_init(|| {
      tokio::runtime::Builder::new_multi_thread()
        .worker_threads(THREADS)
        .thread_name("baileys-pg")
        .enable_all()
        .build()
        .map_err(|e| e.to_string())
    })
    .as_ref()
    .map_err(|e| BackendError::internal(format!("cannot start the PostgreSQL runtime: {e}")))
}

/// A server's pool, and the layouts already checked on it.
pub struct Server {
  pub pool: Pool,
  pub display: String,
  /// How long to wait for a connection, a query, a commit.
  pub timeout: Duration,
  checked: Mutex<HashMap<Tables, Arc<OnceCell<()>>>>,
}

impl Server {
  /// Runs [`super::schema::ensure`] once per layout and process (again after
  /// a failure).
  pub async fn ensure_tables(&self, tables: &Tables) -> BackendResult<()> {
    let cell = self.checked.lock().entry(tables.clone()).or_default().clone();
    cell
      .get_or_try_init(|| async {
        let mut conn = super::connection(self).await?;
        super::schema::ensure(&mut conn, tables).await
      })
      .await
      .map(|_| ())
  }
}

/// The pool of `target`, made on first use with `size` connections at most
/// (a later open of the same server keeps the first size).
pub fn server(target: Target, size: usize, timeout: Duration) -> BackendResult<Arc<Server>> {
  static SERVERS: OnceLock<Mutex<HashMap<String, Arc<Server>>>> = OnceLock::new();
  let mut servers = SERVERS.get_or_init(Default::default).lock();
  if let Some(s) = servers.get(&target.key) {
    return Ok(s.clone());
  }
  let mut config = target.config.clone();
  config.connect_timeout(timeout);
  // Our statements are prepared once per connection and run with arrays of
  // every size. After five runs the server may switch a statement to a
  // generic plan made without the array, and for `id = ANY($3)` on a table
  // whose statistics are young that plan filters the whole account instead
  // of probing the index (10 ms for 812 ids instead of 0.5). Planning each
  // run costs tens of microseconds.
  let options = format!("{} -c plan_cache_mode=force_custom_plan", config.get_options().unwrap_or(""));
  config.options(options.trim_start());
  // Dead peers are noticed by the timeouts of the calls; keepalives close
  // connections a vanished server left half-open, so the pool replaces them.
  config.keepalives(true).keepalives_idle(Duration::from_secs(30));
  let manager = Manager::from_config(config, tls::connector(&target.tls)?, ManagerConfig { recycling_method: RecyclingMethod::Fast });
  let pool = Pool::builder(manager)
    .max_size(size.max(1))
    .runtime(Runtime::Tokio1)
    .wait_timeout(Some(timeout))
    .create_timeout(Some(timeout))
    .recycle_timeout(Some(timeout))
    .build()
    .map_err(|e| BackendError::internal(format!("cannot make the connection pool: {e}")))?;
  let server = Arc::new(Server { pool, display: target.display.clone(), timeout, checked: Mutex::new(HashMap::new()) });
  servers.insert(target.key, server.clone());
  Ok(server)
}
