//! `mode=getl`: BoxLang's CouchbaseLock. The lock document `__lock:<ns>:<name>`
//! (created on first use) is locked with get-and-lock; the CAS that returns
//! is the proof, kept in the held lock and its token, and the only thing
//! that unlocks it. Two companions: `fence:<lock>`, a counter incremented
//! after each get-and-lock (it never expires, so fences survive restarts),
//! and `holder:<lock>`, the holder label, expiry and CAS of the current
//! lock (expiring with it), which `state` shows and `resume` checks.
//!
//! A get-and-lock lock cannot be extended, nor unlocked without its CAS:
//! refresh and force-release are `Unsupported`, and a lock lapses at its ttl.

use super::conn::Conn;
use super::{fence_key, holder_key};
use crate::backend::contract::{unsupported, AcquireRequest, Attempt, Lease, LeaseInfo};
use crate::clock::now_ms;
use crate::error::{Error, Result};
use crate::kinds::Mode;
use couchbase::error::ErrorKind;
use couchbase::options::kv_binary_options::IncrementOptions;
use couchbase::options::kv_options::UpsertOptions;
use serde_json::json;
use std::time::Duration;

/// The longest get-and-lock time a server accepts.
pub(crate) const MAX_LOCK_TIME: Duration = Duration::from_secs(30);

/// The CAS a plain get reports for a locked document.
const LOCKED_CAS: u64 = u64::MAX;

fn cas_of(proof: &[u8]) -> Option<u64> {
    Some(u64::from_be_bytes(proof.try_into().ok()?))
}

/// The ttl as get-and-lock's whole seconds, 1 to 30.
fn lock_seconds(ttl: Duration) -> Result<u64> {
    if ttl.subsec_nanos() != 0 || ttl < Duration::from_secs(1) || ttl > MAX_LOCK_TIME {
        return Err(Error::invalid(format!(
            "ttl {} is not a whole number of seconds from 1 to 30: get-and-lock (couchbase mode=getl) locks a document for whole seconds, at most 30 s",
            crate::validate::show(ttl)
        )));
    }
    Ok(ttl.as_secs())
}

pub(crate) async fn try_acquire(c: &Conn, req: &AcquireRequest<'_>) -> Result<Attempt> {
    let secs = lock_seconds(req.ttl)?;
    let mut created = false;
    let cas = loop {
        match c
            .call(
                "get_and_lock",
                c.collection
                    .get_and_lock(req.key, Duration::from_secs(secs), None),
            )
            .await?
        {
            Ok(r) => break r.cas(),
            // A real server says LOCKED; gocaves and older servers TMPFAIL.
            Err(ErrorKind::DocumentLocked | ErrorKind::TemporaryFailure) => {
                return Ok(Attempt::Busy { retry_in: None })
            }
            Err(ErrorKind::DocumentNotFound) if !created => {
                created = true;
                match c
                    .call("insert", c.collection.insert(req.key, json!({}), None))
                    .await?
                {
                    Ok(_) | Err(ErrorKind::DocumentExists) => continue,
                    Err(k) => return Err(c.unexpected("insert of the lock document", k)),
                }
            }
            Err(k) => return Err(c.unexpected("get_and_lock", k)),
        }
    };
    let expires_at_ms = now_ms() + secs * 1000;
    let fence_doc = fence_key(req.key);
    let holder_doc = holder_key(req.key);
    let holder: &str = req.holder;
    let info = json!({"cas": cas.to_string(), "holder": holder, "expires_at_ms": expires_at_ms});
    let binary = c.collection.binary();
    let (fence, noted) = tokio::join!(
        c.call(
            "increment",
            binary.increment(&fence_doc, IncrementOptions::new().initial(1).delta(1))
        ),
        c.call(
            "upsert",
            c.collection.upsert(
                &holder_doc,
                info,
                UpsertOptions::new().expiry(Duration::from_secs(secs))
            )
        ),
    );
    let fence = match (fence, noted) {
        (Ok(Ok(f)), Ok(Ok(_))) => f.content(),
        (f, n) => {
            // Not granted after all: give the lock back.
            let _ = c
                .call("unlock", c.collection.unlock(req.key, cas, None))
                .await;
            let err = match (f, n) {
                (Err(e), _) | (_, Err(e)) => e,
                (Ok(Err(k)), _) => c.unexpected("increment of the fence counter", k),
                (_, Ok(Err(k))) => c.unexpected("upsert of the holder document", k),
                _ => unreachable!(),
            };
            return Err(err);
        }
    };
    Ok(Attempt::Granted(Lease {
        fence,
        expires_at_ms,
        proof: cas.to_be_bytes().to_vec(),
    }))
}

pub(crate) async fn release(c: &Conn, key: &str, proof: &[u8]) -> Result<bool> {
    let Some(cas) = cas_of(proof) else {
        return Ok(false);
    };
    match c
        .call("unlock", c.collection.unlock(key, cas, None))
        .await?
    {
        Ok(()) => Ok(true),
        // Lapsed, locked again by another CAS, or gone. (Unlocking a
        // document that is not locked is NOT_LOCKED on Server 7.6+,
        // TMPFAIL on gocaves and older servers.)
        Err(
            ErrorKind::CasMismatch
            | ErrorKind::DocumentNotLocked
            | ErrorKind::DocumentLocked
            | ErrorKind::TemporaryFailure
            | ErrorKind::DocumentNotFound,
        ) => Ok(false),
        Err(k) => Err(c.unexpected("unlock", k)),
    }
}

#[derive(serde::Deserialize)]
struct HolderDoc {
    cas: String,
    holder: String,
    expires_at_ms: u64,
}

/// The lock document is locked (a plain get shows no CAS then), and the
/// holder document of that lock.
async fn locked_holder(c: &Conn, key: &str) -> Result<Option<HolderDoc>> {
    let holder_doc = holder_key(key);
    let (lock, holder) = tokio::join!(
        c.call("get", c.collection.get(key, None)),
        c.call("get", c.collection.get(&holder_doc, None))
    );
    match lock? {
        Ok(r) if r.cas() == LOCKED_CAS => {}
        Ok(_) | Err(ErrorKind::DocumentNotFound) => return Ok(None),
        Err(k) => return Err(c.unexpected("get of the lock document", k)),
    }
    match holder? {
        Ok(r) => Ok(r.content_as::<HolderDoc>().ok()),
        Err(ErrorKind::DocumentNotFound) => Ok(None),
        Err(k) => Err(c.unexpected("get of the holder document", k)),
    }
}

/// What `resume` asks: whether the lock is still held with this CAS. It is
/// not extended (get-and-lock cannot be): the answer is its expiry.
pub(crate) async fn check(c: &Conn, key: &str, proof: &[u8]) -> Result<Option<u64>> {
    let Some(cas) = cas_of(proof) else {
        return Ok(None);
    };
    Ok(match locked_holder(c, key).await? {
        Some(h) if h.cas == cas.to_string() && h.expires_at_ms > now_ms() => Some(h.expires_at_ms),
        _ => None,
    })
}

pub(crate) async fn inspect(c: &Conn, key: &str) -> Result<Option<LeaseInfo>> {
    let fence_doc = fence_key(key);
    let (holder, fence) = tokio::join!(
        locked_holder(c, key),
        c.call("get", c.collection.get(&fence_doc, None))
    );
    let Some(h) = holder? else { return Ok(None) };
    let fence = match fence? {
        Ok(r) => std::str::from_utf8(r.content_as_raw().0)
            .ok()
            .and_then(|s| s.trim().parse().ok())
            .unwrap_or(0),
        Err(_) => 0,
    };
    Ok(Some(LeaseInfo {
        mode: Mode::Exclusive,
        fence,
        holder: h.holder,
        expires_at_ms: h.expires_at_ms,
        readers: 0,
    }))
}

pub(crate) fn force_release_unsupported() -> Error {
    unsupported(
        "couchbase",
        "force_release in mode=getl: a get-and-lock lock is unlocked only with its CAS, which its holder keeps (it lapses at its ttl; mode=lease can force-release)",
    )
}
