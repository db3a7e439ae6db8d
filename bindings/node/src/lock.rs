//! `NativeLock`: a named lock description (the core's `LockOptions`), and
//! the cancel switch an AbortSignal flips.

use crate::error::{aborted, to_js, Result};
use crate::held::NativeHeld;
use crate::runtime::{millis, Ops};
use ferrolock::{LockOptions, Mode};
use napi::bindgen_prelude::Either;
use napi_derive::napi;
use tokio_util::sync::CancellationToken;

/// Stops a wait: the TypeScript layer cancels it when the caller's
/// AbortSignal fires. Dropping the wait leaves nothing held (the core's
/// cancellation guarantee).
#[napi]
#[derive(Default)]
pub struct NativeCancel {
    token: CancellationToken,
}

#[napi]
impl NativeCancel {
    #[napi(constructor)]
    pub fn new() -> Self {
        Self::default()
    }

    #[napi]
    pub fn cancel(&self) {
        self.token.cancel();
    }
}

/// The core's options from those of `locks.lock(name, { ttl, shared,
/// holder, autoRenew })`, `ttl` in milliseconds; what is not given keeps
/// its default.
pub fn options(
    ttl: Option<f64>,
    shared: Option<bool>,
    holder: Option<String>,
    auto_renew: Option<bool>,
) -> Result<LockOptions> {
    let mut options = LockOptions {
        holder,
        ..LockOptions::default()
    };
    if let Some(ttl) = ttl {
        options.ttl = millis("ttl", ttl, false)?;
    }
    if shared == Some(true) {
        options.mode = Mode::Shared;
    }
    if auto_renew == Some(false) {
        options.auto_renew = false;
    }
    Ok(options)
}

/// A named lock: name, ttl, mode, holder, renewal. No I/O until used.
#[napi]
pub struct NativeLock {
    lock: ferrolock::Lock,
    bridge: Ops,
}

impl NativeLock {
    pub fn new(lock: ferrolock::Lock, bridge: Ops) -> NativeLock {
        NativeLock { lock, bridge }
    }
}

#[napi]
impl NativeLock {
    #[napi(getter)]
    pub fn name(&self) -> String {
        self.lock.name().to_owned()
    }

    /// Take the lock if it is free now; `null` if someone holds it.
    #[napi]
    pub fn try_acquire(&self) -> Result<Either<Option<NativeHeld>, u32>> {
        let lock = self.lock.clone();
        let bridge = self.bridge.clone();
        self.bridge.run(async move {
            let held = lock.try_acquire().await.map_err(to_js)?;
            Ok(held.map(|h| NativeHeld::new(h, bridge)))
        })
    }

    /// Wait up to `timeout` ms (`Infinity`: forever). A timeout rejects with
    /// `[TIMEOUT]`, or resolves to `null` when `orNull`; `cancel` stops the
    /// wait with `[ABORTED]`.
    #[napi]
    pub fn acquire(
        &self,
        timeout: f64,
        or_null: bool,
        cancel: Option<&NativeCancel>,
    ) -> Result<Either<Option<NativeHeld>, u32>> {
        let timeout = millis("timeout", timeout, true)?;
        let lock = self.lock.clone();
        let bridge = self.bridge.clone();
        let cancel = cancel.map(|c| c.token.clone());
        self.bridge.run(async move {
            let wait = async {
                if or_null {
                    lock.acquire_or_none(timeout).await
                } else {
                    lock.acquire(timeout).await.map(Some)
                }
            };
            let cancel = async {
                match cancel {
                    Some(c) => c.cancelled().await,
                    None => std::future::pending().await,
                }
            };
            let held = tokio::select! {
                biased;
                _ = cancel => return Err(aborted()),
                r = wait => r.map_err(to_js)?,
            };
            Ok(held.map(|h| NativeHeld::new(h, bridge)))
        })
    }
}

/// napi's own `async fn` path (a threadsafe function and tasks on napi's
/// runtime per call), measured against the bridge by bench/node-bridge;
/// not in the shipped addon.
#[cfg(feature = "bench-napi-async")]
#[napi]
impl NativeLock {
    /// `try_acquire` as a napi `async fn`: the NativeHeld or null.
    #[napi]
    pub async fn try_acquire_napi_async(&self) -> Result<Option<NativeHeld>> {
        let lock = self.lock.clone();
        let bridge = self.bridge.clone();
        let held = lock.try_acquire().await.map_err(to_js)?;
        Ok(held.map(|h| NativeHeld::new(h, bridge)))
    }
}
