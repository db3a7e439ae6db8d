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

enum Impl {
    Ferrolock { lock: ferrolock::Lock, label: &'static str, _locks: ferrolock::Locks },
    Floor { conn: MultiplexedConnection, script: redis::Script, key: String, seq: u64, salt: u64 },
    Rslock { manager: rslock::LockManager, key: String },
}

impl Impl {
    async fn open(name: &str, url: &str) -> Result<Impl, String> {
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
            "rslock" => {
                let manager = rslock::LockManager::new(vec![url.to_owned()]);
                Impl::Rslock { manager, key: format!("bench-pair-rslock-{pid}") }
            }
            other => return Err(format!("unknown implementation {other:?}")),
        })
    }

    fn label(&self) -> &'static str {
        match self {
            Impl::Ferrolock { label, .. } => label,
            Impl::Floor { .. } => "floor: SET NX PX + EVALSHA compare-and-delete (redis crate)",
            Impl::Rslock { .. } => "rslock 0.10 (Rust)",
        }
    }

    /// `n` pairs; the time they took.
    async fn run(&mut self, n: u64) -> Result<Duration, String> {
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
        }
        Ok(start.elapsed())
    }
}

pub fn main(opts: &Opts) -> Result<(), String> {
    let url = opts.str("url")?.to_owned();
    let pairs = opts.num("pairs")?.max(1);
    let rounds = opts.num("rounds")?.max(1);
    let names: Vec<String> = opts.str("impl")?.split(',').map(str::to_owned).collect();
    let same_process_floor = opts.str_or("same-process-floor", "no") == "yes";
    let rt = match std::env::var("FERROLOCK_BENCH_FLAVOR").as_deref() {
        Ok("multi_thread") => tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build(),
        _ => tokio::runtime::Builder::new_current_thread().enable_all().build(),
    }
    .map_err(|e| e.to_string())?;
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
