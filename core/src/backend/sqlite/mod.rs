//! `sqlite://PATH`: the embedded default. A lease table, a fence table and a
//! waiter table in one file (WAL mode); one short write transaction per
//! operation. Processes on one machine share locks through the file, are
//! served in FIFO order through the waiter table, and notice releases by a
//! cheap change check (`PRAGMA data_version`) instead of re-trying writes:
//! on Linux when inotify reports a write to the file or its WAL, elsewhere
//! every 0.5 ms while someone waits. A queued waiter's attempt reads before
//! it writes, so waiters behind the head do not take the write lock.
//! Tables are described in `docs/backends/sqlite.md`.

use crate::backend::contract::{
    may_grant, summarize, AcquireRequest, Attempt, Backend, Capabilities, Drive, Lease, LeaseInfo, LONGEST_TTL,
    WAITER_STALE_AFTER,
};
use crate::clock::{now_ms, ttl_ms};
use crate::error::{Cause, Error, Result};
use crate::fork;
use crate::notices::Notices;
use crate::url::{percent_decode, UrlParts};
use crate::kinds::Mode;
use parking_lot::Mutex;
use rusqlite::{params, Connection, ErrorCode, OpenFlags, OptionalExtension};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// How long an operation waits for another process's write transaction.
const BUSY_LIMIT: Duration = Duration::from_secs(5);
/// How often a waiting process checks the file for changes without inotify.
const WATCH_INTERVAL: Duration = Duration::from_micros(500);
/// With inotify, how long a waiting process trusts it before checking anyway.
#[cfg(target_os = "linux")]
const WATCH_FALLBACK: Duration = Duration::from_millis(50);

const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS ferrolock_leases(
    key TEXT NOT NULL,
    owner BLOB NOT NULL,
    mode INTEGER NOT NULL,
    fence INTEGER NOT NULL,
    expires_ms INTEGER NOT NULL,
    holder TEXT NOT NULL,
    PRIMARY KEY (key, owner)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS ferrolock_fences(
    key TEXT PRIMARY KEY,
    fence INTEGER NOT NULL
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS ferrolock_waiters(
    ticket INTEGER PRIMARY KEY AUTOINCREMENT,
    key TEXT NOT NULL,
    mode INTEGER NOT NULL,
    expires_ms INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS ferrolock_waiters_by_key ON ferrolock_waiters(key, ticket);
";

struct Shared {
    conn: Mutex<Connection>,
    path: PathBuf,
    stop: AtomicBool,
}

impl Shared {
    /// The provider is closed (or gone): a forked child may open the file.
    fn forget(&self) {
        if !self.stop.swap(true, Ordering::AcqRel) {
            fork::sqlite::closed(&self.path);
        }
    }
}

pub(crate) struct SqliteBackend {
    shared: Arc<Shared>,
}

fn unavailable(path: &Path, e: impl std::fmt::Display) -> Error {
    let cause = Cause(e.to_string());
    Error::Unavailable { backend: "sqlite", message: format!("{}: {cause}", path.display()), cause: Some(cause) }
}

fn is_busy(e: &rusqlite::Error) -> bool {
    matches!(e, rusqlite::Error::SqliteFailure(f, _) if matches!(f.code, ErrorCode::DatabaseBusy | ErrorCode::DatabaseLocked))
}

fn mode_code(m: Mode) -> i64 {
    match m {
        Mode::Exclusive => 0,
        Mode::Shared => 1,
    }
}

fn mode_of(c: i64) -> Mode {
    if c == 1 {
        Mode::Shared
    } else {
        Mode::Exclusive
    }
}

/// A path the user must change: `INVALID_ARGUMENT` naming it (retrying
/// will not help, unlike `unavailable`).
fn bad_path(path: &Path, what: impl std::fmt::Display) -> Error {
    Error::invalid(format!("SQLite database {}: {what}", path.display()))
}

/// Whether an error opening the file is the path's fault (a folder, no
/// permission, a read-only place, not a database) rather than a passing one.
fn is_path_error(e: &rusqlite::Error) -> bool {
    matches!(e, rusqlite::Error::SqliteFailure(f, _) if matches!(
        f.code,
        ErrorCode::CannotOpen | ErrorCode::ReadOnly | ErrorCode::PermissionDenied | ErrorCode::NotADatabase
    ))
}

/// Open `path` with the settings every connection uses; `create`: make the
/// file if it does not exist.
pub(crate) fn open_connection(path: &Path, create: bool) -> rusqlite::Result<Connection> {
    let mut flags = OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX;
    if create {
        flags |= OpenFlags::SQLITE_OPEN_CREATE;
    }
    let conn = Connection::open_with_flags(path, flags)?;
    conn.busy_timeout(BUSY_LIMIT)?;
    conn.pragma_update(None, "journal_mode", "WAL")?;
    conn.pragma_update(None, "synchronous", "NORMAL")?;
    Ok(conn)
}

/// `sqlite://PATH`: the database file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Target {
    path: PathBuf,
    /// Whether opening may create the file (`Locks::connect_existing`: no).
    create: bool,
}

pub(crate) fn parse(url: &mut UrlParts) -> Result<Target> {
    let path = percent_decode(&url.body).ok_or_else(|| url.invalid("the path is not valid percent-encoded UTF-8"))?;
    if path.is_empty() {
        return Err(url.invalid("no file path; use sqlite://locks.db or sqlite:///abs/path/locks.db"));
    }
    url.finish(&[])?;
    Ok(Target { path: home(&path, url)?, create: url.create })
}

/// A leading `~` is the home folder, as a shell would read it (the URL
/// reaches us unexpanded: `--url sqlite://~/locks.db`).
fn home(path: &str, url: &UrlParts) -> Result<PathBuf> {
    let rest = match path.strip_prefix('~') {
        Some("") => "",
        Some(rest) if rest.starts_with('/') => &rest[1..],
        _ => return Ok(PathBuf::from(path)),
    };
    let home = std::env::var_os("HOME")
        .filter(|h| !h.is_empty())
        .ok_or_else(|| url.invalid("the path starts with ~ but $HOME is not set; give an absolute path"))?;
    Ok(PathBuf::from(home).join(rest))
}

impl SqliteBackend {
    pub(crate) async fn open(target: &Target, notices: &Arc<Notices>) -> Result<Self> {
        let path = target.path.as_path();
        // Its threads may hold SQLite's mutexes when the process forks.
        fork::watch();
        fork::sqlite::check_usable(path).map_err(|operation| Error::Unsupported { backend: "sqlite", operation })?;
        if path.is_dir() {
            return Err(bad_path(path, "is a folder; name a file in it, such as sqlite://…/locks.db"));
        }
        if !target.create && !path.exists() {
            return Err(bad_path(
                path,
                "does not exist (this operation does not create one: check the path of the URL, or $FERROLOCK_URL)",
            ));
        }
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).map_err(|e| match e.kind() {
                _ if dir.exists() && !dir.is_dir() => {
                    bad_path(path, format_args!("{} is a file, not a folder", dir.display()))
                }
                std::io::ErrorKind::PermissionDenied
                | std::io::ErrorKind::ReadOnlyFilesystem
                | std::io::ErrorKind::NotADirectory
                | std::io::ErrorKind::AlreadyExists => {
                    bad_path(path, format_args!("cannot create its folder {}: {e}", dir.display()))
                }
                _ => unavailable(path, e),
            })?;
        }
        // Processes opening a fresh file at once race to switch it to WAL
        // and create the tables; SQLite may answer busy there without
        // waiting (a lock upgrade it will not wait for), so retry a while.
        let conn = retry_busy(Duration::from_millis(1), Duration::from_millis(50), || {
            open_connection(path, target.create).and_then(|c| c.execute_batch(SCHEMA).map(|()| c))
        })
        .map_err(|e| {
            if is_path_error(&e) {
                bad_path(path, format_args!("cannot be opened for writing: {e} (is it a writable file?)"))
            } else {
                unavailable(path, e)
            }
        })?;
        // Operations run on the caller's thread and must not block it: a
        // busy file sends them to the blocking pool (see `run`).
        conn.busy_timeout(Duration::ZERO).map_err(|e| unavailable(path, e))?;
        fork::sqlite::opened(path);
        let shared = Arc::new(Shared { conn: Mutex::new(conn), path: path.to_owned(), stop: AtomicBool::new(false) });
        let watcher = {
            let shared = shared.clone();
            let notices = notices.clone();
            std::thread::Builder::new()
                .name("ferrolock-sqlite-watch".into())
                .spawn(move || watch(&shared, &notices))
                .map_err(|e| unavailable(path, e))?
        };
        notices.set_watcher(watcher.thread().clone());
        Ok(SqliteBackend { shared })
    }

    /// Run `op` in one transaction: on this thread when the file is free,
    /// else on the blocking pool, retrying while another process writes.
    async fn run<T: Send + 'static>(
        &self,
        op: impl Fn(&mut Connection) -> rusqlite::Result<T> + Send + 'static,
    ) -> Result<T> {
        if let Some(mut conn) = self.shared.conn.try_lock() {
            match op(&mut conn) {
                Err(e) if is_busy(&e) => {}
                other => return other.map_err(|e| unavailable(&self.shared.path, e)),
            }
        }
        let shared = self.shared.clone();
        tokio::task::spawn_blocking(move || {
            retry_busy(Duration::from_micros(20), Duration::from_millis(2), || op(&mut shared.conn.lock()))
                .map_err(|e| unavailable(&shared.path, e))
        })
        .await
        .map_err(|e| Error::Internal(format!("sqlite task failed: {e}")))?
    }
}

/// Run `op` until it is not busy or `BUSY_LIMIT` has passed, sleeping
/// between tries from `first`, doubling up to `most`.
fn retry_busy<T>(first: Duration, most: Duration, mut op: impl FnMut() -> rusqlite::Result<T>) -> rusqlite::Result<T> {
    let start = Instant::now();
    let mut pause = first;
    loop {
        match op() {
            Err(e) if is_busy(&e) && start.elapsed() < BUSY_LIMIT => {
                std::thread::sleep(pause);
                pause = (pause * 2).min(most);
            }
            other => return other,
        }
    }
}

fn watch(shared: &Shared, notices: &Notices) {
    if shared.stop.load(Ordering::Relaxed) {
        return; // closed before the thread started
    }
    // Never create the file: a provider closed (and its file removed) before
    // this thread ran must not bring it back. The provider set WAL already.
    let opened = Connection::open_with_flags(
        &shared.path,
        OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX,
    );
    let conn = match opened {
        Ok(c) => c,
        Err(e) => {
            tracing::warn!(error = %e, "ferrolock: sqlite change watcher could not open the file; waiters will poll");
            return;
        }
    };
    let version = |c: &Connection| c.query_row("PRAGMA data_version", [], |r| r.get::<_, i64>(0)).ok();
    #[cfg(target_os = "linux")]
    let mut writes = inotify::Writes::new(&shared.path);
    let mut last = version(&conn);
    while !shared.stop.load(Ordering::Relaxed) {
        if !notices.anyone_waiting() {
            // Unwatched while nobody waits: a watch costs every write to
            // the directory (this process's own included) a notification.
            #[cfg(target_os = "linux")]
            if let Some(w) = &mut writes {
                w.unwatch();
            }
            std::thread::park_timeout(Duration::from_millis(200));
            last = version(&conn);
            continue;
        }
        #[cfg(target_os = "linux")]
        match &mut writes {
            Some(w) => {
                // Just watched: check at once for a write made before the watch.
                if w.watch() {
                    w.wait(WATCH_FALLBACK);
                }
            }
            None => std::thread::sleep(WATCH_INTERVAL),
        }
        #[cfg(not(target_os = "linux"))]
        std::thread::sleep(WATCH_INTERVAL);
        let now = version(&conn);
        if now != last {
            last = now;
            notices.changed();
        }
    }
}

/// Writes in a database file's directory (its `-wal`/`-journal` among them),
/// reported by an inotify watch while someone waits: a commit by any process
/// on this machine wakes the watcher at once.
#[cfg(target_os = "linux")]
mod inotify {
    use std::ffi::CString;
    use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
    use std::os::unix::ffi::OsStrExt;
    use std::path::Path;
    use std::time::Duration;

    pub(super) struct Writes {
        fd: OwnedFd,
        dir: CString,
        /// The watch descriptor while watching.
        watching: Option<i32>,
    }

    impl Writes {
        /// `None` where inotify is not available (the watcher polls).
        pub(super) fn new(path: &Path) -> Option<Writes> {
            let dir = path.parent().filter(|d| !d.as_os_str().is_empty()).unwrap_or(Path::new("."));
            let dir = CString::new(dir.as_os_str().as_bytes()).ok()?;
            // SAFETY: a plain syscall; the fd is owned from here on.
            let fd = unsafe { libc::inotify_init1(libc::IN_NONBLOCK | libc::IN_CLOEXEC) };
            if fd < 0 {
                return None;
            }
            Some(Writes { fd: unsafe { OwnedFd::from_raw_fd(fd) }, dir, watching: None })
        }

        /// Start watching; true if it was watching already. If the
        /// directory cannot be watched it stays unwatched, and `wait` sleeps.
        pub(super) fn watch(&mut self) -> bool {
            if self.watching.is_some() {
                return true;
            }
            let mask = libc::IN_MODIFY | libc::IN_CREATE | libc::IN_MOVED_TO;
            // SAFETY: a valid fd and a NUL-terminated path.
            let wd = unsafe { libc::inotify_add_watch(self.fd.as_raw_fd(), self.dir.as_ptr(), mask) };
            self.watching = (wd >= 0).then_some(wd);
            false
        }

        pub(super) fn unwatch(&mut self) {
            if let Some(wd) = self.watching.take() {
                // SAFETY: a valid fd and the watch it returned.
                unsafe { libc::inotify_rm_watch(self.fd.as_raw_fd(), wd) };
                self.drain();
            }
        }

        /// Wait up to `timeout` for a write in the directory (the caller
        /// then checks the database's own `data_version`).
        pub(super) fn wait(&self, timeout: Duration) {
            if self.watching.is_none() {
                std::thread::sleep(timeout.min(super::WATCH_INTERVAL));
                return;
            }
            let mut pfd = libc::pollfd { fd: self.fd.as_raw_fd(), events: libc::POLLIN, revents: 0 };
            let ms = timeout.as_millis().min(i32::MAX as u128) as i32;
            // SAFETY: one valid pollfd.
            if unsafe { libc::poll(&mut pfd, 1, ms) } > 0 {
                self.drain();
            }
        }

        /// Read and forget the queued events.
        fn drain(&self) {
            let mut buf = [0u8; 4096];
            // SAFETY: reads into a buffer we own, at most its length.
            while unsafe { libc::read(self.fd.as_raw_fd(), buf.as_mut_ptr().cast(), buf.len()) } > 0 {}
        }
    }
}

impl Backend for SqliteBackend {
    const DRIVE: Drive = Drive::Blocking;

    fn capabilities(&self) -> Capabilities {
        Capabilities { max_ttl: LONGEST_TTL, shared: true, handoff: true, queue: true, notices: true }
    }

    async fn try_acquire(&self, req: &AcquireRequest<'_>) -> Result<Attempt> {
        let key = req.key.to_owned();
        let owner = *req.owner;
        let mode = req.mode;
        let ttl = ttl_ms(req.ttl) as i64;
        let holder = req.holder.to_owned();
        let ticket = req.ticket;
        self.run(move |conn| {
            if let Some(t) = ticket {
                // A queued waiter reads first: behind the head, or while the
                // lock is held, it has nothing to write (unless its heartbeat
                // is due) and leaves the write lock to those who do.
                if let Some(busy) = queued_and_busy(conn, &key, mode, t)? {
                    return Ok(busy);
                }
            }
            let tx = conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
            let now = now_ms() as i64;
            tx.prepare_cached("DELETE FROM ferrolock_leases WHERE key = ?1 AND expires_ms <= ?2")?
                .execute(params![key, now])?;
            if let Some(t) = ticket {
                // The attempt is the waiter's heartbeat; written only when
                // due, since every write wakes the other waiting processes.
                if heartbeat_due(&tx, t, now)? {
                    tx.prepare_cached(
                        "INSERT INTO ferrolock_waiters(ticket, key, mode, expires_ms) VALUES (?1, ?2, ?3, ?4)
                         ON CONFLICT(ticket) DO UPDATE SET expires_ms = excluded.expires_ms",
                    )?
                    .execute(params![t as i64, key, mode_code(mode), now + ttl_ms(WAITER_STALE_AFTER) as i64])?;
                }
            }
            if let Some(busy) = busy(&tx, &key, mode, ticket, now)? {
                tx.commit()?;
                return Ok(busy);
            }
            let fence: i64 = tx
                .prepare_cached(
                    "INSERT INTO ferrolock_fences(key, fence) VALUES (?1, 1)
                     ON CONFLICT(key) DO UPDATE SET fence = fence + 1 RETURNING fence",
                )?
                .query_row(params![key], |r| r.get(0))?;
            let expires = now + ttl;
            tx.prepare_cached(
                "INSERT INTO ferrolock_leases(key, owner, mode, fence, expires_ms, holder) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
            )?
            .execute(params![key, &owner[..], mode_code(mode), fence, expires, holder])?;
            if let Some(t) = ticket {
                tx.prepare_cached("DELETE FROM ferrolock_waiters WHERE ticket = ?1")?.execute(params![t as i64])?;
            }
            tx.commit()?;
            Ok(Attempt::Granted(Lease { fence: fence as u64, expires_at_ms: expires as u64, proof: Vec::new() }))
        })
        .await
    }

    async fn release(&self, key: &str, owner: &[u8; 16], _proof: &[u8]) -> Result<bool> {
        let (key, owner) = (key.to_owned(), *owner);
        self.run(move |conn| {
            let expires: Option<i64> = conn
                .prepare_cached("DELETE FROM ferrolock_leases WHERE key = ?1 AND owner = ?2 RETURNING expires_ms")?
                .query_row(params![key, &owner[..]], |r| r.get(0))
                .optional()?;
            Ok(expires.is_some_and(|e| e > now_ms() as i64))
        })
        .await
    }

    async fn refresh(&self, key: &str, owner: &[u8; 16], _proof: &[u8], ttl: Duration) -> Result<Option<u64>> {
        let (key, owner, ttl) = (key.to_owned(), *owner, ttl_ms(ttl) as i64);
        self.run(move |conn| {
            let now = now_ms() as i64;
            let n = conn
                .prepare_cached(
                    "UPDATE ferrolock_leases SET expires_ms = ?4 WHERE key = ?1 AND owner = ?2 AND expires_ms > ?3",
                )?
                .execute(params![key, &owner[..], now, now + ttl])?;
            Ok((n == 1).then_some((now + ttl) as u64))
        })
        .await
    }

    async fn force_release(&self, key: &str) -> Result<bool> {
        let key = key.to_owned();
        self.run(move |conn| {
            let now = now_ms() as i64;
            let tx = conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
            let live = tx
                .prepare_cached("SELECT count(*) FROM ferrolock_leases WHERE key = ?1 AND expires_ms > ?2")?
                .query_row(params![key, now], |r| r.get::<_, i64>(0))?;
            tx.prepare_cached("DELETE FROM ferrolock_leases WHERE key = ?1")?.execute(params![key])?;
            tx.commit()?;
            Ok(live > 0)
        })
        .await
    }

    async fn inspect(&self, key: &str) -> Result<Option<LeaseInfo>> {
        let key = key.to_owned();
        self.run(move |conn| {
            let rows = leases(conn, "WHERE key = ?1 AND expires_ms > ?2", params![key, now_ms() as i64])?;
            Ok(summarize(rows.iter().map(|r| (r.1, r.2, r.3.as_str(), r.4))))
        })
        .await
    }

    async fn list(&self, prefix: &str) -> Result<Vec<(String, LeaseInfo)>> {
        let prefix = prefix.to_owned();
        self.run(move |conn| {
            let rows = leases(conn, "WHERE key >= ?1 AND expires_ms > ?2 ORDER BY key", params![prefix, now_ms() as i64])?;
            let mut out: Vec<(String, LeaseInfo)> = Vec::new();
            let rows: Vec<_> = rows.into_iter().take_while(|r| r.0.starts_with(&prefix)).collect();
            for chunk in rows.chunk_by(|a, b| a.0 == b.0) {
                if let Some(info) = summarize(chunk.iter().map(|r| (r.1, r.2, r.3.as_str(), r.4))) {
                    out.push((chunk[0].0.clone(), info));
                }
            }
            Ok(out)
        })
        .await
    }

    async fn enqueue(&self, key: &str, _owner: &[u8; 16], mode: Mode) -> Result<u64> {
        let key = key.to_owned();
        self.run(move |conn| {
            let now = now_ms() as i64;
            let tx = conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
            tx.prepare_cached("DELETE FROM ferrolock_waiters WHERE key = ?1 AND expires_ms <= ?2")?
                .execute(params![key, now])?;
            tx.prepare_cached("INSERT INTO ferrolock_waiters(key, mode, expires_ms) VALUES (?1, ?2, ?3)")?
                .execute(params![key, mode_code(mode), now + ttl_ms(WAITER_STALE_AFTER) as i64])?;
            let ticket = tx.last_insert_rowid();
            tx.commit()?;
            Ok(ticket as u64)
        })
        .await
    }

    async fn leave(&self, _key: &str, ticket: u64) -> Result<()> {
        self.run(move |conn| {
            conn.prepare_cached("DELETE FROM ferrolock_waiters WHERE ticket = ?1")?.execute(params![ticket as i64])?;
            Ok(())
        })
        .await
    }

    async fn ping(&self) -> Result<()> {
        self.run(|conn| conn.query_row("SELECT count(*) FROM ferrolock_fences", [], |_| Ok(()))).await
    }

    fn close(&self) {
        self.shared.forget();
    }
}

impl Drop for SqliteBackend {
    fn drop(&mut self) {
        self.close();
    }
}

/// A queued waiter's attempt in a read transaction: `Some(Busy)` when it
/// cannot be granted and its heartbeat is not due, `None` when the write
/// transaction must decide. A change after this snapshot wakes the waiter
/// again (it registered for wake-ups before the attempt).
fn queued_and_busy(conn: &mut Connection, key: &str, mode: Mode, ticket: u64) -> rusqlite::Result<Option<Attempt>> {
    let tx = conn.transaction()?;
    let now = now_ms() as i64;
    if heartbeat_due(&tx, ticket, now)? {
        return Ok(None);
    }
    busy(&tx, key, mode, Some(ticket), now)
}

/// Whether waiter `ticket`'s heartbeat is due: its row is gone, or past
/// half its life.
fn heartbeat_due(conn: &Connection, ticket: u64, now: i64) -> rusqlite::Result<bool> {
    let expires: Option<i64> = conn
        .prepare_cached("SELECT expires_ms FROM ferrolock_waiters WHERE ticket = ?1")?
        .query_row(params![ticket as i64], |r| r.get(0))
        .optional()?;
    Ok(expires.is_none_or(|e| e < now + ttl_ms(WAITER_STALE_AFTER) as i64 / 2))
}

/// `Some(Busy)` if `mode` cannot be granted now (live leases, or live
/// waiters ahead of `ticket`), with the time until the soonest lease ends.
fn busy(conn: &Connection, key: &str, mode: Mode, ticket: Option<u64>, now: i64) -> rusqlite::Result<Option<Attempt>> {
    let holders: Vec<(Mode, i64)> = conn
        .prepare_cached("SELECT mode, expires_ms FROM ferrolock_leases WHERE key = ?1 AND expires_ms > ?2")?
        .query_map(params![key, now], |r| Ok((mode_of(r.get(0)?), r.get(1)?)))?
        .collect::<rusqlite::Result<_>>()?;
    let ahead: Vec<Mode> = conn
        .prepare_cached("SELECT mode FROM ferrolock_waiters WHERE key = ?1 AND expires_ms > ?2 AND ticket < ?3")?
        .query_map(params![key, now, ticket.map_or(i64::MAX, |t| t as i64)], |r| Ok(mode_of(r.get(0)?)))?
        .collect::<rusqlite::Result<_>>()?;
    if may_grant(mode, holders.iter().map(|h| h.0), ahead.into_iter()) {
        return Ok(None);
    }
    let soonest = holders.iter().map(|h| h.1).min();
    Ok(Some(Attempt::Busy { retry_in: soonest.map(|e| Duration::from_millis(e.saturating_sub(now).max(0) as u64)) }))
}

type Row = (String, Mode, u64, String, u64);

fn leases(conn: &Connection, filter: &str, args: impl rusqlite::Params) -> rusqlite::Result<Vec<Row>> {
    conn.prepare_cached(&format!("SELECT key, mode, fence, holder, expires_ms FROM ferrolock_leases {filter}"))?
        .query_map(args, |r| {
            Ok((r.get(0)?, mode_of(r.get(1)?), r.get::<_, i64>(2)? as u64, r.get(3)?, r.get::<_, i64>(4)? as u64))
        })?
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn target(url: &str) -> Result<Target> {
        parse(&mut crate::url::parse(url)?)
    }

    #[test]
    fn parses_paths() {
        assert_eq!(target("sqlite://locks.db?namespace=app").unwrap().path, PathBuf::from("locks.db"));
        assert_eq!(target("sqlite:///var/lib/x/locks.db").unwrap().path, PathBuf::from("/var/lib/x/locks.db"));
        let home = PathBuf::from(std::env::var_os("HOME").unwrap());
        assert_eq!(target("sqlite://~/locks.db").unwrap().path, home.join("locks.db"));
        assert_eq!(target("sqlite://~/a/b.db").unwrap().path, home.join("a/b.db"));
        assert_eq!(target("sqlite://~x/b.db").unwrap().path, PathBuf::from("~x/b.db"));
        for bad in ["sqlite://", "sqlite://x.db?ca=x.pem", "sqlite://%ff"] {
            assert_eq!(target(bad).unwrap_err().code(), "INVALID_ARGUMENT", "{bad}");
        }
    }
}
