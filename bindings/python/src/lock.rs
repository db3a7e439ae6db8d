//! `Lock`: a named lock with its options, made once by `Provider.lock`; the
//! Python `Lock` classes (sync and asyncio) hold one and acquire through it.
//!
//! It keeps the core lock of its provider's current connection, never one
//! made before a fork(): in a forked child the provider connects again, and
//! the lock is made again from that connection.

use crate::error::{invalid, IntoPy as _};
use crate::held::Held;
use crate::runtime::{self, Completions, Connection, Driver, Owned, Task};
use ferrolock::{LockOptions, Mode};
use pyo3::prelude::*;
use std::sync::{Arc, Mutex};
use std::time::Duration;

#[pyclass(frozen, module = "ferrolock._native")]
pub struct Lock {
    conn: Arc<Connection>,
    name: String,
    /// The options, or why they cannot be used (a ttl too long for a
    /// Duration is beyond every backend's maximum): reported by the first
    /// operation, as the core reports a bad name or ttl.
    options: Result<LockOptions, String>,
    /// The core lock, made from the connection of this process image.
    core: Mutex<Option<Owned<ferrolock::Lock>>>,
}

impl Lock {
    pub fn new(
        conn: Arc<Connection>,
        name: String,
        ttl: f64,
        shared: bool,
        holder: Option<String>,
        auto_renew: bool,
    ) -> Lock {
        let mode = if shared { Mode::Shared } else { Mode::Exclusive };
        let options = Duration::try_from_secs_f64(ttl)
            .map(|ttl| LockOptions { ttl, mode, holder, auto_renew })
            .map_err(|_| format!("ttl {ttl} s is above this backend's maximum"));
        Lock { conn, name, options, core: Mutex::new(None) }
    }

    /// The core lock to use now, and the runtime its provider runs on.
    fn core(&self, py: Python<'_>) -> PyResult<(ferrolock::Lock, Driver)> {
        // Raises `Closed` once closed; connects again in a forked child.
        let (locks, driver) = self.conn.get(py)?;
        let options = self.options.as_ref().map_err(|why| invalid(why.clone()))?;
        let mut core = self.core.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(lock) = core.as_ref().filter(|l| l.is_ours()) {
            return Ok((lock.get().clone(), driver));
        }
        // None yet, or one made before a fork (its Owned leaks it, as the
        // parent's connection it belongs to).
        let lock = locks.lock_with(self.name.as_str(), options.clone());
        *core = Some(Owned::new(lock.clone()));
        Ok((lock, driver))
    }
}

/// Run an acquire on the runtime for asyncio; its handle reports to `done`.
fn spawn_acquire<F>(fut: F, driver: Driver, done: &Completions, id: u64) -> Task
where
    F: std::future::Future<Output = Result<Option<ferrolock::Held>, ferrolock::Error>> + Send + 'static,
{
    runtime::spawn(async move { Ok(fut.await?.map(|h| Held::new(h, driver))) }, done, id)
}

#[pymethods]
impl Lock {
    /// Take the lock if it is free now; `None` if someone holds it.
    fn try_acquire(&self, py: Python<'_>) -> PyResult<Option<Held>> {
        let (lock, driver) = self.core(py)?;
        let held = runtime::block_on(py, &driver, lock.drive(), lock.try_acquire()).py()?;
        Ok(held.map(|h| Held::new(h, driver)))
    }

    /// Wait up to `timeout` seconds (`None`: forever); `LockTimeout` after it.
    fn acquire(&self, py: Python<'_>, timeout: Option<f64>) -> PyResult<Held> {
        let t = runtime::timeout(timeout)?;
        let (lock, driver) = self.core(py)?;
        let held = runtime::wait(py, &driver, lock.drive(), lock.acquire(t))?.py()?;
        Ok(Held::new(held, driver))
    }

    /// Like `acquire`, but `None` instead of a `LockTimeout`.
    fn acquire_or_none(&self, py: Python<'_>, timeout: Option<f64>) -> PyResult<Option<Held>> {
        let t = runtime::timeout(timeout)?;
        let (lock, driver) = self.core(py)?;
        let held = runtime::wait(py, &driver, lock.drive(), lock.acquire_or_none(t))?.py()?;
        Ok(held.map(|h| Held::new(h, driver)))
    }

    fn try_acquire_async(&self, py: Python<'_>, done: &Completions, id: u64) -> PyResult<Task> {
        let (lock, driver) = self.core(py)?;
        Ok(spawn_acquire(async move { lock.try_acquire().await }, driver, done, id))
    }

    #[pyo3(signature = (timeout, done, id))]
    fn acquire_async(&self, py: Python<'_>, timeout: Option<f64>, done: &Completions, id: u64) -> PyResult<Task> {
        let t = runtime::timeout(timeout)?;
        let (lock, driver) = self.core(py)?;
        Ok(spawn_acquire(async move { lock.acquire(t).await.map(Some) }, driver, done, id))
    }

    #[pyo3(signature = (timeout, done, id))]
    fn acquire_or_none_async(
        &self,
        py: Python<'_>,
        timeout: Option<f64>,
        done: &Completions,
        id: u64,
    ) -> PyResult<Task> {
        let t = runtime::timeout(timeout)?;
        let (lock, driver) = self.core(py)?;
        Ok(spawn_acquire(async move { lock.acquire_or_none(t).await }, driver, done, id))
    }
}
