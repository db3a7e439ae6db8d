//! The pub/sub listener of one server: release notices wake this process's
//! waiters of a key; grants on this provider's own channel are kept for the
//! waiter they name. Reconnects, and wakes every waiter after a gap (notices
//! may have been missed).

use super::conn::{client, Certs, CONNECT_TIMEOUT};
use super::scripts::{parse_grant, CHANNEL, GRANT_PREFIX};
use crate::backend::waiters::Waiters;
use crate::notices::Notices;
use futures_util::StreamExt as _;
use std::sync::{Arc, Weak};
use std::time::Duration;
use tokio::sync::oneshot;
use tokio_util::sync::CancellationToken;

pub(crate) struct Listener {
    pub url: String,
    pub certs: Option<Certs>,
    /// The provider's id: its grant channel's suffix.
    pub provider: String,
    pub waiters: Weak<Waiters>,
    pub notices: Arc<Notices>,
    pub stop: CancellationToken,
}

impl Listener {
    /// Listen until `stop`; `subscribed` is told once the first subscription
    /// is made (or failed), so that `open` waits for it.
    pub(crate) async fn run(self, subscribed: oneshot::Sender<()>) {
        let mut first = true;
        let mut subscribed = Some(subscribed);
        let grants = format!("{GRANT_PREFIX}{}", self.provider);
        loop {
            let subscribe = async {
                let mut pubsub = client(&self.url, self.certs.as_ref())?.get_async_pubsub().await?;
                pubsub.subscribe(CHANNEL).await?;
                pubsub.subscribe(&grants).await?;
                Ok::<_, redis::RedisError>(pubsub)
            };
            let pubsub = tokio::select! {
                r = tokio::time::timeout(CONNECT_TIMEOUT, subscribe) => r.ok().and_then(|r| r.ok()),
                _ = self.stop.cancelled() => return,
            };
            if let Some(tx) = subscribed.take() {
                // Connected (or not, this time): `open` waits no longer.
                let _ = tx.send(());
            }
            if let Some(mut pubsub) = pubsub {
                if !first {
                    // Notices may have been missed while disconnected.
                    self.notices.changed();
                }
                first = false;
                let mut messages = pubsub.on_message();
                loop {
                    tokio::select! {
                        msg = messages.next() => match msg {
                            Some(m) => {
                                let Ok(payload) = m.get_payload::<String>() else { continue };
                                if m.get_channel_name() == CHANNEL {
                                    let Some(waiters) = self.waiters.upgrade() else { return };
                                    waiters.notice(&payload);
                                    self.notices.freed(&payload);
                                } else if let Some((key, owner, lease)) = parse_grant(&payload) {
                                    // Ours: keep it for the waiter's next attempt and wake it.
                                    let Some(waiters) = self.waiters.upgrade() else { return };
                                    if waiters.granted(&owner, key, lease) {
                                        self.notices.freed(key);
                                    }
                                }
                            }
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
