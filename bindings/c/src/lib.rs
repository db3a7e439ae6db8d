//! The C ABI of ferrolock. cbindgen writes `include/ferrolock.h` from these
//! items (`scripts/gen/c-header`); the conventions every entry point keeps
//! are in that header's opening comment (cbindgen.toml) and docs/c.md.
//!
//! Thin glue over `ferrolock::blocking`: argument conversion, error mapping,
//! and the boundary (null checks, panics caught). No lock logic lives here.

// Entry points document their pointer contract under `# Safety`.
#![allow(clippy::missing_safety_doc)]

// The same files as every binding (error, runtime, locks, lock, held,
// events, token), declared in the order the header presents them (cbindgen
// follows it): statuses, providers, lock options and acquire calls, held
// locks, tokens, events. Then two files of C's own: convert (raw pointer and
// string arguments) and logging (the library's log subscriber).
mod error;

mod locks;

mod lock;

mod held;

mod token;

mod events;

mod runtime;

mod convert;
mod logging;

pub use error::{ferrolock_last_error, ferrolock_status_code, FerrolockStatus};
pub use events::*;
pub use held::*;
pub use lock::*;
pub use locks::*;
pub use token::*;

/// The longest lock name, in bytes of UTF-8.
pub const FERROLOCK_MAX_NAME_BYTES: usize = 512;
/// The longest holder label, in bytes of UTF-8.
pub const FERROLOCK_MAX_HOLDER_BYTES: usize = 256;
/// A timeout that waits forever.
pub const FERROLOCK_WAIT_FOREVER: u64 = u64::MAX;

const _: () = assert!(FERROLOCK_MAX_NAME_BYTES == core_lock::MAX_NAME_BYTES);
const _: () = assert!(FERROLOCK_MAX_HOLDER_BYTES == core_lock::MAX_HOLDER_BYTES);

/// This library's version, e.g. "0.1.0" (a static string).
#[no_mangle]
pub extern "C" fn ferrolock_version() -> *const std::ffi::c_char {
    concat!(env!("CARGO_PKG_VERSION"), "\0").as_ptr().cast()
}
