//! The engine: [`Locks`] (a provider) and [`Lock`] (a named lock
//! description). Waiting, fairness, timeouts, cancellation and events are
//! written here once, for every backend.

use crate::backend::{now_ms, AcquireRequest, AnyBackend, Attempt, Capabilities, Drive, LeaseInfo};
use crate::error::{Error, Result};
use crate::events::{Event, EventKind, Events};
use crate::held::{Guard, Held, HeldShared, NewHeld};
use crate::notices::Notices;
use crate::watchdog::Watchdog;
use crate::{inflight, token, url, validate, BackendKind, Mode};
use std::future::Future;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::broadcast;

/// The ttl of a lock that sets none.
pub const DEFAULT_TTL: Duration = Duration::from_secs(30);
/// How long forms that take no timeout wait (the CLI's `--timeout` default).
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(10);

pub(crate) struct Inner {
    pub(crate) backend: AnyBackend,
    pub(crate) kind: BackendKind,
    pub(crate) caps: Capabilities,
    pub(crate) drive: Drive,
    pub(crate) namespace: Arc<str>,
    default_holder: Arc<str>,
    redacted_url: String,
    pub(crate) notices: Arc<Notices>,
    pub(crate) watchdog: Arc<Watchdog>,
    events: broadcast::Sender<Event>,
    /// How many `Events` subscriptions are alive: events are only built then.
    subscribers: Arc<AtomicUsize>,
    pub(crate) metrics: Metrics,
    closed: AtomicBool,
    pub(crate) runtime: tokio::runtime::Handle,
    /// Clean-ups left to the background (releases of dropped handles,
    /// queue exits of cancelled waits): `close` waits for them.
    pub(crate) background: tokio_util::task::TaskTracker,
    /// Cancelled as `close` starts: pending waits end with `Closed`.
    closing: tokio_util::sync::CancellationToken,
}

impl Inner {
    pub(crate) fn check_open(&self) -> Result<()> {
        if self.is_closed() {
            Err(Error::Closed)
        } else {
            Ok(())
        }
    }

    pub(crate) fn is_closed(&self) -> bool {
        self.closed.load(Ordering::Acquire)
    }

    pub(crate) fn key(namespace: &str, name: &str) -> String {
        let mut key = String::with_capacity(8 + namespace.len() + name.len());
        key.push_str("__lock:");
        key.push_str(namespace);
        key.push(':');
        key.push_str(name);
        key
    }

    pub(crate) fn emit(&self, kind: EventKind, held: &HeldShared) {
        self.emit_parts(kind, &held.name, held.fence, held.mode, &held.holder);
    }

    fn emit_parts(&self, kind: EventKind, name: &str, fence: u64, mode: Mode, holder: &str) {
        let m = &self.metrics;
        match kind {
            EventKind::Acquired => &m.acquired,
            EventKind::Released => &m.released,
            EventKind::Queued => &m.queued,
            EventKind::TimedOut => &m.timeouts,
            EventKind::Renewed => &m.renewed,
            EventKind::Lost => &m.lost,
            EventKind::ForceReleased => &m.force_released,
        }
        .increment(1);
        if self.subscribers.load(Ordering::Relaxed) > 0 {
            let _ = self.events.send(Event {
                kind,
                namespace: self.namespace.to_string(),
                name: name.to_owned(),
                fence,
                mode,
                holder: holder.to_owned(),
            });
        }
    }
}

/// The provider's metrics, registered once at `connect` (so install a
/// `metrics` recorder before connecting). Labelled with the backend.
pub(crate) struct Metrics {
    acquired: metrics::Counter,
    released: metrics::Counter,
    queued: metrics::Counter,
    timeouts: metrics::Counter,
    renewed: metrics::Counter,
    lost: metrics::Counter,
    force_released: metrics::Counter,
    pub(crate) wait_seconds: metrics::Histogram,
    pub(crate) hold_seconds: metrics::Histogram,
}

impl Metrics {
    fn register(backend: &'static str) -> Metrics {
        Metrics {
            acquired: metrics::counter!("ferrolock_acquired_total", "backend" => backend),
            released: metrics::counter!("ferrolock_released_total", "backend" => backend),
            queued: metrics::counter!("ferrolock_queued_total", "backend" => backend),
            timeouts: metrics::counter!("ferrolock_timeouts_total", "backend" => backend),
            renewed: metrics::counter!("ferrolock_renewed_total", "backend" => backend),
            lost: metrics::counter!("ferrolock_lost_total", "backend" => backend),
            force_released: metrics::counter!("ferrolock_force_released_total", "backend" => backend),
            wait_seconds: metrics::histogram!("ferrolock_wait_seconds", "backend" => backend),
            hold_seconds: metrics::histogram!("ferrolock_hold_seconds", "backend" => backend),
        }
    }
}

/// A connection to one backend, made from a URL. Cheap to clone; every clone
/// shares the connection, the renewal watchdog and the event stream.
#[derive(Clone)]
pub struct Locks {
    pub(crate) inner: Arc<Inner>,
}

/// What [`Locks::state`] finds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LockState {
    /// Nobody holds the lock.
    Free,
    /// Somebody holds it.
    Held {
        /// The fence of the (latest) acquisition.
        fence: u64,
        /// Exclusive, or shared by `readers` holders.
        mode: Mode,
        /// The holder label (of one reader, for a shared lock).
        holder: String,
        /// How long until the lease expires unless renewed.
        expires_in: Duration,
        /// How many hold it shared (0 for an exclusive lock).
        readers: u32,
    },
}

/// One active lock, as [`Locks::list`] reports it. Never carries an owner id.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LockInfo {
    /// The lock's name (without the namespace).
    pub name: String,
    /// The fence of the (latest) acquisition.
    pub fence: u64,
    /// Exclusive or shared.
    pub mode: Mode,
    /// The holder label.
    pub holder: String,
    /// How long until the lease expires unless renewed.
    pub expires_in: Duration,
    /// How many hold it shared (0 for an exclusive lock).
    pub readers: u32,
}

fn expires_in(info: &LeaseInfo) -> Duration {
    Duration::from_millis(info.expires_at_ms.saturating_sub(now_ms()))
}

impl Locks {
    /// Connect to the backend `url` names: `memory://`, `sqlite://PATH`,
    /// `redis://…`. Must be called inside a tokio runtime (the renewal
    /// watchdog runs on it).
    pub async fn connect(url: &str) -> Result<Locks> {
        let runtime = tokio::runtime::Handle::try_current()
            .map_err(|_| Error::Internal("Locks::connect must run inside a tokio runtime".into()))?;
        Self::connect_on(url, runtime).await
    }

    /// Connect to [`default_url`](crate::default_url): `$FERROLOCK_URL`, else
    /// the SQLite file under `$XDG_DATA_HOME/ferrolock/`.
    pub async fn connect_default() -> Result<Locks> {
        Self::connect(&url::default_url()).await
    }

    pub(crate) async fn connect_on(url_str: &str, runtime: tokio::runtime::Handle) -> Result<Locks> {
        let url = url::parse(url_str)?;
        let notices = Arc::new(Notices::default());
        let (backend, kind) = AnyBackend::open(&url, &notices).await?;
        let caps = backend.capabilities();
        let drive = backend.drive();
        tracing::info!(backend = kind.name(), url = %url.redacted, namespace = %url.namespace, bypass = url.bypass, "ferrolock: connected");
        let default_holder: Arc<str> = url.holder.clone().unwrap_or_else(default_holder).into();
        Ok(Locks {
            inner: Arc::new(Inner {
                backend,
                kind,
                caps,
                drive,
                namespace: url.namespace.into(),
                default_holder,
                redacted_url: url.redacted,
                notices,
                watchdog: Watchdog::start(&runtime),
                events: broadcast::channel(1024).0,
                subscribers: Arc::default(),
                metrics: Metrics::register(kind.name()),
                closed: AtomicBool::new(false),
                runtime,
                background: tokio_util::task::TaskTracker::new(),
                closing: tokio_util::sync::CancellationToken::new(),
            }),
        })
    }

    /// Describe the lock `name` (no I/O; a bad name is reported by the first
    /// operation that uses it). Defaults: exclusive, ttl 30 s, renewed.
    pub fn lock(&self, name: impl Into<String>) -> Lock {
        let name: String = name.into();
        Lock {
            key: Inner::key(&self.inner.namespace, &name).into(),
            name: name.into(),
            locks: self.clone(),
            ttl: DEFAULT_TTL,
            mode: Mode::Exclusive,
            holder: None,
            auto_renew: true,
        }
    }

    /// Make an armed handle from a token written by `into_token` in any
    /// process or language. `Err(Lost)` if the lock is no longer held;
    /// `Err(InvalidToken)` for a malformed token or one of another backend.
    pub async fn resume(&self, token: &str) -> Result<Held> {
        self.inner.check_open()?;
        if !self.inner.caps.handoff {
            return Err(Error::Unsupported { backend: self.inner.kind.name(), operation: "resume (handoff)".into() });
        }
        let data = token::decode_full(token)?;
        if data.info.backend != self.inner.kind {
            return Err(Error::InvalidToken(format!(
                "token was issued by the {} backend; this provider is {}",
                data.info.backend.name(),
                self.inner.kind.name()
            )));
        }
        let ttl = Duration::from_millis(data.info.ttl_ms);
        validate::ttl(ttl, self.inner.caps.max_ttl).map_err(|e| Error::InvalidToken(format!("token ttl: {e}")))?;
        let key = Inner::key(&data.info.namespace, &data.info.name);
        match self.inner.backend.refresh(&key, &data.owner, &data.proof, ttl).await? {
            Some(expires_at_ms) => Ok(Held::new(
                self.inner.clone(),
                NewHeld {
                    key: key.into(),
                    namespace: data.info.namespace.into(),
                    name: data.info.name.into(),
                    owner: data.owner,
                    fence: data.info.fence,
                    mode: data.info.mode,
                    holder: data.info.holder.into(),
                    proof: data.proof,
                    auto_renew: true,
                    ttl,
                    expires_at_ms,
                },
            )),
            None => Err(Error::Lost { name: data.info.name }),
        }
    }

    /// Who holds `name`, if anyone.
    pub async fn state(&self, name: &str) -> Result<LockState> {
        self.inner.check_open()?;
        validate::name(name)?;
        let info = self.inner.backend.inspect(&Inner::key(&self.inner.namespace, name)).await?;
        Ok(match info {
            None => LockState::Free,
            Some(i) => LockState::Held {
                fence: i.fence,
                mode: i.mode,
                expires_in: expires_in(&i),
                holder: i.holder,
                readers: i.readers,
            },
        })
    }

    /// The active locks of this namespace whose names start with `prefix`.
    pub async fn list(&self, prefix: &str) -> Result<Vec<LockInfo>> {
        self.inner.check_open()?;
        if prefix.chars().any(|c| c.is_control()) {
            return Err(Error::InvalidArgument("list prefix contains a control character".into()));
        }
        let key_prefix = Inner::key(&self.inner.namespace, "");
        let rows = self.inner.backend.list(&format!("{key_prefix}{prefix}")).await?;
        Ok(rows
            .into_iter()
            .map(|(key, i)| LockInfo {
                name: key[key_prefix.len()..].to_owned(),
                fence: i.fence,
                mode: i.mode,
                expires_in: expires_in(&i),
                holder: i.holder,
                readers: i.readers,
            })
            .collect())
    }

    /// Release `name` whoever holds it (an administrator's tool). Returns
    /// whether it was held. Its holder learns of the loss at its next renewal.
    pub async fn force_release(&self, name: &str) -> Result<bool> {
        self.inner.check_open()?;
        validate::name(name)?;
        let key = Inner::key(&self.inner.namespace, name);
        let was_held = self.inner.backend.force_release(&key).await?;
        self.inner.notices.freed(&key);
        if was_held {
            tracing::info!(name, "ferrolock: force-released");
            self.inner.emit_parts(EventKind::ForceReleased, name, 0, Mode::Exclusive, "");
        }
        Ok(was_held)
    }

    /// Check that the backend answers (a health check).
    pub async fn ping(&self) -> Result<()> {
        self.inner.check_open()?;
        self.inner.backend.ping().await
    }

    /// Subscribe to this provider's events.
    pub fn events(&self) -> Events {
        Events::new(self.inner.events.subscribe(), self.inner.subscribers.clone())
    }

    /// Close the provider: renewals stop, and every later operation (on it,
    /// its clones, its locks and handles) is `Err(Closed)`. Clean-ups still
    /// running in the background (the release of a dropped handle, the
    /// queue exit of a cancelled wait) are given up to 5 s to finish first,
    /// so a process may exit right after. Waits still pending end with
    /// `Err(Closed)`, leaving nothing held. Locks still held free at their ttl.
    pub async fn close(&self) {
        // Pending waits end with `Closed`; each counts in `background` until
        // it has spawned its way out of its queue, so waiting for
        // `background` waits for them too.
        self.inner.closing.cancel();
        self.inner.background.close();
        let _ = tokio::time::timeout(Duration::from_secs(5), self.inner.background.wait()).await;
        if !self.inner.closed.swap(true, Ordering::AcqRel) {
            self.inner.watchdog.stop.cancel();
            self.inner.backend.close();
        }
    }

    /// Which backend this provider talks to.
    pub fn backend(&self) -> BackendKind {
        self.inner.kind
    }
    /// What the backend can do.
    pub fn capabilities(&self) -> Capabilities {
        self.inner.caps
    }
    /// The provider's namespace.
    pub fn namespace(&self) -> &str {
        &self.inner.namespace
    }
    /// The URL this provider was made from, password replaced by `***`.
    pub fn url(&self) -> &str {
        &self.inner.redacted_url
    }
}

impl std::fmt::Debug for Locks {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Locks")
            .field("url", &self.inner.redacted_url)
            .field("namespace", &self.inner.namespace)
            .finish_non_exhaustive()
    }
}

/// A fresh owner id: 128 bits from a per-thread CSPRNG (ChaCha12) seeded
/// from the operating system once per thread, and again after `fork()`: a
/// forked child inherits its parent's generator state, and must not hand
/// out the same ids as its parent or its siblings.
fn new_owner() -> [u8; 16] {
    use rand::{RngCore as _, SeedableRng as _};
    thread_local! {
        static RNG: std::cell::RefCell<(u64, rand::rngs::StdRng)> =
            std::cell::RefCell::new((fork_generation(), rand::rngs::StdRng::from_os_rng()));
    }
    let mut owner = [0u8; 16];
    RNG.with(|r| {
        let mut r = r.borrow_mut();
        let generation = fork_generation();
        if r.0 != generation {
            *r = (generation, rand::rngs::StdRng::from_os_rng());
        }
        r.1.fill_bytes(&mut owner)
    });
    owner
}

/// How many `fork()`s separate this process from the one that first asked:
/// bumped in the child by a `pthread_atfork` handler (one atomic load per call).
pub(crate) fn fork_generation() -> u64 {
    use std::sync::atomic::AtomicU64;
    static GENERATION: AtomicU64 = AtomicU64::new(0);
    #[cfg(unix)]
    {
        extern "C" fn in_child() {
            GENERATION.fetch_add(1, Ordering::SeqCst);
        }
        static REGISTER: std::sync::Once = std::sync::Once::new();
        REGISTER.call_once(|| unsafe {
            libc::pthread_atfork(None, None, Some(in_child));
        });
    }
    GENERATION.load(Ordering::Acquire)
}

fn default_holder() -> String {
    holder_of(std::process::id())
}

/// The default holder label of process `pid` on this machine: `host:pid`.
/// (`ferrolock acquire` labels its locks with its caller's pid, since it
/// exits once it has printed the token.)
pub fn holder_of(pid: u32) -> String {
    let host = std::fs::read_to_string("/proc/sys/kernel/hostname")
        .or_else(|_| std::fs::read_to_string("/etc/hostname"))
        .map(|h| h.trim().to_owned())
        .ok()
        .filter(|h| !h.is_empty())
        .or_else(|| std::env::var("HOSTNAME").ok())
        .unwrap_or_else(|| "localhost".to_owned());
    format!("{host}:{pid}")
}

/// A named lock: key, ttl, mode and options. Cheap, no I/O; clone freely.
#[derive(Clone, Debug)]
pub struct Lock {
    locks: Locks,
    name: Arc<str>,
    key: Arc<str>,
    ttl: Duration,
    mode: Mode,
    holder: Option<Arc<str>>,
    auto_renew: bool,
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
    /// The lease's time to live (default 30 s). With renewal on, it is how
    /// fast the lock of a crashed holder frees.
    pub fn ttl(mut self, ttl: Duration) -> Self {
        self.ttl = ttl;
        self
    }
    /// Take the lock shared: many shared holders, no exclusive one.
    pub fn shared(mut self) -> Self {
        self.mode = Mode::Shared;
        self
    }
    /// Set the mode.
    pub fn mode(mut self, mode: Mode) -> Self {
        self.mode = mode;
        self
    }
    /// The public label shown by `state` and `list` (default `host:pid`).
    pub fn holder(mut self, holder: impl Into<String>) -> Self {
        self.holder = Some(holder.into().into());
        self
    }
    /// Whether handles renew the lease at ttl/3 (default true).
    pub fn auto_renew(mut self, on: bool) -> Self {
        self.auto_renew = on;
        self
    }
    /// The lock's name.
    pub fn name(&self) -> &str {
        &self.name
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
            None => Err(Error::Timeout { name: self.name.to_string(), waited: start.elapsed() }),
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
        let lost = held.is_lost();
        let released = held.release().await;
        let value = out?;
        if lost || !released? {
            return Err(Error::Lost { name: self.name.to_string() }.into());
        }
        Ok(value)
    }

    fn check(&self) -> Result<()> {
        validate::name(&self.name)?;
        validate::ttl(self.ttl, self.locks.inner.caps.max_ttl)?;
        if let Some(h) = &self.holder {
            validate::holder(h)?;
        }
        if self.mode == Mode::Shared && !self.locks.inner.caps.shared {
            return Err(Error::Unsupported { backend: self.locks.inner.kind.name(), operation: "shared locks".into() });
        }
        Ok(())
    }

    async fn acquire_until(&self, timeout: Duration) -> Result<Option<Held>> {
        let inner = &self.locks.inner;
        inner.check_open()?;
        // A zero timeout (try_acquire) reads no clock: one attempt, no wait.
        let start = if timeout.is_zero() { None } else { Some(Instant::now()) };
        let deadline = match start {
            Some(start) => validate::deadline(timeout, start)?,
            None => None,
        };
        self.check()?;
        let owner = new_owner();
        let holder = self.holder.as_ref().unwrap_or(&inner.default_holder);
        if let Attempt::Granted(lease) = self.attempt(&owner, holder, None).await? {
            return Ok(Some(self.held(owner, holder, lease)));
        }
        let Some(start) = start else { return Ok(None) };
        use tracing::Instrument as _;
        let span = tracing::debug_span!("ferrolock.wait", name = %self.name, backend = inner.kind.name());
        self.wait(owner, holder, start, deadline).instrument(span).await
    }

    /// One attempt. If the caller goes while it is in flight, a lease it got
    /// is released (see `inflight`).
    async fn attempt(&self, owner: &[u8; 16], holder: &Arc<str>, ticket: Option<u64>) -> Result<Attempt> {
        let inner = &self.locks.inner;
        let (mode, ttl) = (self.mode, self.ttl);
        if inner.drive == Drive::Inline {
            let req = AcquireRequest { key: &self.key, owner, mode, ttl, holder, ticket };
            return inner.backend.try_acquire(&req).await;
        }
        let (i, key, o, h) = (inner.clone(), self.key.clone(), *owner, holder.clone());
        let op = async move {
            let req = AcquireRequest { key: &key, owner: &o, mode, ttl, holder: &h, ticket };
            i.backend.try_acquire(&req).await
        };
        inflight::guarded(inner, &self.key, owner, ticket, op).await
    }

    /// Join the wait queue. If the caller goes while it is in flight, the
    /// place it got is left (see `inflight`).
    async fn enqueue(&self, owner: &[u8; 16]) -> Result<u64> {
        let inner = &self.locks.inner;
        let (i, key, o, mode) = (inner.clone(), self.key.clone(), *owner, self.mode);
        inflight::guarded(inner, &self.key, owner, None, async move { i.backend.enqueue(&key, &o, mode).await }).await
    }

    /// The waiting part of an acquire: the first attempt found the lock busy.
    async fn wait(
        &self,
        owner: [u8; 16],
        holder: &Arc<str>,
        start: Instant,
        deadline: Option<Instant>,
    ) -> Result<Option<Held>> {
        let inner = &self.locks.inner;
        // Register for wake-ups before queueing, so no release is missed.
        let key = &*self.key;
        let registration = inner.notices.register(key);
        let mut spot =
            QueueSpot { inner: inner.clone(), key: self.key.clone(), ticket: None, _waiting: inner.background.token() };
        if inner.caps.queue {
            spot.ticket = Some(self.enqueue(&owner).await?);
        }
        inner.emit_parts(EventKind::Queued, &self.name, 0, self.mode, holder);
        let mut backoff = Backoff::new(inner.caps.notices);
        loop {
            let notified = registration.notify.notified();
            tokio::pin!(notified);
            notified.as_mut().enable();
            let ticket = spot.ticket.take();
            let attempt = self.attempt(&owner, holder, ticket).await;
            spot.ticket = ticket;
            match attempt? {
                Attempt::Granted(lease) => {
                    spot.ticket = None;
                    inner.metrics.wait_seconds.record(start.elapsed().as_secs_f64());
                    return Ok(Some(self.held(owner, holder, lease)));
                }
                Attempt::Busy { retry_in } => {
                    let now = Instant::now();
                    if deadline.is_some_and(|d| now >= d) {
                        if let Some(ticket) = spot.ticket.take() {
                            let _ = inner.backend.leave(key, ticket).await;
                            inner.notices.freed(key);
                        }
                        inner.emit_parts(EventKind::TimedOut, &self.name, 0, self.mode, holder);
                        return Ok(None);
                    }
                    let mut pause = backoff.step();
                    if let Some(r) = retry_in {
                        pause = pause.min(r + Duration::from_millis(1));
                    }
                    let mut wake = now + pause;
                    if let Some(d) = deadline {
                        wake = wake.min(d);
                    }
                    tokio::select! {
                        _ = &mut notified => {}
                        _ = tokio::time::sleep_until(wake.into()) => {}
                        // `spot` leaves the queue as it drops.
                        _ = inner.closing.cancelled() => return Err(Error::Closed),
                    }
                }
            }
        }
    }

    fn held(&self, owner: [u8; 16], holder: &Arc<str>, lease: crate::backend::Lease) -> Held {
        let inner = &self.locks.inner;
        Held::new(
            inner.clone(),
            NewHeld {
                key: self.key.clone(),
                namespace: inner.namespace.clone(),
                name: self.name.clone(),
                owner,
                fence: lease.fence,
                mode: self.mode,
                holder: holder.clone(),
                proof: lease.proof,
                auto_renew: self.auto_renew,
                ttl: self.ttl,
                expires_at_ms: lease.expires_at_ms,
            },
        )
    }
}
