//! One contended worker, per the contract in bench/README.md: connect, say
//! `ready`, wait for `go`, then N times: t0, acquire (waiting as long as
//! needed, ttl 10 s), t1, GET + SET the counter (non-atomic, plain redis
//! client), t2, release; then one JSON line per acquisition and `done`.
//!
//! `--impl ferrolock` (default settings: auto-renew on, FIFO queue, release
//! notices), `rslock` (its `acquire`, which loops over `lock`: 3 tries with a
//! random 0-200 ms pause between them, its defaults), `floor` (raw
//! `SET NX PX`, polled every 1 ms while taken; compare-and-delete release)
//! or `floor-fifo`, the handoff's floor: the lock is one baton in a Redis
//! list, taken with `BLPOP` (the server serves blocked clients first come,
//! first served) and given back with `LPUSH`, which the server hands to the
//! longest waiter at once. One round trip to take a free lock, one to release
//! it, and a handoff that costs the release's trip to the server plus the
//! server's reply to the waiter: the least a fair 1-RTT handoff can cost on
//! this machine. No ttl, no fence, no owner check: a floor, not a lock.

use crate::pair::UNLOCK;
use crate::Opts;
use redis::aio::MultiplexedConnection;
use std::io::{BufRead, Write};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

const TTL: Duration = Duration::from_secs(10);

fn now_ns() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_nanos() as u64).unwrap_or(0)
}

async fn bump(conn: &mut MultiplexedConnection, key: &str) -> Result<(), String> {
    let v: Option<i64> = redis::cmd("GET").arg(key).query_async(conn).await.map_err(|e| e.to_string())?;
    let () = redis::cmd("SET").arg(key).arg(v.unwrap_or(0) + 1).query_async(conn).await.map_err(|e| e.to_string())?;
    Ok(())
}

/// The list that holds `floor-fifo`'s baton.
fn baton(lock: &str) -> String {
    format!("{lock}:baton")
}

enum Taker {
    Ferrolock(ferrolock::Lock, ferrolock::Locks),
    Rslock(rslock::LockManager),
    Floor(MultiplexedConnection, redis::Script),
    /// A connection of its own for `BLPOP` (a blocked command holds up
    /// whatever else shares its connection), without a response timeout.
    FloorFifo(MultiplexedConnection),
}

pub fn main(opts: &Opts) -> Result<(), String> {
    let url = opts.str("url")?.to_owned();
    let name = opts.str("lock")?.to_owned();
    let counter = opts.str("counter")?.to_owned();
    let n = opts.num("iterations")?;
    let id = opts.num("worker")?;
    let kind = opts.str_or("impl", "ferrolock").to_owned();
    // current_thread, or multi_thread with FERROLOCK_BENCH_FLAVOR (as the pairs).
    let rt = crate::pair::runtime()?;
    rt.block_on(async move {
        let client = redis::Client::open(url.as_str()).map_err(|e| e.to_string())?;
        let mut plain = client.get_multiplexed_async_connection().await.map_err(|e| e.to_string())?;
        let taker = match kind.as_str() {
            "ferrolock" => {
                let locks = ferrolock::Locks::connect(&url).await.map_err(|e| e.to_string())?;
                Taker::Ferrolock(locks.lock(name.as_str()).ttl(TTL), locks)
            }
            "rslock" => Taker::Rslock(rslock::LockManager::new(vec![url.clone()])),
            "floor" => Taker::Floor(plain.clone(), redis::Script::new(UNLOCK)),
            "floor-fifo" => {
                // Worker 0 puts the one baton in the list before it says ready
                // (every worker waits for `go`; the list is new each round).
                if id == 0 {
                    let _: i64 = redis::cmd("LPUSH").arg(baton(&name)).arg("baton").query_async(&mut plain).await.map_err(|e| e.to_string())?;
                }
                let config = redis::AsyncConnectionConfig::new().set_response_timeout(None);
                let conn = client.get_multiplexed_async_connection_with_config(&config).await.map_err(|e| e.to_string())?;
                Taker::FloorFifo(conn)
            }
            other => return Err(format!("unknown implementation {other:?}")),
        };
        {
            let mut out = std::io::stdout();
            writeln!(out, "ready").and_then(|_| out.flush()).map_err(|e| e.to_string())?;
            let mut line = String::new();
            std::io::stdin().lock().read_line(&mut line).map_err(|e| e.to_string())?;
            if line.trim() != "go" {
                return Err(format!("expected go, read {line:?}"));
            }
        }
        let mut records = Vec::with_capacity(n as usize);
        let salt: u64 = rand::random();
        for i in 0..n {
            let t0 = now_ns();
            match &taker {
                Taker::Ferrolock(lock, _) => {
                    let held = lock.acquire(Duration::MAX).await.map_err(|e| e.to_string())?;
                    let t1 = now_ns();
                    bump(&mut plain, &counter).await?;
                    let t2 = now_ns();
                    held.release().await.map_err(|e| e.to_string())?;
                    records.push((t0, t1, t2));
                }
                Taker::Rslock(manager) => {
                    let guard = manager.acquire(name.as_bytes(), TTL).await.map_err(|e| format!("rslock: {e}"))?;
                    let t1 = now_ns();
                    bump(&mut plain, &counter).await?;
                    let t2 = now_ns();
                    guard.release().await;
                    records.push((t0, t1, t2));
                }
                Taker::Floor(conn, script) => {
                    let mut conn = conn.clone();
                    let val = format!("{salt:016x}{i:016x}");
                    loop {
                        let ok: Option<String> = redis::cmd("SET")
                            .arg(&name)
                            .arg(&val)
                            .arg("NX")
                            .arg("PX")
                            .arg(TTL.as_millis() as u64)
                            .query_async(&mut conn)
                            .await
                            .map_err(|e| e.to_string())?;
                        if ok.is_some() {
                            break;
                        }
                        tokio::time::sleep(Duration::from_millis(1)).await;
                    }
                    let t1 = now_ns();
                    bump(&mut plain, &counter).await?;
                    let t2 = now_ns();
                    let _: i64 = script.key(&name).arg(&val).invoke_async(&mut conn).await.map_err(|e| e.to_string())?;
                    records.push((t0, t1, t2));
                }
                Taker::FloorFifo(conn) => {
                    let mut conn = conn.clone();
                    let _: (String, String) = redis::cmd("BLPOP").arg(baton(&name)).arg(0).query_async(&mut conn).await.map_err(|e| e.to_string())?;
                    let t1 = now_ns();
                    bump(&mut plain, &counter).await?;
                    let t2 = now_ns();
                    let _: i64 = redis::cmd("LPUSH").arg(baton(&name)).arg("baton").query_async(&mut conn).await.map_err(|e| e.to_string())?;
                    records.push((t0, t1, t2));
                }
            }
        }
        if let Taker::Ferrolock(_, locks) = &taker {
            locks.close().await;
        }
        let mut out = std::io::stdout().lock();
        for (t0, t1, t2) in records {
            writeln!(out, "{{\"w\": {id}, \"t0\": {t0}, \"t1\": {t1}, \"t2\": {t2}}}").map_err(|e| e.to_string())?;
        }
        writeln!(out, "done").and_then(|_| out.flush()).map_err(|e| e.to_string())?;
        Ok(())
    })
}
