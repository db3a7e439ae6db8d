//! Timing helpers: calibrated, interleaved rounds and order statistics.

use std::time::{Duration, Instant};

/// One measured case: runs `n` operations and returns the time they took
/// (measured by the case itself, so set-up stays outside the figure).
pub type Case<'a> = Box<dyn FnMut(u64) -> Duration + 'a>;

/// How long each case is warmed up, and how long each measured round lasts.
#[derive(Clone, Copy, Debug)]
pub struct Plan {
    pub rounds: usize,
    pub warmup: Duration,
    pub round: Duration,
}

/// The result of one case: nanoseconds per operation, one figure per round.
#[derive(Clone, Debug)]
pub struct Sample {
    pub per_round_ns: Vec<f64>,
    pub iters: u64,
}

impl Sample {
    pub fn median_ns(&self) -> f64 {
        median(&self.per_round_ns)
    }

    /// One line for RESULTS.md: every round's figure, then the median and the best.
    pub fn describe(&self, label: &str) -> String {
        let rounds: Vec<String> = self.per_round_ns.iter().map(|v| format!("{v:.0}")).collect();
        let best = self.per_round_ns.iter().copied().fold(f64::INFINITY, f64::min);
        format!(
            "- {label}: {} pairs per round; ns per pair by round: {}; median {:.0}, best {best:.0}\n",
            self.iters,
            rounds.join(", "),
            self.median_ns()
        )
    }
}

/// Append one line per sample ([`Sample::describe`]) and a blank line.
pub fn describe_all(details: &mut String, samples: &[(&str, &Sample)]) {
    for (label, sample) in samples {
        details.push_str(&sample.describe(label));
    }
    details.push('\n');
}

/// Warm every case up (which also calibrates how many operations fill a
/// round), then run `plan.rounds` rounds in which every case runs once, in
/// turn, so that a slow moment of the machine hits all of them alike.
pub fn interleaved(plan: Plan, cases: &mut [Case<'_>]) -> Vec<Sample> {
    let mut iters = Vec::with_capacity(cases.len());
    for case in cases.iter_mut() {
        let mut n: u64 = 16;
        let spent = Instant::now();
        let per_op = loop {
            let t = case(n);
            if t >= plan.warmup / 2 || spent.elapsed() >= plan.warmup {
                break t.as_secs_f64() / n as f64;
            }
            n = n.saturating_mul(4);
        };
        let n_round = ((plan.round.as_secs_f64() / per_op.max(1e-9)) as u64).max(1);
        iters.push(n_round);
    }
    let mut out: Vec<Sample> = iters.iter().map(|&n| Sample { per_round_ns: Vec::new(), iters: n }).collect();
    for _ in 0..plan.rounds {
        for (i, case) in cases.iter_mut().enumerate() {
            let n = out[i].iters;
            let t = case(n);
            out[i].per_round_ns.push(t.as_nanos() as f64 / n as f64);
        }
    }
    out
}

pub fn median(v: &[f64]) -> f64 {
    if v.is_empty() {
        return f64::NAN;
    }
    let mut s = v.to_vec();
    s.sort_by(|a, b| a.partial_cmp(b).unwrap());
    let m = s.len() / 2;
    if s.len() % 2 == 1 {
        s[m]
    } else {
        (s[m - 1] + s[m]) / 2.0
    }
}

/// Nearest-rank percentile (`p` in 0..=100) of sorted data.
pub fn percentile(sorted: &[u64], p: f64) -> u64 {
    if sorted.is_empty() {
        return 0;
    }
    let rank = ((p / 100.0) * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}

/// `1234.5` ns as `1.23 µs`, and so on.
pub fn fmt_ns(ns: f64) -> String {
    if ns < 1_000.0 {
        format!("{ns:.0} ns")
    } else if ns < 1_000_000.0 {
        format!("{:.2} µs", ns / 1e3)
    } else if ns < 1_000_000_000.0 {
        format!("{:.2} ms", ns / 1e6)
    } else {
        format!("{:.2} s", ns / 1e9)
    }
}
