//! Cheap clocks for the hot path. Reading the precise clocks costs 35–45 ns
//! on a typical VM (several per acquire+release pair); the kernel's coarse
//! clocks cost a fraction of that, at a resolution of a few milliseconds,
//! which is plenty for ttls, renewal schedules and hold-time histograms.

/// Milliseconds since the unix epoch, at coarse resolution.
pub(crate) fn coarse_wall_ms() -> u64 {
    #[cfg(target_os = "linux")]
    {
        read(libc::CLOCK_REALTIME_COARSE)
    }
    #[cfg(not(target_os = "linux"))]
    {
        crate::backend::now_ms()
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
        static EPOCH: std::sync::OnceLock<std::time::Instant> = std::sync::OnceLock::new();
        EPOCH.get_or_init(std::time::Instant::now).elapsed().as_millis() as u64
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
