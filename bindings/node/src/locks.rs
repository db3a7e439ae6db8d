//! `NativeLocks`: a provider.

use crate::error::{to_js, Result};
use crate::events::{self, EventCallback, NativeSubscription};
use crate::held::NativeHeld;
use crate::lock::{self, NativeLock};
use crate::runtime::{to_millis, NativeBridge, Ops};
use ferrolock::{Drive, LockState};
use napi::bindgen_prelude::Either;
use napi_derive::napi;
use std::time::Duration;

/// Connect to the backend `url` names; without one, the default URL
/// (`$FERROLOCK_URL`, else the SQLite file under `$XDG_DATA_HOME`).
#[napi]
pub fn connect(url: Option<String>, bridge: &NativeBridge) -> Result<Either<NativeLocks, u32>> {
    let url = url.unwrap_or_else(ferrolock::default_url);
    let drive = ferrolock::Locks::drive_of(&url).map_err(to_js)?;
    let b = bridge.bridge.clone();
    let open = async move {
        let locks = ferrolock::Locks::connect(&url).await.map_err(to_js)?;
        Ok(NativeLocks {
            bridge: Ops::new(b, locks.drive() == Drive::Io),
            locks,
        })
    };
    // Opening a provider whose operations may block (a busy SQLite file)
    // runs off the JS thread; the others connect on the runtime their
    // operations run on, so their connection tasks and watchdog live there.
    if drive == Drive::Blocking {
        bridge.bridge.run_off_thread(open)
    } else {
        bridge.bridge.run(open)
    }
}

/// A provider: one connection to one backend.
#[napi]
pub struct NativeLocks {
    pub(crate) locks: ferrolock::Locks,
    pub(crate) bridge: Ops,
}

/// Who holds a lock, as `state` and `list` report it (never an owner id).
#[napi(object, object_from_js = false)]
pub struct LockInfo {
    pub name: String,
    pub fence: u64,
    /// `exclusive` or `shared`.
    pub mode: String,
    pub holder: String,
    /// Milliseconds until the lease expires unless renewed.
    pub expires_in: f64,
    /// How many hold it shared (0 for an exclusive lock).
    pub readers: u32,
}

/// What the backend can do.
#[napi(object, object_from_js = false)]
pub struct Capabilities {
    /// The longest ttl, in milliseconds.
    pub max_ttl: f64,
    pub shared: bool,
    pub handoff: bool,
    pub queue: bool,
    pub notices: bool,
}

#[napi]
impl NativeLocks {
    /// Describe a lock (no I/O). `ttl` in milliseconds.
    #[napi]
    pub fn lock(
        &self,
        name: String,
        ttl: Option<f64>,
        shared: Option<bool>,
        holder: Option<String>,
        auto_renew: Option<bool>,
    ) -> Result<NativeLock> {
        let options = lock::options(ttl, shared, holder, auto_renew)?;
        Ok(NativeLock::new(
            self.locks.lock_with(name, options),
            self.bridge.clone(),
        ))
    }

    /// Make an armed handle from a token written in any process or language.
    #[napi]
    pub fn resume(&self, token: String) -> Result<Either<NativeHeld, u32>> {
        let (locks, bridge) = (self.locks.clone(), self.bridge.clone());
        self.bridge.run(async move {
            let held = locks.resume(&token).await.map_err(to_js)?;
            Ok(NativeHeld::new(held, bridge))
        })
    }

    /// Who holds `name`; `null` when it is free.
    #[napi]
    pub fn state(&self, name: String) -> Result<Either<Option<LockInfo>, u32>> {
        let locks = self.locks.clone();
        self.bridge.run(async move {
            Ok(match locks.state(&name).await.map_err(to_js)? {
                LockState::Free => None,
                LockState::Held {
                    fence,
                    mode,
                    holder,
                    expires_in,
                    readers,
                } => Some(LockInfo {
                    name,
                    fence,
                    mode: mode.as_str().to_owned(),
                    holder,
                    expires_in: to_millis(expires_in),
                    readers,
                }),
            })
        })
    }

    /// The active locks whose names start with `prefix`.
    #[napi]
    pub fn list(&self, prefix: String) -> Result<Either<Vec<LockInfo>, u32>> {
        let locks = self.locks.clone();
        self.bridge.run(async move {
            let rows = locks.list(&prefix).await.map_err(to_js)?;
            Ok(rows
                .into_iter()
                .map(|i| LockInfo {
                    name: i.name,
                    fence: i.fence,
                    mode: i.mode.as_str().to_owned(),
                    holder: i.holder,
                    expires_in: to_millis(i.expires_in),
                    readers: i.readers,
                })
                .collect())
        })
    }

    /// Release `name` whoever holds it; whether it was held.
    #[napi]
    pub fn force_release(&self, name: String) -> Result<Either<bool, u32>> {
        let locks = self.locks.clone();
        self.bridge
            .run(async move { locks.force_release(&name).await.map_err(to_js) })
    }

    /// A health check.
    #[napi]
    pub fn ping(&self) -> Result<Either<(), u32>> {
        let locks = self.locks.clone();
        self.bridge
            .run(async move { locks.ping().await.map_err(to_js) })
    }

    /// Close the provider: pending waits end with `CLOSED` (the engine
    /// ends them); waits up to 5 s for background clean-ups.
    #[napi]
    pub fn close(&self) -> Result<Either<(), u32>> {
        let locks = self.locks.clone();
        self.bridge.run_off_thread(async move {
            locks.close().await;
            Ok(())
        })
    }

    /// The URL, password replaced by `***`.
    #[napi(getter)]
    pub fn url(&self) -> String {
        self.locks.url().to_owned()
    }

    #[napi(getter)]
    pub fn namespace(&self) -> String {
        self.locks.namespace().to_owned()
    }

    /// `memory`, `sqlite` or `redis`.
    #[napi(getter)]
    pub fn backend(&self) -> String {
        self.locks.backend().name().to_owned()
    }

    #[napi(getter)]
    pub fn capabilities(&self) -> Capabilities {
        let c = self.locks.capabilities();
        Capabilities {
            max_ttl: to_millis(c.max_ttl.min(Duration::from_secs(u32::MAX as u64))),
            shared: c.shared,
            handoff: c.handoff,
            queue: c.queue,
            notices: c.notices,
        }
    }

    /// Call `callback` with every event from now on, until `stop()`. The
    /// callback does not keep the process alive.
    #[napi(ts_args_type = "callback: (event: LockEvent) => void")]
    pub fn subscribe(&self, callback: EventCallback) -> NativeSubscription {
        events::subscribe(self.locks.events(), &self.bridge, callback)
    }
}
