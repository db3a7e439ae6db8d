//! The one error type of ferrolock, and its stable codes.
//!
//! Every binding maps [`Error`] once: the `code()` string is what JavaScript's
//! `err.code` and Python's `e.code` carry, `exit_code()` is what the
//! `ferrolock` command exits with. `tests/vectors/errors.json` holds the table
//! and every language's suite checks its mapping against it.

use std::time::Duration;

/// A `Result` whose error is ferrolock's [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// What went wrong. Messages name the offending argument; they never contain
/// an owner id or a password.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A bad argument: a name, namespace, ttl, timeout, holder or URL.
    #[error("invalid argument: {0}")]
    InvalidArgument(String),
    /// A malformed, truncated, oversized or foreign token.
    #[error("invalid token: {0}")]
    InvalidToken(String),
    /// The lock could not be had within the timeout.
    #[error("timed out after {}ms waiting for lock {name:?}", waited.as_millis())]
    Timeout {
        /// The lock's name.
        name: String,
        /// How long the caller waited.
        waited: Duration,
    },
    /// The lock was lost: it expired or was taken over (or force-released).
    #[error("lock {name:?} was lost: this owner no longer holds it (it expired, or was released with its token elsewhere, force-released or taken over)")]
    Lost {
        /// The lock's name.
        name: String,
    },
    /// The handle was already released or handed off.
    #[error("lock {name:?} is not held by this handle (released or handed off)")]
    NotHeld {
        /// The lock's name.
        name: String,
    },
    /// The backend cannot do this operation.
    #[error("the {backend} backend does not support {operation}")]
    Unsupported {
        /// The backend, e.g. `redis`.
        backend: &'static str,
        /// What was asked, e.g. `shared locks`, or the cargo feature to enable.
        operation: String,
    },
    /// The backend could not be reached or failed.
    #[error("{backend} backend unavailable: {message}")]
    Unavailable {
        /// The backend, e.g. `sqlite`.
        backend: &'static str,
        /// What failed (passwords redacted).
        message: String,
        /// The backend's own error (its `source()`), so that Python's
        /// `__cause__` and JavaScript's `cause` carry it.
        #[source]
        cause: Option<Cause>,
    },
    /// The provider was closed.
    #[error("the lock provider is closed")]
    Closed,
    /// A bug caught at a boundary.
    #[error("internal error: {0}")]
    Internal(String),
}

/// The backend's own error, as text with passwords redacted: the
/// [`source`](std::error::Error::source) of an [`Error::Unavailable`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cause(pub String);

impl std::fmt::Display for Cause {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for Cause {}

/// The kind of an [`Error`], without its details: one row of the error table.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ErrorKind {
    /// See [`Error::InvalidArgument`].
    InvalidArgument,
    /// See [`Error::InvalidToken`].
    InvalidToken,
    /// See [`Error::Timeout`].
    Timeout,
    /// See [`Error::Lost`].
    Lost,
    /// See [`Error::NotHeld`].
    NotHeld,
    /// See [`Error::Unsupported`].
    Unsupported,
    /// See [`Error::Unavailable`].
    Unavailable,
    /// See [`Error::Closed`].
    Closed,
    /// See [`Error::Internal`].
    Internal,
}

impl ErrorKind {
    /// Every kind, in the order of the error table.
    pub const ALL: [ErrorKind; 9] = [
        ErrorKind::InvalidArgument,
        ErrorKind::InvalidToken,
        ErrorKind::Timeout,
        ErrorKind::Lost,
        ErrorKind::NotHeld,
        ErrorKind::Unsupported,
        ErrorKind::Unavailable,
        ErrorKind::Closed,
        ErrorKind::Internal,
    ];

    /// The stable code: `INVALID_ARGUMENT`, `TIMEOUT`, `BACKEND_UNAVAILABLE`…
    pub fn code(self) -> &'static str {
        match self {
            ErrorKind::InvalidArgument => "INVALID_ARGUMENT",
            ErrorKind::InvalidToken => "INVALID_TOKEN",
            ErrorKind::Timeout => "TIMEOUT",
            ErrorKind::Lost => "LOST",
            ErrorKind::NotHeld => "NOT_HELD",
            ErrorKind::Unsupported => "UNSUPPORTED",
            ErrorKind::Unavailable => "BACKEND_UNAVAILABLE",
            ErrorKind::Closed => "CLOSED",
            ErrorKind::Internal => "INTERNAL",
        }
    }

    /// The `ferrolock` command's exit status (sysexits) for this kind.
    pub fn exit_code(self) -> i32 {
        match self {
            ErrorKind::InvalidArgument | ErrorKind::InvalidToken | ErrorKind::Unsupported => 64,
            ErrorKind::Timeout => 75,
            ErrorKind::Lost | ErrorKind::NotHeld => 1,
            ErrorKind::Unavailable => 69,
            ErrorKind::Closed | ErrorKind::Internal => 70,
        }
    }
}

impl Error {
    /// The kind of this error.
    pub fn kind(&self) -> ErrorKind {
        match self {
            Error::InvalidArgument(_) => ErrorKind::InvalidArgument,
            Error::InvalidToken(_) => ErrorKind::InvalidToken,
            Error::Timeout { .. } => ErrorKind::Timeout,
            Error::Lost { .. } => ErrorKind::Lost,
            Error::NotHeld { .. } => ErrorKind::NotHeld,
            Error::Unsupported { .. } => ErrorKind::Unsupported,
            Error::Unavailable { .. } => ErrorKind::Unavailable,
            Error::Closed => ErrorKind::Closed,
            Error::Internal(_) => ErrorKind::Internal,
        }
    }

    /// The stable code of this error's kind (see [`ErrorKind::code`]).
    pub fn code(&self) -> &'static str {
        self.kind().code()
    }

    /// The `ferrolock` command's exit status for this error.
    pub fn exit_code(&self) -> i32 {
        self.kind().exit_code()
    }

    pub(crate) fn invalid(msg: impl Into<String>) -> Self {
        Error::InvalidArgument(msg.into())
    }

    pub(crate) fn token(msg: impl Into<String>) -> Self {
        Error::InvalidToken(msg.into())
    }
}
