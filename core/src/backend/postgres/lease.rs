//! `mode=lease`: rows in `ferrolock_leases`, each operation one statement
//! (the acquire, release and force-release ones call the functions of
//! sql.rs, so each is one round trip and one transaction).

use super::conn::Pool;
use super::sql::Stmt;
use crate::backend::contract::{summarize, AcquireRequest, Attempt, Lease, LeaseInfo};
use crate::clock::ttl_ms;
use crate::error::Result;
use crate::kinds::Mode;
use std::time::Duration;

pub(crate) fn mode_code(m: Mode) -> i16 {
    match m {
        Mode::Exclusive => 0,
        Mode::Shared => 1,
    }
}

pub(crate) fn mode_of(c: i16) -> Mode {
    if c == 1 {
        Mode::Shared
    } else {
        Mode::Exclusive
    }
}

pub(crate) async fn try_acquire(pool: &Pool, req: &AcquireRequest<'_>) -> Result<Attempt> {
    let ttl = ttl_ms(req.ttl) as i64;
    let ticket = req.ticket.map(|t| t as i64);
    let holder: &str = req.holder;
    let row = pool
        .run(|c| async move {
            let st = c.stmt(Stmt::Acquire).await?;
            c.client.query_one(st, &[&req.key, &&req.owner[..], &mode_code(req.mode), &ttl, &holder, &ticket]).await
        })
        .await?;
    let fence: Option<i64> = row.get(0);
    Ok(match fence {
        Some(fence) => {
            Attempt::Granted(Lease { fence: fence as u64, expires_at_ms: row.get::<_, i64>(1) as u64, proof: Vec::new() })
        }
        None => Attempt::Busy { retry_in: row.get::<_, Option<i64>>(2).map(|ms| Duration::from_millis(ms.max(0) as u64)) },
    })
}

pub(crate) async fn release(pool: &Pool, key: &str, owner: &[u8; 16]) -> Result<bool> {
    pool.run(|c| async move {
        let st = c.stmt(Stmt::Release).await?;
        c.client.query_one(st, &[&key, &&owner[..]]).await.map(|r| r.get(0))
    })
    .await
}

pub(crate) async fn refresh(pool: &Pool, key: &str, owner: &[u8; 16], ttl: Duration) -> Result<Option<u64>> {
    let ttl = ttl_ms(ttl) as i64;
    pool.run(|c| async move {
        let st = c.stmt(Stmt::Refresh).await?;
        c.client.query_opt(st, &[&key, &&owner[..], &ttl]).await.map(|r| r.map(|r| r.get::<_, i64>(0) as u64))
    })
    .await
}

pub(crate) async fn force_release(pool: &Pool, key: &str) -> Result<bool> {
    pool.run(|c| async move {
        let st = c.stmt(Stmt::ForceRelease).await?;
        c.client.query_one(st, &[&key]).await.map(|r| r.get(0))
    })
    .await
}

type Row = (String, Mode, u64, String, u64);

async fn rows(pool: &Pool, s: Stmt, arg: &str) -> Result<Vec<Row>> {
    pool.run(|c| async move {
        let st = c.stmt(s).await?;
        let rows = c.client.query(st, &[&arg]).await?;
        Ok(rows
            .iter()
            .map(|r| {
                (r.get(0), mode_of(r.get(1)), r.get::<_, i64>(2) as u64, r.get(3), r.get::<_, i64>(4) as u64)
            })
            .collect())
    })
    .await
}

pub(crate) async fn inspect(pool: &Pool, key: &str) -> Result<Option<LeaseInfo>> {
    let rows = rows(pool, Stmt::Inspect, key).await?;
    Ok(summarize(rows.iter().map(|r| (r.1, r.2, r.3.as_str(), r.4))))
}

pub(crate) async fn list(pool: &Pool, prefix: &str) -> Result<Vec<(String, LeaseInfo)>> {
    let rows = rows(pool, Stmt::List, prefix).await?;
    let mut out = Vec::new();
    for chunk in rows.chunk_by(|a, b| a.0 == b.0) {
        if let Some(info) = summarize(chunk.iter().map(|r| (r.1, r.2, r.3.as_str(), r.4))) {
            out.push((chunk[0].0.clone(), info));
        }
    }
    Ok(out)
}

/// What a release needs to hand the lock to a queued waiter: its owner,
/// holder and ttl, and the channel its provider listens on.
pub(crate) struct Handed<'a> {
    pub owner: &'a [u8; 16],
    pub holder: &'a str,
    pub ttl_ms: u64,
    pub channel: &'a str,
}

pub(crate) async fn enqueue(pool: &Pool, key: &str, mode: Mode, handed: Option<Handed<'_>>) -> Result<u64> {
    let owner = handed.as_ref().map(|h| &h.owner[..]);
    let holder = handed.as_ref().map(|h| h.holder);
    let ttl = handed.as_ref().map(|h| h.ttl_ms as i64);
    let channel = handed.as_ref().map(|h| h.channel);
    pool.run(|c| async move {
        let st = c.stmt(Stmt::Enqueue).await?;
        c.client
            .query_one(st, &[&key, &mode_code(mode), &owner, &holder, &ttl, &channel])
            .await
            .map(|r| r.get::<_, i64>(0) as u64)
    })
    .await
}

/// Leave the queue; a lease handed to the waiter meanwhile (`owner`, if
/// known) is withdrawn and handed on.
pub(crate) async fn leave(pool: &Pool, key: &str, ticket: u64, owner: Option<&[u8; 16]>) -> Result<()> {
    let ticket = ticket as i64;
    let owner = owner.map(|o| &o[..]);
    pool.run(|c| async move {
        let st = c.stmt(Stmt::Leave).await?;
        c.client.execute(st, &[&ticket, &key, &owner]).await.map(drop)
    })
    .await
}
