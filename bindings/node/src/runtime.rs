//! The async bridge, in one place.
//!
//! Every operation is a future run on napi's tokio runtime. It is first
//! polled right away on the JS thread (inside the runtime's context): an
//! operation that needs no I/O wait (the memory backend, a refused
//! `try_acquire`, an idle SQLite file…) returns its value at once, with no
//! thread hop. Otherwise the future is spawned on the runtime and the call
//! returns an operation id (a number); when the future ends, one shared
//! threadsafe function per JS environment carries `(id, error, value)` back
//! to the TypeScript layer, which settles the promise it made for that id.
//! (napi's own `async fn` makes a threadsafe function and two tasks per
//! call, which costs more than a Redis round trip here.)
//!
//! The threadsafe function is weak: the TypeScript layer keeps the event
//! loop alive while operations are pending, and only then. Opt-in
//! (`FERROLOCK_NODE_SPIN_US`), the JS thread waits a bounded spin for a
//! fast result before going asynchronous.

use crate::error::{coded, invalid, Result};
use napi::bindgen_prelude::{sys, Either, FnArgs, Function, ToNapiValue};
use napi::threadsafe_function::{
    ThreadsafeCallContext, ThreadsafeFunction, ThreadsafeFunctionCallMode,
};
use napi::Status;
use napi_derive::napi;
use std::future::Future;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::atomic::{AtomicU32, AtomicU8, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::task::{Context, Poll, Waker};
use std::time::{Duration, Instant};
use tokio::runtime::Handle;

/// napi's tokio runtime, configured before napi starts it: one worker
/// thread (`FERROLOCK_NODE_WORKERS` changes it). The JS side is one thread
/// too, and with a single worker a Redis reply, the connection task that
/// reads it and the operation waiting for it meet on one thread instead of
/// hopping between workers (each hop is a wake-up, which costs more than
/// the work on a busy machine). SQLite's blocking calls run on the
/// runtime's blocking pool as before.
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

/// A finished operation's value, turned into a JS value on the JS thread.
type Convert = Box<dyn FnOnce(sys::napi_env) -> Result<sys::napi_value> + Send>;

/// What the threadsafe function carries: the operation id and its outcome
/// (an error is its message, `[CODE] text`).
pub struct Done {
    id: u32,
    outcome: std::result::Result<Convert, String>,
}

/// A JS value already made, passed through as a callback argument.
pub struct Js(sys::napi_value);

impl ToNapiValue for Js {
    unsafe fn to_napi_value(_env: sys::napi_env, v: Self) -> Result<sys::napi_value> {
        Ok(v.0)
    }
}

type Args = FnArgs<(u32, Option<String>, Option<Js>)>;
type Completer = ThreadsafeFunction<Done, (), Args, Status, false, true>;

pub struct Bridge {
    pub runtime: Handle,
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

    fn send(&mut self, outcome: std::result::Result<Convert, String>) {
        self.sent = true;
        self.bridge.completer.call(
            Done {
                id: self.id,
                outcome,
            },
            ThreadsafeFunctionCallMode::NonBlocking,
        );
    }
}

impl Drop for Completion {
    fn drop(&mut self) {
        if !self.sent {
            self.send(Err(
                "[INTERNAL] internal error: the operation ended without a result".into(),
            ));
        }
    }
}

impl Bridge {
    /// Run `fut`: its value now if it is ready at the first poll, else an id
    /// whose outcome the completer delivers later.
    pub fn run<T, F>(self: &Arc<Self>, fut: F) -> Result<Either<T, u32>>
    where
        T: ToNapiValue + Send + 'static,
        F: Future<Output = Result<T>> + Send + 'static,
    {
        self.run_with(fut, true)
    }

    /// `run` without the first poll on the JS thread: for operations that
    /// may block their thread (opening a SQLite file waits for a busy one;
    /// closing joins the backend's threads).
    pub fn run_off_thread<T, F>(self: &Arc<Self>, fut: F) -> Result<Either<T, u32>>
    where
        T: ToNapiValue + Send + 'static,
        F: Future<Output = Result<T>> + Send + 'static,
    {
        self.run_with(fut, false)
    }

    fn run_with<T, F>(self: &Arc<Self>, fut: F, inline: bool) -> Result<Either<T, u32>>
    where
        T: ToNapiValue + Send + 'static,
        F: Future<Output = Result<T>> + Send + 'static,
    {
        let mut fut = Box::pin(fut);
        let first = catch_unwind(AssertUnwindSafe(|| {
            if !inline {
                return Poll::Pending;
            }
            let _context = self.runtime.enter();
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
                self.runtime.spawn(async move {
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
                        Some(Ok(v)) => {
                            Ok(Box::new(move |env| unsafe { T::to_napi_value(env, v) }) as Convert)
                        }
                        Some(Err(e)) => Err(e.reason.clone()),
                        None => {
                            Err("[INTERNAL] internal error: the operation's result was lost".into())
                        }
                    });
                });
                // Opt-in (FERROLOCK_NODE_SPIN_US, default 0): wait a bounded
                // spin for a fast round trip here, which saves two thread
                // wake-ups when a core is free, and costs a core when none
                // is (measured slower on a busy 2-core machine, hence off).
                let spin = spin_budget();
                if !spin.is_zero() {
                    let deadline = Instant::now() + spin;
                    let mut turns = 0u32;
                    loop {
                        if slot.state.load(Ordering::Acquire) == READY {
                            return slot
                                .take()
                                .unwrap_or_else(|| {
                                    Err(coded("INTERNAL", "internal error: lost result"))
                                })
                                .map(Either::A);
                        }
                        turns += 1;
                        if turns % 32 == 0 && Instant::now() >= deadline {
                            break;
                        }
                        std::hint::spin_loop();
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
    pub fn new(complete: Function<'_, Args, ()>) -> Result<Self> {
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
            .build_threadsafe_function::<Done>()
            .weak::<true>()
            .callee_handled::<false>()
            .build_callback(|ctx: ThreadsafeCallContext<Done>| {
                let env = ctx.env.raw();
                let Done { id, outcome } = ctx.value;
                Ok(FnArgs::from(match outcome.map(|convert| convert(env)) {
                    Ok(Ok(v)) => (id, None, Some(Js(v))),
                    Ok(Err(e)) => (
                        id,
                        Some(format!("[INTERNAL] internal error: {}", e.reason)),
                        None,
                    ),
                    Err(message) => (id, Some(message), None),
                }))
            })?;
        Ok(NativeBridge {
            bridge: Arc::new(Bridge {
                runtime,
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
