//! wasm-bindgen glue for `ferrolock/wasm`: the engine built for
//! `wasm32-unknown-unknown`, its runtime seam (`ferrolock::Host`) given the
//! host's timers and clocks, and the same native objects (`NativeLocks`,
//! `NativeLock`, `NativeHeld`, …) as the Node addon (bindings/node), so that
//! packages/npm's one TypeScript layer runs over either. Operations answer
//! as the addon's do (at once, or by an id the bridge completes); errors
//! are `Error`s whose message starts with `[CODE] `, as the addon's are. A
//! binding only converts arguments, maps errors and bridges async: every
//! lock rule is the core's.
#![cfg(all(target_arch = "wasm32", target_os = "unknown"))]

mod exec;
mod host;
mod objects;
mod redis;

pub use objects::*;
pub use redis::register_redis;

#[wasm_bindgen::prelude::wasm_bindgen(start)]
fn start() {
    ferrolock::set_host(Box::new(host::JsHost));
}
