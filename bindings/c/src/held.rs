//! The held-lock handle: release, refresh, fence, hand-off and resume, free.

use crate::convert::{c_string, out_arg, ref_arg, str_arg, ttl};
use crate::error::{boundary, boundary_value, FerrolockStatus};
use crate::locks::{locks_arg, FerrolockLocks};
use crate::runtime;
use core_lock::{blocking, Error};
use std::ffi::c_char;
use std::ptr;

/// Proof of an acquired lock, made by the acquire calls and
/// `ferrolock_resume`, freed by `ferrolock_held_free`. Opaque. Thread-safe:
/// any thread may use it (one at a time may free it). While armed (not
/// released, not handed off) it renews its lock in the background at a
/// third of its ttl, unless acquired with `auto_renew = false`.
pub struct FerrolockHeld {
    pub(crate) inner: blocking::Held,
    generation: u64,
}

impl FerrolockHeld {
    /// A handle of this process image (see `runtime::fork_generation`).
    #[inline]
    pub(crate) fn new(inner: blocking::Held) -> FerrolockHeld {
        FerrolockHeld {
            inner,
            generation: runtime::fork_generation(),
        }
    }
}

thread_local! {
    /// The allocation of the handle this thread freed last, reused by its
    /// next handle: an acquire/free loop then allocates no handle at all.
    static SPARE: std::cell::Cell<Option<Box<std::mem::MaybeUninit<FerrolockHeld>>>> =
        const { std::cell::Cell::new(None) };
}

#[inline]
pub(crate) fn new_held(inner: blocking::Held) -> *mut FerrolockHeld {
    let held = FerrolockHeld::new(inner);
    match SPARE.try_with(|s| s.take()).ok().flatten() {
        Some(mut slot) => {
            slot.write(held);
            Box::into_raw(slot).cast::<FerrolockHeld>()
        }
        None => Box::into_raw(Box::new(held)),
    }
}

/// Drop a handle made by [`new_held`], keeping its allocation for the next.
///
/// # Safety
/// `held` came from `new_held` and is not used again.
#[inline]
unsafe fn free_held(held: *mut FerrolockHeld) {
    // SAFETY: a live, initialised handle from Box::into_raw, per the contract.
    unsafe { ptr::drop_in_place(held) };
    // SAFETY: the same allocation, now uninitialised.
    let slot = unsafe { Box::from_raw(held.cast::<std::mem::MaybeUninit<FerrolockHeld>>()) };
    // Replaces (frees) an older spare; at thread exit, this one is freed.
    let _ = SPARE.try_with(|s| drop(s.replace(Some(slot))));
}

/// The handle behind a `held` argument. One inherited through fork()
/// belongs to the parent: it is disarmed here and answers `NotHeld`.
#[inline]
fn held_arg<'a>(held: *const FerrolockHeld) -> Result<&'a FerrolockHeld, Error> {
    let held = ref_arg(held, "held")?;
    if held.generation != runtime::fork_generation() {
        held.inner.as_async().disarm();
        return Err(Error::NotHeld {
            name: held.inner.name().to_owned(),
        });
    }
    Ok(held)
}

/// Release the lock. `*was_held` (optional, may be NULL) tells whether this
/// handle still held it: false if it had expired, been taken over, or was
/// already released or handed off. Idempotent: a second release is
/// `FERROLOCK_OK` with false. The handle must still be freed.
///
/// # Safety
/// `held` is NULL or a live handle; `was_held` NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn ferrolock_release(
    held: *const FerrolockHeld,
    was_held: *mut bool,
) -> FerrolockStatus {
    boundary("ferrolock_release", || {
        // SAFETY: NULL or writable, per the contract.
        let mut was_held = unsafe { was_held.as_mut() };
        if let Some(w) = was_held.as_deref_mut() {
            *w = false;
        }
        let held = ref_arg(held, "held")?;
        if held.generation != runtime::fork_generation() {
            held.inner.as_async().disarm();
            return Ok(());
        }
        let released = held.inner.release_ref()?;
        if let Some(w) = was_held {
            *w = released;
        }
        Ok(())
    })
}

/// Extend the lease to `ttl_ms` milliseconds from now; later renewals use
/// it too. `FERROLOCK_LOST` if the lock expired or was taken over,
/// `FERROLOCK_NOT_HELD` on a released or handed-off handle.
///
/// # Safety
/// `held` is NULL or a live handle.
#[no_mangle]
pub unsafe extern "C" fn ferrolock_refresh(
    held: *const FerrolockHeld,
    ttl_ms: u64,
) -> FerrolockStatus {
    boundary("ferrolock_refresh", || {
        held_arg(held)?.inner.refresh(ttl(ttl_ms))
    })
}

/// The fencing token of this acquisition: strictly increasing with every
/// exclusive acquisition of the lock, starting at 1. 0 for NULL (and for
/// locks granted by a `bypass=true` provider).
///
/// # Safety
/// `held` is NULL or a live handle.
#[no_mangle]
pub unsafe extern "C" fn ferrolock_fence(held: *const FerrolockHeld) -> u64 {
    boundary_value("ferrolock_fence", 0, || {
        // SAFETY: NULL or a live handle, per the contract.
        unsafe { held.as_ref() }.map_or(0, |h| h.inner.fence())
    })
}

/// Whether renewal (or a refresh) found the lock lost: expired, taken over
/// or force-released. false for NULL. The holder keeps running; it decides.
///
/// # Safety
/// `held` is NULL or a live handle.
#[no_mangle]
pub unsafe extern "C" fn ferrolock_is_lost(held: *const FerrolockHeld) -> bool {
    boundary_value("ferrolock_is_lost", false, || {
        // SAFETY: NULL or a live handle, per the contract.
        unsafe { held.as_ref() }.is_some_and(|h| h.inner.is_lost())
    })
}

/// Hand the lock off: `*token` is a string (free it with
/// `ferrolock_string_free`) that `ferrolock_resume` — or any ferrolock
/// binding, or `ferrolock release TOKEN` — turns back into a handle, in any
/// process. This handle is disarmed: nothing here releases or renews the
/// lock any more (not release, not free), and later calls on it are
/// `FERROLOCK_NOT_HELD`. It must still be freed.
///
/// # Safety
/// `held` is NULL or a live handle; `token` NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn ferrolock_into_token(
    held: *const FerrolockHeld,
    token: *mut *mut c_char,
) -> FerrolockStatus {
    boundary("ferrolock_into_token", || {
        let out = out_arg(token, "token", ptr::null_mut())?;
        let held = held_arg(held)?;
        *out = c_string(&held.inner.take_token()?);
        Ok(())
    })
}

/// Make an armed handle from a token written by `ferrolock_into_token` (or
/// any binding, or `ferrolock acquire`) in any process. `FERROLOCK_LOST` if
/// the lock is no longer held; `FERROLOCK_INVALID_TOKEN` for a malformed
/// token or one of another backend.
///
/// # Safety
/// `locks` is NULL or a live provider; `token` NULL or a NUL-terminated
/// string; `held` NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn ferrolock_resume(
    locks: *const FerrolockLocks,
    token: *const c_char,
    held: *mut *mut FerrolockHeld,
) -> FerrolockStatus {
    boundary("ferrolock_resume", || {
        let out = out_arg(held, "held", ptr::null_mut())?;
        let locks = locks_arg(locks)?;
        let token = str_arg(token, "token")?;
        *out = new_held(locks.inner.resume(token)?);
        Ok(())
    })
}

/// Free a handle. If it is still armed (neither released nor handed off),
/// its lock is released first (in the background if the backend is slow to
/// answer) and a warning is logged: release explicitly. NULL is a no-op. In
/// a child process after fork(), a handle of the parent is only disarmed
/// and freed: the lock stays the parent's.
///
/// # Safety
/// `held` is NULL or a handle not yet freed; no other thread uses it.
#[no_mangle]
pub unsafe extern "C" fn ferrolock_held_free(held: *mut FerrolockHeld) {
    if held.is_null() {
        return;
    }
    boundary_value("ferrolock_held_free", (), || {
        // SAFETY: a live handle made by new_held, per the contract.
        let h = unsafe { &*held };
        if h.generation != runtime::fork_generation() {
            h.inner.as_async().disarm();
        }
        // SAFETY: not used again, per the contract.
        unsafe { free_held(held) };
    })
}
