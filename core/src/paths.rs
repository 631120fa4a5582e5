//! Canonical paths, as users read them.
//!
//! `std::fs::canonicalize` resolves symlinks and `..` the same way on every
//! platform, but on Windows it returns the verbatim form `\\?\C:\Users\…`,
//! which then shows in every error message, `err.path` and CLI line. Node
//! shows `C:\Users\…`. So the verbatim prefix is taken off again where the
//! plain form means the same file: a drive path (`\\?\C:\…` → `C:\…`) or a
//! share (`\\?\UNC\server\share\…` → `\\server\share\…`), and only when it is
//! short enough for the plain form (260 characters). Elsewhere, and on Unix,
//! the path is left as `canonicalize` gives it.

use std::io;
use std::path::{Path, PathBuf};

/// `std::fs::canonicalize`, without Windows' verbatim prefix where it is not needed.
pub fn canonicalize(path: &Path) -> io::Result<PathBuf> {
  std::fs::canonicalize(path).map(|p| plain_form(&p.to_string_lossy()).map(PathBuf::from).unwrap_or(p))
}

/// The plain form of a Windows verbatim path, or `None` to keep it as it is.
/// Compiled on every platform, so that this machine's tests check it (a Unix
/// canonical path starts with `/`, so it never has the prefix).
fn plain_form(verbatim: &str) -> Option<String> {
  const MAX_PATH: usize = 260;
  let plain = if let Some(rest) = verbatim.strip_prefix(r"\\?\UNC\") {
    format!(r"\\{rest}")
  } else {
    let rest = verbatim.strip_prefix(r"\\?\")?;
    let drive = rest.as_bytes();
    if !(drive.len() >= 3 && drive[0].is_ascii_alphabetic() && drive[1] == b':' && drive[2] == b'\\') {
      return None;
    }
    rest.to_owned()
  };
  // A component the plain form would read differently (trailing dots or
  // spaces are dropped there; `.`/`..` are resolved; reserved device names).
  let odd = plain
    .split('\\')
    .skip(1)
    .any(|c| c.ends_with('.') || c.ends_with(' ') || crate::naming::windows_rule(c).is_some_and(|why| why.contains("device")));
  (plain.len() < MAX_PATH && !odd).then_some(plain)
}

#[cfg(test)]
mod tests {
  use super::plain_form;

  #[test]
  fn windows_verbatim_paths_lose_their_prefix_where_it_changes_nothing() {
    assert_eq!(plain_form(r"\\?\C:\Users\bot\auth").as_deref(), Some(r"C:\Users\bot\auth"));
    assert_eq!(plain_form(r"\\?\UNC\server\share\auth").as_deref(), Some(r"\\server\share\auth"));
    assert_eq!(plain_form(r"\\?\C:\Users\bot\auth."), None, "a trailing dot means another file in the plain form");
    assert_eq!(plain_form(r"\\?\C:\Users\bot\CON"), None);
    assert_eq!(plain_form(&format!(r"\\?\C:\{}", "a".repeat(300))), None, "too long for the plain form");
    assert_eq!(plain_form(r"\\?\Volume{1234}\auth"), None);
    assert_eq!(plain_form("/home/bot/auth"), None);
  }
}
