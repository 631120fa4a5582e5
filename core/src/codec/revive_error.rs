//! The one error a reviver throws, on its own so that the reviver and the
//! conversions it calls (`Buffer.from`, `Number()`) share it without
//! depending on each other.

use std::fmt;

/// The reviver threw: what `Buffer.from` throws for a value it cannot take.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReviveError {
  pub message: &'static str,
}

impl fmt::Display for ReviveError {
  fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
    f.write_str(self.message)
  }
}

impl std::error::Error for ReviveError {}
