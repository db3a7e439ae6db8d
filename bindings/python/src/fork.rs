//! What `fork()` needs beyond a fresh runtime (runtime.rs):
//!
//! - SQLite's global mutexes (allocator, VFS, page cache…) may be held by
//!   another thread of the parent (a SQLite watcher, a blocking-pool task)
//!   when Python forks; the child would then deadlock at its first SQLite
//!   call. A `pthread_atfork` handler takes them before the fork and gives
//!   them back on both sides.
//! - SQLite keeps per-process state for each open file (POSIX lock and
//!   shared-memory bookkeeping, per-file mutexes) that a child inherits but
//!   that does not describe the child: SQLite forbids using a file in a
//!   child that its parent had open. The child may open other files; for a
//!   file the parent had open it gets `Unsupported`.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::Mutex;

/// SQLite's static mutexes, taken in this order (outer ones first, the
/// allocator's, a leaf, last) and released in reverse.
const STATIC_MUTEXES: [i32; 7] = [
    libsqlite3_sys::SQLITE_MUTEX_STATIC_MAIN,
    libsqlite3_sys::SQLITE_MUTEX_STATIC_OPEN,
    libsqlite3_sys::SQLITE_MUTEX_STATIC_VFS1,
    libsqlite3_sys::SQLITE_MUTEX_STATIC_LRU,
    libsqlite3_sys::SQLITE_MUTEX_STATIC_PMEM,
    libsqlite3_sys::SQLITE_MUTEX_STATIC_PRNG,
    libsqlite3_sys::SQLITE_MUTEX_STATIC_MEM,
];

static mut MUTEXES: [*mut libsqlite3_sys::sqlite3_mutex; 7] = [std::ptr::null_mut(); 7];

/// Look the static mutexes up once (no allocation: they are static).
pub fn init() {
    unsafe {
        for (i, id) in STATIC_MUTEXES.iter().enumerate() {
            MUTEXES[i] = libsqlite3_sys::sqlite3_mutex_alloc(*id);
        }
    }
}

pub extern "C" fn before_fork() {
    unsafe {
        for m in (*std::ptr::addr_of!(MUTEXES)).iter() {
            if !m.is_null() {
                libsqlite3_sys::sqlite3_mutex_enter(*m);
            }
        }
    }
}

pub extern "C" fn after_fork() {
    unsafe {
        for m in (*std::ptr::addr_of!(MUTEXES)).iter().rev() {
            if !m.is_null() {
                libsqlite3_sys::sqlite3_mutex_leave(*m);
            }
        }
    }
}

/// SQLite files open in this process (or, after a fork, in an ancestor):
/// canonical path -> (open providers, the generation that opened them).
static OPEN_FILES: Mutex<Option<HashMap<PathBuf, (usize, u64)>>> = Mutex::new(None);

/// The file a `sqlite://` URL names, canonical if it exists.
pub fn sqlite_path(url: &str) -> Option<PathBuf> {
    let rest = url.strip_prefix("sqlite://")?;
    let path = rest.split('?').next().unwrap_or_default();
    if path.is_empty() {
        return None;
    }
    let path = PathBuf::from(path);
    Some(std::fs::canonicalize(&path).unwrap_or(path))
}

/// `Err(message)` if `path` was open in a parent process when this one forked.
pub fn check_usable(path: &PathBuf, generation: u64) -> Result<(), String> {
    let files = OPEN_FILES.lock().unwrap_or_else(|e| e.into_inner());
    match files.as_ref().and_then(|f| f.get(path)) {
        Some(&(n, opened_in)) if n > 0 && opened_in < generation => Err(format!(
            "using {} in a process forked while its parent had it open (SQLite forbids it); \
             connect before forking in the child only, use multiprocessing's \"spawn\" or \
             \"forkserver\" start method, or Redis",
            path.display()
        )),
        _ => Ok(()),
    }
}

pub fn opened(path: PathBuf, generation: u64) {
    let mut files = OPEN_FILES.lock().unwrap_or_else(|e| e.into_inner());
    let entry = files.get_or_insert_with(HashMap::new).entry(path).or_insert((0, generation));
    entry.0 += 1;
    entry.1 = entry.1.min(generation);
}

pub fn closed(path: &PathBuf) {
    let mut files = OPEN_FILES.lock().unwrap_or_else(|e| e.into_inner());
    if let Some(files) = files.as_mut() {
        if let Some(entry) = files.get_mut(path) {
            entry.0 = entry.0.saturating_sub(1);
            if entry.0 == 0 {
                files.remove(path);
            }
        }
    }
}
