//! `Held`: proof of an acquired lock. Dropping the last reference (Kotlin's
//! `destroy()`, a Swift deinit) without a release releases it, as the core
//! does for a dropped handle.

use crate::error::Result;
use crate::runtime::{self, ms, Exec};
use crate::LockMode;
use ferrolock::Drive;
use std::sync::Arc;

#[derive(uniffi::Object)]
pub struct Held {
    held: Arc<ferrolock::Held>,
    exec: Exec,
}

impl Held {
    pub fn new(held: ferrolock::Held, exec: Exec) -> Arc<Held> {
        Arc::new(Held {
            held: Arc::new(held),
            exec,
        })
    }
}

#[uniffi::export]
impl Held {
    pub fn name(&self) -> String {
        self.held.name().to_owned()
    }
    pub fn namespace(&self) -> String {
        self.held.namespace().to_owned()
    }
    pub fn key(&self) -> String {
        self.held.key().to_owned()
    }
    /// The fencing token of this acquisition: higher than every earlier one.
    pub fn fence(&self) -> u64 {
        self.held.fence()
    }
    pub fn mode(&self) -> LockMode {
        self.held.mode().into()
    }
    pub fn holder(&self) -> String {
        self.held.holder().to_owned()
    }
    /// The ttl renewals use, in milliseconds.
    pub fn ttl_ms(&self) -> u64 {
        ms(self.held.ttl())
    }
    pub fn expires_at_ms(&self) -> u64 {
        self.held.expires_at_ms()
    }
    /// Whether the lock was found lost (by renewal or refresh).
    pub fn is_lost(&self) -> bool {
        self.held.is_lost()
    }
    /// Whether this handle still owns the lock (not released or handed off).
    pub fn is_armed(&self) -> bool {
        self.held.is_armed()
    }

    /// Release; whether this handle still held the lock (a second call: false).
    pub async fn release(&self) -> Result<bool> {
        if !self.held.is_armed() {
            return Ok(false); // nothing to do: no round trip
        }
        let held = self.held.clone();
        self.exec.run(async move { held.release_ref().await }).await
    }
    pub fn release_blocking(&self) -> Result<bool> {
        if !self.held.is_armed() {
            return Ok(false);
        }
        self.exec.block(self.held.release_ref())
    }

    /// Extend the lease to `ttl_ms` from now; later renewals use it too.
    pub async fn refresh(&self, ttl_ms: i64) -> Result<()> {
        let ttl = runtime::millis(ttl_ms, "ttl").map_err(crate::error::invalid)?;
        let held = self.held.clone();
        self.exec.run(async move { held.refresh(ttl).await }).await
    }
    pub fn refresh_blocking(&self, ttl_ms: i64) -> Result<()> {
        let ttl = runtime::millis(ttl_ms, "ttl").map_err(crate::error::invalid)?;
        self.exec.block(self.held.refresh(ttl))
    }

    /// The end of a scope (`withLock`): release, then LOST if the lock was
    /// lost meanwhile, unless the body failed (its error goes on).
    pub async fn finish(&self, body_failed: bool) -> Result<()> {
        let held = self.held.clone();
        self.exec.run(async move { held.finish(body_failed).await }).await
    }
    pub fn finish_blocking(&self, body_failed: bool) -> Result<()> {
        self.exec.block(self.held.finish(body_failed))
    }

    /// Hand off: the token, and this handle disarmed.
    pub fn take_token(&self) -> Result<String> {
        Ok(self.held.take_token()?)
    }

    /// Wait until the lock is found lost, up to `timeout_ms` (`i64::MAX`:
    /// forever). Whether it was lost.
    pub async fn wait_lost(&self, timeout_ms: i64) -> Result<bool> {
        let limit = runtime::timeout(timeout_ms)?;
        let held = self.held.clone();
        runtime::run(Drive::Io, async move {
            Ok(tokio::time::timeout(limit, held.lost()).await.is_ok())
        })
        .await
    }
}
