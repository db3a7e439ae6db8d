//! The async bridge, in one place.
//!
//! Every operation is a future. Each JS environment (the main thread, each
//! worker thread) has its own current-thread tokio runtime, driven by
//! libuv on the JS thread (`driver.rs`): a provider connects inside it, so
//! its Redis connection tasks, pub/sub listener and renewal watchdog live
//! there, and a Redis reply wakes the JS thread and nothing else.
//!
//! A memory or SQLite operation is first polled right away on the JS thread
//! (in the runtime's context): one that needs no I/O wait (a memory
//! acquire, a refused `try_acquire`, an idle SQLite file…) returns its
//! value at once. A Redis operation is spawned on the runtime and a turn
//! runs at once, so its command is on the socket when the call returns;
//! if it finished within that turn, its value is returned too. Otherwise
//! the call returns an operation id (a number), and when the future ends —
//! in a later turn, on the JS thread — `complete(id, error, value)` of the
//! TypeScript layer is called directly (`napi_make_callback`), which
//! settles the promise it made for that id. Outcomes produced off the JS
//! thread (opening a SQLite file and `close()` run on napi's multi-thread
//! runtime: they may block) come back through one shared threadsafe
//! function. (napi's own `async fn` makes a threadsafe function and two
//! tasks per call: 1.55x the driver's time per Redis pair, 9x on memory;
//! docs/node.md, "Why the libuv driver", bench/node-bridge.)
//!
//! Neither the libuv handles nor the threadsafe function keep the process
//! alive: the TypeScript layer keeps the event loop alive while operations
//! are pending, and only then. `FERROLOCK_NODE_DRIVER=thread` runs
//! everything on napi's runtime instead (the design before the local
//! runtime; there, opt-in `FERROLOCK_NODE_SPIN_US`, the JS thread waits a
//! bounded spin for a fast result before going asynchronous).

use crate::driver::{Local, Outcome, TtlHold};
use crate::error::{coded, invalid, Result};
use napi::bindgen_prelude::{sys, Either, FnArgs, Function, JsValue, ToNapiValue};
use napi::threadsafe_function::{
    ThreadsafeCallContext, ThreadsafeFunction, ThreadsafeFunctionCallMode,
};
use napi::{Env, Status};
use napi_derive::napi;
use std::future::Future;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::atomic::{AtomicU32, AtomicU8, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::task::{Context, Poll, Waker};
use std::time::{Duration, Instant};
use tokio::runtime::Handle;

/// napi's tokio runtime, configured before napi starts it: one worker
/// thread (`FERROLOCK_NODE_WORKERS` changes it). It runs what may block
/// (opening a SQLite file, `close()`) and, with
/// `FERROLOCK_NODE_DRIVER=thread`, everything: then a single worker makes
/// a Redis reply, the connection task that reads it and the operation
/// waiting for it meet on one thread instead of hopping between workers.
#[napi_derive::module_init]
fn init() {
    let workers = std::env::var("FERROLOCK_NODE_WORKERS")
        .ok()
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or(1usize);
    if let Ok(rt) = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(workers.clamp(1, 64))
        .thread_name("ferrolock")
        .enable_all()
        .build()
    {
        napi::bindgen_prelude::create_custom_tokio_runtime(rt);
    }
}

/// A JS value already made, passed through as a callback argument.
pub struct Js(sys::napi_value);

impl ToNapiValue for Js {
    unsafe fn to_napi_value(_env: sys::napi_env, v: Self) -> Result<sys::napi_value> {
        Ok(v.0)
    }
}

type Args = FnArgs<(Js, Js, Js)>;

/// A finished operation's outcome for `complete(id, error, value)` (an
/// error is its message, `[CODE] text`), its value made into a JS value
/// on the JS thread that calls `complete`.
fn outcome<T>(id: u32, outcome: std::result::Result<T, String>) -> Outcome
where
    T: ToNapiValue + Send + 'static,
{
    Box::new(move |env| {
        // SAFETY: called on the JS thread of `env`, inside a handle scope.
        let (error, value) = match outcome.map(|v| unsafe { T::to_napi_value(env, v) }) {
            Ok(Ok(v)) => (None, Some(v)),
            Ok(Err(e)) => (
                Some(format!("[INTERNAL] internal error: {}", e.reason)),
                None,
            ),
            Err(message) => (Some(message), None),
        };
        // SAFETY: as above.
        unsafe {
            let id = u32::to_napi_value(env, id).ok()?;
            let error = Option::<String>::to_napi_value(env, error).ok()?;
            let value = match value {
                Some(v) => v,
                None => <()>::to_napi_value(env, ()).ok()?,
            };
            Some([id, error, value])
        }
    })
}

type Completer = ThreadsafeFunction<Outcome, (), Args, Status, false, true>;

pub struct Bridge {
    /// The shared multi-thread runtime: operations that may block their
    /// thread, and everything when there is no `local` runtime.
    pub runtime: Handle,
    /// This environment's runtime, driven by libuv on the JS thread.
    local: Option<Arc<Local>>,
    completer: Completer,
    next_id: AtomicU32,
}

/// Sends the outcome once; if the task is dropped first (a panic, the
/// runtime shutting down), sends an `INTERNAL` error so no promise hangs.
struct Completion {
    bridge: Arc<Bridge>,
    id: u32,
    sent: bool,
}

impl Completion {
    fn taken(&mut self) {
        self.sent = true;
    }

    fn send<T>(&mut self, r: std::result::Result<T, String>)
    where
        T: ToNapiValue + Send + 'static,
    {
        self.sent = true;
        let mut done = outcome(self.id, r);
        if let Some(local) = &self.bridge.local {
            match local.deliver(done) {
                Ok(()) => return,
                Err(d) => done = d,
            }
        }
        self.bridge
            .completer
            .call(done, ThreadsafeFunctionCallMode::NonBlocking);
    }
}

impl Drop for Completion {
    fn drop(&mut self) {
        if !self.sent {
            self.send::<()>(Err(
                "[INTERNAL] internal error: the operation ended without a result".into(),
            ));
        }
    }
}

impl Bridge {
    /// Run `fut`: its value now if it is ready at the first poll (or, on
    /// the local runtime, within the turn that follows), else an id whose
    /// outcome the completer delivers later.
    pub fn run<T, F>(self: &Arc<Self>, fut: F) -> Result<Either<T, u32>>
    where
        T: ToNapiValue + Send + 'static,
        F: Future<Output = Result<T>> + Send + 'static,
    {
        self.run_with(fut, Mode::Inline)
    }

    /// `run` on the shared runtime, without the first poll on the JS
    /// thread: for operations that may block their thread (opening a
    /// SQLite file waits for a busy one; closing joins the backend's
    /// threads).
    pub fn run_off_thread<T, F>(self: &Arc<Self>, fut: F) -> Result<Either<T, u32>>
    where
        T: ToNapiValue + Send + 'static,
        F: Future<Output = Result<T>> + Send + 'static,
    {
        self.run_with(fut, Mode::OffThread)
    }

    /// Spawn a background task (an event subscription, a loss watcher) on
    /// the runtime operations run on.
    pub fn spawn<F>(&self, fut: F)
    where
        F: Future<Output = ()> + Send + 'static,
    {
        match &self.local {
            Some(local) => local.spawn_now(fut),
            None => {
                self.runtime.spawn(fut);
            }
        }
    }

    fn run_with<T, F>(self: &Arc<Self>, fut: F, mode: Mode) -> Result<Either<T, u32>>
    where
        T: ToNapiValue + Send + 'static,
        F: Future<Output = Result<T>> + Send + 'static,
    {
        let mut fut = Box::pin(fut);
        let local = self.local.as_ref().filter(|_| mode != Mode::OffThread);
        let first = catch_unwind(AssertUnwindSafe(|| {
            if mode == Mode::OffThread || (mode == Mode::Turn && local.is_some()) {
                return Poll::Pending;
            }
            let _context = match local {
                Some(l) => l.handle.enter(),
                None => self.runtime.enter(),
            };
            fut.as_mut().poll(&mut Context::from_waker(Waker::noop()))
        }))
        .map_err(|_| {
            coded(
                "INTERNAL",
                "internal error: a panic was caught at the Node boundary",
            )
        })?;
        match first {
            Poll::Ready(r) => r.map(Either::A),
            Poll::Pending => {
                let id = self.next_id.fetch_add(1, Ordering::Relaxed);
                let mut completion = Completion {
                    bridge: self.clone(),
                    id,
                    sent: false,
                };
                let slot = Arc::new(Slot {
                    state: AtomicU8::new(WAITING),
                    value: Mutex::new(None),
                });
                let task_slot = slot.clone();
                let task = async move {
                    let r = fut.await;
                    *task_slot.value.lock().unwrap_or_else(|p| p.into_inner()) = Some(r);
                    if task_slot
                        .state
                        .compare_exchange(WAITING, READY, Ordering::AcqRel, Ordering::Acquire)
                        .is_ok()
                    {
                        completion.taken(); // the JS thread, still waiting, takes it
                        return;
                    }
                    let r = task_slot.take();
                    completion.send(match r {
                        Some(Ok(v)) => Ok(v),
                        Some(Err(e)) => Err(e.reason.clone()),
                        None => {
                            Err("[INTERNAL] internal error: the operation's result was lost".into())
                        }
                    });
                };
                match local {
                    // Spawned and run at once on the JS thread: a command
                    // is on its socket before this call returns, and a
                    // result that needed no I/O wait is returned here.
                    Some(l) => l.spawn_now(task),
                    None => {
                        self.runtime.spawn(task);
                        if let Some(r) = spin(&slot) {
                            return r.map(Either::A);
                        }
                    }
                }
                if slot
                    .state
                    .compare_exchange(WAITING, ASYNC, Ordering::AcqRel, Ordering::Acquire)
                    .is_err()
                {
                    // It finished just now.
                    return slot
                        .take()
                        .unwrap_or_else(|| Err(coded("INTERNAL", "internal error: lost result")))
                        .map(Either::A);
                }
                Ok(Either::B(id))
            }
        }
    }
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Mode {
    /// Poll once right away, in the runtime's context, on the JS thread.
    Inline,
    /// On the local runtime, spawn and run a turn at once, with no poll
    /// before (a poll outside the turn would wake the connection's task
    /// from outside the runtime: an extra wake-up through its eventfd).
    Turn,
    /// Spawn on the shared runtime.
    OffThread,
}

/// A provider's way of running its operations: a Redis provider's need
/// I/O (`Mode::Turn`), the memory and SQLite ones often finish at their
/// first poll (`Mode::Inline`).
#[derive(Clone)]
pub struct Ops {
    bridge: Arc<Bridge>,
    io: bool,
}

impl Ops {
    pub fn new(bridge: Arc<Bridge>, io: bool) -> Ops {
        Ops { bridge, io }
    }

    pub fn run<T, F>(&self, fut: F) -> Result<Either<T, u32>>
    where
        T: ToNapiValue + Send + 'static,
        F: Future<Output = Result<T>> + Send + 'static,
    {
        let mode = if self.io { Mode::Turn } else { Mode::Inline };
        self.bridge.run_with(fut, mode)
    }

    pub fn run_off_thread<T, F>(&self, fut: F) -> Result<Either<T, u32>>
    where
        T: ToNapiValue + Send + 'static,
        F: Future<Output = Result<T>> + Send + 'static,
    {
        self.bridge.run_off_thread(fut)
    }

    pub fn spawn<F>(&self, fut: F)
    where
        F: Future<Output = ()> + Send + 'static,
    {
        self.bridge.spawn(fut)
    }

    /// See `Local::hold_ttl`.
    pub fn hold_ttl(&self, ttl: Duration) -> Option<TtlHold> {
        self.bridge.local.as_ref().and_then(|l| l.hold_ttl(ttl))
    }
}

/// Opt-in (FERROLOCK_NODE_SPIN_US, default 0, shared runtime only): wait a
/// bounded spin for a fast round trip, which saves two thread wake-ups
/// when a core is free, and costs a core when none is (measured slower on
/// a busy 2-core machine, hence off).
fn spin<T>(slot: &Slot<T>) -> Option<Result<T>> {
    let spin = spin_budget();
    if spin.is_zero() {
        return None;
    }
    let deadline = Instant::now() + spin;
    let mut turns = 0u32;
    loop {
        if slot.state.load(Ordering::Acquire) == READY {
            return Some(
                slot.take()
                    .unwrap_or_else(|| Err(coded("INTERNAL", "internal error: lost result"))),
            );
        }
        turns += 1;
        if turns % 32 == 0 && Instant::now() >= deadline {
            return None;
        }
        std::hint::spin_loop();
    }
}

const WAITING: u8 = 0;
const READY: u8 = 1;
const ASYNC: u8 = 2;

/// Where a pending operation's result goes: taken by the JS thread if it is
/// still waiting (READY), else sent through the completer (ASYNC).
struct Slot<T> {
    state: AtomicU8,
    value: Mutex<Option<Result<T>>>,
}

impl<T> Slot<T> {
    fn take(&self) -> Option<Result<T>> {
        self.value.lock().unwrap_or_else(|p| p.into_inner()).take()
    }
}

fn spin_budget() -> Duration {
    static SPIN: OnceLock<Duration> = OnceLock::new();
    *SPIN.get_or_init(|| {
        let us = std::env::var("FERROLOCK_NODE_SPIN_US")
            .ok()
            .and_then(|v| v.trim().parse::<u64>().ok())
            .unwrap_or(0);
        Duration::from_micros(us.min(10_000))
    })
}

/// The per-environment end of the bridge: made once by the TypeScript layer
/// with its `complete(id, error, value)` function.
#[napi]
pub struct NativeBridge {
    pub(crate) bridge: Arc<Bridge>,
}

#[napi]
impl NativeBridge {
    #[napi(
        constructor,
        ts_args_type = "complete: (id: number, error: string | null, value: unknown) => void"
    )]
    pub fn new(env: Env, complete: Function<'_, Args, ()>) -> Result<Self> {
        let runtime = catch_unwind(|| {
            napi::bindgen_prelude::within_runtime_if_available(Handle::try_current)
        })
        .ok()
        .and_then(|h| h.ok())
        .ok_or_else(|| {
            coded(
                "INTERNAL",
                "internal error: napi's tokio runtime is not available",
            )
        })?;
        let completer: Completer = complete
            .build_threadsafe_function::<Outcome>()
            .weak::<true>()
            .callee_handled::<false>()
            .build_callback(|ctx: ThreadsafeCallContext<Outcome>| {
                let [id, error, value] = (ctx.value)(ctx.env.raw()).ok_or_else(|| {
                    coded(
                        "INTERNAL",
                        "internal error: cannot make complete's arguments",
                    )
                })?;
                Ok(FnArgs::from((Js(id), Js(error), Js(value))))
            })?;
        Ok(NativeBridge {
            bridge: Arc::new(Bridge {
                runtime,
                local: Local::start(env.raw(), complete.value().value),
                completer,
                next_id: AtomicU32::new(1),
            }),
        })
    }
}

/// Milliseconds from JS (already type-checked by the TypeScript layer) to a
/// `Duration`. `Infinity` is `Duration::MAX` where `forever` is allowed.
pub fn millis(what: &str, ms: f64, forever: bool) -> Result<Duration> {
    if ms.is_nan() {
        return Err(invalid(format!(
            "{what} is NaN; give milliseconds or a string like '10s'"
        )));
    }
    if ms < 0.0 {
        return Err(invalid(format!("{what} {ms} is negative")));
    }
    if ms.is_infinite() {
        return if forever {
            Ok(Duration::MAX)
        } else {
            Err(invalid(format!("{what} cannot be Infinity")))
        };
    }
    Duration::try_from_secs_f64(ms / 1000.0).map_err(|_| {
        invalid(format!(
            "{what} {ms}ms is too large{}",
            if forever {
                "; use Infinity to wait forever"
            } else {
                ""
            }
        ))
    })
}

/// A `Duration` back to JS milliseconds.
pub fn to_millis(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}
