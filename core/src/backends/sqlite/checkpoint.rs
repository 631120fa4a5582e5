//! Checkpoints off the commit path.
//!
//! SQLite's automatic checkpoint runs inside the `COMMIT` that takes the WAL
//! past 1,000 pages: that call then waits for 4 MiB to be copied into the
//! database and fsynced (5–20 ms here), although its own data is safe in
//! the WAL already. So the writer turns the automatic checkpoint off, and its
//! WAL hook (called after each commit with the WAL's size) wakes a thread of
//! its own, with its own connection, that runs a `PASSIVE` checkpoint beside
//! the writer.
//!
//! A checkpoint that runs while the writer keeps appending may never catch up
//! with the end of the WAL, and the WAL only starts over from its beginning
//! after a checkpoint that did. So when the WAL passes `OVERDUE` pages anyway,
//! the writer itself runs a `FULL` checkpoint between two groups (waiting for
//! a running background one first): the WAL stays bounded whatever the load.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use parking_lot::{Condvar, Mutex};
use rusqlite::wal::CheckpointMode;
use rusqlite::Connection;

use super::Shared;

/// SQLite's own threshold (`wal_autocheckpoint` default), in pages.
pub const START: i32 = 1000;
/// Past this the writer checkpoints itself (16 MiB of 4 KiB pages).
pub const OVERDUE: i32 = 4 * START;

#[derive(Default)]
pub struct Checkpoints {
  state: Mutex<(bool, bool)>,
  wake: Condvar,
  overdue: AtomicBool,
}

impl Checkpoints {
  /// From the writer's WAL hook: the WAL holds `pages` pages after a commit.
  pub fn committed(&self, pages: i32) {
    if pages >= START {
      let mut s = self.state.lock();
      if !s.0 {
        s.0 = true;
        self.wake.notify_one();
      }
    }
    if pages >= OVERDUE {
      self.overdue.store(true, Ordering::Relaxed);
    }
  }

  /// Whether the writer must checkpoint itself now.
  pub fn take_overdue(&self) -> bool {
    self.overdue.swap(false, Ordering::Relaxed)
  }

  pub fn stop(&self) {
    self.state.lock().1 = true;
    self.wake.notify_one();
  }

  fn next(&self) -> bool {
    let mut s = self.state.lock();
    loop {
      if s.1 {
        return false;
      }
      if s.0 {
        s.0 = false;
        return true;
      }
      self.wake.wait(&mut s);
    }
  }
}

pub fn run(conn: Connection, shared: Arc<Shared>) {
  while shared.checkpoints.next() {
    // A failure (busy: the writer's own checkpoint runs) is retried at the
    // next commit that finds the WAL still large.
    if conn.wal_checkpoint_v2(None::<&str>, CheckpointMode::PASSIVE).is_ok() {
      shared.stats.checkpoints.fetch_add(1, Ordering::Relaxed);
    }
  }
}
