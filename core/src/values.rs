//! What a read answers once its bytes are decoded, written once for every
//! backend: [`crate::keystore`] decodes what a backend's `read` gives, and a
//! backend that decodes where it reads (the folder, on each file's lane) uses
//! the same pieces.

use crate::codec::{app_state_key, Flavor, Value};

pub const APP_STATE_SYNC_KEY: &str = "app-state-sync-key";

/// One id's answer to `get`.
#[derive(Debug)]
pub struct ValueRead {
  /// `None` is `null`: missing, or unreadable (see `warning`).
  pub value: Option<Value>,
  /// Set when the stored value could not be read and was answered as `null`
  /// (or from a backup); for the logger. Never holds the value.
  pub warning: Option<String>,
}

impl ValueRead {
  pub const MISSING: ValueRead = ValueRead { value: None, warning: None };
}

/// How the values of one read are decoded.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Decode {
  /// Which Baileys line's reader revives the bytes.
  pub flavor: Flavor,
  /// `app-state-sync-key` values are converted as
  /// `AppStateSyncKeyData.fromObject` would (the caller gave no `proto`).
  pub plain_app_state: bool,
}

impl Decode {
  pub fn new(flavor: Flavor, key_type: &str, plain_app_state: bool) -> Decode {
    Decode { flavor, plain_app_state: plain_app_state && key_type == APP_STATE_SYNC_KEY }
  }

  /// A decoded value as `get` answers it (the app-state conversion when asked for).
  pub fn finish(self, value: Value) -> Result<Value, String> {
    if self.plain_app_state && value.is_truthy() {
      app_state_key::from_object(&value, self.flavor).map_err(|e| e.message.to_owned())
    } else {
      Ok(value)
    }
  }
}

/// The credentials an open found.
pub enum OpenedCreds {
  Loaded(Value),
  /// There were none: fresh credentials, not yet written (as Baileys).
  Fresh(Value),
}
