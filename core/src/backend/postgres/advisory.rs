//! `mode=advisory`: session advisory locks (`pg_try_advisory_lock[_shared]`
//! on `hashtextextended(key, 0)`), each held on a connection of its own, so
//! the server frees it the moment that connection dies. The same statement
//! that takes the lock bumps the key's fence in `ferrolock_advisory` (only
//! when it was had) and records the holder for `state`/`list`.
//!
//! A lock cannot outlive its connection, so there is no handoff. A ttl is
//! kept by the holding process: a lock not renewed within its ttl is
//! unlocked by this provider (as a lease would expire), and renewal checks
//! that its connection still lives; a lock whose connection died is
//! reported lost at the next renewal. One reaper task per provider unlocks
//! the locks whose deadline passed (an acquisition spawns no task).

use super::conn::{Connector, Pool};
use super::lease::mode_code;
use super::sql::{Sql, Stmt};
use super::wire::{Decimal, First, LockConn};
use crate::backend::contract::{AcquireRequest, Attempt, Lease, LeaseInfo};
use crate::clock::{coarse_monotonic_ms, now_ms, ttl_ms};
use crate::error::Result;
use crate::kinds::Mode;
use parking_lot::Mutex;
use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Weak};
use std::time::Duration;

/// Idle lock connections kept for the next acquisitions.
const IDLE_MAX: usize = 16;

pub(crate) struct Advisory {
    state: Arc<State>,
}

struct State {
    connector: Connector,
    sql: Arc<Sql>,
    /// The held locks, by owner id, and when the reaper wakes next.
    held: Mutex<Held>,
    /// Wakes the reaper: a lock's deadline is sooner than its next wake-up,
    /// or the provider closed.
    reaper_wake: Arc<tokio::sync::Notify>,
    idle: Mutex<Vec<Arc<LockConn>>>,
    /// A connection is being opened for `idle` in the background.
    replenishing: AtomicBool,
    closed: AtomicBool,
}

struct HeldConn {
    key: String,
    mode: Mode,
    fence: i64,
    conn: Arc<LockConn>,
    /// When the lock is unlocked unless renewed, in coarse monotonic ms.
    deadline: AtomicU64,
}

#[derive(Default)]
struct Held {
    locks: HashMap<[u8; 16], Arc<HeldConn>>,
    /// When the reaper wakes next (coarse monotonic ms; `None`: no reaper
    /// task yet, `Some(u64::MAX)`: it waits to be woken). Read and written
    /// under the same lock as `locks`, so a lock added while the reaper
    /// scans is either seen by the scan or compared with its result.
    reaper_next: Option<u64>,
}

impl Held {
    /// A lock's deadline was set: the reaper's next wake-up moves up to it
    /// if it is sooner. Whether the reaper must be woken to see that.
    fn sooner(&mut self, deadline: u64) -> bool {
        match self.reaper_next {
            Some(next) if deadline < next => {
                self.reaper_next = Some(deadline);
                true
            }
            _ => false,
        }
    }
}

impl Advisory {
    pub(crate) fn new(connector: Connector, sql: Arc<Sql>) -> Advisory {
        let state = State {
            connector,
            sql,
            held: Default::default(),
            reaper_wake: Default::default(),
            idle: Default::default(),
            replenishing: AtomicBool::new(false),
            closed: AtomicBool::new(false),
        };
        Advisory { state: Arc::new(state) }
    }

    /// Open the first lock connection now, so that the first acquisition
    /// does not wait for a handshake.
    pub(crate) fn warm_up(&self) {
        State::replenish(&self.state);
    }

    pub(crate) async fn try_acquire(&self, pool: &Pool, req: &AcquireRequest<'_>) -> Result<Attempt> {
        let s = &self.state;
        let conn = match s.idle_conn() {
            Some(c) => {
                // The next attempt should find one too: a handshake on an
                // attempt's path makes it slow (and a cancelled attempt
                // that finishes in the background takes the lock late).
                if s.idle.lock().is_empty() {
                    State::replenish(s);
                }
                c
            }
            None => {
                // Opening a connection costs a handshake and authentication:
                // not worth it for a lock that is held (waiters try often).
                if held_against(pool, req.key, req.mode).await? {
                    return Ok(Attempt::Busy { retry_in: None });
                }
                let conn = Arc::new(LockConn::open(&s.connector, &s.sql).await?);
                // The caller went while the connection opened (tens of ms):
                // taking the lock now would hold it for nobody until the
                // give-back. The connection serves the next acquisition.
                if req.gone.is_some_and(|g| g.load(Ordering::Acquire)) {
                    s.put_idle(conn);
                    return Ok(Attempt::Busy { retry_in: None });
                }
                conn
            }
        };
        let ttl = ttl_ms(req.ttl);
        let stmt = if req.mode == Mode::Shared { Stmt::AdvisoryAcquireShared } else { Stmt::AdvisoryAcquire };
        let (mode, ttl_text) = (Decimal::of(mode_code(req.mode) as u64), Decimal::of(ttl));
        let got = conn.query(stmt, &[req.key, mode.text(), req.holder, ttl_text.text()]).await;
        let row = match got {
            // Dropping the connection frees whatever it may have taken.
            Err(e) => return Err(e.into_error(&s.connector.target)),
            Ok(None) => {
                s.put_idle(conn);
                return Ok(Attempt::Busy { retry_in: None });
            }
            Ok(Some(row)) => row,
        };
        let fence = int(&s.connector, &row)?;
        let deadline = coarse_monotonic_ms() + ttl;
        let entry = Arc::new(HeldConn { key: req.key.to_owned(), mode: req.mode, fence, conn, deadline: AtomicU64::new(deadline) });
        let wake = {
            let mut held = s.held.lock();
            held.locks.insert(*req.owner, entry);
            match held.reaper_next {
                None => {
                    held.reaper_next = Some(deadline);
                    tokio::spawn(reap(Arc::downgrade(s)));
                    false
                }
                Some(_) => held.sooner(deadline),
            }
        };
        if wake {
            s.reaper_wake.notify_one();
        }
        Ok(Attempt::Granted(Lease { fence: fence as u64, expires_at_ms: now_ms() + ttl, proof: Vec::new() }))
    }

    pub(crate) async fn release(&self, owner: &[u8; 16]) -> Result<bool> {
        let Some(entry) = self.state.take_held(owner, None) else { return Ok(false) };
        self.state.unlock(entry).await
    }

    pub(crate) async fn refresh(&self, owner: &[u8; 16], ttl: Duration) -> Result<Option<u64>> {
        let s = &self.state;
        let Some(entry) = s.held.lock().locks.get(owner).cloned() else { return Ok(None) };
        if coarse_monotonic_ms() >= entry.deadline.load(Ordering::Acquire) || entry.conn.is_closed() {
            if let Some(entry) = s.take_held(owner, Some(&entry)) {
                let _ = s.unlock(entry).await;
            }
            return Ok(None);
        }
        let ttl = ttl_ms(ttl);
        let deadline = coarse_monotonic_ms() + ttl;
        entry.deadline.store(deadline, Ordering::Release);
        // A shorter ttl than the reaper's next wake-up: wake it to see it
        // (a lease shortened by a refresh was unlocked only at its old deadline).
        if s.held.lock().sooner(deadline) {
            s.reaper_wake.notify_one();
        }
        // A round trip on the lock's own connection: it lives, so the lock is held.
        let (fence, ttl_text) = (Decimal::of(entry.fence as u64), Decimal::of(ttl));
        let checked = entry.conn.query(Stmt::AdvisoryRefresh, &[&entry.key, fence.text(), ttl_text.text()]).await;
        let still_ours = |s: &State| s.held.lock().locks.get(owner).is_some_and(|e| Arc::ptr_eq(e, &entry));
        match checked {
            Ok(_) if still_ours(s) => Ok(Some(now_ms() + ttl)),
            Ok(_) => Ok(None),
            Err(_) if entry.conn.is_closed() => {
                s.take_held(owner, Some(&entry));
                Ok(None)
            }
            Err(e) => Err(e.into_error(&s.connector.target)),
        }
    }

    pub(crate) async fn force_release(&self, pool: &Pool, key: &str) -> Result<bool> {
        pool.run(|c| async move {
            let st = c.stmt(Stmt::AdvisoryForceRelease).await?;
            c.client.query_one(st, &[&key]).await.map(|r| r.get::<_, i64>(0) > 0)
        })
        .await
    }

    pub(crate) async fn list(&self, pool: &Pool, stmt: Stmt, arg: &str) -> Result<Vec<(String, LeaseInfo)>> {
        pool.run(|c| async move {
            let st = c.stmt(stmt).await?;
            let rows = c.client.query(st, &[&arg]).await?;
            Ok(rows
                .iter()
                .map(|r| {
                    let exclusive: i64 = r.get(4);
                    let shared: i64 = r.get(5);
                    let mode = if exclusive > 0 { Mode::Exclusive } else { Mode::Shared };
                    let info = LeaseInfo {
                        mode,
                        fence: r.get::<_, i64>(1) as u64,
                        holder: r.get(2),
                        expires_at_ms: r.get::<_, i64>(3) as u64,
                        readers: if mode == Mode::Shared { shared as u32 } else { 0 },
                    };
                    (r.get(0), info)
                })
                .collect())
        })
        .await
    }

    /// Drop every lock connection: the server frees their locks.
    pub(crate) fn close(&self) {
        self.state.closed.store(true, Ordering::Release);
        self.state.held.lock().locks.clear();
        self.state.reaper_wake.notify_one();
        self.state.idle.lock().clear();
    }
}

impl State {
    /// An idle lock connection, if there is one.
    fn idle_conn(&self) -> Option<Arc<LockConn>> {
        let mut idle = self.idle.lock();
        while let Some(c) = idle.pop() {
            if !c.is_closed() {
                return Some(c);
            }
        }
        None
    }

    /// Open one more idle lock connection in the background, unless one is
    /// being opened already.
    fn replenish(state: &Arc<State>) {
        if state.replenishing.swap(true, Ordering::AcqRel) {
            return;
        }
        let state = state.clone();
        tokio::spawn(async move {
            if let Ok(c) = LockConn::open(&state.connector, &state.sql).await {
                state.put_idle(Arc::new(c));
            }
            state.replenishing.store(false, Ordering::Release);
        });
    }

    fn put_idle(&self, conn: Arc<LockConn>) {
        let mut idle = self.idle.lock();
        if idle.len() < IDLE_MAX && !conn.is_closed() && !self.closed.load(Ordering::Acquire) {
            idle.push(conn);
        }
    }

    /// Take `owner`'s entry out of the held ones (only if it is still
    /// `expected`, when given).
    fn take_held(&self, owner: &[u8; 16], expected: Option<&Arc<HeldConn>>) -> Option<Arc<HeldConn>> {
        let mut held = self.held.lock();
        if let Some(x) = expected {
            if !held.locks.get(owner).is_some_and(|e| Arc::ptr_eq(e, x)) {
                return None;
            }
        }
        held.locks.remove(owner)
    }

    /// Unlock on the lock's own connection (and notify its waiters); the
    /// connection goes back to the idle ones. Whether it was still held.
    async fn unlock(&self, entry: Arc<HeldConn>) -> Result<bool> {
        let stmt = if entry.mode == Mode::Shared { Stmt::AdvisoryReleaseShared } else { Stmt::AdvisoryRelease };
        match entry.conn.query(stmt, &[&entry.key]).await {
            Ok(row) => {
                self.put_idle(entry.conn.clone());
                Ok(row.is_some_and(|r| r.text() == "t"))
            }
            // Its connection died, and the lock with it.
            Err(_) if entry.conn.is_closed() => Ok(false),
            // Not put back: dropping the connection frees the lock.
            Err(e) => Err(e.into_error(&self.connector.target)),
        }
    }
}

/// A column's text as a whole number (the fence).
fn int(connector: &Connector, col: &First) -> Result<i64> {
    let text = col.text();
    text.parse().map_err(|_| super::conn::unavailable(&connector.target, format_args!("the server answered {text:?} where a fence was due")))
}

/// Whether the key's advisory lock is held in a way that refuses `mode`
/// now (read on a pool connection; the attempt itself decides).
async fn held_against(pool: &Pool, key: &str, mode: Mode) -> Result<bool> {
    pool.run(|c| async move {
        let st = c.stmt(Stmt::AdvisoryHeld).await?;
        let row = c.client.query_one(st, &[&key]).await?;
        let (exclusive, any): (i64, i64) = (row.get(0), row.get(1));
        Ok(if mode == Mode::Shared { exclusive > 0 } else { any > 0 })
    })
    .await
}

/// The provider's reaper: unlocks each held lock at its deadline unless
/// renewed (or released) before; sleeps until the soonest deadline, or
/// until an acquisition brings a sooner one. Ends with the provider.
async fn reap(state: Weak<State>) {
    loop {
        let Some(s) = state.upgrade() else { return };
        if s.closed.load(Ordering::Acquire) {
            return;
        }
        let now = coarse_monotonic_ms();
        let due: Vec<_> = {
            let mut held = s.held.lock();
            let mut next = u64::MAX;
            let due = held
                .locks
                .iter()
                .filter(|(_, e)| {
                    let d = e.deadline.load(Ordering::Acquire);
                    next = next.min(if d > now { d } else { u64::MAX });
                    d <= now
                })
                .map(|(o, e)| (*o, e.clone()))
                .collect();
            if next == u64::MAX {
                // Nothing held (the lock that woke us is released already,
                // say): wake up when that lock would have been due anyway,
                // so that the acquisitions until then, due later, need not
                // wake us. One wake-up per ttl, not one per acquisition.
                if let Some(set) = held.reaper_next.filter(|&set| set > now) {
                    next = set;
                }
            }
            held.reaper_next = Some(next);
            due
        };
        for (owner, entry) in due {
            if let Some(e) = s.take_held(&owner, Some(&entry)) {
                let _ = s.unlock(e).await;
            }
        }
        let next = s.held.lock().reaper_next.unwrap_or(u64::MAX);
        let notify = s.reaper_wake.clone();
        let wake = notify.notified();
        tokio::pin!(wake);
        wake.as_mut().enable();
        drop(s);
        if next == u64::MAX {
            wake.await;
        } else {
            tokio::select! {
                _ = wake => {}
                _ = tokio::time::sleep(Duration::from_millis(next.saturating_sub(now))) => {}
            }
        }
    }
}
