//! Where `driver.rs` is not built (not Linux: it finds tokio's epoll
//! descriptor through `/proc`): no local runtime, every operation runs on
//! napi's runtime (see `runtime.rs`).

use crate::runtime::Done;
use napi::sys;
use std::sync::Arc;
use tokio::runtime::Handle;

pub struct TtlHold;

pub struct Local {
    pub handle: Handle,
}

impl Local {
    pub fn start(_env: sys::napi_env, _complete: sys::napi_value) -> Option<Arc<Local>> {
        None
    }

    pub fn spawn_now<F>(&self, fut: F)
    where
        F: std::future::Future<Output = ()> + Send + 'static,
    {
        self.handle.spawn(fut);
    }

    pub fn hold_ttl(self: &Arc<Self>, _ttl: std::time::Duration) -> Option<TtlHold> {
        None
    }

    pub fn deliver(&self, done: Done) -> std::result::Result<(), Done> {
        Err(done)
    }
}
