//! `redis://` (one server), `redis://h1,h2,h3` (a quorum of independent
//! servers, Redlock-style) and `redis+cluster://` (Redis Cluster); each over
//! TLS as `rediss://` (feature `redis-tls`: rustls with the ring provider).
//!
//! Every operation is one Lua script, so one round trip: acquire checks the
//! holders and the wait queue, bumps the fence and writes the lease at once;
//! release deletes the lease and hands the lock to the head of the queue or
//! publishes a release notice that wakes the waiters of every provider.
//! Key names and scripts: `docs/backends/redis.md`.
//!
//! By concern: `url` (its URL), `keys` (a lock's keys), `scripts` and
//! `lua/` (the scripts, their arguments and replies, client-independent),
//! `conn` (connections), `quorum` (the majority rule), `listen` (pub/sub),
//! and `backend::waiters` (this provider's queued waiters).

mod conn;
mod keys;
mod listen;
mod quorum;
mod scripts;
mod url;

pub(crate) use url::{parse, RedisTarget as Target};

use crate::backend::contract::{
    unsupported, AcquireRequest, Attempt, Backend, Capabilities, Drive, LeaseInfo, LONGEST_TTL,
};
use crate::clock::{now_ms, ttl_ms};
use crate::error::Result;
use crate::kinds::Mode;
use crate::notices::Notices;
use conn::{Certs, Conn, CONNECT_TIMEOUT};
use keys::KeysMemo;
use quorum::Servers;
use scripts::AcquireArgs;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::oneshot;
use tokio_util::sync::CancellationToken;
use url::{RedisTarget, RedisTopology};
use crate::backend::waiters::{Known, Waiters};

pub(crate) struct RedisBackend {
    servers: Servers,
    /// This provider's id (16 hex digits): its grant channel's suffix.
    provider: String,
    /// Queued waiters, and the latest requests that found a lock busy, so
    /// that `enqueue` can join the queue and attempt in one round trip.
    waiters: Arc<Waiters>,
    /// The keys of recently used locks: building them (a CRC16 and five
    /// strings) cost more than this lookup.
    keys: KeysMemo,
    /// Connection URLs of the servers (the seed nodes, for a cluster).
    urls: Vec<String>,
    /// TLS material (`rediss://`), for connections made after open.
    certs: Option<Certs>,
    stop: CancellationToken,
}

impl RedisBackend {
    pub(crate) async fn open(target: &RedisTarget, notices: &Arc<Notices>) -> Result<Self> {
        let certs = conn::load_certs(target.tls.as_ref())?;
        let addrs = match target.topology {
            RedisTopology::Cluster => vec![target.addrs.join(",")],
            _ => target.addrs.clone(),
        };
        let servers = Servers {
            topology: target.topology,
            conns: Vec::new(),
            health: Vec::new(),
            addrs,
            password: target.password.clone(),
        };
        let conns = conn::open(target, certs.as_ref())
            .await
            .map_err(|e| servers.error(e))?;
        let health = conns.iter().map(|_| Default::default()).collect();
        let backend = RedisBackend {
            servers: Servers {
                conns,
                health,
                ..servers
            },
            provider: format!("{:016x}", rand::random::<u64>()),
            waiters: Default::default(),
            keys: Default::default(),
            urls: target.nodes.clone(),
            certs,
            stop: CancellationToken::new(),
        };
        backend.ping().await?;
        if backend.servers.is_quorum() {
            // A dead minority must not hold up the start: the scripts reach
            // the others in the background (a first call before them takes
            // the NOSCRIPT detour, which works too).
            let conns = backend.servers.conns.clone();
            tokio::spawn(async move {
                let loads = futures_util::future::join_all(conns.iter().map(Conn::load_scripts));
                let _ = tokio::time::timeout(CONNECT_TIMEOUT, loads).await;
            });
        } else {
            let loads = futures_util::future::join_all(
                backend.servers.conns.iter().map(Conn::load_scripts),
            );
            let _ = tokio::time::timeout(Duration::from_millis(500), loads).await;
        }
        let listen_to = match target.topology {
            RedisTopology::Quorum => &target.nodes[..],
            // PUBLISH reaches every node of a cluster: one subscription will do.
            _ => &target.nodes[..1],
        };
        // Wait for the subscriptions (each bounded by the connect timeout),
        // so that no notice or grant meant for this provider is missed.
        let mut subscribed = Vec::new();
        for url in listen_to {
            let (tx, rx) = oneshot::channel();
            let listener = listen::Listener {
                url: url.clone(),
                certs: backend.certs.clone(),
                provider: backend.provider.clone(),
                waiters: Arc::downgrade(&backend.waiters),
                notices: notices.clone(),
                stop: backend.stop.clone(),
            };
            tokio::spawn(listener.run(tx));
            subscribed.push(rx);
        }
        let all = futures_util::future::join_all(subscribed);
        let _ = tokio::time::timeout(CONNECT_TIMEOUT + Duration::from_millis(100), all).await;
        Ok(backend)
    }

    fn acquire_args<'a>(
        &'a self,
        req: &'a AcquireRequest<'_>,
        ttl_ms: u64,
        ticket: Option<u64>,
    ) -> AcquireArgs<'a> {
        AcquireArgs {
            owner: req.owner,
            mode: req.mode,
            ttl_ms,
            holder: req.holder,
            ticket,
            join: false,
            provider: &self.provider,
        }
    }

    /// The connections to SCAN: every server, or every master of a cluster.
    async fn masters(&self) -> Result<Vec<Conn>> {
        let s = &self.servers;
        if s.topology != RedisTopology::Cluster {
            return Ok(s.conns.clone());
        }
        conn::masters(&s.conns[0], &self.urls[0], self.certs.as_ref())
            .await
            .map_err(|e| s.error(e))
    }

    /// Leave the queue; a lease handed to the waiter meanwhile is withdrawn
    /// (its fence is skipped, never reissued).
    async fn withdraw(&self, key: &str, ticket: u64) -> Result<()> {
        let owner = self.waiters.remove_ticket(key, ticket);
        let keys = self.keys.of(key);
        let s = &self.servers;
        s.conns[0]
            .call::<i64>(&scripts::leave(&keys, ticket, owner.as_ref()))
            .await
            .map(|_| ())
            .map_err(|e| s.error(e))
    }
}

impl Backend for RedisBackend {
    const DRIVE: Drive = Drive::Io;

    fn capabilities(&self) -> Capabilities {
        Capabilities {
            max_ttl: LONGEST_TTL,
            shared: true,
            handoff: true,
            // A queue needs one authority on the order of waiters: a quorum
            // of independent servers has none.
            queue: !self.servers.is_quorum(),
            notices: true,
        }
    }

    async fn try_acquire(&self, req: &AcquireRequest<'_>) -> Result<Attempt> {
        if req.ticket.is_some() {
            // A release may have handed us the lock already.
            match self.waiters.known(req.owner) {
                // Unless it came too late: its lease ran out before this
                // provider heard of it (a link cut meanwhile), and others
                // may have held the lock since. Then the server decides.
                Some(Known::Granted(lease)) if lease.expires_at_ms > now_ms() => {
                    return Ok(Attempt::Granted(lease))
                }
                Some(Known::Granted(_)) => {}
                Some(Known::Busy(retry_in)) => return Ok(Attempt::Busy { retry_in }),
                None => {}
            }
        }
        // A caller gone while this is in flight: the engine gives back what it got.
        let ttl_ms = ttl_ms(req.ttl);
        let keys = self.keys.of(req.key);
        let join = req.join && req.ticket.is_none() && !self.servers.is_quorum();
        if join {
            // Registered before the attempt, so that a grant that arrives
            // before the reply is kept (as `join` does).
            self.waiters.ticket(*req.owner, req.key, 0);
        }
        let mut args = self.acquire_args(req, ttl_ms, req.ticket);
        args.join = join;
        let attempt = match self.servers.try_acquire(&keys, &args).await {
            Ok((Attempt::Busy { retry_in }, Some(ticket))) if join => {
                // Joined: the engine's next attempt learns nothing new, and
                // costs no round trip (unless a notice comes meanwhile).
                self.waiters.joined(*req.owner, req.key, ticket, Known::Busy(retry_in));
                return Ok(Attempt::Queued { retry_in, ticket });
            }
            other => other.map(|a| a.0),
        };
        if join || (req.ticket.is_some() && matches!(attempt, Ok(Attempt::Granted(_)))) {
            // Granted (a grant of a new ticket leaves no place), or failed.
            self.waiters.remove(req.owner);
        }
        attempt
    }

    async fn release(&self, key: &str, owner: &[u8; 16], proof: &[u8]) -> Result<bool> {
        self.servers.release(&self.keys.of(key), owner, proof).await
    }

    async fn refresh(
        &self,
        key: &str,
        owner: &[u8; 16],
        proof: &[u8],
        ttl: Duration,
    ) -> Result<Option<u64>> {
        let s = &self.servers;
        let keys = self.keys.of(key);
        let start = Instant::now();
        let ok = s
            .ask_all(
                &scripts::refresh(&keys, owner, ttl, s.quorum_fence(proof).flatten()),
                |&v| v > 0,
            )
            .await?;
        if ok.iter().filter(|&&v| v > 0).count() < s.majority() {
            return Ok(None);
        }
        let drift = if s.is_quorum() {
            ttl / 100 + Duration::from_millis(2)
        } else {
            Duration::ZERO
        };
        Ok(ttl
            .checked_sub(start.elapsed() + drift)
            .map(|v| now_ms() + ttl_ms(v)))
    }

    async fn force_release(&self, key: &str) -> Result<bool> {
        let s = &self.servers;
        // Every server is asked (each within the response timeout; one, for
        // a single server or a cluster). All answered: the lock was held if
        // a majority had a live lease; one on fewer servers of a quorum is
        // no lock (an acquisition's write that reached one server late, a
        // server that lost its data), and counting it made a second force
        // release say "held" (C's scenario under valgrind, once in CI).
        // Some did not answer: any live lease among a majority's answers
        // counts (any majority meets the holder's).
        let n = s.conns.len();
        let (replies, _) = s
            .gather::<i64>(&scripts::force_release(key), conn::RESPONSE_TIMEOUT, |r| {
                r.ok.len() + r.errors.len() == n
            })
            .await;
        if replies.ok.len() < s.majority() {
            return Err(s.unanswered(&replies));
        }
        let live = replies.ok.iter().filter(|(_, v)| *v == 1).count();
        Ok(if replies.ok.len() == n { live >= s.majority() } else { live > 0 })
    }

    async fn inspect(&self, key: &str) -> Result<Option<LeaseInfo>> {
        let s = &self.servers;
        let n = s.conns.len();
        let (replies, _) = s
            .gather::<Vec<String>>(&scripts::inspect(key), conn::RESPONSE_TIMEOUT, |r| {
                r.ok.len() + r.errors.len() == n
            })
            .await;
        let answered = replies.ok.len();
        let seen: Vec<_> = replies
            .ok
            .iter()
            .filter_map(|(_, reply)| scripts::parse_inspect(reply, now_ms()))
            .collect();
        if answered < s.majority() {
            return Err(s.unanswered(&replies));
        }
        if seen.len() < s.majority() {
            return Ok(None);
        }
        Ok(seen.into_iter().max_by_key(|i| i.fence))
    }

    async fn list(&self, prefix: &str) -> Result<Vec<(String, LeaseInfo)>> {
        let s = &self.servers;
        let pattern = format!("{}*", scripts::glob_escape(prefix));
        let mut keys = std::collections::BTreeSet::new();
        // Every master of a cluster must answer; a quorum's majority must.
        let mut missed = Vec::new();
        let masters = self.masters().await?;
        let total = masters.len();
        for (i, conn) in masters.into_iter().enumerate() {
            let scan = async {
                let mut cursor: u64 = 0;
                loop {
                    let (next, batch): (u64, Vec<String>) = conn
                        .query(
                            redis::cmd("SCAN")
                                .arg(cursor)
                                .arg("MATCH")
                                .arg(&pattern)
                                .arg("COUNT")
                                .arg(1000),
                        )
                        .await?;
                    keys.extend(batch);
                    cursor = next;
                    if cursor == 0 {
                        return Ok::<_, redis::RedisError>(());
                    }
                }
            };
            match tokio::time::timeout(conn::RESPONSE_TIMEOUT, scan).await {
                Ok(Ok(())) => {}
                Ok(Err(e)) if !s.is_quorum() => return Err(s.error(e)),
                Ok(Err(e)) => missed.push(s.at(i, e)),
                Err(_) => missed.push(s.at(
                    i,
                    format_args!("no answer within {:?}", conn::RESPONSE_TIMEOUT),
                )),
            }
        }
        if !missed.is_empty() && (!s.is_quorum() || total - missed.len() < s.majority()) {
            let answered = total - missed.len();
            return Err(s.error_of(
                &missed,
                Some(format!("only {answered} of {total} servers answered")),
            ));
        }
        let mut out = Vec::new();
        for key in keys {
            if let Some(info) = self.inspect(&key).await? {
                out.push((key, info));
            }
        }
        Ok(out)
    }

    async fn enqueue(&self, key: &str, owner: &[u8; 16], mode: Mode) -> Result<u64> {
        let s = &self.servers;
        if s.is_quorum() {
            return Err(unsupported("redis", "wait queues on a quorum of servers"));
        }
        // A caller that will wait joins with its first attempt (take.lua);
        // this is for one whose attempt did not.
        let keys = self.keys.of(key);
        let ticket = s.conns[0]
            .call::<i64>(&scripts::enqueue(&keys, mode))
            .await
            .map_err(|e| s.error(e))? as u64;
        self.waiters.ticket(*owner, key, ticket);
        Ok(ticket)
    }

    async fn leave(&self, key: &str, ticket: u64) -> Result<()> {
        self.withdraw(key, ticket).await
    }

    async fn ping(&self) -> Result<()> {
        let s = &self.servers;
        let (majority, n) = (s.majority(), s.conns.len());
        let (replies, late) = s
            // Done once a majority answered; without one, every server is
            // heard, so that the error says what each said (a refused
            // password among them is the error).
            .gather_with(
                conn::RESPONSE_TIMEOUT,
                |r| r.ok.len() >= majority || r.ok.len() + r.errors.len() == n,
                |c| async move { c.query::<String>(&redis::cmd("PING")).await },
            )
            .await;
        late.finish(|_, _| None, &s.conns);
        if replies.ok.len() < majority {
            return Err(s.unanswered(&replies));
        }
        Ok(())
    }

    fn close(&self) {
        self.stop.cancel();
    }
}

impl Drop for RedisBackend {
    fn drop(&mut self) {
        self.stop.cancel();
    }
}
