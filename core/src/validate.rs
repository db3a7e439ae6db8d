//! Input rules, checked once, with errors that name the problem.

use crate::error::{Error, Result};
use crate::rt::Instant;
use std::time::Duration;

/// Longest lock name, in bytes of UTF-8.
pub const MAX_NAME_BYTES: usize = 512;
/// Longest namespace, in bytes.
pub const MAX_NAMESPACE_BYTES: usize = 64;
/// Longest holder label, in bytes of UTF-8.
pub const MAX_HOLDER_BYTES: usize = 256;

pub(crate) fn name(name: &str) -> Result<()> {
    if name.is_empty() {
        return Err(Error::invalid("lock name is empty (1 to 512 bytes of UTF-8)"));
    }
    if name.len() > MAX_NAME_BYTES {
        return Err(Error::invalid(format!(
            "lock name is {} bytes long; the limit is {MAX_NAME_BYTES}",
            name.len()
        )));
    }
    if let Some(c) = name.chars().find(|c| c.is_control()) {
        return Err(Error::invalid(format!(
            "lock name {:?} contains the control character U+{:04X}",
            truncate(name),
            c as u32
        )));
    }
    Ok(())
}

pub(crate) fn namespace(ns: &str) -> Result<()> {
    if ns.is_empty() || ns.len() > MAX_NAMESPACE_BYTES {
        return Err(Error::invalid(format!(
            "namespace {:?} must be 1 to {MAX_NAMESPACE_BYTES} bytes of [A-Za-z0-9_.-]",
            truncate(ns)
        )));
    }
    if let Some(c) = ns.chars().find(|c| !(c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-'))) {
        return Err(Error::invalid(format!(
            "namespace {:?} contains {c:?}; only [A-Za-z0-9_.-] is allowed",
            truncate(ns)
        )));
    }
    Ok(())
}

pub(crate) fn holder(holder: &str) -> Result<()> {
    if holder.len() > MAX_HOLDER_BYTES {
        return Err(Error::invalid(format!(
            "holder label is {} bytes long; the limit is {MAX_HOLDER_BYTES}",
            holder.len()
        )));
    }
    if holder.chars().any(|c| c.is_control()) {
        return Err(Error::invalid(format!(
            "holder label {:?} contains a control character",
            truncate(holder)
        )));
    }
    Ok(())
}

pub(crate) fn ttl(ttl: Duration, max: Duration) -> Result<()> {
    if ttl < Duration::from_millis(1) {
        return Err(Error::invalid(format!(
            "ttl {} is too short; it must be at least 1ms",
            show(ttl)
        )));
    }
    if ttl > max {
        return Err(Error::invalid(format!(
            "ttl {} is above this backend's maximum of {}",
            show(ttl),
            show(max)
        )));
    }
    Ok(())
}

/// A duration as a person writes it: milliseconds below a second (`0ms`,
/// `0.5ms`, `250ms`), else seconds (`30s`, `1.5s`). Not `Debug`'s `0ns`:
/// the bindings pass milliseconds (C, Node) or seconds (Python, the CLI),
/// and a message should read in one of those units.
pub(crate) fn show(d: Duration) -> String {
    fn trim(x: f64) -> String {
        let s = format!("{x:.3}");
        s.trim_end_matches('0').trim_end_matches('.').to_owned()
    }
    if d < Duration::from_secs(1) {
        format!("{}ms", trim(d.as_secs_f64() * 1000.0))
    } else {
        format!("{}s", trim(d.as_secs_f64()))
    }
}

/// A deadline for `timeout`: `None` waits forever (`Duration::MAX`).
pub(crate) fn deadline(timeout: Duration, start: Instant) -> Result<Option<Instant>> {
    if timeout == Duration::MAX {
        return Ok(None);
    }
    start.checked_add(timeout).map(Some).ok_or_else(|| {
        Error::invalid(format!(
            "timeout {} overflows the clock; use Duration::MAX to wait forever",
            show(timeout)
        ))
    })
}

fn truncate(s: &str) -> String {
    if s.len() <= 64 {
        return s.to_owned();
    }
    let mut end = 64;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}…", &s[..end])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_in_messages_read_in_milliseconds_or_seconds() {
        assert_eq!(show(Duration::ZERO), "0ms");
        assert_eq!(show(Duration::from_micros(500)), "0.5ms");
        assert_eq!(show(Duration::from_millis(250)), "250ms");
        assert_eq!(show(Duration::from_secs(30)), "30s");
        assert_eq!(show(Duration::from_millis(1500)), "1.5s");
        let e = ttl(Duration::ZERO, Duration::from_secs(60)).unwrap_err().to_string();
        assert_eq!(e, "invalid argument: ttl 0ms is too short; it must be at least 1ms");
        let e = ttl(Duration::from_secs(90), Duration::from_secs(60)).unwrap_err().to_string();
        assert_eq!(e, "invalid argument: ttl 90s is above this backend's maximum of 60s");
    }
}
