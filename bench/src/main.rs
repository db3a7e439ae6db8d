//! ferrolock's benchmarks: not tests, not run by CI. Run them with
//! `bench/run` (see bench/README.md). Every benchmark measures its floor in
//! the same run and reports the ratio to it.
//!
//! Usage: ferrolock-bench [--only memory,sqlite,procs,postgres,postgres-procs,couchbase,couchbase-procs]
//!        [--rounds N] [--proc-rounds N] [--markdown PATH] [--postgres-url URL] [--couchbase-url URL]
//!
//! The PostgreSQL ones need a server: `bench/run-postgres` starts one. The
//! Couchbase ones need gocaves and the cargo feature `couchbase`:
//! `bench/run-couchbase`.

mod memory;
mod postgres;
#[cfg(feature = "couchbase")]
mod couchbase;
mod procs;
mod report;
mod sqlite;
mod stats;

use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// A directory under the system's temp dir, removed when dropped.
pub struct TempDir(PathBuf);

impl TempDir {
    pub fn new(label: &str) -> TempDir {
        let nanos = SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_nanos()).unwrap_or(0);
        let path = std::env::temp_dir().join(format!("ferrolock-bench-{label}-{}-{nanos}", std::process::id()));
        std::fs::create_dir_all(&path).expect("create a temp dir");
        TempDir(path)
    }
    pub fn path(&self) -> &Path {
        &self.0
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn usage() -> ! {
    eprintln!(
        "usage: ferrolock-bench [--only memory,sqlite,procs,postgres,postgres-procs,couchbase,couchbase-procs] \
         [--rounds N] [--proc-rounds N] [--markdown PATH] [--postgres-url URL] [--couchbase-url URL]"
    );
    std::process::exit(2)
}

/// Run one of the ferrolock pair loops for `dur` (for a profiler), in
/// batches of 10,000 pairs with the runtime's other tasks let run between
/// batches, as in the measured rounds. Cases: memory, memory-no-renew,
/// memory-no-yield (never lets the runtime run its other tasks),
/// memory-bypass (`?bypass=true`: the engine without a backend),
/// memory-blocking, sqlite.
fn spin(case: &str, dur: Duration) {
    let tmp = TempDir::new("spin");
    let url = match case {
        "sqlite" => format!("sqlite://{}", tmp.path().join("bench.db").display()),
        "memory-bypass" => "memory://bench?bypass=true".to_owned(),
        "memory" | "memory-no-renew" | "memory-no-yield" | "memory-blocking" => "memory://bench".to_owned(),
        // Any backend: `--spin postgres://…?mode=advisory 5`.
        url if url.contains("://") => url.to_owned(),
        _ => usage(),
    };
    let start = std::time::Instant::now();
    let mut pairs = 0u64;
    if case == "memory-blocking" {
        let locks = ferrolock::blocking::Locks::connect(&url).expect("connect");
        let lock = locks.lock("bench");
        while start.elapsed() < dur {
            for _ in 0..10_000 {
                let held = lock.try_acquire().expect("try_acquire").expect("free");
                assert!(held.release().expect("release"));
            }
            pairs += 10_000;
        }
    } else {
        // FERROLOCK_BENCH_FLAVOR=multi_thread: `#[tokio::main]`'s runtime.
        let flavor = std::env::var("FERROLOCK_BENCH_FLAVOR").unwrap_or_default();
        let rt = memory::runtimes().into_iter().find(|(f, _)| *f == flavor).map_or_else(
            || tokio::runtime::Builder::new_current_thread().enable_all().build().expect("runtime"),
            |(_, rt)| rt,
        );
        rt.block_on(async {
            let locks = ferrolock::Locks::connect(&url).await.expect("connect");
            let lock = locks.lock("bench").auto_renew(case != "memory-no-renew");
            while start.elapsed() < dur {
                if case != "memory-no-yield" {
                    memory::settle().await;
                }
                for _ in 0..10_000 {
                    let held = lock.try_acquire().await.expect("try_acquire").expect("free");
                    assert!(held.release().await.expect("release"));
                }
                pairs += 10_000;
            }
        });
    }
    let ns = start.elapsed().as_nanos() as f64 / pairs as f64;
    println!("{case}: {pairs} pairs, {} per pair", stats::fmt_ns(ns));
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.first().map(String::as_str) == Some(procs::WORKER_ARG) {
        std::process::exit(procs::worker_main(&args[1..]));
    }
    if args.first().map(String::as_str) == Some("--spin") {
        // For a profiler: `--spin CASE SECONDS` runs one ferrolock loop only
        // (CASE: memory, memory-no-renew, memory-no-yield, memory-blocking,
        // memory-bypass, sqlite, or a URL).
        let case = args.get(1).cloned().unwrap_or_else(|| usage());
        let secs: f64 = args.get(2).and_then(|s| s.parse().ok()).unwrap_or(5.0);
        spin(&case, Duration::from_secs_f64(secs));
        return;
    }

    let mut only: Vec<String> = vec!["memory".into(), "sqlite".into(), "procs".into()];
    let mut rounds = 5usize;
    let mut proc_rounds = 5usize;
    let mut markdown: Option<PathBuf> = None;
    let mut postgres_url: Option<String> = None;
    let mut couchbase_url: Option<String> = None;
    let mut it = args.into_iter();
    while let Some(a) = it.next() {
        let mut value = || it.next().unwrap_or_else(|| usage());
        match a.as_str() {
            "--only" => only = value().split(',').map(str::to_owned).collect(),
            "--rounds" => rounds = value().parse().unwrap_or_else(|_| usage()),
            "--proc-rounds" => proc_rounds = value().parse().unwrap_or_else(|_| usage()),
            "--markdown" => markdown = Some(value().into()),
            "--postgres-url" => postgres_url = Some(value()),
            "--couchbase-url" => couchbase_url = Some(value()),
            _ => usage(),
        }
    }
    let known = ["memory", "sqlite", "procs", "postgres", "postgres-procs", "couchbase", "couchbase-procs"];
    if rounds == 0 || proc_rounds == 0 || only.iter().any(|o| !known.contains(&o.as_str())) {
        usage();
    }
    let wants_postgres = only.iter().any(|o| o.starts_with("postgres"));
    if wants_postgres && postgres_url.is_none() {
        eprintln!("ferrolock-bench: the postgres benchmarks need --postgres-url (bench/run-postgres starts a server)");
        std::process::exit(2);
    }

    let wants_couchbase = only.iter().any(|o| o.starts_with("couchbase"));
    if wants_couchbase && (couchbase_url.is_none() || !cfg!(feature = "couchbase")) {
        eprintln!("ferrolock-bench: the couchbase benchmarks need --couchbase-url and the feature couchbase (bench/run-couchbase)");
        std::process::exit(2);
    }

    let mut rows = Vec::new();
    let mut details = String::new();
    if only.iter().any(|o| o == "memory") {
        eprintln!("bench: 1. memory pair ({rounds} rounds)…");
        let plan = stats::Plan { rounds, warmup: Duration::from_millis(300), round: Duration::from_millis(300) };
        rows.extend(memory::run(plan, &mut details));
    }
    if only.iter().any(|o| o == "sqlite") {
        eprintln!("bench: 2. sqlite pair ({rounds} rounds)…");
        let plan = stats::Plan { rounds, warmup: Duration::from_millis(500), round: Duration::from_millis(600) };
        rows.extend(sqlite::run(plan, &mut details));
    }
    if only.iter().any(|o| o == "procs") {
        eprintln!("bench: 3. {} processes x {} ({proc_rounds} rounds)…", procs::WORKERS, procs::PER_WORKER);
        rows.extend(procs::run(proc_rounds, &mut details, None, procs::PER_WORKER));
    }
    if let (true, Some(url)) = (only.iter().any(|o| o == "postgres"), &postgres_url) {
        eprintln!("bench: 4-5. postgres pairs, lease and advisory ({rounds} rounds)…");
        let plan = stats::Plan { rounds, warmup: Duration::from_millis(500), round: Duration::from_millis(800) };
        rows.extend(postgres::run(plan, url, &mut details));
    }
    if let (true, Some(url)) = (only.iter().any(|o| o == "postgres-procs"), &postgres_url) {
        eprintln!("bench: 6. postgres: {} processes x {} ({proc_rounds} rounds)…", procs::WORKERS, procs::PER_WORKER);
        rows.extend(procs::run(proc_rounds, &mut details, Some(("postgres", url)), procs::PER_WORKER));
    }
    #[cfg(feature = "couchbase")]
    if let (true, Some(url)) = (only.iter().any(|o| o == "couchbase"), &couchbase_url) {
        eprintln!("bench: 7-8. couchbase pairs, getl and lease ({rounds} rounds)…");
        let plan = stats::Plan { rounds, warmup: Duration::from_millis(500), round: Duration::from_millis(800) };
        rows.extend(couchbase::run(plan, url, &mut details));
    }
    if let (true, Some(url)) = (only.iter().any(|o| o == "couchbase-procs"), &couchbase_url) {
        let sep = if url.contains('?') { '&' } else { '?' };
        for (mode, url) in [("getl", url.clone()), ("lease", format!("{url}{sep}mode=lease"))] {
            eprintln!("bench: 9. couchbase {mode}: {} processes x 200 ({proc_rounds} rounds)…", procs::WORKERS);
            rows.extend(procs::run(proc_rounds, &mut details, Some((&format!("couchbase {mode}"), &url)), 200));
        }
    }

    print!("\n{}", report::text(&rows));
    if let Some(path) = markdown {
        let body = format!("{}\n## Details\n\n{details}", report::markdown(&rows));
        std::fs::write(&path, body).unwrap_or_else(|e| panic!("write {}: {e}", path.display()));
    }
    if rows.iter().any(|r| r.met == Some(false)) {
        eprintln!("bench: some targets were not met (see the table)");
    }
}
