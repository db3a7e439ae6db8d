//! `NativeHeld`: proof of an acquired lock. Dropping it (the JS object is
//! garbage-collected while still armed) releases the lock in the background,
//! as the core's `Held` does on drop.

use crate::driver::TtlHold;
use crate::error::{to_js, Result};
use crate::runtime::{millis, to_millis, Ops};
use napi::bindgen_prelude::Either;
use napi::threadsafe_function::{ThreadsafeFunction, ThreadsafeFunctionCallMode};
use napi::Status;
use napi_derive::napi;
use std::sync::{Arc, Mutex};
use tokio_util::sync::CancellationToken;

#[napi]
pub struct NativeHeld {
    held: Arc<ferrolock::Held>,
    bridge: Ops,
    /// Stops the loss watcher once the handle is released or handed off.
    watching: Option<CancellationToken>,
    /// Keeps the event loop's runtime ticking often enough for a short ttl.
    ttl_hold: Mutex<Option<TtlHold>>,
}

type LostCallback = ThreadsafeFunction<(), (), (), Status, false, true>;

impl NativeHeld {
    pub(crate) fn new(held: ferrolock::Held, bridge: Ops) -> NativeHeld {
        let ttl_hold = Mutex::new(bridge.hold_ttl(held.ttl()));
        NativeHeld {
            held: Arc::new(held),
            bridge,
            watching: None,
            ttl_hold,
        }
    }

    fn let_go(&self) {
        if let Some(w) = &self.watching {
            w.cancel();
        }
        self.ttl_hold
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .take();
    }
}

impl Drop for NativeHeld {
    fn drop(&mut self) {
        if let Some(w) = &self.watching {
            w.cancel();
        }
    }
}

#[napi]
impl NativeHeld {
    #[napi(getter)]
    pub fn name(&self) -> String {
        self.held.name().to_owned()
    }
    #[napi(getter)]
    pub fn namespace(&self) -> String {
        self.held.namespace().to_owned()
    }
    /// The fence: strictly increasing with every acquisition of this key.
    #[napi(getter)]
    pub fn fence(&self) -> u64 {
        self.held.fence()
    }
    /// `exclusive` or `shared`.
    #[napi(getter)]
    pub fn mode(&self) -> String {
        self.held.mode().as_str().to_owned()
    }
    #[napi(getter)]
    pub fn holder(&self) -> String {
        self.held.holder().to_owned()
    }
    /// The ttl renewals use, in milliseconds.
    #[napi(getter)]
    pub fn ttl(&self) -> f64 {
        to_millis(self.held.ttl())
    }
    /// When the lease expires unless renewed, in unix milliseconds.
    #[napi(getter)]
    pub fn expires_at(&self) -> f64 {
        self.held.expires_at_ms() as f64
    }
    #[napi(getter)]
    pub fn is_lost(&self) -> bool {
        self.held.is_lost()
    }
    /// Whether this handle still owns the lock (not released or handed off).
    #[napi(getter)]
    pub fn is_armed(&self) -> bool {
        self.held.is_armed()
    }

    /// Release; whether this handle still held the lock. A second call is false.
    #[napi]
    pub fn release(&self) -> Result<Either<bool, u32>> {
        self.let_go();
        let held = self.held.clone();
        self.bridge
            .run(async move { held.release_ref().await.map_err(to_js) })
    }

    /// The end of `run`: release, then `LOST` if the lock was lost
    /// meanwhile, unless the body failed (its error goes on).
    #[napi]
    pub fn finish(&self, body_failed: bool) -> Result<Either<(), u32>> {
        self.let_go();
        let held = self.held.clone();
        self.bridge
            .run(async move { held.finish(body_failed).await.map_err(to_js) })
    }

    /// Extend the lease to `ttl` ms from now.
    #[napi]
    pub fn refresh(&self, ttl: f64) -> Result<Either<(), u32>> {
        let ttl = millis("ttl", ttl, false)?;
        let held = self.held.clone();
        self.bridge
            .run(async move { held.refresh(ttl).await.map_err(to_js) })
    }

    /// Hand the lock off: its token; this handle is disarmed.
    #[napi]
    pub fn into_token(&self) -> Result<String> {
        self.let_go();
        self.held.take_token().map_err(to_js)
    }

    /// Call `callback` once if the lock is found lost while this handle holds
    /// it. The callback does not keep the process alive.
    #[napi(ts_args_type = "callback: () => void")]
    pub fn watch_lost(&mut self, callback: LostCallback) {
        if self.watching.is_some() {
            return;
        }
        let stop = CancellationToken::new();
        self.watching = Some(stop.clone());
        let guard = self.held.guard();
        self.bridge.spawn(async move {
            tokio::select! {
                _ = stop.cancelled() => {}
                _ = guard.lost() => {
                    callback.call((), ThreadsafeFunctionCallMode::NonBlocking);
                }
            }
        });
    }
}

/// napi's own `async fn` path, for bench/node-bridge only (see lock.rs).
#[cfg(feature = "bench-napi-async")]
#[napi]
impl NativeHeld {
    /// `release` as a napi `async fn`.
    #[napi]
    pub async fn release_napi_async(&self) -> Result<bool> {
        self.let_go();
        let held = self.held.clone();
        held.release_ref().await.map_err(to_js)
    }
}
