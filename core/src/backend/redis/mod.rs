//! `redis://` (one server), `redis://h1,h2,h3` (a quorum of independent
//! servers, Redlock-style) and `redis+cluster://` (Redis Cluster); each over
//! TLS as `rediss://` (feature `redis-tls`: rustls with the ring provider).
//!
//! Every operation is one Lua script, so one round trip: acquire checks the
//! holders and the wait queue, bumps the fence and writes the lease at once;
//! release deletes the lease and publishes a release notice that wakes the
//! waiters of every provider. Key names and scripts: `docs/backends/redis.md`.

use crate::backend::contract::{
    summarize, unsupported, AcquireRequest, Attempt, Backend, Capabilities, Drive, Lease, LeaseInfo, LONGEST_TTL,
    WAITER_STALE_AFTER,
};
use crate::clock::{now_ms, ttl_ms};
use crate::error::{Error, Result};
use crate::notices::Notices;
mod url;
pub(crate) use url::{parse, RedisTarget as Target};
use url::{RedisTarget, RedisTls, RedisTopology};
use crate::kinds::Mode;
use futures_util::StreamExt as _;
use redis::aio::{ConnectionManager, ConnectionManagerConfig};
use redis::cluster_async::ClusterConnection;
use redis::Script;
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};
use tokio::sync::oneshot;
use tokio_util::sync::CancellationToken;

/// The channel every release notice is published on; the message is the key.
pub(crate) const CHANNEL: &str = "__ferrolock:released";
/// A lock handed to a queued waiter is announced on the channel of the
/// waiter's provider: this prefix, then the provider's id. The message is
/// the key, a newline, then `owner|fence|expires`.
const GRANT_PREFIX: &str = "__ferrolock:granted:";
const CONNECT_TIMEOUT: Duration = Duration::from_secs(2);
const RESPONSE_TIMEOUT: Duration = Duration::from_secs(2);

/// The TLS material of a `rediss://` URL, read once when the provider opens.
#[cfg(feature = "redis-tls")]
type Certs = redis::TlsCertificates;
#[cfg(not(feature = "redis-tls"))]
#[derive(Clone)]
enum Certs {}

/// Read the `ca`, `cert` and `key` files of a `rediss://` URL (PEM).
fn load_certs(tls: Option<&RedisTls>) -> Result<Option<Certs>> {
    let Some(tls) = tls else { return Ok(None) };
    #[cfg(feature = "redis-tls")]
    {
        // One provider for rustls whatever else the process links.
        let _ = rustls::crypto::ring::default_provider().install_default();
        let read = |what: &str, path: &std::path::Path| {
            std::fs::read(path).map_err(|e| {
                Error::invalid(format!("the {what} file {:?} of the rediss:// URL cannot be read: {e}", path.display().to_string()))
            })
        };
        let root_cert = tls.ca.as_deref().map(|p| read("ca", p)).transpose()?;
        let client_tls = match (&tls.cert, &tls.key) {
            (Some(c), Some(k)) => Some(redis::ClientTlsConfig { client_cert: read("cert", c)?, client_key: read("key", k)? }),
            _ => None,
        };
        Ok(Some(redis::TlsCertificates { client_tls, root_cert }))
    }
    #[cfg(not(feature = "redis-tls"))]
    {
        let _ = tls;
        Err(Error::Unsupported { backend: "redis", operation: "TLS without the cargo feature `redis-tls`".into() })
    }
}

/// A client for one server's URL, over TLS with `certs` when given.
fn client(url: &str, certs: Option<&Certs>) -> redis::RedisResult<redis::Client> {
    match certs {
        #[cfg(feature = "redis-tls")]
        Some(c) => redis::Client::build_with_tls(url, c.clone()),
        #[cfg(not(feature = "redis-tls"))]
        Some(c) => match *c {},
        None => redis::Client::open(url),
    }
}

/// KEYS: lock, fence, queue, beat, wait, seq; ARGV: owner, mode, ttl,
/// holder, ticket ('' for none, 'new' to join the queue now), queue entry
/// life, minimum fence ('' for none), provider id. Replies `{1, fence,
/// expires}` or `{0, ms until the soonest lease expires (-1: none)}`, with
/// the new ticket appended when ARGV[5] is 'new'.
const ACQUIRE: &str = r#"
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local mode, ticket = ARGV[2], ARGV[5]
local joined = nil
if ticket == 'new' then
  joined = redis.call('INCR', KEYS[6])
  ticket = tostring(joined)
elseif ticket ~= '' then
  local mine = redis.call('HGET', KEYS[1], ARGV[1])
  if mine then
    local f, e = string.match(mine, '^%a|(%d+)|(%d+)|')
    if tonumber(e) > now then
      local member = ticket .. ':' .. mode
      redis.call('ZREM', KEYS[3], member)
      redis.call('ZREM', KEYS[4], member)
      redis.call('HDEL', KEYS[5], ticket)
      return {1, tonumber(f), tonumber(e)}
    end
  end
end
local held_x, held_s, soonest, latest = false, false, nil, 0
local fields = redis.call('HGETALL', KEYS[1])
for i = 1, #fields, 2 do
  local m, e = string.match(fields[i + 1], '^(%a)|%d+|(%d+)|')
  e = tonumber(e)
  if e <= now then
    redis.call('HDEL', KEYS[1], fields[i])
  else
    if m == 'x' then held_x = true else held_s = true end
    if soonest == nil or e < soonest then soonest = e end
    if e > latest then latest = e end
  end
end
-- Held against this mode: busy whatever the queue holds, so skip it.
local free = not held_x and (mode == 's' or not held_s)
local queued = free and redis.call('EXISTS', KEYS[3]) == 1
if queued then
  DROP_STALE
end
local member = nil
if ticket ~= '' then
  member = ticket .. ':' .. mode
  local life = tonumber(ARGV[6])
  redis.call('ZADD', KEYS[3], tonumber(ticket), member)
  redis.call('ZADD', KEYS[4], now + life, member)
  redis.call('HSET', KEYS[5], ticket, ARGV[1] .. '|' .. ARGV[3] .. '|' .. ARGV[8] .. '|' .. ARGV[4])
  redis.call('PEXPIRE', KEYS[3], life * 2)
  redis.call('PEXPIRE', KEYS[4], life * 2)
  redis.call('PEXPIRE', KEYS[5], life * 2)
  queued = true
end
local ahead_x, ahead_any = false, false
if free and queued then
  local upto = '+inf'
  if ticket ~= '' then upto = '(' .. ticket end
  if mode == 'x' then
    ahead_any = redis.call('ZCOUNT', KEYS[3], '-inf', upto) > 0
  else
    for _, m in ipairs(redis.call('ZRANGEBYSCORE', KEYS[3], '-inf', upto)) do
      ahead_any = true
      if string.sub(m, -1) == 'x' then ahead_x = true break end
    end
  end
end
local grant
if mode == 'x' then
  grant = free and not ahead_any
else
  grant = free and not ahead_x
end
if not grant then
  if soonest == nil then soonest = now - 1 end
  return {0, soonest - now, joined}
end
local fence = redis.call('INCR', KEYS[2])
if ARGV[7] ~= '' and fence < tonumber(ARGV[7]) then
  fence = tonumber(ARGV[7])
  redis.call('SET', KEYS[2], fence)
end
local exp = now + tonumber(ARGV[3])
redis.call('HSET', KEYS[1], ARGV[1], mode .. '|' .. fence .. '|' .. exp .. '|' .. ARGV[4])
if exp > latest then redis.call('PEXPIREAT', KEYS[1], exp) end
if member then
  redis.call('ZREM', KEYS[3], member)
  redis.call('ZREM', KEYS[4], member)
  redis.call('HDEL', KEYS[5], ticket)
end
return {1, fence, exp, joined}
"#;

/// Drops the queue entries whose heartbeat is older than their life, with
/// their details (part of ACQUIRE and HANDOFF; needs `now`).
const DROP_STALE: &str = r#"
  local stale = redis.call('ZRANGEBYSCORE', KEYS[4], '-inf', now)
  if #stale > 0 then
    redis.call('ZREM', KEYS[3], unpack(stale))
    redis.call('ZREM', KEYS[4], unpack(stale))
    for _, m in ipairs(stale) do redis.call('HDEL', KEYS[5], string.match(m, '^(%d+):')) end
  end
"#;

/// The lock was just given up (a release, or a handed lease left unused):
/// if anybody queues, hand the lock straight to the head of the queue (an
/// exclusive waiter, or every shared waiter at the head) by writing their
/// lease and telling their provider on its own channel; else, if waiters
/// queue but cannot take it, publish a plain notice. Nobody queued: no
/// message at all. KEYS: lock, fence, queue, beat, wait; ARGV[2]: the notice
/// channel, ARGV[3]: the grant channel prefix; needs `now`.
const HANDOFF: &str = r#"
if redis.call('EXISTS', KEYS[3]) == 1 then
  local held_x, held_s, handed = false, false, false
  local fields = redis.call('HGETALL', KEYS[1])
  for i = 2, #fields, 2 do
    local m, e = string.match(fields[i], '^(%a)|%d+|(%d+)|')
    if tonumber(e) > now then
      if m == 'x' then held_x = true else held_s = true end
    end
  end
  if not held_x then
    DROP_STALE
    for _, m in ipairs(redis.call('ZRANGE', KEYS[3], 0, 31)) do
      local ticket, mode = string.match(m, '^(%d+):(%a)$')
      if mode == 'x' and (held_s or handed) then break end
      local d = redis.call('HGET', KEYS[5], ticket)
      if not d then break end
      local owner, ttl, provider, holder = string.match(d, '^(%x+)|(%d+)|(%w+)|(.*)$')
      local fence = redis.call('INCR', KEYS[2])
      local exp = now + tonumber(ttl)
      redis.call('HSET', KEYS[1], owner, mode .. '|' .. fence .. '|' .. exp .. '|' .. holder)
      if redis.call('PTTL', KEYS[1]) < tonumber(ttl) then redis.call('PEXPIREAT', KEYS[1], exp) end
      redis.call('ZREM', KEYS[3], m)
      redis.call('ZREM', KEYS[4], m)
      redis.call('HDEL', KEYS[5], ticket)
      redis.call('PUBLISH', ARGV[3] .. provider, KEYS[1] .. '\n' .. owner .. '|' .. fence .. '|' .. exp)
      handed = true
      if mode == 'x' then break end
    end
  end
  if not handed then redis.call('PUBLISH', ARGV[2], KEYS[1]) end
end
"#;

/// One server or a cluster. KEYS: lock, fence, queue, beat, wait; ARGV:
/// owner, notice channel, grant channel prefix. Replies 1 if the lease had
/// not expired.
const RELEASE: &str = r#"
local v = redis.call('HGET', KEYS[1], ARGV[1])
if not v then return 0 end
redis.call('HDEL', KEYS[1], ARGV[1])
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
HANDOFF
if tonumber(string.match(v, '^%a|%d+|(%d+)|')) > now then return 1 end
return 0
"#;

/// A quorum (no queue there): KEYS: lock, fence; ARGV: owner, channel, fence
/// to raise the counter to ('' for none).
const RELEASE_QUORUM: &str = r#"
local v = redis.call('HGET', KEYS[1], ARGV[1])
if ARGV[3] ~= '' and tonumber(redis.call('GET', KEYS[2]) or '0') < tonumber(ARGV[3]) then
  redis.call('SET', KEYS[2], ARGV[3])
end
if not v then return 0 end
redis.call('HDEL', KEYS[1], ARGV[1])
redis.call('PUBLISH', ARGV[2], KEYS[1])
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local e = tonumber(string.match(v, '^%a|%d+|(%d+)|'))
if e > now then return 1 end
return 0
"#;

/// KEYS: lock, fence; ARGV: owner, ttl ms, fence to raise the counter to.
const REFRESH: &str = r#"
local v = redis.call('HGET', KEYS[1], ARGV[1])
if ARGV[3] ~= '' and tonumber(redis.call('GET', KEYS[2]) or '0') < tonumber(ARGV[3]) then
  redis.call('SET', KEYS[2], ARGV[3])
end
if not v then return -1 end
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local m, f, e, h = string.match(v, '^(%a)|(%d+)|(%d+)|(.*)$')
if tonumber(e) <= now then
  redis.call('HDEL', KEYS[1], ARGV[1])
  return -1
end
local exp = now + tonumber(ARGV[2])
redis.call('HSET', KEYS[1], ARGV[1], m .. '|' .. f .. '|' .. exp .. '|' .. h)
if redis.call('PTTL', KEYS[1]) < tonumber(ARGV[2]) then redis.call('PEXPIREAT', KEYS[1], exp) end
return exp
"#;

/// KEYS: lock; ARGV: channel. Returns whether anybody held it.
const FORCE_RELEASE: &str = r#"
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local live = 0
local fields = redis.call('HGETALL', KEYS[1])
for i = 2, #fields, 2 do
  if tonumber(string.match(fields[i], '^%a|%d+|(%d+)|')) > now then live = 1 end
end
redis.call('DEL', KEYS[1])
redis.call('PUBLISH', ARGV[1], KEYS[1])
return live
"#;

/// KEYS: lock. Returns the server time, then the hash's fields and values.
const INSPECT: &str = r#"
local t = redis.call('TIME')
local r = redis.call('HGETALL', KEYS[1])
table.insert(r, 1, tostring(tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)))
return r
"#;

/// KEYS: queue, beat, sequence; ARGV: mode, life ms.
const ENQUEUE: &str = r#"
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local ticket = redis.call('INCR', KEYS[3])
local member = ticket .. ':' .. ARGV[1]
redis.call('ZADD', KEYS[1], ticket, member)
redis.call('ZADD', KEYS[2], now + tonumber(ARGV[2]), member)
redis.call('PEXPIRE', KEYS[1], tonumber(ARGV[2]) * 2)
redis.call('PEXPIRE', KEYS[2], tonumber(ARGV[2]) * 2)
return ticket
"#;

/// KEYS: lock, fence, queue, beat, wait; ARGV: ticket, channel, grant
/// channel prefix, owner ('' if unknown). If the entry is gone because the
/// lock was handed to it meanwhile, the handed lease is withdrawn and
/// handed on (its fence is never reissued).
const LEAVE: &str = r#"
local m = redis.call('ZRANGEBYSCORE', KEYS[3], ARGV[1], ARGV[1])
if #m > 0 then
  redis.call('ZREM', KEYS[3], m[1])
  redis.call('ZREM', KEYS[4], m[1])
  redis.call('HDEL', KEYS[5], ARGV[1])
  redis.call('PUBLISH', ARGV[2], KEYS[1])
  return 1
end
local v = ARGV[4] ~= '' and redis.call('HGET', KEYS[1], ARGV[4])
if v then
  redis.call('HDEL', KEYS[1], ARGV[4])
  -- Its fence is not given back: a fence, once issued, is never issued
  -- again (the next holder's is higher; numbers may skip).
  local t = redis.call('TIME')
  local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
  HANDOFF
  return 2
end
return 0
"#;

struct Scripts {
    acquire: Script,
    release: Script,
    release_quorum: Script,
    refresh: Script,
    force_release: Script,
    inspect: Script,
    enqueue: Script,
    leave: Script,
    /// Every script's source, for `SCRIPT LOAD` at connect.
    sources: Vec<String>,
}

fn scripts() -> &'static Scripts {
    static S: OnceLock<Scripts> = OnceLock::new();
    S.get_or_init(|| {
        let handoff = HANDOFF.replace("DROP_STALE", DROP_STALE);
        let mut sources = Vec::new();
        let mut script = |s: &str| {
            let source = s.replace("DROP_STALE", DROP_STALE).replace("HANDOFF", &handoff);
            let script = Script::new(&source);
            sources.push(source);
            script
        };
        Scripts {
            acquire: script(ACQUIRE),
            release: script(RELEASE),
            release_quorum: script(RELEASE_QUORUM),
            refresh: script(REFRESH),
            force_release: script(FORCE_RELEASE),
            inspect: script(INSPECT),
            enqueue: script(ENQUEUE),
            leave: script(LEAVE),
            sources,
        }
    })
}

/// One connection: to a server, or to a whole cluster.
#[derive(Clone)]
enum Conn {
    Server(ConnectionManager),
    Cluster(ClusterConnection),
}

impl Conn {
    /// `SCRIPT LOAD` every script (one pipelined round trip to a server; to
    /// every master of a cluster), so that no operation's first use costs
    /// the `NOSCRIPT` detour (EVALSHA, SCRIPT LOAD, EVALSHA). Best effort:
    /// a server that restarts later loses them, and the detour still works.
    async fn load_scripts(&self) {
        let sources = &scripts().sources;
        match self {
            Conn::Server(c) => {
                let mut pipe = redis::pipe();
                for source in sources {
                    pipe.cmd("SCRIPT").arg("LOAD").arg(source).ignore();
                }
                let _: redis::RedisResult<()> = pipe.query_async(&mut c.clone()).await;
            }
            Conn::Cluster(c) => {
                let loads = sources.iter().map(|source| {
                    let mut c = c.clone();
                    async move {
                        let _: redis::RedisResult<redis::Value> =
                            redis::cmd("SCRIPT").arg("LOAD").arg(source).query_async(&mut c).await;
                    }
                });
                futures_util::future::join_all(loads).await;
            }
        }
    }

    async fn invoke<T: redis::FromRedisValue>(
        &self,
        script: &Script,
        keys: &[&str],
        args: &[&[u8]],
    ) -> redis::RedisResult<T> {
        let mut inv = script.prepare_invoke();
        for k in keys {
            inv.key(*k);
        }
        for a in args {
            inv.arg(*a);
        }
        match self {
            Conn::Server(c) => inv.invoke_async(&mut c.clone()).await,
            Conn::Cluster(c) => inv.invoke_async(&mut c.clone()).await,
        }
    }

    async fn query<T: redis::FromRedisValue>(&self, cmd: &redis::Cmd) -> redis::RedisResult<T> {
        match self {
            Conn::Server(c) => cmd.query_async(&mut c.clone()).await,
            Conn::Cluster(c) => cmd.query_async(&mut c.clone()).await,
        }
    }
}

/// A waiter of this provider with a place in a queue: the lock may be handed
/// to it by a release (announced on this provider's grant channel).
struct Waiter {
    key: String,
    ticket: u64,
    grant: Option<Lease>,
    /// Joined the queue by an attempt that found the lock busy: the
    /// engine's next attempt has nothing to learn and costs no round trip.
    fresh: Option<Option<Duration>>,
}

struct Shared {
    topology: RedisTopology,
    /// This provider's id (16 hex digits): its grant channel's suffix.
    provider: String,
    /// Queued waiters by owner.
    waiters: parking_lot::Mutex<std::collections::HashMap<[u8; 16], Waiter>>,
    /// The latest requests that found a lock busy (bounded), so that
    /// `enqueue` can join the queue and attempt in one round trip.
    busy: parking_lot::Mutex<std::collections::HashMap<[u8; 16], BusyRequest>>,
    conns: Vec<Conn>,
    /// Plain connection URLs of the servers (the seed nodes, for a cluster).
    urls: Vec<String>,
    password: Option<String>,
    /// TLS material (`rediss://`), for connections made after open.
    certs: Option<Certs>,
    stop: CancellationToken,
}

pub(crate) struct RedisBackend {
    shared: Arc<Shared>,
}

/// The keys of one lock. Companion keys carry a hash tag chosen to hash to
/// the lock key's own slot, so all of them live on one Cluster node whatever
/// the name contains (braces included).
struct Keys {
    lock: String,
    fence: String,
    queue: String,
    beat: String,
    seq: String,
    wait: String,
}

impl Keys {
    fn of(lock: &str) -> Keys {
        let tag = slot_tag(slot(lock.as_bytes()));
        let companion = |kind: &str| format!("{{{tag}}}{kind}:{lock}");
        Keys {
            lock: lock.to_owned(),
            fence: companion("fence"),
            queue: companion("queue"),
            beat: companion("beat"),
            seq: companion("seq"),
            wait: companion("wait"),
        }
    }
}

/// The Redis Cluster hash slot of `key` (CRC16/XMODEM of its hash tag).
pub(crate) fn slot(key: &[u8]) -> u16 {
    let hashed = match key.iter().position(|&b| b == b'{') {
        Some(open) => match key[open + 1..].iter().position(|&b| b == b'}') {
            Some(len) if len > 0 => &key[open + 1..open + 1 + len],
            _ => key,
        },
        None => key,
    };
    crc16(hashed) % 16384
}

/// CRC16/XMODEM, a byte at a time from a table (every acquire and release
/// computes one).
fn crc16(data: &[u8]) -> u16 {
    const TABLE: [u16; 256] = {
        let mut t = [0u16; 256];
        let mut i = 0;
        while i < 256 {
            let mut crc = (i as u16) << 8;
            let mut bit = 0;
            while bit < 8 {
                crc = if crc & 0x8000 != 0 { (crc << 1) ^ 0x1021 } else { crc << 1 };
                bit += 1;
            }
            t[i] = crc;
            i += 1;
        }
        t
    };
    data.iter().fold(0u16, |crc, &b| (crc << 8) ^ TABLE[((crc >> 8) as u8 ^ b) as usize])
}

/// A short string that hashes to `slot`: the smallest base-36 counter that does.
fn slot_tag(slot: u16) -> &'static str {
    static TAGS: OnceLock<Vec<String>> = OnceLock::new();
    &TAGS.get_or_init(|| {
        let mut tags: Vec<Option<String>> = vec![None; 16384];
        let mut missing = 16384;
        let mut n: u64 = 0;
        while missing > 0 {
            let s = radix36(n);
            let sl = (crc16(s.as_bytes()) % 16384) as usize;
            if tags[sl].is_none() {
                tags[sl] = Some(s);
                missing -= 1;
            }
            n += 1;
        }
        tags.into_iter().map(|t| t.expect("every slot filled")).collect()
    })[slot as usize]
}

fn radix36(mut n: u64) -> String {
    const DIGITS: &[u8] = b"0123456789abcdefghijklmnopqrstuvwxyz";
    let mut out = Vec::new();
    loop {
        out.push(DIGITS[(n % 36) as usize]);
        n /= 36;
        if n == 0 {
            break;
        }
    }
    out.reverse();
    String::from_utf8(out).expect("ascii")
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

/// Parse one hash value `mode|fence|expires|holder`.
fn parse_lease(v: &str) -> Option<(Mode, u64, u64, &str)> {
    let mut it = v.splitn(4, '|');
    let mode = if it.next()? == "s" { Mode::Shared } else { Mode::Exclusive };
    let fence = it.next()?.parse().ok()?;
    let expires = it.next()?.parse().ok()?;
    Some((mode, fence, expires, it.next()?))
}

/// Escape a glob pattern's special characters.
fn glob_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        if matches!(c, '*' | '?' | '[' | ']' | '\\') {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

impl Shared {
    fn error(&self, e: impl std::fmt::Display) -> Error {
        let mut message = e.to_string();
        if let Some(p) = &self.password {
            message = message.replace(p.as_str(), "***");
        }
        Error::Unavailable { backend: "redis", message }
    }

    fn majority(&self) -> usize {
        self.conns.len() / 2 + 1
    }

    /// How long one server of a quorum may take to answer an attempt.
    fn quorum_timeout(ttl: Duration) -> Duration {
        (ttl / 10).clamp(Duration::from_millis(50), Duration::from_secs(1))
    }

    async fn acquire_on(&self, conn: &Conn, keys: &Keys, req: &OwnedRequest, min_fence: &str) -> redis::RedisResult<Vec<i64>> {
        let ttl = req.ttl_ms.to_string();
        let ticket = match req.ticket {
            Some(u64::MAX) => "new".to_owned(),
            Some(t) => t.to_string(),
            None => String::new(),
        };
        let life = ttl_ms(WAITER_STALE_AFTER).to_string();
        conn.invoke(
            &scripts().acquire,
            &[&keys.lock, &keys.fence, &keys.queue, &keys.beat, &keys.wait, &keys.seq],
            &[
                &hex(&req.owner),
                mode_arg(req.mode),
                ttl.as_bytes(),
                req.holder.as_bytes(),
                ticket.as_bytes(),
                life.as_bytes(),
                min_fence.as_bytes(),
                self.provider.as_bytes(),
            ],
        )
        .await
    }

    async fn try_acquire(&self, req: &OwnedRequest) -> Result<Attempt> {
        let keys = Keys::of(&req.key);
        if self.topology != RedisTopology::Quorum {
            let r = self.acquire_on(&self.conns[0], &keys, req, "").await.map_err(|e| self.error(e))?;
            return parse_attempt(&r).map(|(a, _)| a);
        }
        // A quorum: a majority must grant within the lease's validity.
        let start = Instant::now();
        let ttl = Duration::from_millis(req.ttl_ms);
        let limit = Self::quorum_timeout(ttl);
        let replies = futures_util::future::join_all(
            self.conns.iter().map(|c| tokio::time::timeout(limit, self.acquire_on(c, &keys, req, ""))),
        )
        .await;
        let (mut granted, mut errors, mut retry) = (Vec::new(), Vec::new(), None::<i64>);
        for (i, reply) in replies.into_iter().enumerate() {
            match reply {
                Ok(Ok(v)) if v.first() == Some(&1) && v.len() == 3 => granted.push((i, v[1] as u64)),
                Ok(Ok(v)) if v.len() == 2 && v[1] >= 0 => retry = Some(retry.map_or(v[1], |r| r.min(v[1]))),
                Ok(Ok(_)) => {}
                Ok(Err(e)) => errors.push(e.to_string()),
                Err(_) => errors.push(format!("no answer within {limit:?}")),
            }
        }
        let drift = ttl / 100 + Duration::from_millis(2);
        let validity = ttl.checked_sub(start.elapsed() + drift);
        if granted.len() >= self.majority() && validity.is_some() {
            let fence = granted.iter().map(|g| g.1).max().unwrap_or(0);
            return Ok(Attempt::Granted(Lease {
                fence,
                expires_at_ms: now_ms() + ttl_ms(validity.unwrap_or_default()),
                proof: fence.to_be_bytes().to_vec(),
            }));
        }
        // No quorum: give back what was granted, so nobody is held up.
        let min_fence = granted.iter().map(|g| g.1).max().unwrap_or(0).to_string();
        let give_back = granted.iter().map(|(i, _)| self.release_on(&self.conns[*i], &keys, &req.owner, &min_fence));
        let _ = tokio::time::timeout(limit, futures_util::future::join_all(give_back)).await;
        if errors.len() > self.conns.len() - self.majority() {
            return Err(Error::Unavailable {
                backend: "redis",
                message: format!(
                    "only {} of {} servers answered ({})",
                    self.conns.len() - errors.len(),
                    self.conns.len(),
                    errors.join("; ")
                )
                .replace(self.password.as_deref().unwrap_or("\u{0}"), "***"),
            });
        }
        Ok(Attempt::Busy { retry_in: retry.map(|r| Duration::from_millis(r as u64)) })
    }

    async fn release_on(&self, conn: &Conn, keys: &Keys, owner: &[u8; 16], min_fence: &str) -> redis::RedisResult<i64> {
        if self.topology == RedisTopology::Quorum {
            return conn
                .invoke(
                    &scripts().release_quorum,
                    &[&keys.lock, &keys.fence],
                    &[&hex(owner), CHANNEL.as_bytes(), min_fence.as_bytes()],
                )
                .await;
        }
        conn.invoke(
            &scripts().release,
            &[&keys.lock, &keys.fence, &keys.queue, &keys.beat, &keys.wait],
            &[&hex(owner), CHANNEL.as_bytes(), GRANT_PREFIX.as_bytes()],
        )
        .await
    }

    /// Run `op` on every server; `Ok(n)` counts the servers where it held.
    async fn on_all<'a, F, Fut>(&'a self, op: F) -> Result<Vec<redis::RedisResult<i64>>>
    where
        F: Fn(&'a Conn) -> Fut,
        Fut: std::future::Future<Output = redis::RedisResult<i64>>,
    {
        Ok(futures_util::future::join_all(self.conns.iter().map(|c| async {
            tokio::time::timeout(RESPONSE_TIMEOUT, op(c))
                .await
                .unwrap_or_else(|_| Err((redis::ErrorKind::Io, "timed out").into()))
        }))
        .await)
    }

    /// Fold per-server replies: a single server's error is the error; a
    /// quorum needs a majority of answers.
    fn agree(&self, replies: Vec<redis::RedisResult<i64>>) -> Result<Vec<i64>> {
        let total = replies.len();
        let mut ok = Vec::new();
        let mut last_err = None;
        for r in replies {
            match r {
                Ok(v) => ok.push(v),
                Err(e) => last_err = Some(e),
            }
        }
        if ok.len() < self.majority() {
            let e = last_err.map(|e| e.to_string()).unwrap_or_default();
            return Err(self.error(format!("only {} of {total} servers answered: {e}", ok.len())));
        }
        Ok(ok)
    }

    /// Leave the queue (see the LEAVE script).
    async fn leave(&self, key: &str, ticket: u64) -> Result<()> {
        // The owner, so that a lease handed to us meanwhile is given up too.
        let owner = {
            let mut waiters = self.waiters.lock();
            let owner = waiters.iter().find(|(_, w)| w.ticket == ticket && w.key == key).map(|(o, _)| *o);
            if let Some(o) = &owner {
                waiters.remove(o);
            }
            owner
        };
        self.withdraw(key, ticket, owner.as_ref()).await
    }

    /// The LEAVE script for `ticket`, withdrawing a lease `owner` may have
    /// been handed (its fence is skipped, never reissued).
    async fn withdraw(&self, key: &str, ticket: u64, owner: Option<&[u8; 16]>) -> Result<()> {
        let s = self;
        let keys = Keys::of(key);
        let t = ticket.to_string();
        let owner = owner.map(|o| hex(o).to_vec()).unwrap_or_default();
        s.conns[0]
            .invoke::<i64>(
                &scripts().leave,
                &[&keys.lock, &keys.fence, &keys.queue, &keys.beat, &keys.wait],
                &[t.as_bytes(), CHANNEL.as_bytes(), GRANT_PREFIX.as_bytes(), &owner],
            )
            .await
            .map(|_| ())
            .map_err(|e| s.error(e))
    }

    fn quorum_fence(&self, proof: &[u8]) -> String {
        match (self.topology, <[u8; 8]>::try_from(proof)) {
            (RedisTopology::Quorum, Ok(b)) => u64::from_be_bytes(b).to_string(),
            _ => String::new(),
        }
    }
}

/// What `enqueue` needs of a request that found the lock busy.
struct BusyRequest {
    key: String,
    ttl_ms: u64,
    holder: String,
}

/// An owned copy of a request, so that it can move into a task.
struct OwnedRequest {
    key: String,
    owner: [u8; 16],
    mode: Mode,
    ttl_ms: u64,
    holder: String,
    ticket: Option<u64>,
}

/// Parse the acquire script's reply: the attempt, and the ticket if it joined the queue.
fn parse_attempt(r: &[i64]) -> Result<(Attempt, Option<u64>)> {
    Ok(match r {
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

/// Parse a grant message: the key, a newline, `owner|fence|expires`.
fn parse_grant(msg: &str) -> Option<(&str, [u8; 16], Lease)> {
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

async fn listen(
    url: String,
    certs: Option<Certs>,
    shared: std::sync::Weak<Shared>,
    notices: Arc<Notices>,
    stop: CancellationToken,
    subscribed_tx: oneshot::Sender<()>,
) {
    let mut first = true;
    let mut subscribed_tx = Some(subscribed_tx);
    let grants = shared.upgrade().map(|s| format!("{GRANT_PREFIX}{}", s.provider));
    loop {
        let subscribed = async {
            let client = client(&url, certs.as_ref())?;
            let mut pubsub = client.get_async_pubsub().await?;
            pubsub.subscribe(CHANNEL).await?;
            if let Some(g) = &grants {
                pubsub.subscribe(g).await?;
            }
            Ok::<_, redis::RedisError>(pubsub)
        };
        let pubsub = tokio::select! {
            r = tokio::time::timeout(CONNECT_TIMEOUT, subscribed) => r.ok().and_then(|r| r.ok()),
            _ = stop.cancelled() => return,
        };
        if let Some(tx) = subscribed_tx.take() {
            // Connected (or not, this time): `open` waits no longer.
            let _ = tx.send(());
        }
        if let Some(mut pubsub) = pubsub {
            if !first {
                // Notices may have been missed while disconnected.
                notices.changed();
            }
            first = false;
            let mut messages = pubsub.on_message();
            loop {
                tokio::select! {
                    msg = messages.next() => match msg {
                        Some(m) => {
                            let Ok(payload) = m.get_payload::<String>() else { continue };
                            if m.get_channel_name() == CHANNEL {
                                notices.freed(&payload);
                            } else if let Some((key, owner, lease)) = parse_grant(&payload) {
                                // Ours: keep it for the waiter's next attempt and wake it.
                                let Some(shared) = shared.upgrade() else { return };
                                let mine = match shared.waiters.lock().get_mut(&owner) {
                                    Some(w) if w.key == key => {
                                        w.grant = Some(lease);
                                        true
                                    }
                                    _ => false,
                                };
                                if mine {
                                    notices.freed(key);
                                }
                            }
                        }
                        None => break,
                    },
                    _ = stop.cancelled() => return,
                }
            }
        }
        tokio::select! {
            _ = tokio::time::sleep(Duration::from_millis(250)) => {}
            _ = stop.cancelled() => return,
        }
    }
}

impl RedisBackend {
    pub(crate) async fn open(target: &RedisTarget, notices: &Arc<Notices>) -> Result<Self> {
        let scrub = |e: &dyn std::fmt::Display| {
            let mut m = e.to_string();
            if let Some(p) = &target.password {
                m = m.replace(p.as_str(), "***");
            }
            Error::Unavailable { backend: "redis", message: m }
        };
        let certs = load_certs(target.tls.as_ref())?;
        let conns = match target.topology {
            RedisTopology::Cluster => {
                let builder = redis::cluster::ClusterClientBuilder::new(target.nodes.iter().map(String::as_str))
                    .connection_timeout(CONNECT_TIMEOUT)
                    .response_timeout(RESPONSE_TIMEOUT);
                #[cfg(feature = "redis-tls")]
                let builder = match &certs {
                    Some(c) => builder.certs(c.clone()),
                    None => builder,
                };
                let client = builder.build().map_err(|e| scrub(&e))?;
                vec![Conn::Cluster(client.get_async_connection().await.map_err(|e| scrub(&e))?)]
            }
            _ => {
                let config = ConnectionManagerConfig::new()
                    .set_connection_timeout(Some(CONNECT_TIMEOUT))
                    .set_response_timeout(Some(RESPONSE_TIMEOUT))
                    .set_number_of_retries(2)
                    .set_max_delay(Duration::from_millis(200));
                let mut conns = Vec::new();
                for url in &target.nodes {
                    let client = client(url, certs.as_ref()).map_err(|e| scrub(&e))?;
                    conns.push(Conn::Server(
                        ConnectionManager::new_lazy_with_config(client, config.clone()).map_err(|e| scrub(&e))?,
                    ));
                }
                conns
            }
        };
        let shared = Arc::new(Shared {
            topology: target.topology,
            provider: format!("{:016x}", rand::random::<u64>()),
            waiters: Default::default(),
            busy: Default::default(),
            conns,
            urls: target.nodes.clone(),
            password: target.password.clone(),
            certs,
            stop: CancellationToken::new(),
        });
        let backend = RedisBackend { shared };
        backend.ping().await?;
        let loads = futures_util::future::join_all(backend.shared.conns.iter().map(Conn::load_scripts));
        let _ = tokio::time::timeout(Duration::from_millis(500), loads).await;
        let listen_to = match target.topology {
            RedisTopology::Quorum => target.nodes.clone(),
            // PUBLISH reaches every node of a cluster: one subscription will do.
            _ => target.nodes[..1].to_vec(),
        };
        // Wait for the subscriptions (each bounded by the connect timeout),
        // so that no notice or grant meant for this provider is missed.
        let mut subscribed = Vec::new();
        for url in listen_to {
            let (tx, rx) = oneshot::channel();
            tokio::spawn(listen(url, backend.shared.certs.clone(), Arc::downgrade(&backend.shared), notices.clone(), backend.shared.stop.clone(), tx));
            subscribed.push(rx);
        }
        let _ = tokio::time::timeout(CONNECT_TIMEOUT + Duration::from_millis(100), futures_util::future::join_all(subscribed)).await;
        Ok(backend)
    }

    async fn masters(&self) -> Result<Vec<Conn>> {
        let s = &self.shared;
        if s.topology != RedisTopology::Cluster {
            return Ok(s.conns.clone());
        }
        // SCAN is per node: find the masters and talk to each.
        let nodes: String = s.conns[0]
            .query(redis::cmd("CLUSTER").arg("NODES"))
            .await
            .map_err(|e| s.error(e))?;
        let (scheme, rest) = s.urls[0].split_once("://").unwrap_or(("redis", ""));
        let auth = rest.split_once('@').map(|(a, _)| format!("{a}@"));
        let mut out = Vec::new();
        for line in nodes.lines() {
            let f: Vec<&str> = line.split_whitespace().collect();
            if f.len() > 2 && f[2].contains("master") && !f[2].contains("fail") {
                let addr = f[1].split('@').next().unwrap_or_default();
                let url = format!("{scheme}://{}{addr}/0", auth.clone().unwrap_or_default());
                let client = client(&url, s.certs.as_ref()).map_err(|e| s.error(e))?;
                let conn = ConnectionManager::new_lazy_with_config(
                    client,
                    ConnectionManagerConfig::new()
                        .set_connection_timeout(Some(CONNECT_TIMEOUT))
                        .set_response_timeout(Some(RESPONSE_TIMEOUT)),
                )
                .map_err(|e| s.error(e))?;
                out.push(Conn::Server(conn));
            }
        }
        Ok(out)
    }

    /// Join the queue with a full attempt in one round trip (the acquire
    /// script with ticket `new`): the result waits in `waiters` for the
    /// engine's next attempt. A caller gone by the reply: the engine leaves
    /// the queue with the ticket, which gives back a grant too.
    async fn join(&self, key: &str, owner: &[u8; 16], mode: Mode, b: BusyRequest) -> Result<u64> {
        let shared = self.shared.clone();
        // Registered before the attempt, so that a grant that arrives
        // before the reply is kept.
        shared.waiters.lock().insert(*owner, Waiter { key: key.to_owned(), ticket: 0, grant: None, fresh: None });
        let req = OwnedRequest {
            key: key.to_owned(),
            owner: *owner,
            mode,
            ttl_ms: b.ttl_ms,
            holder: b.holder,
            ticket: Some(u64::MAX),
        };
        let keys = Keys::of(&req.key);
        let reply = shared.acquire_on(&shared.conns[0], &keys, &req, "").await.map_err(|e| shared.error(e));
        let joined = reply.and_then(|r| parse_attempt(&r)).and_then(|(attempt, ticket)| {
                let ticket = ticket.ok_or_else(|| Error::Internal("acquire joined no queue".into()))?;
                let mut waiters = shared.waiters.lock();
                let w = waiters.entry(req.owner).or_insert(Waiter {
                    key: req.key.clone(),
                    ticket,
                    grant: None,
                    fresh: None,
                });
                w.ticket = ticket;
                match attempt {
                    Attempt::Granted(lease) => w.grant = Some(lease),
                    Attempt::Busy { retry_in } => w.fresh = Some(retry_in),
                }
                Ok(ticket)
        });
        if joined.is_err() {
            shared.waiters.lock().remove(owner);
        }
        joined
    }

    async fn inspect_on(&self, conn: &Conn, key: &str) -> Result<Option<LeaseInfo>> {
        let r: Vec<String> =
            conn.invoke(&scripts().inspect, &[key], &[]).await.map_err(|e| self.shared.error(e))?;
        let now: u64 = r.first().and_then(|n| n.parse().ok()).unwrap_or_else(now_ms);
        let leases: Vec<_> = r[1..]
            .chunks(2)
            .filter_map(|c| c.get(1).and_then(|v| parse_lease(v)))
            .filter(|l| l.2 > now)
            .collect();
        // Expiry as this machine's clock sees it: the server's remaining time from now.
        let local = now_ms();
        Ok(summarize(leases.iter().map(|(m, f, e, h)| (*m, *f, *h, local + (e - now)))))
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
            queue: self.shared.topology != RedisTopology::Quorum,
            notices: true,
        }
    }

    async fn try_acquire(&self, req: &AcquireRequest<'_>) -> Result<Attempt> {
        if req.ticket.is_some() {
            // A release may have handed us the lock already.
            let mut waiters = self.shared.waiters.lock();
            if let Some(w) = waiters.get_mut(req.owner) {
                if let Some(lease) = w.grant.take() {
                    waiters.remove(req.owner);
                    return Ok(Attempt::Granted(lease));
                }
                if let Some(retry_in) = w.fresh.take() {
                    return Ok(Attempt::Busy { retry_in });
                }
            }
        }
        let owned = OwnedRequest {
            key: req.key.to_owned(),
            owner: *req.owner,
            mode: req.mode,
            ttl_ms: ttl_ms(req.ttl),
            holder: req.holder.to_string(),
            ticket: req.ticket,
        };
        // A caller gone while this is in flight: the engine gives back what it got.
        let attempt = self.shared.try_acquire(&owned).await;
        match (&attempt, req.ticket) {
            (Ok(Attempt::Granted(_)), Some(_)) => {
                self.shared.waiters.lock().remove(req.owner);
            }
            (Ok(Attempt::Busy { .. }), None) if self.shared.topology != RedisTopology::Quorum => {
                // The caller may wait next: keep what joining the queue needs.
                let mut busy = self.shared.busy.lock();
                if busy.len() >= 256 {
                    busy.clear();
                }
                busy.insert(
                    *req.owner,
                    BusyRequest { key: req.key.to_owned(), ttl_ms: ttl_ms(req.ttl), holder: req.holder.to_string() },
                );
            }
            _ => {}
        }
        attempt
    }

    async fn release(&self, key: &str, owner: &[u8; 16], proof: &[u8]) -> Result<bool> {
        let s = &self.shared;
        let keys = Keys::of(key);
        let fence = s.quorum_fence(proof);
        let replies = s.on_all(|c| s.release_on(c, &keys, owner, &fence)).await?;
        let ok = s.agree(replies)?;
        Ok(ok.iter().filter(|&&v| v == 1).count() >= s.majority())
    }

    async fn refresh(&self, key: &str, owner: &[u8; 16], proof: &[u8], ttl: Duration) -> Result<Option<u64>> {
        let s = &self.shared;
        let keys = Keys::of(key);
        let fence = s.quorum_fence(proof);
        let ttl_arg = ttl_ms(ttl).to_string();
        let start = Instant::now();
        let replies = s
            .on_all(|c| async {
                c.invoke(
                    &scripts().refresh,
                    &[&keys.lock, &keys.fence],
                    &[&hex(owner), ttl_arg.as_bytes(), fence.as_bytes()],
                )
                .await
            })
            .await?;
        let ok = s.agree(replies)?;
        if ok.iter().filter(|&&v| v > 0).count() < s.majority() {
            return Ok(None);
        }
        let drift = if s.topology == RedisTopology::Quorum { ttl / 100 + Duration::from_millis(2) } else { Duration::ZERO };
        Ok(ttl.checked_sub(start.elapsed() + drift).map(|v| now_ms() + ttl_ms(v)))
    }

    async fn force_release(&self, key: &str) -> Result<bool> {
        let s = &self.shared;
        let replies = s
            .on_all(|c| async move { c.invoke(&scripts().force_release, &[key], &[CHANNEL.as_bytes()]).await })
            .await?;
        Ok(s.agree(replies)?.contains(&1))
    }

    async fn inspect(&self, key: &str) -> Result<Option<LeaseInfo>> {
        let s = &self.shared;
        let mut seen = Vec::new();
        let mut answered = 0;
        for conn in &s.conns {
            match self.inspect_on(conn, key).await {
                Ok(info) => {
                    answered += 1;
                    if let Some(i) = info {
                        seen.push(i);
                    }
                }
                Err(e) if s.conns.len() == 1 => return Err(e),
                Err(_) => {}
            }
        }
        if answered < s.majority() {
            return Err(s.error(format!("only {answered} of {} servers answered", s.conns.len())));
        }
        if seen.len() < s.majority() {
            return Ok(None);
        }
        Ok(seen.into_iter().max_by_key(|i| i.fence))
    }

    async fn list(&self, prefix: &str) -> Result<Vec<(String, LeaseInfo)>> {
        let s = &self.shared;
        let pattern = format!("{}*", glob_escape(prefix));
        let mut keys = std::collections::BTreeSet::new();
        for conn in self.masters().await? {
            let mut cursor: u64 = 0;
            loop {
                let (next, batch): (u64, Vec<String>) = conn
                    .query(redis::cmd("SCAN").arg(cursor).arg("MATCH").arg(&pattern).arg("COUNT").arg(1000))
                    .await
                    .map_err(|e| s.error(e))?;
                keys.extend(batch);
                cursor = next;
                if cursor == 0 {
                    break;
                }
            }
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
        let s = &self.shared;
        if s.topology == RedisTopology::Quorum {
            return Err(unsupported("redis", "wait queues on a quorum of servers"));
        }
        let busy = s.busy.lock().remove(owner).filter(|b| b.key == key);
        if let Some(b) = busy {
            return self.join(key, owner, mode, b).await;
        }
        let keys = Keys::of(key);
        let life = ttl_ms(WAITER_STALE_AFTER).to_string();
        let ticket = s.conns[0]
            .invoke::<i64>(&scripts().enqueue, &[&keys.queue, &keys.beat, &keys.seq], &[mode_arg(mode), life.as_bytes()])
            .await
            .map(|t| t as u64)
            .map_err(|e| s.error(e))?;
        s.waiters.lock().insert(*owner, Waiter { key: key.to_owned(), ticket, grant: None, fresh: None });
        Ok(ticket)
    }

    async fn leave(&self, key: &str, ticket: u64) -> Result<()> {
        self.shared.leave(key, ticket).await
    }

    async fn ping(&self) -> Result<()> {
        let s = &self.shared;
        let replies = s
            .on_all(|c| async move { c.query::<String>(&redis::cmd("PING")).await.map(|_| 1) })
            .await?;
        s.agree(replies).map(|_| ())
    }

    fn close(&self) {
        self.shared.stop.cancel();
    }
}

impl Drop for RedisBackend {
    fn drop(&mut self) {
        self.shared.stop.cancel();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn companion_keys_share_the_lock_slot() {
        for name in ["__lock:default:plain", "__lock:ns:{braces}", "__lock:ns:}{", "__lock:ns:{}x{y}", "__lock:n:ünï"] {
            let k = Keys::of(name);
            let s = slot(k.lock.as_bytes());
            for c in [&k.fence, &k.queue, &k.beat, &k.seq, &k.wait] {
                assert_eq!(slot(c.as_bytes()), s, "{c}");
            }
        }
        // The reference values of the Redis Cluster specification.
        assert_eq!(crc16(b"123456789"), 0x31C3);
        assert_eq!(slot(b"{user1000}.following"), slot(b"{user1000}.followers"));
    }

    #[test]
    fn leases_parse() {
        assert_eq!(parse_lease("x|7|123|host:1|with|bars"), Some((Mode::Exclusive, 7, 123, "host:1|with|bars")));
        assert_eq!(glob_escape("a*b?[c]\\"), "a\\*b\\?\\[c\\]\\\\");
    }
}
