//! Wake-ups for waiters: a waiter registers the key it waits for; a release
//! in this process, or a backend's release notice, wakes the waiters of that
//! key (or of every key, when the backend only knows that something changed).

use parking_lot::Mutex;
use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use tokio::sync::Notify;

#[derive(Default)]
pub(crate) struct Notices {
    keys: Mutex<HashMap<String, Arc<Notify>>>,
    waiting: AtomicUsize,
    /// A backend thread that watches for changes only while someone waits.
    watcher: Mutex<Option<std::thread::Thread>>,
}

pub(crate) struct Registration<'a> {
    notices: &'a Notices,
    key: &'a str,
    pub(crate) notify: Arc<Notify>,
}

impl Notices {
    pub(crate) fn register<'a>(&'a self, key: &'a str) -> Registration<'a> {
        let notify = self.keys.lock().entry(key.to_owned()).or_default().clone();
        if self.waiting.fetch_add(1, Ordering::SeqCst) == 0 {
            if let Some(t) = &*self.watcher.lock() {
                t.unpark();
            }
        }
        Registration { notices: self, key, notify }
    }

    /// Whether anyone in this process waits (backends poll only then).
    pub(crate) fn anyone_waiting(&self) -> bool {
        self.waiting.load(Ordering::SeqCst) > 0
    }

    #[cfg_attr(not(feature = "sqlite"), allow(dead_code))]
    pub(crate) fn set_watcher(&self, thread: std::thread::Thread) {
        *self.watcher.lock() = Some(thread);
    }

    /// `key` may have become free.
    pub(crate) fn freed(&self, key: &str) {
        if !self.anyone_waiting() {
            return;
        }
        if let Some(n) = self.keys.lock().get(key) {
            n.notify_waiters();
        }
    }

    /// Something changed somewhere: wake every waiter.
    #[cfg_attr(not(feature = "sqlite"), allow(dead_code))]
    pub(crate) fn changed(&self) {
        if !self.anyone_waiting() {
            return;
        }
        for n in self.keys.lock().values() {
            n.notify_waiters();
        }
    }
}

impl Drop for Registration<'_> {
    fn drop(&mut self) {
        self.notices.waiting.fetch_sub(1, Ordering::SeqCst);
        let mut keys = self.notices.keys.lock();
        // The map holds one reference and we hold one: nobody else waits.
        if Arc::strong_count(&self.notify) == 2 {
            keys.remove(self.key);
        }
    }
}
