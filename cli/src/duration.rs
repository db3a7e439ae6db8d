//! Durations on the command line: `500ms`, `10s`, `2m`, `1h`, a bare number
//! of seconds, and (for `--timeout`) `forever`.

use std::time::Duration;

const FORMS: &str = "expected a duration like 500ms, 10s, 2m or 1h (a bare number is seconds)";

/// Parse `--ttl`: a positive duration.
pub fn parse_ttl(s: &str) -> Result<Duration, String> {
    let d = parse(s).ok_or_else(|| FORMS.to_owned())?;
    if d < Duration::from_millis(1) {
        return Err("the ttl must be at least 1ms".to_owned());
    }
    Ok(d)
}

/// Parse `--timeout`: a duration, or `forever` (`Duration::MAX`).
pub fn parse_timeout(s: &str) -> Result<Duration, String> {
    let t = s.trim();
    if t.eq_ignore_ascii_case("forever") || t.eq_ignore_ascii_case("inf") || t.eq_ignore_ascii_case("infinity") {
        return Ok(Duration::MAX);
    }
    parse(t).ok_or_else(|| format!("{FORMS}, or forever"))
}

fn parse(s: &str) -> Option<Duration> {
    let s = s.trim();
    let split = s.find(|c: char| !(c.is_ascii_digit() || c == '.')).unwrap_or(s.len());
    let (number, unit) = s.split_at(split);
    if number.is_empty() || !number.bytes().any(|b| b.is_ascii_digit()) {
        return None;
    }
    let (per_unit_ms, whole): (u64, fn(u64) -> Option<Duration>) = match unit.trim() {
        "ms" => (1, |n| Some(Duration::from_millis(n))),
        "" | "s" | "sec" | "secs" => (1_000, |n| Some(Duration::from_secs(n))),
        "m" | "min" | "mins" => (60_000, |n| n.checked_mul(60).map(Duration::from_secs)),
        "h" | "hr" | "hrs" => (3_600_000, |n| n.checked_mul(3600).map(Duration::from_secs)),
        _ => return None,
    };
    if number.contains('.') {
        let value: f64 = number.parse().ok()?;
        Duration::try_from_secs_f64(value * per_unit_ms as f64 / 1000.0).ok()
    } else {
        whole(number.parse().ok()?)
    }
}

/// A short human form: `850ms`, `29.8s`, `4m10s`, `2h05m`.
pub fn human(d: Duration) -> String {
    if d == Duration::MAX {
        return "forever".to_owned();
    }
    let ms = d.as_millis();
    if ms < 1_000 {
        format!("{ms}ms")
    } else if ms < 60_000 {
        let (secs, tenth) = (ms / 1_000, (ms / 100) % 10);
        if tenth == 0 {
            format!("{secs}s")
        } else {
            format!("{secs}.{tenth}s")
        }
    } else if ms < 3_600_000 {
        format!("{}m{:02}s", ms / 60_000, (ms / 1_000) % 60)
    } else {
        format!("{}h{:02}m", ms / 3_600_000, (ms / 60_000) % 60)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_the_documented_forms() {
        assert_eq!(parse_timeout("500ms"), Ok(Duration::from_millis(500)));
        assert_eq!(parse_timeout("10s"), Ok(Duration::from_secs(10)));
        assert_eq!(parse_timeout("2m"), Ok(Duration::from_secs(120)));
        assert_eq!(parse_timeout("1h"), Ok(Duration::from_secs(3600)));
        assert_eq!(parse_timeout("7"), Ok(Duration::from_secs(7)));
        assert_eq!(parse_timeout("1.5s"), Ok(Duration::from_millis(1500)));
        assert_eq!(parse_timeout("0"), Ok(Duration::ZERO));
        assert_eq!(parse_timeout("forever"), Ok(Duration::MAX));
    }

    #[test]
    fn rejects_nonsense() {
        for bad in ["banana", "", "ms", "10x", "-1s", "1.2.3s", ".", "99999999999999999999h"] {
            assert!(parse_timeout(bad).is_err(), "{bad:?}");
        }
        assert!(parse_ttl("0s").is_err());
        assert!(parse_ttl("forever").is_err());
    }

    #[test]
    fn humanizes() {
        assert_eq!(human(Duration::from_millis(850)), "850ms");
        assert_eq!(human(Duration::from_millis(29_840)), "29.8s");
        assert_eq!(human(Duration::from_secs(30)), "30s");
        assert_eq!(human(Duration::from_secs(250)), "4m10s");
        assert_eq!(human(Duration::from_secs(7500)), "2h05m");
    }
}
