//! Lock events, for monitoring: subscribe with [`Locks::events`](crate::Locks::events).

use crate::Mode;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use tokio::sync::broadcast;

/// What happened.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum EventKind {
    /// A lock was acquired (or resumed from a token).
    Acquired,
    /// A lock was released by its handle.
    Released,
    /// A waiter found the lock busy and now waits for it: registered for
    /// wake-ups, and in the backend's queue where there is one. Tests order
    /// waiters by this event rather than by sleeping.
    Queued,
    /// A wait ended without the lock.
    TimedOut,
    /// The watchdog extended a lock.
    Renewed,
    /// A held lock was found lost (expired, released with its token
    /// elsewhere, force-released or taken over).
    Lost,
    /// A lock was force-released by an administrator.
    ForceReleased,
}

impl EventKind {
    /// The kind's name as every binding spells it: `acquired`, `timed_out`…
    pub fn as_str(self) -> &'static str {
        match self {
            EventKind::Acquired => "acquired",
            EventKind::Released => "released",
            EventKind::Queued => "queued",
            EventKind::TimedOut => "timed_out",
            EventKind::Renewed => "renewed",
            EventKind::Lost => "lost",
            EventKind::ForceReleased => "force_released",
        }
    }
}

/// One event. It never carries an owner id.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Event {
    /// What happened.
    pub kind: EventKind,
    /// The provider's namespace.
    pub namespace: String,
    /// The lock's name.
    pub name: String,
    /// The fence of the acquisition concerned (0 where there is none).
    pub fence: u64,
    /// Exclusive or shared.
    pub mode: Mode,
    /// The public holder label.
    pub holder: String,
}

/// A subscription to a provider's events. Slow subscribers skip events
/// rather than slow the locks down.
pub struct Events {
    rx: broadcast::Receiver<Event>,
    subscribers: Arc<AtomicUsize>,
}

impl Drop for Events {
    fn drop(&mut self) {
        self.subscribers.fetch_sub(1, Ordering::Relaxed);
    }
}

impl Events {
    pub(crate) fn new(rx: broadcast::Receiver<Event>, subscribers: Arc<AtomicUsize>) -> Events {
        subscribers.fetch_add(1, Ordering::Relaxed);
        Events { rx, subscribers }
    }

    /// The next event; `None` once the provider is closed and dropped.
    pub async fn recv(&mut self) -> Option<Event> {
        loop {
            match self.rx.recv().await {
                Ok(e) => return Some(e),
                Err(broadcast::error::RecvError::Lagged(_)) => continue,
                Err(broadcast::error::RecvError::Closed) => return None,
            }
        }
    }

    /// The next event if one is ready, without waiting.
    pub fn try_recv(&mut self) -> Option<Event> {
        loop {
            match self.rx.try_recv() {
                Ok(e) => return Some(e),
                Err(broadcast::error::TryRecvError::Lagged(_)) => continue,
                Err(_) => return None,
            }
        }
    }
}
