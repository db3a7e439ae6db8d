//! Durations on the command line, in the grammar every language shares
//! (`ferrolock::duration`, docs/durations.md, tests/vectors/durations.json):
//! a number and a unit, `500ms`, `10s`, `1.5m`, `2h`, `1d`. On the command
//! line a bare number is seconds (as flock's `-w`); `--timeout` also takes
//! `forever`.

use ferrolock::duration::Bare;
use std::time::Duration;

/// Parse `--ttl`: a positive duration.
pub fn parse_ttl(s: &str) -> Result<Duration, String> {
    let d = parse(s)?;
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
    parse(t).map_err(|e| if e.contains("is not a duration") { format!("{e}, or forever") } else { e })
}

/// The shared grammar, a bare number being seconds; clap names the value
/// and the flag, so the message is the engine's without its prefix.
pub fn parse(s: &str) -> Result<Duration, String> {
    ferrolock::duration::parse(s, Bare::Seconds).map_err(|e| match e {
        ferrolock::Error::InvalidArgument(m) => m,
        other => other.to_string(),
    })
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

    /// The shared table of tests/vectors/durations.json: strings with a unit
    /// mean the same everywhere; a bare number string is seconds here (the
    /// CLI's custom, as flock's -w), refused in Python and Node.
    #[test]
    fn follows_the_shared_duration_vectors() {
        let v: serde_json::Value =
            serde_json::from_str(include_str!("../../tests/vectors/durations.json")).unwrap();
        for case in v["strings"].as_array().unwrap() {
            let input = case["input"].as_str().unwrap();
            let ms = case["ms"].as_f64().unwrap();
            let d = parse(input).unwrap_or_else(|e| panic!("{input:?}: {e}"));
            assert!((d.as_secs_f64() * 1000.0 - ms).abs() < 1e-6, "{input:?}: {d:?} is not {ms}ms");
        }
        for case in v["bare_strings"].as_array().unwrap() {
            let input = case["input"].as_str().unwrap();
            let seconds = case["cli_seconds"].as_f64().unwrap();
            assert_eq!(parse(input).map(|d| d.as_secs_f64()), Ok(seconds), "{input:?}");
        }
        for bad in v["invalid"].as_array().unwrap() {
            let bad = bad.as_str().unwrap();
            assert!(parse(bad).is_err(), "{bad:?} was accepted");
        }
    }

    #[test]
    fn rejects_nonsense() {
        for bad in ["banana", "", "ms", "10x", "-1s", "1.2.3s", ".", "99999999999999999999h"] {
            assert!(parse_timeout(bad).is_err(), "{bad:?}");
        }
        assert!(parse_ttl("0s").is_err());
        assert!(parse_ttl("forever").is_err());
        assert_eq!(parse_ttl("-5s"), Err("duration \"-5s\" cannot be negative".to_owned()));
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
