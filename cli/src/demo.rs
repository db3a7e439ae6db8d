//! `ferrolock demo`: a few seconds that show what ferrolock does, on a
//! throwaway SQLite file, with real processes of this same binary.

use crate::{out, Exit};
use ferrolock::{LockState, Locks};
use std::process::Stdio;
use std::time::{Duration, Instant};
use tokio::io::{AsyncBufReadExt as _, AsyncWriteExt as _, BufReader};
use tokio::process::Command;

const LOCK: &str = "demo:report";
const WORKERS: u32 = 3;
const ROUNDS: u32 = 3;
const HOLD_MS: u64 = 150;
/// However slow the machine, the demo ends.
const DEMO_LIMIT: Duration = Duration::from_secs(30);

fn internal(what: &str, e: impl std::fmt::Display) -> Exit {
    Exit::new(70, format!("demo: {what}: {e}"))
}

pub async fn demo() -> Result<i32, Exit> {
    let dir = tempfile::Builder::new()
        .prefix("ferrolock-demo-")
        .tempdir()
        .map_err(|e| internal("cannot create a temporary directory", e))?;
    let url = format!("sqlite://{}", dir.path().join("locks.db").display());
    let result = tokio::time::timeout(DEMO_LIMIT, show(&url))
        .await
        .unwrap_or_else(|_| Err(Exit::new(70, "demo: took too long; stopped")));
    drop(dir);
    result
}

async fn show(url: &str) -> Result<i32, Exit> {
    let exe = std::env::current_exe().map_err(|e| internal("cannot find this program", e))?;
    let me = std::process::id();
    out("ferrolock demo: processes sharing locks through one SQLite file, made fresh for this demo")?;
    out(&format!("  --url {url}"))?;
    out("")?;

    // 1. Contention: the same binary, several times, after one lock.
    out(&format!(
        "1. {WORKERS} processes take turns on the lock {LOCK:?}, {ROUNDS} times each, holding it ~{HOLD_MS}ms:"
    ))?;
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel::<String>();
    let mut children = Vec::new();
    for id in 1..=WORKERS {
        let mut child = Command::new(&exe)
            .arg("--url")
            .arg(url)
            .args(["demo-worker", "--id", &id.to_string(), "--rounds", &ROUNDS.to_string()])
            .args(["--hold-ms", &HOLD_MS.to_string(), LOCK])
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .map_err(|e| internal("cannot start a worker process", e))?;
        let stdout = child.stdout.take().expect("piped");
        let tx = tx.clone();
        tokio::spawn(async move {
            let mut lines = BufReader::new(stdout).lines();
            while let Ok(Some(line)) = lines.next_line().await {
                let _ = tx.send(line);
            }
        });
        children.push(child);
    }
    drop(tx);
    let mut fences = Vec::new();
    while let Some(line) = rx.recv().await {
        if let Some(f) = line.rsplit("fence ").next().and_then(|t| t.split_whitespace().next()) {
            if let Ok(f) = f.parse::<u64>() {
                fences.push(f);
            }
        }
        out(&format!("   {line}"))?;
    }
    for (k, child) in children.iter_mut().enumerate() {
        let status = child.wait().await.map_err(|e| internal("lost a worker", e))?;
        if !status.success() {
            return Err(Exit::new(70, format!("demo: worker {} failed ({status})", k + 1)));
        }
    }
    if fences.windows(2).all(|w| w[0] < w[1]) && !fences.is_empty() {
        out(&format!(
            "   {} turns, one process at a time; every turn got a larger fence ({}..{}).",
            fences.len(),
            fences[0],
            fences[fences.len() - 1]
        ))?;
    }
    out("")?;

    // 2. Handoff: this process takes the lock, another one releases it.
    out("2. A lock handed from one process to another as a token:")?;
    let locks = Locks::connect(url).await?;
    let held = locks.lock(LOCK).acquire(Duration::from_secs(10)).await?;
    let fence = held.fence();
    let token = held.into_token()?;
    out(&format!("   pid {me} acquired {LOCK}  fence {fence}, and hands it off as a token ({} characters)", token.len()))?;
    if let LockState::Held { holder, fence, mode, expires_in, readers } = locks.state(LOCK).await? {
        out(&format!(
            "   state: {} - nothing renews it until someone resumes the token",
            crate::describe(&holder, mode, fence, expires_in, readers)
        ))?;
    }
    let mut child = Command::new(&exe)
        .arg("--url")
        .arg(url)
        .arg("demo-resume")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .map_err(|e| internal("cannot start the resuming process", e))?;
    // The token goes through a pipe, not the command line, where `ps` would show it.
    let mut stdin = child.stdin.take().expect("piped");
    stdin.write_all(token.as_bytes()).await.map_err(|e| internal("cannot pass the token", e))?;
    drop(stdin);
    let output = child.wait_with_output().await.map_err(|e| internal("lost the resuming process", e))?;
    for line in String::from_utf8_lossy(&output.stdout).lines() {
        out(&format!("   {line}"))?;
    }
    if !output.status.success() {
        return Err(Exit::new(70, format!("demo: the resuming process failed ({})", output.status)));
    }
    let after = match locks.state(LOCK).await? {
        LockState::Free => "free".to_owned(),
        LockState::Held { holder, .. } => format!("held by {holder}"),
    };
    out(&format!("   state: {after}"))?;
    out("")?;

    out(&format!(
        "Try it with your own commands (your locks live at {} unless --url says otherwise):",
        ferrolock::redact(&ferrolock::default_url())
    ))?;
    if !on_path("ferrolock") {
        // `cargo run -- demo` leaves the command in target/: say how to reach it.
        out("  cargo install --locked --path cli                  # first: puts ferrolock on PATH (~/.cargo/bin)")?;
    }
    out("  ferrolock run nightly-report -- ./make-report.sh   # one at a time, across processes")?;
    out("  TOKEN=$(ferrolock acquire deploy)                  # take a lock, get a token")?;
    out("  ferrolock release \"$TOKEN\"                         # release it, from any process")?;
    out("  ferrolock list                                     # who holds what")?;
    Ok(0)
}

/// One contending process: take the lock `rounds` times, hold it a moment.
pub async fn worker(locks: &Locks, id: u32, rounds: u32, hold: Duration, name: &str) -> Result<i32, Exit> {
    let pid = std::process::id();
    let lock = locks.lock(name);
    for _ in 0..rounds {
        let start = Instant::now();
        let held = lock.acquire(Duration::from_secs(10)).await?;
        let waited = start.elapsed();
        out(&format!(
            "worker {id} (pid {pid}) holds {name}  fence {}  (waited {})",
            held.fence(),
            crate::duration::human(waited)
        ))?;
        tokio::time::sleep(hold).await;
        held.release().await?;
    }
    Ok(0)
}

/// The other end of the handoff: resume the token, show the fence, release.
pub async fn resume(locks: &Locks, token: &str) -> Result<i32, Exit> {
    let pid = std::process::id();
    let held = locks.resume(token).await?;
    let (name, fence) = (held.name().to_owned(), held.fence());
    out(&format!("pid {pid} resumed the token: it holds {name}  fence {fence} (the same fence)"))?;
    let released = held.release().await?;
    out(&format!("pid {pid} released {name}{}", if released { "" } else { " (it had already been lost)" }))?;
    Ok(0)
}

/// Whether a command `name` is found on $PATH, as a shell would find it.
fn on_path(name: &str) -> bool {
    use std::os::unix::fs::PermissionsExt;
    std::env::var_os("PATH").is_some_and(|path| {
        std::env::split_paths(&path).any(|dir| {
            std::fs::metadata(dir.join(name)).is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
        })
    })
}
