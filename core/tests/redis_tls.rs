//! `rediss://`: what a user gets wrong (an untrusted server, a missing CA
//! file, a plain URL to a TLS port, no client certificate where the server
//! asks for one, a wrong password) and a quorum over TLS. The certificates
//! come from scripts/test (`make_test_certs`, `$FERROLOCK_TEST_TLS_DIR`);
//! each test starts its own TLS redis-server processes and stops them by pid.
//! Every conformance scenario also runs over TLS (conformance.rs, modules
//! `redis_tls` and `redis_tls_cluster`).
#![cfg(feature = "redis-tls")]

use ferrolock::Locks;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

fn tls_dir() -> PathBuf {
    std::env::var_os("FERROLOCK_TEST_TLS_DIR")
        .map(PathBuf::from)
        .expect("FERROLOCK_TEST_TLS_DIR is not set: run scripts/test, which makes the test certificates")
}

fn file(name: &str) -> String {
    tls_dir().join(name).display().to_string()
}

struct TlsServer {
    port: u16,
    child: Child,
    _dir: tempfile::TempDir,
}

impl TlsServer {
    fn start(extra: &[&str]) -> TlsServer {
        let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
        let dir = tempfile::tempdir().unwrap();
        let child = Command::new("redis-server")
            .args(["--port", "0", "--tls-port", &port.to_string(), "--bind", "127.0.0.1", "--save", ""])
            .args(["--appendonly", "no", "--tls-cert-file", &file("server.pem"), "--tls-key-file", &file("server.key")])
            .args(["--tls-ca-cert-file", &file("ca.pem")])
            .arg("--dir")
            .arg(dir.path())
            .args(extra)
            .stdout(Stdio::null())
            .spawn()
            .expect("redis-server is installed (scripts/test installs it)");
        let deadline = Instant::now() + Duration::from_secs(10);
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(Instant::now() < deadline, "redis-server did not start");
            std::thread::sleep(Duration::from_millis(20));
        }
        TlsServer { port, child, _dir: dir }
    }

    fn addr(&self) -> String {
        format!("127.0.0.1:{}", self.port)
    }
}

impl Drop for TlsServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Connecting fails within a bounded time, with this code.
async fn refused(url: &str, code: &str) -> String {
    let start = Instant::now();
    let err = tokio::time::timeout(Duration::from_secs(30), Locks::connect(url))
        .await
        .expect("connect hung")
        .err()
        .unwrap_or_else(|| panic!("{url} connected"));
    assert_eq!(err.code(), code, "{err:?}");
    assert!(start.elapsed() < Duration::from_secs(15), "took {:?}", start.elapsed());
    err.to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_server_signed_by_another_ca_is_refused() {
    let server = TlsServer::start(&["--tls-auth-clients", "no"]);
    let msg = refused(&format!("rediss://{}?ca={}", server.addr(), file("other-ca.pem")), "BACKEND_UNAVAILABLE").await;
    assert!(msg.to_lowercase().contains("certificate"), "unclear: {msg}");
    // The system's roots do not know the test CA either.
    refused(&format!("rediss://{}", server.addr()), "BACKEND_UNAVAILABLE").await;
    // The right CA connects.
    let locks = Locks::connect(&format!("rediss://{}?ca={}", server.addr(), file("ca.pem"))).await.unwrap();
    assert!(locks.lock("t").try_acquire().await.unwrap().unwrap().release().await.unwrap());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_missing_ca_file_is_invalid_and_named() {
    let missing = tls_dir().join("no-such-ca.pem").display().to_string();
    let msg = refused(&format!("rediss://127.0.0.1:1?ca={missing}"), "INVALID_ARGUMENT").await;
    assert!(msg.contains("no-such-ca.pem") && msg.contains("ca"), "unclear: {msg}");
    let msg = refused(&format!("rediss://127.0.0.1:1?cert={}", file("client.pem")), "INVALID_ARGUMENT").await;
    assert!(msg.contains("key="), "unclear: {msg}");
    let msg = refused(&format!("redis://127.0.0.1:1?ca={}", file("ca.pem")), "INVALID_ARGUMENT").await;
    assert!(msg.contains("rediss://"), "unclear: {msg}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_plain_url_to_a_tls_port_fails_without_hanging() {
    let server = TlsServer::start(&["--tls-auth-clients", "no"]);
    refused(&format!("redis://{}", server.addr()), "BACKEND_UNAVAILABLE").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_certificate_is_sent_when_the_server_asks() {
    let server = TlsServer::start(&["--tls-auth-clients", "yes"]);
    let base = format!("rediss://{}?ca={}", server.addr(), file("ca.pem"));
    refused(&base, "BACKEND_UNAVAILABLE").await;
    let url = format!("{base}&cert={}&key={}", file("client.pem"), file("client.key"));
    let locks = Locks::connect(&url).await.unwrap();
    let held = locks.lock("m").try_acquire().await.unwrap().unwrap();
    assert!(locks.lock("m").try_acquire().await.unwrap().is_none());
    assert!(held.release().await.unwrap());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_wrong_password_over_tls_is_redacted() {
    let server = TlsServer::start(&["--tls-auth-clients", "no", "--requirepass", "tls-right-horse"]);
    let ca = file("ca.pem");
    // Refused by the server that answered: the URL's fault (INVALID_ARGUMENT).
    let msg = refused(&format!("rediss://:tls-wrong-9876@{}?ca={ca}", server.addr()), "INVALID_ARGUMENT").await;
    assert!(!msg.contains("tls-wrong-9876"), "password leaked: {msg}");
    assert!(msg.contains(&server.addr()) && msg.contains("retrying will not help"), "{msg}");
    let locks = Locks::connect(&format!("rediss://:tls-right-horse@{}?ca={ca}", server.addr())).await.unwrap();
    assert!(!locks.url().contains("tls-right-horse"));
    let token = locks.lock("p").try_acquire().await.unwrap().unwrap().into_token().unwrap();
    assert!(!token.contains("tls-right-horse"));
    assert!(locks.resume(&token).await.unwrap().release().await.unwrap());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_quorum_over_tls_excludes_and_hands_over() {
    let no = ["--tls-auth-clients", "no"];
    let servers = [TlsServer::start(&no), TlsServer::start(&no), TlsServer::start(&no)];
    let hosts: Vec<_> = servers.iter().map(TlsServer::addr).collect();
    let url = format!("rediss://{}?ca={}", hosts.join(","), file("ca.pem"));
    let (a, b) = (Locks::connect(&url).await.unwrap(), Locks::connect(&url).await.unwrap());
    let first = a.lock("q").acquire(Duration::from_secs(5)).await.unwrap();
    assert!(b.lock("q").try_acquire().await.unwrap().is_none());
    let mut events = b.events();
    let waiter = tokio::spawn(async move { b.lock("q").acquire(Duration::from_secs(10)).await.unwrap() });
    // Released once the waiter waits (its queued event), not after a guessed pause.
    while events.recv().await.expect("events").kind != ferrolock::EventKind::Queued {}
    let fence = first.fence();
    assert!(first.release().await.unwrap());
    let second = tokio::time::timeout(Duration::from_secs(10), waiter).await.expect("waiter woken").unwrap();
    assert!(second.fence() > fence, "{} after {fence}", second.fence());
    assert!(second.release().await.unwrap());
}
