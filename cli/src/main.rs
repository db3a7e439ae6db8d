//! `ferrolock`: run commands under locks shared by processes (and, with a
//! networked backend, machines); take, hand off, inspect and release locks
//! from the shell.

mod demo;
mod duration;
mod run;

use clap::{Parser, Subcommand};
use ferrolock::{Error, LockInfo, LockState, Locks};
use serde_json::json;
use std::ffi::OsString;
use std::io::{IsTerminal as _, Read as _, Write as _};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use duration::{human, parse_timeout, parse_ttl};

/// Exit status of a usage error (sysexits `EX_USAGE`), like `INVALID_ARGUMENT`.
const EX_USAGE: i32 = 64;
/// Exit status when standard output cannot be written (`EX_IOERR`).
const EX_IOERR: i32 = 74;

#[derive(Parser, Debug)]
#[command(
    name = "ferrolock",
    version,
    about = "Run commands under locks shared by processes, and hand locks between them as tokens",
    long_about = "Run commands under locks shared by processes, and hand locks between them as tokens.\n\n\
                  Locks live where --url says (default: $FERROLOCK_URL, else a SQLite file under \
                  ~/.local/share/ferrolock/). New here? Run `ferrolock demo`.",
    after_help = "Exit status: the command's own for `run`; 75 when the lock was not had in time; \
                  1 when a token no longer holds its lock; 64 for bad input (a refused password, a SQLite path that cannot be used); \
                  69 when the backend is unreachable.",
    propagate_version = true
)]
struct Cli {
    /// Where locks live: sqlite://PATH (one machine), redis://HOST[:PORT] (many) [default: $FERROLOCK_URL, else ~/.local/share/ferrolock/locks.db]
    #[arg(long, global = true, value_name = "URL", env = "FERROLOCK_URL", hide_env_values = true)]
    url: Option<String>,

    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Run a command while holding a lock; exit with the command's status
    #[command(
        override_usage = "ferrolock run [OPTIONS] <NAME> -- <CMD> [ARGS]...",
        after_help = "The lock is renewed while CMD runs and released when it ends. CMD gets \
                      FERROLOCK_FENCE (the fence of this acquisition) and FERROLOCK_NAME in its environment. \
                      SIGINT and SIGTERM are passed on to CMD. If the lock is lost meanwhile, CMD gets \
                      SIGTERM (SIGKILL 10s later) and ferrolock exits 1."
    )]
    Run {
        /// How long to wait for the lock: 500ms, 10s, 2m, 1h, a bare number of seconds, or forever.
        /// Unlike flock(1), which waits forever, the default is 10s
        #[arg(long, short = 'w', visible_alias = "wait", value_name = "DURATION", default_value = "10s",
              value_parser = parse_timeout, allow_hyphen_values = true)]
        timeout: std::time::Duration,
        /// Do not wait: exit 75 at once if the lock is held (as flock -n)
        #[arg(long, short = 'n', conflicts_with = "timeout")]
        nonblock: bool,
        /// Lease time to live; a crashed holder's lock frees after it
        #[arg(long, value_name = "DURATION", default_value = "30s", value_parser = parse_ttl, allow_hyphen_values = true)]
        ttl: std::time::Duration,
        /// Take the lock shared (many shared holders at once, no exclusive one)
        #[arg(long)]
        shared: bool,
        /// Exit status when the lock could not be had in time [default: 75]
        #[arg(long, value_name = "N")]
        conflict_exit_code: Option<u8>,
        /// The lock's name
        name: String,
        /// The command to run, and its arguments
        #[arg(value_name = "CMD", required = true, num_args = 1.., trailing_var_arg = true, allow_hyphen_values = true)]
        command: Vec<OsString>,
    },
    /// Take a lock and print a token for it; the lock stays held until released or its ttl passes
    #[command(after_help = "Nothing renews a handed-off lock: it frees when its ttl passes unless \
                            `ferrolock refresh TOKEN` extends it or `ferrolock release TOKEN` frees it first.")]
    Acquire {
        /// How long to wait for the lock: 500ms, 10s, 2m, 1h, a bare number of seconds, or forever.
        /// Unlike flock(1), which waits forever, the default is 10s
        #[arg(long, short = 'w', visible_alias = "wait", value_name = "DURATION", default_value = "10s",
              value_parser = parse_timeout, allow_hyphen_values = true)]
        timeout: std::time::Duration,
        /// Do not wait: exit 75 at once if the lock is held (as flock -n)
        #[arg(long, short = 'n', conflicts_with = "timeout")]
        nonblock: bool,
        /// Lease time to live: the lock frees after it unless refreshed
        #[arg(long, value_name = "DURATION", default_value = "30s", value_parser = parse_ttl, allow_hyphen_values = true)]
        ttl: std::time::Duration,
        /// Print a JSON object: token, name, fence, expires_at_ms
        #[arg(long)]
        json: bool,
        /// The lock's name
        name: String,
    },
    /// Release the lock a token holds (exit 1 if the token no longer holds it)
    Release {
        /// A token from `acquire` or `refresh` (`-` reads it from standard input)
        token: String,
    },
    /// Extend the lease of the lock a token holds and print its new token (exit 1 if lost)
    Refresh {
        /// New time to live, from now [default: the token's ttl]
        #[arg(long, value_name = "DURATION", value_parser = parse_ttl, allow_hyphen_values = true)]
        ttl: Option<std::time::Duration>,
        /// A token from `acquire` or `refresh` (`-` reads it from standard input)
        token: String,
    },
    /// Show whether a lock is free or who holds it
    State {
        /// Print a JSON object: name, held, fence, mode, holder, expires_in_ms, readers
        #[arg(long)]
        json: bool,
        /// The lock's name
        name: String,
    },
    /// Release a lock whoever holds it (an administrator's tool)
    ForceRelease {
        /// The lock's name
        name: String,
    },
    /// List the locks held now, optionally only those whose names start with PREFIX
    List {
        /// Print a JSON array of objects: name, fence, mode, holder, expires_in_ms, readers
        #[arg(long)]
        json: bool,
        /// Only locks whose names start with this
        #[arg(default_value = "")]
        prefix: String,
    },
    /// Show the public fields of a token (never its secret owner id)
    Decode {
        /// A token (`-` reads it from standard input)
        token: String,
    },
    /// See what ferrolock does, in a few seconds, on a throwaway SQLite file
    Demo,
    /// (internal) one of the demo's contending processes
    #[command(hide = true)]
    DemoWorker {
        #[arg(long)]
        id: u32,
        #[arg(long, default_value_t = 3)]
        rounds: u32,
        #[arg(long, default_value_t = 150)]
        hold_ms: u64,
        name: String,
    },
    /// (internal) the demo's process that resumes a token read from standard input
    #[command(hide = true)]
    DemoResume,
}

/// How the command ends: an exit status, and the one line to print on stderr.
#[derive(Debug)]
pub struct Exit {
    pub code: i32,
    pub message: Option<String>,
}

impl Exit {
    pub fn new(code: i32, message: impl Into<String>) -> Self {
        Exit { code, message: Some(message.into()) }
    }
    pub fn silent(code: i32) -> Self {
        Exit { code, message: None }
    }
}

impl From<Error> for Exit {
    fn from(e: Error) -> Self {
        Exit::new(e.exit_code(), e.to_string())
    }
}

fn main() {
    let code = match Cli::try_parse() {
        Ok(cli) => {
            init_logging();
            let runtime = tokio::runtime::Builder::new_multi_thread()
                .worker_threads(2)
                .enable_all()
                .build();
            match runtime {
                Ok(rt) => match rt.block_on(dispatch(cli)) {
                    Ok(code) => code,
                    Err(exit) => {
                        if let Some(m) = exit.message {
                            complain(&m);
                        }
                        exit.code
                    }
                },
                Err(e) => {
                    complain(&format!("cannot start the async runtime: {e}"));
                    70
                }
            }
        }
        Err(e) => clap_exit(e),
    };
    let _ = std::io::stdout().flush();
    std::process::exit(code);
}

/// Print one line on stderr: `ferrolock: ` and the message, on one line,
/// with any password of a URL in it masked.
pub fn complain(message: &str) {
    let line: String = message.split(['\n', '\r']).map(str::trim).filter(|l| !l.is_empty()).collect::<Vec<_>>().join(" ");
    eprintln!("ferrolock: {}", redact_urls(&line));
}

/// Mask the user info of every `scheme://user:pass@host` in `text`, as
/// `ferrolock::redact` does for one URL (a lone user name may be a secret too).
fn redact_urls(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(i) = rest.find("://") {
        let (head, tail) = rest.split_at(i + 3);
        out.push_str(head);
        let end = tail
            .find(|c: char| matches!(c, '/' | '?' | '#' | '\'' | '"' | '`') || c.is_whitespace())
            .unwrap_or(tail.len());
        let authority = &tail[..end];
        match authority.rfind('@') {
            Some(at) => {
                let user = &authority[..at];
                match user.split_once(':') {
                    Some((name, _)) => {
                        out.push_str(name);
                        out.push_str(":***");
                    }
                    None => out.push_str("***"),
                }
                out.push_str(&authority[at..]);
            }
            None => out.push_str(authority),
        }
        rest = &tail[end..];
    }
    out.push_str(rest);
    out
}

/// Help and version exit 0; any other usage error is one line and exit 64.
fn clap_exit(e: clap::Error) -> i32 {
    use clap::error::ErrorKind as K;
    match e.kind() {
        K::DisplayHelp | K::DisplayVersion => {
            let _ = e.print();
            0
        }
        K::MissingSubcommand | K::DisplayHelpOnMissingArgumentOrSubcommand => {
            complain("no command given; try `ferrolock demo` to see what it does, or `ferrolock --help`");
            EX_USAGE
        }
        _ => {
            // clap's message, without its usage block, on one line.
            let text = e.render().to_string();
            let mut message = String::new();
            for line in text.lines().map(str::trim).filter(|l| !l.is_empty()) {
                if line.starts_with("Usage:") || line.starts_with("For more information") {
                    break;
                }
                let line = line.strip_prefix("error: ").unwrap_or(line);
                if !message.is_empty() {
                    message.push_str(if message.ends_with(':') { " " } else { "; " });
                }
                message.push_str(line);
            }
            complain(&format!("{message} (see --help)"));
            EX_USAGE
        }
    }
}

/// Logs go to stderr: warnings only, unless FERROLOCK_LOG or RUST_LOG asks for
/// more. By default the core's warnings about a held lock (lost, renewal
/// retried) stay quiet: `run` reports a loss itself, in its one line.
fn init_logging() {
    use tracing_subscriber::EnvFilter;
    let spec = ["FERROLOCK_LOG", "RUST_LOG"]
        .iter()
        .find_map(|v| std::env::var(v).ok().filter(|s| !s.trim().is_empty()));
    let filter = spec
        .as_deref()
        .and_then(|s| EnvFilter::try_new(s).ok())
        .unwrap_or_else(|| EnvFilter::new("warn,ferrolock::held=error"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::stderr().is_terminal());
    let _ = if spec.is_some() {
        builder.try_init()
    } else {
        builder.without_time().with_target(false).try_init()
    };
}

/// The URL to use: `--url`, else `$FERROLOCK_URL` (unless empty), else the
/// default file. An empty `--url` is a mistake (an unset shell variable,
/// say), not a request for the default.
fn url_of(given: Option<String>) -> Result<String, Exit> {
    let from_env = std::env::var_os("FERROLOCK_URL").is_some_and(|v| given.as_deref().map(OsString::from) == Some(v));
    match given {
        Some(u) if u.trim().is_empty() && !from_env => Err(Exit::new(
            EX_USAGE,
            "--url is empty; give a URL (sqlite://PATH, redis://HOST, memory://), or leave --url out for the default \
             ($FERROLOCK_URL, else ~/.local/share/ferrolock/locks.db)",
        )),
        Some(u) if !u.trim().is_empty() => Ok(u),
        _ => Ok(ferrolock::default_url()),
    }
}

/// The commands that only look at, extend or release locks: on a store that
/// does not exist they say so (exit 64) rather than create an empty one and
/// answer "free" or "no longer holds".
fn creates_nothing(command: &Command) -> bool {
    matches!(
        command,
        Command::Release { .. }
            | Command::Refresh { .. }
            | Command::State { .. }
            | Command::ForceRelease { .. }
            | Command::List { .. }
    )
}

async fn dispatch(cli: Cli) -> Result<i32, Exit> {
    let url = url_of(cli.url)?;
    match cli.command {
        Command::Decode { token } => decode(&read_token(&token)?),
        Command::Demo => demo::demo().await,
        command => {
            let locks = if creates_nothing(&command) {
                Locks::connect_existing(&url).await?
            } else {
                Locks::connect(&url).await?
            };
            match command {
                Command::Run { timeout, nonblock, ttl, shared, conflict_exit_code, name, command } => {
                    run::run(
                        &locks,
                        run::RunArgs {
                            timeout: if nonblock { Duration::ZERO } else { timeout },
                            ttl,
                            shared,
                            conflict_exit_code: conflict_exit_code.map_or(75, i32::from),
                            name,
                            command,
                        },
                    )
                    .await
                }
                Command::Acquire { timeout, nonblock, ttl, json, name } => {
                    acquire(&locks, &name, if nonblock { Duration::ZERO } else { timeout }, ttl, json).await
                }
                Command::Release { token } => release(&locks, &read_token(&token)?).await,
                Command::Refresh { ttl, token } => refresh(&locks, &read_token(&token)?, ttl).await,
                Command::State { json, name } => state(&locks, &name, json).await,
                Command::ForceRelease { name } => force_release(&locks, &name).await,
                Command::List { json, prefix } => list(&locks, &prefix, json).await,
                Command::DemoWorker { id, rounds, hold_ms, name } => {
                    demo::worker(&locks, id, rounds, Duration::from_millis(hold_ms), &name).await
                }
                Command::DemoResume => demo::resume(&locks, &read_token("-")?).await,
                Command::Decode { .. } | Command::Demo => unreachable!("handled above"),
            }
        }
    }
}

/// Write `text` and a newline on stdout, flushed. A closed pipe ends quietly.
pub fn out(text: &str) -> Result<(), Exit> {
    let mut stdout = std::io::stdout().lock();
    writeln!(stdout, "{text}").and_then(|()| stdout.flush()).map_err(|e| {
        if e.kind() == std::io::ErrorKind::BrokenPipe {
            Exit::silent(141)
        } else {
            Exit::new(EX_IOERR, format!("cannot write to standard output: {e}"))
        }
    })
}

/// A token from the command line, or from stdin for `-`.
fn read_token(arg: &str) -> Result<String, Exit> {
    if arg != "-" {
        return Ok(arg.trim().to_owned());
    }
    let mut s = String::new();
    std::io::stdin()
        .take(64 * 1024)
        .read_to_string(&mut s)
        .map_err(|e| Exit::new(EX_USAGE, format!("cannot read a token from standard input: {e}")))?;
    Ok(s.trim().to_owned())
}

/// The message for a lock not had in time, naming who holds it.
pub async fn conflict(locks: &Locks, name: &str, waited: Duration, code: i32) -> Exit {
    let who = match locks.state(name).await {
        Ok(LockState::Held { holder, fence, mode, .. }) => format!(" (held by {holder}, {}, fence {fence})", mode.as_str()),
        _ => String::new(),
    };
    let waited = if waited.is_zero() { "at once".to_owned() } else { format!("within {}", human(waited)) };
    Exit::new(code, format!("could not get lock {name:?} {waited}{who}"))
}

fn lost_token(name: &str) -> Exit {
    Exit::new(1, format!("the token no longer holds lock {name:?} (released, expired, taken over or force-released)"))
}

fn now_ms() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_millis() as u64)
}

async fn acquire(locks: &Locks, name: &str, timeout: Duration, ttl: Duration, as_json: bool) -> Result<i32, Exit> {
    let mut lock = locks.lock(name).ttl(ttl);
    if !locks.url().contains("holder=") {
        // This process exits once the token is printed: name the caller.
        #[cfg(unix)]
        {
            lock = lock.holder(ferrolock::holder_of(std::os::unix::process::parent_id()));
        }
    }
    let held = match lock.acquire(timeout).await {
        Ok(held) => held,
        Err(Error::Timeout { .. }) => return Err(conflict(locks, name, timeout, 75).await),
        Err(e) => return Err(e.into()),
    };
    let (fence, expires_at_ms) = (held.fence(), held.expires_at_ms());
    let token = held.take_token()?;
    drop(held);
    let text = if as_json {
        json!({ "token": token, "name": name, "fence": fence, "expires_at_ms": expires_at_ms }).to_string()
    } else {
        token.clone()
    };
    if let Err(e) = out(&text) {
        // Nobody got the token: give the lock back rather than strand it.
        if let Ok(held) = locks.resume(&token).await {
            let _ = held.release().await;
        }
        return Err(e);
    }
    if locks.backend() == ferrolock::BackendKind::Memory {
        complain(&format!(
            "warning: memory:// locks live inside one process; lock {name:?} ended when this command exited, \
             so this token holds nothing (use sqlite:// or redis:// to hand locks between processes)"
        ));
    } else if !as_json && std::io::stdout().is_terminal() {
        complain(&format!(
            "holding {name:?} (fence {fence}) for {}: `ferrolock release TOKEN` frees it, `ferrolock refresh TOKEN` extends it",
            human(ttl)
        ));
    }
    Ok(0)
}

async fn release(locks: &Locks, token: &str) -> Result<i32, Exit> {
    match locks.resume(token).await {
        Ok(held) => {
            let name = held.name().to_owned();
            if held.release().await? {
                Ok(0)
            } else {
                Err(lost_token(&name))
            }
        }
        Err(Error::Lost { name }) => Err(lost_token(&name)),
        Err(e) => Err(e.into()),
    }
}

async fn refresh(locks: &Locks, token: &str, ttl: Option<Duration>) -> Result<i32, Exit> {
    // Resuming extends the lease by the token's own ttl.
    let held = match locks.resume(token).await {
        Ok(held) => held,
        Err(Error::Lost { name }) => return Err(lost_token(&name)),
        Err(e) => return Err(e.into()),
    };
    if let Some(ttl) = ttl {
        match held.refresh(ttl).await {
            Ok(()) => {}
            Err(Error::Lost { name }) => return Err(lost_token(&name)),
            Err(e) => {
                // Leave the lock with the token, as it came.
                held.disarm();
                return Err(e.into());
            }
        }
    }
    let token = held.take_token()?;
    out(&token)?;
    Ok(0)
}

fn describe(holder: &str, mode: ferrolock::Mode, fence: u64, expires_in: Duration, readers: u32) -> String {
    let who = if readers > 1 { format!("{holder} and {} more", readers - 1) } else { holder.to_owned() };
    format!("held by {who} ({}, fence {fence}, expires in {})", mode.as_str(), human(expires_in))
}

async fn state(locks: &Locks, name: &str, as_json: bool) -> Result<i32, Exit> {
    let state = locks.state(name).await?;
    let text = match (&state, as_json) {
        (LockState::Free, false) => "free".to_owned(),
        (LockState::Held { fence, mode, holder, expires_in, readers }, false) => {
            describe(holder, *mode, *fence, *expires_in, *readers)
        }
        (LockState::Free, true) => json!({
            "name": name, "held": false, "fence": null, "mode": null,
            "holder": null, "expires_in_ms": null, "readers": 0,
        })
        .to_string(),
        (LockState::Held { fence, mode, holder, expires_in, readers }, true) => json!({
            "name": name, "held": true, "fence": fence, "mode": mode.as_str(),
            "holder": holder, "expires_in_ms": expires_in.as_millis() as u64, "readers": readers,
        })
        .to_string(),
    };
    out(&text)?;
    Ok(0)
}

async fn force_release(locks: &Locks, name: &str) -> Result<i32, Exit> {
    if locks.force_release(name).await? {
        out(&format!("released {name:?}"))?;
    } else {
        out(&format!("{name:?} was not held"))?;
    }
    Ok(0)
}

fn info_json(i: &LockInfo) -> serde_json::Value {
    json!({
        "name": i.name, "fence": i.fence, "mode": i.mode.as_str(), "holder": i.holder,
        "expires_in_ms": i.expires_in.as_millis() as u64, "readers": i.readers,
    })
}

async fn list(locks: &Locks, prefix: &str, as_json: bool) -> Result<i32, Exit> {
    let rows = locks.list(prefix).await?;
    if as_json {
        out(&serde_json::Value::Array(rows.iter().map(info_json).collect()).to_string())?;
        return Ok(0);
    }
    if rows.is_empty() {
        out(if prefix.is_empty() { "no locks held" } else { "no locks held under that prefix" })?;
        return Ok(0);
    }
    let header = ["NAME", "MODE", "FENCE", "HOLDER", "EXPIRES IN"].map(str::to_owned);
    let mut table = vec![header];
    for i in &rows {
        let mode = if i.readers > 1 { format!("shared×{}", i.readers) } else { i.mode.as_str().to_owned() };
        table.push([i.name.clone(), mode, i.fence.to_string(), i.holder.clone(), human(i.expires_in)]);
    }
    let mut widths = [0usize; 5];
    for row in &table {
        for (w, cell) in widths.iter_mut().zip(row) {
            *w = (*w).max(cell.chars().count());
        }
    }
    for row in &table {
        let mut line = String::new();
        for (k, (cell, w)) in row.iter().zip(widths).enumerate() {
            line.push_str(cell);
            if k + 1 < row.len() {
                line.extend(std::iter::repeat_n(' ', w - cell.chars().count() + 2));
            }
        }
        out(&line)?;
    }
    Ok(0)
}

fn decode(token: &str) -> Result<i32, Exit> {
    let info = ferrolock::token::decode(token)?;
    let now = now_ms();
    let expiry = if info.expires_at_ms > now {
        format!("{} (in {})", info.expires_at_ms, human(Duration::from_millis(info.expires_at_ms - now)))
    } else {
        format!("{} ({} ago)", info.expires_at_ms, human(Duration::from_millis(now - info.expires_at_ms)))
    };
    let fields = [
        ("backend", info.backend.name().to_owned()),
        ("namespace", info.namespace),
        ("name", info.name),
        ("fence", info.fence.to_string()),
        ("mode", info.mode.as_str().to_owned()),
        ("expires_at_ms", expiry),
        ("ttl_ms", info.ttl_ms.to_string()),
        ("holder", info.holder),
    ];
    for (k, v) in fields {
        out(&format!("{k:<14}{v}"))?;
    }
    Ok(0)
}

#[cfg(test)]
mod tests {
    use super::redact_urls;

    #[test]
    fn masks_passwords_anywhere_in_a_message() {
        assert_eq!(
            redact_urls("unrecognized subcommand 'redis://bob:hunter2@h:6379/0' (see --help)"),
            "unrecognized subcommand 'redis://bob:***@h:6379/0' (see --help)"
        );
        assert_eq!(redact_urls("a redis://tok@h and rediss://:pw@h2"), "a redis://***@h and rediss://:***@h2");
        assert_eq!(redact_urls("URL \"ftp://bob:***@x\": unknown"), "URL \"ftp://bob:***@x\": unknown");
        assert_eq!(redact_urls("sqlite:///tmp/a@b/locks.db"), "sqlite:///tmp/a@b/locks.db");
        assert_eq!(redact_urls("no url here"), "no url here");
    }
}
