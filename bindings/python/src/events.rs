//! `Events`: a subscription the Python side reads on a thread of its own
//! and hands to the callbacks of `locks.on(kind, fn)`.

use crate::runtime::{self, Owned};
use pyo3::prelude::*;
use std::sync::Mutex;

/// `(kind, namespace, name, fence, mode, holder)`.
type EventTuple = (&'static str, String, String, u64, &'static str, String);

fn tuple(e: ferrolock::Event) -> EventTuple {
    (e.kind.as_str(), e.namespace, e.name, e.fence, e.mode.as_str(), e.holder)
}

#[pyclass(frozen, module = "ferrolock._native")]
pub struct Events {
    /// Inherited through fork: never locked nor used in the child.
    inner: Owned<Mutex<ferrolock::Events>>,
}

impl Events {
    pub fn new(events: ferrolock::Events) -> Events {
        Events { inner: Owned::new(Mutex::new(events)) }
    }
}

#[pymethods]
impl Events {
    /// The next event, waiting up to `timeout` seconds; `None` if none came.
    fn next(&self, py: Python<'_>, timeout: f64) -> PyResult<Option<EventTuple>> {
        let limit = runtime::seconds(timeout, "timeout")?;
        if !self.inner.is_ours() {
            return Ok(None);
        }
        let rt = runtime::runtime();
        Ok(py.detach(|| {
            let mut events = self.inner.get().lock().unwrap_or_else(|e| e.into_inner());
            match rt.block_on(async { tokio::time::timeout(limit, events.recv()).await }) {
                Ok(Some(e)) => Some(tuple(e)),
                _ => None,
            }
        }))
    }

    /// The next event if one is ready, without waiting.
    fn try_next(&self) -> Option<EventTuple> {
        if !self.inner.is_ours() {
            return None;
        }
        self.inner.get().lock().unwrap_or_else(|e| e.into_inner()).try_recv().map(tuple)
    }
}
