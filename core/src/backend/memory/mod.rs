//! `memory://[STORE]`: an in-process map, the reference the conformance suite
//! holds every other backend to. Providers of one process that name the same
//! store (the empty name by default) share its locks.

use crate::backend::contract::{
    may_grant, summarize, AcquireRequest, Attempt, Backend, Capabilities, Drive, Lease, LeaseInfo, LONGEST_TTL,
    WAITER_STALE_AFTER,
};
use crate::clock::ttl_ms;
use crate::error::Result;
use crate::kinds::Mode;
use parking_lot::Mutex;
use std::collections::HashMap;
use crate::clock::coarse_wall_ms;
use crate::notices::Notices;
use crate::url::{percent_decode, UrlParts};
use std::sync::{Arc, OnceLock, Weak};
use std::time::Duration;

struct Holder {
    owner: [u8; 16],
    mode: Mode,
    fence: u64,
    expires_at_ms: u64,
    label: Arc<str>,
}

struct Waiter {
    ticket: u64,
    mode: Mode,
    expires_at_ms: u64,
}

#[derive(Default)]
struct KeyState {
    fence: u64,
    holders: Vec<Holder>,
    waiters: Vec<Waiter>,
}

impl KeyState {
    fn purge(&mut self, now: u64) {
        self.holders.retain(|h| h.expires_at_ms > now);
        self.waiters.retain(|w| w.expires_at_ms > now);
    }
}

#[derive(Default)]
struct Store {
    // foldhash: a fast hash for an in-process map (SipHash's flood
    // resistance buys nothing here, and costs a sixth of a pair).
    keys: Mutex<HashMap<String, KeyState, foldhash::fast::RandomState>>,
    next_ticket: Mutex<u64>,
    /// The wake-ups of every provider on this store: its release notices.
    subscribers: Mutex<Vec<Weak<Notices>>>,
}

impl Store {
    fn freed(&self, key: &str) {
        self.subscribers.lock().retain(|n| match n.upgrade() {
            Some(n) => {
                n.freed(key);
                true
            }
            None => false,
        });
    }
}

pub(crate) struct MemoryBackend {
    store: Arc<Store>,
}

/// `memory://STORE`: the store's name (empty by default).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Target {
    store: String,
}

pub(crate) fn parse(url: &mut UrlParts) -> Result<Target> {
    let store = percent_decode(&url.body).ok_or_else(|| url.invalid("the store name is not valid percent-encoded UTF-8"))?;
    url.finish(&[])?;
    Ok(Target { store })
}

impl MemoryBackend {
    pub(crate) async fn open(target: &Target, notices: &Arc<Notices>) -> Result<Self> {
        static STORES: OnceLock<Mutex<HashMap<String, Arc<Store>>>> = OnceLock::new();
        let mut stores = STORES.get_or_init(Default::default).lock();
        let store = stores.entry(target.store.clone()).or_default().clone();
        store.subscribers.lock().push(Arc::downgrade(notices));
        Ok(MemoryBackend { store })
    }
}

impl Backend for MemoryBackend {
    const DRIVE: Drive = Drive::Inline;

    fn capabilities(&self) -> Capabilities {
        Capabilities { max_ttl: LONGEST_TTL, shared: true, handoff: true, queue: true, notices: true }
    }

    async fn try_acquire(&self, req: &AcquireRequest<'_>) -> Result<Attempt> {
        let now = coarse_wall_ms();
        let mut keys = self.store.keys.lock();
        let state = match keys.get_mut(req.key) {
            Some(s) => s,
            None => keys.entry(req.key.to_owned()).or_default(),
        };
        state.purge(now);
        if let Some(t) = req.ticket {
            // The attempt is also the waiter's heartbeat; an entry that went
            // stale is put back in its old place.
            let expires_at_ms = now + ttl_ms(WAITER_STALE_AFTER);
            match state.waiters.iter_mut().find(|w| w.ticket == t) {
                Some(w) => w.expires_at_ms = expires_at_ms,
                None => state.waiters.push(Waiter { ticket: t, mode: req.mode, expires_at_ms }),
            }
        }
        let ahead = state.waiters.iter().filter(|w| req.ticket.is_none_or(|t| w.ticket < t)).map(|w| w.mode);
        if !may_grant(req.mode, state.holders.iter().map(|h| h.mode), ahead) {
            let soonest = state.holders.iter().map(|h| h.expires_at_ms).min();
            return Ok(Attempt::Busy { retry_in: soonest.map(|e| Duration::from_millis(e.saturating_sub(now))) });
        }
        if let Some(t) = req.ticket {
            state.waiters.retain(|w| w.ticket != t);
        }
        state.fence += 1;
        let expires_at_ms = now + ttl_ms(req.ttl);
        state.holders.push(Holder {
            owner: *req.owner,
            mode: req.mode,
            fence: state.fence,
            expires_at_ms,
            label: req.holder.clone(),
        });
        Ok(Attempt::Granted(Lease { fence: state.fence, expires_at_ms, proof: Vec::new() }))
    }

    async fn release(&self, key: &str, owner: &[u8; 16], _proof: &[u8]) -> Result<bool> {
        let now = coarse_wall_ms();
        let mut keys = self.store.keys.lock();
        let Some(state) = keys.get_mut(key) else { return Ok(false) };
        let Some(i) = state.holders.iter().position(|h| &h.owner == owner) else { return Ok(false) };
        let h = state.holders.swap_remove(i);
        // Every waiter queues first, so with an empty queue nobody waits.
        let waiters = !state.waiters.is_empty();
        drop(keys);
        if waiters {
            self.store.freed(key);
        }
        Ok(h.expires_at_ms > now)
    }

    async fn refresh(&self, key: &str, owner: &[u8; 16], _proof: &[u8], ttl: Duration) -> Result<Option<u64>> {
        let now = coarse_wall_ms();
        let mut keys = self.store.keys.lock();
        let Some(state) = keys.get_mut(key) else { return Ok(None) };
        match state.holders.iter_mut().find(|h| &h.owner == owner && h.expires_at_ms > now) {
            Some(h) => {
                h.expires_at_ms = now + ttl_ms(ttl);
                Ok(Some(h.expires_at_ms))
            }
            None => Ok(None),
        }
    }

    async fn force_release(&self, key: &str) -> Result<bool> {
        let now = coarse_wall_ms();
        let mut keys = self.store.keys.lock();
        let Some(state) = keys.get_mut(key) else { return Ok(false) };
        state.purge(now);
        let had = !state.holders.is_empty();
        state.holders.clear();
        drop(keys);
        self.store.freed(key);
        Ok(had)
    }

    async fn inspect(&self, key: &str) -> Result<Option<LeaseInfo>> {
        let now = coarse_wall_ms();
        let keys = self.store.keys.lock();
        Ok(keys.get(key).and_then(|s| live(s, now)))
    }

    async fn list(&self, prefix: &str) -> Result<Vec<(String, LeaseInfo)>> {
        let now = coarse_wall_ms();
        let keys = self.store.keys.lock();
        let mut out: Vec<_> = keys
            .iter()
            .filter(|(k, _)| k.starts_with(prefix))
            .filter_map(|(k, s)| live(s, now).map(|i| (k.clone(), i)))
            .collect();
        out.sort_by(|a, b| a.0.cmp(&b.0));
        Ok(out)
    }

    async fn enqueue(&self, key: &str, _owner: &[u8; 16], mode: Mode) -> Result<u64> {
        let ticket = {
            let mut t = self.store.next_ticket.lock();
            *t += 1;
            *t
        };
        let mut keys = self.store.keys.lock();
        let state = keys.entry(key.to_owned()).or_default();
        state.waiters.push(Waiter { ticket, mode, expires_at_ms: coarse_wall_ms() + ttl_ms(WAITER_STALE_AFTER) });
        Ok(ticket)
    }

    async fn leave(&self, key: &str, ticket: u64) -> Result<()> {
        if let Some(state) = self.store.keys.lock().get_mut(key) {
            state.waiters.retain(|w| w.ticket != ticket);
        }
        self.store.freed(key);
        Ok(())
    }

    async fn ping(&self) -> Result<()> {
        Ok(())
    }

    fn close(&self) {}
}

fn live(s: &KeyState, now: u64) -> Option<LeaseInfo> {
    summarize(
        s.holders
            .iter()
            .filter(|h| h.expires_at_ms > now)
            .map(|h| (h.mode, h.fence, &*h.label, h.expires_at_ms)),
    )
}
