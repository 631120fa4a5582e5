//! Looking inside an auth folder without changing it (the CLI's `stats` and
//! `verify`): what each file is, how much there is of each key type, and
//! which files cannot be read back. Read-only, so it works beside a running
//! owner; `verify --fix` moves unreadable files aside (never deletes), and only
//! with the folder's lock.

use std::collections::BTreeMap;
use std::path::Path;
use std::time::UNIX_EPOCH;

use crate::codec::{parse_file, Flavor, ParseError, Value};
use crate::listing::{classify, Entry};
use crate::naming::CREDS_FILE;
use crate::store::error::StoreError;
use crate::store::files::MAX_FILE_SIZE;

#[derive(Debug, Default, Clone)]
pub struct TypeStats {
  pub files: u64,
  pub bytes: u64,
}

#[derive(Debug, Clone)]
pub struct FileTime {
  pub name: String,
  /// Modification time, Unix milliseconds.
  pub mtime_ms: f64,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Problem {
  /// Cut short: the text ends before the JSON does (empty files included).
  Torn,
  /// Not JSON (or not credentials, for `creds.json`).
  Corrupt,
  /// A `*.json` that no key type claims.
  Unknown,
  /// A name Baileys could not have written (`fixFileName` leaves no `:`).
  Misnamed,
  /// Larger than any key file (over 64 MiB).
  TooLarge,
  /// Not a regular file, or unreadable (permissions…).
  Unreadable,
  /// `creds.json` is missing or unreadable while Baileys' hardened helper's
  /// `creds.json.bak` is beside it: the store refuses to open until it is
  /// restored (the finding says how) or moved away.
  Backup,
}

impl Problem {
  pub fn as_str(&self) -> &'static str {
    match self {
      Problem::Torn => "torn",
      Problem::Corrupt => "corrupt",
      Problem::Unknown => "unknown",
      Problem::Misnamed => "misnamed",
      Problem::TooLarge => "too-large",
      Problem::Unreadable => "unreadable",
      Problem::Backup => "backup",
    }
  }
}

#[derive(Debug, Clone)]
pub struct Finding {
  pub name: String,
  pub problem: Problem,
  pub detail: String,
  /// Where `--fix` moved it.
  pub moved_to: Option<String>,
}

#[derive(Debug, Default, Clone)]
pub struct Report {
  pub has_creds: bool,
  pub registered: Option<bool>,
  /// `creds.me.id`, when paired.
  pub account_id: Option<String>,
  pub by_type: BTreeMap<String, TypeStats>,
  pub total_files: u64,
  pub total_bytes: u64,
  pub oldest: Option<FileTime>,
  pub newest: Option<FileTime>,
  pub stale_temps: Vec<String>,
  pub moved_aside: Vec<String>,
  /// Files checked by `verify` (parsed with the package's reader).
  pub verified: u64,
  pub findings: Vec<Finding>,
}

/// Moves an unreadable file aside; returns its new name.
pub type FixFile<'a> = &'a mut dyn FnMut(&str) -> Result<String, StoreError>;

pub struct InspectOptions {
  /// Parse every file (`verify`); otherwise only `creds.json` (`stats`).
  pub verify: bool,
  pub flavor: Flavor,
}

/// Inspects `folder`. `fix` is given the names of unreadable files to move
/// aside and returns where each went (the caller holds the lock).
pub fn inspect(folder: &Path, options: &InspectOptions, mut fix: Option<FixFile<'_>>) -> Result<Report, StoreError> {
  let mut report = Report::default();
  let entries = std::fs::read_dir(folder).map_err(|e| StoreError::io("scandir", folder, e))?;
  let mut names: Vec<(String, std::fs::Metadata)> = Vec::new();
  for entry in entries {
    let entry = entry.map_err(|e| StoreError::io("scandir", folder, e))?;
    let Ok(name) = entry.file_name().into_string() else { continue };
    let Ok(meta) = entry.metadata() else { continue };
    names.push((name, meta));
  }
  names.sort_by(|a, b| a.0.cmp(&b.0));
  let own = std::process::id();
  for (name, meta) in &names {
    let kind = classify(name);
    match &kind {
      Entry::Temp { pid } => {
        if *pid != own && !crate::lock::held_here(folder) {
          report.stale_temps.push(name.clone());
        }
        continue;
      }
      Entry::Corrupt => {
        report.moved_aside.push(name.clone());
        continue;
      }
      Entry::Lock | Entry::Other => continue,
      _ => {}
    }
    let mtime_ms = meta.modified().ok().and_then(|t| t.duration_since(UNIX_EPOCH).ok()).map(|d| d.as_secs_f64() * 1000.0).unwrap_or(0.0);
    report.total_files += 1;
    report.total_bytes += meta.len();
    let time = FileTime { name: name.clone(), mtime_ms };
    if report.oldest.as_ref().is_none_or(|o| mtime_ms < o.mtime_ms) {
      report.oldest = Some(time.clone());
    }
    if report.newest.as_ref().is_none_or(|n| mtime_ms > n.mtime_ms) {
      report.newest = Some(time);
    }
    match &kind {
      Entry::Creds => {
        report.has_creds = true;
        match read_and_parse(folder, name, meta, options.flavor) {
          Ok(Value::Object(o)) => {
            report.registered = match o.get("registered") {
              Some(Value::Bool(b)) => Some(*b),
              _ => Some(false),
            };
            report.account_id =
              o.get("me").and_then(Value::as_object).and_then(|me| me.get("id")).and_then(Value::as_js_string).map(|s| s.to_string_lossy());
          }
          Ok(_) => report.findings.push(Finding {
            name: name.clone(),
            problem: Problem::Corrupt,
            detail: "holds JSON that is not an object".into(),
            moved_to: None,
          }),
          Err(f) => report.findings.push(f.named(name)),
        }
        if options.verify {
          report.verified += 1;
        }
        continue;
      }
      Entry::Key { key_type, .. } => {
        let s = report.by_type.entry((*key_type).to_owned()).or_default();
        s.files += 1;
        s.bytes += meta.len();
      }
      Entry::UnknownJson => {
        let s = report.by_type.entry("(unknown)".to_owned()).or_default();
        s.files += 1;
        s.bytes += meta.len();
        if options.verify {
          report.findings.push(Finding {
            name: name.clone(),
            problem: Problem::Unknown,
            detail: "no key type claims this name".into(),
            moved_to: None,
          });
        }
      }
      _ => {}
    }
    if !options.verify {
      continue;
    }
    if name.contains(':') {
      report.findings.push(Finding {
        name: name.clone(),
        problem: Problem::Misnamed,
        detail: "Baileys' file names never hold ':'".into(),
        moved_to: None,
      });
    }
    report.verified += 1;
    if let Err(mut f) = read_and_parse(folder, name, meta, options.flavor).map(drop).map_err(|f| f.named(name)) {
      if matches!(f.problem, Problem::Torn | Problem::Corrupt | Problem::TooLarge) {
        if let Some(fix) = fix.as_mut() {
          f.moved_to = Some(fix(name)?);
        }
      }
      report.findings.push(f);
    }
  }
  creds_backup_finding(folder, &names, &mut report, options.flavor);
  Ok(report)
}

/// A `creds.json.bak` matters only when `creds.json` cannot be used: then it
/// is what the store's open points at (see `StoreError::Corrupt`).
fn creds_backup_finding(folder: &Path, names: &[(String, std::fs::Metadata)], report: &mut Report, flavor: Flavor) {
  const BACKUP: &str = "creds.json.bak";
  let Some((_, meta)) = names.iter().find(|(n, _)| n == BACKUP) else { return };
  let creds_state = if !report.has_creds {
    "creds.json is missing"
  } else if report.findings.iter().any(|f| f.name == CREDS_FILE) {
    "creds.json cannot be read"
  } else {
    return;
  };
  let detail = match read_and_parse(folder, BACKUP, meta, flavor) {
    Ok(Value::Object(_)) => {
      let mv = crate::store::error::MOVE_COMMAND;
      let restore = if report.has_creds {
        format!("{mv} creds.json creds.json.unreadable && {mv} creds.json.bak creds.json")
      } else {
        format!("{mv} creds.json.bak creds.json")
      };
      format!("{creds_state}, and this backup (kept by Baileys' hardened helper) holds credentials; the store will not open until it is restored: {restore}")
    }
    Ok(_) => format!("{creds_state}, and this backup holds JSON that is not an object"),
    Err(f) => format!("{creds_state}, and this backup cannot be read either ({}: {})", f.problem.as_str(), f.detail),
  };
  report.findings.push(Finding { name: BACKUP.to_owned(), problem: Problem::Backup, detail, moved_to: None });
}

struct Unnamed {
  problem: Problem,
  detail: String,
}

impl Unnamed {
  fn named(self, name: &str) -> Finding {
    Finding { name: name.to_owned(), problem: self.problem, detail: self.detail, moved_to: None }
  }
}

fn read_and_parse(folder: &Path, name: &str, meta: &std::fs::Metadata, flavor: Flavor) -> Result<Value, Unnamed> {
  if !meta.is_file() {
    return Err(Unnamed { problem: Problem::Unreadable, detail: "not a regular file".into() });
  }
  if meta.len() > MAX_FILE_SIZE {
    return Err(Unnamed { problem: Problem::TooLarge, detail: format!("{} bytes", meta.len()) });
  }
  let bytes = std::fs::read(folder.join(name)).map_err(|e| Unnamed { problem: Problem::Unreadable, detail: e.to_string() })?;
  parse_file(&bytes, flavor).map_err(|e| {
    let torn = matches!(e, ParseError::Syntax { message, .. } if message == "Unexpected end of JSON input");
    Unnamed { problem: if torn { Problem::Torn } else { Problem::Corrupt }, detail: e.to_string() }
  })
}

#[cfg(test)]
mod tests {
  use super::*;

  #[test]
  fn finds_what_is_wrong() {
    let dir = std::env::temp_dir().join(format!("inspect-test-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("creds.json"), r#"{"registered":true,"me":{"id":"123:4@s.whatsapp.net"}}"#).unwrap();
    std::fs::write(dir.join("pre-key-1.json"), r#"{"public":{"type":"Buffer","data":"AQ=="}}"#).unwrap();
    std::fs::write(dir.join("pre-key-2.json"), r#"{"public":{"type":"Buf"#).unwrap();
    std::fs::write(dir.join("session-x.json"), "garbage").unwrap();
    std::fs::write(dir.join("sender-key-memory-g.json"), "{}").unwrap();
    std::fs::write(dir.join("notes.json"), "{}").unwrap();
    std::fs::write(dir.join(".baileys-auth-tmp-999999999-1"), "x").unwrap();
    let r = inspect(&dir, &InspectOptions { verify: true, flavor: Flavor::Any }, None).unwrap();
    assert_eq!(r.registered, Some(true));
    assert_eq!(r.account_id.as_deref(), Some("123:4@s.whatsapp.net"));
    assert_eq!(r.by_type["pre-key"].files, 2);
    assert_eq!(r.by_type["sender-key-memory"].files, 1);
    assert!(!r.by_type.contains_key("sender-key"));
    assert_eq!(r.stale_temps, [".baileys-auth-tmp-999999999-1"]);
    let problems: Vec<(&str, &str)> = r.findings.iter().map(|f| (f.name.as_str(), f.problem.as_str())).collect();
    assert_eq!(problems, [("notes.json", "unknown"), ("pre-key-2.json", "torn"), ("session-x.json", "corrupt")]);
    std::fs::remove_dir_all(&dir).unwrap();
  }

  fn scratch(tag: &str) -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("inspect-test-{tag}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
  }

  #[test]
  fn hardened_helper_companions_are_not_keys() {
    let dir = scratch("companions");
    std::fs::write(dir.join("creds.json"), r#"{"registered":false}"#).unwrap();
    std::fs::write(dir.join("creds.json.bak"), r#"{"registered":false}"#).unwrap();
    std::fs::write(dir.join("creds.json.tmp"), r#"{"regis"#).unwrap();
    std::fs::write(dir.join("pre-key-1.json"), r#"{"a":1}"#).unwrap();
    std::fs::write(dir.join("pre-key-1.json.bak"), r#"{"a":0}"#).unwrap();
    std::fs::write(dir.join("pre-key-1.json.tmp"), r#"{"a":"#).unwrap();
    std::fs::write(dir.join("session-gone.json.bak"), r#"{"b":1}"#).unwrap();
    std::fs::write(dir.join("session-torn.json.tmp"), r#"{"b":"#).unwrap();
    let r = inspect(&dir, &InspectOptions { verify: true, flavor: Flavor::Any }, None).unwrap();
    assert_eq!(r.by_type.len(), 1, "{:?}", r.by_type);
    assert_eq!(r.by_type["pre-key"].files, 1);
    assert_eq!(r.by_type["pre-key"].bytes, 7);
    assert_eq!(r.total_files, 2, "creds.json and pre-key-1.json only");
    assert_eq!(r.verified, 2);
    // A backup beside a readable creds.json is the hardened helper's normal state.
    assert!(r.findings.is_empty(), "{:?}", r.findings);
    std::fs::remove_dir_all(&dir).unwrap();
  }

  #[test]
  fn a_creds_backup_beside_missing_or_unreadable_creds_is_a_finding() {
    let dir = scratch("creds-backup");
    std::fs::write(dir.join("creds.json.bak"), r#"{"registered":true}"#).unwrap();
    for verify in [false, true] {
      let r = inspect(&dir, &InspectOptions { verify, flavor: Flavor::Any }, None).unwrap();
      assert!(!r.has_creds);
      let f: Vec<_> = r.findings.iter().map(|f| (f.name.as_str(), f.problem.as_str())).collect();
      assert_eq!(f, [("creds.json.bak", "backup")]);
      assert!(r.findings[0].detail.contains("creds.json is missing"), "{}", r.findings[0].detail);
      assert!(r.findings[0].detail.contains("mv creds.json.bak creds.json"), "{}", r.findings[0].detail);
    }
    std::fs::write(dir.join("creds.json"), r#"{"registered":"#).unwrap();
    let r = inspect(&dir, &InspectOptions { verify: false, flavor: Flavor::Any }, None).unwrap();
    let f: Vec<_> = r.findings.iter().map(|f| (f.name.as_str(), f.problem.as_str())).collect();
    assert_eq!(f, [("creds.json", "torn"), ("creds.json.bak", "backup")]);
    assert!(r.findings[1].detail.contains("creds.json cannot be read"), "{}", r.findings[1].detail);
    assert!(r.findings[1].detail.contains("mv creds.json creds.json.unreadable && mv creds.json.bak creds.json"));
    std::fs::write(dir.join("creds.json.bak"), "garbage").unwrap();
    std::fs::remove_file(dir.join("creds.json")).unwrap();
    let r = inspect(&dir, &InspectOptions { verify: false, flavor: Flavor::Any }, None).unwrap();
    assert_eq!(r.findings.len(), 1);
    assert!(r.findings[0].detail.contains("cannot be read either (corrupt"), "{}", r.findings[0].detail);
    std::fs::remove_dir_all(&dir).unwrap();
  }
}
