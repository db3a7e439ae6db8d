//! The UniFFI glue under the ferrolock Kotlin and Swift packages. Conversion,
//! error mapping and the async bridge only; every lock rule lives in the
//! core. The generated Kotlin (`dev.ferrolock.ffi`) and Swift
//! (`FerrolockFFI`) sources are private: packages/kotlin and packages/swift
//! are the APIs users see.

mod error;
mod events;
mod held;
mod lock;
mod locks;
mod runtime;
mod token;

uniffi::setup_scaffolding!("ferrolock");

use ferrolock::Mode;

/// Exclusive or shared.
#[derive(uniffi::Enum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum LockMode {
    Exclusive,
    Shared,
}

impl From<Mode> for LockMode {
    fn from(m: Mode) -> LockMode {
        match m {
            Mode::Exclusive => LockMode::Exclusive,
            Mode::Shared => LockMode::Shared,
        }
    }
}

/// The ttl of a lock that sets none, in milliseconds.
#[uniffi::export]
pub fn default_ttl_ms() -> u64 {
    runtime::ms(ferrolock::DEFAULT_TTL)
}

/// How long forms without a timeout wait, in milliseconds.
#[uniffi::export]
pub fn default_timeout_ms() -> u64 {
    runtime::ms(ferrolock::DEFAULT_TIMEOUT)
}

/// The version of the native library.
#[uniffi::export]
pub fn native_version() -> String {
    env!("CARGO_PKG_VERSION").to_owned()
}
