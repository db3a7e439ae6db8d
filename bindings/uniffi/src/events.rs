//! `Events`: a subscription; Kotlin's `Flow<LockEvent>` and Swift's
//! `AsyncStream` read it.

use crate::error::Result;
use crate::runtime;
use crate::LockMode;
use ferrolock::Drive;
use std::sync::Arc;

/// What happened.
#[derive(uniffi::Enum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum EventKind {
    Acquired,
    Released,
    Queued,
    TimedOut,
    Renewed,
    Lost,
    ForceReleased,
}

impl From<ferrolock::EventKind> for EventKind {
    fn from(k: ferrolock::EventKind) -> EventKind {
        use ferrolock::EventKind as K;
        match k {
            K::Acquired => EventKind::Acquired,
            K::Released => EventKind::Released,
            K::Queued => EventKind::Queued,
            K::TimedOut => EventKind::TimedOut,
            K::Renewed => EventKind::Renewed,
            K::Lost => EventKind::Lost,
            K::ForceReleased => EventKind::ForceReleased,
        }
    }
}

/// One event. Never an owner id.
#[derive(uniffi::Record, Clone, Debug)]
pub struct LockEvent {
    pub kind: EventKind,
    pub namespace: String,
    pub name: String,
    /// The fence of the acquisition concerned (0 where there is none).
    pub fence: u64,
    pub mode: LockMode,
    pub holder: String,
}

fn event(e: ferrolock::Event) -> LockEvent {
    LockEvent {
        kind: e.kind.into(),
        namespace: e.namespace,
        name: e.name,
        fence: e.fence,
        mode: e.mode.into(),
        holder: e.holder,
    }
}

#[derive(uniffi::Object)]
pub struct Events {
    inner: Arc<tokio::sync::Mutex<ferrolock::Events>>,
}

impl Events {
    pub fn new(events: ferrolock::Events) -> Events {
        Events {
            inner: Arc::new(tokio::sync::Mutex::new(events)),
        }
    }
}

#[uniffi::export]
impl Events {
    /// The next event; nothing once the provider is closed.
    pub async fn next(&self) -> Result<Option<LockEvent>> {
        let inner = self.inner.clone();
        runtime::run(Drive::Io, async move { Ok(inner.lock().await.recv().await.map(event)) }).await
    }

    /// The next event, waiting up to `timeout_ms`; nothing if none came.
    pub fn next_blocking(&self, timeout_ms: i64) -> Result<Option<LockEvent>> {
        let limit = runtime::timeout(timeout_ms)?;
        let inner = self.inner.clone();
        runtime::block(async move {
            let mut events = inner.lock().await;
            Ok(tokio::time::timeout(limit, events.recv())
                .await
                .ok()
                .flatten()
                .map(event))
        })
    }

    /// The next event if one is ready, without waiting.
    pub fn try_next(&self) -> Option<LockEvent> {
        self.inner.try_lock().ok().and_then(|mut e| e.try_recv()).map(event)
    }
}
