//! The plain records a provider reports ([`LockState`], [`LockInfo`]); with
//! [`Capabilities`](crate::Capabilities), [`Event`](crate::Event) and
//! [`TokenInfo`](crate::token::TokenInfo) they are all a binding converts.

use crate::backend::LeaseInfo;
use crate::clock::now_ms;
use crate::kinds::Mode;
use std::time::Duration;

/// What [`Locks::state`](crate::Locks::state) finds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LockState {
    /// Nobody holds the lock.
    Free,
    /// Somebody holds it.
    Held {
        /// The fence of the (latest) acquisition.
        fence: u64,
        /// Exclusive, or shared by `readers` holders.
        mode: Mode,
        /// The holder label (of one reader, for a shared lock).
        holder: String,
        /// How long until the lease expires unless renewed.
        expires_in: Duration,
        /// How many hold it shared (0 for an exclusive lock).
        readers: u32,
    },
}

/// One active lock, as [`Locks::list`](crate::Locks::list) reports it. Never carries an owner id.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LockInfo {
    /// The lock's name (without the namespace).
    pub name: String,
    /// The fence of the (latest) acquisition.
    pub fence: u64,
    /// Exclusive or shared.
    pub mode: Mode,
    /// The holder label.
    pub holder: String,
    /// How long until the lease expires unless renewed.
    pub expires_in: Duration,
    /// How many hold it shared (0 for an exclusive lock).
    pub readers: u32,
}

fn expires_in(info: &LeaseInfo) -> Duration {
    Duration::from_millis(info.expires_at_ms.saturating_sub(now_ms()))
}

impl LockState {
    pub(crate) fn of(info: Option<LeaseInfo>) -> LockState {
        match info {
            None => LockState::Free,
            Some(i) => LockState::Held {
                fence: i.fence,
                mode: i.mode,
                expires_in: expires_in(&i),
                holder: i.holder,
                readers: i.readers,
            },
        }
    }
}

impl LockInfo {
    pub(crate) fn of(name: String, i: LeaseInfo) -> LockInfo {
        LockInfo { name, fence: i.fence, mode: i.mode, expires_in: expires_in(&i), holder: i.holder, readers: i.readers }
    }
}

