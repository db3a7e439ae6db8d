//! The Lua scripts (`lua/*.lua`), the arguments each takes and the decoding
//! of their replies, independent of any Redis client: the native backend
//! runs them through the `redis` crate (conn.rs), and a WebAssembly build
//! can run the same scripts on the same keys through a JavaScript client.

use super::keys::Keys;
use crate::backend::contract::{Attempt, Lease, LeaseInfo, WAITER_STALE_AFTER};
use crate::clock::ttl_ms;
use crate::error::{Error, Result};
use crate::kinds::Mode;
use std::sync::OnceLock;
use std::time::Duration;

/// The channel every release notice is published on; the message is the key.
pub(crate) const CHANNEL: &str = "__ferrolock:released";
/// A lock handed to a queued waiter is announced on the channel of the
/// waiter's provider: this prefix, then the provider's id. The message is
/// the key, a newline, then `owner|fence|expires`.
pub(crate) const GRANT_PREFIX: &str = "__ferrolock:granted:";

/// One script of the backend.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Script {
    Take,
    Acquire,
    Release,
    ReleaseQuorum,
    Refresh,
    ForceRelease,
    Inspect,
    Enqueue,
    Leave,
}

impl Script {
    pub(crate) const ALL: [Script; 9] = [
        Script::Take,
        Script::Acquire,
        Script::Release,
        Script::ReleaseQuorum,
        Script::Refresh,
        Script::ForceRelease,
        Script::Inspect,
        Script::Enqueue,
        Script::Leave,
    ];

    /// The script's source, its `-- @include` lines replaced by the fragments they name.
    pub(crate) fn source(self) -> &'static str {
        static SOURCES: OnceLock<Vec<String>> = OnceLock::new();
        &SOURCES.get_or_init(|| Script::ALL.iter().map(|s| compose(s.file())).collect())[self as usize]
    }

    fn file(self) -> &'static str {
        match self {
            Script::Take => include_str!("lua/take.lua"),
            Script::Acquire => include_str!("lua/acquire.lua"),
            Script::Release => include_str!("lua/release.lua"),
            Script::ReleaseQuorum => include_str!("lua/release_quorum.lua"),
            Script::Refresh => include_str!("lua/refresh.lua"),
            Script::ForceRelease => include_str!("lua/force_release.lua"),
            Script::Inspect => include_str!("lua/inspect.lua"),
            Script::Enqueue => include_str!("lua/enqueue.lua"),
            Script::Leave => include_str!("lua/leave.lua"),
        }
    }
}

/// Replace each `-- @include NAME` line by the fragment `lua/NAME.lua`
/// (without its leading comment), recursively, and `@CHANNEL@` and
/// `@GRANT_PREFIX@` by the channels' names.
fn compose(source: &str) -> String {
    include(source).replace("@CHANNEL@", CHANNEL).replace("@GRANT_PREFIX@", GRANT_PREFIX)
}

fn include(source: &str) -> String {
    let mut out = String::with_capacity(source.len() * 2);
    for line in source.lines() {
        match line.trim().strip_prefix("-- @include ") {
            Some(name) => {
                let fragment = match name {
                    "attempt" => include_str!("lua/attempt.lua"),
                    "clock" => include_str!("lua/clock.lua"),
                    "drop_stale" => include_str!("lua/drop_stale.lua"),
                    "expiry" => include_str!("lua/expiry.lua"),
                    "handoff" => include_str!("lua/handoff.lua"),
                    "now" => include_str!("lua/now.lua"),
                    other => panic!("lua: no fragment {other:?}"),
                };
                let body: String = fragment
                    .lines()
                    .skip_while(|l| l.starts_with("--") && !l.starts_with("-- @include"))
                    .map(|l| format!("{l}\n"))
                    .collect();
                out.push_str(&include(&body));
            }
            None => {
                out.push_str(line);
                out.push('\n');
            }
        }
    }
    out
}

/// One script call: the script, its keys and its arguments.
#[derive(Debug)]
pub(crate) struct Call<'a> {
    pub script: Script,
    pub keys: Vec<&'a str>,
    pub args: Vec<Vec<u8>>,
}

impl Call<'_> {
    /// The same call, owning its keys: for a call that outlives them
    /// (finished in the background).
    pub(crate) fn owned(&self) -> std::sync::Arc<OwnedCall> {
        std::sync::Arc::new(OwnedCall {
            script: self.script,
            keys: self.keys.iter().map(|k| k.to_string()).collect(),
            args: self.args.clone(),
        })
    }
}

/// A [`Call`] that owns its keys.
#[derive(Debug)]
pub(crate) struct OwnedCall {
    script: Script,
    keys: Vec<String>,
    args: Vec<Vec<u8>>,
}

impl OwnedCall {
    pub(crate) fn call(&self) -> Call<'_> {
        Call { script: self.script, keys: self.keys.iter().map(String::as_str).collect(), args: self.args.clone() }
    }
}

/// An acquire attempt as the acquire script takes it.
pub(crate) struct AcquireArgs<'a> {
    pub owner: &'a [u8; 16],
    pub mode: Mode,
    pub ttl_ms: u64,
    pub holder: &'a str,
    /// The waiter's ticket, if it has one.
    pub ticket: Option<u64>,
    /// Without a ticket: join the queue if the lock is busy (the caller
    /// will wait), in the same round trip.
    pub join: bool,
    /// The provider's id: the suffix of its grant channel.
    pub provider: &'a str,
}

fn opt(n: Option<u64>) -> Vec<u8> {
    n.map(|n| n.to_string().into_bytes()).unwrap_or_default()
}

fn num(n: u64) -> Vec<u8> {
    n.to_string().into_bytes()
}

/// An attempt: a first one (no ticket) is the lean `take` script, which
/// needs no clock when the lock is free and nobody queues (and joins the
/// queue if the lock is busy, with `join`); a waiter's is `acquire`.
pub(crate) fn acquire<'a>(keys: &'a Keys, a: &AcquireArgs<'_>) -> Call<'a> {
    let mut args = vec![hex(a.owner).to_vec(), mode_arg(a.mode).to_vec(), num(a.ttl_ms), a.holder.as_bytes().to_vec()];
    let mut keys_of = vec![&*keys.lock, &*keys.fence, &*keys.queue, &*keys.beat, &*keys.wait];
    let (script, ticket) = match a.ticket {
        None if !a.join => return Call { script: Script::Take, keys: keys_of, args },
        None => {
            // Joining: the ticket comes from the queue's sequence.
            keys_of.push(&keys.seq);
            (Script::Take, b"new".to_vec())
        }
        Some(t) => (Script::Acquire, num(t)),
    };
    args.extend([ticket, num(ttl_ms(WAITER_STALE_AFTER)), a.provider.as_bytes().to_vec()]);
    Call { script, keys: keys_of, args }
}

/// Release on one server or a cluster (hands off to the queue), or on one
/// server of a quorum (`min_fence`: raise its fence counter to the quorum's).
pub(crate) fn release<'a>(keys: &'a Keys, owner: &[u8; 16], quorum: Option<Option<u64>>) -> Call<'a> {
    match quorum {
        Some(min_fence) => Call {
            script: Script::ReleaseQuorum,
            keys: vec![&keys.lock, &keys.fence],
            args: vec![hex(owner).to_vec(), opt(min_fence)],
        },
        None => Call {
            script: Script::Release,
            keys: vec![&keys.lock, &keys.fence, &keys.queue, &keys.beat, &keys.wait],
            args: vec![hex(owner).to_vec()],
        },
    }
}

pub(crate) fn refresh<'a>(keys: &'a Keys, owner: &[u8; 16], ttl: Duration, min_fence: Option<u64>) -> Call<'a> {
    Call {
        script: Script::Refresh,
        keys: vec![&keys.lock, &keys.fence],
        args: vec![hex(owner).to_vec(), num(ttl_ms(ttl)), opt(min_fence)],
    }
}

pub(crate) fn force_release(key: &str) -> Call<'_> {
    Call { script: Script::ForceRelease, keys: vec![key], args: vec![] }
}

pub(crate) fn inspect(key: &str) -> Call<'_> {
    Call { script: Script::Inspect, keys: vec![key], args: vec![] }
}

pub(crate) fn enqueue(keys: &Keys, mode: Mode) -> Call<'_> {
    Call {
        script: Script::Enqueue,
        keys: vec![&keys.queue, &keys.beat, &keys.seq],
        args: vec![mode_arg(mode).to_vec(), num(ttl_ms(WAITER_STALE_AFTER))],
    }
}

/// Leave the queue; with the owner, a lease handed to it meanwhile is withdrawn.
pub(crate) fn leave<'a>(keys: &'a Keys, ticket: u64, owner: Option<&[u8; 16]>) -> Call<'a> {
    Call {
        script: Script::Leave,
        keys: vec![&keys.lock, &keys.fence, &keys.queue, &keys.beat, &keys.wait],
        args: vec![num(ticket), owner.map(|o| hex(o).to_vec()).unwrap_or_default()],
    }
}

/// The take or acquire script's reply: the attempt, and the ticket if it
/// joined the queue. `expires_at_ms`: the lease's end on this machine's
/// clock when the reply leaves it to the caller (its ttl from the moment
/// the attempt was sent: never later than the server's).
pub(crate) fn parse_attempt(r: &[i64], expires_at_ms: u64) -> Result<(Attempt, Option<u64>)> {
    Ok(match r {
        [1, fence] => (Attempt::Granted(Lease { fence: *fence as u64, expires_at_ms, proof: Vec::new() }), None),
        [1, fence, expires, rest @ ..] if rest.len() <= 1 => (
            Attempt::Granted(Lease { fence: *fence as u64, expires_at_ms: *expires as u64, proof: Vec::new() }),
            rest.first().map(|t| *t as u64),
        ),
        [0, retry, rest @ ..] if rest.len() <= 1 => (
            Attempt::Busy { retry_in: (*retry >= 0).then(|| Duration::from_millis(*retry as u64)) },
            rest.first().map(|t| *t as u64),
        ),
        other => return Err(Error::Internal(format!("unexpected acquire reply {other:?}"))),
    })
}

pub(crate) use crate::backend::waiters::parse_grant;

/// The inspect script's reply (the server's time, then the hash's fields
/// and values): the live leases, their expiry on this machine's clock.
pub(crate) fn parse_inspect(r: &[String], local_now_ms: u64) -> Option<LeaseInfo> {
    let now: u64 = r.first().and_then(|n| n.parse().ok()).unwrap_or(local_now_ms);
    let leases: Vec<_> = r
        .get(1..)
        .unwrap_or_default()
        .chunks(2)
        .filter_map(|c| c.get(1).and_then(|v| parse_lease(v)))
        .filter(|l| l.2 > now)
        .collect();
    // Expiry as this machine's clock sees it: the server's remaining time from now.
    crate::backend::contract::summarize(leases.iter().map(|(m, f, e, h)| (*m, *f, *h, local_now_ms + (e - now))))
}

/// One hash value `mode|fence|expires|holder`.
fn parse_lease(v: &str) -> Option<(Mode, u64, u64, &str)> {
    let mut it = v.splitn(4, '|');
    let mode = if it.next()? == "s" { Mode::Shared } else { Mode::Exclusive };
    let fence = it.next()?.parse().ok()?;
    let expires = it.next()?.parse().ok()?;
    Some((mode, fence, expires, it.next()?))
}

fn hex(owner: &[u8; 16]) -> [u8; 32] {
    const DIGITS: &[u8] = b"0123456789abcdef";
    let mut out = [0u8; 32];
    for (i, b) in owner.iter().enumerate() {
        out[2 * i] = DIGITS[(b >> 4) as usize];
        out[2 * i + 1] = DIGITS[(b & 15) as usize];
    }
    out
}

fn mode_arg(m: Mode) -> &'static [u8] {
    match m {
        Mode::Exclusive => b"x",
        Mode::Shared => b"s",
    }
}

/// Escape a glob pattern's special characters (for `SCAN MATCH`).
pub(crate) fn glob_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        if matches!(c, '*' | '?' | '[' | ']' | '\\') {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn includes_are_resolved() {
        for s in Script::ALL {
            assert!(!s.source().contains("@include"), "{s:?}");
        }
        assert!(Script::Release.source().contains("ZRANGEBYSCORE")); // handoff, then drop_stale inside it
        assert!(Script::Take.source().contains("local function expiry")); // attempt, then expiry inside it
        for s in Script::ALL {
            assert!(!s.source().contains('@'), "{s:?}: a placeholder left");
        }
        assert!(Script::Release.source().contains(&format!("'{GRANT_PREFIX}'")));
    }

    #[test]
    fn replies_parse() {
        assert_eq!(parse_lease("x|7|123|host:1|with|bars"), Some((Mode::Exclusive, 7, 123, "host:1|with|bars")));
        assert_eq!(glob_escape("a*b?[c]\\"), "a\\*b\\?\\[c\\]\\\\");
        assert!(matches!(parse_attempt(&[0, -1, 5], 0), Ok((Attempt::Busy { retry_in: None }, Some(5)))));
        assert!(matches!(parse_attempt(&[1, 9], 77), Ok((Attempt::Granted(Lease { fence: 9, expires_at_ms: 77, .. }), None))));
        assert!(matches!(parse_attempt(&[1, 9, 55], 77), Ok((Attempt::Granted(Lease { fence: 9, expires_at_ms: 55, .. }), None))));
        let info = parse_inspect(&["1000".into(), "o".into(), "s|4|1500|h".into()], 2000).unwrap();
        assert_eq!((info.fence, info.readers, info.expires_at_ms), (4, 1, 2500));
    }
}
