//! A tokio runtime per JS environment, driven by libuv on the JS thread.
//!
//! Each `NativeBridge` builds a current-thread tokio runtime. No thread of
//! its own runs it: libuv polls the runtime's epoll descriptor (a
//! `uv_poll_t`; epoll descriptors nest), and the JS thread runs a *turn* —
//! the ready tasks and the pending I/O events, never blocking — when it is
//! readable, when a timer ticks, and right after an operation is spawned
//! (so a Redis command is written to its socket within the JS call that
//! made it). A Redis reply then costs one wake-up of the JS thread, as in
//! a JS client, instead of a wake-up of a tokio worker plus a hop back.
//!
//! tokio does not expose its epoll descriptor: [`find_epoll`] registers a
//! probe socket with the runtime and looks for the epoll that holds it in
//! `/proc/self/fdinfo`. Anything that does not work out (no such
//! descriptor, a libuv call failing, `FERROLOCK_NODE_DRIVER=thread`)
//! leaves the bridge on napi's multi-thread runtime (`runtime.rs`).
//!
//! A turn is `block_on` of a future that ends once the runtime is idle:
//! the runtime's `on_thread_park` hook runs only when no task is ready; if
//! the epoll has events waiting it wakes a do-nothing task (the park then
//! polls them with a zero timeout), else it ends the turn, waking its
//! future (the park is again a zero-timeout poll). That task also keeps a
//! 1 ms timer armed: otherwise each timeout an operation arms (the Redis
//! client's, the engine's) would be the earliest timer and make tokio wake
//! its I/O driver through the eventfd, which costs a write and a round.
//! An event that arrives between the hook's last check and the last poll
//! wakes its task in the next turn, so a turn arms the libuv timer for
//! 1 ms later (`FERROLOCK_NODE_TICK_MS` changes it); the timer's period then
//! doubles up to 10 ms (a sixth of the shortest ttl of a held lock, if
//! less) while any task lives here (tokio's timers — a wait's deadline, a
//! renewal — only fire in a turn), and it stops when none does. Both libuv
//! handles are unref'd: the TypeScript layer keeps the loop alive while
//! operations are pending.
//!
//! Since the runtime runs on the JS thread, a JS thread kept busy for
//! longer than a lock's ttl/3 delays its renewal (as a timer of any JS
//! client would be). At the env's cleanup the handles are closed and the
//! runtime goes to a thread that runs it until its tasks end (the releases
//! that the env's finalizers start for collected handles), 5 s at most.
//!
//! A file of its own, beside `runtime.rs`, because it is a mechanism the
//! bridge uses, not the bridge: libuv handles, tokio's park hook and raw
//! napi calls, Linux only (`driver_stub.rs` stands in elsewhere). It knows
//! nothing of operations: `runtime.rs` hands it finished ones as `Outcome`s.

use std::collections::VecDeque;
use std::ffi::{c_int, c_ulong, c_void};
use std::future::{poll_fn, Future};
use std::os::fd::AsRawFd;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::atomic::{AtomicBool, AtomicI32, AtomicU32, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::task::{Poll, Waker};
use std::thread::ThreadId;
use tokio::runtime::{Handle, Runtime};

use napi::sys;

/// An operation's outcome on its way to `complete(id, error, value)`: it
/// makes that call's three arguments, on the JS thread. The bridge
/// (`runtime.rs`) builds it; the driver only carries it to `complete`.
pub type Outcome = Box<dyn FnOnce(sys::napi_env) -> Option<[sys::napi_value; 3]> + Send>;

#[repr(C)]
struct PollFd {
    fd: c_int,
    events: i16,
    revents: i16,
}

const POLLIN: i16 = 0x1;
const UV_POLL: c_int = 8;
const UV_TIMER: c_int = 13;
const UV_READABLE: c_int = 1;

type UvPollCb = unsafe extern "C" fn(*mut c_void, c_int, c_int);
type UvTimerCb = unsafe extern "C" fn(*mut c_void);
type UvCloseCb = unsafe extern "C" fn(*mut c_void);

// libuv is part of the node binary, which loads this addon: these resolve
// at load time like the napi_* symbols do.
extern "C" {
    fn uv_handle_size(kind: c_int) -> usize;
    fn uv_poll_init(lp: *mut c_void, handle: *mut c_void, fd: c_int) -> c_int;
    fn uv_poll_start(handle: *mut c_void, events: c_int, cb: UvPollCb) -> c_int;
    fn uv_poll_stop(handle: *mut c_void) -> c_int;
    fn uv_timer_init(lp: *mut c_void, handle: *mut c_void) -> c_int;
    fn uv_timer_start(handle: *mut c_void, cb: UvTimerCb, timeout: u64, repeat: u64) -> c_int;
    fn uv_timer_stop(handle: *mut c_void) -> c_int;
    fn uv_close(handle: *mut c_void, cb: Option<UvCloseCb>);
    fn uv_unref(handle: *mut c_void);
    fn poll(fds: *mut PollFd, nfds: c_ulong, timeout: c_int) -> c_int;
}

/// The timer's first tick after a turn, and its longest period (ms).
const BUSY_TICK_MS: u64 = 1;
const IDLE_TICK_MS: u64 = 10;

fn busy_tick_ms() -> u64 {
    static T: std::sync::OnceLock<u64> = std::sync::OnceLock::new();
    *T.get_or_init(|| {
        std::env::var("FERROLOCK_NODE_TICK_MS")
            .ok()
            .and_then(|v| v.trim().parse().ok())
            .unwrap_or(BUSY_TICK_MS)
    })
}

/// How long a runtime outlives its env, for the releases its finalizers start.
const EXIT_GRACE: std::time::Duration = std::time::Duration::from_secs(5);
/// The pacer's period (see the idler in `Local::start`).
const PACE: std::time::Duration = std::time::Duration::from_millis(1);
/// Park rounds in one turn before it yields to the loop (the epoll stays
/// readable, so libuv comes back at once).
const MAX_ROUNDS: u32 = 64;

/// What the park hook and the turn future share.
struct TurnState {
    /// A turn is running on this runtime.
    active: AtomicBool,
    /// The hook found the runtime idle: the turn may end.
    done: AtomicBool,
    rounds: AtomicU32,
    epfd: AtomicI32,
    /// The turn's `block_on` future.
    waker: Mutex<Option<Waker>>,
    /// A task that does nothing (but pace, see `Local::start`): waking it
    /// from the hook makes the park a zero-timeout poll, and the turn goes
    /// on without polling its future.
    idler: Mutex<Option<Waker>>,
    /// The epoll is known to be readable (a libuv poll callback): the
    /// hook's first check is skipped.
    assume_ready: AtomicBool,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

fn readable(fd: c_int) -> bool {
    let mut p = PollFd {
        fd,
        events: POLLIN,
        revents: 0,
    };
    // SAFETY: one valid pollfd, zero timeout.
    unsafe { poll(&mut p, 1, 0) > 0 && (p.revents & POLLIN) != 0 }
}

/// The libuv handles (JS thread only).
struct Uv {
    poll: *mut c_void,
    timer: *mut c_void,
}

/// The per-environment runtime and its libuv handles.
pub struct Local {
    pub handle: Handle,
    rt: Mutex<Option<Runtime>>,
    turn: Arc<TurnState>,
    js_thread: ThreadId,
    /// The timer's period in ms (0: stopped).
    period: AtomicU64,
    uv: Mutex<Option<Uv>>,
    /// The TypeScript layer's `complete`, called directly on this thread.
    js: Mutex<Option<Js>>,
    /// Outcomes waiting for `flush` (JS thread only).
    done: Mutex<VecDeque<Outcome>>,
    /// `flush` is calling into JS.
    flushing: AtomicBool,
    /// The ttls (ms) of the held locks short enough to cap the timer's
    /// period, with their counts (see `hold_ttl`).
    short_ttls: Mutex<std::collections::BTreeMap<u64, usize>>,
}

/// Keeps the timer's period under a sixth of a held lock's ttl while it
/// lives (`Local::hold_ttl`).
pub struct TtlHold {
    local: Arc<Local>,
    ms: u64,
}

impl Drop for TtlHold {
    fn drop(&mut self) {
        let mut m = lock(&self.local.short_ttls);
        if let Some(n) = m.get_mut(&self.ms) {
            *n -= 1;
            if *n == 0 {
                m.remove(&self.ms);
            }
        }
    }
}

/// How to call `complete` (JS thread only).
struct Js {
    env: sys::napi_env,
    func: sys::napi_ref,
    ctx: sys::napi_async_context,
}

// SAFETY: the raw libuv pointers are only touched on the JS thread
// (`js_thread`), by the uv callbacks and the env cleanup hook.
unsafe impl Send for Local {}
unsafe impl Sync for Local {}

impl Local {
    /// Build the runtime and hook it into the loop of `env`. `None` (and
    /// the caller falls back to the shared runtime) if any step fails.
    pub fn start(env: sys::napi_env, complete: sys::napi_value) -> Option<Arc<Local>> {
        if std::env::var("FERROLOCK_NODE_DRIVER").is_ok_and(|v| v.trim() == "thread") {
            return None;
        }
        let turn = Arc::new(TurnState {
            active: AtomicBool::new(false),
            done: AtomicBool::new(false),
            rounds: AtomicU32::new(0),
            epfd: AtomicI32::new(-1),
            waker: Mutex::new(None),
            idler: Mutex::new(None),
            assume_ready: AtomicBool::new(false),
        });
        let hook = turn.clone();
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .on_thread_park(move || park_hook(&hook))
            .build()
            .ok()?;
        let epfd = find_epoll(&rt)?;
        turn.epfd.store(epfd, Ordering::Relaxed);
        let idler = turn.clone();
        rt.spawn(async move {
            // Also a pacer: a timer always due within PACE keeps tokio's
            // time driver from waking the I/O driver (an eventfd write, and
            // one more round of the turn) each time an operation arms a
            // timeout, which it does when the new deadline is the earliest.
            let mut pace = Box::pin(tokio::time::sleep(PACE));
            poll_fn(move |cx| {
                *lock(&idler.idler) = Some(cx.waker().clone());
                while pace.as_mut().poll(cx).is_ready() {
                    pace.as_mut().reset(tokio::time::Instant::now() + PACE);
                }
                Poll::<()>::Pending
            })
            .await
        });
        let local = Arc::new(Local {
            handle: rt.handle().clone(),
            rt: Mutex::new(Some(rt)),
            turn,
            js_thread: std::thread::current().id(),
            period: AtomicU64::new(IDLE_TICK_MS),
            uv: Mutex::new(None),
            js: Mutex::new(None),
            done: Mutex::new(VecDeque::new()),
            flushing: AtomicBool::new(false),
            short_ttls: Mutex::new(std::collections::BTreeMap::new()),
        });
        // SAFETY: on the JS thread of `env`; the handles are allocated with
        // libuv's own sizes and live until their close callbacks.
        unsafe {
            let mut lp: *mut sys::uv_loop_s = std::ptr::null_mut();
            if sys::napi_get_uv_event_loop(env, &mut lp) != sys::Status::napi_ok || lp.is_null() {
                return None;
            }
            let mut func = std::ptr::null_mut();
            let mut name = std::ptr::null_mut();
            let mut ctx = std::ptr::null_mut();
            if sys::napi_create_reference(env, complete, 1, &mut func) != sys::Status::napi_ok
                || sys::napi_create_string_utf8(env, c"ferrolock".as_ptr(), 9, &mut name)
                    != sys::Status::napi_ok
                || sys::napi_async_init(env, std::ptr::null_mut(), name, &mut ctx)
                    != sys::Status::napi_ok
            {
                return None;
            }
            *lock(&local.js) = Some(Js { env, func, ctx });
            let lp = lp as *mut c_void;
            let poll_h = alloc_handle(UV_POLL)?;
            if uv_poll_init(lp, poll_h, epfd) != 0 {
                free_handle(poll_h);
                return None;
            }
            set_data(poll_h, &local);
            uv_unref(poll_h);
            if uv_poll_start(poll_h, UV_READABLE, on_readable) != 0 {
                uv_close(poll_h, Some(on_closed));
                return None;
            }
            let timer_h = match alloc_handle(UV_TIMER) {
                Some(h) => h,
                None => {
                    uv_close(poll_h, Some(on_closed));
                    return None;
                }
            };
            uv_timer_init(lp, timer_h);
            set_data(timer_h, &local);
            uv_unref(timer_h);
            uv_timer_start(timer_h, on_tick, IDLE_TICK_MS, 0);
            *lock(&local.uv) = Some(Uv {
                poll: poll_h,
                timer: timer_h,
            });
            let hook_ref = Arc::into_raw(local.clone()) as *mut c_void;
            if sys::napi_add_env_cleanup_hook(env, Some(cleanup), hook_ref) != sys::Status::napi_ok
            {
                drop(Arc::from_raw(hook_ref as *const Local));
                local.shutdown();
                return None;
            }
        }
        Some(local)
    }

    pub fn on_js_thread(&self) -> bool {
        std::thread::current().id() == self.js_thread
    }

    /// Run ready tasks and I/O until the runtime is idle, `first` inside
    /// the runtime (a task it spawns goes to the local queue). False if no
    /// turn ran (one is running already, or the runtime is shut down);
    /// `first` has not run then.
    pub fn turn(&self, first: &mut dyn FnMut()) -> bool {
        if !self.on_js_thread() || self.turn.active.swap(true, Ordering::AcqRel) {
            return false;
        }
        let guard = lock(&self.rt);
        let ran = match guard.as_ref() {
            None => false,
            Some(rt) => {
                let s = &*self.turn;
                let mut first = Some(first);
                // Tasks woken from other threads during the last park sit
                // in the injection queue: another turn runs them.
                for _ in 0..4 {
                    s.done.store(false, Ordering::Relaxed);
                    s.rounds.store(0, Ordering::Relaxed);
                    let r = catch_unwind(AssertUnwindSafe(|| {
                        rt.block_on(poll_fn(|cx| {
                            if let Some(f) = first.take() {
                                f();
                            }
                            if s.done.swap(false, Ordering::AcqRel) {
                                return Poll::Ready(());
                            }
                            let mut w = lock(&s.waker);
                            if !w.as_ref().is_some_and(|w| w.will_wake(cx.waker())) {
                                *w = Some(cx.waker().clone());
                            }
                            Poll::Pending
                        }))
                    }));
                    if r.is_err() || self.handle.metrics().global_queue_depth() == 0 {
                        break;
                    }
                }
                true
            }
        };
        drop(guard);
        self.turn.assume_ready.store(false, Ordering::Relaxed);
        self.turn.active.store(false, Ordering::Release);
        ran
    }

    /// Spawn `fut` here and run a turn at once (on the JS thread; from
    /// elsewhere, or inside a turn, it waits for the next one).
    pub fn spawn_now<F>(&self, fut: F)
    where
        F: std::future::Future<Output = ()> + Send + 'static,
    {
        let mut task = Some(fut);
        self.turn(&mut || {
            if let Some(t) = task.take() {
                tokio::spawn(t);
            }
        });
        if let Some(t) = task {
            self.handle.spawn(t);
        }
        // Other operations that finished in this turn: not from inside this
        // JS call, but from the timer, at once (or by the flush running).
        if !self.flushing.load(Ordering::Relaxed) && !lock(&self.done).is_empty() {
            self.arm(0);
        } else {
            self.after_turn();
        }
    }

    /// Take an outcome for `flush`: false (the caller sends it another
    /// way) off the JS thread or without a runtime.
    pub fn deliver(&self, done: Outcome) -> std::result::Result<(), Outcome> {
        if !self.on_js_thread() || lock(&self.js).is_none() || lock(&self.uv).is_none() {
            return Err(done);
        }
        lock(&self.done).push_back(done);
        Ok(())
    }

    /// Call `complete` with every outcome waiting (from a libuv callback:
    /// each call in its own callback scope, so promise reactions run after
    /// it, as for any I/O callback).
    fn flush(&self) {
        if self.flushing.swap(true, Ordering::Relaxed) {
            return;
        }
        loop {
            let Some(done) = lock(&self.done).pop_front() else {
                break;
            };
            let Some((env, func, ctx)) = lock(&self.js).as_ref().map(|j| (j.env, j.func, j.ctx))
            else {
                break;
            };
            // SAFETY: JS thread, inside a libuv callback of this env.
            unsafe { call_complete(env, func, ctx, done) };
        }
        self.flushing.store(false, Ordering::Relaxed);
    }

    /// A lock with this ttl is held: the watchdog renews it at a third of
    /// its ttl, and tokio's timers only fire in a turn, so the timer's
    /// period stays under a sixth of the shortest such ttl. `None` for a
    /// ttl long enough for the longest period.
    pub fn hold_ttl(self: &Arc<Self>, ttl: std::time::Duration) -> Option<TtlHold> {
        let ms = u64::try_from(ttl.as_millis()).unwrap_or(u64::MAX);
        if ms / 6 >= IDLE_TICK_MS {
            return None;
        }
        *lock(&self.short_ttls).entry(ms).or_insert(0) += 1;
        Some(TtlHold {
            local: self.clone(),
            ms,
        })
    }

    /// The timer's longest period now.
    fn max_period(&self) -> u64 {
        match lock(&self.short_ttls).keys().next() {
            Some(ms) => (ms / 6).clamp(1, IDLE_TICK_MS),
            None => IDLE_TICK_MS,
        }
    }

    /// A turn ends: an event that came as it ended may have woken a task
    /// that nothing will run until the next turn, so the timer runs one
    /// soon (and less and less often while nothing happens: see on_tick).
    fn after_turn(&self) {
        self.arm(busy_tick_ms());
    }

    /// Start the timer for one tick in `ms` (JS thread).
    fn arm(&self, ms: u64) {
        self.period.store(ms.max(1), Ordering::Relaxed);
        if let Some(uv) = lock(&self.uv).as_ref() {
            // SAFETY: JS thread, handle initialised and not closed.
            unsafe {
                uv_timer_start(uv.timer, on_tick, ms, 0);
            }
        }
    }

    fn stop_ticks(&self) {
        self.period.store(0, Ordering::Relaxed);
        if let Some(uv) = lock(&self.uv).as_ref() {
            // SAFETY: as in arm.
            unsafe {
                uv_timer_stop(uv.timer);
            }
        }
    }

    /// Stop the handles and the runtime (env cleanup; JS thread).
    fn shutdown(&self) {
        if let Some(uv) = lock(&self.uv).take() {
            // SAFETY: JS thread; each handle is closed once, and its close
            // callback frees it and drops the reference it held.
            unsafe {
                uv_poll_stop(uv.poll);
                uv_timer_stop(uv.timer);
                uv_close(uv.poll, Some(on_closed));
                uv_close(uv.timer, Some(on_closed));
            }
        }
        let rt = lock(&self.rt).take();
        if let Some(rt) = rt {
            // The env's finalizers run after this hook, and a collected
            // `Held` releases its lock from a task on this runtime: a
            // thread drives it until its tasks are gone (the providers
            // dropped), for 5 s at most, then drops it.
            let handle = self.handle.clone();
            let mut rt = Some(rt);
            let spawned = std::thread::Builder::new()
                .name("ferrolock-exit".into())
                .spawn({
                    let rt = rt.take();
                    move || {
                        let Some(rt) = rt else { return };
                        let _ = catch_unwind(AssertUnwindSafe(|| {
                            rt.block_on(async {
                                let deadline = tokio::time::Instant::now() + EXIT_GRACE;
                                while handle.metrics().num_alive_tasks() > 1
                                    && tokio::time::Instant::now() < deadline
                                {
                                    tokio::time::sleep(std::time::Duration::from_millis(10)).await;
                                }
                            });
                            rt.shutdown_background();
                        }));
                    }
                });
            if spawned.is_err() {
                if let Some(rt) = rt.take() {
                    let _ = catch_unwind(AssertUnwindSafe(|| rt.shutdown_background()));
                }
            }
        }
        lock(&self.turn.waker).take();
        lock(&self.turn.idler).take();
        if let Some(js) = lock(&self.js).take() {
            // SAFETY: JS thread, env cleanup: the env is still alive.
            unsafe {
                sys::napi_delete_reference(js.env, js.func);
                sys::napi_async_destroy(js.env, js.ctx);
            }
        }
        lock(&self.done).clear();
    }
}

/// Called by the runtime when no task is ready, just before it parks.
fn park_hook(s: &TurnState) {
    if !s.active.load(Ordering::Acquire) {
        return;
    }
    let rounds = s.rounds.fetch_add(1, Ordering::Relaxed) + 1;
    let ready =
        s.assume_ready.swap(false, Ordering::Relaxed) || readable(s.epfd.load(Ordering::Relaxed));
    if ready && rounds < MAX_ROUNDS {
        // Events are waiting: poll them (a zero-timeout park, since a task
        // is ready) and run what they wake.
        if let Some(w) = lock(&s.idler).take() {
            w.wake();
            return;
        }
    } else {
        s.done.store(true, Ordering::Release);
    }
    // Waking the turn makes this park a zero-timeout poll, after which it
    // ends if `done`.
    if let Some(w) = lock(&s.waker).take() {
        w.wake();
    }
}

/// `complete(id, error, value)` through `napi_make_callback`.
unsafe fn call_complete(
    env: sys::napi_env,
    func: sys::napi_ref,
    ctx: sys::napi_async_context,
    done: Outcome,
) {
    let mut scope = std::ptr::null_mut();
    if sys::napi_open_handle_scope(env, &mut scope) != sys::Status::napi_ok {
        return;
    }
    let mut f = std::ptr::null_mut();
    let mut global = std::ptr::null_mut();
    if sys::napi_get_reference_value(env, func, &mut f) == sys::Status::napi_ok
        && !f.is_null()
        && sys::napi_get_global(env, &mut global) == sys::Status::napi_ok
    {
        if let Some(args) = done(env) {
            let mut result = std::ptr::null_mut();
            let status =
                sys::napi_make_callback(env, ctx, global, f, 3, args.as_ptr(), &mut result);
            if status == sys::Status::napi_pending_exception {
                let mut e = std::ptr::null_mut();
                if sys::napi_get_and_clear_last_exception(env, &mut e) == sys::Status::napi_ok {
                    sys::napi_fatal_exception(env, e);
                }
            }
        }
    }
    sys::napi_close_handle_scope(env, scope);
}

unsafe fn alloc_handle(kind: c_int) -> Option<*mut c_void> {
    let size = uv_handle_size(kind);
    if size == 0 {
        return None;
    }
    let layout = std::alloc::Layout::from_size_align(size + 16, 16).ok()?;
    let p = std::alloc::alloc_zeroed(layout);
    if p.is_null() {
        return None;
    }
    // The size goes in front, for free_handle.
    *(p as *mut usize) = size + 16;
    Some(p.add(16) as *mut c_void)
}

unsafe fn free_handle(h: *mut c_void) {
    let p = (h as *mut u8).sub(16);
    let size = *(p as *mut usize);
    std::alloc::dealloc(p, std::alloc::Layout::from_size_align_unchecked(size, 16));
}

/// `handle->data` (the first field of every uv handle): a reference to `local`.
unsafe fn set_data(h: *mut c_void, local: &Arc<Local>) {
    *(h as *mut *const Local) = Arc::into_raw(local.clone());
}

unsafe fn data<'a>(h: *mut c_void) -> Option<&'a Local> {
    let p = *(h as *mut *const Local);
    p.as_ref()
}

unsafe extern "C" fn on_readable(h: *mut c_void, _status: c_int, _events: c_int) {
    let _ = catch_unwind(AssertUnwindSafe(|| {
        if let Some(local) = data(h) {
            local.turn.assume_ready.store(true, Ordering::Relaxed);
            local.turn(&mut || {});
            local.flush();
            local.after_turn();
        }
    }));
}

unsafe extern "C" fn on_tick(h: *mut c_void) {
    let _ = catch_unwind(AssertUnwindSafe(|| {
        if let Some(local) = data(h) {
            local.turn(&mut || {});
            local.flush();
            // Tokio's timers (a wait's deadline, a renewal) only fire in a
            // turn: tick while any task lives here, the period doubling up
            // to IDLE_TICK_MS since the last event; not at all with none
            // (the idler aside).
            if local.handle.metrics().num_alive_tasks() > 1 {
                let period = local.period.load(Ordering::Relaxed).max(1);
                local.arm((period * 2).min(local.max_period()));
            } else {
                local.stop_ticks();
            }
        }
    }));
}

unsafe extern "C" fn on_closed(h: *mut c_void) {
    let p = *(h as *mut *const Local);
    if !p.is_null() {
        drop(Arc::from_raw(p));
    }
    free_handle(h);
}

unsafe extern "C" fn cleanup(arg: *mut c_void) {
    let _ = catch_unwind(AssertUnwindSafe(|| {
        let local = Arc::from_raw(arg as *const Local);
        local.shutdown();
    }));
}

/// The epoll descriptor of `rt`'s I/O driver: the one that holds a probe
/// socket registered with the runtime (its number and inode, as
/// `/proc/self/fdinfo` lists them). mio keeps a duplicate of it; either will do.
fn find_epoll(rt: &Runtime) -> Option<c_int> {
    use std::os::unix::fs::MetadataExt;
    let (a, _b) = std::os::unix::net::UnixStream::pair().ok()?;
    a.set_nonblocking(true).ok()?;
    let probe = a.as_raw_fd();
    let ino = format!(
        "ino:{:x}",
        std::fs::metadata(format!("/proc/self/fd/{probe}"))
            .ok()?
            .ino()
    );
    let _enter = rt.enter();
    // SAFETY: `a` is owned by the AsyncFd and stays open while registered.
    let registered = unsafe { tokio::io::unix::AsyncFd::register(a) }.ok()?;
    let mut found = None;
    for entry in std::fs::read_dir("/proc/self/fd").ok()?.flatten() {
        let name = entry.file_name();
        let Some(fd) = name.to_str().and_then(|s| s.parse::<c_int>().ok()) else {
            continue;
        };
        let Ok(target) = std::fs::read_link(entry.path()) else {
            continue;
        };
        if target.as_os_str() != "anon_inode:[eventpoll]" {
            continue;
        }
        let Ok(info) = std::fs::read_to_string(format!("/proc/self/fdinfo/{fd}")) else {
            continue;
        };
        let holds_probe = info.lines().any(|l| {
            let mut words = l.split_whitespace();
            words.next() == Some("tfd:")
                && words.next().and_then(|w| w.parse::<c_int>().ok()) == Some(probe)
                && l.split_whitespace().any(|w| w == ino)
        });
        if holds_probe {
            found = Some(fd);
            break;
        }
    }
    drop(registered);
    found
}
