//! Uncontended acquire+release pairs, Rust side: ferrolock (auto-renew off
//! and default), the floor (the same two round trips from a plain `redis`
//! crate loop) and rslock. Every implementation named in `--impl` runs in
//! this one process on one tokio runtime (`current_thread`; with
//! `FERROLOCK_BENCH_FLAVOR=multi_thread`, the multi-thread runtime that
//! `#[tokio::main]` makes, 2 workers), warmed up, then
//! in alternating slices of each round, so a slow moment of the machine
//! hits all alike.

use crate::Opts;
use redis::aio::MultiplexedConnection;
use std::time::{Duration, Instant};

const TTL: Duration = Duration::from_secs(10);

/// The floor's release: compare-and-delete, sent as EVALSHA (`Script`
/// loads it on the first NOSCRIPT and uses EVALSHA from then on).
pub const UNLOCK: &str = "if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) else return 0 end";

pub(crate) enum Impl {
    Ferrolock { lock: ferrolock::Lock, label: &'static str, _locks: ferrolock::Locks },
    Floor { conn: MultiplexedConnection, script: redis::Script, key: String, seq: u64, salt: u64 },
    Rslock { manager: rslock::LockManager, key: String },
    /// The floor of a quorum: the same SET NX PX and compare-and-delete
    /// sent to every server at once, each step done when a majority
    /// answered yes (a server that cannot be reached has no connection).
    FloorQuorum { conns: Vec<MultiplexedConnection>, servers: usize, script: redis::Script, key: String, seq: u64, salt: u64 },
}

/// The single-server URLs of a quorum URL `redis://h1,h2,h3`.
pub(crate) fn servers_of(url: &str) -> Vec<String> {
    let rest = url.strip_prefix("redis://").unwrap_or(url);
    let (hosts, path) = rest.split_once('/').map_or((rest, ""), |(h, p)| (h, p));
    hosts.split(',').map(|h| format!("redis://{h}/{path}")).collect()
}

impl Impl {
    pub(crate) async fn open(name: &str, url: &str) -> Result<Impl, String> {
        let err = |e: &dyn std::fmt::Display| format!("{name}: {e}");
        let pid = std::process::id();
        Ok(match name {
            "ferrolock" | "ferrolock-norenew" => {
                let locks = ferrolock::Locks::connect(url).await.map_err(|e| err(&e))?;
                let mut lock = locks.lock(format!("bench-pair-{name}-{pid}")).ttl(TTL);
                let label = if name == "ferrolock" {
                    "ferrolock (Rust, default: auto-renew on)"
                } else {
                    lock = lock.auto_renew(false);
                    "ferrolock (Rust, auto_renew(false))"
                };
                Impl::Ferrolock { lock, label, _locks: locks }
            }
            "floor" => {
                let client = redis::Client::open(url).map_err(|e| err(&e))?;
                let conn = client.get_multiplexed_async_connection().await.map_err(|e| err(&e))?;
                Impl::Floor {
                    conn,
                    script: redis::Script::new(UNLOCK),
                    key: format!("bench-pair-floor-{pid}"),
                    seq: 0,
                    salt: rand::random(),
                }
            }
            "floor-quorum" => {
                let servers = servers_of(url);
                let mut conns = Vec::new();
                for u in &servers {
                    let connect = async { redis::Client::open(u.as_str())?.get_multiplexed_async_connection().await };
                    if let Ok(Ok(c)) = tokio::time::timeout(Duration::from_secs(1), connect).await {
                        conns.push(c);
                    }
                }
                Impl::FloorQuorum {
                    conns,
                    servers: servers.len(),
                    script: redis::Script::new(UNLOCK),
                    key: format!("bench-pair-floorq-{pid}"),
                    seq: 0,
                    salt: rand::random(),
                }
            }
            "rslock" => {
                let manager = rslock::LockManager::new(servers_of(url));
                Impl::Rslock { manager, key: format!("bench-pair-rslock-{pid}") }
            }
            other => return Err(format!("unknown implementation {other:?}")),
        })
    }

    /// The commands it sends itself (not those its scripts call, which
    /// commandstats counts too): whose server time is the pair's.
    fn top_level(&self) -> &'static [&'static str] {
        match self {
            Impl::Ferrolock { .. } => &["evalsha"],
            Impl::Floor { .. } | Impl::FloorQuorum { .. } => &["set", "evalsha"],
            Impl::Rslock { .. } => &["set", "evalsha", "eval"],
        }
    }

    pub(crate) fn label(&self) -> &'static str {
        match self {
            Impl::Ferrolock { label, .. } => label,
            Impl::Floor { .. } => "floor: SET NX PX + EVALSHA compare-and-delete (redis crate)",
            Impl::Rslock { .. } => "rslock 0.10 (Rust)",
            Impl::FloorQuorum { .. } => "floor: SET NX PX + compare-and-delete on every server at once, each step at a majority's pace",
        }
    }

    /// `n` pairs; the time they took.
    pub(crate) async fn run(&mut self, n: u64) -> Result<Duration, String> {
        let start = Instant::now();
        match self {
            Impl::Ferrolock { lock, .. } => {
                for _ in 0..n {
                    let held = lock.acquire(TTL).await.map_err(|e| e.to_string())?;
                    if !held.release().await.map_err(|e| e.to_string())? {
                        return Err("ferrolock: release found the lease gone".into());
                    }
                }
            }
            Impl::Floor { conn, script, key, seq, salt } => {
                for _ in 0..n {
                    *seq += 1;
                    let val = format!("{salt:016x}{seq:016x}");
                    let ok: Option<String> = redis::cmd("SET")
                        .arg(&*key)
                        .arg(&val)
                        .arg("NX")
                        .arg("PX")
                        .arg(TTL.as_millis() as u64)
                        .query_async(conn)
                        .await
                        .map_err(|e| e.to_string())?;
                    if ok.is_none() {
                        return Err("floor: SET NX found the key taken".into());
                    }
                    let deleted: i64 =
                        script.key(&*key).arg(&val).invoke_async(conn).await.map_err(|e| e.to_string())?;
                    if deleted != 1 {
                        return Err("floor: compare-and-delete deleted nothing".into());
                    }
                }
            }
            Impl::Rslock { manager, key } => {
                for _ in 0..n {
                    let lock = manager.lock(key.as_bytes(), TTL).await.map_err(|e| format!("rslock: {e}"))?;
                    lock.release().await;
                }
            }
            Impl::FloorQuorum { conns, servers, script, key, seq, salt } => {
                use futures_util::stream::FuturesUnordered;
                let majority = *servers / 2 + 1;
                for _ in 0..n {
                    *seq += 1;
                    let val = format!("{salt:016x}{seq:016x}");
                    let sets: FuturesUnordered<_> = conns
                        .iter()
                        .map(|c| {
                            let mut c = c.clone();
                            let (key, val) = (key.clone(), val.clone());
                            async move {
                                let ok: redis::RedisResult<Option<String>> = redis::cmd("SET")
                                    .arg(key)
                                    .arg(val)
                                    .arg("NX")
                                    .arg("PX")
                                    .arg(TTL.as_millis() as u64)
                                    .query_async(&mut c)
                                    .await;
                                matches!(ok, Ok(Some(_)))
                            }
                        })
                        .collect();
                    if count_to(sets, majority).await < majority {
                        return Err("floor-quorum: no majority for SET NX".into());
                    }
                    let dels: FuturesUnordered<_> = conns
                        .iter()
                        .map(|c| {
                            let mut c = c.clone();
                            let (script, key, val) = (script.clone(), key.clone(), val.clone());
                            async move { matches!(script.key(key).arg(val).invoke_async::<i64>(&mut c).await, Ok(1)) }
                        })
                        .collect();
                    count_to(dels, majority).await;
                }
            }
        }
        Ok(start.elapsed())
    }
}

/// The runtime benchmarks run on: `current_thread`, or with
/// `FERROLOCK_BENCH_FLAVOR=multi_thread` the one `#[tokio::main]` makes.
pub(crate) fn runtime() -> Result<tokio::runtime::Runtime, String> {
    match std::env::var("FERROLOCK_BENCH_FLAVOR").as_deref() {
        Ok("multi_thread") => tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build(),
        _ => tokio::runtime::Builder::new_current_thread().enable_all().build(),
    }
    .map_err(|e| e.to_string())
}

/// How many of `answers` said yes, counted until `majority` did (the rest
/// are dropped: their commands were sent, their replies are not awaited).
async fn count_to(mut answers: futures_util::stream::FuturesUnordered<impl std::future::Future<Output = bool>>, majority: usize) -> usize {
    use futures_util::stream::StreamExt as _;
    let mut yes = 0;
    while let Some(ok) = answers.next().await {
        yes += usize::from(ok);
        if yes >= majority {
            break;
        }
    }
    yes
}

pub fn main(opts: &Opts) -> Result<(), String> {
    let url = opts.str("url")?.to_owned();
    let pairs = opts.num("pairs")?.max(1);
    let rounds = opts.num("rounds")?.max(1);
    let names: Vec<String> = opts.str("impl")?.split(',').map(str::to_owned).collect();
    let same_process_floor = opts.str_or("same-process-floor", "no") == "yes";
    let rt = runtime()?;
    rt.block_on(async move {
        let mut impls = Vec::new();
        for name in &names {
            impls.push(Impl::open(name, &url).await?);
        }
        // Warm-up: connections, script caches, allocator.
        for i in impls.iter_mut() {
            i.run((pairs / 4).max(50)).await?;
        }
        // Each round runs every implementation in SLICES alternating slices,
        // so that a slow moment of the machine hits all of them alike.
        const SLICES: u64 = 10;
        let mut figures = vec![Vec::new(); impls.len()];
        for _ in 0..rounds {
            let mut spent = vec![Duration::ZERO; impls.len()];
            for k in 0..SLICES {
                let n = pairs / SLICES + u64::from(k < pairs % SLICES);
                for (i, t) in impls.iter_mut().zip(spent.iter_mut()) {
                    if n > 0 {
                        *t += i.run(n).await?;
                    }
                    // Let background tasks (the renewal watchdog) run between slices.
                    tokio::task::yield_now().await;
                }
            }
            for (f, t) in figures.iter_mut().zip(&spent) {
                f.push(t.as_nanos() as f64 / pairs as f64);
            }
        }
        if opts.str_or("server-cost", "no") == "yes" {
            return server_cost(&url, &mut impls, pairs, opts.str_or("callgrind-pid", "")).await;
        }
        for (i, f) in impls.iter().zip(&figures) {
            let mut line = serde_json::json!({ "name": i.label(), "ns_per_pair": f });
            if same_process_floor && matches!(i, Impl::Floor { .. }) {
                // The driver uses it as this process's floor, not as a row.
                line["role"] = "floor".into();
            }
            println!("{line}");
        }
        Ok(())
    })
}

/// What a pair costs the server (`--server-cost yes`), each implementation
/// on its own after the warm-up: `INFO commandstats` after `CONFIG
/// RESETSTAT` (server µs per pair, of the commands the client sent: a
/// script's time includes the commands it called; and every command per
/// pair, the scripts' included) and, when the server runs
/// under callgrind (`--callgrind-pid P`), its instructions per pair, which
/// the machine's load does not change. One JSON line each.
async fn server_cost(url: &str, impls: &mut [Impl], pairs: u64, callgrind_pid: &str) -> Result<(), String> {
    let client = redis::Client::open(url).map_err(|e| e.to_string())?;
    let mut admin = client.get_multiplexed_async_connection().await.map_err(|e| e.to_string())?;
    let callgrind = |what: &str| -> Result<(), String> {
        if callgrind_pid.is_empty() {
            return Ok(());
        }
        let out = std::process::Command::new("callgrind_control")
            .args([what, callgrind_pid])
            .output()
            .map_err(|e| format!("callgrind_control: {e}"))?;
        if !out.status.success() {
            return Err(format!("callgrind_control {what} failed"));
        }
        Ok(())
    };
    for i in impls.iter_mut() {
        let _: () = redis::cmd("CONFIG").arg("RESETSTAT").query_async(&mut admin).await.map_err(|e| e.to_string())?;
        callgrind("-z")?;
        i.run(pairs).await?;
        callgrind("-d")?;
        let info: String = redis::cmd("INFO").arg("commandstats").query_async(&mut admin).await.map_err(|e| e.to_string())?;
        let mut usec = 0u64;
        let mut commands = serde_json::Map::new();
        for line in info.lines() {
            let Some((name, stats)) = line.strip_prefix("cmdstat_").and_then(|l| l.split_once(':')) else { continue };
            if matches!(name, "config" | "info") {
                continue; // this function's own
            }
            let field = |k: &str| {
                stats.split(',').find_map(|kv| kv.strip_prefix(k)?.strip_prefix('=')?.parse::<u64>().ok()).unwrap_or(0)
            };
            if i.top_level().contains(&name) {
                usec += field("usec");
            }
            commands.insert(name.to_owned(), (field("calls") as f64 / pairs as f64).into());
        }
        let mut line = serde_json::json!({
            "name": i.label(),
            "server_usec_per_pair": usec as f64 / pairs as f64,
            "commands_per_pair": commands,
        });
        if !callgrind_pid.is_empty() {
            line["server_instructions_per_pair"] = (last_callgrind_total(callgrind_pid)? as f64 / pairs as f64).into();
        }
        println!("{line}");
    }
    Ok(())
}

/// The `totals:` (or `summary:`) line of the latest dump of callgrind
/// process `pid` (`callgrind.out.<pid>.<n>` in the server's working
/// directory, given as CALLGRIND_DIR: the highest `n`).
fn last_callgrind_total(pid: &str) -> Result<u64, String> {
    let dir = std::env::var("CALLGRIND_DIR").map_err(|_| "CALLGRIND_DIR is not set".to_string())?;
    let newest = std::fs::read_dir(&dir)
        .map_err(|e| format!("{dir}: {e}"))?
        .filter_map(|e| e.ok())
        .filter_map(|e| {
            let name = e.file_name().to_string_lossy().into_owned();
            let n: u64 = name.strip_prefix(&format!("callgrind.out.{pid}."))?.parse().ok()?;
            Some((n, e.path()))
        })
        .max_by_key(|(n, _)| *n)
        .ok_or_else(|| format!("no callgrind dump of {pid} in {dir}"))?;
    let text = std::fs::read_to_string(&newest.1).map_err(|e| e.to_string())?;
    text.lines()
        .find_map(|l| l.strip_prefix("totals:").or_else(|| l.strip_prefix("summary:")))
        .and_then(|v| v.trim().split_whitespace().next()?.parse().ok())
        .ok_or_else(|| "a callgrind dump without totals".to_string())
}
