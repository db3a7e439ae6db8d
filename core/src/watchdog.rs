//! One renewal task per provider (not one per handle): handles register a
//! weak reference, the task renews each at a third of its ttl and drops the
//! entries of released handles lazily, so acquiring costs a push, not a spawn.
//! Its clock is the coarse monotonic one (a few ms of resolution): renewals
//! are due at a third of the ttl, so a few ms either way do not matter.

use crate::clock::coarse_monotonic_ms;
use parking_lot::Mutex;
use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Weak};
use std::time::Duration;
use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;

pub(crate) const NOT_SCHEDULED: u64 = u64::MAX;

/// While handles come and go, the task wakes at least this often (in ms),
/// so that a handle registered with a renewal due later than that needs no
/// wake-up of its own: on a multi-thread runtime a wake-up is a hop to
/// another thread, which an uncontended acquire+release paid every time
/// (the task had found every handle released and gone to sleep for good).
/// A task that finds no handle at all, twice in a row, sleeps until poked.
const BUSY_TICK_MS: u64 = 1000;

/// What the watchdog renews (a held lock), without knowing what it is.
pub(crate) trait Renewable: Send + Sync + 'static {
    /// When it is due, on the watchdog's clock (`NOT_SCHEDULED`: not now).
    fn renew_at(&self) -> &AtomicU64;
    /// Whether it still wants renewals (held, and renewing).
    fn renewing(&self) -> bool;
    /// One renewal; it schedules the next through `renew_at`.
    fn renew(self: Arc<Self>) -> Pin<Box<dyn Future<Output = ()> + Send>>;
}

pub(crate) struct Watchdog {
    entries: Mutex<Vec<Weak<dyn Renewable>>>,
    wake: Notify,
    /// When the task next wakes, in ms since `epoch`.
    next_ms: AtomicU64,
    /// Drop dead entries once there are this many.
    compact_at: AtomicUsize,
    pub(crate) stop: CancellationToken,
}

impl Watchdog {
    pub(crate) fn start(runtime: &crate::rt::Runtime) -> Arc<Watchdog> {
        let wd = Arc::new(Watchdog {
            entries: Mutex::new(Vec::new()),
            wake: Notify::new(),
            next_ms: AtomicU64::new(NOT_SCHEDULED),
            compact_at: AtomicUsize::new(256),
            stop: CancellationToken::new(),
        });
        runtime.spawn(run(wd.clone()));
        wd
    }

    /// `after` from now, on the watchdog's clock (coarse monotonic ms).
    pub(crate) fn at(&self, after: Duration) -> u64 {
        coarse_monotonic_ms() + after.as_millis() as u64
    }

    pub(crate) fn register(&self, held: Arc<dyn Renewable>) {
        {
            let mut entries = self.entries.lock();
            match entries.last_mut() {
                // The handle registered last is gone (acquire, release,
                // acquire…): its place serves, and its memory is freed now,
                // not with a few hundred others at the next compaction.
                Some(last) if last.strong_count() == 0 => *last = Arc::downgrade(&held),
                _ => {
                    // Drop released handles here too, not only in the task: a
                    // caller that never yields must not grow the list without bound.
                    if entries.len() >= self.compact_at.load(Ordering::Relaxed) {
                        entries.retain(|w| w.upgrade().is_some_and(|h| h.renewing()));
                        self.compact_at.store((entries.len() * 2).max(256), Ordering::Relaxed);
                    }
                    entries.push(Arc::downgrade(&held));
                }
            }
        }
        self.poke(held.renew_at().load(Ordering::Relaxed));
    }

    /// Wake the task if `renew_at` is sooner than its next wake-up.
    pub(crate) fn poke(&self, renew_at: u64) {
        if renew_at < self.next_ms.load(Ordering::Relaxed) {
            self.next_ms.store(renew_at, Ordering::Relaxed);
            self.wake.notify_one();
        }
    }
}

async fn run(wd: Arc<Watchdog>) {
    loop {
        let now = coarse_monotonic_ms();
        let mut due = Vec::new();
        let mut next = NOT_SCHEDULED;
        {
            let mut entries = wd.entries.lock();
            let registered = !entries.is_empty();
            entries.retain(|w| {
                let Some(h) = w.upgrade() else { return false };
                if !h.renewing() {
                    return false;
                }
                let at = h.renew_at().load(Ordering::Relaxed);
                if at <= now {
                    h.renew_at().store(NOT_SCHEDULED, Ordering::Relaxed);
                    due.push(h);
                } else {
                    next = next.min(at);
                }
                true
            });
            wd.compact_at.store((entries.len() * 2).max(256), Ordering::Relaxed);
            if registered {
                next = next.min(now + BUSY_TICK_MS);
            }
        }
        wd.next_ms.store(next, Ordering::Relaxed);
        for h in due {
            let wd = wd.clone();
            crate::rt::spawn(async move {
                h.clone().renew().await;
                wd.poke(h.renew_at().load(Ordering::Relaxed));
            });
        }
        let sleep = async {
            if next == NOT_SCHEDULED {
                std::future::pending::<()>().await
            } else {
                crate::rt::sleep(Duration::from_millis(next.saturating_sub(now))).await
            }
        };
        tokio::select! {
            _ = sleep => {}
            _ = wd.wake.notified() => {}
            _ = wd.stop.cancelled() => return,
        }
    }
}
