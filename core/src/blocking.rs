//! The same calls without async, for synchronous callers and the C ABI.
//!
//! Every provider made here runs on one shared background runtime. Do not
//! call these from inside an async task (they block the thread).
//!
//! ```
//! use std::time::Duration;
//! let locks = ferrolock::blocking::Locks::connect("memory://blocking-doc")?;
//! let held = locks.lock("nightly-report").acquire(Duration::from_secs(5))?;
//! assert!(held.release()?);
//! # Ok::<(), ferrolock::Error>(())
//! ```

use crate::error::{Error, Result};
use crate::{Capabilities, Drive, Events, LockInfo, LockState, Mode};
use std::future::Future;
use std::task::{Context, Poll, Waker};
use std::time::Duration;

/// The background runtime every blocking provider shares (one worker
/// thread). A process forked after using it gets a fresh one on first use
/// in the child: threads do not survive fork(), so the parent's runtime is
/// left alone there (never dropped: joining threads that are gone would
/// hang). Providers connected before the fork stay the parent's.
pub fn runtime() -> &'static tokio::runtime::Runtime {
    use std::sync::atomic::{AtomicPtr, Ordering};
    /// A runtime and the fork generation it was made in; leaked, never freed.
    struct Slot {
        generation: u64,
        rt: tokio::runtime::Runtime,
    }
    static SLOT: AtomicPtr<Slot> = AtomicPtr::new(std::ptr::null_mut());
    static BUILD: std::sync::Mutex<()> = std::sync::Mutex::new(());
    let generation = crate::fork::fork_generation();
    let current = || {
        // SAFETY: every pointer stored in SLOT comes from Box::leak.
        unsafe { SLOT.load(Ordering::Acquire).as_ref() }.filter(|s| s.generation == generation).map(|s| &s.rt)
    };
    if let Some(rt) = current() {
        return rt;
    }
    let _building = BUILD.lock().unwrap_or_else(|p| p.into_inner());
    if let Some(rt) = current() {
        return rt;
    }
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .thread_name("ferrolock")
        .enable_all()
        .build()
        .expect("ferrolock: cannot start its runtime thread");
    let slot: &'static Slot = Box::leak(Box::new(Slot { generation, rt }));
    SLOT.store(slot as *const Slot as *mut Slot, Ordering::Release);
    &slot.rt
}

/// A runtime that one synchronous provider's callers drive themselves: a
/// `current_thread` runtime run by the calling thread inside each blocking
/// call, so a network reply wakes the caller straight from its socket, with
/// no hop through a runtime thread (on a busy machine each hop costs a
/// scheduling delay: [`runtime`]'s worker reads the socket, then wakes the
/// caller). Between calls a background thread drives it for 1 ms every
/// 20 ms, for renewals and the releases of dropped handles; a call that comes
/// meanwhile is served by that thread. Connect the provider inside
/// [`Driven::block_on`], so that its tasks and sockets live here.
///
/// What the synchronous bindings use (Python's sync API, Kotlin's and
/// Java's blocking forms); its background thread stops when the last
/// reference goes or at [`Driven::stop`] (the provider was closed).
pub struct Driven {
    rt: std::mem::ManuallyDrop<tokio::runtime::Runtime>,
    stop: std::sync::atomic::AtomicBool,
}

impl std::fmt::Debug for Driven {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Driven").finish_non_exhaustive()
    }
}

/// How often the background thread drives an idle [`Driven`] runtime, and for how long.
const DRIVE_EVERY: Duration = Duration::from_millis(20);
const DRIVE_FOR: Duration = Duration::from_millis(1);

impl Driven {
    /// A new runtime and its background thread, named `thread_name`.
    pub fn new(thread_name: &str) -> std::sync::Arc<Driven> {
        use std::sync::atomic::Ordering;
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("ferrolock: cannot build a runtime");
        let driven = std::sync::Arc::new(Driven {
            rt: std::mem::ManuallyDrop::new(rt),
            stop: std::sync::atomic::AtomicBool::new(false),
        });
        let weak = std::sync::Arc::downgrade(&driven);
        let spawned = std::thread::Builder::new().name(thread_name.into()).spawn(move || loop {
            std::thread::sleep(DRIVE_EVERY);
            let Some(d) = weak.upgrade() else { return };
            if d.stop.load(Ordering::Relaxed) {
                return;
            }
            d.rt.block_on(async { tokio::time::sleep(DRIVE_FOR).await });
        });
        if spawned.is_err() {
            // No background thread: renewals then run only during calls.
            driven.stop();
        }
        driven
    }
    /// The runtime (to spawn on, or to enter).
    pub fn runtime(&self) -> &tokio::runtime::Runtime {
        &self.rt
    }
    /// Run `f` to its end, driving the runtime from the calling thread.
    pub fn block_on<F: std::future::Future>(&self, f: F) -> F::Output {
        self.rt.block_on(f)
    }
    /// Stop the background thread (the provider was closed).
    pub fn stop(&self) {
        self.stop.store(true, std::sync::atomic::Ordering::Relaxed);
    }
}

impl Drop for Driven {
    fn drop(&mut self) {
        // Let clean-ups just spawned (a dropped handle's release) finish,
        // then shut the runtime down, on a thread of its own: this may run
        // where blocking is not allowed (inside another runtime, or with an
        // interpreter's lock held). Objects a binding inherited through
        // fork() must never get here (their runtime's threads are gone).
        self.stop();
        // SAFETY: `rt` is taken once, here, and never used again.
        let rt = unsafe { std::mem::ManuallyDrop::take(&mut self.rt) };
        let finishing = std::thread::Builder::new().name("ferrolock-close".into()).spawn(move || {
            rt.block_on(async { tokio::time::sleep(DRIVE_EVERY).await });
        });
        if let Err(e) = finishing {
            drop(e); // the runtime went with the closure: shut down as is
        }
    }
}

/// Poll `op`, an operation of a provider whose [`Drive`] is `drive`, once
/// in place if it is [`Drive::Inline`] (memory), in `rt`'s context, with a
/// waker that does nothing: such an operation that does not wait completes
/// in its first poll, and then needs no `block_on` (which costs several
/// times more than it, and which tokio refuses on a thread that runs a
/// runtime). `Pending` for any other drive (not polled), or for an inline
/// operation that waits: run it on (`rt.block_on`) from where it is.
pub fn poll_inline<F: Future>(rt: &tokio::runtime::Runtime, drive: Drive, op: std::pin::Pin<&mut F>) -> Poll<F::Output> {
    if drive != Drive::Inline {
        return Poll::Pending;
    }
    let _context = rt.enter();
    op.poll(&mut Context::from_waker(Waker::noop()))
}

/// Run `op`, an operation of a provider whose [`Drive`] is `drive`, to its
/// end on the calling thread, on `rt`: [`poll_inline`] first, then
/// `rt.block_on`. What every blocking call here makes, and the bindings'
/// own blocking calls.
pub fn block_on_drive<F: Future>(rt: &tokio::runtime::Runtime, drive: Drive, op: F) -> F::Output {
    let mut op = std::pin::pin!(op);
    if let Poll::Ready(out) = poll_inline(rt, drive, op.as_mut()) {
        return out;
    }
    rt.block_on(op)
}

/// An operation of a provider of `drive` on the shared runtime.
fn block_on<F: Future>(drive: Drive, op: F) -> F::Output {
    block_on_drive(runtime(), drive, op)
}

/// A blocking [`crate::Locks`].
#[derive(Clone, Debug)]
pub struct Locks {
    inner: crate::Locks,
}

/// A blocking [`crate::Lock`].
#[derive(Clone, Debug)]
pub struct Lock {
    inner: crate::Lock,
}

/// A blocking [`crate::Held`].
#[derive(Debug)]
pub struct Held {
    inner: crate::Held,
}

impl Locks {
    /// Connect to the backend `url` names.
    pub fn connect(url: &str) -> Result<Locks> {
        runtime().block_on(crate::Locks::connect_on(url, crate::rt::Runtime(runtime().handle().clone()))).map(|inner| Locks { inner })
    }
    /// Connect to [`crate::default_url`].
    pub fn connect_default() -> Result<Locks> {
        Self::connect(&crate::default_url())
    }
    /// The async provider behind this one.
    pub fn as_async(&self) -> &crate::Locks {
        &self.inner
    }
    /// See [`crate::Locks::lock`].
    pub fn lock(&self, name: impl Into<String>) -> Lock {
        Lock { inner: self.inner.lock(name) }
    }
    /// See [`crate::Locks::lock_with`].
    pub fn lock_with(&self, name: impl Into<String>, options: crate::LockOptions) -> Lock {
        Lock { inner: self.inner.lock_with(name, options) }
    }
    /// See [`crate::Locks::resume`].
    pub fn resume(&self, token: &str) -> Result<Held> {
        block_on(self.inner.drive(), self.inner.resume(token)).map(|inner| Held { inner })
    }
    /// See [`crate::Locks::state`].
    pub fn state(&self, name: &str) -> Result<LockState> {
        block_on(self.inner.drive(), self.inner.state(name))
    }
    /// See [`crate::Locks::list`].
    pub fn list(&self, prefix: &str) -> Result<Vec<LockInfo>> {
        block_on(self.inner.drive(), self.inner.list(prefix))
    }
    /// See [`crate::Locks::force_release`].
    pub fn force_release(&self, name: &str) -> Result<bool> {
        block_on(self.inner.drive(), self.inner.force_release(name))
    }
    /// See [`crate::Locks::ping`].
    pub fn ping(&self) -> Result<()> {
        block_on(self.inner.drive(), self.inner.ping())
    }
    /// See [`crate::Locks::events`]; read it with `blocking_recv`-style
    /// polling through [`Events::try_recv`].
    pub fn events(&self) -> Events {
        self.inner.events()
    }
    /// See [`crate::Locks::close`].
    pub fn close(&self) {
        block_on(self.inner.drive(), self.inner.close())
    }
    /// See [`crate::Locks::capabilities`].
    pub fn capabilities(&self) -> Capabilities {
        self.inner.capabilities()
    }
}

impl Lock {
    /// See [`crate::Lock::ttl`].
    pub fn ttl(self, ttl: Duration) -> Self {
        Lock { inner: self.inner.ttl(ttl) }
    }
    /// See [`crate::Lock::shared`].
    pub fn shared(self) -> Self {
        Lock { inner: self.inner.shared() }
    }
    /// See [`crate::Lock::mode`].
    pub fn mode(self, mode: Mode) -> Self {
        Lock { inner: self.inner.mode(mode) }
    }
    /// See [`crate::Lock::holder`].
    pub fn holder(self, holder: impl Into<String>) -> Self {
        Lock { inner: self.inner.holder(holder) }
    }
    /// See [`crate::Lock::auto_renew`].
    pub fn auto_renew(self, on: bool) -> Self {
        Lock { inner: self.inner.auto_renew(on) }
    }
    /// See [`crate::Lock::try_acquire`].
    pub fn try_acquire(&self) -> Result<Option<Held>> {
        block_on(self.inner.drive(), self.inner.try_acquire()).map(|h| h.map(|inner| Held { inner }))
    }
    /// See [`crate::Lock::acquire`].
    pub fn acquire(&self, timeout: Duration) -> Result<Held> {
        block_on(self.inner.drive(), self.inner.acquire(timeout)).map(|inner| Held { inner })
    }
    /// See [`crate::Lock::acquire_or_none`].
    pub fn acquire_or_none(&self, timeout: Duration) -> Result<Option<Held>> {
        block_on(self.inner.drive(), self.inner.acquire_or_none(timeout)).map(|h| h.map(|inner| Held { inner }))
    }
    /// Acquire, call `body`, release: `Err(Lost)` after the body if the lock
    /// was lost meanwhile (see [`crate::Lock::run`]).
    pub fn run<T, E: From<Error>>(
        &self,
        timeout: Duration,
        body: impl FnOnce(&Held) -> std::result::Result<T, E>,
    ) -> std::result::Result<T, E> {
        let held = self.acquire(timeout)?;
        let out = body(&held);
        let ended = held.finish(out.is_err());
        let value = out?;
        ended?;
        Ok(value)
    }
}

impl Held {
    /// The async handle behind this one.
    pub fn as_async(&self) -> &crate::Held {
        &self.inner
    }
    /// See [`crate::Held::name`].
    pub fn name(&self) -> &str {
        self.inner.name()
    }
    /// See [`crate::Held::fence`].
    pub fn fence(&self) -> u64 {
        self.inner.fence()
    }
    /// See [`crate::Held::is_lost`].
    pub fn is_lost(&self) -> bool {
        self.inner.is_lost()
    }
    /// See [`crate::Held::refresh`].
    pub fn refresh(&self, ttl: Duration) -> Result<()> {
        block_on(self.inner.drive(), self.inner.refresh(ttl))
    }
    /// See [`crate::Held::release`].
    pub fn release(self) -> Result<bool> {
        self.release_ref()
    }
    /// See [`crate::Held::release_ref`].
    pub fn release_ref(&self) -> Result<bool> {
        block_on(self.inner.drive(), self.inner.release_ref())
    }
    /// See [`crate::Held::finish`].
    pub fn finish(&self, body_failed: bool) -> Result<()> {
        block_on(self.inner.drive(), self.inner.finish(body_failed))
    }
    /// See [`crate::Held::into_token`].
    pub fn into_token(self) -> Result<String> {
        self.inner.into_token()
    }
    /// See [`crate::Held::take_token`].
    pub fn take_token(&self) -> Result<String> {
        self.inner.take_token()
    }
}
