//! `Provider`: a `ferrolock::Locks` for Python, sync and async calls side
//! by side. The Python package builds `Locks`, `Lock` and the context
//! managers over it.

use crate::error::{invalid, to_py, IntoPy as _};
use crate::events::Events;
use crate::held::Held;
use crate::runtime::{self, Completions, Driver, Owned, Task};
use ferrolock::{Error, LockInfo, LockState, Mode};
use pyo3::prelude::*;
use std::sync::Mutex;
use std::time::Duration;

/// `(fence, mode, holder, expires_in seconds, readers)`, or `None` when free.
type StateTuple = Option<(u64, &'static str, String, f64, u32)>;
/// `(name, fence, mode, holder, expires_in seconds, readers)`.
type InfoTuple = (String, u64, &'static str, String, f64, u32);

fn state_tuple(s: LockState) -> StateTuple {
    match s {
        LockState::Free => None,
        LockState::Held { fence, mode, holder, expires_in, readers } => {
            Some((fence, mode.as_str(), holder, expires_in.as_secs_f64(), readers))
        }
    }
}

fn info_tuple(i: LockInfo) -> InfoTuple {
    (i.name, i.fence, i.mode.as_str(), i.holder, i.expires_in.as_secs_f64(), i.readers)
}

/// Seconds (already checked finite and not negative by the Python side) to a Duration.
pub fn seconds(value: f64, what: &str) -> PyResult<Duration> {
    Duration::try_from_secs_f64(value)
        .map_err(|_| invalid(format!("{what} {value} s is not a usable duration (0 to about 5.8e11 years)")))
}

/// A timeout: `None` waits forever.
fn timeout(value: Option<f64>) -> PyResult<Duration> {
    value.map_or(Ok(Duration::MAX), |v| seconds(v, "timeout"))
}

struct Current {
    /// The provider, and the runtime it runs on.
    locks: Owned<(ferrolock::Locks, Driver)>,
    closed: bool,
}

/// A connection to one backend (`ferrolock.Locks` wraps it).
#[pyclass(frozen, module = "ferrolock._native")]
pub struct Provider {
    /// The URL as given (it may hold a password: it is only used to connect
    /// again in a forked child, never shown).
    url: String,
    /// Made by the synchronous API (a runtime of its own) or by asyncio.
    sync: bool,
    current: Mutex<Current>,
}

/// What to acquire: the Python `Lock`'s options.
#[derive(Clone)]
struct Spec {
    name: String,
    ttl: Duration,
    shared: bool,
    holder: Option<String>,
    auto_renew: bool,
}

impl Spec {
    fn new(name: String, ttl: f64, shared: bool, holder: Option<String>, auto_renew: bool) -> PyResult<Spec> {
        // A ttl too long for a Duration is beyond every backend's maximum.
        let ttl = Duration::try_from_secs_f64(ttl)
            .map_err(|_| invalid(format!("ttl {ttl} s is above this backend's maximum")))?;
        Ok(Spec { name, ttl, shared, holder, auto_renew })
    }

    fn lock(self, locks: &ferrolock::Locks) -> ferrolock::Lock {
        let mode = if self.shared { Mode::Shared } else { Mode::Exclusive };
        let options = ferrolock::LockOptions { ttl: self.ttl, mode, holder: self.holder, auto_renew: self.auto_renew };
        locks.lock_with(self.name, options)
    }
}

/// A connection (runs inside the runtime the provider will use). A SQLite
/// file a parent process had open is refused in a forked child by the core.
async fn connect(url: String) -> Result<ferrolock::Locks, Error> {
    let url = if url.is_empty() { ferrolock::default_url() } else { url };
    ferrolock::Locks::connect(&url).await
}

impl Provider {
    fn new(url: String, locks: ferrolock::Locks, driver: Driver) -> Provider {
        let sync = driver.is_some();
        Provider { url, sync, current: Mutex::new(Current { locks: Owned::new((locks, driver)), closed: false }) }
    }

    /// Connect on a runtime of its own (sync) or the shared one (asyncio).
    fn connect_on(url: String, sync: bool) -> Result<(ferrolock::Locks, Driver), Error> {
        let driver: Driver = if sync { Some(runtime::private()) } else { None };
        let locks = runtime::rt(&driver).block_on(connect(url))?;
        Ok((locks, driver))
    }

    /// The current connection as it is, for reading its fixed properties
    /// (no I/O, no reconnection in a forked child).
    fn peek(&self) -> ferrolock::Locks {
        self.current.lock().unwrap_or_else(|e| e.into_inner()).locks.get().0.clone()
    }

    /// The provider to use now: in a forked child, a new connection to the
    /// same URL (the inherited one belongs to the parent).
    fn locks(&self, py: Python<'_>) -> PyResult<(ferrolock::Locks, Driver)> {
        let mut cur = self.current.lock().unwrap_or_else(|e| e.into_inner());
        if cur.closed {
            return Err(to_py(Error::Closed));
        }
        if !cur.locks.is_ours() {
            // Connect with the GIL held: releasing it while holding this
            // mutex could deadlock with a thread that waits for the mutex.
            let _ = py;
            let (fresh, driver) = Provider::connect_on(self.url.clone(), self.sync).py()?;
            // The inherited value is leaked by Owned's Drop, never dropped;
            // its file stays registered (the parent still has it open).
            let old = std::mem::replace(&mut *cur, Current { locks: Owned::new((fresh, driver)), closed: false });
            std::mem::forget(old);
        }
        Ok(cur.locks.get().clone())
    }
}

#[pymethods]
impl Provider {
    /// Connect (blocking, GIL released). An empty URL is the default URL.
    #[staticmethod]
    fn connect(py: Python<'_>, url: String) -> PyResult<Provider> {
        let (locks, driver) = py.detach(|| Provider::connect_on(url.clone(), true)).py()?;
        Ok(Provider::new(url, locks, driver))
    }

    /// Connect on the runtime; `done(provider, error)` is called at the end.
    #[staticmethod]
    fn connect_async(url: String, done: &Completions, id: u64) -> Task {
        runtime::spawn(
            async move {
                let conn = connect(url.clone()).await?;
                Ok(Provider::new(url, conn, None))
            },
            done,
            id,
        )
    }

    /// The URL with its password replaced by `***`.
    #[getter]
    fn url(&self) -> String {
        self.peek().url().to_owned()
    }

    /// `memory`, `sqlite` or `redis`.
    #[getter]
    fn backend(&self) -> &'static str {
        self.peek().backend().name()
    }

    #[getter]
    fn namespace(&self) -> String {
        self.peek().namespace().to_owned()
    }

    /// `(max_ttl seconds, shared, handoff, queue, notices)`.
    #[getter]
    fn capabilities(&self) -> (f64, bool, bool, bool, bool) {
        let c = self.peek().capabilities();
        (c.max_ttl.as_secs_f64(), c.shared, c.handoff, c.queue, c.notices)
    }

    #[getter]
    fn closed(&self) -> bool {
        self.current.lock().unwrap_or_else(|e| e.into_inner()).closed
    }

    #[pyo3(signature = (name, ttl, shared, holder, auto_renew))]
    fn try_acquire(
        &self,
        py: Python<'_>,
        name: String,
        ttl: f64,
        shared: bool,
        holder: Option<String>,
        auto_renew: bool,
    ) -> PyResult<Option<Held>> {
        let (locks, driver) = self.locks(py)?;
        let lock = Spec::new(name, ttl, shared, holder, auto_renew)?.lock(&locks);
        let held = runtime::block_on(py, &driver, lock.try_acquire()).py()?;
        Ok(held.map(|h| Held::new(h, driver)))
    }

    /// Wait up to `timeout` seconds (`None`: forever). `or_none`: `None`
    /// instead of a `LockTimeout`.
    #[pyo3(signature = (name, ttl, shared, holder, auto_renew, timeout, or_none))]
    #[allow(clippy::too_many_arguments)]
    fn acquire(
        &self,
        py: Python<'_>,
        name: String,
        ttl: f64,
        shared: bool,
        holder: Option<String>,
        auto_renew: bool,
        timeout: Option<f64>,
        or_none: bool,
    ) -> PyResult<Option<Held>> {
        let t = self::timeout(timeout)?;
        let (locks, driver) = self.locks(py)?;
        let lock = Spec::new(name, ttl, shared, holder, auto_renew)?.lock(&locks);
        let held = if or_none {
            runtime::wait(py, &driver, lock.acquire_or_none(t))?.py()?
        } else {
            Some(runtime::wait(py, &driver, lock.acquire(t))?.py()?)
        };
        Ok(held.map(|h| Held::new(h, driver)))
    }

    #[pyo3(signature = (name, ttl, shared, holder, auto_renew, timeout, or_none, done, id))]
    #[allow(clippy::too_many_arguments)]
    fn acquire_async(
        &self,
        py: Python<'_>,
        name: String,
        ttl: f64,
        shared: bool,
        holder: Option<String>,
        auto_renew: bool,
        timeout: Option<f64>,
        or_none: bool,
        done: &Completions, id: u64,
    ) -> PyResult<Task> {
        let t = self::timeout(timeout)?;
        let (locks, driver) = self.locks(py)?;
        let lock = Spec::new(name, ttl, shared, holder, auto_renew)?.lock(&locks);
        Ok(runtime::spawn(
            async move {
                let held = if or_none {
                    lock.acquire_or_none(t).await?
                } else {
                    Some(lock.acquire(t).await?)
                };
                Ok(held.map(|h| Held::new(h, driver)))
            },
            done,
            id,
        ))
    }

    fn resume(&self, py: Python<'_>, token: String) -> PyResult<Held> {
        let (locks, driver) = self.locks(py)?;
        let held = runtime::block_on(py, &driver, locks.resume(&token)).py()?;
        Ok(Held::new(held, driver))
    }

    fn resume_async(&self, py: Python<'_>, token: String, done: &Completions, id: u64) -> PyResult<Task> {
        let (locks, driver) = self.locks(py)?;
        Ok(runtime::spawn(async move { locks.resume(&token).await.map(|h| Held::new(h, driver)) }, done, id))
    }

    fn state(&self, py: Python<'_>, name: String) -> PyResult<StateTuple> {
        let (locks, driver) = self.locks(py)?;
        runtime::block_on(py, &driver, locks.state(&name)).py().map(state_tuple)
    }

    fn state_async(&self, py: Python<'_>, name: String, done: &Completions, id: u64) -> PyResult<Task> {
        let (locks, _) = self.locks(py)?;
        Ok(runtime::spawn(async move { locks.state(&name).await.map(state_tuple) }, done, id))
    }

    fn list(&self, py: Python<'_>, prefix: String) -> PyResult<Vec<InfoTuple>> {
        let (locks, driver) = self.locks(py)?;
        runtime::block_on(py, &driver, locks.list(&prefix)).py().map(|v| v.into_iter().map(info_tuple).collect())
    }

    fn list_async(&self, py: Python<'_>, prefix: String, done: &Completions, id: u64) -> PyResult<Task> {
        let (locks, _) = self.locks(py)?;
        Ok(runtime::spawn(
            async move { locks.list(&prefix).await.map(|v| v.into_iter().map(info_tuple).collect::<Vec<_>>()) },
            done,
            id,
        ))
    }

    fn force_release(&self, py: Python<'_>, name: String) -> PyResult<bool> {
        let (locks, driver) = self.locks(py)?;
        runtime::block_on(py, &driver, locks.force_release(&name)).py()
    }

    fn force_release_async(&self, py: Python<'_>, name: String, done: &Completions, id: u64) -> PyResult<Task> {
        let (locks, _) = self.locks(py)?;
        Ok(runtime::spawn(async move { locks.force_release(&name).await }, done, id))
    }

    fn ping(&self, py: Python<'_>) -> PyResult<()> {
        let (locks, driver) = self.locks(py)?;
        runtime::block_on(py, &driver, locks.ping()).py()
    }

    fn ping_async(&self, py: Python<'_>, done: &Completions, id: u64) -> PyResult<Task> {
        let (locks, _) = self.locks(py)?;
        Ok(runtime::spawn(async move { locks.ping().await }, done, id))
    }

    /// Close: renewals stop, later calls raise `Closed`. A second close does nothing.
    fn close(&self, py: Python<'_>) {
        if let Some((locks, driver)) = self.take_for_close() {
            runtime::block_on(py, &driver, locks.close());
            if let Some(p) = &driver {
                p.stop();
            }
        }
    }

    fn close_async(&self, done: &Completions, id: u64) -> Task {
        let locks = self.take_for_close();
        runtime::spawn(
            async move {
                if let Some((locks, _)) = locks {
                    locks.close().await;
                }
                Ok(())
            },
            done,
            id,
        )
    }

    /// A subscription to this provider's events.
    fn subscribe(&self, py: Python<'_>) -> PyResult<Events> {
        Ok(Events::new(self.locks(py)?.0.events()))
    }
}

impl Provider {
    /// Mark closed; the provider to close, unless it was already closed or
    /// belongs to a parent process (a child must not close its parent's).
    fn take_for_close(&self) -> Option<(ferrolock::Locks, Driver)> {
        let mut cur = self.current.lock().unwrap_or_else(|e| e.into_inner());
        if std::mem::replace(&mut cur.closed, true) || !cur.locks.is_ours() {
            return None;
        }
        Some(cur.locks.get().clone())
    }
}
