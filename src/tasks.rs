//! Blocking work the exports hand to the core's worker pool: opening a store,
//! inspecting a folder or a file. Written once: a pool that cannot start, or
//! work that panics, becomes the call's error, never a lost promise.

use baileys_auth_core::backend::BackendError;
use baileys_auth_core::backends::folder::pool;
use baileys_auth_core::store::StoreError;

/// What an error type says when the pool cannot run the work, or it panicked.
pub(crate) trait Internal {
  fn internal(message: String) -> Self;
}

impl Internal for StoreError {
  fn internal(message: String) -> Self {
    StoreError::Internal { message }
  }
}

impl Internal for BackendError {
  fn internal(message: String) -> Self {
    BackendError::internal(message)
  }
}

/// Runs `work` on the pool (behind what is queued on its first lane) and
/// hands its outcome to `done`; `what` names it in the panic message.
pub(crate) fn on_pool<T, E: Internal>(
  what: &'static str,
  work: impl FnOnce() -> Result<T, E> + Send + 'static,
  done: impl FnOnce(Result<T, E>) + Send + 'static,
) {
  let pool = match pool() {
    Ok(p) => p,
    Err(e) => return done(Err(E::internal(e.to_string()))),
  };
  pool.submit(0, move || {
    let outcome =
      std::panic::catch_unwind(std::panic::AssertUnwindSafe(work)).unwrap_or_else(|_| Err(E::internal(format!("{what} panicked"))));
    done(outcome)
  });
}
