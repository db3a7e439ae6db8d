//! `postgres://` and `postgresql://`: PostgreSQL, in one of two modes
//! (`mode=` in the URL).
//!
//! - `lease` (the default): a lease table with an expiry by the server's
//!   clock, a per-key fence counter, a FIFO waiter table; acquire, release
//!   and force-release are each one call of a PL/pgSQL function (one round
//!   trip, one transaction). A release hands the lock to the head of the
//!   queue (writes its lease) and tells the waiter's provider on its own
//!   channel (`NOTIFY ferrolock_g_<provider>`), so the waiter's wait ends
//!   without another round trip; with nobody to hand it to, it notifies
//!   `ferrolock_<schema>` with the key. One listening connection per
//!   provider hears both while the provider has waiters (`listen`;
//!   `backend::waiters` keeps the grants).
//! - `advisory`: session advisory locks, each on a connection of its own,
//!   freed by the server when that connection dies; no handoff, no queue.
//!
//! The tables and functions are created on first use (`sql.rs`, under a
//! transaction-level advisory lock so that processes starting together
//! create them once), in `schema=` (default `public`).
//! docs/backends/postgres.md lists them and the statements of each
//! operation. By concern: `url` (its URL), `sql` (DDL and statements),
//! `conn` (connections, TLS, the pool), `listen` (LISTEN), `lease` and
//! `advisory` (the two modes).

mod advisory;
mod conn;
mod lease;
mod listen;
mod sql;
mod url;
mod wire;

pub(crate) use url::{parse, PostgresTarget as Target};

use crate::backend::contract::{
    unsupported, AcquireRequest, Attempt, Backend, Capabilities, Drive, LeaseInfo, LONGEST_TTL,
};
use crate::backend::waiters::{Busy, Known, Waiters};
use crate::clock::{now_ms, ttl_ms};
use crate::error::Result;
use crate::kinds::Mode;
use crate::notices::Notices;
use conn::{Conn, Connector, Pool};
use sql::{Sql, Stmt};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::oneshot;
use tokio_util::sync::CancellationToken;
use url::PgMode;

pub(crate) struct PostgresBackend {
    pool: Pool,
    /// `Some` in advisory mode.
    advisory: Option<advisory::Advisory>,
    /// This provider's grant channel: `ferrolock_g_<16 hex digits>`.
    grants: String,
    /// Queued waiters (lease mode), and the latest requests found busy.
    waiters: Arc<Waiters>,
    /// Whether this provider listens for releases and grants (only while
    /// it has waiters: `listen`).
    listening: Arc<listen::Listening>,
    notices: Arc<Notices>,
    /// How long a waiter waits for the listener to listen.
    listen_bound: Duration,
    stop: CancellationToken,
}

impl PostgresBackend {
    pub(crate) async fn open(target: &Target, notices: &Arc<Notices>) -> Result<Self> {
        let connector = Connector::new(target.clone())?;
        let sql = Arc::new(Sql::new(&target.schema));
        let first = Conn::open(&connector, &sql).await?;
        ensure_schema(&first, &sql, target).await?;
        let stop = CancellationToken::new();
        // Wait for the listening connection (bounded by the connect
        // timeout), so that a first waiter's LISTEN costs one round trip.
        let (tx, rx) = oneshot::channel();
        let grants = format!("ferrolock_g_{:016x}", rand::random::<u64>());
        let waiters = Arc::new(Waiters::default());
        let listening = Arc::new(listen::Listening::default());
        let listener = listen::Listener {
            connector: connector.clone(),
            channel: sql.channel.clone(),
            grants: grants.clone(),
            waiters: Arc::downgrade(&waiters),
            notices: notices.clone(),
            listening: listening.clone(),
            stop: stop.clone(),
        };
        tokio::spawn(listener.run(tx));
        let _ = tokio::time::timeout(target.connect_timeout + Duration::from_millis(100), rx).await;
        let advisory = (target.mode == PgMode::Advisory).then(|| advisory::Advisory::new(connector.clone(), sql.clone()));
        if let Some(a) = &advisory {
            a.warm_up();
        }
        Ok(PostgresBackend {
            pool: Pool::new(connector, sql, first),
            advisory,
            grants,
            waiters,
            listening,
            notices: notices.clone(),
            listen_bound: target.connect_timeout,
            stop,
        })
    }
}

impl PostgresBackend {
    /// Before an attempt or a join made while someone in this process waits
    /// (a waiter's, which registered first): listen for releases, so that
    /// one after the attempt is heard.
    async fn listen_if_waiting(&self) {
        if self.notices.anyone_waiting() {
            self.listening.ensure(self.listen_bound).await;
        }
    }

    /// A lease-mode attempt: a queued waiter's may already know its answer
    /// (a release handed it the lock); a request that finds the lock busy
    /// leaves what joining the queue needs.
    async fn lease_attempt(&self, req: &AcquireRequest<'_>) -> Result<Attempt> {
        if req.ticket.is_some() {
            match self.waiters.known(req.owner) {
                // Unless its lease ran out before this provider heard of it:
                // then the server decides.
                Some(Known::Granted(lease)) if lease.expires_at_ms > now_ms() => return Ok(Attempt::Granted(lease)),
                Some(Known::Busy(retry_in)) => return Ok(Attempt::Busy { retry_in }),
                _ => {}
            }
        }
        let attempt = lease::try_acquire(&self.pool, req).await;
        match (&attempt, req.ticket) {
            (Ok(Attempt::Granted(_)), Some(_)) => self.waiters.remove(req.owner),
            (Ok(Attempt::Busy { .. }), None) => self.waiters.found_busy(
                *req.owner,
                Busy { key: req.key.to_owned(), ttl_ms: ttl_ms(req.ttl), holder: req.holder.to_string() },
            ),
            _ => {}
        }
        attempt
    }
}

/// Create the tables and functions unless they are there at this version.
async fn ensure_schema(conn: &Conn, sql: &Sql, target: &Target) -> Result<()> {
    let err = |e: tokio_postgres::Error| conn::pg_error(target, &e);
    let row = conn.client.query_one(&sql.check(), &[]).await.map_err(err)?;
    if row.get::<_, Option<String>>(0).as_deref() == Some(sql::VERSION) {
        return Ok(());
    }
    conn.client.batch_execute(&sql.ddl()).await.map_err(err)
}

impl Backend for PostgresBackend {
    const DRIVE: Drive = Drive::Io;

    fn capabilities(&self) -> Capabilities {
        match self.advisory {
            None => Capabilities { max_ttl: LONGEST_TTL, shared: true, handoff: true, queue: true, notices: true },
            // A session lock dies with its connection: it cannot be handed
            // off, and the server keeps no queue of who waits for it.
            Some(_) => Capabilities { max_ttl: LONGEST_TTL, shared: true, handoff: false, queue: false, notices: true },
        }
    }

    async fn try_acquire(&self, req: &AcquireRequest<'_>) -> Result<Attempt> {
        self.listen_if_waiting().await;
        let Some(a) = &self.advisory else {
            return self.lease_attempt(req).await;
        };
        a.try_acquire(&self.pool, req).await
    }

    async fn release(&self, key: &str, owner: &[u8; 16], _proof: &[u8]) -> Result<bool> {
        match &self.advisory {
            None => lease::release(&self.pool, key, owner).await,
            Some(a) => a.release(owner).await,
        }
    }

    async fn refresh(&self, key: &str, owner: &[u8; 16], _proof: &[u8], ttl: Duration) -> Result<Option<u64>> {
        match &self.advisory {
            None => lease::refresh(&self.pool, key, owner, ttl).await,
            Some(a) => a.refresh(owner, ttl).await,
        }
    }

    async fn force_release(&self, key: &str) -> Result<bool> {
        match &self.advisory {
            None => lease::force_release(&self.pool, key).await,
            Some(a) => a.force_release(&self.pool, key).await,
        }
    }

    async fn inspect(&self, key: &str) -> Result<Option<LeaseInfo>> {
        match &self.advisory {
            None => lease::inspect(&self.pool, key).await,
            Some(a) => Ok(a.list(&self.pool, Stmt::AdvisoryInspect, key).await?.pop().map(|(_, i)| i)),
        }
    }

    async fn list(&self, prefix: &str) -> Result<Vec<(String, LeaseInfo)>> {
        match &self.advisory {
            None => lease::list(&self.pool, prefix).await,
            Some(a) => a.list(&self.pool, Stmt::AdvisoryList, prefix).await,
        }
    }

    async fn enqueue(&self, key: &str, owner: &[u8; 16], mode: Mode) -> Result<u64> {
        if self.advisory.is_some() {
            return Err(unsupported("postgres", "wait queues in advisory mode"));
        }
        self.listen_if_waiting().await;
        // Registered before the call, so that a grant heard before the
        // reply is kept; a waiter whose request is not known (its ttl and
        // holder) joins as one that is only told.
        let busy = self.waiters.take_busy(owner, key);
        self.waiters.ticket(*owner, key, 0);
        let handed = busy.as_ref().map(|b| lease::Handed { owner, holder: &b.holder, ttl_ms: b.ttl_ms, channel: &self.grants });
        match lease::enqueue(&self.pool, key, mode, handed).await {
            Ok(ticket) => {
                self.waiters.ticket(*owner, key, ticket);
                Ok(ticket)
            }
            Err(e) => {
                self.waiters.remove(owner);
                Err(e)
            }
        }
    }

    async fn leave(&self, key: &str, ticket: u64) -> Result<()> {
        if self.advisory.is_some() {
            return Ok(());
        }
        let owner = self.waiters.remove_ticket(key, ticket);
        lease::leave(&self.pool, key, ticket, owner.as_ref()).await
    }

    async fn ping(&self) -> Result<()> {
        self.pool
            .run(|c| async move {
                let st = c.stmt(Stmt::Ping).await?;
                c.client.query_one(st, &[]).await.map(drop)
            })
            .await
    }

    fn close(&self) {
        self.stop.cancel();
        if let Some(a) = &self.advisory {
            a.close();
        }
    }
}

impl Drop for PostgresBackend {
    fn drop(&mut self) {
        self.close();
    }
}
