//! Copying an auth state between any two backends, as bytes: no value is
//! decoded or encoded on the way, so what the destination stores is exactly
//! what the source held (folder → SQLite file → folder gives identical
//! files). One page of one type at a time, so memory stays bounded.

use crate::backend::{Backend, BackendError, BackendResult, ErrorKind, KeyWrite};

/// What one [`copy_page`] did.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct PageCopy {
  /// Keys written to the destination.
  pub copied: usize,
  /// The last id listed: pass it as `after` for the next page; `None` when
  /// the type is done.
  pub next: Option<String>,
}

/// Copies up to `limit` keys of `key_type` listed after `after`, in one
/// `apply` on the destination (one transaction where it has them). A key
/// listed but gone from the source before its read is skipped.
pub fn copy_page(from: &dyn Backend, to: &dyn Backend, key_type: &str, after: Option<&str>, limit: usize) -> BackendResult<PageCopy> {
  let limit = limit.max(1);
  let ids = from.list_ids(key_type, after, limit).wait()?;
  let next = if ids.len() < limit { None } else { ids.last().cloned() };
  let reads = from.read(key_type, ids.clone()).wait()?;
  let mut writes = Vec::with_capacity(ids.len());
  for (id, read) in ids.into_iter().zip(reads) {
    if let Some(bytes) = read? {
      writes.push(KeyWrite::put(key_type, id, bytes));
    }
  }
  let copied = writes.len();
  to.apply(writes).wait()?;
  Ok(PageCopy { copied, next })
}

/// What one [`compare_page`] found.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct PageCheck {
  /// Source keys compared.
  pub checked: usize,
  pub next: Option<String>,
  /// `(id, "missing" | "value")`: the destination lacks the key, or holds other bytes.
  pub differences: Vec<(String, &'static str)>,
}

/// Compares up to `limit` keys of `key_type` listed after `after` in the
/// source with the destination's, as bytes.
pub fn compare_page(from: &dyn Backend, to: &dyn Backend, key_type: &str, after: Option<&str>, limit: usize) -> BackendResult<PageCheck> {
  let limit = limit.max(1);
  let ids = from.list_ids(key_type, after, limit).wait()?;
  let next = if ids.len() < limit { None } else { ids.last().cloned() };
  let mine = from.read(key_type, ids.clone()).wait()?;
  let theirs = to.read(key_type, ids.clone()).wait()?;
  let mut out = PageCheck { checked: 0, next, differences: Vec::new() };
  for ((id, a), b) in ids.into_iter().zip(mine).zip(theirs) {
    let Some(a) = a? else { continue };
    out.checked += 1;
    match b? {
      None => out.differences.push((id, "missing")),
      Some(b) if b != a => out.differences.push((id, "value")),
      Some(_) => {}
    }
  }
  Ok(out)
}

/// Copies the credentials (do it last: a destination without credentials is
/// an unfinished copy, never credentials without their keys). With `verify`,
/// reads them back; `Ok(false)` when they differ.
pub fn copy_creds(from: &dyn Backend, to: &dyn Backend, verify: bool) -> BackendResult<bool> {
  let creds =
    from.load_creds().wait()?.ok_or_else(|| BackendError::new(ErrorKind::Invalid, "the source has no credentials: nothing to migrate"))?;
  to.save_creds(creds.clone()).wait()?;
  Ok(!verify || to.load_creds().wait()?.as_deref() == Some(&creds[..]))
}

#[cfg(test)]
mod tests {
  use super::*;
  use crate::backends::{folder, sqlite};
  use crate::store::OpenOptions;

  fn dir(tag: &str) -> std::path::PathBuf {
    let p = std::env::temp_dir().join(format!("ban-migrate-{tag}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&p);
    std::fs::create_dir_all(&p).unwrap();
    p
  }

  /// Every file of a folder but the lock, with its bytes.
  fn files(folder: &std::path::Path) -> Vec<(String, Vec<u8>)> {
    let mut out: Vec<(String, Vec<u8>)> = std::fs::read_dir(folder)
      .unwrap()
      .map(|e| e.unwrap())
      .map(|e| (e.file_name().into_string().unwrap(), std::fs::read(e.path()).unwrap()))
      .filter(|(n, _)| !n.starts_with('.'))
      .collect();
    out.sort();
    out
  }

  #[test]
  fn folder_to_file_to_folder_gives_identical_files() {
    let root = dir("round");
    let (a, b) = (root.join("a"), root.join("b"));
    let db = root.join("auth.db");
    let options = OpenOptions::default();
    let src = folder::open(a.to_str().unwrap(), options).unwrap();
    src.save_creds(br#"{"registered":false,"n":1}"#.to_vec()).wait().unwrap();
    let mut ops: Vec<KeyWrite> = (0..700).map(|i| KeyWrite::put("pre-key", i.to_string(), format!("{{\"k\":{i}}}").into_bytes())).collect();
    ops.push(KeyWrite::put("sender-key", "g@g.us::1::0", b"[1,2]".to_vec()));
    ops.push(KeyWrite::put("app-state-sync-key", "AAA/B=", b"{\"keyData\":1}".to_vec()));
    src.apply(ops).wait().unwrap();

    let file = sqlite::open(&db, &sqlite::SqliteOptions { fsync: false, ..Default::default() }).unwrap();
    let back = folder::open(b.to_str().unwrap(), options).unwrap();
    for (from, to) in [(&src as &dyn Backend, &file as &dyn Backend), (&file, &back)] {
      for t in ["pre-key", "sender-key", "app-state-sync-key"] {
        let mut after: Option<String> = None;
        loop {
          let page = copy_page(from, to, t, after.as_deref(), 256).unwrap();
          match page.next {
            Some(n) => after = Some(n),
            None => break,
          }
        }
        let check = compare_page(from, to, t, None, 10_000).unwrap();
        assert!(check.differences.is_empty());
      }
      assert!(copy_creds(from, to, true).unwrap());
    }
    assert_eq!(files(&a), files(&b));
    assert_eq!(files(&b).len(), 703);
    // A changed value and a missing key are found.
    back.apply(vec![KeyWrite::put("pre-key", "5", b"{}".to_vec()), KeyWrite::delete("pre-key", "6")]).wait().unwrap();
    let check = compare_page(&file, &back, "pre-key", None, 10_000).unwrap();
    assert_eq!(check.differences, vec![("5".to_owned(), "value"), ("6".to_owned(), "missing")]);
    for s in [&src as &dyn Backend, &file, &back] {
      s.close().wait().unwrap();
    }
    let _ = std::fs::remove_dir_all(&root);
  }

  #[test]
  fn a_source_without_credentials_is_refused() {
    let root = dir("nocreds");
    let src = folder::open(root.join("a").to_str().unwrap(), OpenOptions::default()).unwrap();
    let dst = folder::open(root.join("b").to_str().unwrap(), OpenOptions::default()).unwrap();
    assert_eq!(copy_creds(&src, &dst, true).unwrap_err().kind, ErrorKind::Invalid);
    let _ = std::fs::remove_dir_all(&root);
  }
}
