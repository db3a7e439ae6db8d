//! Benchmark 2: an uncontended `try_acquire()` + `release()` pair on a
//! SQLite file, against raw rusqlite running the same statements.
//!
//! The SQL, the schema and the connection settings below are copied from
//! `core/src/backend/sqlite/mod.rs` (the uncontended path of `try_acquire`, with
//! no wait-queue ticket, and `release`). If core changes them, copy again.

use crate::memory::ferrolock_pairs;
use crate::report::Row;
use crate::stats::{fmt_ns, interleaved, Case, Plan};
use crate::TempDir;
use rusqlite::{params, Connection, OpenFlags, OptionalExtension};
use std::hint::black_box;
use std::path::Path;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

/// Copied from core/src/backend/sqlite/mod.rs.
pub const SCHEMA: &str = "
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

const DELETE_EXPIRED: &str = "DELETE FROM ferrolock_leases WHERE key = ?1 AND expires_ms <= ?2";
const SELECT_HOLDERS: &str = "SELECT mode, expires_ms FROM ferrolock_leases WHERE key = ?1";
const SELECT_AHEAD: &str = "SELECT mode FROM ferrolock_waiters WHERE key = ?1 AND expires_ms > ?2 AND ticket < ?3";
const UPSERT_FENCE: &str = "INSERT INTO ferrolock_fences(key, fence) VALUES (?1, 1)
                     ON CONFLICT(key) DO UPDATE SET fence = fence + 1 RETURNING fence";
const INSERT_LEASE: &str =
    "INSERT INTO ferrolock_leases(key, owner, mode, fence, expires_ms, holder) VALUES (?1, ?2, ?3, ?4, ?5, ?6)";
const RELEASE: &str = "DELETE FROM ferrolock_leases WHERE key = ?1 AND owner = ?2 RETURNING expires_ms";

/// Copied from core: `open_connection`, then the schema, then a zero busy
/// timeout (as `SqliteBackend::open` leaves its connection).
pub fn open_like_core(path: &Path) -> rusqlite::Result<Connection> {
    let conn = Connection::open_with_flags(
        path,
        OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_CREATE | OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )?;
    conn.busy_timeout(Duration::from_secs(5))?;
    conn.pragma_update(None, "journal_mode", "WAL")?;
    conn.pragma_update(None, "synchronous", "NORMAL")?;
    conn.execute_batch(SCHEMA)?;
    conn.busy_timeout(Duration::ZERO)?;
    Ok(conn)
}

fn now_ms() -> i64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_millis() as i64).unwrap_or(0)
}

/// The floor: the statements of one uncontended acquisition and release.
struct Raw {
    conn: Connection,
    key: String,
    holder: String,
    ttl_ms: i64,
    seed: u64,
}

impl Raw {
    fn pair(&mut self) -> rusqlite::Result<bool> {
        let owner = crate::memory::next_owner(&mut self.seed);
        let (key, holder) = (&self.key, &self.holder);
        let tx = self.conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
        let now = now_ms();
        tx.prepare_cached(DELETE_EXPIRED)?.execute(params![key, now])?;
        let holders: Vec<(i64, i64)> = tx
            .prepare_cached(SELECT_HOLDERS)?
            .query_map(params![key], |r| Ok((r.get(0)?, r.get(1)?)))?
            .collect::<rusqlite::Result<_>>()?;
        let ahead: Vec<i64> = tx
            .prepare_cached(SELECT_AHEAD)?
            .query_map(params![key, now, i64::MAX], |r| r.get(0))?
            .collect::<rusqlite::Result<_>>()?;
        assert!(holders.is_empty() && ahead.is_empty(), "the floor's lock is not free");
        let fence: i64 = tx.prepare_cached(UPSERT_FENCE)?.query_row(params![key], |r| r.get(0))?;
        tx.prepare_cached(INSERT_LEASE)?.execute(params![key, &owner[..], 0i64, fence, now + self.ttl_ms, holder])?;
        tx.commit()?;
        let expires: Option<i64> =
            self.conn.prepare_cached(RELEASE)?.query_row(params![key, &owner[..]], |r| r.get(0)).optional()?;
        Ok(expires.is_some_and(|e| e > now_ms()))
    }
}

pub fn run(plan: Plan, details: &mut String) -> Vec<Row> {
    let tmp = TempDir::new("sqlite");
    let ferro_dir = tmp.path().join("ferrolock");
    let floor_dir = tmp.path().join("floor");
    std::fs::create_dir_all(&ferro_dir).expect("mkdir");
    std::fs::create_dir_all(&floor_dir).expect("mkdir");
    let url = format!("sqlite://{}", ferro_dir.join("bench.db").display());

    let [(_, rt), (_, mt)] = crate::memory::runtimes();
    let locks = rt.block_on(ferrolock::Locks::connect(&url)).expect("connect sqlite");
    let lock = locks.lock("bench");
    // The same on a multi-thread runtime (the one `#[tokio::main]` makes), its own file.
    let mt_url = format!("sqlite://{}", ferro_dir.join("bench-mt.db").display());
    let mt_locks = mt.block_on(ferrolock::Locks::connect(&mt_url)).expect("connect sqlite");
    let mt_lock = mt_locks.lock("bench");

    let mut raw = Raw {
        conn: open_like_core(&floor_dir.join("bench.db")).expect("open the floor's file"),
        // As core builds it: `__lock:<namespace>:<name>`, and a `host:pid` holder.
        key: "__lock:default:bench".to_owned(),
        holder: format!("{}:{}", hostname(), std::process::id()),
        ttl_ms: ferrolock::DEFAULT_TTL.as_millis() as i64,
        seed: 0x9E37_79B9_7F4A_7C15,
    };

    let (rt, mt) = (&rt, &mt);
    let mut cases: Vec<Case<'_>> = vec![
        Box::new(|n| {
            let t = Instant::now();
            for _ in 0..n {
                assert!(black_box(raw.pair().expect("raw pair")));
            }
            t.elapsed()
        }),
        Box::new(|n| rt.block_on(ferrolock_pairs(&lock, n))),
        Box::new(|n| mt.block_on(ferrolock_pairs(&mt_lock, n))),
    ];
    let s = interleaved(plan, &mut cases);
    drop(cases);
    rt.block_on(locks.close());
    mt.block_on(mt_locks.close());

    let floor = s[0].median_ns();
    let ferro = s[1].median_ns();
    details.push_str("### 2. sqlite: try_acquire + release, one process\n\n");
    details.push_str("The table shows the median round:\n\n");
    crate::stats::describe_all(
        details,
        &[
            ("raw rusqlite, same statements (floor)", &s[0]),
            ("ferrolock async, current_thread", &s[1]),
            ("ferrolock async, multi_thread", &s[2]),
        ],
    );
    let row = |flavor: &str, ferro: f64| {
        let ratio = ferro / floor;
        Row {
            benchmark: format!("sqlite try_acquire+release (one process, {flavor})"),
            ferrolock: fmt_ns(ferro),
            floor: fmt_ns(floor),
            ratio: Some(ratio),
            target: "<= 1.5x".to_owned(),
            met: Some(ratio <= 1.5),
        }
    };
    vec![row("current_thread", ferro), row("multi_thread", s[2].median_ns())]
}

pub fn hostname() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .map(|h| h.trim().to_owned())
        .unwrap_or_else(|_| "localhost".to_owned())
}
