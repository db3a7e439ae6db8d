//! Redis through the user's own client: `ferrolock::runner::Runner` over
//! the JavaScript object packages/npm/wasm/redis.js makes of an ioredis or
//! node-redis client (or of any object with `scriptLoad` and `evalsha`).
//! The engine runs its own scripts through it.
//!
//! A script call (every acquire and release) crosses once each way: `run`
//! gets the SHA1 and the lock's key array as JS values kept from earlier
//! calls and the arguments as one string, and settles through one callback
//! made per provider, `settle(id, ok, value)`, rather than through a
//! Promise wrapped in a `JsFuture` (two closures, each registered with a
//! FinalizationRegistry) and an array filled one string at a time. The
//! reply's `settle` polls the operation it wakes in place (exec.rs).

use ferrolock::runner::{OnMessage, Reply, Runner, RunnerFuture};
use js_sys::{Array, Function, Promise, Reflect};
use std::cell::{Cell, RefCell};
use std::collections::VecDeque;
use std::future::Future;
use std::pin::Pin;
use std::rc::{Rc, Weak};
use std::sync::Arc;
use std::task::{Context, Poll, Waker};
use wasm_bindgen::prelude::*;
use wasm_bindgen_futures::JsFuture;

#[wasm_bindgen]
extern "C" {
    /// The object redis.js's `forEngine` makes of an adapter.
    type Side;

    /// `EVALSHA sha keys.length keys… args…` through the adapter: `keys`
    /// is an array the engine keeps for later calls (JS reads it only);
    /// `line` holds the arguments, each ended by U+001F, unless `args` is an
    /// array of them. Settles through `settle(id, ok, value)`, never before
    /// it returns, also when the adapter threw at once: it never throws.
    #[wasm_bindgen(method)]
    fn run(
        this: &Side,
        settle: &JsValue,
        id: u32,
        sha: &JsValue,
        keys: &JsValue,
        line: &str,
        args: &JsValue,
    );
}

/// Ends each argument in `run`'s line: none holds it (holders hold no
/// control character; the rest is hex and digits), else they go as an array.
const END: char = '\u{1f}';

/// How many locks' key arrays a provider keeps.
const KEY_ARRAYS: usize = 8;

/// The script calls in flight, by id.
#[derive(Default)]
struct Calls {
    next: Cell<u32>,
    slots: RefCell<Slots>,
}

/// The calls in flight: a few at a time (one per operation that waits on
/// the server), so a short list, with no hashing per call.
#[derive(Default)]
struct Slots(Vec<(u32, Slot)>);

impl Slots {
    fn insert(&mut self, id: u32, slot: Slot) {
        self.0.push((id, slot));
    }
    fn get_mut(&mut self, id: &u32) -> Option<&mut Slot> {
        self.0.iter_mut().find(|(i, _)| i == id).map(|(_, s)| s)
    }
    fn remove(&mut self, id: &u32) -> Option<Slot> {
        let at = self.0.iter().position(|(i, _)| i == id)?;
        Some(self.0.swap_remove(at).1)
    }
}

enum Slot {
    Waiting(Option<Waker>),
    Done(Result<Reply, String>),
}

/// One script call's outcome, once `settle` brings it.
struct Outcome {
    calls: Rc<Calls>,
    id: u32,
}

impl Future for Outcome {
    type Output = Result<Reply, String>;
    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let mut slots = self.calls.slots.borrow_mut();
        match slots.get_mut(&self.id) {
            Some(Slot::Waiting(waker)) => {
                if !waker.as_ref().is_some_and(|w| w.will_wake(cx.waker())) {
                    *waker = Some(cx.waker().clone());
                }
                Poll::Pending
            }
            Some(Slot::Done(_)) => match slots.remove(&self.id) {
                Some(Slot::Done(out)) => Poll::Ready(out),
                _ => unreachable!(),
            },
            None => Poll::Ready(Err("the script call was already answered".into())),
        }
    }
}

impl Drop for Outcome {
    fn drop(&mut self) {
        // Abandoned (a wait that ended first): its answer is dropped on arrival.
        self.calls.slots.borrow_mut().remove(&self.id);
    }
}

/// The adapter object. WebAssembly without threads has one thread, so what
/// the engine's `Send` bounds ask of its values holds trivially.
struct JsRunner {
    adapter: JsValue,
    calls: Rc<Calls>,
    /// `settle(id, ok, value)`: owned by JS (a late answer after the
    /// provider is gone finds no calls and is dropped).
    settle: JsValue,
    /// The scripts' SHA1s as JS strings, and the key arrays of the locks
    /// used last (most recent first): each call on the same lock crosses
    /// with no string to copy or split for them.
    shas: RefCell<Vec<(String, JsValue)>>,
    keys: RefCell<VecDeque<(Vec<String>, JsValue)>>,
}
unsafe impl Send for JsRunner {}
unsafe impl Sync for JsRunner {}

/// A JS-backed future, `Send` for the same reason.
struct Local<F>(F);
unsafe impl<F> Send for Local<F> {}
impl<F: Future> Future for Local<F> {
    type Output = F::Output;
    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<F::Output> {
        // Structural pinning: `Local` only wraps `F`, and never moves it.
        unsafe { self.map_unchecked_mut(|l| &mut l.0) }.poll(cx)
    }
}

/// The text of a thrown value: its `message`, else its string form.
fn error_text(e: &JsValue) -> String {
    Reflect::get(e, &JsValue::from_str("message"))
        .ok()
        .and_then(|m| m.as_string())
        .or_else(|| e.as_string())
        .unwrap_or_else(|| format!("{e:?}"))
}

fn reply(v: &JsValue) -> Reply {
    // The common replies first: a number (a release), an array (an acquire).
    if let Some(n) = v.as_f64() {
        if n.fract() == 0.0 && n.abs() < 9.007_199_254_740_992e15 {
            Reply::Int(n as i64)
        } else {
            Reply::Text(n.to_string())
        }
    } else if Array::is_array(v) {
        let items = Array::from(v);
        Reply::Array((0..items.length()).map(|i| reply(&items.get(i))).collect())
    } else if let Some(s) = v.as_string() {
        Reply::Text(s)
    } else if v.is_null() || v.is_undefined() {
        Reply::Nil
    } else if v.is_bigint() {
        let s: String = js_sys::BigInt::from(v.clone())
            .to_string(10)
            .map(String::from)
            .unwrap_or_default();
        s.parse().map(Reply::Int).unwrap_or(Reply::Text(s))
    } else if let Some(bytes) = v.dyn_ref::<js_sys::Uint8Array>() {
        Reply::Text(String::from_utf8_lossy(&bytes.to_vec()).into_owned())
    } else {
        Reply::Text(String::from(js_sys::JsString::from(v.clone())))
    }
}

impl JsRunner {
    fn new(adapter: JsValue) -> JsRunner {
        let calls = Rc::new(Calls::default());
        let weak: Weak<Calls> = Rc::downgrade(&calls);
        let settle = Closure::<dyn FnMut(u32, bool, JsValue)>::new(
            move |id: u32, ok: bool, value: JsValue| {
                let Some(calls) = weak.upgrade() else { return };
                let waker = {
                    let mut slots = calls.slots.borrow_mut();
                    let Some(slot) = slots.get_mut(&id) else {
                        return;
                    };
                    let out = if ok {
                        Ok(reply(&value))
                    } else {
                        Err(error_text(&value))
                    };
                    match std::mem::replace(slot, Slot::Done(out)) {
                        Slot::Waiting(waker) => waker,
                        Slot::Done(_) => None,
                    }
                };
                if let Some(w) = waker {
                    // Called by JS from a Promise reaction: the woken
                    // operation may run now (exec.rs).
                    crate::exec::in_place(|| w.wake());
                }
            },
        )
        .into_js_value();
        JsRunner {
            adapter,
            calls,
            settle,
            shas: RefCell::default(),
            keys: RefCell::default(),
        }
    }

    /// `sha` as a JS string, made once per script.
    fn sha(&self, sha: &str) -> JsValue {
        let mut shas = self.shas.borrow_mut();
        if let Some((_, v)) = shas.iter().find(|(s, _)| s == sha) {
            return v.clone();
        }
        let v = JsValue::from_str(sha);
        shas.push((sha.to_owned(), v.clone()));
        v
    }

    /// `keys` as a JS array, kept for the next calls on the same lock.
    fn key_array(&self, keys: &[&str]) -> JsValue {
        let mut known = self.keys.borrow_mut();
        if let Some(i) = known
            .iter()
            .position(|(k, _)| k.len() == keys.len() && k.iter().zip(keys).all(|(a, b)| a == b))
        {
            let v = known[i].1.clone();
            if i > 0 {
                let hit = known.remove(i).expect("found");
                known.push_front(hit);
            }
            return v;
        }
        let owned: Vec<String> = keys.iter().map(|k| (*k).to_owned()).collect();
        let v = strings(owned.clone());
        known.push_front((owned, v.clone()));
        known.truncate(KEY_ARRAYS);
        v
    }

    fn method(&self, name: &str) -> Option<Function> {
        Reflect::get(&self.adapter, &JsValue::from_str(name))
            .ok()?
            .dyn_into::<Function>()
            .ok()
    }

    /// Call the adapter's `name` with `args`; its value once its Promise settles.
    fn call(&self, name: &'static str, args: &[JsValue]) -> RunnerFuture<JsValue> {
        let outcome = match self.method(name) {
            None => Err(format!("the Redis adapter has no {name} function")),
            Some(f) => f
                .apply(&self.adapter, &args.iter().collect::<Array>())
                .map_err(|e| error_text(&e)),
        };
        Box::pin(async move {
            let value = outcome?;
            let promise = Promise::resolve(&value);
            Local(JsFuture::from(promise))
                .await
                .map_err(|e| error_text(&e))
        })
    }
}

fn strings(items: Vec<String>) -> JsValue {
    items
        .into_iter()
        .map(JsValue::from)
        .collect::<Array>()
        .into()
}

impl Runner for JsRunner {
    fn script_load(&self, source: &str) -> RunnerFuture<String> {
        let f = self.call("scriptLoad", &[source.into()]);
        Box::pin(async move {
            let v = f.await?;
            v.as_string()
                .ok_or_else(|| format!("SCRIPT LOAD gave no SHA1 but {v:?}"))
        })
    }

    fn evalsha(&self, sha: &str, keys: &[&str], args: &[Vec<u8>]) -> RunnerFuture<Reply> {
        let sha = self.sha(sha);
        let keys = self.key_array(keys);
        let all = || args.iter().map(|a| String::from_utf8_lossy(a));
        // One pass over the arguments (each checked as UTF-8 once), unless
        // one holds END: then they go as an array.
        let mut line = String::with_capacity(args.iter().map(|a| a.len() + 1).sum());
        let mut parts = JsValue::UNDEFINED;
        for p in all() {
            if p.contains(END) {
                parts = strings(all().map(|p| p.into_owned()).collect());
                line.clear();
                break;
            }
            line.push_str(&p);
            line.push(END);
        }
        let id = self.calls.next.get().wrapping_add(1);
        self.calls.next.set(id);
        self.calls
            .slots
            .borrow_mut()
            .insert(id, Slot::Waiting(None));
        let outcome = Outcome {
            calls: self.calls.clone(),
            id,
        };
        self.adapter
            .unchecked_ref::<Side>()
            .run(&self.settle, id, &sha, &keys, &line, &parts);
        Box::pin(Local(outcome))
    }

    fn scan(&self, pattern: &str) -> Option<RunnerFuture<Vec<String>>> {
        self.method("scanKeys")?;
        let f = self.call("scanKeys", &[pattern.into()]);
        Some(Box::pin(async move {
            let v = f.await?;
            if !Array::is_array(&v) {
                return Err("scanKeys gave no array".into());
            }
            Ok(Array::from(&v)
                .iter()
                .filter_map(|k| k.as_string())
                .collect())
        }))
    }

    fn ping(&self) -> RunnerFuture<()> {
        if self.method("ping").is_none() {
            return Box::pin(async { Ok(()) });
        }
        let f = self.call("ping", &[]);
        Box::pin(async move { f.await.map(|_| ()) })
    }

    fn subscribe(&self, channels: Vec<String>, on_message: OnMessage) -> Option<RunnerFuture<()>> {
        self.method("subscribe")?;
        let callback =
            Closure::<dyn Fn(JsValue, JsValue)>::new(move |channel: JsValue, message: JsValue| {
                let text = |v: JsValue| match reply(&v) {
                    Reply::Text(s) => s,
                    other => format!("{other:?}"),
                };
                on_message(&text(channel), &text(message));
            });
        // The adapter keeps the callback for the subscription's life.
        let f = self.call("subscribe", &[strings(channels), callback.into_js_value()]);
        Some(Box::pin(async move { f.await.map(|_| ()) }))
    }

    fn close(&self) {
        // The adapter's close catches its own failures (redis.js).
        if let Some(close) = self.method("close") {
            let _ = close.call0(&self.adapter);
        }
    }
}

/// Register the adapter object `adapter` for one `connect`: the URL to
/// connect with (`redis+runner://…`; the TypeScript layer adds the namespace
/// and holder as for any URL).
#[wasm_bindgen(js_name = registerRedis)]
pub fn register_redis(adapter: JsValue) -> String {
    ferrolock::runner::register(Arc::new(JsRunner::new(adapter)))
}
