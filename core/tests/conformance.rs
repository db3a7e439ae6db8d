//! The conformance suite: one list of scenarios, run against every backend.
//!
//! A scenario that needs a capability the backend lacks asserts the
//! backend's `Unsupported` error instead of being skipped. Time bounds are
//! generous: a timeout is checked to be not early, a wait not to hang.

use ferrolock::{Error, EventKind, Events, LockState, Locks, Mode};
use std::collections::BTreeSet;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// A scenario that runs longer than this hung. Generous: it tells a hang
/// from slowness, and the slowest scenario (cancelled_acquires_leave_the_lock_free
/// on PostgreSQL: 60 rounds behind six waiters that keep joining and
/// leaving the queue) took 20 s in a full parallel run on a loaded 2-core
/// machine, before and after releases handed the lock to the queue's head.
/// Each scenario bounds its own waits tighter where a delay is the fault.
const HANG: Duration = Duration::from_secs(60);

/// One backend under test: a URL that every provider of the scenario shares.
struct Fixture {
    url: String,
    /// The kind of backend the URL opens, as backends.json says.
    backend: &'static str,
    _dir: Option<tempfile::TempDir>,
    /// The scenario's name, and the capabilities it consulted (`has`).
    scenario: &'static str,
    asked: Arc<Mutex<BTreeSet<String>>>,
    /// Operations the backend refuses as UNSUPPORTED, which scenarios then
    /// assert instead (backends.json `unsupported`: `list`, `refresh`,
    /// `force_release`).
    refuses: BTreeSet<String>,
    /// The backend's ttl step (backends.json `ttl_unit_ms`, else 1 ms): the
    /// scenarios' short ttls are rounded up to it, their waits scaled with them.
    ttl_unit: Duration,
}

impl Fixture {
    /// The store row `fixture` of tests/vectors/backends.json makes for
    /// `scenario`: a memory store or SQLite file of its own, or a namespace
    /// of its own on the server whose URL the row's variable holds (a Redis
    /// topology started by scripts/test).
    fn of(fixture: &str, scenario: &'static str) -> Fixture {
        let row = fixture_row(fixture);
        let (url, dir) = match row["url"].as_str().unwrap() {
            "memory" => (format!("memory://{scenario}-{}", rand_suffix()), None),
            "sqlite" => {
                let dir = tempfile::tempdir().unwrap();
                (format!("sqlite://{}", dir.path().join("locks.db").display()), Some(dir))
            }
            "env" => {
                let var = row["env"].as_str().unwrap();
                let base = std::env::var(var).unwrap_or_else(|_| {
                    panic!("{var} is not set: run scripts/test, which starts the Redis servers these scenarios need")
                });
                let ns = format!("{}-{}", scenario.replace('_', "-"), rand_suffix());
                let sep = if base.contains('?') { '&' } else { '?' };
                (format!("{base}{sep}namespace={}", &ns[ns.len().saturating_sub(64)..]), None)
            }
            other => panic!("backends.json: {fixture} makes its URL by {other:?}, which is not one of its url_kinds"),
        };
        let backend = row["backend"].as_str().unwrap();
        let refuses = row["unsupported"].as_array().map_or_else(BTreeSet::new, |ops| {
            ops.iter().map(|o| o.as_str().unwrap().to_owned()).collect()
        });
        let ttl_unit = Duration::from_millis(row["ttl_unit_ms"].as_u64().unwrap_or(1));
        Fixture { url, backend, _dir: dir, scenario, asked: Default::default(), refuses, ttl_unit }
    }
    async fn connect(&self) -> Locks {
        let locks = Locks::connect(&self.url).await.unwrap();
        assert_eq!(locks.backend().name(), self.backend, "backends.json: the backend {} opens", self.url);
        locks
    }
    /// A short ttl of `ms` milliseconds, rounded up to the backend's ttl step.
    fn short(&self, ms: u64) -> Duration {
        let unit = self.ttl_unit.as_millis() as u64;
        Duration::from_millis(ms.div_ceil(unit) * unit)
    }

    /// Whether the backend refuses `operation` (backends.json); if it does,
    /// `outcome` (that operation's result) must be its UNSUPPORTED error.
    fn refused<T: std::fmt::Debug>(&self, operation: &str, outcome: Result<T, Error>) -> Option<T> {
        if self.refuses.contains(operation) {
            let err = outcome.expect_err(&format!("backends.json says {operation} is unsupported here"));
            assert!(matches!(err, Error::Unsupported { .. }) && err.code() == "UNSUPPORTED", "{operation}: {err:?}");
            assert!(err.to_string().contains(self.backend), "{operation}: {err} should name {}", self.backend);
            None
        } else {
            Some(outcome.unwrap_or_else(|e| panic!("{operation}: {e:?}")))
        }
    }

    /// `locks.list(prefix)`, or `None` where the backend cannot list.
    async fn list(&self, locks: &Locks, prefix: &str) -> Option<Vec<ferrolock::LockInfo>> {
        self.refused("list", locks.list(prefix).await)
    }

    fn url_with(&self, query: &str) -> String {
        let sep = if self.url.contains('?') { '&' } else { '?' };
        format!("{}{sep}{query}", self.url)
    }

    /// Whether the backend has capability `cap`, which the scenario must
    /// declare in its `needs` (tests/vectors/scenarios.json). Where a
    /// missing capability makes operations unsupported, this asserts that
    /// error first; the scenario then ends there.
    async fn has(&self, locks: &Locks, cap: &str) -> bool {
        let needs = scenario_needs(self.scenario);
        assert!(needs.contains(cap), "{} consults {cap:?}, which scenarios.json does not list in its needs", self.scenario);
        self.asked.lock().unwrap().insert(cap.to_owned());
        let caps = locks.capabilities();
        let (has, unsupported) = match cap {
            "shared" => (caps.shared, true),
            "handoff" => (caps.handoff, true),
            "queue" => (caps.queue, false),
            "notices" => (caps.notices, false),
            other => panic!("{other:?} is not a field of ferrolock::Capabilities"),
        };
        assert_eq!(capability_without(cap) == "unsupported", unsupported, "scenarios.json: what {cap} is without");
        if !has && unsupported {
            let probe = locks.lock("unsupported-probe");
            let err = if cap == "shared" {
                probe.shared().try_acquire().await.map(drop).unwrap_err()
            } else {
                let held = probe.try_acquire().await.unwrap().expect("a free lock");
                let err = held.take_token().unwrap_err();
                held.release().await.unwrap();
                err
            };
            assert!(matches!(err, Error::Unsupported { .. }) && err.code() == "UNSUPPORTED", "{cap}: {err:?}");
        }
        has
    }
}

/// tests/vectors/scenarios.json, read once.
fn scenario_list() -> &'static serde_json::Value {
    static LIST: std::sync::OnceLock<serde_json::Value> = std::sync::OnceLock::new();
    LIST.get_or_init(|| {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/vectors/scenarios.json");
        serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
    })
}

/// tests/vectors/backends.json, read once: the fixtures every suite runs
/// the scenarios on.
fn fixture_table() -> &'static serde_json::Value {
    static TABLE: std::sync::OnceLock<serde_json::Value> = std::sync::OnceLock::new();
    TABLE.get_or_init(|| {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/vectors/backends.json");
        serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
    })
}

fn fixture_row(name: &str) -> &'static serde_json::Value {
    let row = fixture_table()["fixtures"].as_array().unwrap().iter().find(|r| r["name"] == name);
    row.unwrap_or_else(|| panic!("backends.json has no fixture {name}"))
}

fn scenario_needs(name: &str) -> BTreeSet<String> {
    let row = scenario_list()["scenarios"].as_array().unwrap().iter().find(|s| s["name"] == name);
    let row = row.unwrap_or_else(|| panic!("scenarios.json does not name {name}"));
    row["needs"].as_array().unwrap().iter().map(|c| c.as_str().unwrap().to_owned()).collect()
}

fn capability_without(cap: &str) -> &'static str {
    scenario_list()["capabilities"][cap]["without"].as_str().unwrap_or_else(|| panic!("scenarios.json: capability {cap}"))
}

/// After a scenario: it consulted exactly the capabilities it declares.
fn check_needs(scenario: &str, asked: &Mutex<BTreeSet<String>>) {
    let asked = asked.lock().unwrap().clone();
    assert_eq!(asked, scenario_needs(scenario), "{scenario}: capabilities consulted vs its needs in scenarios.json");
}

/// Wait for the `queued` event of the waiter labelled `holder`: it has
/// found the lock busy, registered for wake-ups and joined the queue.
async fn queued(events: &mut Events, holder: &str) {
    loop {
        let e = events.recv().await.expect("the provider closed");
        if e.kind == EventKind::Queued && e.holder == holder {
            return;
        }
    }
}

fn rand_suffix() -> u64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_nanos() as u64
}

async fn bounded<T>(f: impl std::future::Future<Output = T>) -> T {
    tokio::time::timeout(HANG, f).await.expect("scenario hung")
}

/// One module of tests: every scenario on the fixture row `$module` of
/// backends.json.
macro_rules! backend {
    ($(#[$attr:meta])* $module:ident, [$($scenario:ident),*]) => {
        $(#[$attr])*
        mod $module {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $scenario() {
                    let fx = super::Fixture::of(stringify!($module), stringify!($scenario));
                    let asked = fx.asked.clone();
                    super::bounded(super::$scenario(fx)).await;
                    super::check_needs(stringify!($scenario), &asked);
                }
            )*
        }
    };
}

/// A module per fixture, a test per scenario in each. Both lists are
/// checked against their tables (backends.json, scenarios.json): a row
/// added there without its line here fails.
macro_rules! conformance {
    (
        fixtures: [$($(#[$attr:meta])* $fixture:ident),* $(,)?],
        scenarios: [$($scenario:ident),* $(,)?] $(,)?
    ) => {
        const FIXTURES: &[&str] = &[$(stringify!($fixture)),*];
        const SCENARIOS: &[&str] = &[$(stringify!($scenario)),*];
        conformance!(@each [$($(#[$attr])* $fixture),*], [$($scenario),*]);
    };
    // The scenarios as one token tree, so that each fixture's module gets them all.
    (@each [$($(#[$attr:meta])* $fixture:ident),*], $scenarios:tt) => {
        $(backend!($(#[$attr])* $fixture, $scenarios);)*
    };
}

conformance!(
    fixtures: [
        memory,
        sqlite,
        #[cfg(feature = "redis")] redis,
        #[cfg(feature = "redis")] redis_quorum,
        #[cfg(feature = "redis")] redis_cluster,
        #[cfg(feature = "redis-tls")] redis_tls,
        #[cfg(feature = "redis-tls")] redis_tls_cluster,
        #[cfg(feature = "postgres")] postgres,
        #[cfg(feature = "postgres")] postgres_advisory,
        #[cfg(feature = "couchbase")] couchbase,
        #[cfg(feature = "couchbase")] couchbase_lease,
    ],
    scenarios: [
        mutual_exclusion_of_8_tasks,
        try_acquire_on_held_lock_is_none,
        acquire_times_out_not_early,
        fences_start_at_1_and_increase,
        expiry_lets_another_owner_in_with_higher_fence,
        stale_release_is_false_and_leaves_new_holder,
        refresh_after_loss_is_lost,
        release_is_idempotent,
        operations_after_release_or_handoff_are_not_held,
        token_resumes_in_another_provider,
        force_release_state_and_list_show_no_owner_id,
        shared_locks_admit_readers_and_exclude_writers,
        waiting_writer_is_not_starved_by_new_readers,
        waiters_are_served_in_fifo_order,
        release_wakes_a_waiter_promptly,
        cancelled_wait_leaves_nothing_held,
        watchdog_keeps_lock_past_its_ttl,
        without_auto_renew_the_lock_expires_at_its_ttl,
        loss_is_noticed_and_run_ends_with_lost,
        run_returns_the_body_value_and_releases,
        events_report_what_happened,
        closed_provider_refuses_operations,
        close_ends_pending_waits,
        bypass_grants_every_lock,
        bad_input_gives_typed_errors,
        foreign_and_malformed_tokens_are_invalid,
        dropped_handle_releases_its_lock,
        cancelled_acquires_leave_the_lock_free,
    ],
);

/// The list above is tests/vectors/scenarios.json's, which every suite runs.
#[test]
fn scenarios_are_those_of_scenarios_json() {
    let rows = scenario_list()["scenarios"].as_array().unwrap();
    let listed: Vec<&str> = rows.iter().map(|r| r["name"].as_str().unwrap()).collect();
    let listed_set: BTreeSet<&str> = listed.iter().copied().collect();
    assert_eq!(listed.len(), listed_set.len(), "scenarios.json names a scenario twice");
    let here: BTreeSet<&str> = SCENARIOS.iter().copied().collect();
    let missing: Vec<_> = listed_set.difference(&here).collect();
    let unlisted: Vec<_> = here.difference(&listed_set).collect();
    assert!(
        missing.is_empty() && unlisted.is_empty(),
        "scenarios.json names {missing:?}, which this suite does not have; this suite has {unlisted:?}, which scenarios.json does not name"
    );
    for row in rows {
        assert!(!row["description"].as_str().unwrap().is_empty());
        for cap in row["needs"].as_array().unwrap() {
            let without = capability_without(cap.as_str().unwrap());
            assert!(["unsupported", "weaker"].contains(&without), "{cap}: {without}");
        }
    }
}

/// The fixture modules above are backends.json's rows, which every suite
/// runs the scenarios on; each row makes its URL in a known way, from a
/// variable scripts/lib/servers.sh exports where it names one.
#[test]
fn fixtures_are_those_of_backends_json() {
    let table = fixture_table();
    let rows = table["fixtures"].as_array().unwrap();
    let listed: Vec<&str> = rows.iter().map(|r| r["name"].as_str().unwrap()).collect();
    let listed_set: BTreeSet<&str> = listed.iter().copied().collect();
    assert_eq!(listed.len(), listed_set.len(), "backends.json names a fixture twice");
    let here: BTreeSet<&str> = FIXTURES.iter().copied().collect();
    assert_eq!(here.len(), FIXTURES.len(), "conformance.rs lists a fixture twice");
    let missing: Vec<_> = listed_set.difference(&here).collect();
    let unlisted: Vec<_> = here.difference(&listed_set).collect();
    assert!(
        missing.is_empty() && unlisted.is_empty(),
        "backends.json has {missing:?}, which conformance.rs's fixture list does not; conformance.rs has {unlisted:?}, which backends.json does not"
    );
    let servers = std::fs::read_to_string(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../scripts/lib/servers.sh"),
    )
    .unwrap();
    for row in rows {
        let name = row["name"].as_str().unwrap();
        let how = row["url"].as_str().unwrap();
        assert!(table["url_kinds"][how].is_string(), "{name}: url {how:?} is not one of url_kinds");
        assert!(!row["description"].as_str().unwrap().is_empty(), "{name}: no description");
        assert!(!row["backend"].as_str().unwrap().is_empty(), "{name}: no backend");
        if let Some(why) = row.get("skip_under_valgrind") {
            assert!(why.as_str().is_some_and(|w| !w.is_empty()), "{name}: skip_under_valgrind gives no reason");
        }
        if how == "env" {
            let var = row["env"].as_str().unwrap();
            assert!(servers.contains(&format!("export {var}=")), "{name}: scripts/lib/servers.sh does not export {var}");
        } else {
            assert!(row.get("env").is_none(), "{name}: env is for url \"env\" only");
        }
    }
}

async fn mutual_exclusion_of_8_tasks(fx: Fixture) {
    let locks = fx.connect().await;
    let counter = Arc::new(AtomicU64::new(0));
    let mut tasks = Vec::new();
    for _ in 0..8 {
        let lock = locks.lock("counter");
        let counter = counter.clone();
        tasks.push(tokio::spawn(async move {
            for _ in 0..25 {
                let held = lock.acquire(Duration::from_secs(15)).await.unwrap();
                // A non-atomic increment: read, yield, write.
                let v = counter.load(Ordering::SeqCst);
                tokio::task::yield_now().await;
                counter.store(v + 1, Ordering::SeqCst);
                assert!(held.release().await.unwrap());
            }
        }));
    }
    for t in tasks {
        t.await.unwrap();
    }
    assert_eq!(counter.load(Ordering::SeqCst), 200);
}

async fn try_acquire_on_held_lock_is_none(fx: Fixture) {
    let locks = fx.connect().await;
    let held = locks.lock("a").try_acquire().await.unwrap().expect("free lock");
    assert!(locks.lock("a").try_acquire().await.unwrap().is_none());
    // Not reentrant: the same provider and lock wait like anyone else.
    assert!(locks.lock("a").acquire_or_none(Duration::from_millis(50)).await.unwrap().is_none());
    assert!(held.release().await.unwrap());
    assert!(locks.lock("a").try_acquire().await.unwrap().is_some());
}

async fn acquire_times_out_not_early(fx: Fixture) {
    let locks = fx.connect().await;
    let _held = locks.lock("t").acquire(Duration::from_secs(1)).await.unwrap();
    let start = Instant::now();
    let err = locks.lock("t").acquire(Duration::from_millis(300)).await.unwrap_err();
    assert!(start.elapsed() >= Duration::from_millis(300), "timed out early: {:?}", start.elapsed());
    assert!(matches!(err, Error::Timeout { .. }), "{err:?}");
    assert_eq!(err.code(), "TIMEOUT");
    assert_eq!(err.exit_code(), 75);
}

async fn fences_start_at_1_and_increase(fx: Fixture) {
    let locks = fx.connect().await;
    let mut last = 0;
    for i in 0..5 {
        let held = locks.lock("f").try_acquire().await.unwrap().unwrap();
        if i == 0 {
            assert_eq!(held.fence(), 1);
        }
        assert!(held.fence() > last);
        last = held.fence();
        held.release().await.unwrap();
    }
    // Fences are per key.
    let other = locks.lock("g").try_acquire().await.unwrap().unwrap();
    assert_eq!(other.fence(), 1);
}

async fn expiry_lets_another_owner_in_with_higher_fence(fx: Fixture) {
    let locks = fx.connect().await;
    let ttl = fx.short(200);
    let lock = locks.lock("e").ttl(ttl).auto_renew(false);
    let first = lock.try_acquire().await.unwrap().unwrap();
    let start = Instant::now();
    let second = fx.connect().await.lock("e").acquire(Duration::from_secs(10)).await.unwrap();
    assert!(start.elapsed() >= ttl * 3 / 4, "got in before expiry");
    assert!(second.fence() > first.fence());
    assert!(!first.release().await.unwrap(), "an expired lease released another owner's lock");
}

async fn stale_release_is_false_and_leaves_new_holder(fx: Fixture) {
    let locks = fx.connect().await;
    let ttl = fx.short(100);
    let stale = locks.lock("s").ttl(ttl).auto_renew(false).try_acquire().await.unwrap().unwrap();
    tokio::time::sleep(ttl * 3 / 2).await;
    let fresh = locks.lock("s").try_acquire().await.unwrap().expect("expired lock is free");
    assert!(!stale.release().await.unwrap());
    match locks.state("s").await.unwrap() {
        LockState::Held { fence, .. } => assert_eq!(fence, fresh.fence()),
        LockState::Free => panic!("a stale release freed the new holder's lock"),
    }
    assert!(fresh.release().await.unwrap());
}

async fn refresh_after_loss_is_lost(fx: Fixture) {
    let locks = fx.connect().await;
    let ttl = fx.short(100);
    // Taken for long, then shortened by the refresh: a loaded machine that
    // stalls between the acquire and the refresh must not lose it there.
    let held = locks.lock("r").ttl(Duration::from_secs(10)).auto_renew(false).try_acquire().await.unwrap().unwrap();
    if fx.refused("refresh", held.refresh(ttl).await).is_none() {
        return;
    }
    tokio::time::sleep(ttl * 3 / 2).await;
    let _other = locks.lock("r").try_acquire().await.unwrap().unwrap();
    let err = held.refresh(Duration::from_secs(1)).await.unwrap_err();
    assert!(matches!(err, Error::Lost { .. }), "{err:?}");
    assert!(held.is_lost());
}

async fn release_is_idempotent(fx: Fixture) {
    let locks = fx.connect().await;
    let held = locks.lock("i").try_acquire().await.unwrap().unwrap();
    assert!(held.release_ref().await.unwrap());
    assert!(!held.release_ref().await.unwrap());
    assert!(!held.release().await.unwrap());
}

async fn operations_after_release_or_handoff_are_not_held(fx: Fixture) {
    let locks = fx.connect().await;
    if !fx.has(&locks, "handoff").await {
        return;
    }
    let held = locks.lock("n").try_acquire().await.unwrap().unwrap();
    held.release_ref().await.unwrap();
    let err = held.refresh(Duration::from_secs(1)).await.unwrap_err();
    assert!(matches!(err, Error::NotHeld { .. }) && err.code() == "NOT_HELD", "{err:?}");
    assert!(matches!(held.take_token(), Err(Error::NotHeld { .. })));

    let held = locks.lock("n").try_acquire().await.unwrap().unwrap();
    let token = held.take_token().unwrap();
    assert!(matches!(held.refresh(Duration::from_secs(1)).await, Err(Error::NotHeld { .. })));
    assert!(!held.release_ref().await.unwrap(), "a handed-off handle must not release");
    drop(held);
    // The lock is still held: the token owns it.
    assert!(matches!(locks.state("n").await.unwrap(), LockState::Held { .. }));
    assert!(locks.resume(&token).await.unwrap().release().await.unwrap());
}

async fn token_resumes_in_another_provider(fx: Fixture) {
    let a = fx.connect().await;
    if !fx.has(&a, "handoff").await {
        return;
    }
    let held = a.lock("job").holder("worker-a").try_acquire().await.unwrap().unwrap();
    let fence = held.fence();
    let token = held.into_token().unwrap();
    assert!(token.starts_with("flk1."));
    let info = ferrolock::token::decode(&token).unwrap();
    assert_eq!((info.name.as_str(), info.fence, info.holder.as_str()), ("job", fence, "worker-a"));
    assert_eq!(info.backend, a.backend());

    let b = fx.connect().await;
    let resumed = b.resume(&token).await.unwrap();
    assert_eq!(resumed.fence(), fence);
    assert!(a.lock("job").try_acquire().await.unwrap().is_none());
    assert!(resumed.release().await.unwrap());
    assert_eq!(a.state("job").await.unwrap(), LockState::Free);
    // A token whose lock is gone resumes to Lost.
    assert!(matches!(b.resume(&token).await, Err(Error::Lost { .. })));
}

async fn force_release_state_and_list_show_no_owner_id(fx: Fixture) {
    let locks = fx.connect().await;
    if !fx.has(&locks, "handoff").await {
        return;
    }
    assert_eq!(locks.state("inv:1").await.unwrap(), LockState::Free);
    let h1 = locks.lock("inv:1").holder("billing").try_acquire().await.unwrap().unwrap();
    let _h2 = locks.lock("inv:2").try_acquire().await.unwrap().unwrap();
    let _other = locks.lock("other").try_acquire().await.unwrap().unwrap();
    match locks.state("inv:1").await.unwrap() {
        LockState::Held { fence, mode, holder, expires_in, readers } => {
            assert_eq!((fence, mode, holder.as_str(), readers), (h1.fence(), Mode::Exclusive, "billing", 0));
            assert!(expires_in > Duration::from_secs(20) && expires_in <= Duration::from_secs(30));
        }
        LockState::Free => panic!("held lock reported free"),
    }
    let listed = fx.list(&locks, "inv:").await;
    if let Some(listed) = &listed {
        let names: Vec<_> = listed.iter().map(|l| l.name.as_str()).collect();
        assert_eq!(names, ["inv:1", "inv:2"]);
        assert_eq!(locks.list("").await.unwrap().len(), 3);
    }

    // The owner id lives only in the token: not in state, list or Debug output.
    let token = h1.take_token().unwrap();
    let payload = token.trim_start_matches("flk1.");
    let owner_b64 = &payload[6..26]; // bytes 4..19: the owner id
    let shown = format!("{:?}{:?}{:?}", locks.state("inv:1").await.unwrap(), listed, h1);
    assert!(!shown.contains(owner_b64), "owner id leaked: {shown}");

    match fx.refused("force_release", locks.force_release("inv:1").await) {
        Some(was_held) => {
            assert!(was_held);
            assert!(!locks.force_release("inv:1").await.unwrap());
        }
        // Only its owner frees it here: with its token.
        None => assert!(locks.resume(&token).await.unwrap().release().await.unwrap()),
    }
    assert_eq!(locks.state("inv:1").await.unwrap(), LockState::Free);
    assert!(matches!(locks.resume(&token).await, Err(Error::Lost { .. })));
}

async fn shared_locks_admit_readers_and_exclude_writers(fx: Fixture) {
    let locks = fx.connect().await;
    if !fx.has(&locks, "shared").await {
        return;
    }
    let mut readers = Vec::new();
    for _ in 0..3 {
        readers.push(locks.lock("rw").shared().try_acquire().await.unwrap().expect("readers share"));
    }
    match locks.state("rw").await.unwrap() {
        LockState::Held { mode, readers: n, .. } => assert_eq!((mode, n), (Mode::Shared, 3)),
        LockState::Free => panic!("shared lock reported free"),
    }
    assert!(locks.lock("rw").try_acquire().await.unwrap().is_none(), "writer got in beside readers");
    for r in readers {
        assert!(r.release().await.unwrap());
    }
    let writer = locks.lock("rw").try_acquire().await.unwrap().expect("free after readers");
    assert!(locks.lock("rw").shared().try_acquire().await.unwrap().is_none(), "reader got in beside a writer");
    writer.release().await.unwrap();
}

async fn waiting_writer_is_not_starved_by_new_readers(fx: Fixture) {
    let locks = fx.connect().await;
    if !fx.has(&locks, "shared").await {
        // (Consulted too, as scenarios.json says, though it decides nothing then.)
        fx.has(&locks, "queue").await;
        return;
    }
    let first_reader = locks.lock("ws").shared().try_acquire().await.unwrap().unwrap();
    let other = fx.connect().await;
    let mut events = other.events();
    let writer = {
        let lock = other.lock("ws").holder("writer");
        tokio::spawn(async move { lock.acquire(Duration::from_secs(15)).await })
    };
    queued(&mut events, "writer").await;
    if !fx.has(&locks, "queue").await {
        // Without a queue there is no order to keep: the writer is served
        // once the readers are gone, and that is all that is promised.
        first_reader.release().await.unwrap();
        writer.await.unwrap().expect("writer served once the reader left").release().await.unwrap();
        return;
    }
    for _ in 0..5 {
        assert!(
            locks.lock("ws").shared().try_acquire().await.unwrap().is_none(),
            "a new reader passed a waiting writer"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    first_reader.release().await.unwrap();
    let writer = writer.await.unwrap().expect("writer served once the reader left");
    writer.release().await.unwrap();
}

async fn waiters_are_served_in_fifo_order(fx: Fixture) {
    let locks = fx.connect().await;
    let fifo = fx.has(&locks, "queue").await;
    let holder = locks.lock("q").try_acquire().await.unwrap().unwrap();
    let order = Arc::new(parking_lot_free::Order::default());
    let mut tasks = Vec::new();
    for i in 0..4 {
        // Each waiter on a provider of its own, queued before the next starts.
        let waiter = fx.connect().await;
        let mut events = waiter.events();
        let label = format!("waiter-{i}");
        let lock = waiter.lock("q").holder(label.as_str());
        let order = order.clone();
        tasks.push(tokio::spawn(async move {
            let held = lock.acquire(Duration::from_secs(15)).await.unwrap();
            order.push(i);
            tokio::time::sleep(Duration::from_millis(10)).await;
            held.release().await.unwrap();
        }));
        queued(&mut events, &label).await;
    }
    holder.release().await.unwrap();
    for t in tasks {
        t.await.unwrap();
    }
    let mut served = order.get();
    if fifo {
        assert_eq!(served, vec![0, 1, 2, 3]);
    } else {
        // Without a queue (a quorum of independent servers has no one
        // authority on the order) waiters race on release notices: each is
        // still served once, in some order.
        served.sort();
        assert_eq!(served, vec![0, 1, 2, 3]);
    }
}

mod parking_lot_free {
    #[derive(Default)]
    pub struct Order(std::sync::Mutex<Vec<u32>>);
    impl Order {
        pub fn push(&self, i: u32) {
            self.0.lock().unwrap().push(i)
        }
        pub fn get(&self) -> Vec<u32> {
            self.0.lock().unwrap().clone()
        }
    }
}

async fn release_wakes_a_waiter_promptly(fx: Fixture) {
    let locks = fx.connect().await;
    let notices = fx.has(&locks, "notices").await;
    let held = locks.lock("w").try_acquire().await.unwrap().unwrap();
    let other = fx.connect().await;
    let mut events = other.events();
    let waiter = {
        let lock = other.lock("w").holder("waiter");
        tokio::spawn(async move {
            let h = lock.acquire(Duration::from_secs(15)).await.unwrap();
            (Instant::now(), h)
        })
    };
    queued(&mut events, "waiter").await;
    // Long enough that the waiter's fallback poll has backed off well past the release.
    tokio::time::sleep(Duration::from_millis(700)).await;
    let released_at = Instant::now();
    held.release().await.unwrap();
    let (got_at, h) = waiter.await.unwrap();
    // Woken by the release, not by a poll: generous, but well below the
    // fallback poll's interval at this point (≥ 600 ms). Without notices
    // the poll serves it, later.
    if notices {
        assert!(got_at.duration_since(released_at) < Duration::from_millis(400), "{:?}", got_at - released_at);
    }
    h.release().await.unwrap();
}

async fn cancelled_wait_leaves_nothing_held(fx: Fixture) {
    let locks = fx.connect().await;
    let held = locks.lock("c").try_acquire().await.unwrap().unwrap();
    let first = held.fence();
    let other = fx.connect().await;
    let mut events = other.events();
    let waiter = {
        let lock = other.lock("c").holder("waiter");
        tokio::spawn(async move { lock.acquire(Duration::MAX).await })
    };
    queued(&mut events, "waiter").await;
    waiter.abort();
    assert!(waiter.await.unwrap_err().is_cancelled());
    held.release().await.unwrap();
    // Neither the lock nor the cancelled waiter's place in the queue stays held.
    let start = Instant::now();
    let next = locks.lock("c").acquire(Duration::from_secs(10)).await.unwrap();
    assert!(start.elapsed() < Duration::from_secs(3), "a cancelled waiter held up the queue");
    // Strictly higher; not necessarily first + 1 (a quorum's fence is the
    // highest of the servers', and a failed attempt may have raised one).
    assert!(next.fence() > first);
    next.release().await.unwrap();
    // Nothing in flight either: the cancelled waiter's attempt, if the server had its statement
    // when the waiter went, may still take the lock when the server runs it, and gives it back at
    // once; closing its provider waits for that (postgres_faults'
    // advisory_a_cancelled_attempt_the_server_runs_late_gives_the_lock_back_at_once: what Kotlin
    // met in CI).
    other.close().await;

    // A timeout is the same: nothing stays behind. (Before, on
    // postgres_advisory: the cancelled waiter's attempt, finished in the
    // background, had opened a connection and then took the lock.)
    let Some(h) = locks.lock("c").try_acquire().await.unwrap() else {
        panic!("held after the release: {:?}", locks.state("c").await)
    };
    assert!(locks.lock("c").acquire_or_none(Duration::from_millis(100)).await.unwrap().is_none());
    h.release().await.unwrap();
    assert!(locks.lock("c").try_acquire().await.unwrap().is_some());
}


async fn watchdog_keeps_lock_past_its_ttl(fx: Fixture) {
    let locks = fx.connect().await;
    let mut events = locks.events();
    let ttl = fx.short(300);
    let held = locks.lock("wd").ttl(ttl).try_acquire().await.unwrap().unwrap();
    if fx.refused("refresh", held.refresh(ttl).await).is_none() {
        // Nothing renews a lock the backend cannot extend: it lapses at its ttl.
        tokio::time::sleep(ttl * 3 / 2).await;
        assert!(locks.lock("wd").try_acquire().await.unwrap().is_some(), "a lock that cannot be renewed outlived its ttl");
        assert!(!held.release().await.unwrap());
        while let Some(e) = events.try_recv() {
            assert_ne!(e.kind, EventKind::Renewed);
        }
        return;
    }
    tokio::time::sleep(ttl * 10 / 3).await;
    assert!(!held.is_lost());
    assert!(locks.lock("wd").try_acquire().await.unwrap().is_none(), "renewed lock was taken");
    assert!(held.release().await.unwrap());
    let mut renewed = 0;
    while let Some(e) = events.try_recv() {
        renewed += (e.kind == EventKind::Renewed) as u32;
    }
    assert!(renewed >= 2, "renewed {renewed} times");
}

async fn without_auto_renew_the_lock_expires_at_its_ttl(fx: Fixture) {
    let locks = fx.connect().await;
    let ttl = fx.short(300);
    let held = locks.lock("nr").ttl(ttl).auto_renew(false).try_acquire().await.unwrap().unwrap();
    assert!(locks.lock("nr").try_acquire().await.unwrap().is_none());
    tokio::time::sleep(ttl * 5 / 3).await;
    assert_eq!(locks.state("nr").await.unwrap(), LockState::Free);
    assert!(!held.release().await.unwrap());
}

async fn loss_is_noticed_and_run_ends_with_lost(fx: Fixture) {
    let locks = fx.connect().await;
    let admin = fx.connect().await;
    if fx.refuses.contains("force_release") {
        // Nothing can take a lock from its holder here (it only lapses).
        fx.refused("force_release", admin.force_release("lost").await);
        return;
    }
    let lock = locks.lock("lost").ttl(Duration::from_millis(300));
    let result: Result<u32, Error> = lock
        .run(Duration::from_secs(5), |guard| async move {
            admin.force_release("lost").await.unwrap();
            tokio::time::timeout(Duration::from_secs(10), guard.lost()).await.expect("loss not noticed");
            assert!(guard.is_lost());
            Ok(7)
        })
        .await;
    assert!(matches!(result, Err(Error::Lost { .. })), "{result:?}");
}

async fn run_returns_the_body_value_and_releases(fx: Fixture) {
    let locks = fx.connect().await;
    let v = locks
        .lock("run")
        .run(Duration::from_secs(5), |g| async move { Ok::<_, Error>(g.fence() * 10) })
        .await
        .unwrap();
    assert_eq!(v, 10);
    assert_eq!(locks.state("run").await.unwrap(), LockState::Free);
    // A failing body's error comes back, and the lock is released too.
    #[derive(Debug)]
    enum AppError {
        Lock(Error),
        Bad,
    }
    impl From<Error> for AppError {
        fn from(e: Error) -> Self {
            AppError::Lock(e)
        }
    }
    let r: Result<(), AppError> = locks.lock("run").run(Duration::from_secs(5), |_| async { Err(AppError::Bad) }).await;
    assert!(matches!(r, Err(AppError::Bad)));
    assert_eq!(locks.state("run").await.unwrap(), LockState::Free);
    let _h = locks.lock("run").try_acquire().await.unwrap().unwrap();
    let r: Result<(), AppError> =
        locks.lock("run").run(Duration::from_millis(50), |_| async { Ok(()) }).await;
    assert!(matches!(r, Err(AppError::Lock(Error::Timeout { .. }))));
}

async fn events_report_what_happened(fx: Fixture) {
    let locks = fx.connect().await;
    let mut events = locks.events();
    let held = locks.lock("ev").holder("me").try_acquire().await.unwrap().unwrap();
    assert!(locks.lock("ev").acquire_or_none(Duration::from_millis(50)).await.unwrap().is_none());
    held.release().await.unwrap();
    let h = locks.lock("ev").try_acquire().await.unwrap().unwrap();
    let last = match fx.refused("force_release", locks.force_release("ev").await) {
        Some(_) => EventKind::ForceReleased,
        None => {
            h.release().await.unwrap();
            EventKind::Released
        }
    };
    let mut kinds = Vec::new();
    while let Some(e) = events.try_recv() {
        assert_eq!(e.name, "ev");
        kinds.push(e.kind);
    }
    assert_eq!(
        kinds,
        [
            EventKind::Acquired,
            EventKind::Queued,
            EventKind::TimedOut,
            EventKind::Released,
            EventKind::Acquired,
            last
        ]
    );
}

async fn closed_provider_refuses_operations(fx: Fixture) {
    let locks = fx.connect().await;
    let held = locks.lock("x").try_acquire().await.unwrap().unwrap();
    locks.close().await;
    assert!(matches!(locks.lock("x").try_acquire().await, Err(Error::Closed)));
    assert!(matches!(locks.state("x").await, Err(Error::Closed)));
    assert!(matches!(held.refresh(Duration::from_secs(1)).await, Err(Error::Closed)));
    assert!(matches!(locks.ping().await, Err(Error::Closed)));
    // Handing it off is refused too, and the handle's drop releases nothing:
    // the lock frees at its ttl, as close() says.
    assert!(matches!(held.into_token(), Err(Error::Closed)));
    assert_eq!(Error::Closed.code(), "CLOSED");
    if locks.capabilities().handoff {
        // (Elsewhere the lock died with the closed connection.)
        let other = fx.connect().await;
        assert!(matches!(other.state("x").await.unwrap(), LockState::Held { .. }), "the drop after close released the lock");
        // (Couchbase's getl cannot force-release: there it lapses at its ttl.)
        match other.force_release("x").await {
            Ok(was_held) => assert!(was_held),
            Err(e) => assert!(matches!(e, Error::Unsupported { .. }), "{e:?}"),
        }
        other.close().await;
    }
}

async fn close_ends_pending_waits(fx: Fixture) {
    let locks = fx.connect().await;
    let held = locks.lock("w").try_acquire().await.unwrap().unwrap();
    let other = fx.connect().await;
    let mut events = other.events();
    let waiter = {
        let lock = other.lock("w").holder("waiter");
        tokio::spawn(async move { lock.acquire(Duration::MAX).await })
    };
    queued(&mut events, "waiter").await;
    assert!(!waiter.is_finished(), "the wait ended before the lock was free");
    other.close().await;
    // A wait that would never end on its own ends with Closed, holding nothing.
    let ended = tokio::time::timeout(Duration::from_secs(5), waiter).await;
    assert!(matches!(ended, Ok(Ok(Err(Error::Closed)))), "{ended:?}");
    let fence = held.fence();
    held.release().await.unwrap();
    // The closed waiter left its queue before close() returned: nobody is
    // ahead of a newcomer, and the release handed the lock to nobody.
    let next = locks.lock("w").try_acquire().await.unwrap().expect("free right after the release");
    assert!(next.fence() > fence);
    next.release().await.unwrap();
}

async fn bypass_grants_every_lock(fx: Fixture) {
    let locks = Locks::connect(&fx.url_with("bypass=true")).await.unwrap();
    let a = locks.lock("b").try_acquire().await.unwrap().unwrap();
    let b = locks.lock("b").try_acquire().await.unwrap().unwrap();
    assert_eq!((a.fence(), b.fence()), (0, 0));
    // The real backend was not touched.
    assert_eq!(fx.connect().await.state("b").await.unwrap(), LockState::Free);
    a.release().await.unwrap();
    b.release().await.unwrap();
}

async fn bad_input_gives_typed_errors(fx: Fixture) {
    let locks = fx.connect().await;
    let invalid = |r: Result<Option<ferrolock::Held>, Error>, needle: &str| match r {
        Err(Error::InvalidArgument(msg)) => assert!(msg.contains(needle), "{msg:?} should name {needle:?}"),
        other => panic!("expected InvalidArgument naming {needle:?}, got {other:?}"),
    };
    invalid(locks.lock("").try_acquire().await, "empty");
    invalid(locks.lock("x".repeat(513)).try_acquire().await, "513");
    invalid(locks.lock("bad\nname").try_acquire().await, "control");
    invalid(locks.lock("t").ttl(Duration::ZERO).try_acquire().await, "ttl");
    let max = locks.capabilities().max_ttl;
    invalid(locks.lock("t").ttl(max + Duration::from_secs(1)).try_acquire().await, "maximum");
    invalid(locks.lock("t").holder("a\u{7}b").try_acquire().await, "holder");
    invalid(locks.lock("t").acquire_or_none(Duration::from_secs(u64::MAX)).await, "timeout");
    // A name of exactly 512 bytes is fine, and so is any UTF-8.
    assert!(locks.lock("é".repeat(256)).try_acquire().await.unwrap().is_some());
    assert!(locks.lock("{braces}:and spaces/ünïcode").try_acquire().await.unwrap().is_some());
    // Nothing was left held by the failed calls.
    if let Some(listed) = fx.list(&locks, "t").await {
        assert!(listed.is_empty());
    }
    assert!(matches!(locks.state("").await, Err(Error::InvalidArgument(_))));
    assert!(matches!(locks.force_release("a\0").await, Err(Error::InvalidArgument(_))));

    for (url, needle) in [
        ("nope://x", "unknown scheme"),
        ("no-scheme-here", "no scheme"),
        ("memory://?namespace=bad/ns", "namespace"),
        ("memory://?namespace=", "namespace"),
        ("memory://?colour=blue", "colour"),
        ("memory://?bypass=maybe", "bypass"),
        ("sqlite://", "path"),
    ] {
        match Locks::connect(url).await {
            Err(Error::InvalidArgument(msg)) => assert!(msg.contains(needle), "{url}: {msg}"),
            other => panic!("{url}: {other:?}"),
        }
    }
    let err = Locks::connect("ftp://alice:hunter2@example").await.unwrap_err();
    assert!(!err.to_string().contains("hunter2"), "password leaked: {err}");
    // A backend compiled out is UNSUPPORTED naming its feature; compiled
    // in, a server that is not there is BACKEND_UNAVAILABLE. No password either way.
    let err = Locks::connect("couchbase://alice:hunter2@127.0.0.1:1/app?connect_timeout=1").await.unwrap_err();
    if cfg!(feature = "couchbase") {
        assert_eq!(err.code(), "BACKEND_UNAVAILABLE", "{err:?}");
    } else {
        assert!(matches!(&err, Error::Unsupported { operation, .. } if operation.contains("couchbase")), "{err:?}");
    }
    assert!(!format!("{err} {err:?}").contains("hunter2"));
}

async fn foreign_and_malformed_tokens_are_invalid(fx: Fixture) {
    let locks = fx.connect().await;
    if !fx.has(&locks, "handoff").await {
        return;
    }
    // The foreign store's folder lives (and is removed) with this scenario.
    let dir = tempfile::tempdir().unwrap();
    let other_url = if locks.backend() == ferrolock::BackendKind::Memory {
        format!("sqlite://{}", dir.path().join("x.db").display())
    } else {
        format!("memory://foreign-{}", rand_suffix())
    };
    let foreign = Locks::connect(&other_url).await.unwrap();
    let token = foreign.lock("f").try_acquire().await.unwrap().unwrap().into_token().unwrap();
    let err = locks.resume(&token).await.unwrap_err();
    assert!(matches!(&err, Error::InvalidToken(m) if m.contains("backend")), "{err:?}");
    assert_eq!(err.code(), "INVALID_TOKEN");
    for bad in ["", "flk1.", "flk1.!!!!", "flk2.AAAA", &token[..token.len() - 4], &"flk1.".repeat(1000)] {
        assert!(matches!(locks.resume(bad).await, Err(Error::InvalidToken(_))), "{bad:?}");
    }
}

async fn dropped_handle_releases_its_lock(fx: Fixture) {
    let locks = fx.connect().await;
    let held = locks.lock("d").try_acquire().await.unwrap().unwrap();
    drop(held);
    let next = locks.lock("d").acquire(Duration::from_secs(5)).await.unwrap();
    assert_eq!(next.fence(), 2);
    next.release().await.unwrap();
}

/// Acquires cancelled at random moments (their futures dropped while the
/// backend's operation is in flight: a grant, a queue entry) leave neither
/// the lock nor the queue blocked. Found as a new user would: one task takes
/// and releases a lock 60 times (ttl 60 s) while six tasks wait for it under
/// `tokio::time::timeout` of 0–4 ms; a grant nobody took held the lock for
/// its whole ttl, so the first task's wait timed out.
async fn cancelled_acquires_leave_the_lock_free(fx: Fixture) {
    let locks = fx.connect().await;
    // Without a queue, waiters race: see scenarios.json.
    let fair = fx.has(&locks, "queue").await;
    // Racing waiters pause between attempts for four times an uncontended
    // acquire-release pair (at least 1 ms): on a backend whose round trips
    // are slower than that pause they would otherwise starve the worker.
    let start = Instant::now();
    locks.lock("pace").try_acquire().await.unwrap().unwrap().release().await.unwrap();
    let pause = (start.elapsed() * 4).max(Duration::from_millis(1));
    // A leaked grant would hold the lock far past the worker's 8 s wait.
    let long = locks.capabilities().max_ttl.min(Duration::from_secs(60));
    let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let mut impatient = Vec::new();
    for i in 0..6u64 {
        // Each names itself, so that a lock left held says whose it was.
        let mine = fx.connect().await;
        let lock = mine.lock("r").ttl(long).holder(format!("impatient-{i}"));
        let stop = stop.clone();
        impatient.push(tokio::spawn(async move {
            let mut n = i;
            while !stop.load(Ordering::Relaxed) {
                n = n.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
                let patience = Duration::from_micros((n >> 33) % 4000);
                if let Ok(got) = tokio::time::timeout(patience, lock.acquire(Duration::from_secs(30))).await {
                    got.unwrap().release().await.unwrap();
                }
                if !fair {
                    tokio::time::sleep(pause).await;
                }
            }
            // A cancelled acquire finishes its operation in the background
            // and gives back what it got (a grant, a queue place); close
            // waits for that, so the checks below see its outcome, not a
            // give-back still under way.
            mine.close().await;
        }));
    }
    let lock = locks.lock("r").ttl(long).holder("worker");
    for round in 0..if fair { 60 } else { 20 } {
        let held = match lock.acquire(Duration::from_secs(8)).await {
            Ok(held) => held,
            Err(e) => {
                let state = locks.state("r").await;
                panic!("round {round}: {e} (a cancelled acquire left the lock or the queue held); now: {state:?}")
            }
        };
        held.release().await.unwrap();
    }
    stop.store(true, Ordering::Relaxed);
    for t in impatient {
        t.await.unwrap();
    }
    // Nothing left behind: a newcomer gets it at once, and then it is free.
    let start = Instant::now();
    let next = locks.lock("r").acquire(Duration::from_secs(8)).await.unwrap();
    assert!(start.elapsed() < Duration::from_secs(3), "a cancelled acquire held up a newcomer {:?}", start.elapsed());
    assert!(next.release().await.unwrap());
    assert_eq!(locks.state("r").await.unwrap(), LockState::Free);
}

/// Synchronous callers get the same semantics through `ferrolock::blocking`.
#[test]
fn blocking_api_mirrors_the_async_one() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("b.db").display());
    let locks = ferrolock::blocking::Locks::connect(&url).unwrap();
    let held = locks.lock("job").acquire(Duration::from_secs(1)).unwrap();
    assert!(locks.lock("job").try_acquire().unwrap().is_none());
    let err = locks.lock("job").acquire(Duration::from_millis(100)).unwrap_err();
    assert_eq!(err.code(), "TIMEOUT");
    let token = held.into_token().unwrap();
    let held = locks.resume(&token).unwrap();
    assert!(held.release().unwrap());
    let v = locks.lock("job").run(Duration::from_secs(1), |h| Ok::<_, Error>(h.fence())).unwrap();
    assert_eq!(v, 2);
    assert_eq!(locks.state("job").unwrap(), LockState::Free);
}

/// A handle dropped on a thread outside any runtime still releases its lock
/// (through the provider's runtime), whatever the backend.
#[test]
fn a_handle_dropped_outside_a_runtime_releases() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("d.db").display());
    let locks = ferrolock::blocking::Locks::connect(&url).unwrap();
    let held = locks.lock("d").acquire(Duration::from_secs(1)).unwrap();
    std::thread::spawn(move || drop(held)).join().unwrap();
    let next = locks.lock("d").acquire(Duration::from_secs(5)).unwrap();
    assert_eq!(next.fence(), 2);
}
