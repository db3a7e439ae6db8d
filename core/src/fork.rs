//! `fork()`: a forked child must not reuse its parent's owner ids, runtime
//! threads or handles. One `pthread_atfork` counter tells every part of the
//! process (and the bindings) which generation it lives in; its handlers
//! also keep SQLite usable across a fork.

use std::sync::atomic::Ordering;

/// A fresh owner id: 128 bits from a per-thread CSPRNG (ChaCha12) seeded
/// from the operating system once per thread, and again after `fork()`: a
/// forked child inherits its parent's generator state, and must not hand
/// out the same ids as its parent or its siblings.
pub(crate) fn new_owner() -> [u8; 16] {
    use rand::{RngCore as _, SeedableRng as _};
    thread_local! {
        static RNG: std::cell::RefCell<(u64, rand::rngs::StdRng)> =
            std::cell::RefCell::new((fork_generation(), rand::rngs::StdRng::from_os_rng()));
    }
    let (a, b) = RNG.with(|r| {
        let mut r = r.borrow_mut();
        let generation = fork_generation();
        if r.0 != generation {
            *r = (generation, rand::rngs::StdRng::from_os_rng());
        }
        // Two words, not `fill_bytes`: the same stream, half the cost.
        (r.1.next_u64(), r.1.next_u64())
    });
    let mut owner = [0u8; 16];
    owner[..8].copy_from_slice(&a.to_le_bytes());
    owner[8..].copy_from_slice(&b.to_le_bytes());
    owner
}

/// How many `fork()`s separate this process from the one that first asked:
/// bumped in the child by the one `pthread_atfork` handler of the process
/// (one atomic load per call). A handle records the generation it was made
/// in; one of an older generation was inherited and belongs to the parent.
pub(crate) fn fork_generation() -> u64 {
    watch();
    GENERATION.load(Ordering::Acquire)
}

static GENERATION: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);

/// Register the fork handlers now (once per process; a binding calls it as
/// it loads, so that a fork before its first lock is seen too).
pub(crate) fn watch() {
    #[cfg(unix)]
    {
        static REGISTER: std::sync::Once = std::sync::Once::new();
        REGISTER.call_once(|| {
            #[cfg(feature = "sqlite")]
            sqlite::init();
            // SAFETY: the handlers only bump an atomic and take or give back
            // SQLite's static mutexes.
            unsafe {
                libc::pthread_atfork(Some(before_fork), Some(after_fork_in_parent), Some(after_fork_in_child));
            }
        });
    }
}

#[cfg(unix)]
extern "C" fn before_fork() {
    #[cfg(feature = "sqlite")]
    sqlite::before_fork();
}

#[cfg(unix)]
extern "C" fn after_fork_in_parent() {
    #[cfg(feature = "sqlite")]
    sqlite::after_fork();
}

#[cfg(unix)]
extern "C" fn after_fork_in_child() {
    GENERATION.fetch_add(1, Ordering::SeqCst);
    #[cfg(feature = "sqlite")]
    sqlite::after_fork();
}

/// What `fork()` needs of SQLite:
///
/// - its global mutexes (allocator, VFS, page cache…) may be held by
///   another thread (a watcher, a blocking-pool task) as the process forks;
///   the child would then deadlock at its first SQLite call. The handlers
///   take them before the fork and give them back on both sides.
/// - SQLite keeps per-process state for each open file (POSIX lock and
///   shared-memory bookkeeping) that a child inherits but that does not
///   describe the child: it forbids using, in a child, a file its parent
///   had open. The SQLite backend records the files it opens here, and a
///   child that opens one of them gets `Unsupported`.
#[cfg(feature = "sqlite")]
pub(crate) mod sqlite {
    use rusqlite::ffi;
    use std::collections::HashMap;
    use std::path::{Path, PathBuf};
    use std::sync::Mutex;

    /// SQLite's static mutexes, taken in this order (outer ones first, the
    /// allocator's, a leaf, last) and released in reverse.
    const STATIC_MUTEXES: [i32; 7] = [
        ffi::SQLITE_MUTEX_STATIC_MAIN,
        ffi::SQLITE_MUTEX_STATIC_OPEN,
        ffi::SQLITE_MUTEX_STATIC_VFS1,
        ffi::SQLITE_MUTEX_STATIC_LRU,
        ffi::SQLITE_MUTEX_STATIC_PMEM,
        ffi::SQLITE_MUTEX_STATIC_PRNG,
        ffi::SQLITE_MUTEX_STATIC_MEM,
    ];

    struct Mutexes([*mut ffi::sqlite3_mutex; 7]);
    // SAFETY: SQLite's static mutexes live as long as the process and are
    // meant to be used from any thread.
    unsafe impl Send for Mutexes {}
    unsafe impl Sync for Mutexes {}

    static MUTEXES: std::sync::OnceLock<Mutexes> = std::sync::OnceLock::new();

    /// Look the static mutexes up once (no allocation: they are static).
    pub(super) fn init() {
        MUTEXES.get_or_init(|| {
            // SAFETY: sqlite3_mutex_alloc of a static id returns that mutex.
            Mutexes(STATIC_MUTEXES.map(|id| unsafe { ffi::sqlite3_mutex_alloc(id) }))
        });
    }

    pub(super) fn before_fork() {
        for m in MUTEXES.get().map(|m| &m.0[..]).unwrap_or_default() {
            if !m.is_null() {
                // SAFETY: a static mutex, taken once before the fork.
                unsafe { ffi::sqlite3_mutex_enter(*m) };
            }
        }
    }

    pub(super) fn after_fork() {
        for m in MUTEXES.get().map(|m| &m.0[..]).unwrap_or_default().iter().rev() {
            if !m.is_null() {
                // SAFETY: taken by before_fork in this process image.
                unsafe { ffi::sqlite3_mutex_leave(*m) };
            }
        }
    }

    /// Files open in this process (or, after a fork, in an ancestor):
    /// canonical path -> (open providers, the generation that opened them).
    static OPEN_FILES: Mutex<Option<HashMap<PathBuf, (usize, u64)>>> = Mutex::new(None);

    fn canonical(path: &Path) -> PathBuf {
        std::fs::canonicalize(path).unwrap_or_else(|_| path.to_owned())
    }

    /// Before opening `path`: `Err(why)` if a parent had it open when this
    /// process forked.
    pub(crate) fn check_usable(path: &Path) -> Result<(), String> {
        let generation = super::fork_generation();
        let files = OPEN_FILES.lock().unwrap_or_else(|e| e.into_inner());
        match files.as_ref().and_then(|f| f.get(&canonical(path))) {
            Some(&(n, opened_in)) if n > 0 && opened_in < generation => Err(format!(
                "using {} in a process forked while its parent had it open (SQLite forbids it); \
                 connect in the child to another file, before forking, or to Redis (Python: \
                 multiprocessing's \"spawn\" or \"forkserver\" start method)",
                path.display()
            )),
            _ => Ok(()),
        }
    }

    /// `path` was opened (it exists now).
    pub(crate) fn opened(path: &Path) {
        let generation = super::fork_generation();
        let mut files = OPEN_FILES.lock().unwrap_or_else(|e| e.into_inner());
        let entry = files.get_or_insert_with(HashMap::new).entry(canonical(path)).or_insert((0, generation));
        entry.0 += 1;
        entry.1 = entry.1.min(generation);
    }

    /// A provider that opened `path` closed it.
    pub(crate) fn closed(path: &Path) {
        let mut files = OPEN_FILES.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(files) = files.as_mut() {
            let path = canonical(path);
            if let Some(entry) = files.get_mut(&path) {
                entry.0 = entry.0.saturating_sub(1);
                if entry.0 == 0 {
                    files.remove(&path);
                }
            }
        }
    }
}
