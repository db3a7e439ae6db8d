//! `ferrolock run`: hold a lock while a command runs.

use crate::{complain, conflict, Exit};
use ferrolock::{Error, Locks};
use std::ffi::OsString;
use std::os::unix::process::ExitStatusExt as _;
use std::time::Duration;
use tokio::signal::unix::{signal, Signal, SignalKind};
use tokio::time::Instant;

/// How long a command that lost its lock has between SIGTERM and SIGKILL.
const KILL_AFTER: Duration = Duration::from_secs(10);
/// Exit status when CMD cannot be started, as shells do.
const EX_NOT_RUN: i32 = 127;

pub struct RunArgs {
    pub timeout: Duration,
    pub ttl: Duration,
    pub shared: bool,
    pub conflict_exit_code: i32,
    pub name: String,
    pub command: Vec<OsString>,
}

struct Signals {
    int: Signal,
    term: Signal,
    hup: Signal,
}

impl Signals {
    fn install() -> Result<Self, Exit> {
        let install = |kind| signal(kind).map_err(|e| Exit::new(70, format!("cannot install signal handlers: {e}")));
        Ok(Signals {
            int: install(SignalKind::interrupt())?,
            term: install(SignalKind::terminate())?,
            hup: install(SignalKind::hangup())?,
        })
    }

    /// The next of SIGINT, SIGTERM or SIGHUP to arrive.
    async fn next(&mut self) -> libc::c_int {
        tokio::select! {
            Some(()) = self.int.recv() => libc::SIGINT,
            Some(()) = self.term.recv() => libc::SIGTERM,
            Some(()) = self.hup.recv() => libc::SIGHUP,
            else => std::future::pending().await,
        }
    }
}

pub async fn run(locks: &Locks, a: RunArgs) -> Result<i32, Exit> {
    // Installed first, so that a signal while we wait for the lock ends the
    // wait cleanly (leaving the queue) instead of killing us mid-way.
    let mut signals = Signals::install()?;
    let mut lock = locks.lock(a.name.as_str()).ttl(a.ttl);
    if a.shared {
        lock = lock.shared();
    }
    let held = tokio::select! {
        r = lock.acquire(a.timeout) => match r {
            Ok(held) => held,
            Err(Error::Timeout { .. }) => return Err(conflict(locks, &a.name, a.timeout, a.conflict_exit_code).await),
            Err(e) => return Err(e.into()),
        },
        sig = signals.next() => {
            // The dropped wait leaves the queue in a background task: let it finish.
            locks.close().await;
            return Err(Exit::silent(128 + sig));
        }
    };
    tracing::debug!(name = %a.name, fence = held.fence(), "ferrolock: acquired; starting the command");

    let program = &a.command[0];
    let mut command = tokio::process::Command::new(program);
    command
        .args(&a.command[1..])
        .env("FERROLOCK_FENCE", held.fence().to_string())
        .env("FERROLOCK_NAME", &a.name);
    let mut child = match command.spawn() {
        Ok(child) => child,
        Err(e) => {
            let _ = held.release().await;
            return Err(Exit::new(EX_NOT_RUN, format!("cannot run {:?}: {e}", program.to_string_lossy())));
        }
    };
    let pid = child.id().map_or(0, |p| p as libc::pid_t);

    let mut lost = false;
    let mut kill_at: Option<Instant> = None;
    let status = loop {
        // The child is reaped only by `wait` below, so until it returns `pid`
        // is still ours to signal (at worst a zombie), never a reused pid.
        tokio::select! {
            biased;
            status = child.wait() => break status,
            sig = signals.next() => forward(pid, sig),
            () = held.lost(), if !lost => {
                lost = true;
                complain(&format!(
                    "lock {:?} was lost (expired, taken over or force-released); stopping the command (SIGTERM, then SIGKILL after {}s)",
                    a.name,
                    KILL_AFTER.as_secs()
                ));
                send(pid, libc::SIGTERM);
                kill_at = Some(Instant::now() + KILL_AFTER);
            }
            () = tokio::time::sleep_until(kill_at.unwrap_or_else(far_future)), if kill_at.is_some() => {
                send(pid, libc::SIGKILL);
                kill_at = None;
            }
        }
    };
    let released = held.release().await;
    let code = match status {
        Ok(status) => status.code().or_else(|| status.signal().map(|s| 128 + s)).unwrap_or(70),
        Err(e) => {
            complain(&format!("lost track of the command: {e}"));
            70
        }
    };
    if lost {
        return Ok(1);
    }
    match released {
        Ok(true) => Ok(code),
        Ok(false) => {
            complain(&format!(
                "lock {:?} was lost before the command ended (expired, taken over or force-released)",
                a.name
            ));
            Ok(if code == 0 { 1 } else { code })
        }
        Err(e) => {
            complain(&format!("could not release lock {:?} ({e}); it frees when its ttl passes", a.name));
            Ok(code)
        }
    }
}

fn far_future() -> Instant {
    Instant::now() + Duration::from_secs(86_400 * 365)
}

fn send(pid: libc::pid_t, sig: libc::c_int) {
    if pid > 0 {
        // SAFETY: kill(2) with a pid we spawned and have not reaped.
        unsafe {
            libc::kill(pid, sig);
        }
    }
}

/// Pass a signal on to the command. A Ctrl-C typed at the terminal already
/// reached the command when it is in the terminal's foreground process
/// group (ours, by default): sending it again would interrupt it twice.
fn forward(pid: libc::pid_t, sig: libc::c_int) {
    if sig == libc::SIGINT && terminal_reaches(pid) {
        tracing::debug!("ferrolock: SIGINT came with the command in the terminal's foreground; not sending it twice");
        return;
    }
    tracing::debug!(signal = sig, pid, "ferrolock: forwarding signal to the command");
    send(pid, sig);
}

fn terminal_reaches(pid: libc::pid_t) -> bool {
    // SAFETY: plain queries on our own fds and our child's pid.
    unsafe {
        let group = libc::getpgid(pid);
        group > 0 && (0..3).any(|fd| libc::isatty(fd) == 1 && libc::tcgetpgrp(fd) == group)
    }
}
