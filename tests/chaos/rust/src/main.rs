//! A chaos worker in Rust (tests/chaos/README.md): until `--until` (epoch
//! ms), acquire the lock, write `begin` and `end` to the fenced store with
//! the fence (a random time in the critical section between them),
//! release; every step recorded as a JSON line in `--log`.
//!
//! With `--tasks N` (N > 1; the memory backend, whose locks live in one
//! process) N tasks do so on one provider, on a multi-thread runtime, and a
//! supervisor aborts a task inside its critical section every few hundred
//! milliseconds (the in-process kind of a killed holder: its future is
//! dropped mid-section), recording the fault and starting another.

use std::io::{BufRead, BufReader, Write};
use std::net::TcpStream;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

fn now_ns() -> u128 {
    SystemTime::now().duration_since(UNIX_EPOCH).unwrap_or_default().as_nanos()
}

struct Store(BufReader<TcpStream>);

impl Store {
    fn connect(host: &str, port: u16) -> Store {
        Store(BufReader::new(TcpStream::connect((host, port)).expect("the fenced store")))
    }

    /// Whether the store accepted the write (false: a stale fence).
    fn write(&mut self, fence: u64, holder: &str, phase: &str) -> bool {
        writeln!(self.0.get_mut(), "W {fence} {holder} {phase}").expect("the fenced store");
        let mut line = String::new();
        self.0.read_line(&mut line).expect("the fenced store");
        line.starts_with("OK")
    }
}

/// The worker's record, shared by its tasks.
#[derive(Clone)]
struct Record(Arc<Mutex<std::fs::File>>);

impl Record {
    fn ev(&self, who: &str, ev: &str, fields: &str) {
        let line = format!("{{\"pid\": \"{who}\", \"lang\": \"rust\", \"ev\": \"{ev}\", \"t_ns\": {}{fields}}}\n", now_ns());
        let _ = self.0.lock().unwrap().write_all(line.as_bytes());
    }
}

#[derive(Clone)]
struct Config {
    name: String,
    ttl: Duration,
    wait: Duration,
    hold_ms: u64,
    store: u16,
    store_host: String,
    until: u128,
}

/// One worker's loop; `inside` holds the fence while in the critical section.
async fn work(locks: ferrolock::Locks, c: Config, who: String, record: Record, inside: Arc<Mutex<Option<u64>>>) {
    let mut store = Store::connect(&c.store_host, c.store);
    let holder = format!("rust-{who}");
    let lock = locks.lock(&c.name).ttl(c.ttl).holder(&holder);
    while now_ns() < c.until {
        let start = Instant::now();
        let waited = |s: Instant| format!(", \"waited_ms\": {:.3}", s.elapsed().as_secs_f64() * 1000.0);
        let held = match lock.acquire(c.wait).await {
            Ok(held) => held,
            Err(ferrolock::Error::Timeout { .. }) => {
                record.ev(&who, "timeout", &waited(start));
                continue;
            }
            Err(e) => {
                record.ev(&who, "unavailable", &format!("{}, \"error\": {:?}", waited(start), e.to_string()));
                tokio::time::sleep(Duration::from_millis(50)).await;
                continue;
            }
        };
        let fence = held.fence();
        record.ev(&who, "acquired", &format!(", \"fence\": {fence}{}", waited(start)));
        let begin = store.write(fence, &holder, "begin");
        *inside.lock().unwrap() = Some(fence);
        tokio::time::sleep(Duration::from_millis(rand::random::<u64>() % (c.hold_ms + 1))).await;
        *inside.lock().unwrap() = None;
        let end = store.write(fence, &holder, "end");
        let lost = held.is_lost();
        let released = match held.release().await {
            Ok(ok) => ok.to_string(),
            Err(_) => "null".into(),
        };
        record.ev(
            &who,
            "released",
            &format!(", \"fence\": {fence}, \"ok\": {released}, \"lost\": {lost}, \"begin\": {begin}, \"end\": {end}"),
        );
    }
}

fn arg(args: &[String], key: &str) -> Option<String> {
    let flag = format!("--{key}");
    args.iter().position(|a| *a == flag).map(|at| args[at + 1].clone())
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let get = |k: &str| arg(&args, k).unwrap_or_else(|| panic!("missing --{k}"));
    let num = |k: &str| get(k).parse::<u64>().unwrap_or_else(|_| panic!("--{k} must be a number"));
    let tasks = arg(&args, "tasks").map_or(1, |t| t.parse::<usize>().expect("--tasks must be a number"));
    let c = Config {
        name: get("name"),
        ttl: Duration::from_millis(num("ttl-ms")),
        wait: Duration::from_millis(num("wait-ms")),
        hold_ms: num("hold-ms"),
        store: num("store") as u16,
        store_host: arg(&args, "store-host").unwrap_or_else(|| "127.0.0.1".into()),
        until: num("until") as u128 * 1_000_000,
    };
    let log = std::fs::OpenOptions::new().create(true).append(true).open(get("log")).expect("log");
    let record = Record(Arc::new(Mutex::new(log)));
    let pid = std::process::id();
    let rt = if tasks > 1 {
        tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build()
    } else {
        tokio::runtime::Builder::new_current_thread().enable_all().build()
    }
    .expect("runtime");
    rt.block_on(async {
        // A worker started while its link is cut keeps trying until it connects.
        let locks = loop {
            match ferrolock::Locks::connect(&get("url")).await {
                Ok(locks) => break locks,
                Err(e) if now_ns() < c.until => {
                    record.ev(&pid.to_string(), "unavailable", &format!(", \"error\": {:?}", e.to_string()));
                    tokio::time::sleep(Duration::from_millis(100)).await;
                }
                Err(e) => panic!("connect: {e}"),
            }
        };
        if tasks == 1 {
            work(locks.clone(), c, pid.to_string(), record.clone(), Default::default()).await;
        } else {
            let mut running: Vec<(String, Arc<Mutex<Option<u64>>>, tokio::task::JoinHandle<()>)> = Vec::new();
            let mut started = 0;
            let mut start = |running: &mut Vec<_>| {
                started += 1;
                let who = format!("{pid}.{started}");
                let inside = Arc::new(Mutex::new(None));
                let task = tokio::spawn(work(locks.clone(), c.clone(), who.clone(), record.clone(), inside.clone()));
                running.push((who, inside, task));
            };
            for _ in 0..tasks {
                start(&mut running);
            }
            while now_ns() + c.ttl.as_nanos() * 2 < c.until {
                tokio::time::sleep(Duration::from_millis(200 + rand::random::<u64>() % 400)).await;
                let found = running.iter().position(|(_, inside, _)| inside.lock().unwrap().is_some());
                if let Some(i) = found {
                    let (who, inside, task) = running.remove(i);
                    let fence = *inside.lock().unwrap();
                    task.abort();
                    if let Some(fence) = fence {
                        record.ev(&who, "fault", &format!(", \"kind\": \"abort\", \"fence\": {fence}"));
                    }
                    start(&mut running);
                }
            }
            for (_, _, task) in running {
                let _ = task.await;
            }
        }
        locks.close().await;
    });
    record.ev(&pid.to_string(), "exit", "");
}
