//! Tokens: decoding their public fields, and the strings this library
//! hands out.

use crate::convert::{c_string, free_c_string, out_arg, str_arg};
use crate::error::{boundary, boundary_value, FerrolockStatus};
use core_lock::Mode;
use std::ffi::c_char;
use std::ptr;

/// The public fields of a token, as `ferrolock_decode_token` reads them.
/// The owner id (the proof of ownership) is deliberately absent.
#[repr(C)]
pub struct FerrolockTokenInfo {
    /// The kind of backend that issued the lock: "memory", "sqlite",
    /// "redis", "postgres", "couchbase" (a static string).
    pub backend: *const c_char,
    /// The provider namespace (`namespace_` in C: `namespace` is a C++
    /// keyword).
    pub namespace: *mut c_char,
    /// The lock name.
    pub name: *mut c_char,
    /// The fence of the acquisition.
    pub fence: u64,
    /// Whether the lock is held shared rather than exclusive.
    pub shared: bool,
    /// When the lease expires unless renewed, in unix milliseconds (as of
    /// the token's writing).
    pub expires_at_ms: u64,
    /// The ttl the lock is renewed with, in milliseconds.
    pub ttl_ms: u64,
    /// The public holder label.
    pub holder: *mut c_char,
}

fn backend_name(kind: core_lock::BackendKind) -> *const c_char {
    let name: &'static str = match kind.name() {
        "memory" => "memory\0",
        "sqlite" => "sqlite\0",
        "redis" => "redis\0",
        "postgres" => "postgres\0",
        "couchbase" => "couchbase\0",
        _ => "unknown\0",
    };
    name.as_ptr().cast()
}

/// Decode a token's public fields, checking its format (no I/O, no
/// provider needed). `*info` is to be freed with `ferrolock_token_info_free`.
/// `FERROLOCK_INVALID_TOKEN` for a malformed, truncated, oversized or
/// unknown-version token.
///
/// # Safety
/// `token` is NULL or a NUL-terminated string; `info` NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn ferrolock_decode_token(
    token: *const c_char,
    info: *mut *mut FerrolockTokenInfo,
) -> FerrolockStatus {
    boundary("ferrolock_decode_token", || {
        let out = out_arg(info, "info", ptr::null_mut())?;
        let token = str_arg(token, "token")?;
        let t = core_lock::token::decode(token)?;
        *out = Box::into_raw(Box::new(FerrolockTokenInfo {
            backend: backend_name(t.backend),
            namespace: c_string(&t.namespace),
            name: c_string(&t.name),
            fence: t.fence,
            shared: t.mode == Mode::Shared,
            expires_at_ms: t.expires_at_ms,
            ttl_ms: t.ttl_ms,
            holder: c_string(&t.holder),
        }));
        Ok(())
    })
}

/// Free what `ferrolock_decode_token` made. NULL is a no-op.
///
/// # Safety
/// `info` is NULL or from `ferrolock_decode_token`, not yet freed.
#[no_mangle]
pub unsafe extern "C" fn ferrolock_token_info_free(info: *mut FerrolockTokenInfo) {
    if info.is_null() {
        return;
    }
    boundary_value("ferrolock_token_info_free", (), || {
        // SAFETY: made by Box::into_raw in ferrolock_decode_token; its
        // strings by c_string.
        let info = unsafe { Box::from_raw(info) };
        unsafe {
            free_c_string(info.namespace);
            free_c_string(info.name);
            free_c_string(info.holder);
        }
    })
}

/// Free a string this library returned (a token from
/// `ferrolock_into_token`). NULL is a no-op.
///
/// # Safety
/// `s` is NULL or a string from this library, not yet freed.
#[no_mangle]
pub unsafe extern "C" fn ferrolock_string_free(s: *mut c_char) {
    boundary_value("ferrolock_string_free", (), || unsafe { free_c_string(s) })
}
