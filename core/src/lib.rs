//! The pure-Rust core of baileys-auth-native. Nothing here knows about napi:
//! the napi layer (`../src`) converts JavaScript values to and from
//! [`codec::Value`] and forwards calls here.

pub mod codec;
