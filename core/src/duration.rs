//! Duration strings: the one grammar every language reads
//! (docs/durations.md, cases in tests/vectors/durations.json). A number
//! (digits, an optional fraction: `1.5`, `.5`), optional spaces and a unit:
//! `ms`, `s`, `m`, `h`, `d` (also `sec`, `secs`, `min`, `mins`, `hr`,
//! `hrs`). What a string without a unit means depends on the caller: the
//! CLI reads seconds (as flock's `-w`); C refuses it, as Python and Node do
//! in their own layers, because a bare 30 is seconds in one language and
//! milliseconds in another.

use crate::error::{Error, Result};
use std::time::Duration;

/// What a string without a unit means.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Bare {
    /// `INVALID_ARGUMENT`: the string must say its unit.
    Refused,
    /// Seconds (the command line's custom).
    Seconds,
}

/// Milliseconds per unit.
const UNITS: &[(&str, u64)] = &[
    ("ms", 1),
    ("s", 1_000),
    ("sec", 1_000),
    ("secs", 1_000),
    ("m", 60_000),
    ("min", 60_000),
    ("mins", 60_000),
    ("h", 3_600_000),
    ("hr", 3_600_000),
    ("hrs", 3_600_000),
    ("d", 86_400_000),
];

/// Parse `text` in the shared grammar; errors are `INVALID_ARGUMENT`
/// naming the text as given.
pub fn parse(text: &str, bare: Bare) -> Result<Duration> {
    let s = text.trim();
    if s.starts_with('-') {
        return Err(Error::invalid(format!("duration {text:?} cannot be negative")));
    }
    let split = s.find(|c: char| !(c.is_ascii_digit() || c == '.')).unwrap_or(s.len());
    let (number, unit) = s.split_at(split);
    let (whole, fraction) = number.split_once('.').unwrap_or((number, ""));
    let digits = |d: &str| d.bytes().all(|b| b.is_ascii_digit());
    let well_formed = digits(whole)
        && digits(fraction)
        && (!whole.is_empty() || !fraction.is_empty())
        && !(number.contains('.') && fraction.is_empty());
    let unit = unit.trim_start();
    let per_unit_ms = match (unit, bare) {
        _ if !well_formed => None,
        ("", Bare::Seconds) => Some(1_000),
        ("", Bare::Refused) => {
            return Err(Error::invalid(format!(
                "duration {text:?} has no unit: write \"{number}ms\" or \"{number}s\""
            )))
        }
        (u, _) => UNITS.iter().find(|(name, _)| *name == u).map(|u| u.1),
    };
    let Some(per_unit_ms) = per_unit_ms else {
        let bare_note = if bare == Bare::Seconds { " (a bare number is seconds)" } else { "" };
        return Err(Error::invalid(format!(
            "{text:?} is not a duration: expected a number and a unit, like 500ms, 10s, 2m, 1h or 1d{bare_note}"
        )));
    };
    let too_long = || Error::invalid(format!("duration {text:?} is too long"));
    if fraction.is_empty() {
        let n: u64 = whole.parse().map_err(|_| too_long())?;
        n.checked_mul(per_unit_ms).map(Duration::from_millis).ok_or_else(too_long)
    } else {
        let value: f64 = number.parse().map_err(|_| too_long())?;
        Duration::try_from_secs_f64(value * per_unit_ms as f64 / 1000.0).map_err(|_| too_long())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_what_is_wrong_with_the_text_given() {
        assert_eq!(parse("1.5s", Bare::Refused).unwrap(), Duration::from_millis(1500));
        assert_eq!(parse("7", Bare::Seconds).unwrap(), Duration::from_secs(7));
        let e = parse("30", Bare::Refused).unwrap_err().to_string();
        assert_eq!(e, "invalid argument: duration \"30\" has no unit: write \"30ms\" or \"30s\"");
        let e = parse("-5s", Bare::Seconds).unwrap_err().to_string();
        assert_eq!(e, "invalid argument: duration \"-5s\" cannot be negative");
        assert!(parse("banana", Bare::Seconds).unwrap_err().to_string().contains("\"banana\" is not a duration"));
        assert!(parse("99999999999999999999h", Bare::Seconds).unwrap_err().to_string().contains("too long"));
    }
}
