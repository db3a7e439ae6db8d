//! BoxLang's CouchbaseLock patterns from a shell: the `ferrolock` command
//! (Couchbase is in its backends), against the gocaves cluster that
//! scripts/test or scripts/suites/couchbase starts
//! (FERROLOCK_TEST_COUCHBASE_URL, mode=getl).

use std::process::{Command, Output};

const BIN: &str = env!("CARGO_BIN_EXE_ferrolock");

fn url() -> String {
    std::env::var("FERROLOCK_TEST_COUCHBASE_URL")
        .expect("FERROLOCK_TEST_COUCHBASE_URL (scripts/test or scripts/suites/couchbase start gocaves and set it)")
}

/// A lock name no earlier run used (fences survive on the cluster).
fn unique(prefix: &str) -> String {
    let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_nanos();
    format!("{prefix}-{}-{nanos}", std::process::id())
}

fn ferrolock(args: &[&str]) -> Output {
    let out = Command::new(BIN)
        .env_remove("FERROLOCK_URL")
        .arg("--url")
        .arg(url())
        .args(args)
        .output()
        .expect("run ferrolock");
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!err.contains("password@"), "the password reached stderr: {err}");
    out
}

fn code(o: &Output) -> i32 {
    o.status.code().unwrap_or(-1)
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).trim().to_owned()
}

#[test]
fn run_is_the_callback_form() {
    let name = unique("cli-run");
    let first = ferrolock(&["run", "--ttl", "10s", &name, "--", "sh", "-c", "echo $FERROLOCK_FENCE"]);
    assert_eq!(code(&first), 0, "{}", text(&first.stderr));
    let second = ferrolock(&["run", "--ttl", "10s", &name, "--", "sh", "-c", "echo $FERROLOCK_FENCE"]);
    assert_eq!(code(&second), 0, "{}", text(&second.stderr));
    let (a, b): (u64, u64) = (text(&first.stdout).parse().unwrap(), text(&second.stdout).parse().unwrap());
    assert!(b > a, "fences go up: {a} then {b}");
}

#[test]
fn the_manual_form_hands_the_cas_to_another_process() {
    let name = unique("cli-manual");
    let acquired = ferrolock(&["acquire", "--ttl", "20s", &name]);
    assert_eq!(code(&acquired), 0, "{}", text(&acquired.stderr));
    let token = text(&acquired.stdout);
    assert!(token.starts_with("flk1."), "{token}");
    // throwOnTimeout=false: another process does not get it, and says so by its status.
    let busy = ferrolock(&["acquire", "-n", &name]);
    assert_eq!(code(&busy), 75, "{}", text(&busy.stderr));
    // couchbaseUnlock(cache, name, cas) from another process: the token carries the CAS.
    let released = ferrolock(&["release", &token]);
    assert_eq!(code(&released), 0, "{}", text(&released.stderr));
    let again = ferrolock(&["release", &token]);
    assert_eq!(code(&again), 1, "a second release: {}", text(&again.stderr));
    let next = ferrolock(&["acquire", "-n", "--ttl", "5s", &name]);
    assert_eq!(code(&next), 0, "free after the release: {}", text(&next.stderr));
    assert_eq!(code(&ferrolock(&["release", &text(&next.stdout)])), 0);
}

#[test]
fn a_ttl_over_30_seconds_is_refused_as_boxlang_does() {
    let out = ferrolock(&["acquire", "--ttl", "31s", &unique("cli-31")]);
    assert_eq!(code(&out), 64, "{}", text(&out.stderr));
    assert!(text(&out.stderr).contains("30"), "names the 30 s limit: {}", text(&out.stderr));
}

#[test]
fn what_getl_cannot_do_is_unsupported() {
    let out = ferrolock(&["force-release", &unique("cli-force")]);
    assert_eq!(code(&out), 64, "UNSUPPORTED exits 64: {}", text(&out.stderr));
    assert!(text(&out.stderr).contains("getl"), "names the mode: {}", text(&out.stderr));
}
