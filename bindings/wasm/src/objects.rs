//! The native objects the TypeScript layer drives (the same names, methods
//! and messages as bindings/node's): each asynchronous method returns its
//! value when done at once, else an id the bridge completes (exec.rs); each
//! error is an `Error` whose message is `[CODE] text` (then `\n[cause] …`).

use ferrolock::{LockOptions, LockState, Mode};
use js_sys::{Array, Function, Object, Reflect};
use std::cell::{Cell, RefCell};
use std::future::Future;
use std::rc::Rc;
use std::time::Duration;
use tokio_util::sync::CancellationToken;
use wasm_bindgen::prelude::*;

type JsResult<T> = Result<T, JsValue>;

fn coded(code: &str, message: &str) -> JsValue {
    js_sys::Error::new(&format!("[{code}] {message}")).into()
}

fn to_js(e: ferrolock::Error) -> JsValue {
    match std::error::Error::source(&e) {
        Some(cause) => coded(e.code(), &format!("{e}\n[cause] {cause}")),
        None => coded(e.code(), &e.to_string()),
    }
}

fn invalid(message: impl AsRef<str>) -> JsValue {
    coded(
        "INVALID_ARGUMENT",
        &format!("invalid argument: {}", message.as_ref()),
    )
}

/// JS milliseconds as a `Duration` (`Infinity` where `forever`), with the addon's messages.
fn millis(what: &str, ms: f64, forever: bool) -> JsResult<Duration> {
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

fn to_millis(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

/// What `fut` gives: its value at once, or an id the bridge completes (see exec.rs).
fn promise<T: Into<JsValue>>(fut: impl Future<Output = JsResult<T>> + 'static) -> JsValue {
    crate::exec::start(fut)
}

/// A plain object from `(field, value)` pairs.
fn record(fields: &[(&str, JsValue)]) -> JsValue {
    let o = Object::new();
    for (k, v) in fields {
        let _ = Reflect::set(&o, &JsValue::from_str(k), v);
    }
    o.into()
}

fn info(
    name: String,
    fence: u64,
    mode: Mode,
    holder: String,
    expires_in: Duration,
    readers: u32,
) -> JsValue {
    record(&[
        ("name", name.into()),
        ("fence", fence.into()),
        ("mode", mode.as_str().into()),
        ("holder", holder.into()),
        ("expiresIn", to_millis(expires_in).into()),
        ("readers", readers.into()),
    ])
}

/// The addon's per-environment bridge: its callback, `complete(id, error,
/// value)`, answers the operations that did not finish at once (exec.rs).
#[wasm_bindgen]
pub struct NativeBridge;

#[wasm_bindgen]
impl NativeBridge {
    #[wasm_bindgen(constructor)]
    pub fn new(complete: JsValue) -> NativeBridge {
        crate::exec::set_complete(complete);
        NativeBridge
    }
}

/// Connect to the backend `url` names (`memory://` when none is given: no
/// SQLite file here).
#[wasm_bindgen]
pub fn connect(url: Option<String>, _bridge: JsValue) -> JsValue {
    let url = url.unwrap_or_else(|| "memory://".to_owned());
    promise(async move {
        let locks = ferrolock::Locks::connect(&url).await.map_err(to_js)?;
        Ok(NativeLocks { locks })
    })
}

/// Decode a token's public fields, checking its format.
#[wasm_bindgen(js_name = decodeToken)]
pub fn decode_token(token: String) -> JsResult<JsValue> {
    let i = ferrolock::token::decode(&token).map_err(to_js)?;
    Ok(record(&[
        ("backend", i.backend.name().into()),
        ("namespace", i.namespace.into()),
        ("name", i.name.into()),
        ("fence", i.fence.into()),
        ("mode", i.mode.as_str().into()),
        ("expiresAtMs", i.expires_at_ms.into()),
        ("ttlMs", i.ttl_ms.into()),
        ("holder", i.holder.into()),
    ]))
}

/// A provider: one connection to one backend.
#[wasm_bindgen]
pub struct NativeLocks {
    locks: ferrolock::Locks,
}

#[wasm_bindgen]
impl NativeLocks {
    /// Describe a lock (no I/O). `ttl` in milliseconds.
    pub fn lock(
        &self,
        name: String,
        ttl: Option<f64>,
        shared: Option<bool>,
        holder: Option<String>,
        #[wasm_bindgen(js_name = autoRenew)] auto_renew: Option<bool>,
    ) -> JsResult<NativeLock> {
        let mut options = LockOptions {
            holder,
            ..LockOptions::default()
        };
        if let Some(ttl) = ttl {
            options.ttl = millis("ttl", ttl, false)?;
        }
        if shared == Some(true) {
            options.mode = Mode::Shared;
        }
        if auto_renew == Some(false) {
            options.auto_renew = false;
        }
        Ok(NativeLock {
            lock: self.locks.lock_with(name, options),
        })
    }

    pub fn resume(&self, token: String) -> JsValue {
        let locks = self.locks.clone();
        promise(async move { Ok(NativeHeld::new(locks.resume(&token).await.map_err(to_js)?)) })
    }

    pub fn state(&self, name: String) -> JsValue {
        let locks = self.locks.clone();
        promise(async move {
            Ok(match locks.state(&name).await.map_err(to_js)? {
                LockState::Free => JsValue::NULL,
                LockState::Held {
                    fence,
                    mode,
                    holder,
                    expires_in,
                    readers,
                } => info(name, fence, mode, holder, expires_in, readers),
            })
        })
    }

    pub fn list(&self, prefix: String) -> JsValue {
        let locks = self.locks.clone();
        promise(async move {
            let rows = locks.list(&prefix).await.map_err(to_js)?;
            let out = Array::new();
            for i in rows {
                out.push(&info(
                    i.name,
                    i.fence,
                    i.mode,
                    i.holder,
                    i.expires_in,
                    i.readers,
                ));
            }
            Ok(out)
        })
    }

    #[wasm_bindgen(js_name = forceRelease)]
    pub fn force_release(&self, name: String) -> JsValue {
        let locks = self.locks.clone();
        promise(async move { locks.force_release(&name).await.map_err(to_js) })
    }

    pub fn ping(&self) -> JsValue {
        let locks = self.locks.clone();
        promise(async move {
            locks
                .ping()
                .await
                .map(|()| JsValue::UNDEFINED)
                .map_err(to_js)
        })
    }

    /// Close: pending waits end with `CLOSED`; waits for background clean-ups.
    pub fn close(&self) -> JsValue {
        let locks = self.locks.clone();
        promise(async move {
            locks.close().await;
            Ok(JsValue::UNDEFINED)
        })
    }

    #[wasm_bindgen(getter)]
    pub fn url(&self) -> String {
        self.locks.url().to_owned()
    }

    #[wasm_bindgen(getter)]
    pub fn namespace(&self) -> String {
        self.locks.namespace().to_owned()
    }

    #[wasm_bindgen(getter)]
    pub fn backend(&self) -> String {
        self.locks.backend().name().to_owned()
    }

    #[wasm_bindgen(getter)]
    pub fn capabilities(&self) -> JsValue {
        let c = self.locks.capabilities();
        record(&[
            (
                "maxTtl",
                to_millis(c.max_ttl.min(Duration::from_secs(u32::MAX as u64))).into(),
            ),
            ("shared", c.shared.into()),
            ("handoff", c.handoff.into()),
            ("queue", c.queue.into()),
            ("notices", c.notices.into()),
        ])
    }

    /// Call `callback` with every event from now on, until `stop()`.
    pub fn subscribe(&self, callback: Function) -> NativeSubscription {
        let stop = CancellationToken::new();
        let stopped = stop.clone();
        let mut events = self.locks.events();
        wasm_bindgen_futures::spawn_local(async move {
            loop {
                tokio::select! {
                    _ = stopped.cancelled() => break,
                    e = events.recv() => match e {
                        Some(e) => {
                            let event = record(&[
                                ("kind", e.kind.as_str().into()),
                                ("namespace", e.namespace.into()),
                                ("name", e.name.into()),
                                ("fence", e.fence.into()),
                                ("mode", e.mode.as_str().into()),
                                ("holder", e.holder.into()),
                            ]);
                            let _ = callback.call1(&JsValue::UNDEFINED, &event);
                        }
                        None => break,
                    },
                }
            }
        });
        NativeSubscription { stop }
    }
}

/// A subscription to events; `stop()` ends it.
#[wasm_bindgen]
pub struct NativeSubscription {
    stop: CancellationToken,
}

#[wasm_bindgen]
impl NativeSubscription {
    pub fn stop(&self) {
        self.stop.cancel();
    }
}

impl Drop for NativeSubscription {
    fn drop(&mut self) {
        self.stop.cancel();
    }
}

/// Stops a wait: the TypeScript layer cancels it when the caller's
/// AbortSignal fires. (A Rust object passed by value would be consumed, so
/// a wait finds its cancel by the `id` it carries.)
#[wasm_bindgen]
pub struct NativeCancel {
    id: u32,
}

thread_local! {
    static CANCELS: RefCell<(u32, std::collections::HashMap<u32, CancellationToken>)> = Default::default();
}

#[wasm_bindgen]
impl NativeCancel {
    #[wasm_bindgen(constructor)]
    pub fn new() -> NativeCancel {
        let id = CANCELS.with_borrow_mut(|(next, map)| {
            *next = next.wrapping_add(1);
            map.insert(*next, CancellationToken::new());
            *next
        });
        NativeCancel { id }
    }

    #[wasm_bindgen(getter)]
    pub fn id(&self) -> u32 {
        self.id
    }

    pub fn cancel(&self) {
        if let Some(t) = CANCELS.with_borrow(|(_, map)| map.get(&self.id).cloned()) {
            t.cancel();
        }
    }
}

impl Default for NativeCancel {
    fn default() -> Self {
        Self::new()
    }
}

impl Drop for NativeCancel {
    fn drop(&mut self) {
        CANCELS.with_borrow_mut(|(_, map)| map.remove(&self.id));
    }
}

/// The token of the `NativeCancel` object `cancel`, if it is one.
fn cancel_token(cancel: &JsValue) -> Option<CancellationToken> {
    let id = Reflect::get(cancel, &JsValue::from_str("id"))
        .ok()?
        .as_f64()? as u32;
    CANCELS.with_borrow(|(_, map)| map.get(&id).cloned())
}

/// A named lock. No I/O until used.
#[wasm_bindgen]
pub struct NativeLock {
    lock: ferrolock::Lock,
}

#[wasm_bindgen]
impl NativeLock {
    #[wasm_bindgen(getter)]
    pub fn name(&self) -> String {
        self.lock.name().to_owned()
    }

    #[wasm_bindgen(js_name = tryAcquire)]
    pub fn try_acquire(&self) -> JsValue {
        let lock = self.lock.clone();
        promise(async move {
            Ok(match lock.try_acquire().await.map_err(to_js)? {
                Some(h) => NativeHeld::new(h).into(),
                None => JsValue::NULL,
            })
        })
    }

    /// Wait up to `timeout` ms (`Infinity`: forever); `cancel` stops the wait with `[ABORTED]`.
    pub fn acquire(
        &self,
        timeout: f64,
        #[wasm_bindgen(js_name = orNull)] or_null: bool,
        cancel: JsValue,
    ) -> JsResult<JsValue> {
        let timeout = millis("timeout", timeout, true)?;
        let lock = self.lock.clone();
        let cancel = cancel_token(&cancel);
        Ok(promise(async move {
            let wait = async {
                if or_null {
                    lock.acquire_or_none(timeout).await
                } else {
                    lock.acquire(timeout).await.map(Some)
                }
            };
            let cancelled = async {
                match cancel {
                    Some(c) => c.cancelled().await,
                    None => std::future::pending().await,
                }
            };
            let held = tokio::select! {
                biased;
                _ = cancelled => return Err(coded("ABORTED", "the operation was aborted")),
                r = wait => r.map_err(to_js)?,
            };
            Ok(match held {
                Some(h) => NativeHeld::new(h).into(),
                None => JsValue::NULL,
            })
        }))
    }

    /// A stand-in for a handle of this lock that has ended (released,
    /// ended by `run` or handed off) and whose `NativeHeld` was freed then:
    /// its fields as they were at the end, and what an ended handle answers.
    pub fn ended(
        &self,
        fence: u64,
        ttl: f64,
        #[wasm_bindgen(js_name = expiresAt)] expires_at: f64,
        #[wasm_bindgen(js_name = isLost)] is_lost: bool,
    ) -> NativeEnded {
        NativeEnded {
            ended: self.lock.ended(is_lost),
            fence,
            ttl,
            expires_at,
        }
    }
}

/// A handle after its end, in place of its `NativeHeld`: the TypeScript
/// layer frees that at the end (a `NativeHeld` left to the garbage
/// collector costs V8 a finalization, and a loop that never yields to the
/// event loop piles them up), and makes one of these only if the handle is
/// used again. The same getters and methods as `NativeHeld`.
#[wasm_bindgen]
pub struct NativeEnded {
    ended: ferrolock::Ended,
    fence: u64,
    ttl: f64,
    expires_at: f64,
}

#[wasm_bindgen]
impl NativeEnded {
    #[wasm_bindgen(getter)]
    pub fn name(&self) -> String {
        self.ended.name().to_owned()
    }
    #[wasm_bindgen(getter)]
    pub fn namespace(&self) -> String {
        self.ended.namespace().to_owned()
    }
    #[wasm_bindgen(getter)]
    pub fn fence(&self) -> u64 {
        self.fence
    }
    #[wasm_bindgen(getter)]
    pub fn mode(&self) -> String {
        self.ended.mode().as_str().to_owned()
    }
    #[wasm_bindgen(getter)]
    pub fn holder(&self) -> String {
        self.ended.holder().to_owned()
    }
    #[wasm_bindgen(getter)]
    pub fn ttl(&self) -> f64 {
        self.ttl
    }
    #[wasm_bindgen(getter = expiresAt)]
    pub fn expires_at(&self) -> f64 {
        self.expires_at
    }
    #[wasm_bindgen(getter = isLost)]
    pub fn is_lost(&self) -> bool {
        self.ended.is_lost()
    }
    #[wasm_bindgen(getter = isArmed)]
    pub fn is_armed(&self) -> bool {
        false
    }
    pub fn release(&self) -> JsValue {
        ready(self.ended.release())
    }
    pub fn finish(&self, #[wasm_bindgen(js_name = bodyFailed)] body_failed: bool) -> JsValue {
        ready(self.ended.finish(body_failed).map(|()| JsValue::UNDEFINED))
    }
    pub fn refresh(&self, ttl: f64) -> JsResult<JsValue> {
        millis("ttl", ttl, false)?;
        Ok(ready(self.ended.refresh().map(|()| JsValue::UNDEFINED)))
    }
    #[wasm_bindgen(js_name = intoToken)]
    pub fn into_token(&self) -> JsResult<String> {
        self.ended.take_token().map_err(to_js)
    }
    /// Never lost now: nothing to watch.
    #[wasm_bindgen(js_name = watchLost)]
    pub fn watch_lost(&self, _callback: Function) {}
}

/// An operation's result at once, as `promise` gives a finished one.
fn ready<T: Into<JsValue> + 'static>(result: ferrolock::Result<T>) -> JsValue {
    promise(std::future::ready(result.map_err(to_js)))
}

/// An acquired lock. Its JS object is freed by wasm-bindgen's finalizer
/// when collected; one collected while it held its lock (no release,
/// `run`'s end or token taken) warns here, and the engine's drop releases
/// the lock. (The addon's objects are finalized during garbage collection,
/// where no JavaScript may run, so its TypeScript layer keeps a
/// FinalizationRegistry of its own for that warning; this build needs
/// none: see `onHeldForgotten`.)
#[wasm_bindgen]
pub struct NativeHeld {
    held: Rc<ferrolock::Held>,
    watching: RefCell<Option<CancellationToken>>,
    /// Released, ended by `run` or handed off as a token.
    let_go: Cell<bool>,
}

impl NativeHeld {
    fn new(held: ferrolock::Held) -> NativeHeld {
        NativeHeld {
            held: Rc::new(held),
            watching: RefCell::new(None),
            let_go: Cell::new(false),
        }
    }

    fn let_go(&self) {
        self.let_go.set(true);
        if let Some(w) = self.watching.borrow().as_ref() {
            w.cancel();
        }
    }
}

impl Drop for NativeHeld {
    fn drop(&mut self) {
        let forgotten = !self.let_go.get() && self.held.is_armed();
        self.let_go();
        if forgotten {
            crate::host::warn_forgotten(self.held.name());
        }
    }
}

/// The TypeScript layer's warning for a held lock collected without
/// release (called with its name): this build's held objects call it from
/// their drop, so the layer registers none of its own.
#[wasm_bindgen(js_name = onHeldForgotten)]
pub fn on_held_forgotten(warn: Function) {
    crate::host::set_forgotten(warn);
}

#[wasm_bindgen]
impl NativeHeld {
    #[wasm_bindgen(getter)]
    pub fn name(&self) -> String {
        self.held.name().to_owned()
    }
    #[wasm_bindgen(getter)]
    pub fn namespace(&self) -> String {
        self.held.namespace().to_owned()
    }
    #[wasm_bindgen(getter)]
    pub fn fence(&self) -> u64 {
        self.held.fence()
    }
    #[wasm_bindgen(getter)]
    pub fn mode(&self) -> String {
        self.held.mode().as_str().to_owned()
    }
    #[wasm_bindgen(getter)]
    pub fn holder(&self) -> String {
        self.held.holder().to_owned()
    }
    #[wasm_bindgen(getter)]
    pub fn ttl(&self) -> f64 {
        to_millis(self.held.ttl())
    }
    #[wasm_bindgen(getter = expiresAt)]
    pub fn expires_at(&self) -> f64 {
        self.held.expires_at_ms() as f64
    }
    #[wasm_bindgen(getter = isLost)]
    pub fn is_lost(&self) -> bool {
        self.held.is_lost()
    }
    #[wasm_bindgen(getter = isArmed)]
    pub fn is_armed(&self) -> bool {
        self.held.is_armed()
    }

    pub fn release(&self) -> JsValue {
        self.let_go();
        let held = self.held.clone();
        promise(async move { held.release_ref().await.map_err(to_js) })
    }

    /// The end of `run`: release, then `LOST` if it was lost meanwhile, unless the body failed.
    pub fn finish(&self, #[wasm_bindgen(js_name = bodyFailed)] body_failed: bool) -> JsValue {
        self.let_go();
        let held = self.held.clone();
        promise(async move {
            held.finish(body_failed)
                .await
                .map(|()| JsValue::UNDEFINED)
                .map_err(to_js)
        })
    }

    pub fn refresh(&self, ttl: f64) -> JsResult<JsValue> {
        let ttl = millis("ttl", ttl, false)?;
        let held = self.held.clone();
        Ok(promise(async move {
            held.refresh(ttl)
                .await
                .map(|()| JsValue::UNDEFINED)
                .map_err(to_js)
        }))
    }

    #[wasm_bindgen(js_name = intoToken)]
    pub fn into_token(&self) -> JsResult<String> {
        self.let_go();
        self.held.take_token().map_err(to_js)
    }

    /// Call `callback` once if the lock is found lost while this handle holds it.
    #[wasm_bindgen(js_name = watchLost)]
    pub fn watch_lost(&self, callback: Function) {
        if self.watching.borrow().is_some() {
            return;
        }
        let stop = CancellationToken::new();
        *self.watching.borrow_mut() = Some(stop.clone());
        let guard = self.held.guard();
        wasm_bindgen_futures::spawn_local(async move {
            tokio::select! {
                _ = stop.cancelled() => {}
                _ = guard.lost() => {
                    let _ = callback.call0(&JsValue::UNDEFINED);
                }
            }
        });
    }
}
