//! The async bridge, in one place.
//!
//! Every provider lives on the core's shared background runtime
//! (`ferrolock::blocking::runtime()`: one worker thread, remade in a forked
//! child). A Kotlin `suspend` call or a Swift `async` call gets a future
//! that spawns the operation there and waits for its end; dropping that
//! future (a cancelled coroutine or task) aborts the operation, and the
//! core then gives back whatever it held (a queue place, a grant in
//! flight). Operations of a `Drive::Blocking` provider (SQLite) run on the
//! runtime's blocking pool, so a busy file never stalls the worker.
//! The blocking calls (Java, and Kotlin's non-suspend forms) run the
//! operation on the calling thread, as `ferrolock::blocking` does.

use crate::error::{internal, invalid, FfiError, Result};
use ferrolock::Drive;
use std::future::Future;
use std::time::Duration;
use tokio::sync::oneshot;

/// A spawned operation that is aborted when its waiter goes away.
struct Spawned<T> {
    task: tokio::task::JoinHandle<Option<T>>,
    /// For an operation on the blocking pool: dropping it ends the
    /// operation there (a blocking task cannot be aborted).
    _cancel: Option<oneshot::Sender<()>>,
}

impl<T> Drop for Spawned<T> {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// Run `op` on the core's runtime and wait for it without blocking: what
/// every async export awaits.
pub async fn run<T, F>(drive: Drive, op: F) -> Result<T>
where
    F: Future<Output = std::result::Result<T, ferrolock::Error>> + Send + 'static,
    T: Send + 'static,
{
    let rt = ferrolock::blocking::runtime();
    let mut spawned = if drive == Drive::Blocking {
        let (tx, rx) = oneshot::channel::<()>();
        let handle = rt.handle().clone();
        let task = rt.spawn_blocking(move || {
            handle.block_on(async move {
                tokio::select! {
                    out = op => Some(out),
                    _ = rx => None,
                }
            })
        });
        Spawned {
            task,
            _cancel: Some(tx),
        }
    } else {
        Spawned {
            task: rt.spawn(async move { Some(op.await) }),
            _cancel: None,
        }
    };
    match (&mut spawned.task).await {
        Ok(Some(out)) => out.map_err(FfiError::from),
        Ok(None) => Err(internal("the operation was cancelled".into())),
        Err(e) => Err(internal(format!("the operation failed: {e}"))),
    }
}

/// Run `op` to its end on the calling thread: what every blocking export
/// calls (never from inside the runtime: the JVM's and Swift's threads are
/// not tokio's).
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
