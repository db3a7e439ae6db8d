//! Couchbase against gocaves (Couchbase's mock cluster, started by
//! scripts/lib/servers.sh's `start_gocaves`): BoxLang CouchbaseLock's usage
//! patterns on `mode=getl` (the callback form, the manual form with
//! try/finally, acquire_or_none, bypass, the 31 s error, a handoff by token
//! to another process), what get-and-lock cannot do (`UNSUPPORTED`), a lock
//! lapsing at its ttl (the mock's clock moved, no sleep), `mode=lease`
//! doing everything, several processes on one key with an exact counter in
//! both modes, and connecting to a dead port, with a wrong password and to
//! an unknown bucket (`BACKEND_UNAVAILABLE` within the connect timeout, no
//! password shown).
//!
//! The tests run one at a time (`SERIAL`): moving the mock's clock would
//! make the getl locks of a test running beside it lapse.
#![cfg(feature = "couchbase")]

use ferrolock::{Error, LockState, Locks, Mode};
use std::io::{Read, Write};
use std::process::Command;
use std::time::{Duration, Instant};

static SERIAL: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

fn env(var: &str) -> String {
    std::env::var(var).unwrap_or_else(|_| {
        panic!("{var} is not set: run scripts/test, which starts gocaves (start_gocaves)")
    })
}

fn getl_url() -> String {
    env("FERROLOCK_TEST_COUCHBASE_URL")
}

fn lease_url() -> String {
    env("FERROLOCK_TEST_COUCHBASE_LEASE_URL")
}

fn unique(prefix: &str) -> String {
    let n = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos();
    format!("{prefix}-{n}")
}

fn with(url: &str, query: &str) -> String {
    let sep = if url.contains('?') { '&' } else { '?' };
    format!("{url}{sep}{query}")
}

/// Move the mock cluster's clock forward (gocaves' `timetravel`): locks
/// and document expiries there lapse without a real wait.
fn time_travel(by: Duration) {
    let mut s = std::net::TcpStream::connect(env("FERROLOCK_TEST_GOCAVES_CONTROL")).unwrap();
    let msg = format!(
        r#"{{"type":"timetravel","cluster":"ferrolock","amount_ms":{}}}"#,
        by.as_millis()
    );
    s.write_all(msg.as_bytes()).unwrap();
    s.write_all(b"\0").unwrap();
    let mut reply = Vec::new();
    let mut byte = [0u8];
    while s.read(&mut byte).unwrap() == 1 && byte[0] != 0 {
        reply.push(byte[0]);
    }
    assert!(
        String::from_utf8_lossy(&reply).contains("timetravelled"),
        "{}",
        String::from_utf8_lossy(&reply)
    );
}

fn unsupported(e: &Error, needle: &str) {
    assert_eq!(e.code(), "UNSUPPORTED", "{e}");
    let text = e.to_string();
    assert!(
        text.contains("couchbase") && text.contains(needle),
        "{text}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn getl_keeps_boxlang_patterns() {
    let _serial = SERIAL.lock().await;
    let ns = unique("boxlang");
    let locks = Locks::connect(&with(&getl_url(), &format!("namespace={ns}")))
        .await
        .unwrap();
    let caps = locks.capabilities();
    assert_eq!(
        (caps.max_ttl, caps.shared, caps.handoff, caps.queue),
        (Duration::from_secs(30), false, true, false)
    );

    // The callback form (BoxLang's `lock name=… { … }`): the body's value,
    // the lock released after it.
    let lock = locks.lock("invoice").ttl(Duration::from_secs(10));
    let fence = lock
        .run(Duration::from_secs(5), |g| async move {
            Ok::<_, Error>(g.fence())
        })
        .await
        .unwrap();
    assert_eq!(fence, 1);
    assert_eq!(locks.state("invoice").await.unwrap(), LockState::Free);

    // The manual form with try/finally: acquire, work, release in finally.
    let held = lock.acquire(Duration::from_secs(5)).await.unwrap();
    assert_eq!(held.fence(), 2);
    match locks.state("invoice").await.unwrap() {
        LockState::Held {
            fence,
            mode,
            holder,
            expires_in,
            readers,
        } => {
            assert_eq!((fence, mode, readers), (2, Mode::Exclusive, 0));
            assert_eq!(holder, held.holder());
            assert!(
                expires_in > Duration::from_secs(5) && expires_in <= Duration::from_secs(10),
                "{expires_in:?}"
            );
        }
        LockState::Free => panic!("a held getl lock reported free"),
    }
    // throwOnTimeout=false: another owner gets nothing, and is not kept
    // waiting by the SDK retrying the locked document until it lapses.
    let other = Locks::connect(&with(&getl_url(), &format!("namespace={ns}")))
        .await
        .unwrap();
    let start = Instant::now();
    assert!(other
        .lock("invoice")
        .ttl(Duration::from_secs(10))
        .acquire_or_none(Duration::from_millis(300))
        .await
        .unwrap()
        .is_none());
    assert!(
        start.elapsed() < Duration::from_secs(3),
        "a locked document was retried: {:?}",
        start.elapsed()
    );
    assert!(held.release().await.unwrap());
    let next = other
        .lock("invoice")
        .ttl(Duration::from_secs(10))
        .try_acquire()
        .await
        .unwrap()
        .expect("free after release");
    assert_eq!(next.fence(), 3);
    assert!(next.release().await.unwrap());

    // The 31 s error (BoxLang throws above 30 s), and whole seconds only.
    let e = locks
        .lock("long")
        .ttl(Duration::from_secs(31))
        .try_acquire()
        .await
        .unwrap_err();
    assert_eq!(e.code(), "INVALID_ARGUMENT");
    assert!(e.to_string().contains("30s"), "{e}");
    let e = locks
        .lock("half")
        .ttl(Duration::from_millis(1500))
        .try_acquire()
        .await
        .unwrap_err();
    assert_eq!(e.code(), "INVALID_ARGUMENT");
    assert!(e.to_string().contains("whole number of seconds"), "{e}");

    // What get-and-lock cannot do is UNSUPPORTED, naming backend and operation.
    let held = locks
        .lock("caps")
        .ttl(Duration::from_secs(10))
        .try_acquire()
        .await
        .unwrap()
        .unwrap();
    unsupported(
        &held.refresh(Duration::from_secs(10)).await.unwrap_err(),
        "refresh",
    );
    unsupported(
        &locks.force_release("caps").await.unwrap_err(),
        "force_release",
    );
    unsupported(
        &locks
            .lock("caps-r")
            .shared()
            .try_acquire()
            .await
            .map(drop)
            .unwrap_err(),
        "shared",
    );
    unsupported(&locks.list("").await.unwrap_err(), "list");
    assert!(held.release().await.unwrap());

    // bypass=true grants every lock without touching Couchbase.
    let bypass = Locks::connect(&with(&getl_url(), &format!("namespace={ns}&bypass=true")))
        .await
        .unwrap();
    let a = bypass.lock("invoice").try_acquire().await.unwrap().unwrap();
    let b = bypass.lock("invoice").try_acquire().await.unwrap().unwrap();
    assert_eq!((a.fence(), b.fence()), (0, 0));
    assert_eq!(locks.state("invoice").await.unwrap(), LockState::Free);
    locks.close().await;
    other.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn getl_lock_lapses_at_its_ttl_and_fences_survive_a_restart() {
    let _serial = SERIAL.lock().await;
    let url = with(&getl_url(), &format!("namespace={}", unique("lapse")));
    let locks = Locks::connect(&url).await.unwrap();
    // Acquired with the default settings (auto-renew on): nothing renews
    // a get-and-lock lock; it lapses at its ttl.
    let held = locks
        .lock("job")
        .ttl(Duration::from_secs(2))
        .try_acquire()
        .await
        .unwrap()
        .unwrap();
    assert_eq!(held.fence(), 1);
    let token = held.take_token().unwrap();
    time_travel(Duration::from_secs(3));
    let next = locks
        .lock("job")
        .ttl(Duration::from_secs(5))
        .try_acquire()
        .await
        .unwrap()
        .expect("lapsed at its ttl");
    assert_eq!(next.fence(), 2);
    // The stale handle's CAS no longer unlocks it, and its token is lost.
    assert!(matches!(
        locks.resume(&token).await,
        Err(Error::Lost { .. })
    ));
    assert!(next.release().await.unwrap());
    locks.close().await;
    // A new provider (a restarted process) continues the fence counter.
    let again = Locks::connect(&url).await.unwrap();
    let third = again
        .lock("job")
        .ttl(Duration::from_secs(5))
        .try_acquire()
        .await
        .unwrap()
        .unwrap();
    assert_eq!(third.fence(), 3);
    assert!(third.release().await.unwrap());
    again.close().await;
}

/// This test binary run again as a child process, for one `role`.
fn child(role: &str, vars: &[(&str, &str)]) -> std::process::Child {
    let mut cmd = Command::new(std::env::current_exe().unwrap());
    cmd.args([
        "--exact",
        "child_process",
        "--nocapture",
        "--test-threads=1",
    ])
    .env("FERROLOCK_CB_ROLE", role);
    for (k, v) in vars {
        cmd.env(k, v);
    }
    cmd.stdout(std::process::Stdio::null()).spawn().unwrap()
}

fn wait_ok(mut c: std::process::Child) {
    let status = c.wait().unwrap();
    assert!(status.success(), "child process failed: {status}");
}

/// The child side of the multi-process tests; does nothing when run as a test.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn child_process() {
    let Ok(role) = std::env::var("FERROLOCK_CB_ROLE") else {
        return;
    };
    let url = std::env::var("FERROLOCK_CB_URL").unwrap();
    let locks = Locks::connect(&url).await.unwrap();
    match role.as_str() {
        // BoxLang's couchbaseUnlock(cache, name, cas) from another process.
        "release" => {
            let held = locks
                .resume(&std::env::var("FERROLOCK_CB_TOKEN").unwrap())
                .await
                .unwrap();
            assert!(held.release().await.unwrap());
        }
        "count" => {
            let file = std::env::var("FERROLOCK_CB_FILE").unwrap();
            let rounds: u32 = std::env::var("FERROLOCK_CB_ROUNDS")
                .unwrap()
                .parse()
                .unwrap();
            let lock = locks.lock("counter").ttl(Duration::from_secs(10));
            for _ in 0..rounds {
                let held = lock.acquire(Duration::from_secs(60)).await.unwrap();
                // A non-atomic read-modify-write: exact only under the lock.
                let n: u64 = std::fs::read_to_string(&file)
                    .unwrap()
                    .trim()
                    .parse()
                    .unwrap();
                std::fs::write(&file, format!("{}\n", n + 1)).unwrap();
                assert!(held.release().await.unwrap());
            }
        }
        other => panic!("unknown role {other}"),
    }
    locks.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn getl_lock_handed_off_by_token_is_unlocked_by_another_process() {
    let _serial = SERIAL.lock().await;
    let url = with(&getl_url(), &format!("namespace={}", unique("handoff")));
    let locks = Locks::connect(&url).await.unwrap();
    let held = locks
        .lock("report")
        .ttl(Duration::from_secs(20))
        .try_acquire()
        .await
        .unwrap()
        .unwrap();
    let token = held.into_token().unwrap();
    assert!(matches!(
        locks.state("report").await.unwrap(),
        LockState::Held { .. }
    ));
    wait_ok(child(
        "release",
        &[("FERROLOCK_CB_URL", &url), ("FERROLOCK_CB_TOKEN", &token)],
    ));
    assert_eq!(locks.state("report").await.unwrap(), LockState::Free);
    assert!(matches!(
        locks.resume(&token).await,
        Err(Error::Lost { .. })
    ));
    locks.close().await;
}

async fn processes_count_exactly(url: &str) {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("counter");
    std::fs::write(&file, "0\n").unwrap();
    let (processes, rounds) = (4, 25);
    let children: Vec<_> = (0..processes)
        .map(|_| {
            child(
                "count",
                &[
                    ("FERROLOCK_CB_URL", url),
                    ("FERROLOCK_CB_FILE", file.to_str().unwrap()),
                    ("FERROLOCK_CB_ROUNDS", &rounds.to_string()),
                ],
            )
        })
        .collect();
    for c in children {
        wait_ok(c);
    }
    assert_eq!(
        std::fs::read_to_string(&file).unwrap().trim(),
        (processes * rounds).to_string()
    );
    let locks = Locks::connect(url).await.unwrap();
    let last = locks
        .lock("counter")
        .ttl(Duration::from_secs(10))
        .try_acquire()
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        last.fence(),
        (processes * rounds + 1) as u64,
        "one fence per acquisition"
    );
    assert!(last.release().await.unwrap());
    locks.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn four_processes_on_one_getl_key_count_exactly() {
    let _serial = SERIAL.lock().await;
    processes_count_exactly(&with(
        &getl_url(),
        &format!("namespace={}", unique("procs")),
    ))
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn four_processes_on_one_lease_key_count_exactly() {
    let _serial = SERIAL.lock().await;
    processes_count_exactly(&with(
        &lease_url(),
        &format!("namespace={}", unique("procs")),
    ))
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn lease_mode_does_everything_getl_cannot() {
    let _serial = SERIAL.lock().await;
    let url = with(&lease_url(), &format!("namespace={}", unique("lease")));
    let locks = Locks::connect(&url).await.unwrap();
    let caps = locks.capabilities();
    assert!(caps.shared && caps.handoff && caps.max_ttl > Duration::from_secs(30));
    // Any ttl (above get-and-lock's 30 s), refresh, force-release.
    let held = locks
        .lock("batch")
        .ttl(Duration::from_secs(45))
        .try_acquire()
        .await
        .unwrap()
        .unwrap();
    assert_eq!(held.fence(), 1);
    held.refresh(Duration::from_secs(120)).await.unwrap();
    match locks.state("batch").await.unwrap() {
        LockState::Held { expires_in, .. } => {
            assert!(expires_in > Duration::from_secs(100), "{expires_in:?}")
        }
        LockState::Free => panic!("held lease reported free"),
    }
    assert!(locks.force_release("batch").await.unwrap());
    assert!(matches!(
        held.refresh(Duration::from_secs(10)).await,
        Err(Error::Lost { .. })
    ));
    // Shared locks.
    let r1 = locks
        .lock("doc")
        .shared()
        .try_acquire()
        .await
        .unwrap()
        .unwrap();
    let r2 = locks
        .lock("doc")
        .shared()
        .try_acquire()
        .await
        .unwrap()
        .unwrap();
    assert!(locks.lock("doc").try_acquire().await.unwrap().is_none());
    match locks.state("doc").await.unwrap() {
        LockState::Held { mode, readers, .. } => assert_eq!((mode, readers), (Mode::Shared, 2)),
        LockState::Free => panic!("read locks reported free"),
    }
    assert!(r1.release().await.unwrap() && r2.release().await.unwrap());
    // A token resumed in another process releases the lease.
    let held = locks.lock("doc").try_acquire().await.unwrap().unwrap();
    let token = held.into_token().unwrap();
    wait_ok(child(
        "release",
        &[("FERROLOCK_CB_URL", &url), ("FERROLOCK_CB_TOKEN", &token)],
    ));
    assert_eq!(locks.state("doc").await.unwrap(), LockState::Free);
    unsupported(&locks.list("").await.unwrap_err(), "list");
    locks.close().await;
}

/// `BACKEND_UNAVAILABLE` within the connect timeout (1 s here, plus margin),
/// the password never in the error.
async fn unavailable_within(url: &str, password: &str) {
    let start = Instant::now();
    let e = Locks::connect(url).await.unwrap_err();
    let took = start.elapsed();
    assert_eq!(e.code(), "BACKEND_UNAVAILABLE", "{url}: {e}");
    assert!(took < Duration::from_secs(4), "{url}: took {took:?}");
    let shown = format!("{e} {e:?}");
    assert!(!shown.contains(password), "password shown: {shown}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connect_fails_as_unavailable_within_its_timeout() {
    let _serial = SERIAL.lock().await;
    let good = getl_url();
    let hosts = good
        .split('@')
        .nth(1)
        .unwrap()
        .split('/')
        .next()
        .unwrap()
        .to_owned();
    // A dead port: bound, then closed.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    unavailable_within(
        &format!(
            "couchbase://Administrator:s3cret-dead@127.0.0.1:{port}/default?connect_timeout=1"
        ),
        "s3cret-dead",
    )
    .await;
    unavailable_within(
        &format!("couchbase://Administrator:wr0ng-pw@{hosts}/default?connect_timeout=1"),
        "wr0ng-pw",
    )
    .await;
    unavailable_within(
        &format!("couchbase://Administrator:password@{hosts}/no-such-bucket?connect_timeout=1"),
        "\u{0}",
    )
    .await;
}
