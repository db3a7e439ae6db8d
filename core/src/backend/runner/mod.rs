//! `redis+runner://NAME`: Redis through a client the embedder already has
//! (cargo feature `redis-runner`; no Redis client crate). The embedder
//! registers a [`Runner`] (script load, `EVALSHA`, optionally `SCAN`, and
//! a subscription) with [`register`] and connects with the URL it returns.
//! The engine runs its own scripts through it (redis/scripts.rs, shared with
//! the native Redis backend): the same keys, fences, FIFO queue and tokens
//! (of kind `redis`), so a lock taken here is the lock a native process
//! takes on the same server. Release notices come through the runner's
//! subscription where it has one, else the engine polls with backoff.
//!
//! One server (or one cluster behind the client): a quorum is the native
//! backend's. The WebAssembly build (bindings/wasm) is the first embedder.

// The client-independent halves of the Redis backend, compiled here too.
#[allow(dead_code)]
#[path = "../redis/keys.rs"]
mod keys;
#[allow(dead_code)]
#[path = "../redis/scripts.rs"]
mod scripts;

use crate::backend::contract::{
    AcquireRequest, Attempt, Backend, Capabilities, Drive, LeaseInfo, LONGEST_TTL,
};
use crate::clock::{now_ms, ttl_ms};
use crate::error::{Cause, Error, Result};
use crate::kinds::Mode;
use crate::notices::Notices;
use crate::url::UrlParts;
use keys::KeysMemo;
use parking_lot::Mutex;
use scripts::{AcquireArgs, Call, Script};
use std::collections::HashMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, OnceLock, Weak};
use std::time::Duration;

/// What a runner's operation gives: its value, or the client's error text.
pub type RunnerFuture<T> = Pin<Box<dyn Future<Output = std::result::Result<T, String>> + Send>>;

/// A Redis reply, as a runner hands it back.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Reply {
    /// A nil reply.
    Nil,
    /// An integer reply.
    Int(i64),
    /// A bulk or simple string reply.
    Text(String),
    /// An array reply.
    Array(Vec<Reply>),
}

/// Called with `(channel, message)` for every message of a subscription.
pub type OnMessage = Arc<dyn Fn(&str, &str) + Send + Sync>;

/// Redis through a client the embedder has: what the engine asks of it.
pub trait Runner: Send + Sync + 'static {
    /// `SCRIPT LOAD source`: the script's SHA1.
    fn script_load(&self, source: &str) -> RunnerFuture<String>;
    /// `EVALSHA sha numkeys keys… args…` (the engine's arguments are all
    /// UTF-8). An error whose text contains `NOSCRIPT` makes the engine
    /// load the script again and retry once. Lent, not given: a runner
    /// copies what it sends before it returns (every acquire and release
    /// comes through here, so the engine makes no copy for it).
    fn evalsha(&self, sha: &str, keys: &[&str], args: &[Vec<u8>]) -> RunnerFuture<Reply>;
    /// Every key matching the glob `pattern` (`SCAN … MATCH`), for `list`;
    /// `None` where the client cannot (then `list` is `UNSUPPORTED`).
    fn scan(&self, pattern: &str) -> Option<RunnerFuture<Vec<String>>>;
    /// A health check (`PING`).
    fn ping(&self) -> RunnerFuture<()>;
    /// Subscribe to `channels`, calling `on_message` for each message until
    /// [`close`](Runner::close); resolves once subscribed. `None` where the
    /// client cannot: waiters then poll with the engine's backoff.
    fn subscribe(&self, channels: Vec<String>, on_message: OnMessage) -> Option<RunnerFuture<()>>;
    /// The provider closed: end the subscription (the client stays the embedder's).
    fn close(&self);
}

fn runners() -> &'static Mutex<(u64, HashMap<String, Arc<dyn Runner>>)> {
    static RUNNERS: OnceLock<Mutex<(u64, HashMap<String, Arc<dyn Runner>>)>> = OnceLock::new();
    RUNNERS.get_or_init(Default::default)
}

/// Register `runner` for one `connect`: the URL to connect with
/// (`redis+runner://NAME`; add `?namespace=…&holder=…` as for any URL).
/// The first provider opened with it takes it.
pub fn register(runner: Arc<dyn Runner>) -> String {
    let mut r = runners().lock();
    r.0 += 1;
    let name = format!("r{}", r.0);
    r.1.insert(name.clone(), runner);
    format!("redis+runner://{name}")
}

/// `redis+runner://NAME`: the name [`register`] gave.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Target {
    name: String,
}

pub(crate) fn parse(url: &mut UrlParts) -> Result<Target> {
    let name = url.body.trim_end_matches('/').to_owned();
    if name.is_empty() {
        return Err(url
            .invalid("no runner name: connect with the URL ferrolock::runner::register returned"));
    }
    url.finish(&[])?;
    Ok(Target { name })
}

/// How long opening waits for the subscription.
const SUBSCRIBE_TIMEOUT: Duration = Duration::from_secs(2);

pub(crate) struct RunnerBackend {
    runner: Arc<dyn Runner>,
    /// Each script's SHA1 once loaded (by `Script as usize`).
    shas: Mutex<Vec<Option<Arc<str>>>>,
    /// This provider's id: the suffix of its grant channel.
    provider: String,
    notices: bool,
    /// The owner of each queued ticket (key, ticket): leaving the queue
    /// withdraws a lease handed to it meanwhile.
    queued: Mutex<HashMap<(String, u64), [u8; 16]>>,
    /// The keys of recently used locks, as the native backend keeps them.
    keys: KeysMemo,
}

fn unavailable(message: impl Into<String>) -> Error {
    let message = message.into();
    Error::Unavailable {
        backend: "redis",
        message: format!("the Redis client failed: {message}"),
        cause: Some(Cause(message)),
    }
}

fn unexpected(script: Script, reply: &Reply) -> Error {
    Error::Internal(format!(
        "unexpected reply of the {script:?} script: {reply:?}"
    ))
}

fn int(script: Script, reply: Reply) -> Result<i64> {
    match reply {
        Reply::Int(n) => Ok(n),
        Reply::Text(s) => s.parse().map_err(|_| unexpected(script, &Reply::Text(s))),
        Reply::Nil => Ok(0),
        other => Err(unexpected(script, &other)),
    }
}

fn ints(script: Script, reply: Reply) -> Result<Vec<i64>> {
    match reply {
        Reply::Array(items) => items.into_iter().map(|r| int(script, r)).collect(),
        other => Err(unexpected(script, &other)),
    }
}

fn texts(script: Script, reply: Reply) -> Result<Vec<String>> {
    match reply {
        Reply::Array(items) => items
            .into_iter()
            .map(|r| match r {
                Reply::Text(s) => Ok(s),
                Reply::Int(n) => Ok(n.to_string()),
                other => Err(unexpected(script, &other)),
            })
            .collect(),
        Reply::Nil => Ok(Vec::new()),
        other => Err(unexpected(script, &other)),
    }
}

impl RunnerBackend {
    pub(crate) async fn open(target: &Target, notices: &Arc<Notices>) -> Result<Self> {
        let runner = runners().lock().1.remove(&target.name).ok_or_else(|| {
            Error::invalid(format!(
                "no Redis runner is registered as {:?} (each URL of ferrolock::runner::register opens one provider)",
                target.name
            ))
        })?;
        let provider = format!("{:016x}", rand::random::<u64>());
        let mut backend = RunnerBackend {
            runner,
            shas: Mutex::new(vec![None; Script::ALL.len()]),
            provider,
            notices: false,
            queued: Default::default(),
            keys: Default::default(),
        };
        backend.runner.ping().await.map_err(unavailable)?;
        let weak: Weak<Notices> = Arc::downgrade(notices);
        let grants = format!("{}{}", scripts::GRANT_PREFIX, backend.provider);
        let on_message: OnMessage = Arc::new(move |channel: &str, message: &str| {
            let Some(notices) = weak.upgrade() else {
                return;
            };
            if channel == scripts::CHANNEL {
                notices.freed(message);
            } else if let Some((key, _, _)) = scripts::parse_grant(message) {
                // Ours: the waiter's next attempt finds its lease.
                notices.freed(key);
            }
        });
        if let Some(subscribed) = backend
            .runner
            .subscribe(vec![scripts::CHANNEL.to_owned(), grants], on_message)
        {
            match crate::rt::timeout(SUBSCRIBE_TIMEOUT, subscribed).await {
                Ok(Ok(())) => backend.notices = true,
                Ok(Err(e)) => {
                    tracing::warn!(error = %e, "ferrolock: the Redis client's subscription failed; waiters poll");
                    backend.runner.close();
                }
                Err(()) => {
                    tracing::warn!(
                        "ferrolock: the Redis client did not subscribe in time; waiters poll"
                    );
                    backend.runner.close();
                }
            }
        }
        Ok(backend)
    }

    /// Run one script call: `EVALSHA`, loading the script first (and again
    /// after a `NOSCRIPT`, as when the server restarted). The keys and
    /// arguments are lent to the runner, not copied for it.
    async fn call(&self, call: &Call<'_>) -> Result<Reply> {
        let mut reloaded = false;
        loop {
            let sha = self.shas.lock()[call.script as usize].clone();
            let sha = match sha {
                Some(sha) => sha,
                None => {
                    let sha: Arc<str> = self
                        .runner
                        .script_load(call.script.source())
                        .await
                        .map_err(unavailable)?
                        .into();
                    self.shas.lock()[call.script as usize] = Some(sha.clone());
                    sha
                }
            };
            match self.runner.evalsha(&sha, &call.keys, &call.args).await {
                Ok(reply) => return Ok(reply),
                Err(e) if e.contains("NOSCRIPT") && !reloaded => {
                    reloaded = true;
                    self.shas.lock()[call.script as usize] = None;
                }
                Err(e) => return Err(unavailable(e)),
            }
        }
    }
}

impl Backend for RunnerBackend {
    const DRIVE: Drive = Drive::Io;

    fn capabilities(&self) -> Capabilities {
        Capabilities {
            max_ttl: LONGEST_TTL,
            shared: true,
            handoff: true,
            queue: true,
            notices: self.notices,
        }
    }

    async fn try_acquire(&self, req: &AcquireRequest<'_>) -> Result<Attempt> {
        let keys = self.keys.of(req.key);
        let args = AcquireArgs {
            owner: req.owner,
            mode: req.mode,
            ttl_ms: ttl_ms(req.ttl),
            holder: req.holder,
            ticket: req.ticket,
            // It keeps no grants for its waiters (see waiters.rs): it joins
            // the queue by itself, as the engine asks.
            join: false,
            provider: &self.provider,
        };
        // The lease's end on this clock when the reply leaves it to us: the
        // ttl from the moment the attempt is sent (never later than the server's).
        let expires_at_ms = now_ms() + ttl_ms(req.ttl);
        let call = scripts::acquire(&keys, &args);
        let reply = ints(call.script, self.call(&call).await?)?;
        let (attempt, _) = scripts::parse_attempt(&reply, expires_at_ms)?;
        if let (Attempt::Granted(_), Some(t)) = (&attempt, req.ticket) {
            self.queued.lock().remove(&(req.key.to_owned(), t));
        }
        Ok(attempt)
    }

    async fn release(&self, key: &str, owner: &[u8; 16], _proof: &[u8]) -> Result<bool> {
        let keys = self.keys.of(key);
        let call = scripts::release(&keys, owner, None);
        Ok(int(call.script, self.call(&call).await?)? == 1)
    }

    async fn refresh(
        &self,
        key: &str,
        owner: &[u8; 16],
        _proof: &[u8],
        ttl: Duration,
    ) -> Result<Option<u64>> {
        let keys = self.keys.of(key);
        let start = crate::rt::Instant::now();
        let call = scripts::refresh(&keys, owner, ttl, None);
        if int(call.script, self.call(&call).await?)? <= 0 {
            return Ok(None);
        }
        Ok(ttl
            .checked_sub(start.elapsed())
            .map(|v| now_ms() + ttl_ms(v)))
    }

    async fn force_release(&self, key: &str) -> Result<bool> {
        let call = scripts::force_release(key);
        Ok(int(call.script, self.call(&call).await?)? == 1)
    }

    async fn inspect(&self, key: &str) -> Result<Option<LeaseInfo>> {
        let call = scripts::inspect(key);
        let reply = texts(call.script, self.call(&call).await?)?;
        Ok(scripts::parse_inspect(&reply, now_ms()))
    }

    async fn list(&self, prefix: &str) -> Result<Vec<(String, LeaseInfo)>> {
        let pattern = format!("{}*", scripts::glob_escape(prefix));
        let Some(scan) = self.runner.scan(&pattern) else {
            return Err(crate::backend::contract::unsupported(
                "redis",
                "list through a client without SCAN (give the adapter a scan function)",
            ));
        };
        let mut found = scan.await.map_err(unavailable)?;
        found.sort();
        found.dedup();
        let mut out = Vec::new();
        for key in found {
            if let Some(info) = self.inspect(&key).await? {
                out.push((key, info));
            }
        }
        Ok(out)
    }

    async fn enqueue(&self, key: &str, owner: &[u8; 16], mode: Mode) -> Result<u64> {
        let keys = self.keys.of(key);
        let call = scripts::enqueue(&keys, mode);
        let ticket = int(call.script, self.call(&call).await?)? as u64;
        let mut queued = self.queued.lock();
        if queued.len() >= 4096 {
            queued.clear();
        }
        queued.insert((key.to_owned(), ticket), *owner);
        Ok(ticket)
    }

    async fn leave(&self, key: &str, ticket: u64) -> Result<()> {
        let owner = self.queued.lock().remove(&(key.to_owned(), ticket));
        let keys = self.keys.of(key);
        let call = scripts::leave(&keys, ticket, owner.as_ref());
        self.call(&call).await.map(|_| ())
    }

    async fn ping(&self) -> Result<()> {
        self.runner.ping().await.map_err(unavailable)
    }

    fn close(&self) {
        self.runner.close();
    }
}
