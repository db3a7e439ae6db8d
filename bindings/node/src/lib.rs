//! napi-rs glue for the `ferrolock` npm package: argument conversion, error
//! mapping and the async bridge, nothing else. Lock logic lives in the core;
//! the idiomatic surface (`Locks`, `LockError`, `await using`, AbortSignal)
//! is the TypeScript layer in `packages/npm`, which loads this addon.
#![deny(clippy::all)]

#[cfg(target_os = "linux")]
mod driver;
#[cfg(not(target_os = "linux"))]
#[path = "driver_stub.rs"]
mod driver;
mod error;
mod events;
mod held;
mod lock;
mod locks;
mod runtime;
mod token;

pub use events::NativeSubscription;
pub use held::NativeHeld;
pub use lock::{NativeCancel, NativeLock};
pub use locks::{connect, NativeLocks};
pub use runtime::NativeBridge;
pub use token::decode_token;
