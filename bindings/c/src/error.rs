//! Statuses, the thread-local last-error message, and the boundary every
//! entry point crosses (null checks, panics caught, errors recorded).

use core_lock::{Error, ErrorKind};
use std::cell::RefCell;
use std::ffi::{c_char, c_int, CString};
use std::panic::{catch_unwind, AssertUnwindSafe};

/// What a call returned: `FERROLOCK_OK` (0), or one row of the error table
/// (DESIGN.md "Errors: one table, every language"). The message of the
/// latest error on the calling thread is `ferrolock_last_error()`.
///
/// The values follow the order of the core's `ErrorKind::ALL` (checked by a
/// test); compare with the names, never with numbers.
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FerrolockStatus {
    /// Success.
    FerrolockOk = 0,
    /// A bad argument: a NULL pointer, invalid UTF-8, a bad name, ttl,
    /// timeout, holder, option or URL. The message names it.
    FerrolockInvalidArgument,
    /// A malformed, truncated, oversized or foreign token.
    FerrolockInvalidToken,
    /// The lock could not be had within the timeout.
    FerrolockTimeout,
    /// The lock was lost: it expired or was taken over (or force-released).
    FerrolockLost,
    /// The handle was already released or handed off.
    FerrolockNotHeld,
    /// The backend cannot do this (e.g. shared locks), or it is not built in.
    FerrolockUnsupported,
    /// The backend could not be reached or failed.
    FerrolockUnavailable,
    /// The provider was closed (or belongs to the parent of a fork()).
    FerrolockClosed,
    /// A bug caught at the boundary (a Rust panic); please report it.
    FerrolockInternal,
}

impl From<ErrorKind> for FerrolockStatus {
    fn from(kind: ErrorKind) -> Self {
        // Exhaustive on purpose: a new row in the error table does not
        // compile here until it has its status.
        match kind {
            ErrorKind::InvalidArgument => FerrolockStatus::FerrolockInvalidArgument,
            ErrorKind::InvalidToken => FerrolockStatus::FerrolockInvalidToken,
            ErrorKind::Timeout => FerrolockStatus::FerrolockTimeout,
            ErrorKind::Lost => FerrolockStatus::FerrolockLost,
            ErrorKind::NotHeld => FerrolockStatus::FerrolockNotHeld,
            ErrorKind::Unsupported => FerrolockStatus::FerrolockUnsupported,
            ErrorKind::Unavailable => FerrolockStatus::FerrolockUnavailable,
            ErrorKind::Closed => FerrolockStatus::FerrolockClosed,
            ErrorKind::Internal => FerrolockStatus::FerrolockInternal,
        }
    }
}

impl FerrolockStatus {
    /// Every status but OK, in the order of `ErrorKind::ALL`.
    const ERRORS: [FerrolockStatus; 9] = [
        FerrolockStatus::FerrolockInvalidArgument,
        FerrolockStatus::FerrolockInvalidToken,
        FerrolockStatus::FerrolockTimeout,
        FerrolockStatus::FerrolockLost,
        FerrolockStatus::FerrolockNotHeld,
        FerrolockStatus::FerrolockUnsupported,
        FerrolockStatus::FerrolockUnavailable,
        FerrolockStatus::FerrolockClosed,
        FerrolockStatus::FerrolockInternal,
    ];

    fn kind(self) -> Option<ErrorKind> {
        let i = FerrolockStatus::ERRORS.iter().position(|&s| s == self)?;
        Some(ErrorKind::ALL[i])
    }
}

thread_local! {
    static LAST_ERROR: RefCell<CString> = RefCell::new(CString::default());
}

/// Record `err` as this thread's last error and return its status.
#[cold]
pub(crate) fn record(function: &str, err: Error) -> FerrolockStatus {
    let status = FerrolockStatus::from(err.kind());
    let mut msg = format!("{function}: {err}").into_bytes();
    msg.retain(|&b| b != 0);
    let msg = CString::new(msg).unwrap_or_default();
    // During thread teardown the slot may be gone: the status still stands.
    let _ = LAST_ERROR.try_with(|slot| *slot.borrow_mut() = msg);
    status
}

/// Record `message` as this thread's last error of `function`, returning
/// `status`: for an outcome that is no error of the core (no event came).
#[cold]
pub(crate) fn record_status(function: &str, status: FerrolockStatus, message: &str) -> FerrolockStatus {
    let mut msg = format!("{function}: {message}").into_bytes();
    msg.retain(|&b| b != 0);
    let msg = CString::new(msg).unwrap_or_default();
    let _ = LAST_ERROR.try_with(|slot| *slot.borrow_mut() = msg);
    status
}

/// Run the body of entry point `function`: its error becomes a status and
/// this thread's last error, a panic becomes `FERROLOCK_INTERNAL`.
#[inline(always)]
pub(crate) fn boundary(
    function: &str,
    body: impl FnOnce() -> Result<(), Error>,
) -> FerrolockStatus {
    match catch_unwind(AssertUnwindSafe(body)) {
        Ok(Ok(())) => FerrolockStatus::FerrolockOk,
        Ok(Err(e)) => record(function, e),
        Err(panic) => record(function, Error::Internal(panic_message(&panic))),
    }
}

/// Like [`boundary`] for entry points that return no status: a panic is
/// recorded and `fallback` returned.
#[inline(always)]
pub(crate) fn boundary_value<T>(function: &str, fallback: T, body: impl FnOnce() -> T) -> T {
    match catch_unwind(AssertUnwindSafe(body)) {
        Ok(v) => v,
        Err(panic) => {
            record(function, Error::Internal(panic_message(&panic)));
            fallback
        }
    }
}

#[cold]
fn panic_message(panic: &Box<dyn std::any::Any + Send>) -> String {
    let what = panic
        .downcast_ref::<&str>()
        .map(|s| s.to_string())
        .or_else(|| panic.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "a panic".to_owned());
    format!("caught at the C boundary: {what}")
}

/// The message of the latest failed call on the calling thread, or "" if
/// none failed yet. Successful calls leave it as it was (like `errno`). The
/// pointer stays valid until the next failing ferrolock call on this
/// thread, or until the thread exits; copy it to keep it. Never NULL; never contains a password or an
/// owner id.
#[no_mangle]
pub extern "C" fn ferrolock_last_error() -> *const c_char {
    static EMPTY: &[u8] = b"\0";
    LAST_ERROR
        .try_with(|slot| slot.borrow().as_ptr())
        .unwrap_or(EMPTY.as_ptr().cast())
}

/// The stable code of a status, as every language spells it: "OK",
/// "INVALID_ARGUMENT", "TIMEOUT", "BACKEND_UNAVAILABLE"… (the `code` column
/// of the error table); "UNKNOWN" for a value that is no status. A static
/// string: do not free it.
#[no_mangle]
pub extern "C" fn ferrolock_status_code(status: c_int) -> *const c_char {
    fn code(status: c_int) -> &'static str {
        if status == FerrolockStatus::FerrolockOk as c_int {
            return "OK\0";
        }
        let Some(s) = FerrolockStatus::ERRORS
            .iter()
            .find(|&&s| s as c_int == status)
        else {
            return "UNKNOWN\0";
        };
        match s.kind() {
            Some(ErrorKind::InvalidArgument) => "INVALID_ARGUMENT\0",
            Some(ErrorKind::InvalidToken) => "INVALID_TOKEN\0",
            Some(ErrorKind::Timeout) => "TIMEOUT\0",
            Some(ErrorKind::Lost) => "LOST\0",
            Some(ErrorKind::NotHeld) => "NOT_HELD\0",
            Some(ErrorKind::Unsupported) => "UNSUPPORTED\0",
            Some(ErrorKind::Unavailable) => "BACKEND_UNAVAILABLE\0",
            Some(ErrorKind::Closed) => "CLOSED\0",
            Some(ErrorKind::Internal) => "INTERNAL\0",
            None => "UNKNOWN\0",
        }
    }
    code(status).as_ptr().cast()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::ffi::CStr;

    #[test]
    fn statuses_follow_the_error_table() {
        let table: serde_json::Value =
            serde_json::from_str(include_str!("../../../tests/vectors/errors.json")).unwrap();
        let rows = table["errors"].as_array().unwrap();
        assert_eq!(rows.len(), ErrorKind::ALL.len());
        for (i, (row, kind)) in rows.iter().zip(ErrorKind::ALL).enumerate() {
            let status = FerrolockStatus::from(kind);
            assert_eq!(status as usize, i + 1, "{kind:?}");
            assert_eq!(status, FerrolockStatus::ERRORS[i]);
            assert_eq!(row["code"], kind.code());
            let code = unsafe { CStr::from_ptr(ferrolock_status_code(status as c_int)) };
            assert_eq!(code.to_str().unwrap(), kind.code());
            // The C name is FERROLOCK_ + the variant in SCREAMING_SNAKE_CASE.
            let variant = format!("{status:?}");
            let mut c_name = String::new();
            for (j, ch) in variant.chars().enumerate() {
                if ch.is_uppercase() && j > 0 {
                    c_name.push('_');
                }
                c_name.push(ch.to_ascii_uppercase());
            }
            assert_eq!(row["c_status"], c_name.as_str());
        }
        assert_eq!(FerrolockStatus::FerrolockOk as usize, 0);
    }

    #[test]
    fn a_panic_becomes_internal_with_a_message() {
        let status = boundary("ferrolock_test", || panic!("boom {}", 42));
        assert_eq!(status, FerrolockStatus::FerrolockInternal);
        let msg = unsafe { CStr::from_ptr(ferrolock_last_error()) }
            .to_str()
            .unwrap()
            .to_owned();
        assert!(msg.starts_with("ferrolock_test: internal error: "), "{msg}");
        assert!(msg.contains("boom 42"), "{msg}");
        assert_eq!(
            boundary_value("ferrolock_test", 7u64, || panic!("static")),
            7
        );
        let msg = unsafe { CStr::from_ptr(ferrolock_last_error()) }
            .to_str()
            .unwrap()
            .to_owned();
        assert!(msg.contains("static"), "{msg}");
        // An error is recorded with its status; success leaves the message.
        let status = boundary("ferrolock_test", || {
            Err(Error::Timeout {
                name: "n".into(),
                waited: Default::default(),
            })
        });
        assert_eq!(status, FerrolockStatus::FerrolockTimeout);
        assert_eq!(
            boundary("ferrolock_test", || Ok(())),
            FerrolockStatus::FerrolockOk
        );
        let msg = unsafe { CStr::from_ptr(ferrolock_last_error()) }
            .to_str()
            .unwrap()
            .to_owned();
        assert!(msg.contains("timed out"), "{msg}");
    }
}
