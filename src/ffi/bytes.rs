//! Typed arrays and array buffers. JavaScript memory is never lent out:
//! bytes are copied out, or written in, right after the memory was looked up,
//! with no call in between that could run JavaScript (which could detach,
//! transfer or shrink the buffer and so free or move that memory).

use std::ptr;

use napi::sys;

use super::js::{Js, JsResult, Val};

impl Js {
  /// A typed array's kind, length in elements, data pointer and buffer, or
  /// `None` for any other value. Valid only until JavaScript runs again.
  fn typed_array_info(&self, v: Val) -> JsResult<Option<TypedArrayInfo>> {
    let mut is_ta = false;
    napi_call!(self, napi_is_typedarray(v, &mut is_ta))?;
    if !is_ta {
      return Ok(None);
    }
    let mut info = TypedArrayInfo { kind: 0, len: 0, data: ptr::null_mut(), buffer: ptr::null_mut(), offset: 0 };
    napi_call!(self, napi_get_typedarray_info(v, &mut info.kind, &mut info.len, &mut info.data, &mut info.buffer, &mut info.offset))?;
    Ok(Some(info))
  }

  /// The length of a `Uint8Array` (including `Buffer`) as it is now, or
  /// `None` for any other value. (`napi_is_buffer` cannot tell: it is true
  /// for every view.) A detached or shrunk-to-nothing view has length 0.
  pub fn uint8_len(&self, v: Val) -> JsResult<Option<usize>> {
    Ok(self.typed_array_info(v)?.filter(|i| i.kind == sys::TypedarrayType::uint8_array).map(|i| i.len))
  }

  /// A copy of the bytes a `Uint8Array` holds at this moment, or `None` for
  /// any other value.
  ///
  /// There is no borrowing variant on purpose: a borrowed slice would dangle
  /// as soon as JavaScript ran (a getter can detach, transfer or shrink the
  /// buffer, and V8 then frees or moves its memory). The copy is taken with
  /// no JavaScript call between looking the memory up and reading it.
  pub fn uint8_copy(&self, v: Val) -> JsResult<Option<Vec<u8>>> {
    let Some(info) = self.typed_array_info(v)? else { return Ok(None) };
    if info.kind != sys::TypedarrayType::uint8_array {
      return Ok(None);
    }
    if info.len == 0 || info.data.is_null() {
      return Ok(Some(Vec::new()));
    }
    let data = info.data as *const u8;
    if self.is_arraybuffer(info.buffer)? {
      // SAFETY: `typed_array_info` was just called and nothing since can run
      // JavaScript, so `data` points at `len` live bytes of an ArrayBuffer
      // that only this (JavaScript) thread can touch; they are copied at once.
      return Ok(Some(unsafe { std::slice::from_raw_parts(data, info.len) }.to_vec()));
    }
    // A SharedArrayBuffer: other threads may write it while we read. It can
    // only grow, never shrink or detach, so the bytes stay valid; reading them
    // as atomics makes the race defined (bytes may tear, as in JavaScript).
    let mut out = Vec::with_capacity(info.len);
    for i in 0..info.len {
      // SAFETY: `data + i` is within the `len` bytes looked up just above,
      // which stay allocated (see above); `AtomicU8` has the layout of `u8`
      // and no alignment requirement.
      let byte = unsafe { std::sync::atomic::AtomicU8::from_ptr(data.add(i) as *mut u8) };
      out.push(byte.load(std::sync::atomic::Ordering::Relaxed));
    }
    Ok(Some(out))
  }

  /// Whether `v` is an `ArrayBuffer` (a `SharedArrayBuffer` is not).
  fn is_arraybuffer(&self, v: Val) -> JsResult<bool> {
    let mut b = false;
    napi_call!(self, napi_is_arraybuffer(v, &mut b))?;
    Ok(b)
  }

  /// A new, zero-filled `ArrayBuffer` of `len` bytes.
  pub fn arraybuffer(&self, len: usize) -> JsResult<Val> {
    let mut data = ptr::null_mut();
    let mut out = ptr::null_mut();
    napi_call!(self, napi_create_arraybuffer(len, &mut data, &mut out))?;
    Ok(out)
  }

  /// Copies `bytes` into the `ArrayBuffer` `ab` at `offset`; `false` (and
  /// nothing written) when `ab` no longer has room there, for example because
  /// JavaScript detached it since it was made. Its memory is looked up afresh
  /// on every call, never remembered across a call into JavaScript.
  pub fn write_arraybuffer(&self, ab: Val, offset: usize, bytes: &[u8]) -> JsResult<bool> {
    if !self.is_arraybuffer(ab)? {
      return Ok(false);
    }
    let mut data = ptr::null_mut();
    let mut len = 0usize;
    napi_call!(self, napi_get_arraybuffer_info(ab, &mut data, &mut len))?;
    let fits = offset.checked_add(bytes.len()).is_some_and(|end| end <= len);
    if data.is_null() || !fits {
      return Ok(false);
    }
    // SAFETY: the buffer's memory was looked up just above with nothing in
    // between that can run JavaScript, it is not shared with other threads
    // (checked above), and `offset + bytes.len() <= len`.
    unsafe { ptr::copy_nonoverlapping(bytes.as_ptr(), (data as *mut u8).add(offset), bytes.len()) };
    Ok(true)
  }

  /// Whether `v` is a `Uint8Array` of exactly `len` bytes over `ab` at `offset`.
  pub fn is_uint8_view_of(&self, v: Val, ab: Val, offset: usize, len: usize) -> JsResult<bool> {
    match self.typed_array_info(v)? {
      Some(i) if i.kind == sys::TypedarrayType::uint8_array && i.len == len && i.offset == offset => self.strict_equals(i.buffer, ab),
      _ => Ok(false),
    }
  }

  pub fn buffer_copy(&self, bytes: &[u8]) -> JsResult<Val> {
    let mut out = ptr::null_mut();
    let mut data = ptr::null_mut();
    let src = if bytes.is_empty() { ptr::null() } else { bytes.as_ptr() as *const _ };
    napi_call!(self, napi_create_buffer_copy(bytes.len(), src, &mut data, &mut out))?;
    Ok(out)
  }
}

struct TypedArrayInfo {
  kind: sys::napi_typedarray_type,
  len: usize,
  data: *mut std::ffi::c_void,
  buffer: Val,
  offset: usize,
}
