//! Events: a subscription to a provider's events (acquired, released,
//! queued, ...), read one at a time with a timeout.

use crate::convert::{c_string, free_c_string, out_arg, ref_arg, timeout};
use crate::error::{boundary, boundary_value, record_status, FerrolockStatus};
use crate::locks::{locks_arg, FerrolockLocks};
use crate::runtime;
use core_lock::{Error, EventKind, Mode};
use std::ffi::c_char;
use std::ptr;
use std::sync::Mutex;

/// A subscription to a provider's events, made by
/// `ferrolock_events_subscribe` and freed by `ferrolock_events_free`.
/// Opaque. It receives the events that happen after it was made; one that
/// is not read fast enough skips events rather than slow the locks down.
/// Thread-safe: threads reading one subscription take turns.
pub struct FerrolockEvents {
    inner: Mutex<core_lock::Events>,
    generation: u64,
}

/// One event, as `ferrolock_events_next` returns it; freed with
/// `ferrolock_event_free`. It never carries an owner id.
#[repr(C)]
pub struct FerrolockEvent {
    /// What happened: "acquired", "released", "queued" (a waiter found the
    /// lock busy and now waits in its queue), "timed_out", "renewed",
    /// "lost" or "force_released" (a static string).
    pub kind: *const c_char,
    /// The provider's namespace (`namespace_` in C: `namespace` is a C++
    /// keyword).
    pub namespace: *mut c_char,
    /// The lock's name.
    pub name: *mut c_char,
    /// The fence of the acquisition concerned (0 where there is none).
    pub fence: u64,
    /// Whether it concerns a shared rather than an exclusive lock.
    pub shared: bool,
    /// The public holder label.
    pub holder: *mut c_char,
}

fn kind_name(kind: EventKind) -> *const c_char {
    // Exhaustive on purpose: a new kind does not compile here until named.
    let name: &'static str = match kind {
        EventKind::Acquired => "acquired\0",
        EventKind::Released => "released\0",
        EventKind::Queued => "queued\0",
        EventKind::TimedOut => "timed_out\0",
        EventKind::Renewed => "renewed\0",
        EventKind::Lost => "lost\0",
        EventKind::ForceReleased => "force_released\0",
    };
    name.as_ptr().cast()
}

/// Subscribe to the events of `locks` from now on: `*events` is a
/// subscription to read with `ferrolock_events_next` and free with
/// `ferrolock_events_free`.
///
/// # Safety
/// `locks` is NULL or a live provider; `events` NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn ferrolock_events_subscribe(
    locks: *const FerrolockLocks,
    events: *mut *mut FerrolockEvents,
) -> FerrolockStatus {
    boundary("ferrolock_events_subscribe", || {
        let out = out_arg(events, "events", ptr::null_mut())?;
        let locks = locks_arg(locks)?;
        *out = Box::into_raw(Box::new(FerrolockEvents {
            inner: Mutex::new(locks.inner.events()),
            generation: runtime::fork_generation(),
        }));
        Ok(())
    })
}

/// Wait up to `timeout_ms` milliseconds (0: do not wait; `UINT64_MAX`:
/// forever) for the next event: `FERROLOCK_OK` with `*event` set to a record
/// to free with `ferrolock_event_free`, `FERROLOCK_TIMEOUT` (and `*event`
/// NULL) when none came in time, `FERROLOCK_CLOSED` once the provider is
/// freed (or when the subscription belongs to the parent of a fork()).
///
/// # Safety
/// `events` is NULL or a live subscription; `event` NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn ferrolock_events_next(
    events: *const FerrolockEvents,
    timeout_ms: u64,
    event: *mut *mut FerrolockEvent,
) -> FerrolockStatus {
    let mut none_came = false;
    let status = boundary("ferrolock_events_next", || {
        let out = out_arg(event, "event", ptr::null_mut())?;
        let events = ref_arg(events, "events")?;
        if events.generation != runtime::fork_generation() {
            return Err(Error::Closed);
        }
        let mut rx = events.inner.lock().unwrap_or_else(|p| p.into_inner());
        let next = if timeout_ms == 0 {
            rx.try_recv().map(Some)
        } else {
            let limit = timeout(timeout_ms);
            runtime::block_on(async {
                if limit == std::time::Duration::MAX {
                    Some(rx.recv().await)
                } else {
                    tokio::time::timeout(limit, rx.recv()).await.ok()
                }
            })
        };
        match next {
            None => none_came = true,
            Some(None) => return Err(Error::Closed),
            Some(Some(e)) => {
                *out = Box::into_raw(Box::new(FerrolockEvent {
                    kind: kind_name(e.kind),
                    namespace: c_string(&e.namespace),
                    name: c_string(&e.name),
                    fence: e.fence,
                    shared: e.mode == Mode::Shared,
                    holder: c_string(&e.holder),
                }));
            }
        }
        Ok(())
    });
    if none_came {
        return record_status(
            "ferrolock_events_next",
            FerrolockStatus::FerrolockTimeout,
            &format!("no event within {timeout_ms}ms"),
        );
    }
    status
}

/// Free an event made by `ferrolock_events_next`. NULL is a no-op.
///
/// # Safety
/// `event` is NULL or from `ferrolock_events_next`, not yet freed.
#[no_mangle]
pub unsafe extern "C" fn ferrolock_event_free(event: *mut FerrolockEvent) {
    if event.is_null() {
        return;
    }
    boundary_value("ferrolock_event_free", (), || {
        // SAFETY: made by Box::into_raw in ferrolock_events_next; its
        // strings by c_string.
        let event = unsafe { Box::from_raw(event) };
        unsafe {
            free_c_string(event.namespace);
            free_c_string(event.name);
            free_c_string(event.holder);
        }
    })
}

/// Free a subscription: no more events are kept for it. NULL is a no-op.
///
/// # Safety
/// `events` is NULL or a subscription not yet freed; no other thread uses it.
#[no_mangle]
pub unsafe extern "C" fn ferrolock_events_free(events: *mut FerrolockEvents) {
    if events.is_null() {
        return;
    }
    boundary_value("ferrolock_events_free", (), || {
        // SAFETY: made by Box::into_raw in ferrolock_events_subscribe.
        let events = unsafe { Box::from_raw(events) };
        if events.generation != runtime::fork_generation() {
            // The parent's: its channel is not ours to touch.
            std::mem::forget(events);
        }
    })
}
