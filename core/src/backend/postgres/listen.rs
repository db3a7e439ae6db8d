//! The provider's one listening connection: `LISTEN ferrolock_<schema>`,
//! whose notifications (a released key) wake this process's waiters of that
//! key, and `LISTEN ferrolock_g_<provider>`, the provider's own channel,
//! where a release tells that it handed the lock to one of this provider's
//! queued waiters (a grant: kept in `waiters`, and the waiter woken).
//! Reconnects after a gap and then wakes every waiter, since notices may
//! have been missed meanwhile; the engine's backoff poll covers the gap, and
//! a waiter's own attempt finds a lease handed to it.

use super::conn::Connector;
use crate::backend::waiters::{parse_grant, Waiters};
use crate::notices::Notices;
use std::sync::{Arc, Weak};
use std::time::Duration;
use tokio::sync::{mpsc, oneshot};
use tokio_util::sync::CancellationToken;

pub(crate) struct Listener {
    pub connector: Connector,
    pub channel: String,
    /// This provider's grant channel.
    pub grants: String,
    pub waiters: Weak<Waiters>,
    pub notices: Arc<Notices>,
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
            let connected = async {
                let client = self.connector.connect(Some(tx)).await.ok()?;
                client.batch_execute(&format!("LISTEN \"{}\"; LISTEN \"{}\"", self.channel, self.grants)).await.ok()?;
                Some(client)
            };
            let client = tokio::select! {
                c = connected => c,
                _ = self.stop.cancelled() => return,
            };
            if let Some(tx) = listening.take() {
                let _ = tx.send(());
            }
            if let Some(_client) = client {
                if !first {
                    self.notices.changed();
                }
                first = false;
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
                        _ = self.stop.cancelled() => return,
                    }
                }
            }
            tokio::select! {
                _ = tokio::time::sleep(Duration::from_millis(250)) => {}
                _ = self.stop.cancelled() => return,
            }
        }
    }
}
