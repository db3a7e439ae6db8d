//! `Lock`: a named lock with its options, made by `Locks.lock`.

use crate::error::{invalid, Result};
use crate::held::Held;
use crate::runtime::{self, Exec};
use std::sync::Arc;

#[derive(uniffi::Object)]
pub struct Lock {
    /// The core lock, or why its options cannot be used (a negative ttl):
    /// reported by the first operation, as the core reports a bad name.
    lock: Result<ferrolock::Lock, String>,
    exec: Exec,
}

impl Lock {
    pub fn new(lock: Result<ferrolock::Lock, String>, exec: Exec) -> Lock {
        Lock { lock, exec }
    }

    fn core(&self) -> Result<ferrolock::Lock> {
        match &self.lock {
            Ok(l) => Ok(l.clone()),
            Err(why) => Err(invalid(why.clone())),
        }
    }

    fn held(&self, h: Option<ferrolock::Held>) -> Option<Arc<Held>> {
        h.map(|h| Held::new(h, self.exec.clone()))
    }
}

#[uniffi::export]
impl Lock {
    pub fn name(&self) -> String {
        self.lock.as_ref().map(|l| l.name().to_owned()).unwrap_or_default()
    }

    /// Take the lock if it is free now; nothing if someone holds it.
    pub async fn try_acquire(&self) -> Result<Option<Arc<Held>>> {
        let lock = self.core()?;
        let h = self.exec.run(async move { lock.try_acquire().await }).await?;
        Ok(self.held(h))
    }
    pub fn try_acquire_blocking(&self) -> Result<Option<Arc<Held>>> {
        let lock = self.core()?;
        Ok(self.held(self.exec.block(lock.try_acquire())?))
    }

    /// Wait up to `timeout_ms` (`i64::MAX`: forever); TIMEOUT after it.
    pub async fn acquire(&self, timeout_ms: i64) -> Result<Arc<Held>> {
        let t = runtime::timeout(timeout_ms)?;
        let lock = self.core()?;
        let h = self.exec.run(async move { lock.acquire(t).await }).await?;
        Ok(Held::new(h, self.exec.clone()))
    }
    pub fn acquire_blocking(&self, timeout_ms: i64) -> Result<Arc<Held>> {
        let t = runtime::timeout(timeout_ms)?;
        let lock = self.core()?;
        Ok(Held::new(self.exec.block(lock.acquire(t))?, self.exec.clone()))
    }

    /// Like `acquire`, but nothing instead of a TIMEOUT.
    pub async fn acquire_or_none(&self, timeout_ms: i64) -> Result<Option<Arc<Held>>> {
        let t = runtime::timeout(timeout_ms)?;
        let lock = self.core()?;
        let h = self.exec.run(async move { lock.acquire_or_none(t).await }).await?;
        Ok(self.held(h))
    }
    pub fn acquire_or_none_blocking(&self, timeout_ms: i64) -> Result<Option<Arc<Held>>> {
        let t = runtime::timeout(timeout_ms)?;
        let lock = self.core()?;
        Ok(self.held(self.exec.block(lock.acquire_or_none(t))?))
    }
}
