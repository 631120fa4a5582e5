//! Storage backends behind [`crate::backend::Backend`].
//!
//! - [`sqlite`]: one database file in the format of Baileys' own SQLite store.

pub mod sqlite;
