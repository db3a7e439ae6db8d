//! Argument conversion for every entry point: C strings, pointers,
//! out-parameters and durations. A file of its own (the other bindings have
//! none) because C hands over raw pointers that each file checks the same way.

use core_lock::Error;
use std::ffi::{c_char, CStr, CString};
use std::time::Duration;

/// A required C string argument as UTF-8.
#[inline]
pub(crate) fn str_arg<'a>(ptr: *const c_char, what: &str) -> Result<&'a str, Error> {
    if ptr.is_null() {
        return Err(null(what));
    }
    // SAFETY: the caller passes a NUL-terminated string that outlives the call.
    let s = unsafe { CStr::from_ptr(ptr) };
    s.to_str().map_err(|e| {
        Error::InvalidArgument(format!(
            "{what} is not valid UTF-8 (at byte {})",
            e.valid_up_to()
        ))
    })
}

#[cold]
pub(crate) fn null(what: &str) -> Error {
    Error::InvalidArgument(format!("{what} is NULL"))
}

/// A required pointer argument.
#[inline]
pub(crate) fn ref_arg<'a, T>(ptr: *const T, what: &str) -> Result<&'a T, Error> {
    // SAFETY: the caller passes NULL or a live object of this library.
    unsafe { ptr.as_ref() }.ok_or_else(|| null(what))
}

/// A required out-parameter, set to `empty` first so that it is defined
/// whatever happens next.
#[inline]
pub(crate) fn out_arg<'a, T>(ptr: *mut T, what: &str, empty: T) -> Result<&'a mut T, Error> {
    // SAFETY: the caller passes NULL or a writable location.
    let out = unsafe { ptr.as_mut() }.ok_or_else(|| null(what))?;
    *out = empty;
    Ok(out)
}

/// A ttl in milliseconds (0 is refused by the engine, naming the ttl).
#[inline]
pub(crate) fn ttl(ms: u64) -> Duration {
    Duration::from_millis(ms)
}

/// A timeout in milliseconds; `UINT64_MAX` waits forever.
#[inline]
pub(crate) fn timeout(ms: u64) -> Duration {
    if ms == u64::MAX {
        Duration::MAX
    } else {
        Duration::from_millis(ms)
    }
}

/// A string for C, owned by the caller until its `*_free`. Interior NULs
/// (impossible in names and holders, which refuse control characters) are
/// dropped rather than cut the string short.
pub(crate) fn c_string(s: &str) -> *mut c_char {
    let mut bytes = s.as_bytes().to_vec();
    bytes.retain(|&b| b != 0);
    CString::new(bytes).unwrap_or_default().into_raw()
}

/// Free a string made by [`c_string`].
pub(crate) unsafe fn free_c_string(s: *mut c_char) {
    if !s.is_null() {
        // SAFETY: made by CString::into_raw in this library.
        drop(unsafe { CString::from_raw(s) });
    }
}
