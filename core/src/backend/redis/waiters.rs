//! This provider's queued waiters: a release may hand one the lock
//! (announced on the provider's grant channel, listen.rs), and an acquire
//! that joined the queue keeps its reply here for the engine's next attempt.

use crate::backend::contract::Lease;
use parking_lot::Mutex;
use std::collections::HashMap;
use std::time::Duration;

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
pub(crate) struct Waiters(Mutex<HashMap<[u8; 16], Waiter>>);

impl Waiters {
    /// `owner` waits for `key` (ticket 0 until the server gave one).
    pub(crate) fn insert(&self, owner: [u8; 16], key: &str, ticket: u64) {
        self.0.lock().insert(owner, Waiter { key: key.to_owned(), ticket, grant: None, fresh: None });
    }

    /// The server's reply to a join: its ticket, and what the attempt found.
    pub(crate) fn joined(&self, owner: [u8; 16], key: &str, ticket: u64, found: Known) {
        let mut waiters = self.0.lock();
        let w = waiters.entry(owner).or_insert(Waiter { key: key.to_owned(), ticket, grant: None, fresh: None });
        w.ticket = ticket;
        match found {
            Known::Granted(lease) => w.grant = Some(lease),
            Known::Busy(retry_in) => w.fresh = Some(retry_in),
        }
    }

    /// A grant announced for `owner`: kept if it still waits for `key`.
    pub(crate) fn granted(&self, owner: &[u8; 16], key: &str, lease: Lease) -> bool {
        match self.0.lock().get_mut(owner) {
            Some(w) if w.key == key => {
                w.grant = Some(lease);
                true
            }
            _ => false,
        }
    }

    /// What `owner`'s next attempt already knows (a grant ends its wait).
    pub(crate) fn known(&self, owner: &[u8; 16]) -> Option<Known> {
        let mut waiters = self.0.lock();
        let w = waiters.get_mut(owner)?;
        if let Some(lease) = w.grant.take() {
            waiters.remove(owner);
            return Some(Known::Granted(lease));
        }
        w.fresh.take().map(Known::Busy)
    }

    pub(crate) fn remove(&self, owner: &[u8; 16]) {
        self.0.lock().remove(owner);
    }

    /// Forget the waiter holding `ticket` for `key`; its owner, if known.
    pub(crate) fn remove_ticket(&self, key: &str, ticket: u64) -> Option<[u8; 16]> {
        let mut waiters = self.0.lock();
        let owner = waiters.iter().find(|(_, w)| w.ticket == ticket && w.key == key).map(|(o, _)| *o)?;
        waiters.remove(&owner);
        Some(owner)
    }
}
