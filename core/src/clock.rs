//! Cheap clocks for the hot path. Reading the precise clocks costs 35–45 ns
//! on a typical VM (several per acquire+release pair); the kernel's coarse
//! clocks cost a fraction of that, at a resolution of a few milliseconds,
//! which is plenty for ttls, renewal schedules and hold-time histograms.

use std::time::Duration;

/// Milliseconds since the unix epoch, by the wall clock (leases are shared
/// between processes, so they cannot use a monotonic clock).
pub(crate) fn now_ms() -> u64 {
    crate::rt::wall_ms()
}

pub(crate) fn ttl_ms(ttl: Duration) -> u64 {
    ttl.as_millis().min(u64::MAX as u128) as u64
}


/// Milliseconds since the unix epoch, at coarse resolution.
pub(crate) fn coarse_wall_ms() -> u64 {
    #[cfg(target_os = "linux")]
    {
        read(libc::CLOCK_REALTIME_COARSE)
    }
    #[cfg(not(target_os = "linux"))]
    {
        now_ms()
    }
}

/// Milliseconds on a monotonic clock (arbitrary origin), at coarse resolution.
pub(crate) fn coarse_monotonic_ms() -> u64 {
    #[cfg(target_os = "linux")]
    {
        read(libc::CLOCK_MONOTONIC_COARSE)
    }
    #[cfg(not(target_os = "linux"))]
    {
        static EPOCH: std::sync::OnceLock<crate::rt::Instant> = std::sync::OnceLock::new();
        EPOCH.get_or_init(crate::rt::Instant::now).elapsed().as_millis() as u64
    }
}

#[cfg(target_os = "linux")]
fn read(clock: libc::clockid_t) -> u64 {
    let mut ts = libc::timespec { tv_sec: 0, tv_nsec: 0 };
    // SAFETY: `ts` is a valid, writable timespec; clock_gettime only writes it.
    let rc = unsafe { libc::clock_gettime(clock, &mut ts) };
    debug_assert_eq!(rc, 0);
    ts.tv_sec as u64 * 1000 + ts.tv_nsec as u64 / 1_000_000
}
