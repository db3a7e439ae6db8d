//! The backend contract: a handful of primitive, single-round-trip
//! operations. Waiting, guards, renewal, `run`, events, tokens and
//! validation live once in the engine, never here.

use crate::error::{Error, Result};
use crate::kinds::Mode;
use std::sync::atomic::AtomicBool;
use std::sync::Arc;
use std::time::Duration;

/// The longest ttl of the backends that have no limit of their own (a year).
pub(crate) const LONGEST_TTL: Duration = Duration::from_secs(365 * 24 * 3600);

/// How long a queued waiter's entry lives without a heartbeat. Every attempt
/// with a ticket is a heartbeat, and the engine attempts at least once a
/// second, so only the entry of a crashed waiter goes stale.
pub(crate) const WAITER_STALE_AFTER: Duration = Duration::from_secs(5);

/// What a backend can do; the engine and the conformance suite read it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Capabilities {
    /// The longest ttl the backend accepts.
    pub max_ttl: Duration,
    /// Shared (reader) locks.
    pub shared: bool,
    /// A lock outlives the process that took it, so it can be handed off as a token.
    pub handoff: bool,
    /// A FIFO wait queue kept in the backend, fair across processes.
    pub queue: bool,
    /// The backend tells waiters when a lock may have been freed.
    pub notices: bool,
}

/// How a backend's operations complete: what the engine (guards for
/// operations whose caller goes) and a binding (which thread to run a
/// provider on) need to know, without knowing the backend.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Drive {
    /// Every operation completes when first polled (memory, bypass).
    Inline,
    /// Operations wait on the network; they never block a thread.
    Io,
    /// Operations may block their thread (a busy SQLite file), opening the
    /// provider included: run them where blocking is allowed.
    Blocking,
}

/// One acquisition attempt.
#[derive(Debug)]
pub(crate) struct AcquireRequest<'a> {
    pub key: &'a str,
    pub owner: &'a [u8; 16],
    pub mode: Mode,
    pub ttl: Duration,
    pub holder: &'a Arc<str>,
    /// The caller's place in the wait queue, if it has one.
    pub ticket: Option<u64>,
    /// The caller will wait if the lock is busy: a backend with a queue may
    /// join it in this attempt (no ticket yet) and answer `Queued`, saving
    /// the round trip of a separate join (Redis does).
    #[cfg_attr(not(feature = "redis"), allow(dead_code))]
    pub join: bool,
    /// Set once the caller has gone while this attempt is in flight (by
    /// `inflight`, which then runs the attempt to its end in the
    /// background): an attempt of several steps checks it before the step
    /// that takes the lock, so that it takes nothing for nobody later
    /// (PostgreSQL's advisory mode may open a connection first).
    #[cfg_attr(not(feature = "postgres"), allow(dead_code))]
    pub gone: Option<&'a AtomicBool>,
}

/// A granted lease.
#[derive(Debug, Clone)]
pub(crate) struct Lease {
    pub fence: u64,
    pub expires_at_ms: u64,
    pub proof: Vec<u8>,
}

/// The outcome of an attempt.
#[derive(Debug)]
pub(crate) enum Attempt {
    Granted(Lease),
    /// Held by someone else; `retry_in` is when the blocking lease expires.
    Busy { retry_in: Option<Duration> },
    /// Busy, and the attempt joined the wait queue (asked with `join`): the
    /// caller's place is `ticket`.
    #[cfg_attr(not(feature = "redis"), allow(dead_code))]
    Queued { retry_in: Option<Duration>, ticket: u64 },
}

/// What a backend knows of a held key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct LeaseInfo {
    pub mode: Mode,
    pub fence: u64,
    pub holder: String,
    pub expires_at_ms: u64,
    pub readers: u32,
}

/// The primitive operations every backend implements.
pub(crate) trait Backend: Send + Sync + 'static {
    /// How its operations complete.
    const DRIVE: Drive;
    fn capabilities(&self) -> Capabilities;
    /// Why a held lock cannot be extended here, if it cannot (Couchbase's
    /// get-and-lock): the engine then renews nothing and refuses `refresh`
    /// as `Unsupported`, and `refresh` below only checks a resumed token.
    fn refresh_unsupported(&self) -> Option<&'static str> {
        None
    }
    fn try_acquire(&self, req: &AcquireRequest<'_>) -> impl std::future::Future<Output = Result<Attempt>> + Send;
    fn release(&self, key: &str, owner: &[u8; 16], proof: &[u8]) -> impl std::future::Future<Output = Result<bool>> + Send;
    fn refresh(
        &self,
        key: &str,
        owner: &[u8; 16],
        proof: &[u8],
        ttl: Duration,
    ) -> impl std::future::Future<Output = Result<Option<u64>>> + Send;
    fn force_release(&self, key: &str) -> impl std::future::Future<Output = Result<bool>> + Send;
    fn inspect(&self, key: &str) -> impl std::future::Future<Output = Result<Option<LeaseInfo>>> + Send;
    fn list(&self, prefix: &str) -> impl std::future::Future<Output = Result<Vec<(String, LeaseInfo)>>> + Send;
    /// Join the wait queue (only where `capabilities().queue`).
    fn enqueue(
        &self,
        key: &str,
        owner: &[u8; 16],
        mode: Mode,
    ) -> impl std::future::Future<Output = Result<u64>> + Send;
    /// Leave the wait queue; called when a waiter times out or is cancelled.
    fn leave(&self, key: &str, ticket: u64) -> impl std::future::Future<Output = Result<()>> + Send;
    fn ping(&self) -> impl std::future::Future<Output = Result<()>> + Send;
    fn close(&self);
}

/// Whether a lease in `mode` may be granted now, given the modes of the live
/// leases on the key and of the live waiters queued ahead of the caller.
/// Shared by every backend that keeps a queue, so fairness means one thing.
pub(crate) fn may_grant(
    mode: Mode,
    mut holders: impl Iterator<Item = Mode>,
    mut ahead: impl Iterator<Item = Mode>,
) -> bool {
    match mode {
        Mode::Exclusive => holders.next().is_none() && ahead.next().is_none(),
        // Readers join readers, but never pass a queued writer: that is what
        // keeps a stream of new readers from starving a waiting writer.
        Mode::Shared => holders.all(|m| m == Mode::Shared) && ahead.all(|m| m == Mode::Shared),
    }
}

/// Summarise the live leases of one key for `inspect`/`list`.
pub(crate) fn summarize<'a>(leases: impl Iterator<Item = (Mode, u64, &'a str, u64)>) -> Option<LeaseInfo> {
    let mut info: Option<LeaseInfo> = None;
    for (mode, fence, holder, expires) in leases {
        match &mut info {
            None => {
                info = Some(LeaseInfo { mode, fence, holder: holder.to_owned(), expires_at_ms: expires, readers: 0 })
            }
            Some(i) => {
                i.fence = i.fence.max(fence);
                i.expires_at_ms = i.expires_at_ms.max(expires);
            }
        }
        if mode == Mode::Shared {
            if let Some(i) = &mut info {
                i.readers += 1;
            }
        }
    }
    info
}

pub(crate) fn unsupported(backend: &'static str, operation: &str) -> Error {
    Error::Unsupported { backend, operation: operation.to_owned() }
}
