//! [`Servers`]: the servers a provider talks to, and the rule that a
//! majority of them must agree (Redlock-style). One server, or a cluster
//! reached through one connection, is the quorum of one.

use super::conn::{Conn, RESPONSE_TIMEOUT};
use super::keys::Keys;
use super::scripts::{self, AcquireArgs};
use super::url::RedisTopology;
use crate::backend::contract::{Attempt, Lease};
use crate::clock::{now_ms, ttl_ms};
use crate::error::{Cause, Error, Result};
use std::time::{Duration, Instant};

pub(crate) struct Servers {
    pub topology: RedisTopology,
    pub conns: Vec<Conn>,
    /// `host:port` of each connection, as the URL names it (a cluster's one
    /// connection: its seed nodes).
    pub addrs: Vec<String>,
    /// Replaced by `***` in every error.
    pub password: Option<String>,
}

impl Servers {
    /// Where the servers are, for a message: `h:6379`, `h1:1, h2:2, h3:3`.
    fn place(&self) -> String {
        self.addrs.join(", ")
    }

    /// A backend error of the whole connection (one server, or a cluster),
    /// naming where it is; password redacted.
    pub(crate) fn error(&self, e: impl std::fmt::Display) -> Error {
        self.error_of(&[(self.place(), e.to_string())], None)
    }

    /// An error of server `i` (of a quorum), for [`error_of`](Self::error_of).
    fn at(&self, i: usize, e: impl std::fmt::Display) -> (String, String) {
        (self.addrs.get(i).cloned().unwrap_or_else(|| self.place()), e.to_string())
    }

    /// The error of failed servers, each `(host:port, its error)`; `summary`
    /// says how many answered, on a quorum. A refused password is not a
    /// passing failure: `INVALID_ARGUMENT` (exit 64), saying that retrying
    /// will not help; anything else is `BACKEND_UNAVAILABLE`.
    fn error_of(&self, failed: &[(String, String)], summary: Option<String>) -> Error {
        let redact = |m: &str| match &self.password {
            Some(p) => m.replace(p.as_str(), "***"),
            None => m.to_owned(),
        };
        for (addr, e) in failed {
            if let Some(why) = refused_credentials(e) {
                return Error::invalid(format!(
                    "Redis at {addr} {why}; retrying will not help: fix the user name or password in the URL"
                ));
            }
        }
        let each = failed.iter().map(|(addr, e)| format!("{addr}: {}", redact(e))).collect::<Vec<_>>().join("; ");
        let message = match summary {
            Some(s) => format!("{s} ({each})"),
            None => each,
        };
        Error::Unavailable { backend: "redis", cause: Some(Cause(message.clone())), message }
    }

    pub(crate) fn majority(&self) -> usize {
        self.conns.len() / 2 + 1
    }

    pub(crate) fn is_quorum(&self) -> bool {
        self.topology == RedisTopology::Quorum
    }

    /// How long one server of a quorum may take to answer an attempt.
    fn quorum_timeout(ttl: Duration) -> Duration {
        (ttl / 10).clamp(Duration::from_millis(50), Duration::from_secs(1))
    }

    /// One attempt: on the one server (or cluster), the acquire script's
    /// reply (with the ticket when it joined the queue); on a quorum, a
    /// majority must grant within the lease's validity.
    pub(crate) async fn try_acquire(&self, keys: &Keys, a: &AcquireArgs<'_>) -> Result<(Attempt, Option<u64>)> {
        if !self.is_quorum() {
            let r: Vec<i64> = self.conns[0].call(&scripts::acquire(keys, a)).await.map_err(|e| self.error(e))?;
            return scripts::parse_attempt(&r);
        }
        let start = Instant::now();
        let ttl = Duration::from_millis(a.ttl_ms);
        let limit = Self::quorum_timeout(ttl);
        let call = scripts::acquire(keys, a);
        let replies = futures_util::future::join_all(
            self.conns.iter().map(|c| tokio::time::timeout(limit, c.call::<Vec<i64>>(&call))),
        )
        .await;
        let (mut granted, mut errors, mut retry) = (Vec::new(), Vec::new(), None::<i64>);
        for (i, reply) in replies.into_iter().enumerate() {
            match reply {
                Ok(Ok(v)) if v.first() == Some(&1) && v.len() == 3 => granted.push((i, v[1] as u64)),
                Ok(Ok(v)) if v.len() == 2 && v[1] >= 0 => retry = Some(retry.map_or(v[1], |r| r.min(v[1]))),
                Ok(Ok(_)) => {}
                Ok(Err(e)) => errors.push(self.at(i, e)),
                Err(_) => errors.push(self.at(i, format_args!("no answer within {limit:?}"))),
            }
        }
        let drift = ttl / 100 + Duration::from_millis(2);
        let validity = ttl.checked_sub(start.elapsed() + drift);
        let fence = granted.iter().map(|g| g.1).max().unwrap_or(0);
        if granted.len() >= self.majority() && validity.is_some() {
            let lease = Lease {
                fence,
                expires_at_ms: now_ms() + ttl_ms(validity.unwrap_or_default()),
                proof: fence.to_be_bytes().to_vec(),
            };
            return Ok((Attempt::Granted(lease), None));
        }
        // No quorum: give back what was granted, so nobody is held up.
        let give_back = scripts::release(keys, a.owner, Some(Some(fence)));
        let give_back = granted.iter().map(|(i, _)| self.conns[*i].call::<i64>(&give_back));
        let _ = tokio::time::timeout(limit, futures_util::future::join_all(give_back)).await;
        if errors.len() > self.conns.len() - self.majority() {
            let summary = format!("only {} of {} servers answered", self.conns.len() - errors.len(), self.conns.len());
            return Err(self.error_of(&errors, Some(summary)));
        }
        Ok((Attempt::Busy { retry_in: retry.map(|r| Duration::from_millis(r as u64)) }, None))
    }

    /// Run `call` on every server, each bounded by the response timeout.
    pub(crate) async fn on_all(&self, call: &scripts::Call<'_>) -> Vec<redis::RedisResult<i64>> {
        futures_util::future::join_all(self.conns.iter().map(|c| async {
            tokio::time::timeout(RESPONSE_TIMEOUT, c.call::<i64>(call))
                .await
                .unwrap_or_else(|_| Err((redis::ErrorKind::Io, "timed out").into()))
        }))
        .await
    }

    /// Fold per-server replies: a single server's error is the error; a
    /// quorum needs a majority of answers.
    pub(crate) fn agree(&self, replies: Vec<redis::RedisResult<i64>>) -> Result<Vec<i64>> {
        let total = replies.len();
        let mut ok = Vec::new();
        let mut failed = Vec::new();
        for (i, r) in replies.into_iter().enumerate() {
            match r {
                Ok(v) => ok.push(v),
                Err(e) => failed.push(self.at(i, e)),
            }
        }
        if ok.len() < self.majority() {
            let summary = (total > 1).then(|| format!("only {} of {total} servers answered", ok.len()));
            return Err(self.error_of(&failed, summary));
        }
        Ok(ok)
    }

    /// [`agree`](Self::agree)'s error for `inspect`, which asks each server in turn.
    pub(crate) fn unanswered(&self, answered: usize, failed: Vec<(usize, String)>) -> Error {
        let failed: Vec<_> = failed.into_iter().map(|(i, e)| self.at(i, e)).collect();
        let summary = format!("only {answered} of {} servers answered", self.conns.len());
        self.error_of(&failed, (self.conns.len() > 1).then_some(summary))
    }

    /// On a quorum, the fence a proof carries (the counters of the servers
    /// that missed the acquisition are raised to it); elsewhere none.
    pub(crate) fn quorum_fence(&self, proof: &[u8]) -> Option<Option<u64>> {
        self.is_quorum().then(|| <[u8; 8]>::try_from(proof).ok().map(u64::from_be_bytes))
    }

    /// Release on every server that holds it.
    pub(crate) async fn release(&self, keys: &Keys, owner: &[u8; 16], proof: &[u8]) -> Result<bool> {
        let replies = self.on_all(&scripts::release(keys, owner, self.quorum_fence(proof))).await;
        let ok = self.agree(replies)?;
        Ok(ok.iter().filter(|&&v| v == 1).count() >= self.majority())
    }
}

/// Why a server refused the connection's credentials, if it did: the
/// server's `WRONGPASS` / `NOAUTH` replies, or the client's word for them.
fn refused_credentials(e: &str) -> Option<&'static str> {
    if e.contains("NOAUTH") {
        Some("requires a password (NOAUTH) and the URL gives none")
    } else if e.contains("WRONGPASS") || e.contains("AuthenticationFailed") || e.contains("invalid username-password") {
        Some("refused the URL's user name or password (WRONGPASS)")
    } else {
        None
    }
}
