//! The `ferrolock` command, driven as a user drives it: real processes,
//! each test on its own SQLite file.

use std::io::Read as _;
use std::path::PathBuf;
use std::process::{Child, Command, ExitStatus, Output, Stdio};
use std::time::{Duration, Instant};

const BIN: &str = env!("CARGO_BIN_EXE_ferrolock");
/// No test waits longer than this for a process: a bug fails, never hangs.
const LIMIT: Duration = Duration::from_secs(60);

struct Db {
    dir: tempfile::TempDir,
    url: String,
}

impl Db {
    fn new() -> Db {
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}", dir.path().join("locks.db").display());
        Db { dir, url }
    }

    fn path(&self, file: &str) -> PathBuf {
        self.dir.path().join(file)
    }

    /// `ferrolock --url <this db> ARGS...`
    fn cmd(&self, args: &[&str]) -> Command {
        let mut c = bare();
        c.arg("--url").arg(&self.url).args(args);
        c
    }

    fn run(&self, args: &[&str]) -> Out {
        finish(self.cmd(args))
    }

    fn acquire(&self, args: &[&str]) -> String {
        let mut all = vec!["acquire"];
        all.extend_from_slice(args);
        let out = self.run(&all);
        assert_eq!(out.code, 0, "acquire {args:?}: {}", out.stderr);
        let token = out.stdout.trim().to_owned();
        assert!(token.starts_with("flk1."), "not a token: {token:?}");
        token
    }

    fn state_json(&self, name: &str) -> serde_json::Value {
        let out = self.run(&["state", "--json", name]);
        assert_eq!(out.code, 0, "{}", out.stderr);
        serde_json::from_str(&out.stdout).unwrap_or_else(|e| panic!("{e}: {:?}", out.stdout))
    }
}

/// The binary with an environment that cannot leak into the test.
fn bare() -> Command {
    let mut c = Command::new(BIN);
    c.env_remove("FERROLOCK_URL").env_remove("RUST_LOG").env_remove("FERROLOCK_LOG");
    c
}

#[derive(Debug)]
struct Out {
    code: i32,
    stdout: String,
    stderr: String,
    took: Duration,
}

impl Out {
    /// Every error is one line on stderr, starting with `ferrolock: `.
    fn assert_one_error_line(&self) {
        let lines: Vec<&str> = self.stderr.lines().collect();
        assert_eq!(lines.len(), 1, "stderr should be one line: {:?}", self.stderr);
        assert!(lines[0].starts_with("ferrolock: "), "{:?}", lines[0]);
    }
}

fn finish(mut c: Command) -> Out {
    let start = Instant::now();
    let child = c.stdin(Stdio::null()).stdout(Stdio::piped()).stderr(Stdio::piped()).spawn().unwrap();
    let output = wait_output(child, LIMIT);
    Out {
        code: code(output.status),
        stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
        took: start.elapsed(),
    }
}

fn code(status: ExitStatus) -> i32 {
    use std::os::unix::process::ExitStatusExt as _;
    status.code().unwrap_or_else(|| 128 + status.signal().unwrap_or(0))
}

/// Wait for `child` and collect its output, killing it after `limit`.
fn wait_output(mut child: Child, limit: Duration) -> Output {
    let reader = |pipe: Option<Box<dyn std::io::Read + Send>>| {
        std::thread::spawn(move || {
            let mut buf = Vec::new();
            if let Some(mut p) = pipe {
                let _ = p.read_to_end(&mut buf);
            }
            buf
        })
    };
    let out = reader(child.stdout.take().map(|p| Box::new(p) as _));
    let err = reader(child.stderr.take().map(|p| Box::new(p) as _));
    let status = wait_status(&mut child, limit);
    Output { status, stdout: out.join().unwrap(), stderr: err.join().unwrap() }
}

fn wait_status(child: &mut Child, limit: Duration) -> ExitStatus {
    let deadline = Instant::now() + limit;
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            return status;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            panic!("process {} still running after {limit:?}", child.id());
        }
        std::thread::sleep(Duration::from_millis(10));
    }
}

fn wait_until(what: &str, mut cond: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(30);
    while !cond() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(20));
    }
}

fn signal(pid: u32, sig: &str) {
    let status = Command::new("kill").arg(format!("-{sig}")).arg(pid.to_string()).status().unwrap();
    assert!(status.success(), "kill -{sig} {pid}");
}

/// No 16-character piece of the token's payload (which carries the owner id)
/// shows up in `text`.
fn assert_no_token_secret(text: &str, token: &str) {
    let payload = &token["flk1.".len()..];
    for start in 0..payload.len().saturating_sub(16) {
        let piece = &payload[start..start + 16];
        assert!(!text.contains(piece), "output contains part of the token: {text:?}");
    }
}

#[test]
fn acquire_state_conflict_release() {
    let db = Db::new();
    let token = db.acquire(&["job"]);

    let out = db.run(&["state", "job"]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(out.stdout.contains("held by") && out.stdout.contains("fence 1"), "{}", out.stdout);
    assert_no_token_secret(&out.stdout, &token);

    let state = db.state_json("job");
    assert_eq!(state["name"], "job");
    assert_eq!(state["held"], true);
    assert_eq!(state["fence"].as_u64(), Some(1), "{state}");
    assert_eq!(state["mode"], "exclusive");
    // Labelled with the caller's pid (this test), not the exited CLI's.
    let holder = state["holder"].as_str().unwrap();
    assert!(holder.ends_with(&format!(":{}", std::process::id())), "{state}");
    let expires_in = state["expires_in_ms"].as_u64().unwrap();
    assert!(expires_in > 0 && expires_in <= 30_000, "{state}");
    assert_eq!(state["readers"], 0);
    assert_no_token_secret(&state.to_string(), &token);

    // Somebody else cannot have it, and gives up no earlier than asked.
    let out = db.run(&["acquire", "--timeout", "200ms", "job"]);
    assert_eq!(out.code, 75, "{out:?}");
    assert!(out.took >= Duration::from_millis(200), "gave up after {:?}", out.took);
    out.assert_one_error_line();
    assert!(out.stderr.contains("job"), "{}", out.stderr);
    assert!(out.stdout.is_empty());

    // Another process releases it with the token, once.
    let out = db.run(&["release", &token]);
    assert_eq!(out.code, 0, "{out:?}");
    let out = db.run(&["release", &token]);
    assert_eq!(out.code, 1, "{out:?}");
    out.assert_one_error_line();
    assert_no_token_secret(&out.stderr, &token);

    let out = db.run(&["state", "job"]);
    assert_eq!((out.code, out.stdout.trim()), (0, "free"));
    assert_eq!(db.state_json("job")["held"], false);
}

#[test]
fn acquire_json_and_release_from_stdin() {
    let db = Db::new();
    let out = db.run(&["acquire", "--json", "--ttl", "10s", "j"]);
    assert_eq!(out.code, 0, "{out:?}");
    let v: serde_json::Value = serde_json::from_str(&out.stdout).unwrap();
    assert_eq!(v["name"], "j");
    assert_eq!(v["fence"].as_u64(), Some(1));
    assert!(v["expires_at_ms"].as_u64().unwrap() > 1_600_000_000_000);
    let token = v["token"].as_str().unwrap().to_owned();

    let mut release = db.cmd(&["release", "-"]);
    release.stdin(Stdio::piped()).stdout(Stdio::piped()).stderr(Stdio::piped());
    let mut child = release.spawn().unwrap();
    {
        use std::io::Write as _;
        let mut stdin = child.stdin.take().unwrap();
        writeln!(stdin, "{token}").unwrap();
    }
    let output = wait_output(child, LIMIT);
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    assert_eq!(db.state_json("j")["held"], false);
}

#[test]
fn refresh_extends_then_fails_after_force_release() {
    let db = Db::new();
    let token = db.acquire(&["--ttl", "5s", "r"]);

    let out = db.run(&["refresh", "--ttl", "60s", &token]);
    assert_eq!(out.code, 0, "{out:?}");
    let refreshed = out.stdout.trim().to_owned();
    assert!(refreshed.starts_with("flk1."), "{refreshed:?}");
    let expires_in = db.state_json("r")["expires_in_ms"].as_u64().unwrap();
    assert!(expires_in > 30_000, "refresh did not extend the lease: {expires_in}ms");
    let out = db.run(&["decode", &refreshed]);
    assert!(out.stdout.contains("60000"), "{}", out.stdout);

    // Without --ttl the token's own ttl is kept.
    let out = db.run(&["refresh", &refreshed]);
    assert_eq!(out.code, 0, "{out:?}");
    let again = out.stdout.trim().to_owned();

    let out = db.run(&["force-release", "r"]);
    assert_eq!(out.code, 0, "{out:?}");
    let out = db.run(&["force-release", "r"]);
    assert_eq!(out.code, 0, "{out:?}");
    assert!(out.stdout.contains("not held"), "{}", out.stdout);

    for t in [&token, &refreshed, &again] {
        let out = db.run(&["refresh", t]);
        assert_eq!(out.code, 1, "{out:?}");
        out.assert_one_error_line();
        assert!(out.stdout.is_empty());
    }
    let out = db.run(&["release", &again]);
    assert_eq!(out.code, 1, "{out:?}");
}

#[test]
fn run_exits_with_the_commands_status() {
    let db = Db::new();
    let out = db.run(&["run", "job", "--", "sh", "-c", "exit 7"]);
    assert_eq!(out.code, 7, "{out:?}");
    assert_eq!(db.state_json("job")["held"], false);

    let out = db.run(&["run", "job", "--", "sh", "-c", "echo \"fence=$FERROLOCK_FENCE name=$FERROLOCK_NAME\""]);
    assert_eq!(out.code, 0, "{out:?}");
    assert_eq!(out.stdout.trim(), "fence=2 name=job");

    // Without `--`, too; the command's own options are its own.
    let out = db.run(&["run", "--timeout", "5s", "job", "sh", "-c", "exit 3", "--url", "x"]);
    assert_eq!(out.code, 3, "{out:?}");

    // Killed by a signal: 128 + the signal.
    let out = db.run(&["run", "job", "--", "sh", "-c", "kill -KILL $$"]);
    assert_eq!(out.code, 137, "{out:?}");
    assert_eq!(db.state_json("job")["held"], false);
}

#[test]
fn run_on_a_held_lock_gives_up_with_the_conflict_code() {
    let db = Db::new();
    let _token = db.acquire(&["busy"]);
    let marker = db.path("ran");
    let touch = format!("touch '{}'", marker.display());

    let out = db.run(&["run", "--timeout", "100ms", "--conflict-exit-code", "3", "busy", "--", "sh", "-c", &touch]);
    assert_eq!(out.code, 3, "{out:?}");
    assert!(out.took >= Duration::from_millis(100));
    out.assert_one_error_line();

    let out = db.run(&["run", "--timeout", "0", "busy", "--", "sh", "-c", &touch]);
    assert_eq!(out.code, 75, "{out:?}");
    assert!(!marker.exists(), "the command ran without the lock");
}

#[test]
fn run_that_cannot_start_the_command_exits_127_and_releases() {
    let db = Db::new();
    let out = db.run(&["run", "job", "--", "/nonexistent/ferrolock-test-command"]);
    assert_eq!(out.code, 127, "{out:?}");
    out.assert_one_error_line();
    assert_eq!(db.state_json("job")["held"], false);
}

#[test]
fn run_excludes_other_processes() {
    let db = Db::new();
    let counter = db.path("counter");
    std::fs::write(&counter, "0\n").unwrap();
    // Read, pause, write: without the lock, increments get lost.
    let inner = r#"n=$(cat "$COUNTER"); sleep 0.01; echo $((n + 1)) > "$COUNTER""#;
    let outer = r#"for i in $(seq 25); do "$FL" --url "$URL" run --timeout 60s counter -- sh -c "$INNER" || exit 1; done"#;
    let children: Vec<Child> = (0..4)
        .map(|_| {
            Command::new("sh")
                .args(["-c", outer])
                .env("FL", BIN)
                .env("URL", &db.url)
                .env("COUNTER", &counter)
                .env("INNER", inner)
                .env_remove("FERROLOCK_URL")
                .stdin(Stdio::null())
                .stdout(Stdio::piped())
                .stderr(Stdio::piped())
                .spawn()
                .unwrap()
        })
        .collect();
    for child in children {
        let output = wait_output(child, Duration::from_secs(240));
        assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    }
    assert_eq!(std::fs::read_to_string(&counter).unwrap().trim(), "100");
    assert_eq!(db.state_json("counter")["held"], false);
}

#[test]
fn a_killed_holder_loses_the_lock_at_its_ttl() {
    let db = Db::new();
    let pidfile = db.path("pid");
    let script = format!("echo $$ > '{}'; exec sleep 30", pidfile.display());
    let mut holder = db
        .cmd(&["run", "--ttl", "1s", "crash", "--", "sh", "-c", &script])
        .stdin(Stdio::null())
        .spawn()
        .unwrap();
    wait_until("the command to start", || std::fs::read_to_string(&pidfile).is_ok_and(|s| s.ends_with('\n')));
    let first = db.state_json("crash");
    assert_eq!(first["held"], true);
    let first_fence = first["fence"].as_u64().unwrap();

    holder.kill().unwrap(); // SIGKILL: no release, no renewal
    holder.wait().unwrap();
    let sleeper: u32 = std::fs::read_to_string(&pidfile).unwrap().trim().parse().unwrap();

    let out = db.run(&["acquire", "--timeout", "10s", "--json", "crash"]);
    signal(sleeper, "KILL");
    assert_eq!(out.code, 0, "{out:?}");
    let v: serde_json::Value = serde_json::from_str(&out.stdout).unwrap();
    assert!(v["fence"].as_u64().unwrap() > first_fence, "{v} after fence {first_fence}");
}

#[test]
fn run_forwards_sigterm_and_releases() {
    let db = Db::new();
    let started = db.path("started");
    let script = format!("touch '{}'; exec sleep 30", started.display());
    let mut run = db.cmd(&["run", "term", "--", "sh", "-c", &script]).stdin(Stdio::null()).spawn().unwrap();
    wait_until("the command to start", || started.exists());

    let sent = Instant::now();
    signal(run.id(), "TERM");
    let status = wait_status(&mut run, LIMIT);
    assert_eq!(code(status), 143);
    assert!(sent.elapsed() < Duration::from_secs(5), "took {:?}", sent.elapsed());
    assert_eq!(db.state_json("term")["held"], false);
}

#[test]
fn run_stops_the_command_when_the_lock_is_lost() {
    let db = Db::new();
    let started = db.path("started");
    let script = format!("touch '{}'; exec sleep 30", started.display());
    let mut c = db.cmd(&["run", "--ttl", "1s", "lose", "--", "sh", "-c", &script]);
    c.stdin(Stdio::null()).stdout(Stdio::piped()).stderr(Stdio::piped());
    let run = c.spawn().unwrap();
    wait_until("the command to start", || started.exists());

    let out = db.run(&["force-release", "lose"]);
    assert_eq!(out.code, 0, "{out:?}");
    let output = wait_output(run, Duration::from_secs(20));
    assert_eq!(code(output.status), 1);
    let stderr = String::from_utf8_lossy(&output.stderr);
    let lines: Vec<&str> = stderr.lines().collect();
    assert!(lines.len() == 1 && lines[0].starts_with("ferrolock: ") && lines[0].contains("lost"), "{stderr}");
}

#[test]
fn run_kills_a_command_that_ignores_sigterm_after_losing_the_lock() {
    let db = Db::new();
    let started = db.path("started");
    let script = format!("trap '' TERM; touch '{}'; exec sleep 30", started.display());
    let mut c = db.cmd(&["run", "--ttl", "1s", "stubborn", "--", "sh", "-c", &script]);
    c.stdin(Stdio::null()).stdout(Stdio::piped()).stderr(Stdio::piped());
    let run = c.spawn().unwrap();
    wait_until("the command to start", || started.exists());

    assert_eq!(db.run(&["force-release", "stubborn"]).code, 0);
    let lost_at = Instant::now();
    let output = wait_output(run, Duration::from_secs(40));
    assert_eq!(code(output.status), 1);
    // SIGTERM was ignored: SIGKILL came 10 s after the loss was noticed.
    assert!(lost_at.elapsed() >= Duration::from_secs(9), "ended after {:?}", lost_at.elapsed());
}

#[test]
fn bad_input_exits_64_with_one_line() {
    let db = Db::new();

    let out = finish({
        let mut c = bare();
        c.args(["--url", "ftp://bob:hunter2@x", "state", "x"]);
        c
    });
    assert_eq!(out.code, 64, "{out:?}");
    out.assert_one_error_line();
    assert!(!out.stderr.contains("hunter2") && out.stderr.contains("ftp"), "{}", out.stderr);

    // Even a URL typed in the wrong place does not echo its password.
    let out = db.run(&["redis://bob:hunter2@h", "state", "x"]);
    assert_eq!(out.code, 64, "{out:?}");
    out.assert_one_error_line();
    assert!(!out.stderr.contains("hunter2"), "{}", out.stderr);

    let out = db.run(&["acquire", "--timeout", "banana", "x"]);
    assert_eq!(out.code, 64, "{out:?}");
    out.assert_one_error_line();
    assert!(out.stderr.contains("--timeout"), "{}", out.stderr);

    let out = db.run(&["run", "--ttl", "soon", "x", "--", "true"]);
    assert_eq!(out.code, 64, "{out:?}");
    assert!(out.stderr.contains("--ttl"), "{}", out.stderr);

    for args in [
        &["acquire", ""][..],
        &["state", ""],
        &["run", "", "--", "true"],
        &["decode", "garbage"],
        &["release", "garbage"],
        &["run", "x"],
        &["no-such-command"],
        &["acquire", "--no-such-flag", "x"],
        &["run", "--conflict-exit-code", "300", "x", "--", "true"],
        &[],
    ] {
        let out = db.run(args);
        assert_eq!(out.code, 64, "{args:?}: {out:?}");
        out.assert_one_error_line();
    }

    // A token from another backend.
    let out = finish({
        let mut c = bare();
        c.args(["--url", "memory://", "acquire", "x"]);
        c
    });
    assert_eq!(out.code, 0, "{out:?}");
    let memory_token = out.stdout.trim().to_owned();
    let out = db.run(&["release", &memory_token]);
    assert_eq!(out.code, 64, "{out:?}");
    out.assert_one_error_line();
    assert!(out.stderr.contains("memory"), "{}", out.stderr);
}

#[test]
fn help_and_version_exit_0() {
    for args in [&["--help"][..], &["-h"], &["--version"], &["run", "--help"], &["help", "acquire"]] {
        let out = finish({
            let mut c = bare();
            c.args(args);
            c
        });
        assert_eq!(out.code, 0, "{args:?}: {out:?}");
        assert!(!out.stdout.is_empty());
    }
    let out = finish({
        let mut c = bare();
        c.arg("--help");
        c
    });
    for sub in ["run", "acquire", "release", "refresh", "state", "force-release", "list", "decode", "demo"] {
        assert!(out.stdout.contains(sub), "--help does not mention {sub}");
    }
    assert!(!out.stdout.contains("demo-worker"));
}

#[test]
fn decode_shows_public_fields() {
    let db = Db::new();
    let token = db.acquire(&["--ttl", "20s", "report:7"]);
    let out = bare().args(["decode", &token]).output().unwrap();
    assert!(out.status.success());
    let text = String::from_utf8_lossy(&out.stdout);
    for line in ["backend", "namespace", "name", "fence", "mode", "expires_at_ms", "ttl_ms", "holder"] {
        assert!(text.lines().any(|l| l.starts_with(line)), "no {line} in {text}");
    }
    assert!(text.contains("report:7") && text.contains("sqlite") && text.contains("20000"), "{text}");
    assert!(text.lines().any(|l| l.starts_with("fence") && l.trim_end().ends_with(" 1")), "{text}");
    assert_no_token_secret(&text, &token);
}

#[test]
fn list_shows_held_locks() {
    let db = Db::new();
    let _a = db.acquire(&["app:1"]);
    let _b = db.acquire(&["app:2"]);
    let _c = db.acquire(&["other"]);
    let out = db.run(&["list", "--json", "app:"]);
    assert_eq!(out.code, 0, "{out:?}");
    let v: serde_json::Value = serde_json::from_str(&out.stdout).unwrap();
    let rows = v.as_array().unwrap();
    let names: Vec<&str> = rows.iter().map(|r| r["name"].as_str().unwrap()).collect();
    assert_eq!(names, ["app:1", "app:2"]);
    assert!(rows.iter().all(|r| r["fence"].as_u64() == Some(1) && r["mode"] == "exclusive"));

    let out = db.run(&["list"]);
    assert_eq!(out.code, 0, "{out:?}");
    for name in ["NAME", "app:1", "app:2", "other"] {
        assert!(out.stdout.contains(name), "{}", out.stdout);
    }
    let out = db.run(&["list", "--json", "nothing-here"]);
    assert_eq!(out.stdout.trim(), "[]");
}

#[test]
fn url_is_accepted_after_the_subcommand_and_from_the_environment() {
    let db = Db::new();
    let out = finish({
        let mut c = bare();
        c.args(["acquire", "where", "--url", &db.url]);
        c
    });
    assert_eq!(out.code, 0, "{out:?}");
    assert_eq!(db.state_json("where")["held"], true);

    let out = finish({
        let mut c = bare();
        c.args(["state", "--json", "where"]).env("FERROLOCK_URL", &db.url);
        c
    });
    assert_eq!(out.code, 0, "{out:?}");
    assert!(out.stdout.contains("\"held\":true"), "{}", out.stdout);
}

#[test]
fn demo_runs() {
    let out = finish(bare());
    assert_eq!(out.code, 64);
    let empty = tempfile::tempdir().unwrap();
    let out = finish({
        let mut c = bare();
        c.arg("demo").env("PATH", empty.path());
        c
    });
    assert_eq!(out.code, 0, "{out:?}");
    assert!(out.stdout.contains("fence"), "{}", out.stdout);
    assert!(out.stdout.contains("resumed"), "{}", out.stdout);
    assert!(out.took < Duration::from_secs(20), "demo took {:?}", out.took);
    // Not on PATH (as after `cargo run -- demo`): the closing suggestions
    // begin with how to put it there; on PATH, they do not.
    assert!(out.stdout.contains("cargo install --locked --path cli"), "{}", out.stdout);
    let dir = tempfile::tempdir().unwrap();
    std::os::unix::fs::symlink(env!("CARGO_BIN_EXE_ferrolock"), dir.path().join("ferrolock")).unwrap();
    let out = finish({
        let mut c = bare();
        c.arg("demo").env("PATH", dir.path());
        c
    });
    assert_eq!(out.code, 0, "{out:?}");
    assert!(!out.stdout.contains("cargo install"), "{}", out.stdout);
    assert!(out.stdout.contains("ferrolock run nightly-report"), "{}", out.stdout);
}

#[test]
fn nonblock_and_wait_are_flocks_flags() {
    let db = Db::new();
    let _token = db.acquire(&["busy"]);
    // -n / --nonblock: exit 75 at once, on run and acquire.
    for args in [&["acquire", "-n", "busy"][..], &["acquire", "--nonblock", "busy"], &["run", "-n", "busy", "--", "true"]] {
        let out = db.run(args);
        assert_eq!(out.code, 75, "{args:?}: {out:?}");
        out.assert_one_error_line();
        assert!(out.stderr.contains("at once"), "{}", out.stderr);
        assert!(out.took < Duration::from_secs(5), "{args:?} waited {:?}", out.took);
    }
    // -w SECONDS / --wait: a bare number is seconds, as flock's.
    for args in [&["acquire", "-w", "0.3", "busy"][..], &["run", "--wait", "0.3", "busy", "--", "true"]] {
        let out = db.run(args);
        assert_eq!(out.code, 75, "{args:?}: {out:?}");
        assert!(out.took >= Duration::from_millis(300), "{args:?} gave up after {:?}", out.took);
        assert!(out.stderr.contains("within 300ms"), "{}", out.stderr);
    }
    // Both at once is a usage error.
    let out = db.run(&["acquire", "-n", "-w", "1", "busy"]);
    assert_eq!(out.code, 64, "{out:?}");
    out.assert_one_error_line();
    // A free lock: -n takes it.
    let out = db.run(&["run", "-n", "free", "--", "true"]);
    assert_eq!(out.code, 0, "{out:?}");
}

#[test]
fn help_says_the_default_wait_is_not_flocks() {
    for sub in ["run", "acquire"] {
        let out = finish({
            let mut c = bare();
            c.args([sub, "--help"]);
            c
        });
        assert_eq!(out.code, 0);
        assert!(out.stdout.contains("-n, --nonblock") && out.stdout.contains("-w, --timeout"), "{}", out.stdout);
        assert!(out.stdout.contains("flock(1), which waits forever, the default is 10s"), "{}", out.stdout);
    }
}

#[test]
fn an_empty_url_is_an_error() {
    let db = Db::new();
    let out = finish({
        let mut c = bare();
        c.args(["--url", "", "acquire", "x"]).current_dir(db.dir.path()).env("HOME", db.dir.path());
        c
    });
    assert_eq!(out.code, 64, "{out:?}");
    out.assert_one_error_line();
    assert!(out.stderr.contains("--url is empty"), "{}", out.stderr);
    assert!(!db.dir.path().join(".local").exists(), "the default database was used");
}

#[test]
fn a_memory_token_comes_with_a_warning() {
    let out = finish({
        let mut c = bare();
        c.args(["--url", "memory://", "acquire", "x"]);
        c
    });
    assert_eq!(out.code, 0, "{out:?}");
    assert!(out.stdout.trim().starts_with("flk1."), "{}", out.stdout);
    out.assert_one_error_line();
    assert!(out.stderr.contains("warning: memory://") && out.stderr.contains("holds nothing"), "{}", out.stderr);
}

#[test]
fn inspecting_commands_do_not_create_a_database() {
    let db = Db::new();
    let token = db.acquire(&["x"]);
    let missing = db.path("typo.db");
    let url = format!("sqlite://{}", missing.display());
    for args in [
        &["release", &token][..],
        &["refresh", &token],
        &["state", "x"],
        &["force-release", "x"],
        &["list"],
    ] {
        let out = finish({
            let mut c = bare();
            c.arg("--url").arg(&url).args(args);
            c
        });
        assert_eq!(out.code, 64, "{args:?}: {out:?}");
        out.assert_one_error_line();
        assert!(out.stderr.contains(&missing.display().to_string()), "{}", out.stderr);
        assert!(out.stderr.contains("does not exist"), "{}", out.stderr);
        assert!(!missing.exists(), "{args:?} created {}", missing.display());
    }
    // The right database still holds the lock.
    assert_eq!(db.state_json("x")["held"], true);
}

#[test]
fn sqlite_paths_mean_what_a_shell_user_means() {
    let db = Db::new();
    // ~ is $HOME, not a folder named "~" here.
    let out = finish({
        let mut c = bare();
        c.args(["--url", "sqlite://~/sub/locks.db", "acquire", "x"])
            .env("HOME", db.dir.path())
            .current_dir(db.dir.path());
        c
    });
    assert_eq!(out.code, 0, "{out:?}");
    assert!(db.path("sub/locks.db").is_file());
    assert!(!db.path("~").exists());

    // A folder is a bad argument (64), named.
    let folder = db.dir.path().display().to_string();
    let out = finish({
        let mut c = bare();
        c.args(["--url", &format!("sqlite://{folder}"), "acquire", "x"]);
        c
    });
    assert_eq!(out.code, 64, "{out:?}");
    out.assert_one_error_line();
    assert!(out.stderr.contains(&folder) && out.stderr.contains("folder"), "{}", out.stderr);

    // `sqlite:locks.db` lacks the slashes: the message says so and gives the fix.
    let out = finish({
        let mut c = bare();
        c.args(["--url", "sqlite:locks.db", "state", "x"]);
        c
    });
    assert_eq!(out.code, 64, "{out:?}");
    assert!(out.stderr.contains("write sqlite://locks.db") && !out.stderr.contains("no scheme"), "{}", out.stderr);
}

#[test]
fn a_negative_duration_is_named_without_clap_s_tip() {
    let db = Db::new();
    for args in [&["run", "--ttl", "-5s", "x", "--", "true"][..], &["acquire", "--timeout", "-5", "x"]] {
        let out = db.run(args);
        assert_eq!(out.code, 64, "{args:?}: {out:?}");
        out.assert_one_error_line();
        assert!(out.stderr.contains("'-5") && out.stderr.contains("cannot be negative"), "{}", out.stderr);
        assert!(!out.stderr.contains("-- -5") && !out.stderr.contains("tip"), "{}", out.stderr);
    }
}

#[test]
fn an_unreachable_redis_is_named_by_host_and_port() {
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let out = finish({
        let mut c = bare();
        c.args(["--url", &format!("redis://bob:hunter2@127.0.0.1:{port}"), "state", "x"]);
        c
    });
    assert_eq!(out.code, 69, "{out:?}");
    out.assert_one_error_line();
    assert!(out.stderr.contains(&format!("127.0.0.1:{port}")), "{}", out.stderr);
    assert!(!out.stderr.contains("hunter2"), "{}", out.stderr);
}

/// `ferrolock run` in four processes at once on the PostgreSQL server
/// scripts/test starts, in both modes: the counter ends exact.
#[test]
fn run_excludes_other_processes_on_postgres() {
    for var in ["FERROLOCK_TEST_POSTGRES_URL", "FERROLOCK_TEST_POSTGRES_ADVISORY_URL"] {
        let base = std::env::var(var).unwrap_or_else(|_| panic!("{var} is not set: run scripts/test, which starts PostgreSQL"));
        let ns = format!("cli-{}", std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_nanos());
        let url = format!("{base}{}namespace={ns}", if base.contains('?') { '&' } else { '?' });
        let dir = tempfile::tempdir().unwrap();
        let counter = dir.path().join("counter");
        std::fs::write(&counter, "0\n").unwrap();
        let inner = r#"n=$(cat "$COUNTER"); sleep 0.01; echo $((n + 1)) > "$COUNTER""#;
        let outer = r#"for i in $(seq 15); do "$FL" --url "$URL" run --timeout 60s counter -- sh -c "$INNER" || exit 1; done"#;
        let children: Vec<Child> = (0..4)
            .map(|_| {
                Command::new("sh")
                    .args(["-c", outer])
                    .env("FL", BIN)
                    .env("URL", &url)
                    .env("COUNTER", &counter)
                    .env("INNER", inner)
                    .env_remove("FERROLOCK_URL")
                    .stdin(Stdio::null())
                    .stdout(Stdio::piped())
                    .stderr(Stdio::piped())
                    .spawn()
                    .unwrap()
            })
            .collect();
        for child in children {
            let output = wait_output(child, Duration::from_secs(240));
            assert!(output.status.success(), "{var}: {}", String::from_utf8_lossy(&output.stderr));
        }
        assert_eq!(std::fs::read_to_string(&counter).unwrap().trim(), "60", "{var}");
        let out = finish({
            let mut c = bare();
            c.args(["--url", &url, "state", "--json", "counter"]);
            c
        });
        assert_eq!(out.code, 0, "{}", out.stderr);
        let state: serde_json::Value = serde_json::from_str(&out.stdout).unwrap();
        assert_eq!(state["held"], false, "{var}");
    }
}
