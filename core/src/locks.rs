//! [`Locks`]: a provider, made from a URL: connect, the locks it describes,
//! resume, state, list, force_release, events, close.

use crate::backend::{AnyBackend, Capabilities, Drive, Target};
use crate::error::{Error, Result};
use crate::events::{EventKind, Events};
use crate::held::{Held, LockId, NewHeld};
use crate::kinds::{BackendKind, Mode};
use crate::lock::{Lock, LockOptions};
use crate::notices::Notices;
use crate::provider::{default_holder, Inner, Metrics};
use crate::records::{LockInfo, LockState};
use crate::rt::{self, Runtime};
use crate::watchdog::Watchdog;
use crate::{token, url, validate};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::broadcast;

/// A connection to one backend, made from a URL. Cheap to clone; every clone
/// shares the connection, the renewal watchdog and the event stream.
#[derive(Clone)]
pub struct Locks {
    pub(crate) inner: Arc<Inner>,
}

impl Locks {
    /// Connect to the backend `url` names: `memory://`, `sqlite://PATH`,
    /// `redis://…`. Must be called inside a tokio runtime (the renewal
    /// watchdog runs on it).
    pub async fn connect(url: &str) -> Result<Locks> {
        let runtime = Runtime::current()
            .ok_or_else(|| Error::Internal("Locks::connect must run inside a tokio runtime".into()))?;
        Self::connect_on(url, runtime).await
    }

    /// Connect to [`default_url`](crate::default_url): `$FERROLOCK_URL`, else
    /// the SQLite file under `$XDG_DATA_HOME/ferrolock/`.
    pub async fn connect_default() -> Result<Locks> {
        Self::connect(&url::default_url()).await
    }

    /// [`connect`](Locks::connect), but never create the store: a SQLite
    /// file that does not exist is `InvalidArgument` naming it, rather than a
    /// new empty database. For tools that only inspect, refresh or release
    /// locks (the CLI's `release`, `refresh`, `state`, `force-release`,
    /// `list`), where a mistyped path would otherwise answer "free".
    pub async fn connect_existing(url: &str) -> Result<Locks> {
        let runtime = Runtime::current()
            .ok_or_else(|| Error::Internal("Locks::connect_existing must run inside a tokio runtime".into()))?;
        Self::open_on(url, runtime, false).await
    }

    pub(crate) async fn connect_on(url_str: &str, runtime: Runtime) -> Result<Locks> {
        Self::open_on(url_str, runtime, true).await
    }

    async fn open_on(url_str: &str, runtime: Runtime, create: bool) -> Result<Locks> {
        let mut url = url::parse(url_str)?;
        url.create = create;
        let target = Target::parse(&mut url)?;
        let kind = target.kind();
        let notices = Arc::new(Notices::default());
        let backend = AnyBackend::open(&target, url.bypass, &notices).await?;
        let caps = backend.capabilities();
        let drive = backend.drive();
        tracing::info!(backend = kind.name(), url = %url.redacted, namespace = %url.namespace, bypass = url.bypass, "ferrolock: connected");
        let default_holder: Arc<str> = url.holder.clone().unwrap_or_else(default_holder).into();
        Ok(Locks {
            inner: Arc::new(Inner {
                backend,
                kind,
                caps,
                drive,
                namespace: url.namespace.into(),
                default_holder,
                redacted_url: url.redacted,
                notices,
                watchdog: Watchdog::start(&runtime),
                events: broadcast::channel(1024).0,
                subscribers: Arc::default(),
                metrics: Metrics::register(kind.name()),
                closed: AtomicBool::new(false),
                runtime,
                background: tokio_util::task::TaskTracker::new(),
                closing: tokio_util::sync::CancellationToken::new(),
            }),
        })
    }

    /// Describe the lock `name` (no I/O; a bad name is reported by the first
    /// operation that uses it). Defaults: exclusive, ttl 30 s, renewed.
    pub fn lock(&self, name: impl Into<String>) -> Lock {
        Lock::new(self.inner.clone(), name.into(), LockOptions::default())
    }

    /// Describe the lock `name` with every option at once (what bindings
    /// call with the options their caller gave). No I/O.
    pub fn lock_with(&self, name: impl Into<String>, options: LockOptions) -> Lock {
        Lock::new(self.inner.clone(), name.into(), options)
    }

    /// Make an armed handle from a token written by `into_token` in any
    /// process or language. `Err(Lost)` if the lock is no longer held;
    /// `Err(InvalidToken)` for a malformed token or one of another backend.
    pub async fn resume(&self, token: &str) -> Result<Held> {
        self.inner.check_open()?;
        self.inner.check_handoff("resume")?;
        let data = token::decode_full(token)?;
        if data.info.backend != self.inner.kind {
            return Err(Error::InvalidToken(format!(
                "token was issued by the {} backend; this provider is {}",
                data.info.backend.name(),
                self.inner.kind.name()
            )));
        }
        let ttl = Duration::from_millis(data.info.ttl_ms);
        validate::ttl(ttl, self.inner.caps.max_ttl).map_err(|e| Error::InvalidToken(format!("token ttl: {e}")))?;
        let key = Inner::key(&data.info.namespace, &data.info.name);
        match self.inner.backend.refresh(&key, &data.owner, &data.proof, ttl).await? {
            Some(expires_at_ms) => Ok(Held::new(
                self.inner.clone(),
                NewHeld {
                    id: Arc::new(LockId {
                        key: key.into(),
                        namespace: data.info.namespace.into(),
                        name: data.info.name.into(),
                        holder: data.info.holder.into(),
                    }),
                    owner: data.owner,
                    fence: data.info.fence,
                    mode: data.info.mode,
                    proof: data.proof,
                    auto_renew: true,
                    ttl,
                    expires_at_ms,
                },
            )),
            None => Err(Error::Lost { name: data.info.name }),
        }
    }

    /// Who holds `name`, if anyone.
    pub async fn state(&self, name: &str) -> Result<LockState> {
        self.inner.check_open()?;
        validate::name(name)?;
        let info = self.inner.backend.inspect(&Inner::key(&self.inner.namespace, name)).await?;
        Ok(LockState::of(info))
    }

    /// The active locks of this namespace whose names start with `prefix`.
    pub async fn list(&self, prefix: &str) -> Result<Vec<LockInfo>> {
        self.inner.check_open()?;
        if prefix.chars().any(|c| c.is_control()) {
            return Err(Error::InvalidArgument("list prefix contains a control character".into()));
        }
        let key_prefix = Inner::key(&self.inner.namespace, "");
        let rows = self.inner.backend.list(&format!("{key_prefix}{prefix}")).await?;
        Ok(rows
            .into_iter()
            .map(|(key, i)| LockInfo::of(key[key_prefix.len()..].to_owned(), i))
            .collect())
    }

    /// Release `name` whoever holds it (an administrator's tool). Returns
    /// whether it was held. Its holder learns of the loss at its next renewal.
    pub async fn force_release(&self, name: &str) -> Result<bool> {
        self.inner.check_open()?;
        validate::name(name)?;
        let key = Inner::key(&self.inner.namespace, name);
        let was_held = self.inner.backend.force_release(&key).await?;
        self.inner.notices.freed(&key);
        if was_held {
            tracing::info!(name, "ferrolock: force-released");
            self.inner.emit_parts(EventKind::ForceReleased, name, 0, Mode::Exclusive, "");
        }
        Ok(was_held)
    }

    /// Check that the backend answers (a health check).
    pub async fn ping(&self) -> Result<()> {
        self.inner.check_open()?;
        self.inner.backend.ping().await
    }

    /// Subscribe to this provider's events.
    pub fn events(&self) -> Events {
        Events::new(self.inner.events.subscribe(), self.inner.subscribers.clone())
    }

    /// Close the provider: renewals stop, and every later operation (on it,
    /// its clones, its locks and handles) is `Err(Closed)`. Clean-ups still
    /// running in the background (the release of a dropped handle, the
    /// queue exit of a cancelled wait) are given up to 5 s to finish first,
    /// so a process may exit right after. Waits still pending end with
    /// `Err(Closed)`, leaving nothing held. Locks still held free at their ttl.
    pub async fn close(&self) {
        // Pending waits end with `Closed`; each counts in `background` until
        // it has spawned its way out of its queue, so waiting for
        // `background` waits for them too.
        self.inner.closing.cancel();
        self.inner.background.close();
        let _ = rt::timeout(Duration::from_secs(5), self.inner.background.wait()).await;
        if !self.inner.closed.swap(true, Ordering::AcqRel) {
            self.inner.watchdog.stop.cancel();
            self.inner.backend.close();
        }
    }

    /// Which backend this provider talks to.
    pub fn backend(&self) -> BackendKind {
        self.inner.kind
    }
    /// How this provider's operations complete: a binding runs those of a
    /// [`Drive::Blocking`] one where blocking a thread is allowed.
    pub fn drive(&self) -> Drive {
        self.inner.drive
    }
    /// The [`Drive`] of the provider `url` names, known without connecting
    /// (opening a [`Drive::Blocking`] one may block too).
    pub fn drive_of(url: &str) -> Result<Drive> {
        let mut url = url::parse(url)?;
        let target = Target::parse(&mut url)?;
        Ok(if url.bypass { Drive::Inline } else { target.drive() })
    }
    /// What the backend can do.
    pub fn capabilities(&self) -> Capabilities {
        self.inner.caps
    }
    /// The provider's namespace.
    pub fn namespace(&self) -> &str {
        &self.inner.namespace
    }
    /// The URL this provider was made from, password replaced by `***`.
    pub fn url(&self) -> &str {
        &self.inner.redacted_url
    }
}

impl std::fmt::Debug for Locks {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Locks")
            .field("url", &self.inner.redacted_url)
            .field("namespace", &self.inner.namespace)
            .finish_non_exhaustive()
    }
}

