//! A chaos worker in Rust (tests/chaos/README.md): until `--until` (epoch
//! ms), acquire the lock, write `begin` and `end` to the fenced store with
//! the fence (a random time in the critical section between them),
//! release; every step recorded as a JSON line in `--log`.

use std::io::{BufRead, BufReader, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

fn now_ns() -> u128 {
    SystemTime::now().duration_since(UNIX_EPOCH).unwrap_or_default().as_nanos()
}

struct Store(BufReader<TcpStream>);

impl Store {
    /// Whether the store accepted the write (false: a stale fence).
    fn write(&mut self, fence: u64, holder: &str, phase: &str) -> std::io::Result<bool> {
        writeln!(self.0.get_mut(), "W {fence} {holder} {phase}")?;
        let mut line = String::new();
        self.0.read_line(&mut line)?;
        Ok(line.starts_with("OK"))
    }
}

struct Record(std::fs::File);

impl Record {
    fn ev(&mut self, ev: &str, fields: &str) {
        let line = format!(
            "{{\"pid\": {}, \"lang\": \"rust\", \"ev\": \"{ev}\", \"t_ns\": {}{fields}}}\n",
            std::process::id(),
            now_ns()
        );
        let _ = self.0.write_all(line.as_bytes());
    }
}

fn arg(args: &[String], key: &str) -> String {
    let flag = format!("--{key}");
    let at = args.iter().position(|a| *a == flag).unwrap_or_else(|| panic!("missing {flag}"));
    args[at + 1].clone()
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let num = |k: &str| arg(&args, k).parse::<u64>().unwrap_or_else(|_| panic!("--{k} must be a number"));
    let (url, name) = (arg(&args, "url"), arg(&args, "name"));
    let (ttl, wait, hold) =
        (Duration::from_millis(num("ttl-ms")), Duration::from_millis(num("wait-ms")), num("hold-ms"));
    let until = num("until") as u128 * 1_000_000;
    let log = std::fs::OpenOptions::new().create(true).append(true).open(arg(&args, "log")).expect("log");
    let mut record = Record(log);
    let mut store = Store(BufReader::new(TcpStream::connect(("127.0.0.1", num("store") as u16)).expect("store")));
    let holder = format!("rust-{}", std::process::id());
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("runtime");
    rt.block_on(async {
        let locks = ferrolock::Locks::connect(&url).await.expect("connect");
        let lock = locks.lock(&name).ttl(ttl).holder(&holder);
        while now_ns() < until {
            let start = Instant::now();
            let waited = |s: Instant| format!(", \"waited_ms\": {:.3}", s.elapsed().as_secs_f64() * 1000.0);
            let held = match lock.acquire(wait).await {
                Ok(held) => held,
                Err(ferrolock::Error::Timeout { .. }) => {
                    record.ev("timeout", &waited(start));
                    continue;
                }
                Err(e) => {
                    record.ev("unavailable", &format!("{}, \"error\": {:?}", waited(start), e.to_string()));
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            };
            let fence = held.fence();
            record.ev("acquired", &format!(", \"fence\": {fence}{}", waited(start)));
            let begin = store.write(fence, &holder, "begin").expect("store");
            tokio::time::sleep(Duration::from_millis(rand::random::<u64>() % (hold + 1))).await;
            let end = store.write(fence, &holder, "end").expect("store");
            let lost = held.is_lost();
            let released = match held.release().await {
                Ok(ok) => ok.to_string(),
                Err(_) => "null".into(),
            };
            record.ev(
                "released",
                &format!(", \"fence\": {fence}, \"ok\": {released}, \"lost\": {lost}, \"begin\": {begin}, \"end\": {end}"),
            );
        }
        locks.close().await;
    });
    record.ev("exit", "");
}
