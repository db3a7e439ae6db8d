//! The one error mapping: a core [`ferrolock::Error`] becomes a JS error
//! whose message starts with its stable code in brackets
//! (`[TIMEOUT] timed out after…`). The TypeScript layer turns that prefix
//! into the `LockError` subclass of the error table, once, in `mapError`.

use napi::{Error, Status};

/// `ferrolock::Error` → JS error carrying the code, and the backend's own
/// error after a `\n[cause] ` line (the TypeScript layer makes it `cause`).
pub fn to_js(e: ferrolock::Error) -> Error {
    match std::error::Error::source(&e) {
        Some(cause) => coded(e.code(), &format!("{e}\n[cause] {cause}")),
        None => coded(e.code(), &e.to_string()),
    }
}

pub fn coded(code: &str, message: &str) -> Error {
    Error::new(Status::GenericFailure, format!("[{code}] {message}"))
}

/// A bad argument, named.
pub fn invalid(message: impl AsRef<str>) -> Error {
    coded(
        "INVALID_ARGUMENT",
        &format!("invalid argument: {}", message.as_ref()),
    )
}

/// A wait stopped by the caller's AbortSignal: the TypeScript layer rejects
/// with the signal's reason instead.
pub fn aborted() -> Error {
    coded("ABORTED", "the operation was aborted")
}

pub type Result<T> = napi::Result<T>;
