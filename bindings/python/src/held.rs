//! `Held`: proof of an acquired lock (`ferrolock.Held` wraps it).

use crate::error::IntoPy as _;
use crate::runtime::{self, Completions, Driver, Owned, Task};
use pyo3::prelude::*;
use std::sync::Arc;
use std::time::Duration;

/// An acquired lock. A handle inherited through `fork()` is disarmed in the
/// child: there it releases and renews nothing.
#[pyclass(frozen, module = "ferrolock._native")]
pub struct Held {
    inner: Owned<(Arc<ferrolock::Held>, Driver)>,
}

impl Held {
    pub fn new(held: ferrolock::Held, driver: Driver) -> Held {
        Held { inner: Owned::new((Arc::new(held), driver)) }
    }

    fn driver(&self) -> &Driver {
        &self.inner.get().1
    }

    /// The core handle, disarmed first if this process did not make it.
    fn get(&self) -> &Arc<ferrolock::Held> {
        let held = &self.inner.get().0;
        if !self.inner.is_ours() {
            held.disarm();
        }
        held
    }
}

#[pymethods]
impl Held {
    #[getter]
    fn name(&self) -> &str {
        self.get().name()
    }
    #[getter]
    fn namespace(&self) -> &str {
        self.get().namespace()
    }
    #[getter]
    fn key(&self) -> &str {
        self.get().key()
    }
    #[getter]
    fn fence(&self) -> u64 {
        self.get().fence()
    }
    #[getter]
    fn mode(&self) -> &'static str {
        self.get().mode().as_str()
    }
    #[getter]
    fn holder(&self) -> &str {
        self.get().holder()
    }
    /// The ttl renewals use, in seconds.
    #[getter]
    fn ttl(&self) -> f64 {
        self.get().ttl().as_secs_f64()
    }
    #[getter]
    fn expires_at_ms(&self) -> u64 {
        self.get().expires_at_ms()
    }
    #[getter]
    fn lost(&self) -> bool {
        self.get().is_lost()
    }
    #[getter]
    fn armed(&self) -> bool {
        self.get().is_armed()
    }

    fn release(&self, py: Python<'_>) -> PyResult<bool> {
        let held = self.get();
        if !held.is_armed() {
            return Ok(false); // nothing to do: no round trip, no runtime
        }
        runtime::block_on(py, self.driver(), held.drive(), held.release_ref()).py()
    }

    fn release_async(&self, done: &Completions, id: u64) -> Task {
        let held = self.get().clone();
        runtime::spawn(async move { held.release_ref().await }, done, id)
    }

    /// Release on the runtime without waiting (a cancelled asyncio acquire
    /// whose lock arrived anyway).
    fn release_soon(&self) {
        let held = self.get().clone();
        if held.is_armed() {
            runtime::rt(self.driver()).spawn(async move {
                let _ = held.release_ref().await;
            });
        }
    }

    /// The end of a scope (`with`, `run`): release, then `LockLost` if the
    /// lock was lost meanwhile, unless the body failed (its error goes on).
    fn finish(&self, py: Python<'_>, body_failed: bool) -> PyResult<()> {
        let held = self.get();
        runtime::block_on(py, self.driver(), held.drive(), held.finish(body_failed)).py()
    }

    fn finish_async(&self, body_failed: bool, done: &Completions, id: u64) -> Task {
        let held = self.get().clone();
        runtime::spawn(async move { held.finish(body_failed).await }, done, id)
    }

    fn refresh(&self, py: Python<'_>, ttl: f64) -> PyResult<()> {
        let ttl = runtime::seconds(ttl, "ttl")?;
        let held = self.get();
        runtime::block_on(py, self.driver(), held.drive(), held.refresh(ttl)).py()
    }

    fn refresh_async(&self, ttl: f64, done: &Completions, id: u64) -> PyResult<Task> {
        let ttl = runtime::seconds(ttl, "ttl")?;
        let held = self.get().clone();
        Ok(runtime::spawn(async move { held.refresh(ttl).await }, done, id))
    }

    /// Hand off: the token, and this handle disarmed.
    fn take_token(&self) -> PyResult<String> {
        self.get().take_token().py()
    }

    /// Wait until the lock is found lost, up to `timeout` seconds (`None`:
    /// forever). Returns whether it was lost.
    #[pyo3(signature = (timeout))]
    fn wait_lost(&self, py: Python<'_>, timeout: Option<f64>) -> PyResult<bool> {
        let held = self.get().clone();
        let limit = timeout.map(|t| runtime::seconds(t, "timeout")).transpose()?;
        runtime::wait(py, self.driver(), held.drive(), wait_lost(held, limit))
    }

    #[pyo3(signature = (timeout, done, id))]
    fn wait_lost_async(&self, timeout: Option<f64>, done: &Completions, id: u64) -> PyResult<Task> {
        let held = self.get().clone();
        let limit = timeout.map(|t| runtime::seconds(t, "timeout")).transpose()?;
        Ok(runtime::spawn(async move { Ok::<_, ferrolock::Error>(wait_lost(held, limit).await) }, done, id))
    }
}

async fn wait_lost(held: Arc<ferrolock::Held>, limit: Option<Duration>) -> bool {
    match limit {
        None => {
            held.lost().await;
            true
        }
        Some(d) => tokio::time::timeout(d, held.lost()).await.is_ok(),
    }
}
