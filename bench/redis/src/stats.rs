//! Order statistics and formatting.

pub fn median(v: &[f64]) -> f64 {
    percentile(v, 50.0)
}

/// Nearest-rank percentile (`p` in 0..=100) of unsorted figures.
pub fn percentile(v: &[f64], p: f64) -> f64 {
    if v.is_empty() {
        return f64::NAN;
    }
    let mut s = v.to_vec();
    s.sort_by(|a, b| a.total_cmp(b));
    let rank = ((p / 100.0) * s.len() as f64).ceil() as usize;
    s[rank.clamp(1, s.len()) - 1]
}

/// A duration in nanoseconds, in the unit that suits it.
pub fn fmt_ns(ns: f64) -> String {
    if ns.is_nan() {
        "-".into()
    } else if ns >= 1e9 {
        format!("{:.2} s", ns / 1e9)
    } else if ns >= 1e6 {
        format!("{:.2} ms", ns / 1e6)
    } else if ns >= 1e3 {
        format!("{:.1} µs", ns / 1e3)
    } else {
        format!("{ns:.0} ns")
    }
}

pub fn fmt_ratio(r: f64) -> String {
    if r.is_nan() {
        "-".into()
    } else {
        format!("{r:.2}x")
    }
}
