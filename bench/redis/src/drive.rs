//! The driver: finds the contenders (`bench/contenders/<name>/`), runs each
//! one's `setup`, then measures all of them in one run, rounds interleaved,
//! and prints one table (plus details, in Markdown, for RESULTS-redis.md).
//!
//! A contender whose directory name starts with `ferrolock` is ferrolock in
//! some language; `floor` is the floor; every other one is a peer.

use crate::stats::{fmt_ns, fmt_ratio, median, percentile};
use crate::Opts;
use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Role {
    Ferrolock,
    Floor,
    Peer,
}

struct Contender {
    name: String,
    dir: PathBuf,
    role: Role,
    /// `Some(why)` if its setup failed: reported, not measured.
    failed: Option<String>,
    pair: bool,
    worker: bool,
}

/// One contended round's figures.
#[derive(Clone, Debug)]
struct Contended {
    counter_ok: bool,
    counter: i64,
    overlaps: usize,
    handoff_pct: f64,
    wait_p50: f64,
    wait_p99: f64,
    wait_max: f64,
    hold_p50: f64,
    gap_p50: f64,
    throughput: f64,
    wall_s: f64,
}

#[derive(Default)]
struct Results {
    /// contender -> display name -> ns per pair, one per round
    pairs: BTreeMap<String, Vec<(String, Vec<f64>)>>,
    /// contender -> the floor measured inside its own process, per round
    own_floor: BTreeMap<String, Vec<f64>>,
    contended: BTreeMap<String, Vec<Contended>>,
    /// The server's round trip (ns, the median of a PING loop) measured
    /// before each contended round: the floor of a handoff gap.
    round_trips: Vec<f64>,
    /// contender -> what went wrong while measuring
    errors: BTreeMap<String, Vec<String>>,
}

fn is_exec(p: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt;
    p.metadata().map(|m| m.is_file() && m.permissions().mode() & 0o111 != 0).unwrap_or(false)
}

fn discover(dir: &Path, only: Option<&[String]>) -> Result<Vec<Contender>, String> {
    let mut out = Vec::new();
    let entries = std::fs::read_dir(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    for entry in entries.flatten() {
        let path = entry.path();
        if !path.is_dir() {
            continue;
        }
        let name = entry.file_name().to_string_lossy().into_owned();
        if name.starts_with('.') || name == "node_modules" {
            continue;
        }
        if only.is_some_and(|o| !o.iter().any(|n| n == &name)) {
            continue;
        }
        let role = if name.starts_with("ferrolock") {
            Role::Ferrolock
        } else if name.starts_with("floor") {
            Role::Floor
        } else {
            Role::Peer
        };
        let (pair, worker) = (is_exec(&path.join("pair")), is_exec(&path.join("worker")));
        let failed = (!pair && !worker).then(|| "no executable pair or worker".to_owned());
        out.push(Contender { name, dir: path, role, failed, pair, worker });
    }
    out.sort_by_key(|c| (c.role as u8, c.name.clone()));
    Ok(out)
}

fn last_lines(path: &Path, n: usize) -> String {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    let lines: Vec<&str> = text.lines().filter(|l| !l.trim().is_empty()).collect();
    lines[lines.len().saturating_sub(n)..].join(" / ")
}

fn setup(c: &mut Contender, logs: &Path) {
    let script = c.dir.join("setup");
    if c.failed.is_some() || !is_exec(&script) {
        return;
    }
    let log = logs.join(format!("{}-setup.log", c.name));
    eprintln!("== setup {}", c.name);
    let start = Instant::now();
    let status = std::fs::File::create(&log).and_then(|f| {
        let f2 = f.try_clone()?;
        Command::new(&script).current_dir(&c.dir).stdin(Stdio::null()).stdout(f).stderr(f2).status()
    });
    match status {
        Ok(s) if s.success() => eprintln!("   ok in {:.1} s", start.elapsed().as_secs_f64()),
        Ok(s) => c.failed = Some(format!("setup exited {s}: {}", last_lines(&log, 2))),
        Err(e) => c.failed = Some(format!("setup could not run: {e}")),
    }
    if let Some(f) = &c.failed {
        eprintln!("   FAILED: {f} (log: {})", log.display());
    }
}

/// Run `cmd` to completion within `limit`; its stdout.
fn run_with_limit(mut cmd: Command, limit: Duration, log: &Path) -> Result<String, String> {
    let err = std::fs::OpenOptions::new().create(true).append(true).open(log).map_err(|e| e.to_string())?;
    let mut child = cmd.stdin(Stdio::null()).stdout(Stdio::piped()).stderr(err).spawn().map_err(|e| e.to_string())?;
    let mut stdout = child.stdout.take().expect("piped");
    let reader = std::thread::spawn(move || {
        let mut s = String::new();
        std::io::Read::read_to_string(&mut stdout, &mut s).map(|_| s)
    });
    let start = Instant::now();
    loop {
        if let Some(status) = child.try_wait().map_err(|e| e.to_string())? {
            let out = reader.join().map_err(|_| "reader panicked".to_owned())?.map_err(|e| e.to_string())?;
            if !status.success() {
                return Err(format!("exited {status}: {}", last_lines(log, 2)));
            }
            return Ok(out);
        }
        if start.elapsed() > limit {
            let _ = child.kill();
            let _ = child.wait();
            return Err(format!("killed after {limit:?}"));
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// One `pair` run: `(display name, role floor?, ns per pair of the last round)`.
fn pair_round(c: &Contender, url: &str, pairs: u64, logs: &Path) -> Result<Vec<(String, bool, f64)>, String> {
    let mut cmd = Command::new(c.dir.join("pair"));
    cmd.current_dir(&c.dir).args(["--url", url, "--pairs", &pairs.to_string(), "--rounds", "2"]);
    let out = run_with_limit(cmd, Duration::from_secs(300), &logs.join(format!("{}-pair.log", c.name)))?;
    let mut rows = Vec::new();
    for line in out.lines().filter(|l| l.trim_start().starts_with('{')) {
        let v: serde_json::Value = serde_json::from_str(line).map_err(|e| format!("bad JSON {line:?}: {e}"))?;
        let name = v["name"].as_str().ok_or("JSON without name")?.to_owned();
        let figs: Vec<f64> = v["ns_per_pair"]
            .as_array()
            .ok_or("JSON without ns_per_pair")?
            .iter()
            .filter_map(|x| x.as_f64())
            .collect();
        // The first round of each run is its warm-up.
        let last = *figs.last().ok_or("no rounds")?;
        rows.push((name, v["role"].as_str() == Some("floor"), last));
    }
    if rows.is_empty() {
        return Err(format!("printed no JSON line: {:?}", out.lines().last().unwrap_or("")));
    }
    Ok(rows)
}

struct Spawned {
    child: Child,
    lines: mpsc::Receiver<String>,
}

fn spawn_worker(c: &Contender, args: &[String], log: &Path) -> Result<Spawned, String> {
    let err = std::fs::OpenOptions::new().create(true).append(true).open(log).map_err(|e| e.to_string())?;
    let mut child = Command::new(c.dir.join("worker"))
        .current_dir(&c.dir)
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(err)
        .spawn()
        .map_err(|e| e.to_string())?;
    let stdout = child.stdout.take().expect("piped");
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines() {
            let Ok(line) = line else { break };
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    Ok(Spawned { child, lines: rx })
}

struct Rec {
    w: i64,
    t0: f64,
    t1: f64,
    t2: f64,
}

/// The median round trip of `n` PINGs on one plain connection, in ns.
fn round_trip(url: &str, n: usize) -> Result<f64, String> {
    let client = redis::Client::open(url).map_err(|e| e.to_string())?;
    let mut conn = client.get_connection().map_err(|e| e.to_string())?;
    let mut times = Vec::with_capacity(n);
    for i in 0..n + n / 10 {
        let start = Instant::now();
        let _: String = redis::cmd("PING").query(&mut conn).map_err(|e| e.to_string())?;
        if i >= n / 10 {
            times.push(start.elapsed().as_nanos() as f64);
        }
    }
    Ok(median(&times))
}

fn contended_round(
    c: &Contender,
    url: &str,
    round: usize,
    workers: usize,
    iterations: u64,
    logs: &Path,
) -> Result<Contended, String> {
    let lock = format!("bench-{}-{round}-{}", c.name, std::process::id());
    let counter = format!("bench-counter-{}-{round}-{}", c.name, std::process::id());
    let client = redis::Client::open(url).map_err(|e| e.to_string())?;
    let mut conn = client.get_connection().map_err(|e| e.to_string())?;
    let () = redis::cmd("SET").arg(&counter).arg(0).query(&mut conn).map_err(|e| e.to_string())?;
    let log = logs.join(format!("{}-worker.log", c.name));
    let mut spawned = Vec::new();
    let kill_all = |spawned: &mut Vec<Spawned>| {
        for s in spawned.iter_mut() {
            let _ = s.child.kill();
            let _ = s.child.wait();
        }
    };
    for i in 0..workers {
        let args: Vec<String> = [
            "--url", url, "--lock", &lock, "--counter", &counter, "--iterations", &iterations.to_string(),
            "--worker", &i.to_string(),
        ]
        .iter()
        .map(|s| s.to_string())
        .collect();
        match spawn_worker(c, &args, &log) {
            Ok(s) => spawned.push(s),
            Err(e) => {
                kill_all(&mut spawned);
                return Err(e);
            }
        }
    }
    let deadline = Instant::now() + Duration::from_secs(120);
    for s in spawned.iter_mut() {
        let ok = loop {
            match s.lines.recv_timeout(deadline.saturating_duration_since(Instant::now())) {
                Ok(l) if l.trim() == "ready" => break true,
                Ok(_) => continue,
                Err(_) => break false,
            }
        };
        if !ok {
            kill_all(&mut spawned);
            return Err(format!("a worker never said ready: {}", last_lines(&log, 2)));
        }
    }
    for s in spawned.iter_mut() {
        let stdin = s.child.stdin.as_mut().expect("piped");
        if writeln!(stdin, "go").and_then(|_| stdin.flush()).is_err() {
            kill_all(&mut spawned);
            return Err("a worker closed its stdin".into());
        }
    }
    let deadline = Instant::now() + Duration::from_secs(600);
    let mut recs = Vec::new();
    for s in spawned.iter_mut() {
        loop {
            match s.lines.recv_timeout(deadline.saturating_duration_since(Instant::now())) {
                Ok(l) if l.trim() == "done" => break,
                Ok(l) if l.trim_start().starts_with('{') => {
                    let v: serde_json::Value = serde_json::from_str(&l).map_err(|e| format!("bad JSON {l:?}: {e}"))?;
                    let f = |k: &str| v[k].as_f64().ok_or_else(|| format!("JSON without {k}: {l}"));
                    recs.push(Rec { w: v["w"].as_i64().ok_or("JSON without w")?, t0: f("t0")?, t1: f("t1")?, t2: f("t2")? });
                }
                Ok(_) => continue,
                Err(_) => {
                    kill_all(&mut spawned);
                    return Err(format!("a worker did not finish within 10 minutes: {}", last_lines(&log, 2)));
                }
            }
        }
        let status = s.child.wait().map_err(|e| e.to_string())?;
        if !status.success() {
            kill_all(&mut spawned);
            return Err(format!("a worker exited {status}: {}", last_lines(&log, 2)));
        }
    }
    let total = workers * iterations as usize;
    if recs.len() != total {
        return Err(format!("{} records, expected {total}", recs.len()));
    }
    let value: Option<i64> = redis::cmd("GET").arg(&counter).query(&mut conn).map_err(|e| e.to_string())?;
    let _: i64 = redis::cmd("DEL").arg(&counter).query(&mut conn).unwrap_or(0);
    let counter_value = value.unwrap_or(0);
    recs.sort_by(|a, b| a.t1.total_cmp(&b.t1));
    let mut switches = 0;
    let mut overlaps = 0;
    let mut gaps = Vec::new();
    for w in recs.windows(2) {
        if w[1].w != w[0].w {
            switches += 1;
        }
        // t2 is taken before the release, so the next t1 must come after it.
        if w[1].t1 < w[0].t2 {
            overlaps += 1;
        }
        gaps.push(w[1].t1 - w[0].t2);
    }
    let waits: Vec<f64> = recs.iter().map(|r| r.t1 - r.t0).collect();
    let holds: Vec<f64> = recs.iter().map(|r| r.t2 - r.t1).collect();
    let first = recs.iter().map(|r| r.t0).fold(f64::INFINITY, f64::min);
    let last = recs.iter().map(|r| r.t2).fold(0.0, f64::max);
    let wall = (last - first) / 1e9;
    Ok(Contended {
        counter_ok: counter_value == total as i64,
        counter: counter_value,
        overlaps,
        handoff_pct: 100.0 * switches as f64 / (total - 1).max(1) as f64,
        wait_p50: percentile(&waits, 50.0),
        wait_p99: percentile(&waits, 99.0),
        wait_max: waits.iter().copied().fold(0.0, f64::max),
        hold_p50: median(&holds),
        gap_p50: median(&gaps),
        throughput: total as f64 / wall,
        wall_s: wall,
    })
}

fn med(v: &[Contended], f: impl Fn(&Contended) -> f64) -> f64 {
    median(&v.iter().map(f).collect::<Vec<_>>())
}

pub fn main(opts: &Opts) -> Result<(), String> {
    let url = opts.str("url")?.to_owned();
    let dir = std::fs::canonicalize(opts.str("contenders")?).map_err(|e| format!("--contenders: {e}"))?;
    let logs = PathBuf::from(opts.str("logs")?);
    std::fs::create_dir_all(&logs).map_err(|e| e.to_string())?;
    let pairs = opts.num_or("pairs", 2000)?;
    let rounds = opts.num_or("rounds", 7)? as usize;
    let proc_rounds = opts.num_or("proc-rounds", 3)? as usize;
    let workers = opts.num_or("workers", 8)? as usize;
    let iterations = opts.num_or("iterations", 500)?;
    let only: Option<Vec<String>> = opts.0.get("only").map(|s| s.split(',').map(str::to_owned).collect());
    let mut contenders = discover(&dir, only.as_deref())?;
    if opts.str_or("setup", "yes") == "yes" {
        for c in contenders.iter_mut() {
            setup(c, &logs);
        }
    }
    let load = std::fs::read_to_string("/proc/loadavg").unwrap_or_default();
    let load = load.split_whitespace().take(3).collect::<Vec<_>>().join(" ");
    eprintln!("== measuring (load average {load})");
    let mut res = Results::default();
    let live: Vec<usize> = (0..contenders.len()).filter(|&i| contenders[i].failed.is_none()).collect();

    // Uncontended pairs: every round runs every contender once, in an order
    // rotated each round.
    for r in 0..rounds {
        eprintln!("== pairs, round {}/{rounds}", r + 1);
        for k in 0..live.len() {
            let c = &contenders[live[(k + r) % live.len()]];
            if !c.pair || res.errors.contains_key(&c.name) {
                continue;
            }
            match pair_round(c, &url, pairs, &logs) {
                Ok(rows) => {
                    for (name, floor, ns) in rows {
                        if floor {
                            res.own_floor.entry(c.name.clone()).or_default().push(ns);
                            continue;
                        }
                        let list = res.pairs.entry(c.name.clone()).or_default();
                        match list.iter_mut().find(|(n, _)| *n == name) {
                            Some((_, v)) => v.push(ns),
                            None => list.push((name, vec![ns])),
                        }
                    }
                }
                Err(e) => {
                    eprintln!("   {} pair: {e}", c.name);
                    res.errors.entry(c.name.clone()).or_default().push(format!("pair: {e}"));
                }
            }
        }
    }
    // Contended: likewise.
    for r in 0..proc_rounds {
        eprintln!("== contended {workers} x {iterations}, round {}/{proc_rounds}", r + 1);
        match round_trip(&url, 2000) {
            Ok(ns) => res.round_trips.push(ns),
            Err(e) => eprintln!("   round trip: {e}"),
        }
        for k in 0..live.len() {
            let c = &contenders[live[(k + r) % live.len()]];
            if !c.worker || res.errors.get(&c.name).is_some_and(|e| e.iter().any(|e| e.starts_with("worker"))) {
                continue;
            }
            let start = Instant::now();
            match contended_round(c, &url, r, workers, iterations, &logs) {
                Ok(x) => {
                    eprintln!(
                        "   {:<20} {:6.1} s  counter {} handoff {:5.1}%  wait p99 {}  {:.0}/s",
                        c.name,
                        start.elapsed().as_secs_f64(),
                        x.counter,
                        x.handoff_pct,
                        fmt_ns(x.wait_p99),
                        x.throughput
                    );
                    res.contended.entry(c.name.clone()).or_default().push(x);
                }
                Err(e) => {
                    eprintln!("   {} worker: {e}", c.name);
                    res.errors.entry(c.name.clone()).or_default().push(format!("worker: {e}"));
                }
            }
        }
    }
    for c in &contenders {
        if let Some(f) = &c.failed {
            res.errors.entry(c.name.clone()).or_default().insert(0, format!("setup: {f}"));
        }
    }
    let mut md = format!("Load average (1, 5, 15 min) when the measuring began, after the setups: {load}.\n\n");
    md += &report(&contenders, &res, &Setup { pairs, rounds, proc_rounds, workers, iterations });
    println!("{md}");
    if let Ok(path) = opts.str("markdown") {
        std::fs::write(path, &md).map_err(|e| e.to_string())?;
    }
    Ok(())
}

struct Setup {
    pairs: u64,
    rounds: usize,
    proc_rounds: usize,
    workers: usize,
    iterations: u64,
}

fn yes_no(b: bool) -> &'static str {
    if b {
        "yes"
    } else {
        "**NO**"
    }
}

fn report(contenders: &[Contender], res: &Results, s: &Setup) -> String {
    let role_of = |name: &str| contenders.iter().find(|c| c.name == name).map(|c| c.role);
    // The floor: the floor contender's own pairs.
    let floor_pair = res.pairs.get("floor").and_then(|v| v.first()).map(|(_, f)| median(f));
    // The handoff's floor: BLPOP/LPUSH of one baton (contenders/floor-fifo).
    let fifo_gap = res.contended.get("floor-fifo").map(|v| med(v, |x| x.gap_p50));
    let redlock_pair = res.pairs.get("redlock").and_then(|v| v.first()).map(|(_, f)| median(f));
    let best_peer_pair = res
        .pairs
        .iter()
        .filter(|(n, _)| role_of(n) == Some(Role::Peer))
        .flat_map(|(_, v)| v.iter().map(|(_, f)| median(f)))
        .fold(f64::NAN, f64::min);
    let best_peer_rate = res
        .contended
        .iter()
        .filter(|(n, _)| role_of(n) == Some(Role::Peer))
        .map(|(_, v)| med(v, |x| x.throughput))
        .fold(f64::NAN, f64::max);
    let tp = s.workers as u64 * s.iterations;

    let mut md = String::new();
    let _ = writeln!(md, "## Redis, one server: all contenders\n");
    let _ = writeln!(
        md,
        "Pair: median over {} rounds of the ns per uncontended acquire+release pair ({} pairs a round). \
         \"x floor\": pair time / the floor's (for ferrolock-rust: the floor measured in its own process, \
         interleaved; lower is better). \"x best peer\" (pair): time / the fastest peer's. \
         Contended: {} processes x {} acquisitions of one lock, medians over {} rounds; \
         \"x best peer\" (rate): throughput / the best peer's (higher is better).\n",
        s.rounds, s.pairs, s.workers, s.iterations, s.proc_rounds
    );
    let _ = writeln!(
        md,
        "| contender | what | pair | x floor | x best peer | counter exact | to another process | wait p50 | wait p99 | wait max | acquisitions/s | x best peer |"
    );
    let _ = writeln!(md, "| --- | --- | ---: | ---: | ---: | :---: | ---: | ---: | ---: | ---: | ---: | ---: |");
    let mut targets: Vec<(String, String, bool)> = Vec::new();
    for c in contenders {
        let pair_rows: Vec<(String, f64)> =
            res.pairs.get(&c.name).map(|v| v.iter().map(|(n, f)| (n.clone(), median(f))).collect()).unwrap_or_default();
        let own_floor = res.own_floor.get(&c.name).map(|f| median(f));
        let floor = own_floor.or(floor_pair);
        let contended = res.contended.get(&c.name);
        let err = res.errors.get(&c.name);
        if pair_rows.is_empty() && contended.is_none() {
            let why = err.map(|e| e.join("; ")).unwrap_or_else(|| "nothing measured".into());
            let _ = writeln!(md, "| {} | **failed**: {} | | | | | | | | | | |", c.name, why.replace('|', "\\|"));
            continue;
        }
        let n_rows = pair_rows.len().max(1);
        for i in 0..n_rows {
            let (what, pair_cells) = match pair_rows.get(i) {
                Some((name, ns)) => {
                    let vs_floor = if c.role == Role::Floor { f64::NAN } else { ns / floor.unwrap_or(f64::NAN) };
                    // The goals of issue 17 (the hot path).
                    if c.role == Role::Ferrolock && c.name == "ferrolock-rust" {
                        targets.push((format!("{name}: pair ≤ 1.05x the floor"), fmt_ratio(vs_floor), vs_floor <= 1.05));
                    }
                    if c.role == Role::Ferrolock && c.name == "ferrolock-python" {
                        targets.push((format!("{name}: pair ≤ 1.08x the floor"), fmt_ratio(vs_floor), vs_floor <= 1.08));
                    }
                    if let (true, Some(redlock)) = (c.name == "ferrolock-node", redlock_pair) {
                        let r = ns / redlock;
                        targets.push((format!("{name}: pair ≤ 1.0x node-redlock's"), fmt_ratio(r), r <= 1.0));
                    }
                    (name.clone(), format!("{} | {} | {}", fmt_ns(*ns), fmt_ratio(vs_floor), fmt_ratio(ns / best_peer_pair)))
                }
                None => (
                    if c.pair { "pair failed".into() } else { "(no pair)".into() },
                    "- | - | -".to_owned(),
                ),
            };
            let contended_cells = match (i + 1 == n_rows, contended) {
                (true, Some(v)) => {
                    let ok = v.iter().all(|x| x.counter_ok && x.overlaps == 0);
                    let rate = med(v, |x| x.throughput);
                    if c.role == Role::Ferrolock {
                        let l = &c.name;
                        targets.push((format!("{l}: counter exact ({tp}) in every round"), yes_no(ok).into(), ok));
                        let h = med(v, |x| x.handoff_pct);
                        targets.push((format!("{l}: ≥ 90% to another process"), format!("{h:.1}%"), h >= 90.0));
                        let p99 = med(v, |x| x.wait_p99);
                        targets.push((
                            format!("{l}: wait p99 ≤ 10 ms"),
                            format!("{} (max {})", fmt_ns(p99), fmt_ns(med(v, |x| x.wait_max))),
                            p99 <= 10e6,
                        ));
                        let gap = med(v, |x| x.gap_p50) / median(&res.round_trips);
                        targets.push((
                            format!("{l}: handoff gap p50 ≤ 1.3x the round trip ({})", fmt_ns(median(&res.round_trips))),
                            format!("{} ({})", fmt_ratio(gap), fmt_ns(med(v, |x| x.gap_p50))),
                            gap <= 1.3,
                        ));
                        if let Some(fifo) = fifo_gap {
                            let r = med(v, |x| x.gap_p50) / fifo;
                            targets.push((
                                format!("{l}: handoff gap p50 ≤ 1.3x the FIFO floor's ({}, BLPOP/LPUSH)", fmt_ns(fifo)),
                                fmt_ratio(r),
                                r <= 1.3,
                            ));
                        }
                        targets.push((
                            format!("{l}: throughput ≥ 1.2x the best peer's"),
                            fmt_ratio(rate / best_peer_rate),
                            rate / best_peer_rate >= 1.2,
                        ));
                    }
                    format!(
                        "{} | {:.1}% | {} | {} | {} | {:.0} | {}",
                        yes_no(ok),
                        med(v, |x| x.handoff_pct),
                        fmt_ns(med(v, |x| x.wait_p50)),
                        fmt_ns(med(v, |x| x.wait_p99)),
                        fmt_ns(med(v, |x| x.wait_max)),
                        rate,
                        fmt_ratio(rate / best_peer_rate)
                    )
                }
                (true, None) if c.worker => "**failed** | | | | | |".into(),
                _ => "| | | | | |".into(),
            };
            let label = if i == 0 { c.name.as_str() } else { "" };
            let _ = writeln!(md, "| {label} | {what} | {pair_cells} | {contended_cells} |");
        }
    }
    let _ = writeln!(md, "\n### Targets (issue 17's for the pairs and the handoff gap; the contended ones for every ferrolock contender)\n");
    let _ = writeln!(md, "| target | measured | met? |");
    let _ = writeln!(md, "| --- | ---: | :---: |");
    for (t, m, ok) in &targets {
        let _ = writeln!(md, "| {t} | {m} | {} |", if *ok { "yes" } else { "**NO**" });
    }
    let _ = writeln!(md, "\n## Details\n");
    let _ = writeln!(md, "### Uncontended pairs, ns per pair by round\n");
    for (name, rows) in &res.pairs {
        for (what, f) in rows {
            let figs: Vec<String> = f.iter().map(|v| format!("{v:.0}")).collect();
            let best = f.iter().copied().fold(f64::INFINITY, f64::min);
            let _ = writeln!(md, "- {name} / {what}: {}; median {:.0}, best {best:.0}", figs.join(", "), median(f));
        }
    }
    for (name, f) in &res.own_floor {
        let figs: Vec<String> = f.iter().map(|v| format!("{v:.0}")).collect();
        let _ = writeln!(
            md,
            "- {name} / the floor in the same process, interleaved: {}; median {:.0}",
            figs.join(", "),
            median(f)
        );
    }
    let _ = writeln!(md, "\n### Contended, by round\n");
    let _ = writeln!(md, "| contender | round | counter | overlaps | to another | wait p50 | p99 | max | hold p50 | handoff gap p50 | wall | acq/s |");
    let _ = writeln!(md, "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |");
    for (name, v) in &res.contended {
        for (r, x) in v.iter().enumerate() {
            let _ = writeln!(
                md,
                "| {name} | {} | {} | {} | {:.1}% | {} | {} | {} | {} | {} | {:.2} s | {:.0} |",
                r + 1,
                x.counter,
                x.overlaps,
                x.handoff_pct,
                fmt_ns(x.wait_p50),
                fmt_ns(x.wait_p99),
                fmt_ns(x.wait_max),
                fmt_ns(x.hold_p50),
                fmt_ns(x.gap_p50),
                x.wall_s,
                x.throughput
            );
        }
    }
    if !res.errors.is_empty() {
        let _ = writeln!(md, "\n### Failures\n");
        for (name, errs) in &res.errors {
            for e in errs {
                let _ = writeln!(md, "- {name}: {e}");
            }
        }
    }
    md
}
