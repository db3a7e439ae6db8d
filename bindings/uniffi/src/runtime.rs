//! The async bridge, in one place.
//!
//! Every provider lives on the core's shared background runtime
//! (`ferrolock::blocking::runtime()`: one worker thread, remade in a forked
//! child). A Kotlin `suspend` call or a Swift `async` call gets a future
//! that UniFFI polls from the caller's thread: it is polled in place, inside
//! that runtime's context (`enter()`), so a memory operation completes in
//! its first poll and a Redis reply wakes the caller directly, with no task
//! spawned and no hop through the worker. Dropping the future (a cancelled
//! coroutine or task) drops the core's operation, in the runtime's context
//! too, and the core gives back whatever it held (a queue place, a grant in
//! flight). Operations of a `Drive::Blocking` provider (SQLite) may block
//! their thread, so they run on the runtime's blocking pool instead, ended
//! by a channel when their waiter goes. The blocking calls (Java, and
//! Kotlin's non-suspend forms) run the operation on the calling thread.
//!
//! A provider made by `connect_blocking` (what Java and blocking Kotlin
//! code call) runs on a runtime of its own that its callers drive
//! (`ferrolock::blocking::Driven`, as Python's sync API does): a Redis reply
//! wakes the calling thread straight from the socket instead of through the
//! shared runtime's worker. Its async forms run on the blocking pool,
//! driving that runtime there. [`Exec`] is which of these an object uses.

use crate::error::{internal, invalid, FfiError, Result};
use ferrolock::blocking::Driven;
use ferrolock::Drive;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;
use tokio::sync::oneshot;

/// An operation on the blocking pool, ended when its waiter goes away.
struct Spawned<T> {
    task: tokio::task::JoinHandle<Option<T>>,
    /// Dropping it ends the operation there (a blocking task cannot be aborted).
    _cancel: Option<oneshot::Sender<()>>,
}

impl<T> Drop for Spawned<T> {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// A future polled (and dropped) inside the core runtime's context.
struct InRuntime<F> {
    op: Option<Pin<Box<F>>>,
}

impl<F: Future> Future for InRuntime<F> {
    type Output = F::Output;
    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<F::Output> {
        let _context = ferrolock::blocking::runtime().enter();
        match self.op.as_mut() {
            Some(op) => {
                let out = op.as_mut().poll(cx);
                if out.is_ready() {
                    self.op = None;
                }
                out
            }
            None => Poll::Pending, // not polled again after Ready
        }
    }
}

impl<F> Drop for InRuntime<F> {
    fn drop(&mut self) {
        if let Some(op) = self.op.take() {
            let _context = ferrolock::blocking::runtime().enter();
            drop(op);
        }
    }
}

/// How an object's operations run: on the shared runtime (polled in place,
/// or on its blocking pool for a `Drive::Blocking` provider), or on the
/// runtime of a provider made by `connect_blocking`, driven by its callers.
#[derive(Clone, Debug)]
pub struct Exec {
    drive: Drive,
    driven: Option<Arc<Driven>>,
}

impl Exec {
    /// On the shared runtime.
    pub fn shared(drive: Drive) -> Exec {
        Exec { drive, driven: None }
    }

    /// On `driven`, the runtime the provider was connected in.
    pub fn driven(drive: Drive, driven: Arc<Driven>) -> Exec {
        Exec {
            drive,
            driven: Some(driven),
        }
    }

    /// Run `op` for an async export.
    pub async fn run<T, F>(&self, op: F) -> Result<T>
    where
        F: Future<Output = std::result::Result<T, ferrolock::Error>> + Send + 'static,
        T: Send + 'static,
    {
        match &self.driven {
            Some(d) => {
                let d = d.clone();
                on_pool(op, move |op| d.block_on(op)).await
            }
            None => run(self.drive, op).await,
        }
    }

    /// Run `op` to its end on the calling thread: what every blocking
    /// export calls, from the JVM's and Swift's threads. A memory operation
    /// that does not wait is polled in place and blocks on nothing
    /// (`ferrolock::blocking::block_on_drive`): tokio refuses a `block_on` on
    /// a thread that runs a runtime, the shared runtime's worker, where a
    /// coroutine a Redis reply resumed goes on under `Dispatchers.Unconfined`
    /// (such a call failed INTERNAL; one that waits still does, as any
    /// blocking wait there).
    pub fn block<T, F>(&self, op: F) -> Result<T>
    where
        F: Future<Output = std::result::Result<T, ferrolock::Error>>,
    {
        let rt = match &self.driven {
            Some(d) => d.runtime(),
            None => ferrolock::blocking::runtime(),
        };
        ferrolock::blocking::block_on_drive(rt, self.drive, op).map_err(FfiError::from)
    }

    /// This one, with operations run on the blocking pool even where they
    /// could be polled in place.
    pub fn off_thread(&self) -> Exec {
        Exec {
            drive: Drive::Blocking,
            driven: self.driven.clone(),
        }
    }

    /// The provider was closed: its runtime's background thread may stop.
    pub fn closed(&self) {
        if let Some(d) = &self.driven {
            d.stop();
        }
    }
}

/// Run `op` for an async export: in place in the core runtime's context, or
/// on its blocking pool for a `Drive::Blocking` provider.
pub async fn run<T, F>(drive: Drive, op: F) -> Result<T>
where
    F: Future<Output = std::result::Result<T, ferrolock::Error>> + Send + 'static,
    T: Send + 'static,
{
    if drive != Drive::Blocking {
        return InRuntime { op: Some(Box::pin(op)) }.await.map_err(FfiError::from);
    }
    let handle = ferrolock::blocking::runtime().handle().clone();
    on_pool(op, move |op| handle.block_on(op)).await
}

/// Run `op` on the shared runtime's blocking pool, through `block_on` (a
/// runtime's, driving it there); ended by a channel when its waiter goes.
async fn on_pool<T, F, B>(op: F, block_on: B) -> Result<T>
where
    F: Future<Output = std::result::Result<T, ferrolock::Error>> + Send + 'static,
    T: Send + 'static,
    B: FnOnce(Pin<Box<dyn Future<Output = Option<F::Output>> + Send>>) -> Option<F::Output> + Send + 'static,
{
    let (tx, rx) = oneshot::channel::<()>();
    let task = ferrolock::blocking::runtime().spawn_blocking(move || {
        block_on(Box::pin(async move {
            tokio::select! {
                out = op => Some(out),
                _ = rx => None,
            }
        }))
    });
    let mut spawned = Spawned {
        task,
        _cancel: Some(tx),
    };
    match (&mut spawned.task).await {
        Ok(Some(out)) => out.map_err(FfiError::from),
        Ok(None) => Err(internal("the operation was cancelled".into())),
        Err(e) => Err(internal(format!("the operation failed: {e}"))),
    }
}

/// Run `op` to its end on the calling thread, on the shared runtime.
pub fn block<T, F>(op: F) -> Result<T>
where
    F: Future<Output = std::result::Result<T, ferrolock::Error>>,
{
    ferrolock::blocking::runtime().block_on(op).map_err(FfiError::from)
}

/// A duration in milliseconds from the caller: negative is refused.
pub fn millis(ms: i64, what: &str) -> Result<Duration, String> {
    u64::try_from(ms)
        .map(Duration::from_millis)
        .map_err(|_| format!("{what} {ms}ms is negative"))
}

/// A timeout in milliseconds: `i64::MAX` (Kotlin's `Duration.INFINITE`) waits
/// forever; negative is refused.
pub fn timeout(ms: i64) -> Result<Duration> {
    if ms == i64::MAX {
        return Ok(Duration::MAX);
    }
    millis(ms, "timeout").map_err(invalid)
}

/// A duration as whole milliseconds, saturating.
pub fn ms(d: Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX)
}
