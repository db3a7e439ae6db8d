//! The runtime seam: everything the engine asks of an async runtime
//! (spawning, sleeping, timeouts, the monotonic and wall clocks) goes
//! through here, so that the core builds where tokio's runtime cannot run.
//!
//! Natively it is tokio. On `wasm32-unknown-unknown` there are no threads,
//! no tokio timers and no `std::time` clocks: the host (a JavaScript
//! binding) installs a [`Host`] with [`set_host`] that spawns on its event
//! loop and supplies timers and clocks.

use std::future::Future;
use std::time::Duration;

#[cfg(not(all(target_arch = "wasm32", target_os = "unknown")))]
mod imp {
    use super::*;

    pub use std::time::Instant;

    /// Where a provider's tasks run.
    #[derive(Clone, Debug)]
    pub struct Runtime(pub(crate) tokio::runtime::Handle);

    impl Runtime {
        /// The runtime of the calling task, if any.
        pub fn current() -> Option<Runtime> {
            tokio::runtime::Handle::try_current().ok().map(Runtime)
        }
        pub fn spawn(&self, task: impl Future<Output = ()> + Send + 'static) {
            drop(self.0.spawn(task));
        }
        /// Make this runtime current on this thread (for a drop that polls in place).
        pub fn enter(&self) -> impl Sized + '_ {
            self.0.enter()
        }
    }

    /// Spawn on the current runtime (inside one of the provider's tasks).
    pub fn spawn(task: impl Future<Output = ()> + Send + 'static) {
        drop(tokio::spawn(task));
    }

    pub async fn sleep(d: Duration) {
        tokio::time::sleep(d).await
    }

    pub async fn sleep_until(at: Instant) {
        tokio::time::sleep_until(at.into()).await
    }

    /// Milliseconds since the unix epoch.
    pub fn wall_ms() -> u64 {
        use std::time::{SystemTime, UNIX_EPOCH};
        SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_millis() as u64).unwrap_or(0)
    }
}

#[cfg(all(target_arch = "wasm32", target_os = "unknown"))]
mod imp {
    use super::*;
    use std::pin::Pin;
    use std::sync::OnceLock;

    /// What the host offers the engine on WebAssembly.
    pub trait Host: Send + Sync + 'static {
        /// Run `task` to completion on the host's event loop.
        fn spawn(&self, task: Pin<Box<dyn Future<Output = ()> + 'static>>);
        /// A future that completes after `d`.
        fn sleep(&self, d: Duration) -> Pin<Box<dyn Future<Output = ()> + 'static>>;
        /// Milliseconds since the unix epoch (`Date.now()`).
        fn wall_ms(&self) -> f64;
        /// Milliseconds on a monotonic clock (`performance.now()`).
        fn monotonic_ms(&self) -> f64;
    }

    static HOST: OnceLock<Box<dyn Host>> = OnceLock::new();

    /// Install the host (once; later calls are ignored).
    pub fn set_host(host: Box<dyn Host>) {
        let _ = HOST.set(host);
    }

    fn host() -> Option<&'static dyn Host> {
        HOST.get().map(|h| &**h)
    }

    /// A point on the host's monotonic clock.
    #[derive(Clone, Copy, Debug, PartialEq, PartialOrd)]
    pub struct Instant(f64);

    impl Instant {
        pub fn now() -> Instant {
            Instant(host().map_or(0.0, |h| h.monotonic_ms()))
        }
        pub fn elapsed(&self) -> Duration {
            Instant::now().saturating_duration_since(*self)
        }
        pub fn saturating_duration_since(&self, earlier: Instant) -> Duration {
            Duration::from_secs_f64(((self.0 - earlier.0) / 1000.0).max(0.0))
        }
        pub fn checked_add(&self, d: Duration) -> Option<Instant> {
            let ms = self.0 + d.as_secs_f64() * 1000.0;
            ms.is_finite().then_some(Instant(ms))
        }
    }

    impl std::ops::Add<Duration> for Instant {
        type Output = Instant;
        fn add(self, d: Duration) -> Instant {
            Instant(self.0 + d.as_secs_f64() * 1000.0)
        }
    }

    /// The host's event loop.
    #[derive(Clone, Debug)]
    pub struct Runtime;

    impl Runtime {
        pub fn current() -> Option<Runtime> {
            host().map(|_| Runtime)
        }
        pub fn spawn(&self, task: impl Future<Output = ()> + 'static) {
            spawn(task)
        }
        pub fn enter(&self) -> impl Sized + '_ {
            self
        }
    }

    /// No threads here: tasks need not be `Send` (the host's timers are not).
    pub fn spawn(task: impl Future<Output = ()> + 'static) {
        if let Some(h) = host() {
            h.spawn(Box::pin(task));
        }
    }

    pub async fn sleep(d: Duration) {
        match host() {
            Some(h) => h.sleep(d).await,
            None => std::future::pending().await,
        }
    }

    pub async fn sleep_until(at: Instant) {
        sleep(at.saturating_duration_since(Instant::now())).await
    }

    pub fn wall_ms() -> u64 {
        host().map_or(0, |h| h.wall_ms() as u64)
    }
}

pub use imp::*;

/// `fut`, or `Err(())` if `d` passes first.
pub async fn timeout<T>(d: Duration, fut: impl Future<Output = T>) -> Result<T, ()> {
    tokio::select! {
        out = fut => Ok(out),
        _ = sleep(d) => Err(()),
    }
}
