//! PostgreSQL under faults: a wrong password, an unreachable server, a
//! holder's connection killed with `pg_terminate_backend`, and a server
//! restarted during a hold, in both modes; and TLS by sslmode. The restart
//! and TLS tests start their own server (initdb in a temp dir, 127.0.0.1, a
//! free port, stopped by pid; the TLS one with the certificates of
//! `$FERROLOCK_TEST_TLS_DIR`); the others use the one scripts/test started
//! (`FERROLOCK_TEST_POSTGRES_URL`), each in a namespace of its own.
#![cfg(feature = "postgres")]

use ferrolock::{Error, LockState, Locks};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

const BIN: &str = "/usr/lib/postgresql/15/bin";
const PASSWORD: &str = "restart-test-pw";

fn shared_url() -> String {
    std::env::var("FERROLOCK_TEST_POSTGRES_URL")
        .expect("FERROLOCK_TEST_POSTGRES_URL is not set: run scripts/test, which starts PostgreSQL")
}

fn unique(prefix: &str) -> String {
    let n = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_nanos();
    format!("{prefix}-{n}")
}

fn with(url: &str, query: &str) -> String {
    let sep = if url.contains('?') { '&' } else { '?' };
    format!("{url}{sep}{query}")
}

/// Run `sql` with psql against `url` (a postgres:// URL psql understands);
/// its output, unaligned, without headers.
fn psql(url: &str, sql: &str) -> String {
    psql_each(url, &[sql])
}

/// Run each of `statements` with psql in one session, each in a transaction
/// of its own (one `-c` each); their output, as `psql` gives it.
fn psql_each(url: &str, statements: &[&str]) -> String {
    let out = Command::new(Path::new(BIN).join("psql"))
        .args(["-X", "-A", "-t", "-v", "ON_ERROR_STOP=1", "-d", url])
        .args(statements.iter().flat_map(|s| ["-c", s]))
        .output()
        .expect("psql is installed with postgresql-15");
    assert!(out.status.success(), "psql: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8(out.stdout).unwrap()
}

/// Wait for a fact, not a time: `cond` polled until true, or fail.
async fn eventually(what: &str, limit: Duration, mut cond: impl AsyncFnMut() -> bool) {
    let start = Instant::now();
    while !cond().await {
        assert!(start.elapsed() < limit, "{what}: not within {limit:?}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

fn as_root() -> bool {
    Command::new("id").arg("-u").output().map(|o| o.stdout.starts_with(b"0\n")).unwrap_or(false)
}

/// A PostgreSQL server of this test's own: restartable on its port with
/// its data.
struct Server {
    port: u16,
    dir: tempfile::TempDir,
    child: Option<Child>,
    /// More `-c name=value` settings.
    settings: Vec<String>,
}

impl Server {
    fn start() -> Server {
        Server::start_with(|_| Vec::new())
    }

    /// A server whose extra settings `settings` makes from its folder
    /// (where it may put files first).
    fn start_with(settings: impl FnOnce(&Path) -> Vec<String>) -> Server {
        let dir = tempfile::tempdir().unwrap();
        let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
        std::fs::write(dir.path().join("pwfile"), format!("{PASSWORD}\n")).unwrap();
        let settings = settings(dir.path());
        if as_root() {
            // PostgreSQL refuses to run as root: its own user runs it.
            let ok = Command::new("chown").args(["-R", "postgres"]).arg(dir.path()).status().unwrap().success();
            assert!(ok, "chown the server's folder");
        }
        let data = dir.path().join("data");
        let status = Self::command("initdb")
            .arg("-D")
            .arg(&data)
            .args(["-U", "ferrolock", "--auth=scram-sha-256", "-E", "UTF8", "--no-sync"])
            .arg(format!("--pwfile={}", dir.path().join("pwfile").display()))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .expect("initdb of postgresql-15");
        assert!(status.success(), "initdb failed");
        let mut s = Server { port, dir, child: None, settings };
        s.restart();
        s
    }

    fn command(program: &str) -> Command {
        let path = Path::new(BIN).join(program);
        if as_root() {
            let mut c = Command::new("runuser");
            c.args(["-u", "postgres", "--"]).arg(path);
            c
        } else {
            Command::new(path)
        }
    }

    fn data(&self) -> PathBuf {
        self.dir.path().join("data")
    }

    fn restart(&mut self) {
        let child = Self::command("postgres")
            .arg("-D")
            .arg(self.data())
            .args(["-c", "listen_addresses=127.0.0.1", "-p", &self.port.to_string(), "-k"])
            .arg(self.dir.path())
            .args(["-c", "fsync=off"])
            .args(self.settings.iter().flat_map(|s| ["-c", s.as_str()]))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("postgres of postgresql-15");
        self.child = Some(child);
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let ready = Command::new(Path::new(BIN).join("pg_isready"))
                .args(["-q", "-h", "127.0.0.1", "-p", &self.port.to_string()])
                .status()
                .is_ok_and(|s| s.success());
            if ready {
                break;
            }
            assert!(Instant::now() < deadline, "postgres did not start");
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// Stop the server (a fast shutdown: sessions are ended, data kept).
    fn stop(&mut self) {
        let Some(mut child) = self.child.take() else { return };
        // The postmaster's pid, not runuser's.
        if let Some(pid) = std::fs::read_to_string(self.data().join("postmaster.pid"))
            .ok()
            .and_then(|s| s.lines().next().and_then(|l| l.trim().parse::<i32>().ok()))
        {
            let _ = Command::new("kill").args(["-INT", &pid.to_string()]).status();
        }
        let _ = child.wait();
    }

    fn url(&self) -> String {
        format!("postgres://ferrolock:{PASSWORD}@127.0.0.1:{}/postgres", self.port)
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.stop();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_wrong_password_is_a_clear_redacted_error() {
    let url = shared_url();
    let (head, rest) = url.split_once("://").unwrap();
    let (userinfo, host) = rest.split_once('@').expect("the test URL has a user and password");
    let user = userinfo.split(':').next().unwrap();
    for wrong in [format!("{head}://{user}:wrong-pass-1234@{host}"), format!("{head}://{user}:wrong-pass-1234@{host}?mode=advisory")] {
        let err = Locks::connect(&wrong).await.unwrap_err();
        assert_eq!(err.code(), "BACKEND_UNAVAILABLE", "{err:?}");
        let shown = format!("{err} {err:?} {:?}", std::error::Error::source(&err).map(|s| s.to_string()));
        assert!(!shown.contains("wrong-pass-1234"), "password leaked: {shown}");
        assert!(shown.contains("password authentication failed"), "unclear: {shown}");
    }
    // The right one works, and shows up nowhere.
    let password = userinfo.split_once(':').unwrap().1;
    let locks = Locks::connect(&with(&url, &format!("namespace={}", unique("pw")))).await.unwrap();
    assert!(!locks.url().contains(password), "{}", locks.url());
    let held = locks.lock("p").try_acquire().await.unwrap().unwrap();
    let token = held.into_token().unwrap();
    assert!(!token.contains(password));
    let decoded = format!("{:?}", ferrolock::token::decode(&token).unwrap());
    assert!(!decoded.contains(password));
    assert!(locks.resume(&token).await.unwrap().release().await.unwrap());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unreachable_server_is_unavailable_within_the_connect_timeout() {
    // Nothing listens: refused at once.
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let start = Instant::now();
    let err = Locks::connect(&format!("postgres://u:secret-pw@127.0.0.1:{port}/db?connect_timeout=2")).await.unwrap_err();
    assert_eq!(err.code(), "BACKEND_UNAVAILABLE", "{err:?}");
    assert!(start.elapsed() < Duration::from_secs(2), "{:?}", start.elapsed());
    assert!(!err.to_string().contains("secret-pw"));

    // Something listens but never answers: given up at the connect timeout.
    let silent = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = silent.local_addr().unwrap().port();
    for mode in ["lease", "advisory"] {
        let start = Instant::now();
        let err = Locks::connect(&format!("postgres://u:secret-pw@127.0.0.1:{port}/db?connect_timeout=1&mode={mode}"))
            .await
            .unwrap_err();
        let took = start.elapsed();
        assert_eq!(err.code(), "BACKEND_UNAVAILABLE", "{err:?}");
        assert!(took >= Duration::from_millis(900) && took < Duration::from_secs(3), "took {took:?}");
        assert!(err.to_string().contains("connect_timeout"), "{err}");
        assert!(!err.to_string().contains("secret-pw"));
    }
}

/// The advisory lock of `key` held by a session of this database: that
/// session's pid.
fn advisory_holder_pid(url: &str, key: &str) -> Option<i32> {
    let sql = format!(
        "SELECT pid FROM pg_locks WHERE locktype = 'advisory' AND granted AND objsubid = 1
           AND ((classid::bigint << 32) | objid::bigint) = hashtextextended('{key}', 0)"
    );
    psql(url, &sql).lines().next().and_then(|l| l.trim().parse().ok())
}

/// Two providers in advisory mode on a fresh namespace, and that namespace.
async fn advisory_providers(prefix: &str) -> (String, Locks, Locks) {
    let ns = unique(prefix);
    let url = with(&shared_url(), &format!("mode=advisory&namespace={ns}"));
    let (a, b) = (Locks::connect(&url).await.unwrap(), Locks::connect(&url).await.unwrap());
    (ns, a, b)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn advisory_a_killed_holder_connection_frees_the_lock_at_once_and_the_holder_learns_it() {
    let (ns, holder, other) = advisory_providers("kill-adv").await;
    let held = holder.lock("k").ttl(Duration::from_millis(600)).try_acquire().await.unwrap().unwrap();
    let fence = held.fence();
    assert!(other.lock("k").try_acquire().await.unwrap().is_none());

    let pid = advisory_holder_pid(&shared_url(), &format!("__lock:{ns}:k")).expect("the lock's session");
    assert_eq!(psql(&shared_url(), &format!("SELECT pg_terminate_backend({pid}, 5000)")).trim(), "t");

    // Freed at once: no ttl to wait for.
    let start = Instant::now();
    let next = other.lock("k").acquire(Duration::from_secs(5)).await.unwrap();
    assert!(start.elapsed() < Duration::from_millis(500), "freed late: {:?}", start.elapsed());
    assert!(next.fence() > fence);
    // The holder is told at its next renewal (ttl/3).
    tokio::time::timeout(Duration::from_secs(5), held.lost()).await.expect("the holder was not told");
    assert!(held.is_lost());
    assert!(!held.release().await.unwrap());
    assert!(next.release().await.unwrap());
}

/// A lock connection the server ended while it was idle (a DBA's
/// `pg_terminate_backend`, an idle-session timeout) is seen closed and not
/// used for the next acquisition, which succeeds on a new one.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn advisory_idle_lock_connections_the_server_ended_are_not_reused() {
    let ns = unique("idle-adv");
    let app = unique("idle");
    let locks = Locks::connect(&with(&shared_url(), &format!("mode=advisory&namespace={ns}&application_name={app}")))
        .await
        .unwrap();
    // Two lock connections idle (the one the acquisition used, and the one
    // opened beside it), with the pool's and the listening one.
    let held = locks.lock("k").try_acquire().await.unwrap().unwrap();
    assert!(held.release().await.unwrap());
    let sessions = format!("SELECT count(*) FROM pg_stat_activity WHERE application_name = '{app}'");
    eventually("four sessions", Duration::from_secs(10), async || psql(&shared_url(), &sessions).trim() == "4").await;
    let killed = psql(
        &shared_url(),
        &format!("SELECT count(*) FILTER (WHERE pg_terminate_backend(pid, 5000)) FROM pg_stat_activity WHERE application_name = '{app}'"),
    );
    assert_eq!(killed.trim(), "4");
    let held = locks.lock("k").try_acquire().await.expect("a dead connection was used").expect("free");
    assert!(held.release().await.unwrap());
}

/// Advisory mode keeps a ttl in the holding process: one reaper per
/// provider unlocks each lock not renewed within its own ttl, a short one
/// taken after a long one (which set the reaper's next wake-up far away)
/// included, and one shortened by a refresh (its reaper woke only at the
/// old deadline: found by the shared scenario refresh_after_loss_is_lost
/// once it shortened its lease that way, Python's failing 7 runs in 30),
/// and leaves the long one held.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn advisory_each_lock_lapses_at_its_own_ttl() {
    let (_, holder, other) = advisory_providers("reap-adv").await;
    let long = holder.lock("long").ttl(Duration::from_secs(60)).auto_renew(false).try_acquire().await.unwrap().unwrap();
    let ttl = Duration::from_millis(400);
    let short = holder.lock("short").ttl(ttl).auto_renew(false).try_acquire().await.unwrap().unwrap();
    let start = Instant::now();
    let next = other.lock("short").acquire(Duration::from_secs(10)).await.expect("the short lock lapses");
    assert!(start.elapsed() >= ttl * 3 / 4, "freed before its ttl: {:?}", start.elapsed());
    assert!(next.fence() > short.fence());
    assert!(other.lock("long").try_acquire().await.unwrap().is_none(), "the long lock lapsed with the short one");
    assert!(!short.release().await.unwrap());
    // Taken for 60 s, then shortened: it lapses at its new ttl.
    let shrunk = holder.lock("shrunk").ttl(Duration::from_secs(60)).auto_renew(false).try_acquire().await.unwrap().unwrap();
    shrunk.refresh(ttl).await.unwrap();
    let start = Instant::now();
    let after = other.lock("shrunk").acquire(Duration::from_secs(10)).await.expect("the shortened lock lapses");
    assert!(start.elapsed() >= ttl * 3 / 4, "freed before its ttl: {:?}", start.elapsed());
    assert!(!shrunk.release().await.unwrap());
    assert!(after.release().await.unwrap());
    assert!(long.release().await.unwrap());
    assert!(next.release().await.unwrap());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn lease_a_killed_holder_connection_frees_the_lock_after_its_ttl() {
    let ns = unique("kill-lease");
    let app = unique("holder");
    let holder = Locks::connect(&with(&shared_url(), &format!("namespace={ns}&application_name={app}"))).await.unwrap();
    let other = Locks::connect(&with(&shared_url(), &format!("namespace={ns}"))).await.unwrap();
    let ttl = Duration::from_millis(1500);
    let held = holder.lock("k").ttl(ttl).auto_renew(false).try_acquire().await.unwrap().unwrap();
    let taken = Instant::now();

    // Every session of the holder's provider (its pool and its listener).
    let killed = psql(
        &shared_url(),
        &format!("SELECT count(*) FROM (SELECT pg_terminate_backend(pid, 5000) FROM pg_stat_activity WHERE application_name = '{app}') t"),
    );
    assert!(killed.trim().parse::<u32>().unwrap() >= 1, "{killed}");
    // The lease is a row: it outlives the connection, until its ttl.
    assert!(other.lock("k").try_acquire().await.unwrap().is_none());
    assert!(matches!(other.state("k").await.unwrap(), LockState::Held { .. }));
    let next = other.lock("k").acquire(Duration::from_secs(10)).await.unwrap();
    assert!(taken.elapsed() >= ttl - Duration::from_millis(100), "freed before its ttl: {:?}", taken.elapsed());
    assert!(next.fence() > held.fence());
    assert!(next.release().await.unwrap());
    // The holder's provider reconnects on its own.
    assert!(!held.release().await.unwrap());
    let again = holder.lock("k").try_acquire().await.unwrap().expect("free again");
    assert!(again.release().await.unwrap());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn lease_a_live_holder_keeps_its_lock_through_killed_connections() {
    let ns = unique("kill-live");
    let app = unique("live");
    let holder = Locks::connect(&with(&shared_url(), &format!("namespace={ns}&application_name={app}"))).await.unwrap();
    let other = Locks::connect(&with(&shared_url(), &format!("namespace={ns}"))).await.unwrap();
    let held = holder.lock("k").ttl(Duration::from_millis(900)).try_acquire().await.unwrap().unwrap();
    psql(&shared_url(), &format!("SELECT pg_terminate_backend(pid, 5000) FROM pg_stat_activity WHERE application_name = '{app}'"));
    // Renewed through new connections past several ttls.
    let mut events = holder.events();
    let mut renewed = 0;
    while renewed < 4 {
        let e = tokio::time::timeout(Duration::from_secs(5), events.recv()).await.expect("renewals").unwrap();
        renewed += (e.kind == ferrolock::EventKind::Renewed) as u32;
    }
    assert!(!held.is_lost());
    assert!(other.lock("k").try_acquire().await.unwrap().is_none());
    assert!(held.release().await.unwrap());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn lease_a_hold_survives_a_server_restart_and_fences_keep_increasing() {
    let mut server = Server::start();
    let url = server.url();
    let a = Locks::connect(&url).await.unwrap();
    let held = a.lock("job").ttl(Duration::from_secs(20)).try_acquire().await.unwrap().unwrap();
    let fence = held.fence();

    server.stop();
    assert_eq!(a.ping().await.unwrap_err().code(), "BACKEND_UNAVAILABLE");
    server.restart();

    // The lease is a row of the table: still held, by the same handle.
    eventually("the provider reconnects", Duration::from_secs(10), async || a.ping().await.is_ok()).await;
    held.refresh(Duration::from_secs(20)).await.unwrap();
    let b = Locks::connect(&url).await.unwrap();
    assert!(b.lock("job").try_acquire().await.unwrap().is_none());
    assert!(held.release().await.unwrap());
    let next = b.lock("job").try_acquire().await.unwrap().expect("free after the release");
    assert!(next.fence() > fence, "fence {} after {fence}", next.fence());
    assert!(next.release().await.unwrap());
    // Waking by NOTIFY works again: the listener re-listened.
    let held = a.lock("w").try_acquire().await.unwrap().unwrap();
    let waiter = {
        let lock = b.lock("w");
        tokio::spawn(async move { lock.acquire(Duration::from_secs(10)).await })
    };
    eventually("the waiter queued", Duration::from_secs(5), async || {
        psql(&server_psql_url(&server), "SELECT count(*) FROM ferrolock_waiters").trim() != "0"
    })
    .await;
    held.release().await.unwrap();
    waiter.await.unwrap().unwrap().release().await.unwrap();
}

fn server_psql_url(server: &Server) -> String {
    server.url()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn advisory_a_server_restart_loses_the_hold_and_fences_keep_increasing() {
    let mut server = Server::start();
    let url = with(&server.url(), "mode=advisory");
    let a = Locks::connect(&url).await.unwrap();
    let held = a.lock("job").ttl(Duration::from_millis(600)).try_acquire().await.unwrap().unwrap();
    let fence = held.fence();

    server.stop();
    server.restart();

    // The session died with the server, and its lock with it.
    tokio::time::timeout(Duration::from_secs(10), held.lost()).await.expect("the holder was not told");
    let b = Locks::connect(&url).await.unwrap();
    let next = b.lock("job").acquire(Duration::from_secs(5)).await.unwrap();
    assert!(next.fence() > fence, "fence {} after {fence}", next.fence());
    assert!(!held.release().await.unwrap());
    assert!(next.release().await.unwrap());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn providers_starting_at_once_create_the_schema_once() {
    let server = Server::start();
    let schema = "fresh_schema";
    let url = with(&server.url(), &format!("schema={schema}"));
    let opens = (0..8).map(|i| {
        let url = if i % 2 == 0 { url.clone() } else { with(&url, "mode=advisory") };
        tokio::spawn(async move { Locks::connect(&url).await })
    });
    let mut providers = Vec::new();
    for o in opens {
        providers.push(o.await.unwrap().expect("every provider opens"));
    }
    let held = providers[0].lock("x").try_acquire().await.unwrap().unwrap();
    assert!(providers[2].lock("x").try_acquire().await.unwrap().is_none());
    assert!(held.release().await.unwrap());
    let tables = psql(
        &server.url(),
        &format!("SELECT string_agg(tablename, ',' ORDER BY tablename) FROM pg_tables WHERE schemaname = '{schema}'"),
    );
    assert_eq!(tables.trim(), "ferrolock_advisory,ferrolock_fences,ferrolock_leases,ferrolock_waiters");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_urls_are_invalid_arguments_naming_the_part() {
    for (url, needle) in [
        ("postgres://u:pw-777@h/db?mode=optimistic", "mode"),
        ("postgres://u:pw-777@h/db?schema=x%3By", "schema"),
        ("postgresql://u:pw-777@h:0/db", "port"),
        ("postgres://u:pw-777@h/db?sslmode=sometimes", "sslmode"),
        ("postgres://u:pw-777@h/db?connect_timeout=-1", "connect_timeout"),
        ("postgres://u:pw-777@h/db?pool=9", "pool"),
        ("postgres://u:pw-777@/db", "host"),
        ("postgres://u:pw-777@h/db?sslmode=verify-full&sslrootcert=%2Fno%2Fsuch.pem", "sslrootcert"),
    ] {
        match Locks::connect(url).await {
            Err(Error::InvalidArgument(msg)) => {
                assert!(msg.contains(needle), "{url}: {msg}");
                assert!(!msg.contains("pw-777"), "password leaked: {msg}");
            }
            other => panic!("{url}: {other:?}"),
        }
    }
}

fn tls_dir() -> PathBuf {
    std::env::var_os("FERROLOCK_TEST_TLS_DIR")
        .map(PathBuf::from)
        .expect("FERROLOCK_TEST_TLS_DIR is not set: run scripts/test, which makes the test certificates")
}

/// Whether the sessions named `app` are encrypted, as the server sees them.
fn encrypted(server: &Server, app: &str) -> String {
    psql(
        &with(&server.url(), "sslmode=disable"),
        &format!(
            "SELECT string_agg(DISTINCT s.ssl::text, ',') FROM pg_stat_ssl s JOIN pg_stat_activity a USING (pid)
             WHERE a.application_name = '{app}'"
        ),
    )
    .trim()
    .to_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sslmode_chooses_tls_and_verification() {
    let certs = tls_dir();
    let server = Server::start_with(|dir| {
        for f in ["server.pem", "server.key"] {
            std::fs::copy(certs.join(f), dir.join(f)).unwrap();
        }
        // PostgreSQL refuses a key others may read.
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(dir.join("server.key"), std::fs::Permissions::from_mode(0o600)).unwrap();
        vec![
            "ssl=on".to_owned(),
            format!("ssl_cert_file={}", dir.join("server.pem").display()),
            format!("ssl_key_file={}", dir.join("server.key").display()),
        ]
    });
    let ca = certs.join("ca.pem").display().to_string();
    let other_ca = certs.join("other-ca.pem").display().to_string();
    for (query, tls) in [
        ("sslmode=disable", "false"),
        ("", "true"), // prefer, libpq's default: TLS when the server offers it
        ("sslmode=require", "true"),
        (&format!("sslmode=verify-ca&sslrootcert={ca}") as &str, "true"),
        (&format!("sslmode=verify-full&sslrootcert={ca}") as &str, "true"),
    ] {
        // Advisory mode's lock connections connect on their own (wire.rs).
        for mode in ["lease", "advisory"] {
            let app = unique("tls");
            let url = with(&server.url(), &format!("application_name={app}&mode={mode}&{query}"));
            let locks = Locks::connect(&url).await.unwrap();
            let held = locks.lock("t").try_acquire().await.unwrap().expect("free");
            assert_eq!(encrypted(&server, &app), tls, "{mode}: {query}");
            assert!(held.release().await.unwrap());
            locks.close().await;
        }
    }
    // A server its roots do not vouch for is refused, within the timeout.
    for mode in ["verify-ca", "verify-full"] {
        let err = Locks::connect(&with(&server.url(), &format!("sslmode={mode}&sslrootcert={other_ca}&connect_timeout=3")))
            .await
            .unwrap_err();
        assert_eq!(err.code(), "BACKEND_UNAVAILABLE", "{mode}: {err:?}");
        assert!(err.to_string().contains("certificate") || err.to_string().contains("Issuer"), "{mode}: {err}");
        assert!(!err.to_string().contains(PASSWORD));
    }
}

/// Wait for the `queued` event of the waiter labelled `holder`: it has
/// found the lock busy and joined the queue.
async fn queued(events: &mut ferrolock::Events, holder: &str) {
    loop {
        let e = events.recv().await.expect("the provider closed");
        if e.kind == ferrolock::EventKind::Queued && e.holder == holder {
            return;
        }
    }
}

/// A release hands the lock to the head of the queue in its own
/// transaction (it writes the waiter's lease, then tells the waiter's
/// provider on its own channel), so the lock is never free between the two:
/// right after the release returns, the lock is held by the waiter, before
/// the waiter's process has said a word.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn lease_a_release_hands_the_lock_to_the_queued_waiter() {
    let ns = unique("handoff");
    let a = Locks::connect(&with(&shared_url(), &format!("namespace={ns}&holder=holder-a"))).await.unwrap();
    let b = Locks::connect(&with(&shared_url(), &format!("namespace={ns}&holder=waiter-b"))).await.unwrap();
    let held = a.lock("k").try_acquire().await.unwrap().unwrap();
    let first = held.fence();
    let mut events = b.events();
    let lock = b.lock("k");
    let waiter = tokio::spawn(async move { lock.acquire(Duration::from_secs(20)).await });
    tokio::time::timeout(Duration::from_secs(10), queued(&mut events, "waiter-b")).await.expect("b queued");

    assert!(held.release().await.unwrap());
    match a.state("k").await.unwrap() {
        LockState::Held { holder, fence, .. } => {
            assert_eq!(holder, "waiter-b", "handed to the waiter by the release itself");
            assert_eq!(fence, first + 1);
        }
        LockState::Free => panic!("free between the release and the waiter's acquire"),
    }
    assert!(a.lock("k").try_acquire().await.unwrap().is_none(), "a newcomer cannot take it");
    let got = tokio::time::timeout(Duration::from_secs(10), waiter).await.expect("the waiter's acquire returned").unwrap().unwrap();
    assert_eq!(got.fence(), first + 1);
    assert!(got.release().await.unwrap());
    assert_eq!(a.state("k").await.unwrap(), LockState::Free);
}

/// A waiter whose provider missed the notice of its grant (its listening
/// connection killed at that moment) takes the lock handed to it on its
/// next attempt of its own: the grant is a row, not a message.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn lease_a_waiter_that_missed_its_grant_takes_it_on_its_next_attempt() {
    let ns = unique("missed-grant");
    let app = unique("waiter");
    let a = Locks::connect(&with(&shared_url(), &format!("namespace={ns}&holder=holder-a"))).await.unwrap();
    let b = Locks::connect(&with(&shared_url(), &format!("namespace={ns}&holder=waiter-b&application_name={app}")))
        .await
        .unwrap();
    let held = a.lock("k").try_acquire().await.unwrap().unwrap();
    let first = held.fence();
    let mut events = b.events();
    let lock = b.lock("k");
    let waiter = tokio::spawn(async move { lock.acquire(Duration::from_secs(30)).await });
    tokio::time::timeout(Duration::from_secs(10), queued(&mut events, "waiter-b")).await.expect("b queued");
    // Every session of the waiter's provider: its pool and its listener.
    let killed = psql(
        &shared_url(),
        &format!("SELECT count(*) FROM (SELECT pg_terminate_backend(pid, 5000) FROM pg_stat_activity WHERE application_name = '{app}') t"),
    );
    assert!(killed.trim().parse::<u32>().unwrap() >= 1, "{killed}");
    assert!(held.release().await.unwrap());
    assert!(matches!(a.state("k").await.unwrap(), LockState::Held { ref holder, .. } if holder == "waiter-b"));
    let got = tokio::time::timeout(Duration::from_secs(20), waiter).await.expect("the waiter's acquire returned").unwrap().unwrap();
    assert_eq!(got.fence(), first + 1, "the lease handed to it, not a later one");
    assert!(got.release().await.unwrap());
}

/// Every release notifies, and the server wakes every session that listens
/// to anything in the database: a provider listens only while it has
/// waiters (and a little after), so an idle provider is not woken by each
/// release anywhere (the uncontended pair, a fleet of idle services). Seen
/// from the server: the listening session's last statement.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_provider_listens_for_releases_only_while_it_has_waiters() {
    for mode in ["lease", "advisory"] {
        let ns = unique("listen");
        let app = unique("listen");
        let url = with(&shared_url(), &format!("mode={mode}&namespace={ns}&application_name={app}"));
        let listening = || {
            psql(
                &shared_url(),
                &format!(
                    "SELECT count(*) FROM pg_stat_activity WHERE application_name = '{app}' \
                     AND query LIKE 'LISTEN \"ferrolock_public\";%'"
                ),
            )
            .trim()
            .parse::<u32>()
            .unwrap()
                > 0
        };
        let holder = Locks::connect(&url).await.unwrap();
        let held = holder.lock("k").try_acquire().await.unwrap().unwrap();
        assert!(held.release().await.unwrap());
        let held = holder.lock("k").try_acquire().await.unwrap().unwrap();
        assert!(!listening(), "{mode}: a provider with no waiter listens for releases");

        let waiting = Locks::connect(&with(&url, "holder=waiter")).await.unwrap();
        let mut events = waiting.events();
        let lock = waiting.lock("k");
        let waiter = tokio::spawn(async move { lock.acquire(Duration::from_secs(20)).await });
        tokio::time::timeout(Duration::from_secs(10), queued(&mut events, "waiter")).await.expect("queued");
        // The waiter's attempt came after its provider listened.
        assert!(listening(), "{mode}: a provider with a waiter does not listen for releases");
        // (How promptly the notice wakes it: conformance's
        // release_wakes_a_waiter_promptly, on a provider that had no waiter.)
        assert!(held.release().await.unwrap());
        let got = tokio::time::timeout(Duration::from_secs(10), waiter).await.expect("woken").unwrap().unwrap();
        assert!(got.release().await.unwrap());
        // Nobody waits any more: it stops listening (5 s after).
        eventually(&format!("{mode}: stops listening"), Duration::from_secs(30), async || !listening()).await;
        holder.close().await;
        waiting.close().await;
    }
}

/// A hot key leaves a dead version of a lease row per acquisition until
/// autovacuum comes. The functions scan by plain index scans, which mark
/// the dead entries they meet and skip them from then on, so an acquire
/// reads about as much after thousands of acquisitions as after one; with
/// the bitmap scans a session's cached plan picked on a new table, it read
/// every dead version each time (71 buffers after 3 000 pairs here, and
/// growing), and the pair slowed down from 0.4 ms to 1.4 ms over 12 000.
/// Counted in buffers the acquire reads, not in time.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_hot_keys_dead_lease_rows_do_not_slow_its_acquire() {
    let schema = unique("hot").replace('-', "_");
    let locks = Locks::connect(&with(&shared_url(), &format!("schema={schema}"))).await.unwrap();
    locks.close().await;
    // One session, as a pool connection is: 6 000 pairs on one key, each in
    // its own transaction, then one more acquire, explained (two statements,
    // each its own transaction, so the loop may commit).
    let pairs = format!(
        "DO $$ DECLARE o bytea; BEGIN FOR i IN 1..6000 LOOP o := decode(md5(i::text), 'hex'); \
         PERFORM * FROM {schema}.ferrolock_acquire('k', o, 0::smallint, 60000::bigint, 'h', NULL::bigint); \
         PERFORM {schema}.ferrolock_release('k', o); COMMIT; END LOOP; END $$"
    );
    let explain = format!(
        "EXPLAIN (ANALYZE, BUFFERS, COSTS OFF, TIMING OFF, SUMMARY OFF) \
         SELECT * FROM {schema}.ferrolock_acquire('k', '\\x01'::bytea, 0::smallint, 60000::bigint, 'h', NULL::bigint)"
    );
    let out = psql_each(&shared_url(), &[&pairs, &explain]);
    psql(&shared_url(), &format!("DROP SCHEMA {schema} CASCADE"));
    let hits: u64 = out
        .lines()
        .find_map(|l| l.trim().strip_prefix("Buffers: shared hit=")?.split_whitespace().next()?.parse().ok())
        .unwrap_or_else(|| panic!("no buffer count in: {out}"));
    assert!(hits < 50, "one acquire read {hits} buffers after 6 000 acquisitions of its key");
}

/// A host that is a folder is the server's Unix socket in it (libpq's
/// `host=/path`, written `%2Fpath` in a URL), in both modes: the pool's
/// connections (tokio-postgres) and the advisory mode's lock connections
/// (wire.rs opens the socket itself). No TLS there, whatever the sslmode,
/// as libpq (the server refuses it on a socket). Before, the pool's
/// connections failed on a socket with "invalid dns name" (its TLS
/// connector was made for the folder as a host name).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_folder_as_host_connects_through_the_unix_socket_in_both_modes() {
    let server = Server::start();
    let folder = server.dir.path().to_str().unwrap().replace('/', "%2F");
    let base = format!("postgres://ferrolock:{PASSWORD}@{folder}:{}/postgres", server.port);
    // psql comes over TCP (127.0.0.1) and names itself: ours are the others.
    let sessions = "SELECT count(*) FILTER (WHERE client_addr IS NULL) || ' unix, ' || count(client_addr) || ' tcp'
                      FROM pg_stat_activity WHERE backend_type = 'client backend' AND application_name = 'ferrolock'";
    for mode in ["mode=lease", "mode=advisory", "mode=lease&sslmode=require", "mode=advisory&sslmode=require"] {
        let locks = Locks::connect(&with(&base, mode)).await.unwrap();
        let held = locks.lock("sock").try_acquire().await.unwrap().expect("the lock is free");
        let seen = psql(&server.url(), sessions);
        assert!(seen.trim().ends_with(" unix, 0 tcp") && !seen.starts_with("0 "), "{mode}: {seen}");
        if mode.contains("advisory") {
            let holder = psql(
                &server.url(),
                "SELECT a.client_addr IS NULL FROM pg_locks l JOIN pg_stat_activity a USING (pid)
                  WHERE l.locktype = 'advisory' AND l.granted",
            );
            assert_eq!(holder.trim(), "t", "the advisory lock's session is not on the socket");
        }
        assert!(held.release().await.unwrap(), "{mode}");
        assert!(locks.lock("sock").try_acquire().await.unwrap().expect("free again").release().await.unwrap());
        locks.close().await;
    }
}

/// A server process stopped with SIGSTOP; continues it when dropped,
/// so that a failing test leaves no session stopped.
struct Stopped(i32);

impl Stopped {
    fn stop(pid: i32) -> Stopped {
        signal("-STOP", pid);
        Stopped(pid)
    }
}

impl Drop for Stopped {
    fn drop(&mut self) {
        signal("-CONT", self.0);
    }
}

fn signal(sig: &str, pid: i32) {
    // The shell's own kill: no procps needed.
    let ok = Command::new("sh").args(["-c", &format!("kill {sig} {pid}")]).status().map(|s| s.success()).unwrap_or(false);
    assert!(ok, "kill {sig} {pid}");
}

/// Advisory mode: a wait cancelled while its attempt's statement is at the
/// server, which runs that statement only after the holder's release and
/// the next holder's acquire and release (a server process scheduled late:
/// here made so with a table lock, then SIGSTOP), takes the lock for
/// nobody. The attempt finishes in its provider's background and gives the
/// lock back at once (not at its 30 s ttl, and with nothing closed). This
/// is what Kotlin's `cancelled_wait_leaves_nothing_held` met twice in CI
/// (`tryAcquire` found the lock held right after `next.release()`, and
/// `state` just after found it free): no cancellation can take back a
/// statement the server has, so the scenarios close the cancelled waiter's
/// provider (which waits for that give-back) before they count on the
/// lock being free at once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn advisory_a_cancelled_attempt_the_server_runs_late_gives_the_lock_back_at_once() {
    let schema = unique("late").replace('-', "_");
    let app = unique("late");
    let url = with(&shared_url(), &format!("mode=advisory&schema={schema}"));
    let locks = Locks::connect(&url).await.unwrap();
    let other = Locks::connect(&with(&url, &format!("application_name={app}"))).await.unwrap();
    let held = locks.lock("c").try_acquire().await.unwrap().unwrap();

    // The waiter's next statement on the table waits behind a table lock.
    let (sql, connection) = tokio_postgres::connect(&shared_url(), tokio_postgres::NoTls).await.unwrap();
    tokio::spawn(connection);
    sql.batch_execute(&format!("BEGIN; LOCK TABLE {schema}.ferrolock_advisory IN ACCESS EXCLUSIVE MODE")).await.unwrap();
    let lock = other.lock("c").holder("waiter");
    let waiter = tokio::spawn(async move { lock.acquire(Duration::MAX).await });
    let waiting = format!(
        "SELECT pid FROM pg_stat_activity WHERE application_name = '{app}' AND wait_event_type = 'Lock' \
         AND query LIKE 'INSERT INTO \"{schema}\".ferrolock_advisory%'"
    );
    let mut pid = None;
    eventually("the waiter's attempt waits for the table", Duration::from_secs(10), async || {
        pid = psql(&shared_url(), &waiting).lines().next().and_then(|l| l.trim().parse::<i32>().ok());
        pid.is_some()
    })
    .await;
    // Its server process is stopped; the table lock goes (granted to it
    // while it is stopped: it will run the statement when continued).
    let stopped = Stopped::stop(pid.unwrap());
    sql.batch_execute("COMMIT").await.unwrap();

    waiter.abort();
    assert!(waiter.await.unwrap_err().is_cancelled());
    assert!(held.release().await.unwrap());
    let next = locks.lock("c").acquire(Duration::from_secs(10)).await.unwrap();
    let (key, next_fence) = (next.key().to_owned(), next.fence());
    assert!(next.release().await.unwrap());

    // Now the server runs the cancelled attempt: it takes the lock.
    let fence = |key: &str| {
        psql(&shared_url(), &format!("SELECT fence FROM {schema}.ferrolock_advisory WHERE key = '{key}'")).trim().parse::<u64>().ok()
    };
    let start = Instant::now();
    drop(stopped);
    eventually("the late attempt took the lock, then gave it back", Duration::from_secs(10), async || {
        fence(&key) == Some(next_fence + 1) && advisory_holder_pid(&shared_url(), &key).is_none()
    })
    .await;
    assert!(start.elapsed() < Duration::from_secs(5), "given back after {:?}, not at once", start.elapsed());
    let h = locks.lock("c").try_acquire().await.unwrap().expect("free after the give-back");
    assert!(h.fence() > next_fence + 1);
    assert!(h.release().await.unwrap());
    other.close().await;
    locks.close().await;
    psql(&shared_url(), &format!("DROP SCHEMA {schema} CASCADE"));
}
