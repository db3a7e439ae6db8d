//! Events: a subscription that calls a JS callback with each event of a
//! provider (the TypeScript layer's EventEmitter), until `stop()`.

use crate::runtime::Ops;
use napi::threadsafe_function::{ThreadsafeFunction, ThreadsafeFunctionCallMode};
use napi::Status;
use napi_derive::napi;
use tokio_util::sync::CancellationToken;

/// One event of the provider (never an owner id).
#[napi(object, object_from_js = false)]
pub struct LockEvent {
    /// `acquired`, `released`, `queued`, `timed_out`, `renewed`, `lost` or `force_released`.
    pub kind: String,
    pub namespace: String,
    pub name: String,
    pub fence: u64,
    pub mode: String,
    pub holder: String,
}

/// A subscription to events; `stop()` ends it.
#[napi]
pub struct NativeSubscription {
    stop: CancellationToken,
}

#[napi]
impl NativeSubscription {
    #[napi]
    pub fn stop(&self) {
        self.stop.cancel();
    }
}

impl Drop for NativeSubscription {
    fn drop(&mut self) {
        self.stop.cancel();
    }
}

pub type EventCallback = ThreadsafeFunction<LockEvent, (), LockEvent, Status, false, true>;

/// Deliver `events` to `callback` from a task on the provider's runtime.
pub fn subscribe(
    mut events: ferrolock::Events,
    bridge: &Ops,
    callback: EventCallback,
) -> NativeSubscription {
    let stop = CancellationToken::new();
    let stopped = stop.clone();
    bridge.spawn(async move {
        loop {
            tokio::select! {
                _ = stopped.cancelled() => break,
                e = events.recv() => match e {
                    Some(e) => {
                        let event = LockEvent {
                            kind: e.kind.as_str().to_owned(),
                            namespace: e.namespace,
                            name: e.name,
                            fence: e.fence,
                            mode: e.mode.as_str().to_owned(),
                            holder: e.holder,
                        };
                        callback.call(event, ThreadsafeFunctionCallMode::NonBlocking);
                    }
                    None => break,
                },
            }
        }
    });
    NativeSubscription { stop }
}
