//! [`Lock`]: a named lock description, and the engine's acquire: waiting,
//! fairness, timeouts and cancellation, written once for every backend.

use crate::backend::{AcquireRequest, Attempt, Drive, Lease};
use crate::error::{Error, Result};
use crate::events::EventKind;
use crate::held::{Ended, Guard, Held, LockId, NewHeld};
use crate::kinds::Mode;
use crate::provider::Inner;
use crate::{fork, inflight, validate};
use std::future::Future;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use crate::rt::{self, Instant};
use std::time::Duration;

/// The ttl of a lock that sets none.
pub const DEFAULT_TTL: Duration = Duration::from_secs(30);
/// How long forms that take no timeout wait (the CLI's `--timeout` default).
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(10);

/// A lock's options as one plain struct: what a binding fills from its own
/// arguments and hands to [`Locks::lock_with`](crate::Locks::lock_with).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LockOptions {
    /// The lease's time to live (default 30 s).
    pub ttl: Duration,
    /// Exclusive (default) or shared.
    pub mode: Mode,
    /// The public holder label (default: the provider's, `host:pid`).
    pub holder: Option<String>,
    /// Whether handles renew the lease at ttl/3 (default true).
    pub auto_renew: bool,
}

impl Default for LockOptions {
    fn default() -> Self {
        LockOptions { ttl: DEFAULT_TTL, mode: Mode::Exclusive, holder: None, auto_renew: true }
    }
}

/// A named lock: key, ttl, mode and options. Cheap, no I/O; clone freely.
#[derive(Clone)]
pub struct Lock {
    inner: Arc<Inner>,
    /// Key, name, namespace and holder, shared with the handles it gives.
    id: Arc<LockId>,
    ttl: Duration,
    mode: Mode,
    /// The holder label was set for this lock (it is checked), not the provider's.
    holder_set: bool,
    auto_renew: bool,
    /// Its name, ttl, mode and holder passed `check` (they are checked
    /// once, at the first operation, not at every acquire).
    checked: Checked,
}

/// A flag that a clone copies (a builder method that changes what `check`
/// reads starts a new one).
#[derive(Default)]
struct Checked(AtomicBool);

impl Clone for Checked {
    fn clone(&self) -> Self {
        Checked(self.0.load(Ordering::Relaxed).into())
    }
}

impl std::fmt::Debug for Lock {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Lock")
            .field("name", &self.id.name)
            .field("namespace", &self.inner.namespace)
            .field("ttl", &self.ttl)
            .field("mode", &self.mode)
            .field("holder", &self.id.holder)
            .field("auto_renew", &self.auto_renew)
            .finish()
    }
}

/// Leaves the wait queue if the wait ends without the lock (timeout,
/// error, or a dropped future). While it lives, it counts as a background
/// task, so `close()` waits for it: a wait that `close()` ends has spawned
/// its way out of the queue before the backend closes.
struct QueueSpot {
    inner: Arc<Inner>,
    key: Arc<str>,
    /// None while an attempt is in flight: its guard leaves the queue after
    /// it, should the wait end then.
    ticket: Option<u64>,
    _waiting: tokio_util::task::task_tracker::TaskTrackerToken,
}

impl Drop for QueueSpot {
    fn drop(&mut self) {
        if let Some(ticket) = self.ticket.take() {
            inflight::leave_later(&self.inner, self.key.clone(), ticket);
        }
    }
}

/// How long past its deadline a wait waits for an attempt in flight.
const GRACE: Duration = Duration::from_millis(500);

/// The fallback poll: exponential backoff with ±25% jitter, capped.
struct Backoff {
    next: Duration,
    max: Duration,
}

impl Backoff {
    fn new(notices: bool) -> Self {
        if notices {
            Backoff { next: Duration::from_millis(50), max: Duration::from_secs(1) }
        } else {
            Backoff { next: Duration::from_millis(2), max: Duration::from_millis(250) }
        }
    }
    fn step(&mut self) -> Duration {
        let base = self.next;
        self.next = (self.next * 2).min(self.max);
        base.mul_f64(rand::random_range(0.75..1.25))
    }
}

impl Lock {
    /// How its provider's operations run ([`crate::Locks::drive`]).
    pub fn drive(&self) -> Drive {
        self.inner.drive
    }
    pub(crate) fn new(inner: Arc<Inner>, name: String, options: LockOptions) -> Lock {
        let id = LockId {
            key: Inner::key(&inner.namespace, &name).into(),
            name: name.into(),
            namespace: inner.namespace.clone(),
            holder: options.holder.as_deref().map_or_else(|| inner.default_holder.clone(), Into::into),
        };
        Lock {
            id: Arc::new(id),
            inner,
            ttl: options.ttl,
            mode: options.mode,
            holder_set: options.holder.is_some(),
            auto_renew: options.auto_renew,
            checked: Checked::default(),
        }
    }

    /// The lease's time to live (default 30 s). With renewal on, it is how
    /// fast the lock of a crashed holder frees.
    pub fn ttl(mut self, ttl: Duration) -> Self {
        self.ttl = ttl;
        self.checked = Checked::default();
        self
    }
    /// Take the lock shared: many shared holders, no exclusive one.
    pub fn shared(mut self) -> Self {
        self.mode = Mode::Shared;
        self.checked = Checked::default();
        self
    }
    /// Set the mode.
    pub fn mode(mut self, mode: Mode) -> Self {
        self.mode = mode;
        self.checked = Checked::default();
        self
    }
    /// The public label shown by `state` and `list` (default `host:pid`).
    pub fn holder(mut self, holder: impl Into<String>) -> Self {
        let id = &self.id;
        let holder = holder.into().into();
        self.id = Arc::new(LockId { key: id.key.clone(), name: id.name.clone(), namespace: id.namespace.clone(), holder });
        self.holder_set = true;
        self.checked = Checked::default();
        self
    }
    /// Whether handles renew the lease at ttl/3 (default true).
    pub fn auto_renew(mut self, on: bool) -> Self {
        self.auto_renew = on;
        self
    }
    /// The lock's name.
    pub fn name(&self) -> &str {
        &self.id.name
    }

    /// Take the lock if it is free now; `Ok(None)` if someone holds it.
    pub async fn try_acquire(&self) -> Result<Option<Held>> {
        self.acquire_until(Duration::ZERO).await
    }

    /// Wait up to `timeout` for the lock (`Duration::MAX`: forever);
    /// `Err(Timeout)` after it. Dropping the future stops the wait and
    /// leaves nothing held.
    pub async fn acquire(&self, timeout: Duration) -> Result<Held> {
        let start = Instant::now();
        match self.acquire_until(timeout).await? {
            Some(held) => Ok(held),
            None => Err(Error::Timeout { name: self.id.name.to_string(), waited: start.elapsed() }),
        }
    }

    /// Like [`acquire`](Lock::acquire), but `Ok(None)` on timeout.
    pub async fn acquire_or_none(&self, timeout: Duration) -> Result<Option<Held>> {
        self.acquire_until(timeout).await
    }

    /// Acquire (waiting up to `timeout`), run `body` with a [`Guard`] while
    /// the lock is renewed, then release it. If the lock was lost meanwhile,
    /// the result is `Err(Lost)` once the body returns (unless the body
    /// failed first).
    pub async fn run<T, E, F, Fut>(&self, timeout: Duration, body: F) -> std::result::Result<T, E>
    where
        F: FnOnce(Guard) -> Fut,
        Fut: Future<Output = std::result::Result<T, E>>,
        E: From<Error>,
    {
        let held = self.acquire(timeout).await?;
        let out = body(held.guard()).await;
        let ended = held.finish(out.is_err()).await;
        let value = out?;
        ended?;
        Ok(value)
    }

    /// What a handle of this lock answers once it has ended, `lost` if it
    /// had been found lost before: for a binding that lets go of the
    /// handle at its end (see [`Ended`]).
    pub fn ended(&self, lost: bool) -> Ended {
        Ended::new(self.inner.clone(), self.id.clone(), self.mode, lost)
    }

    fn check(&self) -> Result<()> {
        validate::name(&self.id.name)?;
        validate::ttl(self.ttl, self.inner.caps.max_ttl)?;
        if self.holder_set {
            validate::holder(&self.id.holder)?;
        }
        if self.mode == Mode::Shared && !self.inner.caps.shared {
            return Err(Error::Unsupported { backend: self.inner.kind.name(), operation: "shared locks".into() });
        }
        Ok(())
    }

    async fn acquire_until(&self, timeout: Duration) -> Result<Option<Held>> {
        let inner = &self.inner;
        inner.check_open()?;
        // A zero timeout (try_acquire) reads no clock: one attempt, no wait.
        let start = if timeout.is_zero() { None } else { Some(Instant::now()) };
        let deadline = match start {
            Some(start) => validate::deadline(timeout, start)?,
            None => None,
        };
        if !self.checked.0.load(Ordering::Relaxed) {
            self.check()?;
            self.checked.0.store(true, Ordering::Relaxed);
        }
        let owner = fork::new_owner();
        // A caller that may wait lets the backend join the queue in this
        // first attempt, if it can (one round trip instead of two).
        let join = start.is_some() && inner.caps.queue;
        let joined = match self.attempt(&owner, None, join).await? {
            Attempt::Granted(lease) => return Ok(Some(self.held(owner, lease))),
            Attempt::Queued { ticket, .. } => Some(ticket),
            Attempt::Busy { .. } => None,
        };
        let Some(start) = start else { return Ok(None) };
        use tracing::Instrument as _;
        let span = tracing::debug_span!("ferrolock.wait", name = %self.id.name, backend = inner.kind.name());
        self.wait(owner, start, deadline, joined).instrument(span).await
    }

    /// One attempt (`join`: see [`AcquireRequest::join`]). If the caller goes
    /// while it is in flight, a lease it got is released and a queue place
    /// it got is left (see `inflight`).
    async fn attempt(&self, owner: &[u8; 16], ticket: Option<u64>, join: bool) -> Result<Attempt> {
        let holder = &self.id.holder;
        let inner = &self.inner;
        let (mode, ttl) = (self.mode, self.ttl);
        if inner.drive == Drive::Inline {
            let req = AcquireRequest { key: &self.id.key, owner, mode, ttl, holder, ticket, join, gone: None };
            return inner.backend.try_acquire(&req).await;
        }
        let gone = Arc::new(AtomicBool::new(false));
        let (i, key, o, h, g) = (inner.clone(), self.id.key.clone(), *owner, holder.clone(), gone.clone());
        let op = async move {
            let req = AcquireRequest { key: &key, owner: &o, mode, ttl, holder: &h, ticket, join, gone: Some(&g) };
            i.backend.try_acquire(&req).await
        };
        inflight::guarded(inner, &self.id.key, owner, ticket, Some(gone), op).await
    }

    /// Join the wait queue. If the caller goes while it is in flight, the
    /// place it got is left (see `inflight`).
    async fn enqueue(&self, owner: &[u8; 16]) -> Result<u64> {
        let inner = &self.inner;
        let (i, key, o, mode) = (inner.clone(), self.id.key.clone(), *owner, self.mode);
        inflight::guarded(inner, &self.id.key, owner, None, None, async move { i.backend.enqueue(&key, &o, mode).await }).await
    }

    /// The waiting part of an acquire: the first attempt found the lock busy
    /// (and joined the queue with ticket `joined`, if it did).
    async fn wait(
        &self,
        owner: [u8; 16],
        start: Instant,
        deadline: Option<Instant>,
        joined: Option<u64>,
    ) -> Result<Option<Held>> {
        let (inner, holder) = (&self.inner, &*self.id.holder);
        // Register for wake-ups before queueing, so no release is missed.
        // (A first attempt that joined the queue did so before: a backend
        // that lets it keeps what comes meanwhile for the next attempt.)
        let key = &*self.id.key;
        let registration = inner.notices.register(key);
        let mut spot =
            QueueSpot { inner: inner.clone(), key: self.id.key.clone(), ticket: None, _waiting: inner.background.token() };
        spot.ticket = joined;
        if inner.caps.queue && joined.is_none() {
            spot.ticket = Some(self.enqueue(&owner).await?);
        }
        inner.emit_parts(EventKind::Queued, &self.id.name, 0, self.mode, holder);
        let mut backoff = Backoff::new(inner.caps.notices);
        // Set once for the whole wait: an attempt still in flight `GRACE`
        // after the deadline (a server that stopped answering) is not waited
        // for. One that answers before is taken as usual, so that a wait
        // that ends leaves nothing in flight on a server that answers.
        let mut expiry = deadline.map(|d| Box::pin(rt::sleep_until(d + GRACE)));
        loop {
            let notified = registration.notify.notified();
            tokio::pin!(notified);
            notified.as_mut().enable();
            let ticket = spot.ticket.take();
            let attempt = self.attempt(&owner, ticket, false);
            let attempt = match expiry.as_mut() {
                None => attempt.await,
                Some(expiry) => tokio::select! {
                    biased;
                    a = attempt => a,
                    _ = expiry => {
                        // The dropped attempt finishes in the background,
                        // gives back what it got and then leaves the queue
                        // with `ticket` (see `inflight`).
                        inner.emit_parts(EventKind::TimedOut, &self.id.name, 0, self.mode, holder);
                        return Ok(None);
                    }
                },
            };
            spot.ticket = ticket;
            match attempt? {
                Attempt::Granted(lease) => {
                    spot.ticket = None;
                    inner.metrics.wait_seconds.record(start.elapsed().as_secs_f64());
                    return Ok(Some(self.held(owner, lease)));
                }
                Attempt::Busy { retry_in } | Attempt::Queued { retry_in, .. } => {
                    let now = Instant::now();
                    if deadline.is_some_and(|d| now >= d) {
                        if let Some(ticket) = spot.ticket.take() {
                            inflight::leave(inner, key, ticket).await;
                        }
                        inner.emit_parts(EventKind::TimedOut, &self.id.name, 0, self.mode, holder);
                        return Ok(None);
                    }
                    let mut pause = backoff.step();
                    if let Some(r) = retry_in {
                        pause = pause.min(r + Duration::from_millis(1));
                    }
                    let mut wake = now + pause;
                    if let Some(d) = deadline {
                        if d < wake {
                            wake = d;
                        }
                    }
                    tokio::select! {
                        _ = &mut notified => {}
                        _ = rt::sleep_until(wake) => {}
                        // `spot` leaves the queue as it drops.
                        _ = inner.closing.cancelled() => return Err(Error::Closed),
                    }
                }
            }
        }
    }

    fn held(&self, owner: [u8; 16], lease: Lease) -> Held {
        let inner = &self.inner;
        Held::new(
            inner.clone(),
            NewHeld {
                id: self.id.clone(),
                owner,
                fence: lease.fence,
                mode: self.mode,
                proof: lease.proof,
                auto_renew: self.auto_renew,
                ttl: self.ttl,
                expires_at_ms: lease.expires_at_ms,
            },
        )
    }
}

