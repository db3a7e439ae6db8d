//! The provider's one listening connection: `LISTEN ferrolock_<schema>`,
//! whose notifications (a released key) wake this process's waiters of
//! that key, and `LISTEN ferrolock_g_<provider>`, the provider's own
//! channel, where a release tells that it handed the lock to one of this
//! provider's queued waiters (a grant: kept in `waiters`, and the waiter
//! woken). It listens only while someone in this process waits
//! ([`Listening`]): every release notifies, and PostgreSQL wakes every
//! session that listens to anything in the database at each notification
//! (each filters the channels itself), so a provider with nobody waiting
//! (the uncontended path, a fleet of idle services) costs the server and
//! itself nothing per release.
//!
//! Reconnects after a gap and then wakes every waiter, since notices may
//! have been missed meanwhile; the engine's backoff poll covers the gap, and
//! a waiter's own attempt finds a lease handed to it.

use super::conn::Connector;
use crate::backend::waiters::{parse_grant, Waiters};
use crate::notices::Notices;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Weak};
use std::time::Duration;
use tokio::sync::{mpsc, oneshot, Notify};
use tokio_util::sync::CancellationToken;

/// How long the channels stay listened to after the last wait ended (a
/// burst of contention does not LISTEN and UNLISTEN at every wait).
const LINGER: Duration = Duration::from_secs(5);

/// Whether the channels are listened to, and the way a waiter asks for it.
#[derive(Default)]
pub(crate) struct Listening {
    on: AtomicBool,
    /// A waiter wants it listened to.
    want: Notify,
    /// Told when `on` becomes true.
    ready: Notify,
}

impl Listening {
    /// Called by a waiter (registered with `Notices` first) before each
    /// attempt: once it returns, a release after the attempt is heard. Waits
    /// at most `bound` (a listener that is reconnecting); past it, the
    /// engine's backoff poll serves.
    pub(crate) async fn ensure(&self, bound: Duration) {
        if self.is_on() {
            return;
        }
        let ready = self.ready.notified();
        tokio::pin!(ready);
        ready.as_mut().enable();
        if self.is_on() {
            return;
        }
        self.want.notify_one();
        let _ = tokio::time::timeout(bound, ready).await;
    }

    fn is_on(&self) -> bool {
        self.on.load(Ordering::SeqCst)
    }

    fn set_on(&self) {
        self.on.store(true, Ordering::SeqCst);
        self.ready.notify_waiters();
    }
}

pub(crate) struct Listener {
    pub connector: Connector,
    pub channel: String,
    /// This provider's grant channel.
    pub grants: String,
    pub waiters: Weak<Waiters>,
    pub notices: Arc<Notices>,
    pub listening: Arc<Listening>,
    pub stop: CancellationToken,
}

impl Listener {
    /// Listen until `stop`; `listening` is told once the first LISTEN is
    /// made (or failed), so that `open` can wait for it.
    pub(crate) async fn run(self, listening: oneshot::Sender<()>) {
        let mut listening = Some(listening);
        let mut first = true;
        loop {
            let (tx, mut rx) = mpsc::unbounded_channel();
            let client = tokio::select! {
                c = self.connector.connect(Some(tx)) => c.ok(),
                _ = self.stop.cancelled() => return,
            };
            if let Some(tx) = listening.take() {
                let _ = tx.send(());
            }
            if let Some(client) = client {
                let listen = format!("LISTEN \"{}\"; LISTEN \"{}\"", self.channel, self.grants);
                let unlisten = "UNLISTEN *";
                if self.notices.anyone_waiting() && client.batch_execute(&listen).await.is_ok() {
                    self.listening.set_on();
                }
                if !first {
                    self.notices.changed();
                }
                first = false;
                // Checked every LINGER while listening (not reset by notices:
                // other processes' releases keep coming while nobody here waits).
                let linger = tokio::time::sleep(LINGER);
                tokio::pin!(linger);
                loop {
                    tokio::select! {
                        notice = rx.recv() => match notice {
                            Some(n) if n.channel == self.grants => {
                                let Some((key, owner, lease)) = parse_grant(&n.payload) else { continue };
                                let Some(waiters) = self.waiters.upgrade() else { return };
                                if waiters.granted(&owner, key, lease) {
                                    self.notices.freed(key);
                                }
                            }
                            Some(n) => self.notices.freed(&n.payload),
                            // The connection closed: reconnect.
                            None => break,
                        },
                        _ = self.listening.want.notified(), if !self.listening.is_on() => {
                            if client.batch_execute(&listen).await.is_err() {
                                break;
                            }
                            self.listening.set_on();
                            linger.as_mut().reset(tokio::time::Instant::now() + LINGER);
                        }
                        _ = &mut linger, if self.listening.is_on() => {
                            linger.as_mut().reset(tokio::time::Instant::now() + LINGER);
                            // Nobody waits: stop listening, unless a waiter
                            // came meanwhile (it checks `on` after it
                            // registered; this checks for it after `on` is
                            // false, so one of the two sees the other).
                            if self.notices.anyone_waiting() {
                                continue;
                            }
                            self.listening.on.store(false, Ordering::SeqCst);
                            if self.notices.anyone_waiting() {
                                self.listening.set_on();
                            } else if client.batch_execute(unlisten).await.is_err() {
                                break;
                            }
                        }
                        _ = self.stop.cancelled() => return,
                    }
                }
            }
            self.listening.on.store(false, Ordering::SeqCst);
            tokio::select! {
                _ = tokio::time::sleep(Duration::from_millis(250)) => {}
                _ = self.stop.cancelled() => return,
            }
        }
    }
}
