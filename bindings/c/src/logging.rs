//! The library's log: the core's warnings (a handle freed while armed, a
//! renewal that failed, a lock found lost) go to stderr, as the core's
//! `tracing` events, since a C program installs no subscriber of its own.
//! `FERROLOCK_LOG` chooses the filter (`off`, `error`, `info`, `debug`,
//! or a tracing directive such as `ferrolock=debug`); the default is `warn`.
//! A file of its own: no other binding installs a subscriber, and this
//! process-wide setup belongs to no handle and to no part of the bridge.

use std::sync::Once;

pub(crate) fn init() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        use tracing_subscriber::EnvFilter;
        let spec = std::env::var("FERROLOCK_LOG")
            .ok()
            .filter(|s| !s.trim().is_empty());
        let filter = spec
            .as_deref()
            .and_then(|s| EnvFilter::try_new(s).ok())
            .unwrap_or_else(|| EnvFilter::new("warn"));
        // A program that already set a global subscriber keeps its own.
        let _ = tracing_subscriber::fmt()
            .with_env_filter(filter)
            .with_writer(std::io::stderr)
            .with_ansi(false)
            .try_init();
    });
}
