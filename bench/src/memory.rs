//! Benchmark 1: an uncontended `try_acquire()` + `release()` pair on the
//! memory backend, against a `tokio::sync::Mutex` lock + unlock.

use crate::report::Row;
use crate::stats::{fmt_ns, interleaved, Case, Plan};
use std::hint::black_box;
use std::time::Instant;

/// Let the runtime's other tasks (the provider's renewal watchdog) run
/// between batches, outside the timed part: in a batch the loop never
/// yields, since neither the memory backend nor an idle SQLite file makes
/// an operation wait.
pub async fn settle() {
    for _ in 0..4 {
        tokio::task::yield_now().await;
    }
}

/// `n` uncontended `try_acquire` + `release` pairs of `lock`, timed (after
/// a `settle`, outside the timed part): ferrolock's side of every pair
/// benchmark.
pub async fn ferrolock_pairs(lock: &ferrolock::Lock, n: u64) -> std::time::Duration {
    settle().await;
    let t = std::time::Instant::now();
    for _ in 0..n {
        let held = lock.try_acquire().await.expect("try_acquire").expect("the lock is free");
        assert!(std::hint::black_box(held.release().await.expect("release")));
    }
    t.elapsed()
}

/// A fresh, random-looking owner id per acquisition (xorshift on `seed`),
/// as core makes them: the floors' owner ids.
pub fn next_owner(seed: &mut u64) -> [u8; 16] {
    let mut out = [0u8; 16];
    for half in out.chunks_mut(8) {
        *seed ^= *seed << 13;
        *seed ^= *seed >> 7;
        *seed ^= *seed << 17;
        half.copy_from_slice(&seed.to_le_bytes());
    }
    out
}

/// The runtime flavors users run: `current_thread`, and `#[tokio::main]`'s
/// multi-thread runtime (2 workers here).
pub fn runtimes() -> [(&'static str, tokio::runtime::Runtime); 2] {
    [
        ("current_thread", tokio::runtime::Builder::new_current_thread().enable_all().build().expect("runtime")),
        (
            "multi_thread",
            tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().expect("runtime"),
        ),
    ]
}

pub fn run(plan: Plan, details: &mut String) -> Vec<Row> {
    let mut rows = Vec::new();
    for (flavor, rt) in runtimes() {
        rows.extend(run_on(plan, &rt, flavor, details));
    }
    rows
}

fn run_on(plan: Plan, rt: &tokio::runtime::Runtime, flavor: &str, details: &mut String) -> Vec<Row> {
    let locks = rt.block_on(ferrolock::Locks::connect("memory://bench")).expect("connect memory://bench");
    let lock = locks.lock("bench");
    let lock_no_renew = locks.lock("bench").auto_renew(false);
    let mutex = tokio::sync::Mutex::new(0u64);

    let blocking = ferrolock::blocking::Locks::connect("memory://bench-blocking").expect("connect blocking");
    let blocking_lock = blocking.lock("bench");

    let mut cases: Vec<Case<'_>> = vec![
        // The floor: an uncontended async mutex, lock + unlock.
        Box::new(|n| {
            rt.block_on(async {
                settle().await;
                let t = Instant::now();
                for _ in 0..n {
                    let mut g = mutex.lock().await;
                    *g += 1;
                    drop(black_box(g));
                }
                t.elapsed()
            })
        }),
        Box::new(|n| rt.block_on(ferrolock_pairs(&lock, n))),
        Box::new(|n| rt.block_on(ferrolock_pairs(&lock_no_renew, n))),
        Box::new(|n| {
            let t = Instant::now();
            for _ in 0..n {
                let held = blocking_lock.try_acquire().expect("try_acquire").expect("the lock is free");
                assert!(black_box(held.release().expect("release")));
            }
            t.elapsed()
        }),
    ];
    let s = interleaved(plan, &mut cases);
    drop(cases);
    rt.block_on(locks.close());
    blocking.close();

    let floor = s[0].median_ns();
    details.push_str(&format!("### 1. memory: try_acquire + release ({flavor} runtime)\n\n"));
    details.push_str("The table shows the median round:\n\n");
    crate::stats::describe_all(
        details,
        &[
            ("tokio::sync::Mutex lock+unlock (floor)", &s[0]),
            ("ferrolock async", &s[1]),
            ("ferrolock async, auto_renew(false)", &s[2]),
            ("ferrolock::blocking", &s[3]),
        ],
    );

    let row = |name: &str, ns: f64, target: Option<f64>| {
        let ratio = ns / floor;
        Row {
            benchmark: name.to_owned(),
            ferrolock: fmt_ns(ns),
            floor: fmt_ns(floor),
            ratio: Some(ratio),
            target: target.map_or("info".to_owned(), |t| format!("<= {t}x")),
            met: target.map(|t| ratio <= t),
        }
    };
    vec![
        row(&format!("memory try_acquire+release (async, {flavor})"), s[1].median_ns(), Some(8.0)),
        row(&format!("memory pair, auto_renew(false), {flavor}"), s[2].median_ns(), None),
        row(&format!("memory pair, ferrolock::blocking (with the {flavor} rounds)"), s[3].median_ns(), None),
    ]
}
