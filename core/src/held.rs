//! [`Held`]: proof of an acquired lock, and [`Guard`], the view `run` lends
//! its body.

use crate::clock::{coarse_monotonic_ms, now_ms, ttl_ms};
use crate::error::{Error, Result};
use crate::events::EventKind;
use crate::kinds::Mode;
use crate::provider::Inner;
use crate::token::{self, TokenData, TokenInfo};
use crate::watchdog::{Renewable, NOT_SCHEDULED};
use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicU8, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll, Waker};
use std::time::Duration;
use tokio::sync::Notify;

const ARMED: u8 = 0;
const RELEASED: u8 = 1;
const HANDED_OFF: u8 = 2;

pub(crate) struct HeldShared {
    pub(crate) locks: Arc<Inner>,
    pub(crate) id: Arc<LockId>,
    pub(crate) owner: [u8; 16],
    pub(crate) fence: u64,
    pub(crate) mode: Mode,
    pub(crate) proof: Vec<u8>,
    pub(crate) auto_renew: bool,
    /// When it was acquired, in coarse monotonic ms (for the hold histogram).
    pub(crate) acquired_ms: u64,
    pub(crate) ttl_ms: AtomicU64,
    pub(crate) expires_at_ms: AtomicU64,
    /// When the watchdog renews next, in its own clock (see `Watchdog::at`).
    pub(crate) renew_at: AtomicU64,
    state: AtomicU8,
    lost: Lost,
}

/// Set once when the lock is found lost; waiters of `lost()` are woken.
#[derive(Default)]
struct Lost {
    flag: AtomicBool,
    notify: Notify,
}

impl Lost {
    fn is_set(&self) -> bool {
        self.flag.load(Ordering::Acquire)
    }
    /// Returns whether this call set it.
    fn set(&self) -> bool {
        let first = !self.flag.swap(true, Ordering::AcqRel);
        if first {
            self.notify.notify_waiters();
        }
        first
    }
    async fn wait(&self) {
        loop {
            let notified = self.notify.notified();
            if self.is_set() {
                return;
            }
            notified.await;
        }
    }
}

/// Everything needed to make a handle, gathered by the engine.
/// What names a lock and who takes it: made once per [`Lock`](crate::Lock)
/// and shared with every handle it gives, so that an acquisition clones one
/// reference instead of four (each clone and drop is an atomic operation).
#[derive(Debug)]
pub(crate) struct LockId {
    /// `__lock:<namespace>:<name>`, the key in the store.
    pub key: Arc<str>,
    pub namespace: Arc<str>,
    pub name: Arc<str>,
    /// The public holder label.
    pub holder: Arc<str>,
}

pub(crate) struct NewHeld {
    pub id: Arc<LockId>,
    pub owner: [u8; 16],
    pub fence: u64,
    pub mode: Mode,
    pub proof: Vec<u8>,
    pub auto_renew: bool,
    pub ttl: Duration,
    pub expires_at_ms: u64,
}

impl HeldShared {
    pub(crate) fn is_armed(&self) -> bool {
        self.state.load(Ordering::Acquire) == ARMED
    }

    fn ttl(&self) -> Duration {
        Duration::from_millis(self.ttl_ms.load(Ordering::Relaxed))
    }

    fn schedule(&self, after: Duration) {
        self.renew_at.store(self.locks.watchdog.at(after), Ordering::Relaxed);
    }

    fn check_armed(&self) -> Result<()> {
        self.locks.check_open()?;
        if self.is_armed() {
            Ok(())
        } else {
            self.ended().refresh()
        }
    }

    fn ended(&self) -> Ended {
        Ended::new(self.locks.clone(), self.id.clone(), self.mode, self.lost.is_set())
    }

    fn emit(&self, kind: EventKind) {
        self.locks.emit_parts(kind, &self.id.name, self.fence, self.mode, &self.id.holder);
    }

    pub(crate) fn mark_lost(&self) {
        if self.is_armed() && self.lost.set() {
            tracing::warn!(name = %self.id.name, fence = self.fence, "ferrolock: lock lost (expired, released with its token elsewhere, force-released or taken over)");
            self.emit(EventKind::Lost);
        }
    }

    /// One watchdog renewal.
    pub(crate) async fn renew(&self) {
        if !self.is_armed() || self.locks.is_closed() {
            return;
        }
        let ttl = self.ttl();
        // A renewal still unanswered when the lease runs out (a server that
        // stopped answering, a link cut) cannot save it: by then another may
        // hold the lock, so the loss is noticed then, not when the call gives
        // up (the backend's response timeout may be longer than a ttl).
        let left = Duration::from_millis(self.expires_at_ms.load(Ordering::Relaxed).saturating_sub(now_ms()));
        let refresh = self.locks.backend.refresh(&self.id.key, &self.owner, &self.proof, ttl);
        // (On wasm32 the host's timers are not `Send`, which a renewal must
        // be; its backends there answer or fail on their own.)
        #[cfg(not(target_arch = "wasm32"))]
        let Ok(renewed) = tokio::time::timeout(left, refresh).await else {
            self.mark_lost();
            return;
        };
        #[cfg(target_arch = "wasm32")]
        let renewed = {
            let _ = left;
            refresh.await
        };
        match renewed {
            Ok(Some(expires)) => {
                self.expires_at_ms.store(expires, Ordering::Relaxed);
                self.schedule(ttl / 3);
                self.emit(EventKind::Renewed);
            }
            Ok(None) => self.mark_lost(),
            Err(e) => {
                if now_ms() >= self.expires_at_ms.load(Ordering::Relaxed) {
                    self.mark_lost();
                } else {
                    tracing::warn!(name = %self.id.name, error = %e, "ferrolock: renewal failed; retrying");
                    self.schedule((ttl / 10).clamp(Duration::from_millis(1), Duration::from_secs(1)));
                }
            }
        }
    }

    async fn release_backend(&self) -> Result<bool> {
        let held = self.locks.backend.release(&self.id.key, &self.owner, &self.proof).await?;
        self.locks.notices.freed(&self.id.key);
        self.emit(EventKind::Released);
        self.locks.metrics.hold_seconds.record(SecondsSince(self.acquired_ms));
        Ok(held && !self.lost.is_set())
    }

    fn token(&self) -> String {
        token::encode(&TokenData {
            info: TokenInfo {
                backend: self.locks.kind,
                namespace: self.id.namespace.to_string(),
                name: self.id.name.to_string(),
                fence: self.fence,
                mode: self.mode,
                expires_at_ms: self.expires_at_ms.load(Ordering::Relaxed),
                ttl_ms: self.ttl_ms.load(Ordering::Relaxed),
                holder: self.id.holder.to_string(),
            },
            owner: self.owner,
            proof: self.proof.clone(),
        })
    }
}

impl Renewable for HeldShared {
    fn renew_at(&self) -> &AtomicU64 {
        &self.renew_at
    }
    fn renewing(&self) -> bool {
        self.auto_renew && self.is_armed()
    }
    fn renew(self: Arc<Self>) -> Pin<Box<dyn Future<Output = ()> + Send>> {
        Box::pin(async move { HeldShared::renew(&self).await })
    }
}

/// The seconds from a coarse monotonic instant to now, read only if a
/// metrics recorder takes them (with none installed, a release reads no
/// clock for the hold-time histogram).
struct SecondsSince(u64);

impl metrics::IntoF64 for SecondsSince {
    fn into_f64(self) -> f64 {
        coarse_monotonic_ms().saturating_sub(self.0) as f64 / 1000.0
    }
}

/// Proof of an acquired lock.
///
/// The handle renews its lock in the background (unless built with
/// `auto_renew(false)`) until it is released, handed off with
/// [`into_token`](Held::into_token), or dropped; dropping it releases the
/// lock in the background and logs a warning.
pub struct Held {
    pub(crate) shared: Arc<HeldShared>,
}

/// The view of a held lock that [`Lock::run`](crate::Lock::run) lends its
/// body: it can read the fence, learn of a loss and refresh, but the release
/// stays with `run`.
#[derive(Clone)]
pub struct Guard {
    shared: Arc<HeldShared>,
}

impl Held {
    pub(crate) fn new(locks: Arc<Inner>, mut n: NewHeld) -> Held {
        let acquired_ms = coarse_monotonic_ms();
        // A lock the backend cannot extend simply lapses at its ttl.
        n.auto_renew &= locks.backend.refresh_unsupported().is_none();
        let shared = Arc::new(HeldShared {
            renew_at: AtomicU64::new(if n.auto_renew {
                acquired_ms + ttl_ms(n.ttl / 3)
            } else {
                NOT_SCHEDULED
            }),
            locks,
            id: n.id,
            owner: n.owner,
            fence: n.fence,
            mode: n.mode,
            proof: n.proof,
            auto_renew: n.auto_renew,
            acquired_ms,
            ttl_ms: AtomicU64::new(ttl_ms(n.ttl)),
            expires_at_ms: AtomicU64::new(n.expires_at_ms),
            state: AtomicU8::new(ARMED),
            lost: Lost::default(),
        });
        if shared.auto_renew {
            shared.locks.watchdog.register(shared.clone());
        }
        shared.emit(EventKind::Acquired);
        Held { shared }
    }

    /// The lock's name.
    pub fn name(&self) -> &str {
        &self.shared.id.name
    }
    /// The namespace the lock lives in.
    pub fn namespace(&self) -> &str {
        &self.shared.id.namespace
    }
    /// The key in the store: `__lock:<namespace>:<name>`.
    pub fn key(&self) -> &str {
        &self.shared.id.key
    }
    /// The fence: strictly increasing with every acquisition of this key.
    pub fn fence(&self) -> u64 {
        self.shared.fence
    }
    /// Exclusive or shared.
    pub fn mode(&self) -> Mode {
        self.shared.mode
    }
    /// The public holder label.
    pub fn holder(&self) -> &str {
        &self.shared.id.holder
    }
    /// The ttl renewals use.
    pub fn ttl(&self) -> Duration {
        self.shared.ttl()
    }
    /// When the lease expires unless renewed, in unix milliseconds.
    pub fn expires_at_ms(&self) -> u64 {
        self.shared.expires_at_ms.load(Ordering::Relaxed)
    }
    /// Whether the lock was found lost (by renewal or refresh).
    pub fn is_lost(&self) -> bool {
        self.shared.lost.is_set()
    }
    /// Resolves when the lock is found lost; never while it is held.
    pub async fn lost(&self) {
        self.shared.lost.wait().await
    }
    /// How its provider's operations run ([`crate::Locks::drive`]).
    pub fn drive(&self) -> crate::Drive {
        self.shared.locks.drive
    }
    /// Whether this handle still owns the lock (not released or handed off).
    pub fn is_armed(&self) -> bool {
        self.shared.is_armed()
    }
    /// A view of this handle for code that must not release it.
    pub fn guard(&self) -> Guard {
        Guard { shared: self.shared.clone() }
    }

    /// Extend the lease to `ttl` from now; later renewals use `ttl` too.
    /// `Err(Lost)` if the lock expired or was taken over meanwhile.
    pub async fn refresh(&self, ttl: Duration) -> Result<()> {
        refresh(&self.shared, ttl).await
    }

    /// Release the lock. Returns whether this handle still held it (false if
    /// it had expired, been taken over, or was already released).
    pub async fn release(self) -> Result<bool> {
        self.release_ref().await
    }

    /// Hand the lock off: returns its token and disarms this handle, so that
    /// nothing in this process releases or renews it any more.
    /// `Err(Unsupported)` on a backend whose locks die with their connection
    /// (`capabilities().handoff` is false); the handle is then dropped, which
    /// releases the lock.
    pub fn into_token(self) -> Result<String> {
        self.take_token()
    }

    /// [`release`](Held::release) for callers that cannot give the handle up
    /// (bindings): a second call returns `Ok(false)`.
    pub async fn release_ref(&self) -> Result<bool> {
        self.shared.locks.check_open()?;
        if self.shared.state.compare_exchange(ARMED, RELEASED, Ordering::AcqRel, Ordering::Acquire).is_err() {
            return self.shared.ended().release();
        }
        self.shared.release_backend().await
    }

    /// The end of a scoped use (Rust's `run`, Python's `with`, JavaScript's
    /// `run`, C's `ferrolock_run`): release the lock, then say how the scope
    /// ends. If the body failed, its own error wins and this is `Ok`;
    /// otherwise a failed release is that error, and a lock lost meanwhile
    /// (or no longer held at release) is `Err(Lost)`. A body that released
    /// the lock itself, or handed it off, ends the scope as it chose: `Ok`
    /// (unless the lock had been found lost before).
    pub async fn finish(&self, body_failed: bool) -> Result<()> {
        if !self.is_armed() {
            return self.shared.ended().finish(body_failed);
        }
        let lost = self.is_lost();
        let released = self.release_ref().await;
        if body_failed {
            return Ok(());
        }
        if lost || !released? {
            return Err(Error::Lost { name: self.shared.id.name.to_string() });
        }
        Ok(())
    }

    /// [`into_token`](Held::into_token) for callers that cannot give the
    /// handle up (bindings): afterwards every operation but `release_ref`
    /// (which returns `false`) is `NotHeld`.
    pub fn take_token(&self) -> Result<String> {
        let locks = &self.shared.locks;
        locks.check_open()?;
        locks.check_handoff("into_token")?;
        if self.shared.state.compare_exchange(ARMED, HANDED_OFF, Ordering::AcqRel, Ordering::Acquire).is_err() {
            return self.shared.ended().take_token();
        }
        Ok(self.shared.token())
    }

    /// Disarm without releasing: for a child process after `fork()`, whose
    /// inherited handles belong to the parent.
    pub fn disarm(&self) {
        self.shared.state.store(HANDED_OFF, Ordering::Release);
    }
}

/// What a handle answers once it has ended (released, ended by `run` or
/// handed off), written once: [`Held`] answers so itself, and a binding
/// that lets go of a handle's object at its end answers so in its place
/// ([`Lock::ended`](crate::Lock::ended)): the WebAssembly build, where an
/// object kept until it is collected costs a finalization each.
pub struct Ended {
    locks: Arc<Inner>,
    id: Arc<LockId>,
    mode: Mode,
    lost: bool,
}

impl Ended {
    pub(crate) fn new(locks: Arc<Inner>, id: Arc<LockId>, mode: Mode, lost: bool) -> Ended {
        Ended { locks, id, mode, lost }
    }
    /// The lock's name.
    pub fn name(&self) -> &str {
        &self.id.name
    }
    /// The namespace the lock lives in.
    pub fn namespace(&self) -> &str {
        &self.id.namespace
    }
    /// Exclusive or shared.
    pub fn mode(&self) -> Mode {
        self.mode
    }
    /// The public holder label.
    pub fn holder(&self) -> &str {
        &self.id.holder
    }
    /// Whether the lock had been found lost before the end.
    pub fn is_lost(&self) -> bool {
        self.lost
    }
    /// A release: `false`, it holds nothing now.
    pub fn release(&self) -> Result<bool> {
        self.locks.check_open()?;
        Ok(false)
    }
    /// A refresh: `NotHeld`.
    pub fn refresh(&self) -> Result<()> {
        self.locks.check_open()?;
        Err(Error::NotHeld { name: self.id.name.to_string() })
    }
    /// A token: `NotHeld` (`Unsupported` where locks cannot be handed off).
    pub fn take_token(&self) -> Result<String> {
        self.locks.check_open()?;
        self.locks.check_handoff("into_token")?;
        Err(Error::NotHeld { name: self.id.name.to_string() })
    }
    /// The end of a scope whose body ended the handle itself (see
    /// [`Held::finish`]): `Ok`, or `Err(Lost)` if the lock had been found
    /// lost before and the body did not fail.
    pub fn finish(&self, body_failed: bool) -> Result<()> {
        if self.lost && !body_failed {
            return Err(Error::Lost { name: self.id.name.to_string() });
        }
        Ok(())
    }
}

async fn refresh(shared: &HeldShared, ttl: Duration) -> Result<()> {
    shared.check_armed()?;
    if let Some(why) = shared.locks.backend.refresh_unsupported() {
        return Err(Error::Unsupported { backend: shared.locks.kind.name(), operation: why.to_owned() });
    }
    crate::validate::ttl(ttl, shared.locks.caps.max_ttl)?;
    match shared.locks.backend.refresh(&shared.id.key, &shared.owner, &shared.proof, ttl).await? {
        Some(expires) => {
            shared.ttl_ms.store(ttl_ms(ttl), Ordering::Relaxed);
            shared.expires_at_ms.store(expires, Ordering::Relaxed);
            if shared.auto_renew {
                shared.schedule(ttl / 3);
                shared.locks.watchdog.poke(shared.renew_at.load(Ordering::Relaxed));
            }
            Ok(())
        }
        None => {
            shared.mark_lost();
            Err(Error::Lost { name: shared.id.name.to_string() })
        }
    }
}

impl Guard {
    /// The lock's name.
    pub fn name(&self) -> &str {
        &self.shared.id.name
    }
    /// The fence of this acquisition.
    pub fn fence(&self) -> u64 {
        self.shared.fence
    }
    /// Whether the lock was found lost.
    pub fn is_lost(&self) -> bool {
        self.shared.lost.is_set()
    }
    /// Resolves when the lock is found lost.
    pub async fn lost(&self) {
        self.shared.lost.wait().await
    }
    /// Extend the lease to `ttl` from now.
    pub async fn refresh(&self, ttl: Duration) -> Result<()> {
        refresh(&self.shared, ttl).await
    }
}

impl Drop for Held {
    fn drop(&mut self) {
        if self.shared.state.compare_exchange(ARMED, RELEASED, Ordering::AcqRel, Ordering::Acquire).is_err() {
            return;
        }
        if self.shared.locks.is_closed() {
            // As close() promises: locks still held free at their ttl (a
            // release now would race whoever resumes this lock's token).
            tracing::debug!(name = %self.shared.id.name, "ferrolock: a held lock was dropped after its provider closed; it frees at its ttl");
            return;
        }
        tracing::warn!(name = %self.shared.id.name, "ferrolock: a held lock was dropped without release(); releasing it now");
        let shared = self.shared.clone();
        let mut release = Box::pin(async move {
            if let Err(e) = shared.release_backend().await {
                tracing::warn!(name = %shared.id.name, error = %e, "ferrolock: background release failed; the lock frees at its ttl");
            }
        });
        // Backends that answer at once (memory, an idle SQLite file) are
        // released right here; the others finish on the runtime. The drop
        // may happen on any thread, so enter the provider's runtime first.
        let locks = &self.shared.locks;
        let _context = locks.runtime.enter();
        if release.as_mut().poll(&mut Context::from_waker(Waker::noop())) == Poll::Pending {
            locks.runtime.spawn(locks.background.track_future(release));
        }
    }
}

impl std::fmt::Debug for Held {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Held")
            .field("name", &self.shared.id.name)
            .field("namespace", &self.shared.id.namespace)
            .field("fence", &self.shared.fence)
            .field("mode", &self.shared.mode)
            .field("holder", &self.shared.id.holder)
            .finish_non_exhaustive()
    }
}
