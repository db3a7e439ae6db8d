//! Where `driver.rs` is not built (not Linux: it finds tokio's epoll
//! descriptor through `/proc`): no local runtime, every operation runs on
//! napi's runtime (see `runtime.rs`). Its own file so that `driver.rs`
//! needs no `cfg` on every item; it has the same names, and does nothing.

use napi::sys;
use std::sync::Arc;
use tokio::runtime::Handle;

/// As in `driver.rs`: `complete`'s three arguments, made on the JS thread.
pub type Outcome = Box<dyn FnOnce(sys::napi_env) -> Option<[sys::napi_value; 3]> + Send>;

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

    pub fn deliver(&self, done: Outcome) -> std::result::Result<(), Outcome> {
        Err(done)
    }
}
