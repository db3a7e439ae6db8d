//! Guards for backend operations whose caller may go while they are in
//! flight. An acquire future dropped mid-attempt (a `tokio::time::timeout`,
//! an abort, a binding's cancellation) must not leave behind what the
//! backend granted meanwhile: a lease nobody will release before its ttl, a
//! queue entry that holds up everyone behind it. Written once here, for
//! every backend: the operation is polled in place, and if it is dropped
//! unfinished it runs to its end in the provider's background and what it
//! got is given back. A queued waiter's place is left only after its
//! attempt has finished: an attempt is also the waiter's heartbeat, which
//! would otherwise write the place back after it was left.

use crate::backend::{Attempt, Drive};
use crate::error::Result;
use crate::provider::Inner;
use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll};

/// What an unfinished operation got, and how to give it back.
pub(crate) trait GiveBack: Send + Sized + 'static {
    /// The queue place this result holds, besides the one the caller had.
    fn ticket(&self) -> Option<u64>;
    /// Release what this result holds but its queue place.
    fn release<'a>(self, inner: &'a Inner, key: &'a str, owner: &'a [u8; 16]) -> impl Future<Output = ()> + Send + 'a;
}

impl GiveBack for Attempt {
    fn ticket(&self) -> Option<u64> {
        match self {
            Attempt::Queued { ticket, .. } => Some(*ticket),
            _ => None,
        }
    }
    async fn release(self, inner: &Inner, key: &str, owner: &[u8; 16]) {
        if let Attempt::Granted(lease) = self {
            let _ = inner.backend.release(key, owner, &lease.proof).await;
            inner.notices.freed(key);
        }
    }
}

/// A queue ticket: the place is all it holds.
impl GiveBack for u64 {
    fn ticket(&self) -> Option<u64> {
        Some(*self)
    }
    async fn release(self, _inner: &Inner, _key: &str, _owner: &[u8; 16]) {}
}

/// Leave the queue, and wake who our place held up.
pub(crate) async fn leave(inner: &Inner, key: &str, ticket: u64) {
    let _ = inner.backend.leave(key, ticket).await;
    // Our place may have held up others.
    inner.notices.freed(key);
}

type Op<T> = Pin<Box<dyn Future<Output = Result<T>> + Send>>;

/// One guarded operation on `key` for `owner`.
pub(crate) struct InFlight<T: GiveBack> {
    op: Option<Op<T>>,
    inner: Arc<Inner>,
    key: Arc<str>,
    owner: [u8; 16],
    /// The caller's place in the queue, left after `op` if the caller goes.
    ticket: Option<u64>,
    /// Set when the caller goes (`AcquireRequest::gone`).
    gone: Option<Arc<AtomicBool>>,
}

/// Run `op` (which owns what it needs) under a guard for `owner`, whose
/// place in the queue, if any, is `ticket`; `gone` is set if the caller
/// goes while it is in flight. On a backend whose operations finish when
/// first polled, no guard is needed and none is paid for.
pub(crate) async fn guarded<T, F>(
    inner: &Arc<Inner>,
    key: &Arc<str>,
    owner: &[u8; 16],
    ticket: Option<u64>,
    gone: Option<Arc<AtomicBool>>,
    op: F,
) -> Result<T>
where
    T: GiveBack,
    F: Future<Output = Result<T>> + Send + 'static,
{
    if inner.drive == Drive::Inline {
        return op.await;
    }
    InFlight { op: Some(Box::pin(op)), inner: inner.clone(), key: key.clone(), owner: *owner, ticket, gone }.await
}

/// Leave the queue in the background (a wait that ended without the lock).
pub(crate) fn leave_later(inner: &Arc<Inner>, key: Arc<str>, ticket: u64) {
    let i = inner.clone();
    inner.runtime.spawn(inner.background.track_future(async move { leave(&i, &key, ticket).await }));
}

impl<T: GiveBack> Future for InFlight<T> {
    type Output = Result<T>;
    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Result<T>> {
        let Some(op) = self.op.as_mut() else { return Poll::Pending };
        let out = op.as_mut().poll(cx);
        if out.is_ready() {
            self.op = None;
        }
        out
    }
}

impl<T: GiveBack> Drop for InFlight<T> {
    fn drop(&mut self) {
        let Some(op) = self.op.take() else { return };
        if let Some(gone) = &self.gone {
            gone.store(true, Ordering::Release);
        }
        let (inner, key, owner, mut ticket) = (self.inner.clone(), self.key.clone(), self.owner, self.ticket);
        self.inner.runtime.spawn(self.inner.background.track_future(async move {
            if let Ok(got) = op.await {
                ticket = ticket.or(got.ticket());
                got.release(&inner, &key, &owner).await;
            }
            if let Some(t) = ticket {
                leave(&inner, &key, t).await;
            }
        }));
    }
}
