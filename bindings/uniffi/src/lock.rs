//! `Lock`: a named lock with its options, made by `Locks.lock`.

use crate::error::{invalid, Result};
use crate::held::Held;
use crate::runtime;
use ferrolock::Drive;
use std::sync::Arc;

#[derive(uniffi::Object)]
pub struct Lock {
    /// The core lock, or why its options cannot be used (a negative ttl):
    /// reported by the first operation, as the core reports a bad name.
    lock: Result<ferrolock::Lock, String>,
    drive: Drive,
}

impl Lock {
    pub fn new(lock: Result<ferrolock::Lock, String>, drive: Drive) -> Lock {
        Lock { lock, drive }
    }

    fn core(&self) -> Result<ferrolock::Lock> {
        match &self.lock {
            Ok(l) => Ok(l.clone()),
            Err(why) => Err(invalid(why.clone())),
        }
    }

    fn held(&self, h: Option<ferrolock::Held>) -> Option<Arc<Held>> {
        h.map(|h| Held::new(h, self.drive))
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
        let h = runtime::run(self.drive, async move { lock.try_acquire().await }).await?;
        Ok(self.held(h))
    }
    pub fn try_acquire_blocking(&self) -> Result<Option<Arc<Held>>> {
        let lock = self.core()?;
        Ok(self.held(runtime::block(lock.try_acquire())?))
    }

    /// Wait up to `timeout_ms` (`i64::MAX`: forever); TIMEOUT after it.
    pub async fn acquire(&self, timeout_ms: i64) -> Result<Arc<Held>> {
        let t = runtime::timeout(timeout_ms)?;
        let lock = self.core()?;
        let h = runtime::run(self.drive, async move { lock.acquire(t).await }).await?;
        Ok(Held::new(h, self.drive))
    }
    pub fn acquire_blocking(&self, timeout_ms: i64) -> Result<Arc<Held>> {
        let t = runtime::timeout(timeout_ms)?;
        let lock = self.core()?;
        Ok(Held::new(runtime::block(lock.acquire(t))?, self.drive))
    }

    /// Like `acquire`, but nothing instead of a TIMEOUT.
    pub async fn acquire_or_none(&self, timeout_ms: i64) -> Result<Option<Arc<Held>>> {
        let t = runtime::timeout(timeout_ms)?;
        let lock = self.core()?;
        let h = runtime::run(self.drive, async move { lock.acquire_or_none(t).await }).await?;
        Ok(self.held(h))
    }
    pub fn acquire_or_none_blocking(&self, timeout_ms: i64) -> Result<Option<Arc<Held>>> {
        let t = runtime::timeout(timeout_ms)?;
        let lock = self.core()?;
        Ok(self.held(runtime::block(lock.acquire_or_none(t))?))
    }
}
