//! Everything that touches raw Node-API: the only place in this crate with
//! `unsafe` code. Each `unsafe` block carries a `// SAFETY:` comment (the
//! crate denies `clippy::undocumented_unsafe_blocks`).
//!
//! - [`js`]: checked wrappers over each Node-API call, and errors.
//! - [`bytes`]: typed arrays and array buffers, without ever lending out a
//!   borrow of JavaScript memory (see [`js::Js::uint8_copy`]).
//! - [`handles`]: handle scopes as RAII guards, references held across a
//!   call, and napi-rs interop.
//! - [`realm`]: the built-ins captured once per JavaScript thread.
//! - [`settle`]: promises settled from worker threads.

/// Calls a Node-API function with this environment and checks its status
/// (`napi_call!(js, napi_fn(args…))`, the env argument implied).
macro_rules! napi_call {
  ($js:expr, $f:ident($($arg:expr),* $(,)?)) => {{
    let js: &$crate::ffi::js::Js = $js;
    // SAFETY: `js.env` is the environment of the callback running on this
    // thread (the contract of `Js::from_raw`); every other argument is a
    // handle of that environment's current handle scope, or a pointer to a
    // live local or slice that outlives the call, as the function requires.
    js.check(unsafe { ::napi::sys::$f(js.env, $($arg),*) })
  }};
}

pub mod bytes;
pub mod handles;
pub mod js;
pub mod realm;
pub mod settle;
