//! How an operation's future runs and answers, without a Promise made in
//! Rust for each one: the call polls the future at once (a Redis acquire
//! sends its script before it returns); a future done then gives its value
//! as it is (memory operations); one still pending gives a number, the id
//! the TypeScript layer waits on, and answers later through the bridge's
//! `complete(id, error, value)`, as the Node addon's operations do
//! (packages/npm/src/api.ts, `settle`). Never `complete` before the call
//! has returned its id.
//!
//! A woken operation is polled in a microtask, except when a script call's
//! answer woke it (`redis.rs`'s `settle`, called by JS from a Promise
//! reaction, with no Rust frame below it): then it is polled in place, and
//! an acquire's result reaches JS in the same turn as the reply.

use std::cell::{Cell, RefCell};
use std::collections::VecDeque;
use std::future::Future;
use std::pin::Pin;
use std::rc::Rc;
use std::task::{Context, Poll, RawWaker, RawWakerVTable, Waker};
use wasm_bindgen::prelude::*;

type JsResult<T> = Result<T, JsValue>;
type Job = Pin<Box<dyn Future<Output = JsResult<JsValue>>>>;

/// An operation still pending after its first poll: `complete` answers
/// `id` with its result.
struct Task {
    job: RefCell<Option<Job>>,
    id: Cell<u32>,
    queued: Cell<bool>,
}

thread_local! {
    /// The bridge's `complete(id, error, value)`, from `NativeBridge::new`.
    /// (An `Rc`: taken out for a call without copying the JS reference.)
    static COMPLETE: RefCell<Option<Rc<js_sys::Function>>> = const { RefCell::new(None) };
    static NEXT_ID: Cell<u32> = const { Cell::new(0) };
    /// Tasks woken while a poll ran, or from outside a script's answer.
    static QUEUE: RefCell<VecDeque<Rc<Task>>> = const { RefCell::new(VecDeque::new()) };
    static DRAIN_SCHEDULED: Cell<bool> = const { Cell::new(false) };
    /// A task of ours is being polled (no poll may start inside another).
    static POLLING: Cell<bool> = const { Cell::new(false) };
    /// Set by `in_place` around a wake from a script call's answer.
    static IN_PLACE: Cell<bool> = const { Cell::new(false) };
}

#[wasm_bindgen]
extern "C" {
    #[wasm_bindgen(js_name = queueMicrotask)]
    fn queue_microtask(f: &js_sys::Function);
}

/// Install the bridge's completion callback (once per module).
pub(crate) fn set_complete(complete: JsValue) {
    if let Ok(f) = complete.dyn_into::<js_sys::Function>() {
        COMPLETE.with_borrow_mut(|c| *c = Some(Rc::new(f)));
    }
}

/// Run `wake` (a waker's), polling the task it wakes at once if it is one
/// of ours: for callers from JS with no Rust frame below them.
pub(crate) fn in_place(wake: impl FnOnce()) {
    IN_PLACE.set(true);
    wake();
    IN_PLACE.set(false);
}

/// Start `fut`: its value if it finishes at once (a Promise if that value
/// is a number, which would read as an id; a rejected Promise if it
/// failed), else the id `complete` answers later.
pub(crate) fn start<T: Into<JsValue>>(fut: impl Future<Output = JsResult<T>> + 'static) -> JsValue {
    // Boxed as one type here, so that what follows is compiled once, not
    // once per operation.
    start_boxed(Box::pin(async move { fut.await.map(Into::into) }))
}

fn start_boxed(mut fut: Job) -> JsValue {
    if COMPLETE.with_borrow(Option::is_none) {
        return wasm_bindgen_futures::future_to_promise(fut).into();
    }
    // A first poll, as the task's polls run (a wake during it is queued).
    let task = Rc::new(Task {
        job: RefCell::new(None),
        id: Cell::new(0),
        queued: Cell::new(false),
    });
    let waker = waker(&task);
    let first = {
        let was = POLLING.replace(true);
        let r = fut.as_mut().poll(&mut Context::from_waker(&waker));
        POLLING.set(was);
        r
    };
    schedule_drain_if_queued();
    match first {
        Poll::Ready(Ok(v)) => {
            if v.as_f64().is_some() {
                js_sys::Promise::resolve(&v).into()
            } else {
                v
            }
        }
        Poll::Ready(Err(e)) => js_sys::Promise::reject(&e).into(),
        Poll::Pending => {
            let id = NEXT_ID.get().wrapping_add(1);
            NEXT_ID.set(id);
            task.id.set(id);
            *task.job.borrow_mut() = Some(fut);
            JsValue::from(id)
        }
    }
}

/// Answer a task's id with its result, through the bridge.
fn complete(id: u32, result: JsResult<JsValue>) {
    let (error, value) = match result {
        Ok(v) => (JsValue::NULL, v),
        Err(e) => (error_message(&e), JsValue::UNDEFINED),
    };
    // Not borrowed while JS runs (it may install another bridge).
    if let Some(f) = COMPLETE.with_borrow(Clone::clone) {
        let _ = f.call3(&JsValue::UNDEFINED, &JsValue::from(id), &error, &value);
    }
}

/// The bridge gives errors as their message (`[CODE] text`), as the addon does.
fn error_message(e: &JsValue) -> JsValue {
    js_sys::Reflect::get(e, &JsValue::from_str("message"))
        .ok()
        .filter(|m| m.is_string())
        .unwrap_or_else(|| JsValue::from_str(&format!("[INTERNAL] {e:?}")))
}

fn schedule_drain_if_queued() {
    if DRAIN_SCHEDULED.get() || QUEUE.with_borrow(|q| q.is_empty()) {
        return;
    }
    DRAIN_SCHEDULED.set(true);
    thread_local! {
        static DRAIN: js_sys::Function = Closure::<dyn FnMut()>::new(drain).into_js_value().unchecked_into();
    }
    DRAIN.with(queue_microtask);
}

fn drain() {
    DRAIN_SCHEDULED.set(false);
    while let Some(task) = QUEUE.with_borrow_mut(|q| q.pop_front()) {
        task.queued.set(false);
        poll(&task);
    }
}

fn poll(task: &Rc<Task>) {
    let Ok(mut slot) = task.job.try_borrow_mut() else {
        return;
    };
    let Some(job) = slot.as_mut() else { return };
    let waker = waker(task);
    let was = POLLING.replace(true);
    let out = job.as_mut().poll(&mut Context::from_waker(&waker));
    POLLING.set(was);
    if let Poll::Ready(result) = out {
        *slot = None;
        // Not borrowed while JS runs: `complete` may start other operations.
        drop(slot);
        complete(task.id.get(), result);
    }
}

fn wake(task: Rc<Task>) {
    if IN_PLACE.get() && !POLLING.get() {
        poll(&task);
        schedule_drain_if_queued();
        return;
    }
    if !task.queued.replace(true) {
        QUEUE.with_borrow_mut(|q| q.push_back(task));
    }
    if !POLLING.get() {
        schedule_drain_if_queued();
    }
}

fn waker(task: &Rc<Task>) -> Waker {
    // WebAssembly without threads has one thread: an `Rc` behind the waker
    // is never touched from another.
    unsafe fn clone(p: *const ()) -> RawWaker {
        Rc::increment_strong_count(p as *const Task);
        RawWaker::new(p, &VTABLE)
    }
    unsafe fn wake_owned(p: *const ()) {
        wake(Rc::from_raw(p as *const Task));
    }
    unsafe fn wake_by_ref(p: *const ()) {
        Rc::increment_strong_count(p as *const Task);
        wake(Rc::from_raw(p as *const Task));
    }
    unsafe fn drop(p: *const ()) {
        std::mem::drop(Rc::from_raw(p as *const Task));
    }
    static VTABLE: RawWakerVTable = RawWakerVTable::new(clone, wake_owned, wake_by_ref, drop);
    let p = Rc::into_raw(task.clone()) as *const ();
    unsafe { Waker::from_raw(RawWaker::new(p, &VTABLE)) }
}
