//! Benchmarks 4 and 5: PostgreSQL, on the server `bench/run-postgres` starts.
//!
//! 4. `mode=lease`: an uncontended `try_acquire()` + `release()` pair against
//!    a plain tokio-postgres loop running the same statements on one
//!    connection, prepared: the acquire function (the fence counter's write
//!    included) and the release function core creates. Target: at most 1.15x.
//! 5. `mode=advisory`: the same pair against pgbench running the same two
//!    statements (`pg_try_advisory_lock` with the fence counter's write, then
//!    `pg_advisory_unlock` with its notify; `-M prepared`, one client), its
//!    per-transaction time. Target: at most 1.1x.
//!
//! Beside pgbench, the advisory pair is also measured against tokio-postgres
//! running the same two statements (prepared, one connection), the driver
//! ferrolock uses: the two floors' ratio is the driver's share of the gap.
//!
//! Then both pairs and their tokio-postgres floors again, with 16 more
//! providers of the same schemas connected and idle (a fleet of services
//! that take the lock now and then): what a release costs when others
//! could be listening.
//!
//! The statements below are copied from core/src/backend/postgres/sql.rs; if
//! core changes them, copy again.

use crate::memory::ferrolock_pairs;
use crate::report::Row;
use crate::stats::{fmt_ns, interleaved, Case, Plan};
use crate::TempDir;
use std::hint::black_box;
use std::process::Command;
use std::time::{Duration, Instant};

const ACQUIRE: &str = "SELECT * FROM \"public\".ferrolock_acquire($1, $2, $3, $4, $5, $6)";
const RELEASE: &str = "SELECT \"public\".ferrolock_release($1, $2)";
/// Copied from sql.rs's `advisory_acquire`, with the key, holder and ttl
/// written in (pgbench's script has no parameters of its own).
const PGBENCH_SCRIPT: &str = "INSERT INTO \"public\".ferrolock_advisory AS a (key, fence, mode, holder, expires_at)
 SELECT 'pgbench-key', 1, 0::smallint, 'pgbench', clock_timestamp() + 30000::bigint * interval '1 millisecond'
 WHERE pg_try_advisory_lock(hashtextextended('pgbench-key', 0))
 ON CONFLICT (key) DO UPDATE
 SET fence = a.fence + 1, mode = excluded.mode, holder = excluded.holder, expires_at = excluded.expires_at
 RETURNING a.fence, floor(extract(epoch FROM a.expires_at) * 1000)::bigint;
SELECT pg_advisory_unlock(hashtextextended('pgbench-key', 0)), pg_notify('ferrolock_public', 'pgbench-key');
";

/// Copied from sql.rs's `advisory_acquire` and its AdvisoryRelease.
const ADVISORY_ACQUIRE: &str = "INSERT INTO \"public\".ferrolock_advisory AS a (key, fence, mode, holder, expires_at)
 SELECT $1, 1, $2, $3, clock_timestamp() + $4::bigint * interval '1 millisecond'
 WHERE pg_try_advisory_lock(hashtextextended($1, 0))
 ON CONFLICT (key) DO UPDATE
 SET fence = a.fence + 1, mode = excluded.mode, holder = excluded.holder, expires_at = excluded.expires_at
 RETURNING a.fence, floor(extract(epoch FROM a.expires_at) * 1000)::bigint";
const ADVISORY_RELEASE: &str = "SELECT pg_advisory_unlock(hashtextextended($1, 0)), pg_notify('ferrolock_public', $1)";

/// Providers connected beside the measured one in the fleet rows.
const IDLE_PROVIDERS: usize = 16;

/// A floor: one mode's statements of an uncontended acquisition and
/// release, prepared, on one tokio-postgres connection.
struct Raw {
    client: tokio_postgres::Client,
    acquire: tokio_postgres::Statement,
    release: tokio_postgres::Statement,
    advisory: bool,
    key: String,
    holder: String,
    ttl_ms: i64,
    seed: u64,
}

impl Raw {
    /// `advisory`: ADVISORY_ACQUIRE/ADVISORY_RELEASE, else the lease's functions.
    async fn connect(config: &tokio_postgres::Config, key: String, advisory: bool) -> Raw {
        let (client, connection) = config.connect(tokio_postgres::NoTls).await.expect("connect the floor");
        tokio::spawn(connection);
        let (acquire, release) = if advisory { (ADVISORY_ACQUIRE, ADVISORY_RELEASE) } else { (ACQUIRE, RELEASE) };
        Raw {
            acquire: client.prepare(acquire).await.expect("prepare"),
            release: client.prepare(release).await.expect("prepare"),
            client,
            advisory,
            key,
            holder: format!("{}:{}", crate::sqlite::hostname(), std::process::id()),
            ttl_ms: ferrolock::DEFAULT_TTL.as_millis() as i64,
            seed: 0x9E37_79B9_7F4A_7C15,
        }
    }

    async fn pair(&mut self) -> bool {
        if self.advisory {
            let row = self
                .client
                .query_opt(&self.acquire, &[&self.key, &0i16, &self.holder, &self.ttl_ms])
                .await
                .expect("acquire");
            assert!(row.is_some(), "the floor's advisory lock is not free");
            return self.client.query_one(&self.release, &[&self.key]).await.expect("release").get(0);
        }
        let owner = crate::memory::next_owner(&mut self.seed);
        let ticket: Option<i64> = None;
        let row = self
            .client
            .query_one(&self.acquire, &[&self.key, &&owner[..], &0i16, &self.ttl_ms, &self.holder, &ticket])
            .await
            .expect("acquire");
        assert!(row.get::<_, Option<i64>>(0).is_some(), "the floor's lock is not free");
        self.client.query_one(&self.release, &[&self.key, &&owner[..]]).await.expect("release").get(0)
    }

    /// `n` pairs, timed.
    async fn pairs(&mut self, n: u64) -> Duration {
        let t = Instant::now();
        for _ in 0..n {
            assert!(black_box(self.pair().await));
        }
        t.elapsed()
    }
}

/// pgbench: its path and connection settings from the URL.
struct Pgbench {
    bin: String,
    config: tokio_postgres::Config,
    script: std::path::PathBuf,
}

impl Pgbench {
    /// Run the script `n` times on one connection; the time pgbench measured
    /// for them (its average latency per transaction, times `n`: connection
    /// set-up excluded).
    fn run(&self, n: u64) -> Duration {
        let c = &self.config;
        let host = match &c.get_hosts()[0] {
            tokio_postgres::config::Host::Tcp(h) => h.clone(),
            tokio_postgres::config::Host::Unix(p) => p.display().to_string(),
        };
        let mut cmd = Command::new(&self.bin);
        cmd.args(["-n", "-M", "prepared", "-c", "1", "-t", &n.to_string(), "-f"])
            .arg(&self.script)
            .args(["-h", &host, "-p", &c.get_ports()[0].to_string()])
            .args(["-U", c.get_user().unwrap_or("postgres"), c.get_dbname().unwrap_or("postgres")]);
        if let Some(p) = c.get_password() {
            cmd.env("PGPASSWORD", String::from_utf8_lossy(p).into_owned());
        }
        let out = cmd.output().expect("run pgbench");
        let text = String::from_utf8_lossy(&out.stdout);
        assert!(out.status.success(), "pgbench failed: {text}{}", String::from_utf8_lossy(&out.stderr));
        let ms: f64 = text
            .lines()
            .find_map(|l| l.strip_prefix("latency average = ")?.strip_suffix(" ms")?.trim().parse().ok())
            .unwrap_or_else(|| panic!("no latency average in pgbench's output: {text}"));
        Duration::from_secs_f64(ms / 1000.0 * n as f64)
    }
}

/// `url`: a `postgres://` URL without query parameters (the server's
/// superuser, or a role that may create the tables).
pub fn run(plan: Plan, url: &str, details: &mut String) -> Vec<Row> {
    // FERROLOCK_BENCH_FLAVOR=multi_thread: the pairs on a 2-worker runtime
    // (the floors' tokio-postgres too), as memory's second runtime.
    let flavor = std::env::var("FERROLOCK_BENCH_FLAVOR").unwrap_or_else(|_| "current_thread".into());
    let rt = crate::memory::runtimes().into_iter().find(|(f, _)| *f == flavor).map(|(_, rt)| rt).unwrap_or_else(|| {
        panic!("FERROLOCK_BENCH_FLAVOR={flavor}: current_thread or multi_thread")
    });
    let ns = format!("bench{}", std::process::id());
    // Each provider in a schema of its own, so that each listens only to its
    // own releases' NOTIFYs; the floors use schema `public` (created by a
    // provider first), whose notifications nobody listens to.
    let lease_url = format!("{url}?sslmode=disable&schema=bench_lease&namespace={ns}");
    let advisory_url = format!("{url}?sslmode=disable&mode=advisory&schema=bench_advisory&namespace={ns}");
    let (lease_locks, advisory_locks) = rt.block_on(async {
        let setup = ferrolock::Locks::connect(&format!("{url}?sslmode=disable")).await.expect("connect postgres");
        setup.close().await;
        let lease = ferrolock::Locks::connect(&lease_url).await.expect("connect postgres (lease)");
        let advisory = ferrolock::Locks::connect(&advisory_url).await.expect("connect postgres (advisory)");
        (lease, advisory)
    });
    let lease_lock = lease_locks.lock("bench");
    let advisory_lock = advisory_locks.lock("bench");

    let config: tokio_postgres::Config = url.parse().expect("a postgres:// URL tokio-postgres reads");
    let (mut raw, mut raw_advisory) = rt.block_on(async {
        let lease = Raw::connect(&config, format!("__lock:{ns}:floor"), false).await;
        (lease, Raw::connect(&config, format!("__lock:{ns}:advisory-floor"), true).await)
    });
    let tmp = TempDir::new("pgbench");
    let pgbench = Pgbench {
        bin: std::env::var("PGBENCH").unwrap_or_else(|_| "/usr/lib/postgresql/15/bin/pgbench".to_owned()),
        config: config.clone(),
        script: tmp.path().join("pair.sql"),
    };
    std::fs::write(&pgbench.script, PGBENCH_SCRIPT).expect("write the pgbench script");

    let rt = &rt;
    let mut cases: Vec<Case<'_>> = vec![
        Box::new(|n| rt.block_on(raw.pairs(n))),
        Box::new(|n| rt.block_on(ferrolock_pairs(&lease_lock, n))),
        Box::new(|n| pgbench.run(n)),
        Box::new(|n| rt.block_on(ferrolock_pairs(&advisory_lock, n))),
        Box::new(|n| rt.block_on(raw_advisory.pairs(n))),
    ];
    let s = interleaved(plan, &mut cases);
    drop(cases);

    // The same pairs with a fleet beside them: 16 more providers of the
    // same schemas connected and idle (8 per mode), as other services
    // would be. The floors run beside them too.
    let fleet: Vec<ferrolock::Locks> = rt.block_on(async {
        let mut fleet = Vec::new();
        for i in 0..IDLE_PROVIDERS {
            let url = if i % 2 == 0 { &lease_url } else { &advisory_url };
            fleet.push(ferrolock::Locks::connect(url).await.expect("connect an idle provider"));
        }
        fleet
    });
    let mut cases: Vec<Case<'_>> = vec![
        Box::new(|n| rt.block_on(raw.pairs(n))),
        Box::new(|n| rt.block_on(ferrolock_pairs(&lease_lock, n))),
        Box::new(|n| rt.block_on(ferrolock_pairs(&advisory_lock, n))),
        Box::new(|n| rt.block_on(raw_advisory.pairs(n))),
    ];
    let f = interleaved(plan, &mut cases);
    drop(cases);
    rt.block_on(async {
        for p in fleet {
            p.close().await;
        }
        lease_locks.close().await;
        advisory_locks.close().await;
    });

    details.push_str(&format!("### 4-5. postgres: try_acquire + release, one process, {flavor} runtime\n\n"));
    crate::stats::describe_all(
        details,
        &[
            ("lease: plain tokio-postgres, same statements, prepared, one connection (floor)", &s[0]),
            ("lease: ferrolock", &s[1]),
            ("advisory: pgbench -M prepared -c 1, same statements (floor; its latency average)", &s[2]),
            ("advisory: ferrolock", &s[3]),
            ("advisory: plain tokio-postgres, same statements, prepared, one connection (information)", &s[4]),
        ],
    );
    details.push_str(&format!("### 4-5. the same pairs with {IDLE_PROVIDERS} idle providers connected (8 per mode)\n\n"));
    crate::stats::describe_all(
        details,
        &[
            ("lease: plain tokio-postgres (floor)", &f[0]),
            ("lease: ferrolock", &f[1]),
            ("advisory: ferrolock", &f[2]),
            ("advisory: plain tokio-postgres", &f[3]),
        ],
    );
    let row = |what: &str, ferro: f64, floor: f64, target: f64| {
        let ratio = ferro / floor;
        Row {
            benchmark: what.to_owned(),
            ferrolock: fmt_ns(ferro),
            floor: fmt_ns(floor),
            ratio: Some(ratio),
            target: format!("<= {target}x"),
            met: Some(ratio <= target),
        }
    };
    let info = |what: &str, a: f64, b: f64| Row {
        benchmark: what.to_owned(),
        ferrolock: fmt_ns(a),
        floor: fmt_ns(b),
        ratio: Some(a / b),
        target: "info".to_owned(),
        met: None,
    };
    vec![
        row("postgres lease try_acquire+release (vs tokio-postgres)", s[1].median_ns(), s[0].median_ns(), 1.15),
        row("postgres advisory try_acquire+release (vs pgbench)", s[3].median_ns(), s[2].median_ns(), 1.1),
        info("postgres advisory try_acquire+release (vs tokio-postgres)", s[3].median_ns(), s[4].median_ns()),
        info("postgres advisory: tokio-postgres / pgbench, same statements", s[4].median_ns(), s[2].median_ns()),
        info(
            &format!("postgres lease pair, {IDLE_PROVIDERS} idle providers connected (vs tokio-postgres)"),
            f[1].median_ns(),
            f[0].median_ns(),
        ),
        info(
            &format!("postgres advisory pair, {IDLE_PROVIDERS} idle providers connected (vs tokio-postgres)"),
            f[2].median_ns(),
            f[3].median_ns(),
        ),
    ]
}
