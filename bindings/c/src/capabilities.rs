//! What the backend behind a provider can do.

use crate::convert::out_arg;
use crate::error::{boundary, FerrolockStatus};
use crate::locks::{locks_arg, FerrolockLocks};

/// What a backend can do, as `ferrolock_capabilities` reports it.
#[repr(C)]
#[derive(Debug, Clone, Copy, Default)]
pub struct FerrolockBackendCapabilities {
    /// The longest ttl the backend accepts, in milliseconds.
    pub max_ttl_ms: u64,
    /// Shared (reader) locks; without them a shared acquire is
    /// `FERROLOCK_UNSUPPORTED`.
    pub shared: bool,
    /// A held lock can be handed off as a token.
    pub handoff: bool,
    /// A FIFO wait queue in the backend, fair across processes; without it
    /// waiters are served in no promised order.
    pub queue: bool,
    /// The backend tells waiters when a lock may be free; without it they
    /// poll.
    pub notices: bool,
}

/// The capabilities of the backend behind `locks` (no I/O).
///
/// # Safety
/// `locks` is NULL or a live provider; `capabilities` NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn ferrolock_capabilities(
    locks: *const FerrolockLocks,
    capabilities: *mut FerrolockBackendCapabilities,
) -> FerrolockStatus {
    boundary("ferrolock_capabilities", || {
        let out = out_arg(capabilities, "capabilities", FerrolockBackendCapabilities::default())?;
        let caps = locks_arg(locks)?.inner.capabilities();
        *out = FerrolockBackendCapabilities {
            max_ttl_ms: caps.max_ttl.as_millis().min(u64::MAX as u128) as u64,
            shared: caps.shared,
            handoff: caps.handoff,
            queue: caps.queue,
            notices: caps.notices,
        };
        Ok(())
    })
}
