//! A provider's queued waiters, for the backends whose release hands the
//! lock straight to the head of the queue (Redis, PostgreSQL's lease mode):
//! the release writes the waiter's lease and announces it on the waiter's
//! provider's own channel (a grant message, [`parse_grant`]); the provider's
//! listener keeps it here and wakes the waiter, whose next attempt then
//! costs no round trip. An acquire that joined the queue keeps its reply
//! here the same way, and a request that found the lock busy leaves what
//! joining the queue needs ([`Busy`]).
//!
//! The WebAssembly build's runner backend uses [`parse_grant`] only (it
//! hands nothing to its own waiters yet).
#![cfg_attr(not(any(feature = "redis", feature = "postgres")), allow(dead_code))]

use crate::backend::contract::Lease;
use parking_lot::Mutex;
use std::collections::HashMap;
use std::time::Duration;

/// What joining the queue needs of a request that found the lock busy (the
/// engine's `enqueue` carries only the key, owner and mode): PostgreSQL's
/// lease mode joins apart; Redis joins with the first attempt.
#[cfg_attr(not(feature = "postgres"), allow(dead_code))]
pub(crate) struct Busy {
    pub key: String,
    pub ttl_ms: u64,
    pub holder: String,
}

/// A grant message: the key, a newline, `owner|fence|expires` (owner in
/// hex, expiry in ms since the epoch by the server's clock).
pub(crate) fn parse_grant(msg: &str) -> Option<(&str, [u8; 16], Lease)> {
    let (key, rest) = msg.rsplit_once('\n')?;
    let mut it = rest.splitn(3, '|');
    let owner_hex = it.next()?.as_bytes();
    if owner_hex.len() != 32 {
        return None;
    }
    let mut owner = [0u8; 16];
    for (i, pair) in owner_hex.chunks(2).enumerate() {
        owner[i] = u8::from_str_radix(std::str::from_utf8(pair).ok()?, 16).ok()?;
    }
    let fence = it.next()?.parse().ok()?;
    let expires_at_ms = it.next()?.parse().ok()?;
    Some((key, owner, Lease { fence, expires_at_ms, proof: Vec::new() }))
}

struct Waiter {
    key: String,
    ticket: u64,
    grant: Option<Lease>,
    /// Joined the queue by an attempt that found the lock busy: the
    /// engine's next attempt has nothing to learn and costs no round trip.
    fresh: Option<Option<Duration>>,
}

/// What a queued waiter's next attempt finds without asking the server.
pub(crate) enum Known {
    Granted(Lease),
    Busy(Option<Duration>),
}

#[derive(Default)]
pub(crate) struct Waiters {
    waiting: Mutex<HashMap<[u8; 16], Waiter>>,
    /// The latest requests that found a lock busy (bounded).
    #[cfg_attr(not(feature = "postgres"), allow(dead_code))]
    busy: Mutex<HashMap<[u8; 16], Busy>>,
}

impl Waiters {
    /// `owner`'s request found the lock busy: keep what joining needs.
    #[cfg_attr(not(feature = "postgres"), allow(dead_code))]
    pub(crate) fn found_busy(&self, owner: [u8; 16], b: Busy) {
        let mut busy = self.busy.lock();
        if busy.len() >= 256 {
            busy.clear();
        }
        busy.insert(owner, b);
    }

    /// What `owner`'s last busy request on `key` left, if any.
    #[cfg_attr(not(feature = "postgres"), allow(dead_code))]
    pub(crate) fn take_busy(&self, owner: &[u8; 16], key: &str) -> Option<Busy> {
        self.busy.lock().remove(owner).filter(|b| b.key == key)
    }

    /// `owner`'s ticket, known once the server answered its join (a grant
    /// that came before the answer is kept).
    pub(crate) fn ticket(&self, owner: [u8; 16], key: &str, ticket: u64) {
        let mut waiters = self.waiting.lock();
        let w = waiters.entry(owner).or_insert(Waiter { key: key.to_owned(), ticket, grant: None, fresh: None });
        w.ticket = ticket;
    }

    /// The server's reply to a join: its ticket, and what the attempt found
    /// (Redis joins with an attempt).
    #[cfg_attr(not(feature = "redis"), allow(dead_code))]
    pub(crate) fn joined(&self, owner: [u8; 16], key: &str, ticket: u64, found: Known) {
        let mut waiters = self.waiting.lock();
        let w = waiters.entry(owner).or_insert(Waiter { key: key.to_owned(), ticket, grant: None, fresh: None });
        w.ticket = ticket;
        match found {
            Known::Granted(lease) => w.grant = Some(lease),
            Known::Busy(retry_in) => w.fresh = Some(retry_in),
        }
    }

    /// A grant announced for `owner`: kept if it still waits for `key`.
    pub(crate) fn granted(&self, owner: &[u8; 16], key: &str, lease: Lease) -> bool {
        match self.waiting.lock().get_mut(owner) {
            Some(w) if w.key == key => {
                w.grant = Some(lease);
                true
            }
            _ => false,
        }
    }

    /// What `owner`'s next attempt already knows (a grant ends its wait).
    pub(crate) fn known(&self, owner: &[u8; 16]) -> Option<Known> {
        let mut waiters = self.waiting.lock();
        let w = waiters.get_mut(owner)?;
        if let Some(lease) = w.grant.take() {
            waiters.remove(owner);
            return Some(Known::Granted(lease));
        }
        w.fresh.take().map(Known::Busy)
    }

    /// A release notice for `key`: a waiter that joined the queue since its
    /// last attempt may not have heard it (it was not listening yet), so
    /// its next attempt asks the server instead of taking what it knows.
    #[cfg_attr(not(feature = "redis"), allow(dead_code))]
    pub(crate) fn notice(&self, key: &str) {
        for w in self.waiting.lock().values_mut() {
            if w.key == key {
                w.fresh = None;
            }
        }
    }

    pub(crate) fn remove(&self, owner: &[u8; 16]) {
        self.waiting.lock().remove(owner);
    }

    /// Forget the waiter holding `ticket` for `key`; its owner, if known.
    pub(crate) fn remove_ticket(&self, key: &str, ticket: u64) -> Option<[u8; 16]> {
        let mut waiters = self.waiting.lock();
        let owner = waiters.iter().find(|(_, w)| w.ticket == ticket && w.key == key).map(|(o, _)| *o)?;
        waiters.remove(&owner);
        Some(owner)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn grants_parse() {
        let owner = [0xab; 16];
        let msg = format!("k\n{}|3|99", "ab".repeat(16));
        let (key, o, lease) = parse_grant(&msg).unwrap();
        assert_eq!((key, o, lease.fence, lease.expires_at_ms), ("k", owner, 3, 99));
        // A key may hold newlines: the last one ends it.
        let msg = format!("a\nb\n{}|4|5", "ab".repeat(16));
        assert_eq!(parse_grant(&msg).unwrap().0, "a\nb");
        assert!(parse_grant("k\nabc|1|2").is_none());
        assert!(parse_grant(&format!("k\n{}|x|2", "ab".repeat(16))).is_none());
    }

    #[test]
    fn a_grant_is_kept_for_its_waiter_only() {
        let w = Waiters::default();
        let lease = |fence| Lease { fence, expires_at_ms: 9, proof: Vec::new() };
        assert!(!w.granted(&[1; 16], "k", lease(1)), "nobody waits");
        w.ticket([1; 16], "k", 7);
        assert!(!w.granted(&[1; 16], "other", lease(1)), "waits for another key");
        assert!(w.granted(&[1; 16], "k", lease(2)));
        assert!(matches!(w.known(&[1; 16]), Some(Known::Granted(l)) if l.fence == 2));
        assert!(w.known(&[1; 16]).is_none(), "a grant ends the wait");
        w.found_busy([2; 16], Busy { key: "k".into(), ttl_ms: 5, holder: "h".into() });
        assert!(w.take_busy(&[2; 16], "j").is_none(), "another key's request");
        w.found_busy([2; 16], Busy { key: "k".into(), ttl_ms: 5, holder: "h".into() });
        assert_eq!(w.take_busy(&[2; 16], "k").map(|b| b.ttl_ms), Some(5));
    }
}
