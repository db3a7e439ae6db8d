//! The provider handle: connect, free, close, state, list, force_release,
//! ping, capabilities.

use crate::convert::{c_string, free_c_string, out_arg, ref_arg, str_arg};
use crate::error::{boundary, boundary_value, FerrolockStatus};
use crate::runtime;
use core_lock::{blocking, Error, LockInfo, LockState, Mode};
use std::ffi::c_char;
use std::ptr;
use std::sync::atomic::{AtomicPtr, Ordering};

/// A connection to one backend, made by `ferrolock_connect` and freed by
/// `ferrolock_locks_free`. Opaque. Thread-safe: any number of threads may
/// use one provider at once.
pub struct FerrolockLocks {
    pub(crate) inner: blocking::Locks,
    generation: u64,
    /// The description of the last lock used (see `lock::with_lock`).
    last: AtomicPtr<LastLock>,
}

/// A lock description kept for reuse: `name` with a lease of `ttl_ms`.
pub(crate) struct LastLock {
    pub(crate) ttl_ms: u64,
    pub(crate) name: Box<str>,
    pub(crate) lock: blocking::Lock,
}

impl FerrolockLocks {
    #[inline]
    pub(crate) fn take_last(&self) -> Option<Box<LastLock>> {
        let p = self.last.swap(ptr::null_mut(), Ordering::Acquire);
        // SAFETY: only Box::into_raw pointers are stored in the slot.
        (!p.is_null()).then(|| unsafe { Box::from_raw(p) })
    }

    #[inline]
    pub(crate) fn put_last(&self, entry: Box<LastLock>) {
        let old = self.last.swap(Box::into_raw(entry), Ordering::AcqRel);
        if !old.is_null() {
            // SAFETY: as above; another thread's entry, now replaced.
            drop(unsafe { Box::from_raw(old) });
        }
    }
}

impl Drop for FerrolockLocks {
    fn drop(&mut self) {
        drop(self.take_last());
    }
}

/// The provider behind a `locks` argument; one inherited through fork()
/// belongs to the parent and answers `Closed`.
#[inline]
pub(crate) fn locks_arg<'a>(locks: *const FerrolockLocks) -> Result<&'a FerrolockLocks, Error> {
    let locks = ref_arg(locks, "locks")?;
    if locks.generation != runtime::fork_generation() {
        return Err(Error::Closed);
    }
    Ok(locks)
}

fn connect_into(out: *mut *mut FerrolockLocks, url: Option<&str>) -> Result<(), Error> {
    let out = out_arg(out, "locks", ptr::null_mut())?;
    runtime::watch_forks();
    crate::logging::init();
    let generation = runtime::fork_generation();
    let inner = match url {
        Some(url) => blocking::Locks::connect(url)?,
        None => blocking::Locks::connect_default()?,
    };
    *out = Box::into_raw(Box::new(FerrolockLocks {
        inner,
        generation,
        last: AtomicPtr::new(ptr::null_mut()),
    }));
    Ok(())
}

/// Connect to the backend `url` names: `memory://`, `sqlite://PATH`,
/// `redis://[user:pass@]host[:port][/db]` (a comma-separated host list is a
/// quorum), `redis+cluster://h1:p1,h2:p2`; query parameters `namespace`,
/// `holder`, `bypass=true`. On success `*locks` is a provider to free with
/// `ferrolock_locks_free`; on error it is NULL.
///
/// Errors: `FERROLOCK_INVALID_ARGUMENT` (bad URL, naming the part; the
/// password never appears), `FERROLOCK_UNSUPPORTED` (a backend not built
/// in), `FERROLOCK_UNAVAILABLE` (cannot reach or open it).
///
/// # Safety
/// `url` is NULL or a NUL-terminated string; `locks` is NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn ferrolock_connect(
    url: *const c_char,
    locks: *mut *mut FerrolockLocks,
) -> FerrolockStatus {
    boundary("ferrolock_connect", || {
        // Check the out-parameter first so that it is NULL on every error.
        out_arg(locks, "locks", ptr::null_mut())?;
        let url = str_arg(url, "url")?;
        connect_into(locks, Some(url))
    })
}

/// Connect to the default URL: `$FERROLOCK_URL`, else the SQLite file
/// `$XDG_DATA_HOME/ferrolock/locks.db` (else
/// `~/.local/share/ferrolock/locks.db`). See `ferrolock_connect`.
///
/// # Safety
/// `locks` is NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn ferrolock_connect_default(
    locks: *mut *mut FerrolockLocks,
) -> FerrolockStatus {
    boundary("ferrolock_connect_default", || connect_into(locks, None))
}

/// Close the provider: renewals stop and every later operation on it, or on
/// a handle it made, is `FERROLOCK_CLOSED`. Background releases still
/// running (of handles freed while armed) get up to 5 s to finish. Locks
/// still held free at their ttl. Closing twice is fine. The provider must
/// still be freed with `ferrolock_locks_free`.
///
/// # Safety
/// `locks` is NULL or a live provider.
#[no_mangle]
pub unsafe extern "C" fn ferrolock_close(locks: *const FerrolockLocks) -> FerrolockStatus {
    boundary("ferrolock_close", || {
        locks_arg(locks)?.inner.close();
        Ok(())
    })
}

/// Close the provider (see `ferrolock_close`) and free it. NULL is a no-op.
/// Free the handles it made first: a handle outliving its provider answers
/// `FERROLOCK_CLOSED`. In a child process after fork(), a provider of the
/// parent is only forgotten (its connection belongs to the parent).
///
/// # Safety
/// `locks` is NULL or a provider not yet freed; no other thread uses it.
#[no_mangle]
pub unsafe extern "C" fn ferrolock_locks_free(locks: *mut FerrolockLocks) {
    if locks.is_null() {
        return;
    }
    boundary_value("ferrolock_locks_free", (), || {
        // SAFETY: made by Box::into_raw in ferrolock_connect.
        let locks = unsafe { Box::from_raw(locks) };
        if locks.generation != runtime::fork_generation() {
            std::mem::forget(locks);
            return;
        }
        locks.inner.close();
    })
}

/// Check that the backend answers (a health check): `FERROLOCK_OK`, or
/// `FERROLOCK_UNAVAILABLE` with the reason.
///
/// # Safety
/// `locks` is NULL or a live provider.
#[no_mangle]
pub unsafe extern "C" fn ferrolock_ping(locks: *const FerrolockLocks) -> FerrolockStatus {
    boundary("ferrolock_ping", || locks_arg(locks)?.inner.ping())
}

/// Release the lock `name` whoever holds it (an administrator's tool).
/// `*was_held` (optional, may be NULL) tells whether it was held. Its
/// holder learns of the loss at its next renewal.
///
/// # Safety
/// `locks` is NULL or a live provider; `name` NULL or a NUL-terminated
/// string; `was_held` NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn ferrolock_force_release(
    locks: *const FerrolockLocks,
    name: *const c_char,
    was_held: *mut bool,
) -> FerrolockStatus {
    boundary("ferrolock_force_release", || {
        // SAFETY: NULL or writable, per the contract.
        let was_held = unsafe { was_held.as_mut() };
        let locks = locks_arg(locks)?;
        let name = str_arg(name, "name")?;
        let held = locks.inner.force_release(name)?;
        if let Some(w) = was_held {
            *w = held;
        }
        Ok(())
    })
}

/// One held lock as `ferrolock_state` and `ferrolock_list` report it. It
/// never carries an owner id. Strings are owned by the record.
#[repr(C)]
pub struct FerrolockLockInfo {
    /// The lock's name (without the namespace).
    pub name: *mut c_char,
    /// The fence of the (latest) acquisition.
    pub fence: u64,
    /// Whether it is held shared (by `readers` holders) rather than exclusive.
    pub shared: bool,
    /// The holder label (of one reader, for a shared lock).
    pub holder: *mut c_char,
    /// Milliseconds until the lease expires unless renewed.
    pub expires_in_ms: u64,
    /// How many hold it shared (0 for an exclusive lock).
    pub readers: u32,
}

impl FerrolockLockInfo {
    fn new(
        name: &str,
        fence: u64,
        mode: Mode,
        holder: &str,
        expires_in_ms: u64,
        readers: u32,
    ) -> Self {
        FerrolockLockInfo {
            name: c_string(name),
            fence,
            shared: mode == Mode::Shared,
            holder: c_string(holder),
            expires_in_ms,
            readers,
        }
    }

    fn from_info(i: &LockInfo) -> Self {
        Self::new(
            &i.name,
            i.fence,
            i.mode,
            &i.holder,
            i.expires_in.as_millis() as u64,
            i.readers,
        )
    }

    unsafe fn free_strings(&mut self) {
        // SAFETY: made by c_string.
        unsafe {
            free_c_string(self.name);
            free_c_string(self.holder);
        }
        self.name = ptr::null_mut();
        self.holder = ptr::null_mut();
    }
}

/// Who holds `name`: `*info` is NULL when the lock is free, else a record
/// to free with `ferrolock_lock_info_free`.
///
/// # Safety
/// `locks` is NULL or a live provider; `name` NULL or a NUL-terminated
/// string; `info` NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn ferrolock_state(
    locks: *const FerrolockLocks,
    name: *const c_char,
    info: *mut *mut FerrolockLockInfo,
) -> FerrolockStatus {
    boundary("ferrolock_state", || {
        let out = out_arg(info, "info", ptr::null_mut())?;
        let locks = locks_arg(locks)?;
        let name = str_arg(name, "name")?;
        if let LockState::Held {
            fence,
            mode,
            holder,
            expires_in,
            readers,
        } = locks.inner.state(name)?
        {
            let record = FerrolockLockInfo::new(
                name,
                fence,
                mode,
                &holder,
                expires_in.as_millis() as u64,
                readers,
            );
            *out = Box::into_raw(Box::new(record));
        }
        Ok(())
    })
}

/// Free a record made by `ferrolock_state`. NULL is a no-op.
///
/// # Safety
/// `info` is NULL or a record from `ferrolock_state`, not yet freed.
#[no_mangle]
pub unsafe extern "C" fn ferrolock_lock_info_free(info: *mut FerrolockLockInfo) {
    if info.is_null() {
        return;
    }
    boundary_value("ferrolock_lock_info_free", (), || {
        // SAFETY: made by Box::into_raw in ferrolock_state.
        let mut info = unsafe { Box::from_raw(info) };
        unsafe { info.free_strings() };
    })
}

/// The active locks `ferrolock_list` found: `len` records at `items`.
#[repr(C)]
pub struct FerrolockLockList {
    /// How many records `items` holds.
    pub len: usize,
    /// The records (NULL when `len` is 0).
    pub items: *mut FerrolockLockInfo,
}

/// The active locks of the provider's namespace whose names start with
/// `prefix` ("" for all): `*list` is to be freed with
/// `ferrolock_lock_list_free`.
///
/// # Safety
/// `locks` is NULL or a live provider; `prefix` NULL or a NUL-terminated
/// string; `list` NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn ferrolock_list(
    locks: *const FerrolockLocks,
    prefix: *const c_char,
    list: *mut *mut FerrolockLockList,
) -> FerrolockStatus {
    boundary("ferrolock_list", || {
        let out = out_arg(list, "list", ptr::null_mut())?;
        let locks = locks_arg(locks)?;
        let prefix = str_arg(prefix, "prefix")?;
        let rows = locks.inner.list(prefix)?;
        let items: Box<[FerrolockLockInfo]> =
            rows.iter().map(FerrolockLockInfo::from_info).collect();
        let len = items.len();
        let items = if len == 0 {
            ptr::null_mut()
        } else {
            Box::into_raw(items).cast::<FerrolockLockInfo>()
        };
        *out = Box::into_raw(Box::new(FerrolockLockList { len, items }));
        Ok(())
    })
}

/// Free a list made by `ferrolock_list`, records and strings included.
/// NULL is a no-op.
///
/// # Safety
/// `list` is NULL or a list from `ferrolock_list`, not yet freed.
#[no_mangle]
pub unsafe extern "C" fn ferrolock_lock_list_free(list: *mut FerrolockLockList) {
    if list.is_null() {
        return;
    }
    boundary_value("ferrolock_lock_list_free", (), || {
        // SAFETY: made by Box::into_raw in ferrolock_list.
        let list = unsafe { Box::from_raw(list) };
        if list.len > 0 && !list.items.is_null() {
            // SAFETY: a boxed slice of `len` records, made in ferrolock_list.
            let mut items =
                unsafe { Box::from_raw(ptr::slice_from_raw_parts_mut(list.items, list.len)) };
            for item in items.iter_mut() {
                unsafe { item.free_strings() };
            }
        }
    })
}

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
