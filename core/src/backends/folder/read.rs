//! Reading a folder: the credentials, a key (with what Baileys' hardened
//! helper leaves beside it), the listing, and the tidying after an open.
//! Values are parsed here, on the lane of their file, so the reads of one
//! call are decoded in parallel.

use std::collections::HashSet;
use std::path::PathBuf;
use std::sync::{Arc, OnceLock};

use crate::codec::{self, Flavor, ParseError, Value};
use crate::naming::CREDS_FILE;
use crate::store::error::{CredsBackup, CredsFault, StoreError};
use crate::store::files;
use crate::store::folder::Folder;
use crate::values::{Decode, ValueRead};

/// After an open, on a thread of its own once the credentials were handed
/// over (a big folder's `readdir` takes milliseconds and nothing should wait
/// for it), one listing of the folder that removes the temporary files killed
/// processes left (once per folder and process) and sees whether any key file
/// has a `.bak` of Baileys' hardened helper (once per holding of the lock:
/// see [`crate::store::folder::KeyBackups`]).
pub(super) fn after_open(folder: Arc<Folder>) {
  static CLEANED: OnceLock<parking_lot::Mutex<HashSet<PathBuf>>> = OnceLock::new();
  let clean = CLEANED.get_or_init(Default::default).lock().insert(folder.path.clone());
  let scan = folder.begin_key_backup_scan();
  if !clean && !scan {
    return;
  }
  let spawned = std::thread::Builder::new().name("baileys-auth-clean".into()).spawn({
    let folder = folder.clone();
    move || {
      let found = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| files::tidy(&folder, clean)));
      if scan {
        // Anything but a clean listing leaves backups possible.
        folder.end_key_backup_scan(found.map_or(true, |t| t.key_backups));
      }
    }
  });
  if spawned.is_err() && scan {
    folder.end_key_backup_scan(true);
  }
}

/// Every name in the folder (one `readdir`; names that are not UTF-8 cannot be
/// Baileys' files and are skipped).
pub(super) fn read_dir_names(folder: &Folder) -> Result<Vec<String>, StoreError> {
  let entries = std::fs::read_dir(&folder.path).map_err(|e| StoreError::io("scandir", &folder.path, e))?;
  let mut names = Vec::new();
  for entry in entries {
    let entry = entry.map_err(|e| StoreError::io("scandir", &folder.path, e))?;
    if let Ok(name) = entry.file_name().into_string() {
      names.push(name);
    }
  }
  Ok(names)
}

/// What one file gave.
enum Parsed {
  Missing,
  Value(Value),
  Unreadable(ParseError),
}

/// Reads and parses one file of the folder, on the worker's reused buffer.
/// A file larger than any we read is unreadable (`too_large` says so); other
/// I/O errors are the caller's.
fn read_parsed(folder: &Folder, name: &str, flavor: Flavor, too_large: &'static str) -> Result<Parsed, StoreError> {
  thread_local! {
    static BUF: std::cell::RefCell<Vec<u8>> = const { std::cell::RefCell::new(Vec::new()) };
  }
  BUF.with(|buf| {
    let mut buf = buf.borrow_mut();
    let parsed = match files::read(folder, name, &mut buf) {
      Ok(None) => Ok(Parsed::Missing),
      Ok(Some(())) => Ok(match codec::parse_file(&buf, flavor) {
        Ok(v) => Parsed::Value(v),
        Err(e) => Parsed::Unreadable(e),
      }),
      Err(StoreError::Io { source, .. }) if source.raw_os_error() == Some(crate::errno::EFBIG) => {
        Ok(Parsed::Unreadable(ParseError::Syntax { message: too_large, offset: 0 }))
      }
      Err(e) => Err(e),
    };
    // Do not keep a huge buffer alive on the worker.
    if buf.capacity() > 1 << 20 {
      *buf = Vec::new();
    }
    parsed
  })
}

const NOT_AN_OBJECT: ParseError = ParseError::Syntax { message: "the file holds JSON that is not an object", offset: 0 };
const CREDS_TOO_LARGE: &str = "the file is larger than any credentials file";

/// A credentials file as credentials: only a JSON object is.
fn read_creds_file(folder: &Folder, name: &str) -> Result<Parsed, StoreError> {
  Ok(match read_parsed(folder, name, folder.options.flavor, CREDS_TOO_LARGE)? {
    Parsed::Value(Value::Object(o)) => Parsed::Value(Value::Object(o)),
    Parsed::Value(_) => Parsed::Unreadable(NOT_AN_OBJECT),
    other => other,
  })
}

/// The bytes of `creds.json` (read once, checked to be credentials), or `None`
/// when there is none. A file that exists but is not credentials is an
/// error: never silently start a new session over it. Nor is a missing
/// `creds.json` "no credentials" when Baileys' hardened helper left its
/// backup `creds.json.bak` (it does when stopped between its two renames):
/// that is an error too, naming the backup and how to restore it. The backup
/// is never restored here, and nothing is written.
pub(super) fn read_creds(folder: &Folder) -> Result<Option<Vec<u8>>, StoreError> {
  let mut bytes = Vec::new();
  let file = match files::read(folder, CREDS_FILE, &mut bytes) {
    Ok(Some(())) => match codec::parse_file(&bytes, folder.options.flavor) {
      Ok(Value::Object(_)) => return Ok(Some(bytes)),
      Ok(_) => Some(NOT_AN_OBJECT),
      Err(cause) => Some(cause),
    },
    Ok(None) => None,
    Err(StoreError::Io { source, .. }) if source.raw_os_error() == Some(crate::errno::EFBIG) => {
      Some(ParseError::Syntax { message: CREDS_TOO_LARGE, offset: 0 })
    }
    Err(e) => return Err(e),
  };
  let backup = creds_backup(folder);
  if file.is_none() && matches!(backup, CredsBackup::Absent) {
    return Ok(None);
  }
  Err(StoreError::Corrupt { path: folder.file_path(CREDS_FILE), cause: CredsFault { file, backup } })
}

/// What `creds.json.bak` is. Any failure to read it (a system call too) makes
/// it unreadable: the error is about `creds.json` either way.
fn creds_backup(folder: &Folder) -> CredsBackup {
  let name = format!("{CREDS_FILE}{}", files::BACKUP_SUFFIX);
  let path = folder.file_path(&name);
  match read_creds_file(folder, &name) {
    Ok(Parsed::Missing) => CredsBackup::Absent,
    Ok(Parsed::Value(_)) => CredsBackup::Readable { path },
    Ok(Parsed::Unreadable(cause)) => CredsBackup::Unreadable { path, reason: cause.to_string() },
    Err(e) => CredsBackup::Unreadable { path, reason: e.to_string() },
  }
}

/// One key. When its file is missing or unreadable while the `.bak` Baileys'
/// hardened helper keeps beside it reads, the answer is the backup's value,
/// as that helper would give (its `.tmp` is never read: it may be torn). An
/// unparseable file is answered as missing and moved aside (the store heals:
/// Baileys makes the key again), a backup as well; one this Baileys line's
/// reviver refuses is answered as missing and kept (another line's reader may
/// take it).
pub(super) fn read_key(folder: &Folder, name: &str, decode: Decode) -> Result<ValueRead, StoreError> {
  const TOO_LARGE: &str = "the file is larger than any key file";
  let (value, warning) = match read_parsed(folder, name, decode.flavor, TOO_LARGE)? {
    Parsed::Value(v) => (Some(v), None),
    Parsed::Missing if !folder.may_have_key_backups() => (None, None),
    // The hardened helper's state after a crash between its two renames: the
    // backup is the key's value, read without a word (it is not damage).
    Parsed::Missing => match read_backup(folder, name, decode.flavor)? {
      Backup::Value(v, _) => (Some(v), None),
      Backup::None => (None, None),
      Backup::Unreadable(note) => (None, Some(format!("{name} is missing and its backup {note}; answered as missing"))),
    },
    Parsed::Unreadable(ParseError::Revive(e)) => {
      let what = format!("{name} cannot be revived by this Baileys line's reader ({e})");
      match read_backup(folder, name, decode.flavor)? {
        Backup::Value(v, bak) => (Some(v), Some(format!("{what}; answered from its backup {bak}, kept by Baileys' hardened helper"))),
        Backup::None => (None, Some(format!("{what}; answered as missing"))),
        Backup::Unreadable(note) => (None, Some(format!("{what}, and its backup {note}; answered as missing"))),
      }
    }
    Parsed::Unreadable(cause) => {
      // Unparseable: keep the bytes aside for inspection, and answer the
      // backup's value if there is one, else null so that Baileys re-creates
      // this key.
      let backup = read_backup(folder, name, decode.flavor)?;
      let moved = match files::move_aside(folder, name) {
        Ok(aside) => format!("moved aside to {aside}"),
        Err(e) => format!("moving it aside failed: {e}"),
      };
      match backup {
        Backup::Value(v, bak) => (
          Some(v),
          Some(format!("{name} is corrupt ({cause}); {moved}, and answered from its backup {bak}, kept by Baileys' hardened helper")),
        ),
        Backup::None => (None, Some(format!("{name} is corrupt ({cause}); {moved} and answered as missing"))),
        Backup::Unreadable(note) => (None, Some(format!("{name} is corrupt ({cause}); {moved}; its backup {note}; answered as missing"))),
      }
    }
  };
  match value {
    Some(value) => Ok(ValueRead { value: Some(decode.finish(value).map_err(|message| StoreError::Invalid { message })?), warning }),
    None => Ok(ValueRead { value: None, warning }),
  }
}

/// What a key's `.bak` gave.
enum Backup {
  None,
  /// Its value, and the backup's name.
  Value(Value, String),
  /// It cannot be read; the text says so and what became of it
  /// ("<name> is corrupt (...); moved aside to ...").
  Unreadable(String),
}

/// Reads `<name>.bak`. An unparseable backup is moved aside as an unparseable
/// key file is; a system call's failure is the call's error, as for the key
/// file itself.
fn read_backup(folder: &Folder, name: &str, flavor: Flavor) -> Result<Backup, StoreError> {
  let Some(bak) = files::backup_name(name) else { return Ok(Backup::None) };
  Ok(match read_parsed(folder, &bak, flavor, "the file is larger than any key file")? {
    Parsed::Missing => Backup::None,
    Parsed::Value(v) => Backup::Value(v, bak),
    Parsed::Unreadable(ParseError::Revive(e)) => Backup::Unreadable(format!("{bak} cannot be revived by this Baileys line's reader ({e})")),
    Parsed::Unreadable(cause) => match files::move_aside(folder, &bak) {
      Ok(aside) => Backup::Unreadable(format!("{bak} is corrupt ({cause}); moved aside to {aside}")),
      Err(e) => Backup::Unreadable(format!("{bak} is corrupt ({cause}); moving it aside failed: {e}")),
    },
  })
}

/// The value of an id whose file is too large to be a key file: empty bytes,
/// which no reader decodes, so the key is answered as missing and its file
/// moved aside (see `quarantine`), as the folder store always did.
const TOO_LARGE_BYTES: Vec<u8> = Vec::new();

/// A key file's bytes, or, when it is missing, those of the `<name>.bak`
/// Baileys' hardened helper keeps (it leaves only that when stopped between
/// its two renames, and reads it then, as `read_key` does).
pub(super) fn read_key_bytes(folder: &Folder, name: &str) -> Result<Option<Vec<u8>>, StoreError> {
  match read_bytes(folder, name)? {
    Some(b) => Ok(Some(b)),
    None => match files::backup_name(name) {
      Some(bak) => read_bytes(folder, &bak),
      None => Ok(None),
    },
  }
}

/// The bytes of a file (`None` when missing).
pub(super) fn read_bytes(folder: &Folder, name: &str) -> Result<Option<Vec<u8>>, StoreError> {
  let mut buf = Vec::new();
  match files::read(folder, name, &mut buf) {
    Ok(None) => Ok(None),
    Ok(Some(())) => Ok(Some(buf)),
    Err(StoreError::Io { source, .. }) if source.raw_os_error() == Some(crate::errno::EFBIG) => Ok(Some(TOO_LARGE_BYTES)),
    Err(e) => Err(e),
  }
}
