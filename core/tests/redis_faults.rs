//! Redis under faults: servers killed and restarted, a wrong password, and
//! what the fences of a quorum promise. Each test starts its own
//! redis-server processes (on 127.0.0.1, free ports, temp dirs) and stops
//! them by pid.
#![cfg(feature = "redis")]

use ferrolock::{Error, Locks};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

struct Server {
    port: u16,
    extra: Vec<String>,
    dir: tempfile::TempDir,
    child: Option<Child>,
}

impl Server {
    fn start(extra: &[&str]) -> Server {
        let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
        let mut s = Server {
            port,
            extra: extra.iter().map(|s| s.to_string()).collect(),
            dir: tempfile::tempdir().unwrap(),
            child: None,
        };
        s.restart();
        s
    }

    fn restart(&mut self) {
        let child = Command::new("redis-server")
            .args(["--port", &self.port.to_string(), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"])
            .arg("--dir")
            .arg(self.dir.path())
            .args(&self.extra)
            .stdout(Stdio::null())
            .spawn()
            .expect("redis-server is installed (scripts/test installs it)");
        self.child = Some(child);
        let deadline = Instant::now() + Duration::from_secs(10);
        while std::net::TcpStream::connect(("127.0.0.1", self.port)).is_err() {
            assert!(Instant::now() < deadline, "redis-server did not start");
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    fn kill(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }

    fn addr(&self) -> String {
        format!("127.0.0.1:{}", self.port)
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.kill();
    }
}

fn quorum_url(servers: &[Server]) -> String {
    let hosts: Vec<_> = servers.iter().map(Server::addr).collect();
    format!("redis://{}", hosts.join(","))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_restarted_server_never_gives_two_holders() {
    let mut server = Server::start(&[]);
    let url = format!("redis://{}", server.addr());
    let a = Locks::connect(&url).await.unwrap();
    let held = a.lock("job").ttl(Duration::from_millis(900)).acquire(Duration::from_secs(5)).await.unwrap();

    server.kill();
    server.restart(); // the lease is gone with the server's memory

    let b = Locks::connect(&url).await.unwrap();
    let other = b.lock("job").acquire(Duration::from_secs(10)).await.unwrap();
    // Now B holds it: A's handle must not believe it holds it too.
    match held.refresh(Duration::from_secs(1)).await {
        Err(Error::Lost { .. }) => {}
        Err(Error::Unavailable { .. }) => {
            tokio::time::timeout(Duration::from_secs(10), held.lost()).await.expect("loss noticed")
        }
        other => panic!("two holders: refresh gave {other:?}"),
    }
    assert!(held.is_lost());
    assert!(!held.release().await.unwrap());
    assert!(other.release().await.unwrap());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_quorum_survives_one_dead_server_and_refuses_with_two() {
    let mut servers = [Server::start(&[]), Server::start(&[]), Server::start(&[])];
    let locks = Locks::connect(&quorum_url(&servers)).await.unwrap();
    servers[0].kill();
    let held = locks.lock("q").acquire(Duration::from_secs(5)).await.unwrap();
    assert!(locks.lock("q").try_acquire().await.unwrap().is_none());
    assert!(held.release().await.unwrap());

    servers[1].kill();
    let start = Instant::now();
    let err = locks.lock("q").acquire(Duration::from_secs(2)).await.unwrap_err();
    assert!(matches!(err, Error::Unavailable { .. }), "{err:?}");
    assert_eq!(err.code(), "BACKEND_UNAVAILABLE");
    assert!(start.elapsed() < Duration::from_secs(10), "took {:?}", start.elapsed());
    // The message names each server that did not answer, and not the one that did.
    let msg = err.to_string();
    assert!(msg.contains(&servers[0].addr()) && msg.contains(&servers[1].addr()), "{msg}");
    assert!(!msg.contains(&servers[2].addr()), "{msg}");
}

/// A server that cannot be reached is named as the URL names it: host as
/// typed, and port.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unreachable_server_is_named_by_host_and_port() {
    let dead = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let err = Locks::connect(&format!("redis://127.0.0.1:{dead}")).await.unwrap_err();
    assert_eq!(err.code(), "BACKEND_UNAVAILABLE", "{err:?}");
    assert!(err.to_string().contains(&format!("127.0.0.1:{dead}")), "{err}");
    let err = Locks::connect("redis://no-such-host.invalid:6380").await.unwrap_err();
    assert_eq!(err.code(), "BACKEND_UNAVAILABLE", "{err:?}");
    assert!(err.to_string().contains("no-such-host.invalid:6380"), "{err}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_wrong_password_is_a_clear_redacted_error() {
    let server = Server::start(&["--requirepass", "right-horse-battery"]);
    // The server answered: a refused password is the URL's fault, not a
    // passing outage (INVALID_ARGUMENT, exit 64; retrying will not help).
    let err = Locks::connect(&format!("redis://:wrong-pass-1234@{}", server.addr())).await.unwrap_err();
    assert_eq!(err.code(), "INVALID_ARGUMENT", "{err:?}");
    let msg = err.to_string();
    assert!(!msg.contains("wrong-pass-1234"), "password leaked: {msg}");
    assert!(msg.contains(&server.addr()) && msg.contains("WRONGPASS"), "unclear: {msg}");
    assert!(msg.contains("retrying will not help"), "{msg}");
    // No password at all: NOAUTH, said as such.
    let err = Locks::connect(&format!("redis://{}", server.addr())).await.unwrap_err();
    assert_eq!(err.code(), "INVALID_ARGUMENT", "{err:?}");
    assert!(err.to_string().contains("NOAUTH") && err.to_string().contains("retrying will not help"), "{err}");
    // In a quorum too, where the others answer.
    let others = [Server::start(&[]), Server::start(&[])];
    let url = format!("redis://:wrong-pass-1234@{},{},{}", server.addr(), others[0].addr(), others[1].addr());
    let err = Locks::connect(&url).await.unwrap_err();
    assert!(!err.to_string().contains("wrong-pass-1234"), "password leaked: {err}");
    assert_eq!(err.code(), "INVALID_ARGUMENT", "{err:?}");
    assert!(err.to_string().contains(&server.addr()), "{err}");

    let locks = Locks::connect(&format!("redis://:right-horse-battery@{}", server.addr())).await.unwrap();
    assert!(!locks.url().contains("right-horse-battery"));
    let held = locks.lock("p").try_acquire().await.unwrap().unwrap();
    let token = held.into_token().unwrap();
    assert!(!token.contains("right-horse-battery"));
    assert!(locks.resume(&token).await.unwrap().release().await.unwrap());
}

/// Quorum fences are the maximum of the counters of the majority that
/// granted, and every grant, renewal and release raises the others to it:
/// so they strictly increase while no server loses its data — even when the
/// server that was ahead goes away.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn quorum_fences_strictly_increase() {
    let mut servers = [Server::start(&[]), Server::start(&[]), Server::start(&[])];
    // Put the first server's counter ahead of the others.
    let alone = Locks::connect(&format!("redis://{}", servers[0].addr())).await.unwrap();
    for _ in 0..5 {
        alone.lock("f").try_acquire().await.unwrap().unwrap().release().await.unwrap();
    }
    let locks = Locks::connect(&quorum_url(&servers)).await.unwrap();
    let mut last = 0;
    for round in 0..6 {
        if round == 3 {
            servers[0].kill(); // the server that was ahead goes away
        }
        let held = locks.lock("f").acquire(Duration::from_secs(5)).await.unwrap();
        assert!(held.fence() > last, "round {round}: fence {} after {last}", held.fence());
        last = held.fence();
        held.release().await.unwrap();
    }
}

/// Issue 16's finding: a quorum of three with one server killed must work
/// at the pace of its live majority. 8 tasks × 100 acquisitions of one key
/// (ttl 10 s, wait 20 s) ended in `timed out after 20284ms waiting for lock`
/// when every attempt waited for the dead server (up to 1 s at a 10 s ttl).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_quorum_with_one_dead_server_keeps_the_pace_of_the_other_two() {
    let mut servers = [Server::start(&[]), Server::start(&[]), Server::start(&[])];
    servers[0].kill();
    let locks = Locks::connect(&quorum_url(&servers)).await.unwrap();
    let counter = std::sync::Arc::new(std::sync::atomic::AtomicU64::new(0));
    let inside = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let tasks: Vec<_> = (0..8)
        .map(|_| {
            let (locks, counter, inside) = (locks.clone(), counter.clone(), inside.clone());
            tokio::spawn(async move {
                let mut last = 0;
                for _ in 0..100 {
                    let lock = locks.lock("pace").ttl(Duration::from_secs(10));
                    let held = lock.acquire(Duration::from_secs(20)).await?;
                    assert!(!inside.swap(true, std::sync::atomic::Ordering::SeqCst), "two holders");
                    assert!(held.fence() > last);
                    last = held.fence();
                    counter.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                    inside.store(false, std::sync::atomic::Ordering::SeqCst);
                    assert!(held.release().await?);
                }
                Ok::<_, Error>(())
            })
        })
        .collect();
    for t in tasks {
        t.await.unwrap().unwrap();
    }
    assert_eq!(counter.load(std::sync::atomic::Ordering::SeqCst), 800);
}

/// With one server of three dead, a quorum still lists, inspects and
/// force-releases: a majority answers (`list` failed with the dead
/// server's "Connection refused" before).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_quorum_with_one_dead_server_lists_inspects_and_force_releases() {
    let mut servers = [Server::start(&[]), Server::start(&[]), Server::start(&[])];
    servers[1].kill();
    let locks = Locks::connect(&quorum_url(&servers)).await.unwrap();
    let held = locks.lock("listed").try_acquire().await.unwrap().expect("free");
    let listed = locks.list("").await.unwrap();
    assert_eq!(listed.iter().map(|i| i.name.as_str()).collect::<Vec<_>>(), ["listed"]);
    match locks.state("listed").await.unwrap() {
        ferrolock::LockState::Held { fence, .. } => assert_eq!(fence, held.fence()),
        other => panic!("state of a held lock: {other:?}"),
    }
    assert!(locks.force_release("listed").await.unwrap());
    assert!(locks.lock("listed").try_acquire().await.unwrap().is_some());
}

/// A lease on fewer servers than a majority is no lock: a quorum whose
/// servers all answer says whether a majority held it (and deletes it on
/// every server). Before, any live lease among the answers counted, and a
/// second force release could say "held" when a write of the first
/// acquisition reached one server late (C's
/// force_release_state_and_list_show_no_owner_id under valgrind, once in
/// CI). A lease on a majority still counts; with a server down, any lease
/// among the answers does (the test above).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_quorum_force_release_counts_a_lease_on_a_minority_as_no_lock() {
    let servers = [Server::start(&[]), Server::start(&[]), Server::start(&[])];
    // The lease on one server only: taken through that server alone.
    let alone = Locks::connect(&format!("redis://{}", servers[0].addr())).await.unwrap();
    let stray = alone.lock("m").auto_renew(false).try_acquire().await.unwrap().expect("free");
    let locks = Locks::connect(&quorum_url(&servers)).await.unwrap();
    assert!(!locks.force_release("m").await.unwrap(), "a lease on one server of three counted as a lock");
    // Deleted all the same: the lone server's holder lost it.
    assert!(!stray.release().await.unwrap());
    let held = locks.lock("m").try_acquire().await.unwrap().expect("free after the force release");
    assert!(locks.force_release("m").await.unwrap());
    assert!(!locks.force_release("m").await.unwrap());
    assert!(!held.release().await.unwrap());
}

/// A holder that dies before its first renewal leaves no release and no
/// refresh to raise the counters to its fence: the grant itself must, or
/// the next majority (which meets the holder's only where a counter was
/// behind) hands out a lower fence. Counters made to differ: the first
/// server used alone; then the only majority is {first, second}, then
/// {second, third}.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_holder_dead_before_its_first_renewal_still_leaves_fences_increasing() {
    let mut servers = [Server::start(&[]), Server::start(&[]), Server::start(&[])];
    let alone = Locks::connect(&format!("redis://{}", servers[0].addr())).await.unwrap();
    for _ in 0..10 {
        alone.lock("d").try_acquire().await.unwrap().unwrap().release().await.unwrap();
    }
    servers[2].kill();
    let locks = Locks::connect(&quorum_url(&servers)).await.unwrap();
    let first = locks.lock("d").ttl(Duration::from_millis(400)).auto_renew(false);
    let held = first.acquire(Duration::from_secs(5)).await.unwrap();
    let fence = held.fence();
    assert!(fence > 10, "the majority {{first, second}} grants the first's counter: {fence}");
    // The holder dies: no release, no renewal, nothing more said to a server.
    let expires = held.expires_at_ms();
    std::mem::forget(held);
    servers[2].restart();
    servers[0].kill();
    // Until the restarted server answers again (its connection's first call
    // finds the old one broken, and reconnects).
    let deadline = Instant::now() + Duration::from_secs(10);
    while locks.ping().await.is_err() {
        assert!(Instant::now() < deadline, "the restarted server never answered");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    // Until the dead holder's lease has run out (by its expiry: attempts
    // before that would each bump the counters and hide the fault).
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_millis() as u64;
    tokio::time::sleep(Duration::from_millis(expires.saturating_sub(now) + 100)).await;
    let next = locks.lock("d").try_acquire().await.unwrap().expect("free");
    assert!(next.fence() > fence, "fence {} after {fence}", next.fence());
}

/// Found by the chaos harness (a holder cut off from Redis): a renewal that
/// is still unanswered when the lease runs out cannot save it, so the
/// holder must know it lost the lock by then — it learned it only when the
/// call gave up, after the 2 s response timeout, while another could
/// already have taken the lock.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_holder_whose_server_stops_answering_knows_it_lost_when_its_lease_runs_out() {
    let server = Server::start(&[]);
    let locks = Locks::connect(&format!("redis://{}", server.addr())).await.unwrap();
    let held = locks.lock("cut").ttl(Duration::from_millis(300)).acquire(Duration::from_secs(5)).await.unwrap();
    let pid = server.child.as_ref().unwrap().id().to_string();
    let signal = |sig: &str| assert!(Command::new("kill").args([sig, &pid]).status().unwrap().success());
    signal("-STOP");
    // The lease runs out at its expiry (a renewal at ttl/3 is then in
    // flight, unanswered); a little after it, the handle must say so.
    let expiry = held.expires_at_ms();
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_millis() as u64;
    tokio::time::sleep(Duration::from_millis(expiry.saturating_sub(now) + 200)).await;
    let lost = held.is_lost();
    signal("-CONT");
    assert!(lost, "the lease ran out while its renewal was unanswered, and the handle does not know it");
    assert!(!held.release().await.unwrap());
}

/// A TCP proxy to one server that can stop forwarding (a cut link: bytes
/// wait, connections stay up) and start again.
struct Link {
    port: u16,
    open: std::sync::Arc<tokio::sync::watch::Sender<bool>>,
}

impl Link {
    async fn to(server: &Server) -> Link {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let open = std::sync::Arc::new(tokio::sync::watch::channel(true).0);
        let (upstream, gate) = (server.addr(), open.clone());
        tokio::spawn(async move {
            while let Ok((client, _)) = listener.accept().await {
                let server = tokio::net::TcpStream::connect(&upstream).await.unwrap();
                let (cr, cw) = client.into_split();
                let (sr, sw) = server.into_split();
                tokio::spawn(Link::pump(cr, sw, gate.subscribe()));
                tokio::spawn(Link::pump(sr, cw, gate.subscribe()));
            }
        });
        Link { port, open }
    }

    async fn pump(
        mut from: tokio::net::tcp::OwnedReadHalf,
        mut to: tokio::net::tcp::OwnedWriteHalf,
        mut open: tokio::sync::watch::Receiver<bool>,
    ) {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let mut buf = vec![0u8; 65536];
        loop {
            let n = match from.read(&mut buf).await {
                Ok(0) | Err(_) => return,
                Ok(n) => n,
            };
            while !*open.borrow() {
                if open.changed().await.is_err() {
                    return;
                }
            }
            if to.write_all(&buf[..n]).await.is_err() {
                return;
            }
        }
    }

    fn set(&self, open: bool) {
        self.open.send_replace(open);
    }
}

/// Found by the chaos harness (a queued waiter cut off from Redis): a
/// release handed the lock to the cut-off waiter, whose grant arrived after
/// its lease had run out and others had held the lock since; the waiter
/// took the stale grant as its own and returned a handle for a fence long
/// passed (fence 73 after 82), believing it held the lock beside another.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_grant_that_arrives_after_its_lease_ran_out_is_not_taken() {
    let server = Server::start(&[]);
    let direct = format!("redis://{}", server.addr());
    let link = Link::to(&server).await;
    let a = Locks::connect(&direct).await.unwrap();
    let b = Locks::connect(&format!("redis://127.0.0.1:{}", link.port)).await.unwrap();
    let c = Locks::connect(&direct).await.unwrap();
    let ttl = Duration::from_millis(300);
    let held = a.lock("late").ttl(ttl).acquire(Duration::from_secs(5)).await.unwrap();
    let mut events = b.events();
    let waiter = {
        let lock = b.lock("late").ttl(ttl).holder("cut-off");
        tokio::spawn(async move { lock.acquire(Duration::from_secs(20)).await })
    };
    loop {
        let e = events.recv().await.unwrap();
        if e.kind == ferrolock::EventKind::Queued && e.holder == "cut-off" {
            break;
        }
    }
    link.set(false); // the waiter is cut off
    assert!(held.release().await.unwrap()); // hands the lock to the waiter, which does not hear it
    let next = c.lock("late").ttl(Duration::from_secs(10)).acquire(Duration::from_secs(10)).await.unwrap();
    assert!(next.fence() >= 3, "the handed lease ran out first: {}", next.fence());
    link.set(true); // the waiter hears of its stale grant now
    let late = tokio::time::timeout(Duration::from_millis(1500), waiter).await;
    if let Ok(got) = late {
        let got = got.unwrap().unwrap();
        panic!("the waiter took a lock held by another: its fence {} beside {}", got.fence(), next.fence());
    }
    assert!(next.release().await.unwrap());
}

/// The number of holders `state` reports for `name` (0: free).
async fn holders(locks: &Locks, name: &str) -> usize {
    match locks.state(name).await.unwrap() {
        ferrolock::LockState::Free => 0,
        ferrolock::LockState::Held { mode: ferrolock::Mode::Shared, readers, .. } => readers as usize,
        ferrolock::LockState::Held { .. } => 1,
    }
}

/// Waits (at most `limit`) until `state` reports `n` holders of `name`.
async fn until_holders(locks: &Locks, name: &str, n: usize, limit: Duration) {
    let deadline = Instant::now() + limit;
    loop {
        let now = holders(locks, name).await;
        if now == n {
            return;
        }
        assert!(Instant::now() < deadline, "{name}: still {now} holders after {limit:?}, expected {n}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

// A lease that is its key's only one leaves its expiry to the key's (the
// uncontended acquire reads no clock): a reader joining it with a longer
// ttl must not lengthen it. Fails if the first lease is not given its own
// expiry before the key's is extended (it would then live 30 s).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reader_keeps_its_own_ttl_when_a_longer_reader_joins() {
    let server = Server::start(&[]);
    let locks = Locks::connect(&format!("redis://{}", server.addr())).await.unwrap();
    let short = locks.lock("readers").shared().ttl(Duration::from_millis(400)).auto_renew(false);
    let first = short.try_acquire().await.unwrap().expect("a free lock");
    let long = locks.lock("readers").shared().ttl(Duration::from_secs(30)).auto_renew(false);
    let second = long.try_acquire().await.unwrap().expect("readers share");
    assert_eq!(holders(&locks, "readers").await, 2);
    until_holders(&locks, "readers", 1, Duration::from_secs(10)).await;
    assert!(!first.release().await.unwrap(), "the short reader's lease ran out: its release says so");
    assert!(locks.lock("readers").try_acquire().await.unwrap().is_none(), "a writer got in beside a live reader");
    assert!(second.release().await.unwrap());
    let writer = locks.lock("readers").try_acquire().await.unwrap().expect("free after both readers");
    assert!(writer.release().await.unwrap());
    locks.close().await;
}

// The other way round: the key's only lease has the longer ttl (written
// without an expiry of its own), a short reader joins, the long one
// leaves: the short one still ends at its own ttl although the key lives
// on, and a writer then gets in.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_short_reader_left_alone_still_ends_at_its_ttl() {
    let server = Server::start(&[]);
    let locks = Locks::connect(&format!("redis://{}", server.addr())).await.unwrap();
    let long = locks.lock("alone").shared().ttl(Duration::from_secs(30)).auto_renew(false);
    let first = long.try_acquire().await.unwrap().expect("a free lock");
    let short = locks.lock("alone").shared().ttl(Duration::from_millis(400)).auto_renew(false);
    let second = short.try_acquire().await.unwrap().expect("readers share");
    assert!(first.release().await.unwrap(), "the long reader's lease was live");
    until_holders(&locks, "alone", 0, Duration::from_secs(10)).await;
    let writer = locks.lock("alone").ttl(Duration::from_secs(30)).auto_renew(false);
    let writer = writer.try_acquire().await.unwrap().expect("free once the short reader's ttl ran out");
    assert!(!second.release().await.unwrap());
    // A lone lease renewed runs to its new ttl, even a shorter one.
    writer.refresh(Duration::from_millis(400)).await.unwrap();
    until_holders(&locks, "alone", 0, Duration::from_secs(10)).await;
    assert!(!writer.release().await.unwrap(), "a renewed lone lease still runs out at its ttl");
    locks.close().await;
}

/// A wait ends at its timeout even when the server stops answering during
/// it: an attempt still in flight 500 ms after the deadline is left to
/// finish in the background (giving back whatever it got, then the queue
/// place), not waited for until the connection's response timeout (2 s).
/// Found by the chaos harness: four waiters of four languages ended 1 s
/// past their timeout around a Redis restart.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_wait_ends_at_its_timeout_when_the_server_stops_answering() {
    let server = Server::start(&[]);
    let url = format!("redis://{}", server.addr());
    let holder = Locks::connect(&url).await.unwrap();
    let waiter = Locks::connect(&format!("{url}?holder=stuck-waiter")).await.unwrap();
    let held = holder.lock("w").ttl(Duration::from_secs(30)).try_acquire().await.unwrap().unwrap();
    let mut events = waiter.events();
    let timeout = Duration::from_millis(1000);
    let start = Instant::now();
    let wait = tokio::spawn({
        let lock = waiter.lock("w");
        async move { lock.acquire(timeout).await }
    });
    // Queued, so the wait's next attempt (its backoff poll) goes to a stopped server.
    loop {
        let e = events.recv().await.expect("the provider closed");
        if e.kind == ferrolock::EventKind::Queued {
            break;
        }
    }
    let pid = server.child.as_ref().unwrap().id().to_string();
    let signal = |sig: &str| assert!(Command::new("kill").args([sig, &pid]).status().unwrap().success());
    signal("-STOP");
    let result = tokio::time::timeout(Duration::from_secs(10), wait).await.expect("the wait hung").unwrap();
    let waited = start.elapsed();
    signal("-CONT");
    assert!(matches!(result, Err(Error::Timeout { .. })), "{result:?}");
    // The deadline, 500 ms of grace for the attempt in flight, and a margin
    // (waiting for the response timeout instead ends 2 s after that attempt).
    assert!(waited < timeout + Duration::from_millis(800), "waited {waited:?} for a {timeout:?} timeout");
    // Nothing of the waiter's is left: once the holder releases, the lock is
    // free at once (a queue place left behind would hold it up for 5 s).
    assert!(held.release().await.unwrap());
    let next = tokio::time::timeout(Duration::from_secs(3), holder.lock("w").acquire(Duration::from_secs(10)))
        .await
        .expect("the waiter's queue place was left behind");
    assert!(next.unwrap().release().await.unwrap());
}

/// A caller that will wait joins the queue with its first attempt: one
/// script, not a plain attempt and then a join (a round trip less, and less
/// work for the server, for every contended acquire).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_waiter_joins_the_queue_with_its_first_attempt() {
    let server = Server::start(&["--slowlog-log-slower-than", "0", "--slowlog-max-len", "10000"]);
    let url = format!("redis://{}", server.addr());
    let holder = Locks::connect(&url).await.unwrap();
    let waiter = Locks::connect(&url).await.unwrap();
    let held = holder.lock("j").try_acquire().await.unwrap().unwrap();
    let client = redis::Client::open(url.as_str()).unwrap();
    let mut admin = client.get_multiplexed_async_connection().await.unwrap();
    let () = redis::cmd("SLOWLOG").arg("RESET").query_async(&mut admin).await.unwrap();
    let mut events = waiter.events();
    let wait = tokio::spawn({
        let lock = waiter.lock("j");
        async move { lock.acquire(Duration::from_secs(20)).await }
    });
    loop {
        let e = events.recv().await.expect("the provider closed");
        if e.kind == ferrolock::EventKind::Queued {
            break;
        }
    }
    // Each entry: [id, time, µs, [command, args…], client, name]; newest first.
    let log: Vec<redis::Value> = redis::cmd("SLOWLOG").arg("GET").arg(-1).query_async(&mut admin).await.unwrap();
    let mut commands: Vec<Vec<String>> = log
        .into_iter()
        .filter_map(|e| match e {
            redis::Value::Array(fields) => redis::from_redis_value(fields.get(3)?.clone()).ok(),
            _ => None,
        })
        .collect();
    commands.reverse();
    let scripts: Vec<&Vec<String>> = commands.iter().filter(|c| c[0].eq_ignore_ascii_case("evalsha")).collect();
    let first = scripts.first().expect("the waiter ran no script");
    // EVALSHA sha numkeys keys… args…: the ticket asked for is ARGV[5].
    let nkeys: usize = first[2].parse().unwrap();
    assert_eq!(first.get(3 + nkeys + 4).map(String::as_str), Some("new"), "the first attempt did not join: {scripts:?}");
    let fence = held.fence();
    assert!(held.release().await.unwrap());
    let next = tokio::time::timeout(Duration::from_secs(10), wait).await.expect("the waiter was not woken").unwrap().unwrap();
    assert_eq!(next.fence(), fence + 1);
    assert!(next.release().await.unwrap());
}
