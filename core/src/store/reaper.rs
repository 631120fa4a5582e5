//! Closing replaced files off the write path.
//!
//! When a rename replaces a file, the kernel frees the old file's inode and
//! blocks inside the `rename` call, which on ext4 is most of its cost. The
//! writer therefore opens the old file just before the rename (an `O_PATH`
//! handle, Linux only: see [`super::io::Io::hold`]) and hands that
//! descriptor here afterwards: the old inode then lives until this thread
//! closes it, and the freeing happens here, while the writer goes on. Nothing
//! about durability changes (the rename is the same rename); a killed process
//! simply has the kernel free the inode at exit.

use std::fs::File;
use std::sync::mpsc::{sync_channel, SyncSender, TrySendError};
use std::sync::OnceLock;

/// Descriptors waiting to be closed. Small, so that the process never holds
/// many extra descriptors (a burst beyond this closes inline instead).
const BACKLOG: usize = 32;

fn sender() -> Option<&'static SyncSender<File>> {
  static SENDER: OnceLock<Option<SyncSender<File>>> = OnceLock::new();
  SENDER
    .get_or_init(|| {
      let (tx, rx) = sync_channel::<File>(BACKLOG);
      std::thread::Builder::new()
        .name("baileys-auth-reaper".into())
        .spawn(move || {
          for fd in rx {
            drop(fd);
          }
        })
        .ok()
        .map(|_| tx)
    })
    .as_ref()
}

/// Closes `fd` on the reaper thread, or here when it is busy.
pub fn close_later(fd: File) {
  match sender() {
    Some(tx) => match tx.try_send(fd) {
      Ok(()) => {}
      Err(TrySendError::Full(fd)) | Err(TrySendError::Disconnected(fd)) => drop(fd),
    },
    None => drop(fd),
  }
}
