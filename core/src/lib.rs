//! # ferrolock
//!
//! One distributed lock engine with the same semantics in every runtime:
//! fencing tokens, waiters woken on release, fair FIFO handoff, automatic
//! renewal with a lost-lock notice, and locks that can be handed to another
//! process, in another language, as a token.
//!
//! ```
//! use ferrolock::{Locks, LockState};
//! use std::time::Duration;
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), ferrolock::Error> {
//! let locks = Locks::connect("memory://doc-example").await?; // or "sqlite://locks.db"
//! let lock = locks.lock("invoice:42").ttl(Duration::from_secs(30));
//!
//! let held = lock.acquire(Duration::from_secs(5)).await?;
//! assert_eq!(held.fence(), 1);
//! assert!(lock.try_acquire().await?.is_none()); // not reentrant: held is held
//!
//! // Hand it to another process (or language) as a token…
//! let token = held.into_token()?;
//! // …which resumes and releases it there.
//! let held = locks.resume(&token).await?;
//! assert!(held.release().await?);
//! assert_eq!(locks.state("invoice:42").await?, LockState::Free);
//!
//! // Or let `run` acquire, renew and release around a body.
//! let total = lock.run(Duration::from_secs(5), |guard| async move {
//!     assert_eq!(guard.fence(), 2);
//!     Ok::<_, ferrolock::Error>(42)
//! }).await?;
//! assert_eq!(total, 42);
//! # Ok(()) }
//! ```
//!
//! Backends are chosen by URL: `memory://`, `sqlite://PATH` (the embedded
//! default, cargo feature `sqlite`). Synchronous callers use
//! [`blocking`]. Every error is an [`Error`] with a stable code.
#![warn(missing_docs)]

mod backend;
pub mod blocking;
mod clock;
mod error;
mod events;
mod held;
mod inflight;
mod locks;
mod notices;
pub mod token;
mod url;
mod validate;
mod watchdog;

pub use backend::{Capabilities, Drive};
pub use error::{Error, ErrorKind, Result};
pub use events::{Event, EventKind, Events};
pub use held::{Guard, Held};
pub use locks::{holder_of, LockInfo, LockState, Locks, Lock, DEFAULT_TIMEOUT, DEFAULT_TTL};
pub use url::{default_url, redact};
pub use validate::{MAX_HOLDER_BYTES, MAX_NAMESPACE_BYTES, MAX_NAME_BYTES};

/// Exclusive or shared.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum Mode {
    /// One holder at a time.
    #[default]
    Exclusive,
    /// Many shared holders, and no exclusive one meanwhile.
    Shared,
}

impl Mode {
    /// `exclusive` or `shared`.
    pub fn as_str(self) -> &'static str {
        match self {
            Mode::Exclusive => "exclusive",
            Mode::Shared => "shared",
        }
    }
}

/// The kinds of backend, as tokens record them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum BackendKind {
    /// `memory://`
    Memory,
    /// `sqlite://`
    Sqlite,
    /// `redis://`, `rediss://`, `redis+cluster://`
    Redis,
    /// `postgres://`
    Postgres,
    /// `couchbase://`
    Couchbase,
}

impl BackendKind {
    /// The backend's name: `memory`, `sqlite`, `redis`…
    pub fn name(self) -> &'static str {
        match self {
            BackendKind::Memory => "memory",
            BackendKind::Sqlite => "sqlite",
            BackendKind::Redis => "redis",
            BackendKind::Postgres => "postgres",
            BackendKind::Couchbase => "couchbase",
        }
    }

    pub(crate) fn code(self) -> u8 {
        match self {
            BackendKind::Memory => 1,
            BackendKind::Sqlite => 2,
            BackendKind::Redis => 3,
            BackendKind::Postgres => 4,
            BackendKind::Couchbase => 5,
        }
    }

    pub(crate) fn from_code(code: u8) -> Option<Self> {
        Some(match code {
            1 => BackendKind::Memory,
            2 => BackendKind::Sqlite,
            3 => BackendKind::Redis,
            4 => BackendKind::Postgres,
            5 => BackendKind::Couchbase,
            _ => return None,
        })
    }
}
