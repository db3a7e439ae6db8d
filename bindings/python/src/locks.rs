//! `Provider`: a `ferrolock::Locks` for Python, sync and async calls side
//! by side, and the maker of native `Lock`s. The Python package builds
//! `Locks`, `Lock` and the context managers over them.

use crate::error::IntoPy as _;
use crate::events::Events;
use crate::held::Held;
use crate::lock::Lock;
use crate::runtime::{self, Completions, Connection, Task};
use ferrolock::{LockInfo, LockState};
use pyo3::prelude::*;
use std::sync::Arc;

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

/// A connection to one backend (`ferrolock.Locks` wraps it).
#[pyclass(frozen, module = "ferrolock._native")]
pub struct Provider {
    conn: Arc<Connection>,
}

impl Provider {
    fn new(conn: Connection) -> Provider {
        Provider { conn: Arc::new(conn) }
    }
}

#[pymethods]
impl Provider {
    /// Connect (blocking, GIL released). An empty URL is the default URL.
    #[staticmethod]
    fn connect(py: Python<'_>, url: String) -> PyResult<Provider> {
        Ok(Provider::new(Connection::open_sync(py, url)?))
    }

    /// Connect on the runtime; `done(provider, error)` is called at the end.
    #[staticmethod]
    fn connect_async(url: String, done: &Completions, id: u64) -> Task {
        runtime::spawn(
            async move {
                let locks = runtime::connect(url.clone()).await?;
                Ok(Provider::new(Connection::new(url, locks, None)))
            },
            done,
            id,
        )
    }

    /// The URL with its password replaced by `***`.
    #[getter]
    fn url(&self) -> String {
        self.conn.peek().url().to_owned()
    }

    /// `memory`, `sqlite` or `redis`.
    #[getter]
    fn backend(&self) -> &'static str {
        self.conn.peek().backend().name()
    }

    #[getter]
    fn namespace(&self) -> String {
        self.conn.peek().namespace().to_owned()
    }

    /// `(max_ttl seconds, shared, handoff, queue, notices)`.
    #[getter]
    fn capabilities(&self) -> (f64, bool, bool, bool, bool) {
        let c = self.conn.peek().capabilities();
        (c.max_ttl.as_secs_f64(), c.shared, c.handoff, c.queue, c.notices)
    }

    #[getter]
    fn closed(&self) -> bool {
        self.conn.is_closed()
    }

    /// A lock with these options (no I/O). A ttl no backend takes is
    /// reported by the lock's first operation, as a bad name is.
    #[pyo3(signature = (name, ttl, shared, holder, auto_renew))]
    fn lock(&self, name: String, ttl: f64, shared: bool, holder: Option<String>, auto_renew: bool) -> Lock {
        Lock::new(self.conn.clone(), name, ttl, shared, holder, auto_renew)
    }

    fn resume(&self, py: Python<'_>, token: String) -> PyResult<Held> {
        let (locks, driver) = self.conn.get(py)?;
        let held = runtime::block_on(py, &driver, locks.drive(), locks.resume(&token)).py()?;
        Ok(Held::new(held, driver))
    }

    fn resume_async(&self, py: Python<'_>, token: String, done: &Completions, id: u64) -> PyResult<Task> {
        let (locks, driver) = self.conn.get(py)?;
        Ok(runtime::spawn(async move { locks.resume(&token).await.map(|h| Held::new(h, driver)) }, done, id))
    }

    fn state(&self, py: Python<'_>, name: String) -> PyResult<StateTuple> {
        let (locks, driver) = self.conn.get(py)?;
        runtime::block_on(py, &driver, locks.drive(), locks.state(&name)).py().map(state_tuple)
    }

    fn state_async(&self, py: Python<'_>, name: String, done: &Completions, id: u64) -> PyResult<Task> {
        let (locks, _) = self.conn.get(py)?;
        Ok(runtime::spawn(async move { locks.state(&name).await.map(state_tuple) }, done, id))
    }

    fn list(&self, py: Python<'_>, prefix: String) -> PyResult<Vec<InfoTuple>> {
        let (locks, driver) = self.conn.get(py)?;
        runtime::block_on(py, &driver, locks.drive(), locks.list(&prefix)).py().map(|v| v.into_iter().map(info_tuple).collect())
    }

    fn list_async(&self, py: Python<'_>, prefix: String, done: &Completions, id: u64) -> PyResult<Task> {
        let (locks, _) = self.conn.get(py)?;
        Ok(runtime::spawn(
            async move { locks.list(&prefix).await.map(|v| v.into_iter().map(info_tuple).collect::<Vec<_>>()) },
            done,
            id,
        ))
    }

    fn force_release(&self, py: Python<'_>, name: String) -> PyResult<bool> {
        let (locks, driver) = self.conn.get(py)?;
        runtime::block_on(py, &driver, locks.drive(), locks.force_release(&name)).py()
    }

    fn force_release_async(&self, py: Python<'_>, name: String, done: &Completions, id: u64) -> PyResult<Task> {
        let (locks, _) = self.conn.get(py)?;
        Ok(runtime::spawn(async move { locks.force_release(&name).await }, done, id))
    }

    fn ping(&self, py: Python<'_>) -> PyResult<()> {
        let (locks, driver) = self.conn.get(py)?;
        runtime::block_on(py, &driver, locks.drive(), locks.ping()).py()
    }

    fn ping_async(&self, py: Python<'_>, done: &Completions, id: u64) -> PyResult<Task> {
        let (locks, _) = self.conn.get(py)?;
        Ok(runtime::spawn(async move { locks.ping().await }, done, id))
    }

    /// Close: renewals stop, later calls raise `Closed`. A second close does nothing.
    fn close(&self, py: Python<'_>) {
        if let Some((locks, driver)) = self.conn.take_for_close() {
            runtime::block_on(py, &driver, locks.drive(), locks.close());
            if let Some(p) = &driver {
                p.stop();
            }
        }
    }

    fn close_async(&self, done: &Completions, id: u64) -> Task {
        let locks = self.conn.take_for_close();
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
        Ok(Events::new(self.conn.get(py)?.0.events()))
    }
}
