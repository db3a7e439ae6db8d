//! The async bridge, in one place. C calls block: each entry point runs the
//! core's futures to their end through `ferrolock::blocking`, whose runtime
//! (one per process image, remade in a forked child) also runs renewals and
//! background releases. What this binding adds to it: the fork generation
//! that tells a handle inherited through fork() (it belongs to the parent),
//! and `block_on` for the one wait that is not a blocking call of the core
//! (`ferrolock_events_next`).

use core_lock::blocking;
use std::future::Future;

/// How many times this process has forked (the core's one counter). A
/// handle records the generation it was made in; one from an older
/// generation was inherited through fork() and belongs to the parent.
#[inline]
pub(crate) fn fork_generation() -> u64 {
    core_lock::binding::fork_generation()
}

/// Register the core's fork handlers (once per process).
pub(crate) fn watch_forks() {
    core_lock::binding::watch_forks()
}

/// Run `fut` on the library's runtime, blocking the calling thread.
pub(crate) fn block_on<F: Future>(fut: F) -> F::Output {
    blocking::runtime().block_on(fut)
}
