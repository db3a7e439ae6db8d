//! A quorum with a dead minority (issue 16): the same work on a quorum of
//! three with all up (`--up`) and on one whose first server is dead
//! (`--down`), in one process, interleaved slice by slice.
//!
//! - pairs: ferrolock, the quorum floor (pair.rs: SET NX PX and
//!   compare-and-delete on every server at once, each step at a majority's
//!   pace) and rslock, on each quorum; one JSON line per implementation
//!   and quorum with ns per pair for every round.
//! - contended: `--tasks` tasks × `--iterations` acquisitions of one key
//!   (ttl 10 s, wait 20 s) on one provider, as the finding did; one
//!   JSON line per quorum: seconds, acquisitions counted, errors.

use crate::pair::Impl;
use crate::Opts;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

pub fn main(opts: &Opts) -> Result<(), String> {
    let up = opts.str("up")?.to_owned();
    let down = opts.str("down")?.to_owned();
    let pairs = opts.num_or("pairs", 1000)?.max(10);
    let rounds = opts.num_or("rounds", 5)?.max(1);
    let tasks = opts.num_or("tasks", 8)?;
    let iterations = opts.num_or("iterations", 100)?;
    let rt = crate::pair::runtime()?;
    rt.block_on(async move {
        let mut impls = Vec::new();
        for name in ["ferrolock", "floor-quorum", "rslock"] {
            for (which, url) in [("up", &up), ("down", &down)] {
                impls.push((which, Impl::open(name, url).await?));
            }
        }
        let mut figures = vec![Vec::new(); impls.len()];
        let mut failed = vec![None; impls.len()];
        for (i, (_, imp)) in impls.iter_mut().enumerate() {
            if let Err(e) = imp.run((pairs / 4).max(20)).await {
                failed[i] = Some(e);
            }
        }
        const SLICES: u64 = 10;
        for _ in 0..rounds {
            let mut spent = vec![Duration::ZERO; impls.len()];
            for _ in 0..SLICES {
                for (i, (_, imp)) in impls.iter_mut().enumerate() {
                    if failed[i].is_some() {
                        continue;
                    }
                    // A peer that cannot work with a server down is reported, not fatal.
                    match tokio::time::timeout(Duration::from_secs(60), imp.run(pairs / SLICES)).await {
                        Ok(Ok(t)) => spent[i] += t,
                        Ok(Err(e)) => failed[i] = Some(e),
                        Err(_) => failed[i] = Some("no answer within 60 s".into()),
                    }
                    tokio::task::yield_now().await;
                }
            }
            for (f, t) in figures.iter_mut().zip(&spent) {
                f.push(t.as_nanos() as f64 / (pairs / SLICES * SLICES) as f64);
            }
        }
        for (i, (which, imp)) in impls.iter().enumerate() {
            let line = match &failed[i] {
                None => serde_json::json!({ "name": imp.label(), "quorum": which, "ns_per_pair": figures[i] }),
                Some(e) => serde_json::json!({ "name": imp.label(), "quorum": which, "error": e }),
            };
            println!("{line}");
        }
        for (which, url) in [("up", &up), ("down", &down)] {
            let locks = ferrolock::Locks::connect(url).await.map_err(|e| e.to_string())?;
            let count = Arc::new(AtomicU64::new(0));
            let start = Instant::now();
            let workers: Vec<_> = (0..tasks)
                .map(|_| {
                    let (locks, count) = (locks.clone(), count.clone());
                    tokio::spawn(async move {
                        for _ in 0..iterations {
                            let lock = locks.lock("bench-quorum-contended").ttl(Duration::from_secs(10));
                            let held = lock.acquire(Duration::from_secs(20)).await.map_err(|e| e.to_string())?;
                            count.fetch_add(1, Ordering::Relaxed);
                            held.release().await.map_err(|e| e.to_string())?;
                        }
                        Ok::<_, String>(())
                    })
                })
                .collect();
            let mut errors = Vec::new();
            for w in workers {
                if let Err(e) = w.await.map_err(|e| e.to_string()).and_then(|r| r) {
                    errors.push(e);
                }
            }
            let line = serde_json::json!({
                "contended": which, "seconds": start.elapsed().as_secs_f64(),
                "acquired": count.load(Ordering::Relaxed), "expected": tasks * iterations, "errors": errors,
            });
            println!("{line}");
        }
        Ok(())
    })
}
