//! `Locks`: a `ferrolock::Locks` for Kotlin and Swift, each operation in an
//! async form and a blocking one (`…Blocking` in Kotlin), and the maker of
//! `Lock`s. Also the plain records a provider reports.

use crate::error::Result;
use crate::events::Events;
use crate::held::Held;
use crate::lock::Lock;
use crate::runtime::{self, ms, Exec};
use crate::LockMode;
use ferrolock::{Drive, LockOptions, LockState, Mode};
use std::sync::Arc;

/// One held lock as `state` and `list` report it. Never an owner id.
#[derive(uniffi::Record, Clone, Debug)]
pub struct LockInfo {
    /// The lock's name (without the namespace).
    pub name: String,
    /// The fence of the (latest) acquisition.
    pub fence: u64,
    pub mode: LockMode,
    /// The holder label (of one reader, for a shared lock).
    pub holder: String,
    /// Milliseconds until the lease expires unless renewed.
    pub expires_in_ms: u64,
    /// How many hold it shared (0 for an exclusive lock).
    pub readers: u32,
}

impl From<ferrolock::LockInfo> for LockInfo {
    fn from(i: ferrolock::LockInfo) -> LockInfo {
        LockInfo {
            name: i.name,
            fence: i.fence,
            mode: i.mode.into(),
            holder: i.holder,
            expires_in_ms: ms(i.expires_in),
            readers: i.readers,
        }
    }
}

fn state_info(name: String, s: LockState) -> Option<LockInfo> {
    match s {
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
            mode: mode.into(),
            holder,
            expires_in_ms: ms(expires_in),
            readers,
        }),
    }
}

/// What the backend can do.
#[derive(uniffi::Record, Clone, Debug)]
pub struct Capabilities {
    /// The longest ttl the backend accepts, in milliseconds.
    pub max_ttl_ms: u64,
    /// Shared (reader) locks.
    pub shared: bool,
    /// Locks outlive their process, so they can be handed off as tokens.
    pub handoff: bool,
    /// A FIFO wait queue in the backend.
    pub queue: bool,
    /// The backend tells waiters when a lock may be free.
    pub notices: bool,
}

/// A connection to one backend.
#[derive(uniffi::Object)]
pub struct Locks {
    inner: ferrolock::Locks,
    exec: Exec,
}

impl Locks {
    fn shared(inner: ferrolock::Locks) -> Arc<Locks> {
        let exec = Exec::shared(inner.drive());
        Arc::new(Locks { inner, exec })
    }
}

/// Connect to the backend `url` names (an empty URL: the default URL).
#[uniffi::export]
pub async fn connect(url: String) -> Result<Arc<Locks>> {
    let drive = ferrolock::Locks::drive_of(&url).unwrap_or(Drive::Blocking);
    runtime::run(drive, async move { open(url).await })
        .await
        .map(Locks::shared)
}

/// `connect`, blocking the calling thread. The provider runs on a runtime
/// of its own that its blocking callers drive (see `runtime::Exec`).
#[uniffi::export]
pub fn connect_blocking(url: String) -> Result<Arc<Locks>> {
    let driven = ferrolock::blocking::Driven::new("ferrolock-sync");
    let inner = driven.block_on(open(url))?;
    let exec = Exec::driven(inner.drive(), driven);
    Ok(Arc::new(Locks { inner, exec }))
}

async fn open(url: String) -> ferrolock::Result<ferrolock::Locks> {
    if url.is_empty() {
        ferrolock::Locks::connect_default().await
    } else {
        ferrolock::Locks::connect(&url).await
    }
}

/// The URL `connect("")` uses: `$FERROLOCK_URL`, else the SQLite file
/// under `$XDG_DATA_HOME/ferrolock/`.
#[uniffi::export]
pub fn default_url() -> String {
    ferrolock::default_url()
}

#[uniffi::export]
impl Locks {
    /// A lock with these options (no I/O). A bad name or ttl is reported by
    /// the lock's first operation.
    pub fn lock(&self, name: String, ttl_ms: i64, shared: bool, holder: Option<String>, auto_renew: bool) -> Arc<Lock> {
        let mode = if shared { Mode::Shared } else { Mode::Exclusive };
        let options = runtime::millis(ttl_ms, "ttl").map(|ttl| LockOptions {
            ttl,
            mode,
            holder,
            auto_renew,
        });
        let lock = options.map(|o| self.inner.lock_with(name, o));
        Arc::new(Lock::new(lock, self.exec.clone()))
    }

    /// Resume a lock from a token written in any process or language.
    pub async fn resume(&self, token: String) -> Result<Arc<Held>> {
        let locks = self.inner.clone();
        self.exec
            .run(async move { locks.resume(&token).await })
            .await
            .map(|h| Held::new(h, self.exec.clone()))
    }
    pub fn resume_blocking(&self, token: String) -> Result<Arc<Held>> {
        self.exec
            .block(self.inner.resume(&token))
            .map(|h| Held::new(h, self.exec.clone()))
    }

    /// Who holds `name`, or nothing when it is free.
    pub async fn state(&self, name: String) -> Result<Option<LockInfo>> {
        let locks = self.inner.clone();
        self.exec.run(async move {
            locks.state(&name).await.map(|s| state_info(name, s))
        })
        .await
    }
    pub fn state_blocking(&self, name: String) -> Result<Option<LockInfo>> {
        self.exec.block(self.inner.state(&name)).map(|s| state_info(name, s))
    }

    /// The held locks whose names start with `prefix`.
    pub async fn list(&self, prefix: String) -> Result<Vec<LockInfo>> {
        let locks = self.inner.clone();
        self.exec.run(async move { locks.list(&prefix).await })
            .await
            .map(infos)
    }
    pub fn list_blocking(&self, prefix: String) -> Result<Vec<LockInfo>> {
        self.exec.block(self.inner.list(&prefix)).map(infos)
    }

    /// Free `name` whoever holds it; whether it was held.
    pub async fn force_release(&self, name: String) -> Result<bool> {
        let locks = self.inner.clone();
        self.exec.run(async move { locks.force_release(&name).await }).await
    }
    pub fn force_release_blocking(&self, name: String) -> Result<bool> {
        self.exec.block(self.inner.force_release(&name))
    }

    pub async fn ping(&self) -> Result<()> {
        let locks = self.inner.clone();
        self.exec.run(async move { locks.ping().await }).await
    }
    pub fn ping_blocking(&self) -> Result<()> {
        self.exec.block(self.inner.ping())
    }

    /// Close: pending waits end with CLOSED, renewals stop, later calls are
    /// CLOSED. A second close does nothing. (Not `close`: the generated
    /// Kotlin class has a `close()` of its own, which frees the handle.)
    pub async fn shutdown(&self) {
        let locks = self.inner.clone();
        // Off the caller's thread, as a blocking operation (a SQLite file's close may block).
        let _ = self.exec.off_thread().run(async move { Ok(locks.close().await) }).await;
        self.exec.closed();
    }
    pub fn shutdown_blocking(&self) {
        let _ = self.exec.block(async { Ok(self.inner.close().await) });
        self.exec.closed();
    }

    /// A subscription to this provider's events.
    pub fn events(&self) -> Arc<Events> {
        Arc::new(Events::new(self.inner.events()))
    }

    pub fn capabilities(&self) -> Capabilities {
        let c = self.inner.capabilities();
        Capabilities {
            max_ttl_ms: ms(c.max_ttl),
            shared: c.shared,
            handoff: c.handoff,
            queue: c.queue,
            notices: c.notices,
        }
    }
    /// `memory`, `sqlite`, `redis`, `postgres`.
    pub fn backend(&self) -> String {
        self.inner.backend().name().to_owned()
    }
    pub fn namespace(&self) -> String {
        self.inner.namespace().to_owned()
    }
    /// The URL, its password replaced by `***`.
    pub fn url(&self) -> String {
        self.inner.url().to_owned()
    }
}

fn infos(v: Vec<ferrolock::LockInfo>) -> Vec<LockInfo> {
    v.into_iter().map(LockInfo::from).collect()
}
