//! The Redis benchmarks: one binary in three modes.
//!
//! - `pair`: uncontended acquire+release pairs of one or more Rust
//!   implementations (`--impl ferrolock-norenew,ferrolock,floor,rslock`),
//!   interleaved round by round in this one process; one JSON line each.
//! - `worker`: one contended worker (`--impl ferrolock|rslock|floor`), per the
//!   worker contract of bench/README.md.
//! - `quorum`: a quorum of three with one server dead against one with all
//!   up (bench/run-quorum).
//! - `drive`: the driver that bench/run-redis starts: runs every contender
//!   found under bench/contenders/, then prints the table and writes the
//!   Markdown body of bench/RESULTS-redis.md.

mod drive;
mod pair;
mod quorum;
mod stats;
mod worker;

use std::collections::HashMap;

/// `--key value` options after the mode.
pub struct Opts(HashMap<String, String>);

impl Opts {
    fn parse(args: &[String]) -> Result<Opts, String> {
        let mut map = HashMap::new();
        let mut it = args.iter();
        while let Some(a) = it.next() {
            let key = a.strip_prefix("--").ok_or_else(|| format!("unexpected argument {a:?}"))?;
            let value = it.next().ok_or_else(|| format!("--{key} needs a value"))?;
            map.insert(key.to_owned(), value.clone());
        }
        Ok(Opts(map))
    }
    pub fn str(&self, key: &str) -> Result<&str, String> {
        self.0.get(key).map(String::as_str).ok_or_else(|| format!("missing --{key}"))
    }
    pub fn str_or<'a>(&'a self, key: &str, default: &'a str) -> &'a str {
        self.0.get(key).map(String::as_str).unwrap_or(default)
    }
    pub fn num(&self, key: &str) -> Result<u64, String> {
        self.str(key)?.parse().map_err(|_| format!("--{key} must be a whole number"))
    }
    pub fn num_or(&self, key: &str, default: u64) -> Result<u64, String> {
        match self.0.get(key) {
            Some(v) => v.parse().map_err(|_| format!("--{key} must be a whole number")),
            None => Ok(default),
        }
    }
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let Some(mode) = args.first() else {
        eprintln!("usage: ferrolock-bench-redis pair|worker|drive --option value ...");
        std::process::exit(2);
    };
    let result = Opts::parse(&args[1..]).and_then(|opts| match mode.as_str() {
        "pair" => pair::main(&opts),
        "worker" => worker::main(&opts),
        "drive" => drive::main(&opts),
        "quorum" => quorum::main(&opts),
        other => Err(format!("unknown mode {other:?}")),
    });
    if let Err(e) = result {
        eprintln!("ferrolock-bench-redis {mode}: {e}");
        std::process::exit(1);
    }
}
