// Picks the I/O layer (see `src/store/io/mod.rs`): `cfg(unix_io)` is the Unix
// one, with directory descriptors and the Linux fast paths; without it the
// portable one over `std::fs` is used. Windows and every non-Unix target get
// the portable layer; the `portable-io` feature forces it on Unix too, so that
// this machine's test suites prove it.
fn main() {
  println!("cargo::rustc-check-cfg=cfg(unix_io)");
  println!("cargo::rerun-if-changed=build.rs");
  let unix = std::env::var("CARGO_CFG_TARGET_FAMILY").is_ok_and(|f| f.split(',').any(|f| f == "unix"));
  let forced = std::env::var_os("CARGO_FEATURE_PORTABLE_IO").is_some();
  if unix && !forced {
    println!("cargo::rustc-cfg=unix_io");
  }
}
