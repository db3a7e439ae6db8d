//! `bypass=true`: every lock is granted without touching the backend (for
//! tests, as BoxLang's CouchbaseLock offers). Fences are 0 ("none").

use crate::backend::contract::{AcquireRequest, Attempt, Backend, Capabilities, Drive, Lease, LeaseInfo, LONGEST_TTL};
use crate::clock::{now_ms, ttl_ms};
use crate::error::Result;
use crate::kinds::Mode;
use std::time::Duration;

#[derive(Default)]
pub(crate) struct BypassBackend;

impl Backend for BypassBackend {
    const DRIVE: Drive = Drive::Inline;

    fn capabilities(&self) -> Capabilities {
        Capabilities { max_ttl: LONGEST_TTL, shared: true, handoff: true, queue: false, notices: false }
    }
    async fn try_acquire(&self, req: &AcquireRequest<'_>) -> Result<Attempt> {
        Ok(Attempt::Granted(Lease { fence: 0, expires_at_ms: now_ms() + ttl_ms(req.ttl), proof: Vec::new() }))
    }
    async fn release(&self, _key: &str, _owner: &[u8; 16], _proof: &[u8]) -> Result<bool> {
        Ok(true)
    }
    async fn refresh(&self, _key: &str, _owner: &[u8; 16], _proof: &[u8], ttl: Duration) -> Result<Option<u64>> {
        Ok(Some(now_ms() + ttl_ms(ttl)))
    }
    async fn force_release(&self, _key: &str) -> Result<bool> {
        Ok(false)
    }
    async fn inspect(&self, _key: &str) -> Result<Option<LeaseInfo>> {
        Ok(None)
    }
    async fn list(&self, _prefix: &str) -> Result<Vec<(String, LeaseInfo)>> {
        Ok(Vec::new())
    }
    async fn enqueue(&self, _key: &str, _owner: &[u8; 16], _mode: Mode) -> Result<u64> {
        Err(crate::backend::contract::unsupported("bypass", "wait queues"))
    }
    async fn leave(&self, _key: &str, _ticket: u64) -> Result<()> {
        Ok(())
    }
    async fn ping(&self) -> Result<()> {
        Ok(())
    }
    fn close(&self) {}
}
