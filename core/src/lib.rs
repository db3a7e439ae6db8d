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
#[cfg(not(all(target_arch = "wasm32", target_os = "unknown")))]
pub mod blocking;
mod clock;
pub mod duration;
mod error;
mod events;
mod fork;
mod held;
mod inflight;
mod kinds;
mod lock;
mod locks;
mod notices;
mod provider;
mod records;
mod rt;
pub mod token;
mod url;
mod validate;
mod watchdog;

pub use backend::{Capabilities, Drive};
pub use error::{Cause, Error, ErrorKind, Result};
pub use events::{Event, EventKind, Events};
pub use held::{Ended, Guard, Held};
pub use kinds::{BackendKind, Mode};
pub use lock::{Lock, LockOptions, DEFAULT_TIMEOUT, DEFAULT_TTL};
pub use locks::Locks;
pub use provider::holder_of;
pub use records::{LockInfo, LockState};

/// What the bindings to other languages share, kept out of the everyday
/// Rust API (cargo feature `binding`).
#[cfg(feature = "binding")]
pub mod binding {
    /// How many `fork()`s separate this process from the one that first
    /// asked: a handle made in an older generation belongs to the parent.
    pub fn fork_generation() -> u64 {
        crate::fork::fork_generation()
    }
    /// Register the process's fork handlers now (as a binding loads).
    pub fn watch_forks() {
        crate::fork::watch()
    }
}
/// Redis through a client the embedder already has (cargo feature
/// `redis-runner`): register a [`Runner`](runner::Runner), connect with the
/// URL [`register`](runner::register) returns.
#[cfg(feature = "redis-runner")]
pub mod runner {
    pub use crate::backend::runner::{register, OnMessage, Reply, Runner, RunnerFuture};
}
/// The host of a WebAssembly build: its timers, clocks and event loop.
#[cfg(all(target_arch = "wasm32", target_os = "unknown"))]
pub use rt::{set_host, Host};
pub use url::{default_url, redact};
pub use validate::{MAX_HOLDER_BYTES, MAX_NAMESPACE_BYTES, MAX_NAME_BYTES};

