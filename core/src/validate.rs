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
            "ttl {ttl:?} is too short; it must be at least 1ms"
        )));
    }
    if ttl > max {
        return Err(Error::invalid(format!(
            "ttl {ttl:?} is above this backend's maximum of {max:?}"
        )));
    }
    Ok(())
}

/// A deadline for `timeout`: `None` waits forever (`Duration::MAX`).
pub(crate) fn deadline(timeout: Duration, start: Instant) -> Result<Option<Instant>> {
    if timeout == Duration::MAX {
        return Ok(None);
    }
    start.checked_add(timeout).map(Some).ok_or_else(|| {
        Error::invalid(format!(
            "timeout {timeout:?} overflows the clock; use Duration::MAX to wait forever"
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
