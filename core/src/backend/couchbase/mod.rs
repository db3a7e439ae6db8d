//! `couchbase://` and `couchbases://`: Couchbase, in one of two modes
//! (`mode=` in the URL).
//!
//! - `getl` (the default): BoxLang's CouchbaseLock and Couchbase's
//!   get-and-lock: the lock document locked for whole seconds (1-30), its
//!   CAS the proof. No refresh, no force-release, no shared locks.
//! - `lease`: a lease document changed with insert and replace-with-CAS:
//!   any ttl, refresh and renewal, handoff, shared locks, force-release.
//!
//! Neither has a release notice or a wait queue: waiters poll with the
//! engine's backoff. docs/backends/couchbase.md lists the documents and the
//! calls of each operation. By concern: `url` (its URL), `conn` (the SDK's
//! cluster, retry strategy, timeouts), `getl` and `lease` (the two modes).

mod conn;
mod getl;
mod lease;
mod url;

pub(crate) use url::{parse, CouchbaseTarget as Target};

use crate::backend::contract::{
    unsupported, AcquireRequest, Attempt, Backend, Capabilities, Drive, LeaseInfo, LONGEST_TTL,
};
use crate::error::Result;
use crate::kinds::Mode;
use crate::notices::Notices;
use conn::Conn;
use couchbase::error::ErrorKind;
use std::sync::Arc;
use std::time::Duration;
use url::CbMode;

/// Couchbase document keys are at most 250 bytes; the longest companion
/// prefix (`holder:`) takes 7 of them.
const MAX_KEY: usize = 243;

/// The getl mode's fence counter of a lock document.
pub(crate) fn fence_key(lock: &str) -> String {
    format!("fence:{lock}")
}

/// The getl mode's holder document of a lock document.
pub(crate) fn holder_key(lock: &str) -> String {
    format!("holder:{lock}")
}

/// The document key of a lock: its key `__lock:<namespace>:<name>` as it
/// is (what BoxLang users find) when it fits Couchbase's 250 bytes with the
/// companion prefix, else its first 200 bytes, `~` and 32 hex digits of its
/// SHA-256 (names may have 512 bytes).
fn doc_key(key: &str) -> std::borrow::Cow<'_, str> {
    use sha2::Digest;
    if key.len() <= MAX_KEY {
        return key.into();
    }
    let mut cut = 200;
    while !key.is_char_boundary(cut) {
        cut -= 1;
    }
    let digest = sha2::Sha256::digest(key.as_bytes());
    let hex: String = digest[..16].iter().map(|b| format!("{b:02x}")).collect();
    format!("{}~{hex}", &key[..cut]).into()
}

pub(crate) struct CouchbaseBackend {
    conn: Conn,
    mode: CbMode,
}

impl CouchbaseBackend {
    pub(crate) async fn open(target: &Target, _notices: &Arc<Notices>) -> Result<Self> {
        Ok(CouchbaseBackend {
            conn: Conn::open(target).await?,
            mode: target.mode,
        })
    }
}

impl Backend for CouchbaseBackend {
    const DRIVE: Drive = Drive::Io;

    fn capabilities(&self) -> Capabilities {
        match self.mode {
            // A get-and-lock lock is exclusive and lasts at most 30 s.
            CbMode::Getl => Capabilities {
                max_ttl: getl::MAX_LOCK_TIME,
                shared: false,
                handoff: true,
                queue: false,
                notices: false,
            },
            CbMode::Lease => Capabilities {
                max_ttl: LONGEST_TTL,
                shared: true,
                handoff: true,
                queue: false,
                notices: false,
            },
        }
    }

    fn refresh_unsupported(&self) -> Option<&'static str> {
        match self.mode {
            CbMode::Getl => Some("refresh in mode=getl: a get-and-lock lock cannot be extended (it lapses at its ttl, at most 30 s; mode=lease can refresh and renew)"),
            CbMode::Lease => None,
        }
    }

    async fn try_acquire(&self, req: &AcquireRequest<'_>) -> Result<Attempt> {
        let key = doc_key(req.key);
        let req = &AcquireRequest { key: &key, ..*req };
        match self.mode {
            CbMode::Getl => getl::try_acquire(&self.conn, req).await,
            CbMode::Lease => lease::try_acquire(&self.conn, req).await,
        }
    }

    async fn release(&self, key: &str, owner: &[u8; 16], proof: &[u8]) -> Result<bool> {
        let key = &*doc_key(key);
        match self.mode {
            CbMode::Getl => getl::release(&self.conn, key, proof).await,
            CbMode::Lease => lease::release(&self.conn, key, owner).await,
        }
    }

    /// In mode=getl only `resume` calls this (the engine refuses refresh
    /// and renews nothing there): it checks the CAS, extending nothing.
    async fn refresh(
        &self,
        key: &str,
        owner: &[u8; 16],
        proof: &[u8],
        ttl: Duration,
    ) -> Result<Option<u64>> {
        let key = &*doc_key(key);
        match self.mode {
            CbMode::Getl => getl::check(&self.conn, key, proof).await,
            CbMode::Lease => lease::refresh(&self.conn, key, owner, ttl).await,
        }
    }

    async fn force_release(&self, key: &str) -> Result<bool> {
        let key = &*doc_key(key);
        match self.mode {
            CbMode::Getl => Err(getl::force_release_unsupported()),
            CbMode::Lease => lease::force_release(&self.conn, key).await,
        }
    }

    async fn inspect(&self, key: &str) -> Result<Option<LeaseInfo>> {
        let key = &*doc_key(key);
        match self.mode {
            CbMode::Getl => getl::inspect(&self.conn, key).await,
            CbMode::Lease => lease::inspect(&self.conn, key).await,
        }
    }

    async fn list(&self, _prefix: &str) -> Result<Vec<(String, LeaseInfo)>> {
        Err(unsupported(
            "couchbase",
            "list: it needs the query service (BoxLang's SELECT … WHERE META().id LIKE '__lock:%'), which this backend does not use yet (gocaves, the mock, has none)",
        ))
    }

    async fn enqueue(&self, _key: &str, _owner: &[u8; 16], _mode: Mode) -> Result<u64> {
        Err(unsupported("couchbase", "wait queues"))
    }

    async fn leave(&self, _key: &str, _ticket: u64) -> Result<()> {
        Ok(())
    }

    async fn ping(&self) -> Result<()> {
        let c = &self.conn;
        match c
            .call("get", c.collection.get("__ferrolock:ping", None))
            .await?
        {
            Ok(_) | Err(ErrorKind::DocumentNotFound) => Ok(()),
            Err(k) => Err(c.unexpected("ping", k)),
        }
    }

    fn close(&self) {}
}
