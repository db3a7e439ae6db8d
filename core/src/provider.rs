//! The state every handle of one provider shares: its backend, namespace,
//! wake-ups, renewal watchdog, events, metrics, runtime and the clean-ups
//! left to the background. `Locks`, `Lock` and `Held` each hold it.

use crate::backend::{AnyBackend, Capabilities, Drive};
use crate::error::{Error, Result};
use crate::events::{Event, EventKind};
use crate::kinds::{BackendKind, Mode};
use crate::notices::Notices;
use crate::watchdog::Watchdog;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use tokio::sync::broadcast;

pub(crate) struct Inner {
    pub(crate) backend: AnyBackend,
    pub(crate) kind: BackendKind,
    pub(crate) caps: Capabilities,
    pub(crate) drive: Drive,
    pub(crate) namespace: Arc<str>,
    pub(crate) default_holder: Arc<str>,
    pub(crate) redacted_url: String,
    pub(crate) notices: Arc<Notices>,
    pub(crate) watchdog: Arc<Watchdog>,
    pub(crate) events: broadcast::Sender<Event>,
    /// How many `Events` subscriptions are alive: events are only built then.
    pub(crate) subscribers: Arc<AtomicUsize>,
    pub(crate) metrics: Metrics,
    pub(crate) closed: AtomicBool,
    pub(crate) runtime: crate::rt::Runtime,
    /// Clean-ups left to the background (releases of dropped handles,
    /// queue exits of cancelled waits): `close` waits for them.
    pub(crate) background: tokio_util::task::TaskTracker,
    /// Cancelled as `close` starts: pending waits end with `Closed`.
    pub(crate) closing: tokio_util::sync::CancellationToken,
}

impl Inner {
    pub(crate) fn check_open(&self) -> Result<()> {
        if self.is_closed() {
            Err(Error::Closed)
        } else {
            Ok(())
        }
    }

    /// Handoff (a token) needs locks that outlive their process: elsewhere
    /// `operation` is `Unsupported`.
    pub(crate) fn check_handoff(&self, operation: &str) -> Result<()> {
        if self.caps.handoff {
            Ok(())
        } else {
            Err(Error::Unsupported { backend: self.kind.name(), operation: format!("{operation} (handoff)") })
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

    pub(crate) fn emit_parts(&self, kind: EventKind, name: &str, fence: u64, mode: Mode, holder: &str) {
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

impl Drop for Inner {
    /// The last handle of a provider that was not closed is gone: its
    /// watchdog task ends, and so do the backend's own tasks.
    fn drop(&mut self) {
        self.watchdog.stop.cancel();
        self.backend.close();
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
    pub(crate) fn register(backend: &'static str) -> Metrics {
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

pub(crate) fn default_holder() -> String {
    #[cfg(not(all(target_arch = "wasm32", target_os = "unknown")))]
    return holder_of(std::process::id());
    // No processes there: the label says where it runs.
    #[cfg(all(target_arch = "wasm32", target_os = "unknown"))]
    return "wasm".to_owned();
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

