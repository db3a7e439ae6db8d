//! The Rust side of the C ABI benchmark (bench/run-c): uncontended
//! try_acquire + release pairs through `ferrolock::blocking`, the engine
//! surface the C ABI wraps. Built as an example of bindings/c.
//!
//!   bench-c-rust URL PAIRS MODE     MODE: per-call | prebuilt
//!
//! `per-call` does what one C call does (`locks.lock(name).ttl(ttl)` then
//! `try_acquire`, per pair); `prebuilt` reuses one `Lock` (what a Rust
//! program that keeps its `Lock` does). Prints the wall-clock and the
//! process CPU ns per pair.

use core_lock::blocking::Locks;
use std::ffi::c_int;
use std::hint::black_box;
use std::time::{Duration, Instant};

const NAME: &str = "bench-c";

#[repr(C)]
struct Timespec {
    tv_sec: i64,
    tv_nsec: i64,
}

extern "C" {
    fn clock_gettime(clock: c_int, tp: *mut Timespec) -> c_int;
}

/// CPU time of the whole process (every thread), in ns: unlike the wall
/// clock, it does not count time the process spent descheduled.
fn cpu_ns() -> f64 {
    const CLOCK_PROCESS_CPUTIME_ID: c_int = 2;
    let mut ts = Timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: a valid clock id and a writable timespec.
    unsafe { clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &mut ts) };
    ts.tv_sec as f64 * 1e9 + ts.tv_nsec as f64
}
const TTL: Duration = Duration::from_secs(10);

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if args.len() != 4 {
        eprintln!("usage: bench-c-rust URL PAIRS per-call|prebuilt");
        std::process::exit(64);
    }
    let url = &args[1];
    let pairs: u64 = args[2].parse().expect("PAIRS is a number");
    let prebuilt = match args[3].as_str() {
        "per-call" => false,
        "prebuilt" => true,
        other => panic!("unknown mode {other}"),
    };
    let locks = Locks::connect(url).expect("connect");
    let lock = locks.lock(NAME).ttl(TTL);
    let pair = |i: u64| {
        let held = if prebuilt {
            lock.try_acquire()
        } else {
            locks
                .lock(black_box(NAME))
                .ttl(black_box(TTL))
                .try_acquire()
        };
        let held = held.expect("try_acquire").expect("the lock is free");
        assert!(black_box(held.release().expect("release")), "pair {i}");
    };
    for i in 0..pairs / 10 + 1 {
        pair(i); // warm-up
    }
    let (start, cpu_start) = (Instant::now(), cpu_ns());
    for i in 0..pairs {
        pair(i);
    }
    let (elapsed, cpu) = (start.elapsed(), cpu_ns() - cpu_start);
    println!(
        "{:.1} {:.1}",
        elapsed.as_nanos() as f64 / pairs as f64,
        cpu / pairs as f64
    );
    locks.close();
}
