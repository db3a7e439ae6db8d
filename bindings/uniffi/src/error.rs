//! One mapping from the core's `Error` to `FfiError`, whose variants are the
//! kinds of tests/vectors/errors.json, each with its stable `code`. The
//! Kotlin and Swift layers turn it into their `LockException` / `LockError`.

use ferrolock::{Error, ErrorKind};

/// A ferrolock error: one variant per kind of the error table, each with
/// its code (`INVALID_ARGUMENT`…), its message (which names what is wrong
/// and never shows a password) and, for an unavailable backend, the
/// backend's own error as `backend_cause`.
#[derive(Debug, thiserror::Error, uniffi::Error)]
pub enum FfiError {
    #[error("{detail}")]
    InvalidArgument {
        code: String,
        detail: String,
        backend_cause: Option<String>,
    },
    #[error("{detail}")]
    InvalidToken {
        code: String,
        detail: String,
        backend_cause: Option<String>,
    },
    #[error("{detail}")]
    Timeout {
        code: String,
        detail: String,
        backend_cause: Option<String>,
    },
    #[error("{detail}")]
    Lost {
        code: String,
        detail: String,
        backend_cause: Option<String>,
    },
    #[error("{detail}")]
    NotHeld {
        code: String,
        detail: String,
        backend_cause: Option<String>,
    },
    #[error("{detail}")]
    Unsupported {
        code: String,
        detail: String,
        backend_cause: Option<String>,
    },
    #[error("{detail}")]
    Unavailable {
        code: String,
        detail: String,
        backend_cause: Option<String>,
    },
    #[error("{detail}")]
    Closed {
        code: String,
        detail: String,
        backend_cause: Option<String>,
    },
    #[error("{detail}")]
    Internal {
        code: String,
        detail: String,
        backend_cause: Option<String>,
    },
}

impl From<Error> for FfiError {
    fn from(e: Error) -> FfiError {
        let kind = e.kind();
        let code = kind.code().to_owned();
        let detail = e.to_string();
        let cause = std::error::Error::source(&e).map(|c| c.to_string());
        match kind {
            ErrorKind::InvalidArgument => FfiError::InvalidArgument {
                code,
                detail,
                backend_cause: cause,
            },
            ErrorKind::InvalidToken => FfiError::InvalidToken {
                code,
                detail,
                backend_cause: cause,
            },
            ErrorKind::Timeout => FfiError::Timeout {
                code,
                detail,
                backend_cause: cause,
            },
            ErrorKind::Lost => FfiError::Lost {
                code,
                detail,
                backend_cause: cause,
            },
            ErrorKind::NotHeld => FfiError::NotHeld {
                code,
                detail,
                backend_cause: cause,
            },
            ErrorKind::Unsupported => FfiError::Unsupported {
                code,
                detail,
                backend_cause: cause,
            },
            ErrorKind::Unavailable => FfiError::Unavailable {
                code,
                detail,
                backend_cause: cause,
            },
            ErrorKind::Closed => FfiError::Closed {
                code,
                detail,
                backend_cause: cause,
            },
            ErrorKind::Internal => FfiError::Internal {
                code,
                detail,
                backend_cause: cause,
            },
        }
    }
}

/// A result of the glue.
pub type Result<T, E = FfiError> = std::result::Result<T, E>;

/// An `InvalidArgument` raised by the glue itself (a negative duration).
pub fn invalid(message: String) -> FfiError {
    Error::InvalidArgument(message).into()
}

/// An `Internal` error of the glue (a task that panicked).
pub fn internal(message: String) -> FfiError {
    Error::Internal(message).into()
}

/// One row of the error table as this library maps it: the kind (the
/// variant's name) and its code. The suites check it against errors.json.
#[derive(uniffi::Record)]
pub struct ErrorCode {
    pub kind: String,
    pub code: String,
}

/// Every kind of error and its code, in the order of the error table.
#[uniffi::export]
pub fn error_codes() -> Vec<ErrorCode> {
    ErrorKind::ALL
        .iter()
        .map(|k| ErrorCode {
            kind: format!("{k:?}"),
            code: k.code().to_owned(),
        })
        .collect()
}
