//! A lock to acquire: its options, the acquire calls (plain and with
//! options), and `ferrolock_run`, the callback wrapper.

use crate::convert::{null, out_arg, str_arg, timeout, ttl};
use crate::error::{boundary, FerrolockStatus};
use crate::held::{new_held, FerrolockHeld};
use crate::locks::{locks_arg, FerrolockLocks, LastLock};
use core_lock::{blocking, Error, DEFAULT_TTL};
use std::ffi::{c_char, c_int, c_void};
use std::ptr;

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

/// Read a duration string with its unit (`"500ms"`, `"10s"`, `"1.5m"`,
/// `"2h"`, `"1d"`), from a configuration file say, as milliseconds for
/// `ttl_ms` and `timeout_ms`: the grammar every language reads
/// (docs/durations.md). A string without a unit (`"30"`) is
/// `FERROLOCK_INVALID_ARGUMENT`, as in Python and Node: a bare 30 is seconds
/// in one language and milliseconds in another. So is a value that is not a
/// whole number of milliseconds (`"0.5ms"`); `*ms` is 0 on failure.
///
/// # Safety
/// `text` is NULL or a NUL-terminated string; `ms` NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn ferrolock_parse_duration(text: *const c_char, ms: *mut u64) -> FerrolockStatus {
    boundary("ferrolock_parse_duration", || {
        let out = out_arg(ms, "ms", 0)?;
        let text = str_arg(text, "text")?;
        let d = core_lock::duration::parse(text, core_lock::duration::Bare::Refused)?;
        if d.subsec_nanos() % 1_000_000 != 0 {
            return Err(Error::InvalidArgument(format!(
                "duration {text:?} is not a whole number of milliseconds"
            )));
        }
        *out = u64::try_from(d.as_millis())
            .map_err(|_| Error::InvalidArgument(format!("duration {text:?} is too long")))?;
        Ok(())
    })
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
        let held = FerrolockHeld::new(lock.acquire(timeout(timeout_ms))?);
        // SAFETY: a C function that returns normally, per the contract.
        set_result(callback_result, unsafe { callback(&held, user_data) });
        held.inner.finish(false)
    })
}
