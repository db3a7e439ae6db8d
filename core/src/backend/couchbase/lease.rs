//! `mode=lease`: one document per lock at `__lock:<ns>:<name>`, holding the
//! key's fence counter and its live leases (owner, mode, holder, expiry by
//! the clients' wall clocks). Every change is a read, then an insert or a
//! replace with the CAS read (retried when another writer came between),
//! so any ttl, refresh, handoff, shared locks, state and force-release
//! work. The document never expires: the fence survives restarts.

use super::conn::Conn;
use crate::backend::contract::{may_grant, summarize, AcquireRequest, Attempt, Lease, LeaseInfo};
use crate::clock::{now_ms, ttl_ms};
use crate::error::Result;
use crate::kinds::Mode;
use couchbase::error::ErrorKind;
use couchbase::options::kv_options::ReplaceOptions;
use serde::{Deserialize, Serialize};
use std::time::Duration;

/// How many times a change is tried when other writers keep changing the
/// document between its read and its write.
const CAS_TRIES: usize = 32;

#[derive(Serialize, Deserialize, Default, Debug)]
struct Doc {
    #[serde(default)]
    fence: u64,
    #[serde(default)]
    leases: Vec<Entry>,
}

#[derive(Serialize, Deserialize, Debug, Clone)]
struct Entry {
    /// The owner id, hex (the proof of ownership; never shown by state/list).
    owner: String,
    /// `x` exclusive, `s` shared.
    mode: String,
    holder: String,
    fence: u64,
    expires_at_ms: u64,
}

impl Entry {
    fn mode(&self) -> Mode {
        if self.mode == "s" {
            Mode::Shared
        } else {
            Mode::Exclusive
        }
    }
}

fn hex(owner: &[u8; 16]) -> String {
    owner.iter().map(|b| format!("{b:02x}")).collect()
}

/// The document and its CAS (`None`: there is none yet).
async fn read(c: &Conn, key: &str) -> Result<Option<(Doc, u64)>> {
    match c.call("get", c.collection.get(key, None)).await? {
        Ok(r) => {
            let doc = r
                .content_as::<Doc>()
                .map_err(|e| c.unexpected("the lease document", e.kind().clone()))?;
            Ok(Some((doc, r.cas())))
        }
        Err(ErrorKind::DocumentNotFound) => Ok(None),
        Err(k) => Err(c.unexpected("get", k)),
    }
}

/// Whether the write went through (`false`: another writer came first).
async fn write(c: &Conn, key: &str, doc: &Doc, cas: Option<u64>) -> Result<bool> {
    let done = match cas {
        None => c
            .call("insert", c.collection.insert(key, doc, None))
            .await?
            .map(drop),
        Some(cas) => c
            .call(
                "replace",
                c.collection
                    .replace(key, doc, ReplaceOptions::new().cas(cas)),
            )
            .await?
            .map(drop),
    };
    match done {
        Ok(()) => Ok(true),
        Err(ErrorKind::DocumentExists | ErrorKind::CasMismatch | ErrorKind::DocumentNotFound) => {
            Ok(false)
        }
        Err(k) => Err(c.unexpected("write of the lease document", k)),
    }
}

/// Read, change, write until the write goes through. `change` answers what
/// to return and whether to write.
async fn update<T>(
    c: &Conn,
    key: &str,
    mut change: impl FnMut(&mut Doc, u64) -> (T, bool),
) -> Result<Option<T>> {
    for _ in 0..CAS_TRIES {
        let (mut doc, cas) = match read(c, key).await? {
            Some((d, cas)) => (d, Some(cas)),
            None => (Doc::default(), None),
        };
        let now = now_ms();
        let (out, changed) = change(&mut doc, now);
        if !changed || write(c, key, &doc, cas).await? {
            return Ok(Some(out));
        }
    }
    Ok(None)
}

pub(crate) async fn try_acquire(c: &Conn, req: &AcquireRequest<'_>) -> Result<Attempt> {
    let ttl = ttl_ms(req.ttl);
    let owner = hex(req.owner);
    let outcome = update(c, req.key, |doc, now| {
        doc.leases.retain(|e| e.expires_at_ms > now);
        if !may_grant(
            req.mode,
            doc.leases.iter().map(Entry::mode),
            std::iter::empty(),
        ) {
            let until = doc
                .leases
                .iter()
                .map(|e| e.expires_at_ms)
                .min()
                .unwrap_or(now);
            return (
                Attempt::Busy {
                    retry_in: Some(Duration::from_millis(until.saturating_sub(now))),
                },
                false,
            );
        }
        doc.fence += 1;
        let expires_at_ms = now + ttl;
        doc.leases.push(Entry {
            owner: owner.clone(),
            mode: if req.mode == Mode::Shared { "s" } else { "x" }.to_owned(),
            holder: req.holder.to_string(),
            fence: doc.fence,
            expires_at_ms,
        });
        (
            Attempt::Granted(Lease {
                fence: doc.fence,
                expires_at_ms,
                proof: Vec::new(),
            }),
            true,
        )
    })
    .await?;
    Ok(outcome.unwrap_or(Attempt::Busy { retry_in: None }))
}

pub(crate) async fn release(c: &Conn, key: &str, owner: &[u8; 16]) -> Result<bool> {
    let owner = hex(owner);
    let out = update(c, key, |doc, now| {
        let before = doc.leases.len();
        let live = doc
            .leases
            .iter()
            .any(|e| e.owner == owner && e.expires_at_ms > now);
        doc.leases
            .retain(|e| e.owner != owner && e.expires_at_ms > now);
        (live, doc.leases.len() != before)
    })
    .await?;
    Ok(out.unwrap_or(false))
}

pub(crate) async fn refresh(
    c: &Conn,
    key: &str,
    owner: &[u8; 16],
    ttl: Duration,
) -> Result<Option<u64>> {
    let owner = hex(owner);
    let ttl = ttl_ms(ttl);
    let out = update(c, key, |doc, now| {
        match doc
            .leases
            .iter_mut()
            .find(|e| e.owner == owner && e.expires_at_ms > now)
        {
            Some(e) => {
                e.expires_at_ms = now + ttl;
                (Some(e.expires_at_ms), true)
            }
            None => (None, false),
        }
    })
    .await?;
    Ok(out.flatten())
}

pub(crate) async fn force_release(c: &Conn, key: &str) -> Result<bool> {
    let out = update(c, key, |doc, now| {
        let live = doc.leases.iter().any(|e| e.expires_at_ms > now);
        let changed = !doc.leases.is_empty();
        doc.leases.clear();
        (live, changed)
    })
    .await?;
    Ok(out.unwrap_or(false))
}

pub(crate) async fn inspect(c: &Conn, key: &str) -> Result<Option<LeaseInfo>> {
    let Some((doc, _)) = read(c, key).await? else {
        return Ok(None);
    };
    let now = now_ms();
    Ok(summarize(
        doc.leases
            .iter()
            .filter(|e| e.expires_at_ms > now)
            .map(|e| (e.mode(), e.fence, e.holder.as_str(), e.expires_at_ms)),
    ))
}
