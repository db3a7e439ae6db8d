//! The async bridge, in one place: the tokio runtime every provider of this
//! process runs on, blocking waits that release the GIL and still answer
//! Ctrl-C, callbacks for asyncio, the connection a provider uses now, and
//! durations from Python.
//!
//! After `fork()` the child has none of the parent's threads, so the
//! parent's runtime is dead there: the core's fork generation moves on in
//! the child, the next call builds a fresh runtime (and a provider
//! a new connection), and objects made in an older generation are never
//! used for I/O nor dropped in the child (dropping them could deregister
//! sockets from the epoll instance the child shares with its parent).

use crate::error::{invalid, to_py, IntoPy as _};
use ferrolock::{Drive, Error};
use pyo3::prelude::*;
use pyo3::BoundObject as _;
use std::future::Future;
use std::mem::ManuallyDrop;
use std::task::Poll;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::runtime::Runtime;

/// Seconds (already checked finite and not negative by the Python side) to a Duration.
pub fn seconds(value: f64, what: &str) -> PyResult<Duration> {
    Duration::try_from_secs_f64(value)
        .map_err(|_| invalid(format!("{what} {value} s is not a usable duration (0 to about 5.8e11 years)")))
}

/// A timeout: `None` waits forever.
pub fn timeout(value: Option<f64>) -> PyResult<Duration> {
    value.map_or(Ok(Duration::MAX), |v| seconds(v, "timeout"))
}

/// Which process image we are in: bumped in every forked child.
pub fn generation() -> u64 {
    ferrolock::binding::fork_generation()
}

/// This process's runtime. Only called with the GIL held, so no other
/// thread holds the slot's mutex when `fork()` runs (Python forks with the
/// GIL held).
pub fn runtime() -> &'static Runtime {
    static SLOT: Mutex<Option<(u64, &'static Runtime)>> = Mutex::new(None);
    let gen = generation();
    let mut slot = SLOT.lock().unwrap_or_else(|e| e.into_inner());
    match *slot {
        Some((g, rt)) if g == gen => rt,
        _ => {
            // A parent's runtime (if any) is leaked: its threads are gone.
            let rt: &'static Runtime = Box::leak(Box::new(
                tokio::runtime::Builder::new_multi_thread()
                    .worker_threads(1)
                    .thread_name("ferrolock-py")
                    .enable_all()
                    .build()
                    .expect("ferrolock: cannot start its runtime thread"),
            ));
            *slot = Some((gen, rt));
            rt
        }
    }
}

/// The runtime of one synchronous provider: the core's
/// `ferrolock::blocking::Driven`, a `current_thread` runtime the calling
/// thread drives itself inside each call (a Redis reply wakes the caller
/// straight from the socket), driven between calls by a background thread.
pub type Private = ferrolock::blocking::Driven;

/// Which runtime an object's futures run on: `None`, the shared one.
pub type Driver = Option<Arc<Private>>;

/// A private runtime and its background thread (which stops when the last
/// provider or handle using it is gone).
pub fn private() -> Arc<Private> {
    Private::new("ferrolock-py-sync")
}

/// A value that belongs to the process image it was made in: in a forked
/// child it is leaked instead of dropped.
pub struct Owned<T> {
    generation: u64,
    value: ManuallyDrop<T>,
}

impl<T> Owned<T> {
    pub fn new(value: T) -> Self {
        Owned { generation: generation(), value: ManuallyDrop::new(value) }
    }
    /// Whether it was made by this process (not inherited through fork).
    pub fn is_ours(&self) -> bool {
        self.generation == generation()
    }
    pub fn get(&self) -> &T {
        &self.value
    }
}

impl<T> Drop for Owned<T> {
    fn drop(&mut self) {
        if self.is_ours() {
            unsafe { ManuallyDrop::drop(&mut self.value) }
        }
    }
}

/// A connection (runs inside the runtime the provider will use). A SQLite
/// file a parent process had open is refused in a forked child by the core.
pub async fn connect(url: String) -> Result<ferrolock::Locks, Error> {
    let url = if url.is_empty() { ferrolock::default_url() } else { url };
    ferrolock::Locks::connect(&url).await
}

/// Connect on a runtime of its own (sync) or the shared one (asyncio).
fn connect_on(url: String, sync: bool) -> Result<(ferrolock::Locks, Driver), Error> {
    let driver: Driver = if sync { Some(private()) } else { None };
    let locks = rt(&driver).block_on(connect(url))?;
    Ok((locks, driver))
}

struct Current {
    /// The provider, and the runtime it runs on.
    locks: Owned<(ferrolock::Locks, Driver)>,
    closed: bool,
}

/// A provider's connection as of this process image: what `Provider` and
/// every `Lock` it made call through. In a forked child it connects again to
/// the same URL on first use (the inherited connection belongs to the parent).
pub struct Connection {
    /// The URL as given (it may hold a password: it is only used to connect
    /// again in a forked child, never shown).
    url: String,
    /// Made by the synchronous API (a runtime of its own) or by asyncio.
    sync: bool,
    current: Mutex<Current>,
}

impl Connection {
    pub fn new(url: String, locks: ferrolock::Locks, driver: Driver) -> Connection {
        let sync = driver.is_some();
        Connection { url, sync, current: Mutex::new(Current { locks: Owned::new((locks, driver)), closed: false }) }
    }

    /// Connect with the GIL released, on a runtime of its own (the sync API).
    pub fn open_sync(py: Python<'_>, url: String) -> PyResult<Connection> {
        let (locks, driver) = py.detach(|| connect_on(url.clone(), true)).py()?;
        Ok(Connection::new(url, locks, driver))
    }

    /// The connection as it is, for reading its fixed properties (no I/O,
    /// no reconnection in a forked child).
    pub fn peek(&self) -> ferrolock::Locks {
        self.current.lock().unwrap_or_else(|e| e.into_inner()).locks.get().0.clone()
    }

    pub fn is_closed(&self) -> bool {
        self.current.lock().unwrap_or_else(|e| e.into_inner()).closed
    }

    /// The provider to use now: in a forked child, a new connection to the
    /// same URL (the inherited one belongs to the parent).
    pub fn get(&self, py: Python<'_>) -> PyResult<(ferrolock::Locks, Driver)> {
        let mut cur = self.current.lock().unwrap_or_else(|e| e.into_inner());
        if cur.closed {
            return Err(to_py(Error::Closed));
        }
        if !cur.locks.is_ours() {
            // Connect with the GIL held: releasing it while holding this
            // mutex could deadlock with a thread that waits for the mutex.
            let _ = py;
            let (fresh, driver) = connect_on(self.url.clone(), self.sync).py()?;
            // The inherited value is leaked by Owned's Drop, never dropped;
            // its file stays registered (the parent still has it open).
            let old = std::mem::replace(&mut *cur, Current { locks: Owned::new((fresh, driver)), closed: false });
            std::mem::forget(old);
        }
        Ok(cur.locks.get().clone())
    }

    /// Mark closed; the provider to close, unless it was already closed or
    /// belongs to a parent process (a child must not close its parent's).
    pub fn take_for_close(&self) -> Option<(ferrolock::Locks, Driver)> {
        let mut cur = self.current.lock().unwrap_or_else(|e| e.into_inner());
        if std::mem::replace(&mut cur.closed, true) || !cur.locks.is_ours() {
            return None;
        }
        Some(cur.locks.get().clone())
    }
}

/// The runtime of `driver`.
pub fn rt(driver: &Driver) -> &Runtime {
    match driver {
        Some(p) => p.runtime(),
        None => runtime(),
    }
}

/// Run a short operation (one backend round trip) with the GIL released;
/// a memory one that does not wait (`drive` Inline) completes in place,
/// GIL held (`ferrolock::blocking::poll_inline`).
pub fn block_on<F>(py: Python<'_>, driver: &Driver, drive: Drive, fut: F) -> F::Output
where
    F: Future + Send,
    F::Output: Send,
{
    let rt = rt(driver);
    let mut fut = std::pin::pin!(fut);
    if let Poll::Ready(out) = ferrolock::blocking::poll_inline(rt, drive, fut.as_mut()) {
        return out;
    }
    py.detach(|| rt.block_on(fut))
}

/// How often a blocking wait looks for a pending signal (Ctrl-C).
const SIGNAL_CHECK: Duration = Duration::from_millis(50);

/// Run a wait with the GIL released (a memory one that need not wait is
/// taken in place, as in [`block_on`]); every 50 ms, check for signals: a
/// raised `KeyboardInterrupt` drops the future (which leaves the wait queue
/// and holds nothing) and propagates.
pub fn wait<F>(py: Python<'_>, driver: &Driver, drive: Drive, fut: F) -> PyResult<F::Output>
where
    F: Future + Send,
    F::Output: Send,
{
    let rt = rt(driver);
    let mut fut = std::pin::pin!(fut);
    if let Poll::Ready(out) = ferrolock::blocking::poll_inline(rt, drive, fut.as_mut()) {
        return Ok(out);
    }
    loop {
        let out = py.detach(|| rt.block_on(async { tokio::time::timeout(SIGNAL_CHECK, fut.as_mut()).await }));
        match out {
            Ok(v) => return Ok(v),
            Err(_) => py.check_signals()?,
        }
    }
}

/// A running operation of the asyncio API; `cancel()` drops its future.
#[pyclass(frozen, module = "ferrolock._native")]
pub struct Task {
    handle: tokio::task::AbortHandle,
}

#[pymethods]
impl Task {
    /// Stop the operation: its future is dropped (a wait leaves the queue).
    fn cancel(&self) {
        self.handle.abort();
    }
}

/// A finished operation's result, turned into Python objects on the event
/// loop's thread (runtime threads never touch Python: one that did could be
/// caught by the interpreter's shutdown in the middle of a call).
type Finish = Box<dyn FnOnce(Python<'_>) -> PyResult<Py<PyAny>> + Send>;

struct Queue {
    fd: libc::c_int,
    done: Mutex<Vec<(u64, Finish)>>,
}

impl Drop for Queue {
    fn drop(&mut self) {
        unsafe { libc::close(self.fd) };
    }
}

/// Where the operations of one asyncio event loop report: an eventfd the
/// loop watches with `add_reader`, and the results waiting for it.
#[pyclass(frozen, module = "ferrolock._native")]
pub struct Completions {
    queue: Arc<Queue>,
}

#[pymethods]
impl Completions {
    #[new]
    fn new() -> PyResult<Completions> {
        let fd = unsafe { libc::eventfd(0, libc::EFD_NONBLOCK | libc::EFD_CLOEXEC) };
        if fd < 0 {
            return Err(std::io::Error::last_os_error().into());
        }
        Ok(Completions { queue: Arc::new(Queue { fd, done: Mutex::new(Vec::new()) }) })
    }

    /// The eventfd to watch for readability.
    fn fileno(&self) -> libc::c_int {
        self.queue.fd
    }

    /// The finished operations: `(id, value, error)` each.
    fn drain(&self, py: Python<'_>) -> Vec<(u64, Py<PyAny>, Option<Py<PyAny>>)> {
        let mut counter = 0u64;
        unsafe { libc::read(self.queue.fd, (&mut counter as *mut u64).cast(), 8) };
        let done = std::mem::take(&mut *self.queue.done.lock().unwrap_or_else(|e| e.into_inner()));
        done.into_iter()
            .map(|(id, finish)| match finish(py) {
                Ok(v) => (id, v, None),
                Err(e) => (id, py.None(), Some(e.into_value(py).into_any())),
            })
            .collect()
    }
}

/// Start `fut` on the runtime; its result is queued on `completions` under
/// `id`, and the event loop woken. If the task is aborted (`Task.cancel`)
/// before it finishes, `None` is queued under `id` once its future has been
/// dropped, so that the caller can wait until the operation has stopped.
pub fn spawn<F, T>(fut: F, completions: &Completions, id: u64) -> Task
where
    F: Future<Output = Result<T, ferrolock::Error>> + Send + 'static,
    T: for<'py> IntoPyObject<'py> + Send + 'static,
{
    let mut report = Report { queue: completions.queue.clone(), id, done: false };
    let handle = runtime().spawn(async move {
        let out = fut.await;
        report.post(Box::new(move |py| match out {
            Ok(v) => v.into_pyobject(py).map(|b| b.into_any().unbind()).map_err(Into::into),
            Err(e) => Err(crate::error::to_py_in(py, e)),
        }));
    });
    Task { handle: handle.abort_handle() }
}

/// Reports one operation's end on its event loop's queue: its result, or
/// (dropped unfinished) `None`.
struct Report {
    queue: Arc<Queue>,
    id: u64,
    done: bool,
}

impl Report {
    fn post(&mut self, finish: Finish) {
        self.done = true;
        self.queue.done.lock().unwrap_or_else(|e| e.into_inner()).push((self.id, finish));
        let one = 1u64;
        unsafe { libc::write(self.queue.fd, (&one as *const u64).cast(), 8) };
    }
}

impl Drop for Report {
    fn drop(&mut self) {
        if !self.done {
            self.post(Box::new(|py| Ok(py.None())));
        }
    }
}
