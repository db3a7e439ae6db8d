//! The provider's one listening connection: `LISTEN ferrolock_<schema>`;
//! each notification (a released key) wakes this process's waiters of that
//! key. Reconnects after a gap and then wakes every waiter, since notices
//! may have been missed meanwhile; the engine's backoff poll covers the gap.

use super::conn::Connector;
use crate::notices::Notices;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::{mpsc, oneshot};
use tokio_util::sync::CancellationToken;

pub(crate) struct Listener {
    pub connector: Connector,
    pub channel: String,
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
                client.batch_execute(&format!("LISTEN \"{}\"", self.channel)).await.ok()?;
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
                        key = rx.recv() => match key {
                            Some(key) => self.notices.freed(&key),
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
