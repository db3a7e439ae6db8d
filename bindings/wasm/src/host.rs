//! The host behind the core's runtime seam: tasks on the JS event loop
//! (`spawn_local`), `setTimeout` timers that never keep Node's event loop
//! alive on their own (the TypeScript layer keeps it alive while an
//! operation is pending), `Date.now()` and `performance.now()`.

use js_sys::{Function, Promise, Reflect};
use std::future::Future;
use std::pin::Pin;
use std::time::Duration;
use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_futures::JsFuture;

pub struct JsHost;

#[wasm_bindgen::prelude::wasm_bindgen]
extern "C" {
    #[wasm_bindgen(js_namespace = performance, js_name = now)]
    fn performance_now() -> f64;
}

/// setTimeout's longest delay (a longer one fires at once in Node).
const MAX_DELAY_MS: f64 = 2_147_483_647.0;

fn global(name: &str) -> JsValue {
    Reflect::get(&js_sys::global(), &JsValue::from_str(name)).unwrap_or(JsValue::UNDEFINED)
}

/// A `setTimeout` of `ms` as a future. Its timer is unref'd where it can
/// be, and cleared when the future is dropped first: a wait that ends early
/// (the watchdog re-planning at each acquisition, a timeout racing a grant)
/// leaves no timer behind in the host's timer list.
struct Timer {
    done: JsFuture,
    handle: JsValue,
}

impl Timer {
    fn new(ms: f64) -> Timer {
        let mut handle = JsValue::UNDEFINED;
        let promise = Promise::new(&mut |resolve, _reject| {
            let Ok(set_timeout) = global("setTimeout").dyn_into::<Function>() else {
                return;
            };
            if let Ok(t) = set_timeout.call2(&JsValue::UNDEFINED, &resolve, &JsValue::from_f64(ms))
            {
                if let Ok(unref) = Reflect::get(&t, &JsValue::from_str("unref"))
                    .and_then(|f| f.dyn_into::<Function>())
                {
                    let _ = unref.call0(&t);
                }
                handle = t;
            }
        });
        Timer {
            done: JsFuture::from(promise),
            handle,
        }
    }
}

impl Future for Timer {
    type Output = ();
    fn poll(mut self: Pin<&mut Self>, cx: &mut std::task::Context<'_>) -> std::task::Poll<()> {
        match Pin::new(&mut self.done).poll(cx) {
            std::task::Poll::Ready(_) => {
                self.handle = JsValue::UNDEFINED;
                std::task::Poll::Ready(())
            }
            std::task::Poll::Pending => std::task::Poll::Pending,
        }
    }
}

impl Drop for Timer {
    fn drop(&mut self) {
        if !self.handle.is_undefined() {
            if let Ok(clear) = global("clearTimeout").dyn_into::<Function>() {
                let _ = clear.call1(&JsValue::UNDEFINED, &self.handle);
            }
        }
    }
}

thread_local! {
    /// The TypeScript layer's warning for a held lock collected without
    /// release (`onHeldForgotten`).
    static FORGOTTEN: std::cell::RefCell<Option<Function>> = const { std::cell::RefCell::new(None) };
}

/// Install the warning `warn_forgotten` calls.
pub(crate) fn set_forgotten(warn: Function) {
    FORGOTTEN.with_borrow_mut(|f| *f = Some(warn));
}

/// A held lock `name` was collected without release (the engine's drop
/// releases it now): the TypeScript layer's warning says so.
pub(crate) fn warn_forgotten(name: &str) {
    if let Some(warn) = FORGOTTEN.with_borrow(Clone::clone) {
        let _ = warn.call1(&JsValue::UNDEFINED, &JsValue::from_str(name));
    }
}

impl ferrolock::Host for JsHost {
    fn spawn(&self, task: Pin<Box<dyn Future<Output = ()> + 'static>>) {
        wasm_bindgen_futures::spawn_local(task);
    }

    fn sleep(&self, d: Duration) -> Pin<Box<dyn Future<Output = ()> + 'static>> {
        Box::pin(async move {
            let mut left = d.as_secs_f64() * 1000.0;
            loop {
                let step = left.min(MAX_DELAY_MS);
                Timer::new(step).await;
                left -= step;
                if left <= 0.0 {
                    return;
                }
            }
        })
    }

    fn wall_ms(&self) -> f64 {
        js_sys::Date::now()
    }

    fn monotonic_ms(&self) -> f64 {
        // Looked up once: every acquire and release reads this clock, and a
        // lookup by name costs a string crossing and two property reads.
        thread_local! {
            static HAS_PERFORMANCE_NOW: bool = Reflect::get(&global("performance"), &JsValue::from_str("now"))
                .is_ok_and(|f| f.is_function());
        }
        if HAS_PERFORMANCE_NOW.with(|has| *has) {
            performance_now()
        } else {
            js_sys::Date::now()
        }
    }
}
