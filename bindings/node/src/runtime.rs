//! The async bridge, in one place: napi's tokio runtime runs every future
//! (async `#[napi]` functions and `Env::spawn_future`); background tasks
//! (event and loss watchers) are spawned on the runtime handle captured at
//! `connect` and stop through a cancellation token owned by their handle.

use crate::error::{invalid, Result};
use std::time::Duration;

/// Milliseconds from JS (already type-checked by the TypeScript layer) to a
/// `Duration`. `Infinity` is `Duration::MAX` where `forever` is allowed.
pub fn millis(what: &str, ms: f64, forever: bool) -> Result<Duration> {
    if ms.is_nan() {
        return Err(invalid(format!("{what} is NaN; give milliseconds or a string like '10s'")));
    }
    if ms < 0.0 {
        return Err(invalid(format!("{what} {ms} is negative")));
    }
    if ms.is_infinite() {
        return if forever {
            Ok(Duration::MAX)
        } else {
            Err(invalid(format!("{what} cannot be Infinity")))
        };
    }
    // u64::MAX ms is about 585 million years; anything above is a mistake.
    if ms >= u64::MAX as f64 {
        return Err(invalid(format!(
            "{what} {ms}ms is too large{}",
            if forever { "; use Infinity to wait forever" } else { "" }
        )));
    }
    Duration::try_from_secs_f64(ms / 1000.0).map_err(|_| invalid(format!("{what} {ms}ms is out of range")))
}

/// A `Duration` back to JS milliseconds.
pub fn to_millis(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}
