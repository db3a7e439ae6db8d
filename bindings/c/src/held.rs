//! The held-lock handle: acquire (plain and with options), release,
//! refresh, fence, hand-off and resume, free, and the callback wrapper.

use crate::convert::{self, c_string, null, out_arg, ref_arg, str_arg, timeout, ttl};
use crate::error::{boundary, boundary_value, FerrolockStatus};
use crate::locks::{locks_arg, FerrolockLocks, LastLock};
use core_lock::{blocking, Error, DEFAULT_TTL};
use std::ffi::{c_char, c_int, c_void};
use std::ptr;

/// Proof of an acquired lock, made by the acquire calls and
/// `ferrolock_resume`, freed by `ferrolock_held_free`. Opaque. Thread-safe:
/// any thread may use it (one at a time may free it). While armed (not
/// released, not handed off) it renews its lock in the background at a
/// third of its ttl, unless acquired with `auto_renew = false`.
pub struct FerrolockHeld {
    inner: blocking::Held,
    generation: u64,
}

thread_local! {
    /// The allocation of the handle this thread freed last, reused by its
    /// next handle: an acquire/free loop then allocates no handle at all.
    static SPARE: std::cell::Cell<Option<Box<std::mem::MaybeUninit<FerrolockHeld>>>> =
        const { std::cell::Cell::new(None) };
}

#[inline]
fn new_held(inner: blocking::Held) -> *mut FerrolockHeld {
    let held = FerrolockHeld {
        inner,
        generation: convert::fork_generation(),
    };
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

/// Call `f` with the lock `name` of `locks` with a lease of `ttl_ms`,
/// reusing the provider's last description (name, ttl; no I/O) when it
/// matches: a loop acquiring one name builds it once, as a Rust caller that
/// keeps its `Lock` does. The slot is taken while in use, so threads (or a
/// callback calling back in) never share an entry; they build their own.
#[inline]
fn with_lock<R>(
    locks: &FerrolockLocks,
    name: &str,
    ttl_ms: u64,
    f: impl FnOnce(&blocking::Lock) -> R,
) -> R {
    let entry = match locks.take_last() {
        Some(e) if e.ttl_ms == ttl_ms && &*e.name == name => e,
        _ => Box::new(LastLock {
            ttl_ms,
            name: name.into(),
            lock: locks.inner.lock(name).ttl(ttl(ttl_ms)),
        }),
    };
    let out = f(&entry.lock);
    locks.put_last(entry);
    out
}

/// The handle behind a `held` argument. One inherited through fork()
/// belongs to the parent: it is disarmed here and answers `NotHeld`.
#[inline]
fn held_arg<'a>(held: *const FerrolockHeld) -> Result<&'a FerrolockHeld, Error> {
    let held = ref_arg(held, "held")?;
    if held.generation != convert::fork_generation() {
        held.inner.as_async().disarm();
        return Err(Error::NotHeld {
            name: held.inner.name().to_owned(),
        });
    }
    Ok(held)
}

/// Options of an acquisition, for `ferrolock_try_acquire_with`,
/// `ferrolock_acquire_with` and `ferrolock_run_with`. Start from
/// `ferrolock_lock_options_init()`, which sets `size` and the defaults; a
/// zeroed struct is refused (its `size` is 0).
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct FerrolockLockOptions {
    /// `sizeof(ferrolock_lock_options)`, so that later versions can add
    /// fields and still read this one.
    pub size: usize,
    /// The lease's time to live in milliseconds (default 30000); with
    /// renewal on, how fast the lock of a crashed holder frees. 0 is refused.
    pub ttl_ms: u64,
    /// Take the lock shared (many readers, no writer) rather than exclusive.
    pub shared: bool,
    /// The public label shown by state and list; NULL for the provider's
    /// default (`host:pid`). Copied: it need not outlive the call.
    pub holder: *const c_char,
    /// Renew the lease in the background at ttl/3 (default true).
    pub auto_renew: bool,
}

/// The default options: ttl 30 s, exclusive, the provider's holder label,
/// renewed in the background; `size` set.
#[no_mangle]
pub extern "C" fn ferrolock_lock_options_init() -> FerrolockLockOptions {
    FerrolockLockOptions {
        size: std::mem::size_of::<FerrolockLockOptions>(),
        ttl_ms: DEFAULT_TTL.as_millis() as u64,
        shared: false,
        holder: ptr::null(),
        auto_renew: true,
    }
}

/// The fields of a caller's `ferrolock_lock_options`, read without trusting
/// its `bool`s to be 0 or 1 (C code may have memset or cast them).
struct Options {
    ttl_ms: u64,
    shared: bool,
    holder: *const c_char,
    auto_renew: bool,
}

/// Read `options`, checking its `size`: a larger struct (from a newer
/// header) is accepted if the fields this library does not know are zero.
fn options_arg(options: *const FerrolockLockOptions) -> Result<Options, Error> {
    if options.is_null() {
        return Err(null("options"));
    }
    // SAFETY: every version of the struct starts with its size.
    let size = unsafe { options.cast::<usize>().read_unaligned() };
    let ours = std::mem::size_of::<FerrolockLockOptions>();
    if size < ours {
        return Err(Error::InvalidArgument(format!(
            "options->size is {size}; expected sizeof(ferrolock_lock_options) = {ours} (start from ferrolock_lock_options_init())"
        )));
    }
    if size > ours {
        // SAFETY: the caller's struct is `size` bytes long.
        let tail =
            unsafe { std::slice::from_raw_parts(options.cast::<u8>().add(ours), size - ours) };
        if tail.iter().any(|&b| b != 0) {
            return Err(Error::InvalidArgument(format!(
                "options->size is {size}: it sets fields this library (version {}) does not know",
                env!("CARGO_PKG_VERSION")
            )));
        }
    }
    // SAFETY: at least `ours` bytes, checked above; each field is read
    // through a raw pointer, the bools as bytes.
    unsafe {
        Ok(Options {
            ttl_ms: ptr::addr_of!((*options).ttl_ms).read_unaligned(),
            shared: ptr::addr_of!((*options).shared).cast::<u8>().read() != 0,
            holder: ptr::addr_of!((*options).holder).read_unaligned(),
            auto_renew: ptr::addr_of!((*options).auto_renew).cast::<u8>().read() != 0,
        })
    }
}

fn lock_with(locks: &FerrolockLocks, name: &str, o: &Options) -> Result<blocking::Lock, Error> {
    let holder = if o.holder.is_null() {
        None
    } else {
        Some(str_arg(o.holder, "options->holder")?.to_owned())
    };
    let options = core_lock::LockOptions {
        ttl: ttl(o.ttl_ms),
        mode: if o.shared { core_lock::Mode::Shared } else { core_lock::Mode::Exclusive },
        holder,
        auto_renew: o.auto_renew,
    };
    Ok(locks.inner.lock_with(name, options))
}

/// Take the lock `name` if it is free now, with a lease of `ttl_ms`
/// milliseconds (renewed in the background). `FERROLOCK_OK` with `*held`
/// set to a handle, or to NULL when another owner holds the lock. Not
/// reentrant: a lock this thread holds is held.
///
/// # Safety
/// `locks` is NULL or a live provider; `name` NULL or a NUL-terminated
/// string; `held` NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn ferrolock_try_acquire(
    locks: *const FerrolockLocks,
    name: *const c_char,
    ttl_ms: u64,
    held: *mut *mut FerrolockHeld,
) -> FerrolockStatus {
    boundary("ferrolock_try_acquire", || {
        let out = out_arg(held, "held", ptr::null_mut())?;
        let locks = locks_arg(locks)?;
        let name = str_arg(name, "name")?;
        if let Some(h) = with_lock(locks, name, ttl_ms, |lock| lock.try_acquire())? {
            *out = new_held(h);
        }
        Ok(())
    })
}

/// Wait up to `timeout_ms` milliseconds (`UINT64_MAX`: forever) for the
/// lock `name`, woken when it is released. `FERROLOCK_OK` with `*held`
/// set, or `FERROLOCK_TIMEOUT` (and `*held` NULL) when it could not be had
/// in time. Blocks the calling thread only.
///
/// # Safety
/// As `ferrolock_try_acquire`.
#[no_mangle]
pub unsafe extern "C" fn ferrolock_acquire(
    locks: *const FerrolockLocks,
    name: *const c_char,
    ttl_ms: u64,
    timeout_ms: u64,
    held: *mut *mut FerrolockHeld,
) -> FerrolockStatus {
    boundary("ferrolock_acquire", || {
        let out = out_arg(held, "held", ptr::null_mut())?;
        let locks = locks_arg(locks)?;
        let name = str_arg(name, "name")?;
        *out = new_held(with_lock(locks, name, ttl_ms, |lock| {
            lock.acquire(timeout(timeout_ms))
        })?);
        Ok(())
    })
}

/// `ferrolock_try_acquire` with options (ttl, shared, holder, auto_renew).
///
/// # Safety
/// As `ferrolock_try_acquire`; `options` NULL or a struct whose `size` is
/// right.
#[no_mangle]
pub unsafe extern "C" fn ferrolock_try_acquire_with(
    locks: *const FerrolockLocks,
    name: *const c_char,
    options: *const FerrolockLockOptions,
    held: *mut *mut FerrolockHeld,
) -> FerrolockStatus {
    boundary("ferrolock_try_acquire_with", || {
        let out = out_arg(held, "held", ptr::null_mut())?;
        let locks = locks_arg(locks)?;
        let name = str_arg(name, "name")?;
        let options = options_arg(options)?;
        if let Some(h) = lock_with(locks, name, &options)?.try_acquire()? {
            *out = new_held(h);
        }
        Ok(())
    })
}

/// `ferrolock_acquire` with options (ttl, shared, holder, auto_renew).
///
/// # Safety
/// As `ferrolock_try_acquire_with`.
#[no_mangle]
pub unsafe extern "C" fn ferrolock_acquire_with(
    locks: *const FerrolockLocks,
    name: *const c_char,
    options: *const FerrolockLockOptions,
    timeout_ms: u64,
    held: *mut *mut FerrolockHeld,
) -> FerrolockStatus {
    boundary("ferrolock_acquire_with", || {
        let out = out_arg(held, "held", ptr::null_mut())?;
        let locks = locks_arg(locks)?;
        let name = str_arg(name, "name")?;
        let options = options_arg(options)?;
        *out = new_held(lock_with(locks, name, &options)?.acquire(timeout(timeout_ms))?);
        Ok(())
    })
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
        if held.generation != convert::fork_generation() {
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
        if h.generation != convert::fork_generation() {
            h.inner.as_async().disarm();
        }
        // SAFETY: not used again, per the contract.
        unsafe { free_held(held) };
    })
}

/// The body `ferrolock_run` calls while it holds the lock. Its return value
/// is passed back in `*callback_result`. It must return normally: no
/// longjmp out of it, and no C++ exception may cross it (the process would
/// abort).
pub type FerrolockCallback = Option<unsafe extern "C" fn(user_data: *mut c_void) -> c_int>;

/// The body `ferrolock_run_with` calls: it also gets the handle, to read
/// its fence or whether it was lost; it must not release, hand off or free
/// it. Same rules as `ferrolock_callback`.
pub type FerrolockHeldCallback =
    Option<unsafe extern "C" fn(held: *const FerrolockHeld, user_data: *mut c_void) -> c_int>;

fn set_result(callback_result: *mut c_int, value: c_int) {
    // SAFETY: NULL or writable, per the contract.
    if let Some(r) = unsafe { callback_result.as_mut() } {
        *r = value;
    }
}

/// Acquire `name` (waiting up to `timeout_ms`, `UINT64_MAX`: forever) with
/// a lease of `ttl_ms`, call `callback(user_data)` while the lock is held
/// and renewed in the background, then release it. `*callback_result`
/// (optional, may be NULL) receives the callback's return value (0 if it
/// did not run). `FERROLOCK_LOST` if the lock was lost while the callback
/// ran (the callback is not interrupted; it ran to its end, and
/// `*callback_result` is set); `FERROLOCK_TIMEOUT` if the lock could not be
/// had (the callback did not run).
///
/// # Safety
/// `locks` is NULL or a live provider; `name` NULL or a NUL-terminated
/// string; `callback` NULL or a function that returns normally;
/// `callback_result` NULL or writable. `user_data` is passed through.
#[no_mangle]
pub unsafe extern "C" fn ferrolock_run(
    locks: *const FerrolockLocks,
    name: *const c_char,
    ttl_ms: u64,
    timeout_ms: u64,
    callback: FerrolockCallback,
    user_data: *mut c_void,
    callback_result: *mut c_int,
) -> FerrolockStatus {
    boundary("ferrolock_run", || {
        set_result(callback_result, 0);
        let locks = locks_arg(locks)?;
        let name = str_arg(name, "name")?;
        let callback = callback.ok_or_else(|| null("callback"))?;
        with_lock(locks, name, ttl_ms, |lock| {
            lock.run(timeout(timeout_ms), |_| {
                // SAFETY: a C function that returns normally, per the contract.
                set_result(callback_result, unsafe { callback(user_data) });
                Ok::<(), Error>(())
            })
        })
    })
}

/// `ferrolock_run` with options, whose callback also gets the handle (to
/// read `ferrolock_fence` or `ferrolock_is_lost`, or to
/// `ferrolock_refresh`). The handle is valid during the callback only.
///
/// # Safety
/// As `ferrolock_run`; `options` NULL or a struct whose `size` is right.
#[no_mangle]
pub unsafe extern "C" fn ferrolock_run_with(
    locks: *const FerrolockLocks,
    name: *const c_char,
    options: *const FerrolockLockOptions,
    timeout_ms: u64,
    callback: FerrolockHeldCallback,
    user_data: *mut c_void,
    callback_result: *mut c_int,
) -> FerrolockStatus {
    boundary("ferrolock_run_with", || {
        set_result(callback_result, 0);
        let locks = locks_arg(locks)?;
        let name = str_arg(name, "name")?;
        let options = options_arg(options)?;
        let callback = callback.ok_or_else(|| null("callback"))?;
        let lock = lock_with(locks, name, &options)?;
        // The steps of blocking::Lock::run, with the handle boxed as C sees
        // it: acquire, body, then the engine's end of run (release; Lost if
        // it was lost meanwhile).
        let held = FerrolockHeld {
            inner: lock.acquire(timeout(timeout_ms))?,
            generation: convert::fork_generation(),
        };
        // SAFETY: a C function that returns normally, per the contract.
        set_result(callback_result, unsafe { callback(&held, user_data) });
        held.inner.finish(false)
    })
}
