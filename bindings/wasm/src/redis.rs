//! Redis through the user's own client: `ferrolock::runner::Runner` over
//! the JavaScript adapter object packages/npm/wasm/redis.js makes of an
//! ioredis or node-redis client (or any object with `scriptLoad` and
//! `evalsha`). The engine runs its own scripts through it.

use ferrolock::runner::{OnMessage, Reply, Runner, RunnerFuture};
use js_sys::{Array, Function, Promise, Reflect};
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use wasm_bindgen::prelude::*;
use wasm_bindgen_futures::JsFuture;

/// The adapter object. WebAssembly without threads has one thread, so what
/// the engine's `Send` bounds ask of its values holds trivially.
struct JsRunner(JsValue);
unsafe impl Send for JsRunner {}
unsafe impl Sync for JsRunner {}

/// A JS-backed future, `Send` for the same reason.
struct Local<F>(F);
unsafe impl<F> Send for Local<F> {}
impl<F: Future + Unpin> Future for Local<F> {
    type Output = F::Output;
    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<F::Output> {
        Pin::new(&mut self.0).poll(cx)
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
    if v.is_null() || v.is_undefined() {
        Reply::Nil
    } else if let Some(n) = v.as_f64() {
        if n.fract() == 0.0 && n.abs() < 9.007_199_254_740_992e15 {
            Reply::Int(n as i64)
        } else {
            Reply::Text(n.to_string())
        }
    } else if let Some(s) = v.as_string() {
        Reply::Text(s)
    } else if Array::is_array(v) {
        Reply::Array(Array::from(v).iter().map(|i| reply(&i)).collect())
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
    fn method(&self, name: &str) -> Option<Function> {
        Reflect::get(&self.0, &JsValue::from_str(name))
            .ok()?
            .dyn_into::<Function>()
            .ok()
    }

    /// Call the adapter's `name` with `args`; its value once its Promise settles.
    fn call(&self, name: &'static str, args: &[JsValue]) -> RunnerFuture<JsValue> {
        let outcome = match self.method(name) {
            None => Err(format!("the Redis adapter has no {name} function")),
            Some(f) => f
                .apply(&self.0, &args.iter().collect::<Array>())
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

    fn evalsha(&self, sha: &str, keys: Vec<String>, args: Vec<String>) -> RunnerFuture<Reply> {
        let f = self.call("evalsha", &[sha.into(), strings(keys), strings(args)]);
        Box::pin(async move { f.await.map(|v| reply(&v)) })
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
            let _ = close.call0(&self.0);
        }
    }
}

/// Register the adapter object `adapter` for one `connect`: the URL to
/// connect with (`redis+runner://…`; the TypeScript layer adds the namespace
/// and holder as for any URL).
#[wasm_bindgen(js_name = registerRedis)]
pub fn register_redis(adapter: JsValue) -> String {
    ferrolock::runner::register(Arc::new(JsRunner(adapter)))
}
