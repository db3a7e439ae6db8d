//! The connection: the SDK's cluster, its bucket's collection, a retry
//! strategy that never retries a locked document or a temporary failure
//! (the SDK's default retries both until the lock lapses, or forever), and
//! a bound on every call (the SDK has none of its own). Errors are
//! `Unavailable`, never with a password.

use super::url::CouchbaseTarget;
use crate::error::{Cause, Error, Result};
use couchbase::authenticator::PasswordAuthenticator;
use couchbase::cluster::Cluster;
use couchbase::collection::Collection;
use couchbase::error::ErrorKind;
use couchbase::options::cluster_options::{ClusterOptions, KvOptions};
use couchbase::options::diagnostic_options::WaitUntilReadyOptions;
use couchbase::retry::{
    BestEffortRetryStrategy, RetryAction, RetryReason, RetryRequest, RetryStrategy,
};
use couchbase::service_type::ServiceType;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

/// When a connect not yet ready gets a second attempt beside it.
const SECOND_ATTEMPT_AFTER: Duration = Duration::from_secs(2);

/// How long one SDK call may take (the SDK never gives up by itself).
pub(crate) const CALL_TIMEOUT: Duration = Duration::from_secs(5);

/// The SDK's best-effort strategy, except for a locked document and a
/// temporary failure: a lock attempt must answer "busy" at once (the
/// engine waits by its own backoff), not wait inside the SDK.
#[derive(Debug)]
struct NoLockRetries(BestEffortRetryStrategy<couchbase::retry::ExponentialBackoffCalculator>);

impl RetryStrategy for NoLockRetries {
    fn retry_after(&self, request: &RetryRequest, reason: &RetryReason) -> Option<RetryAction> {
        match reason {
            RetryReason::KvLocked | RetryReason::KvTemporaryFailure => None,
            _ => self.0.retry_after(request, reason),
        }
    }
}

pub(crate) struct Conn {
    pub target: Arc<CouchbaseTarget>,
    // Kept so that the cluster's connections live as long as the backend.
    _cluster: Cluster,
    pub collection: Collection,
}

/// An error of the SDK as `Unavailable` (the URL redacted).
pub(crate) fn unavailable(target: &CouchbaseTarget, e: impl std::fmt::Display) -> Error {
    let cause = Cause(e.to_string());
    Error::Unavailable {
        backend: "couchbase",
        message: format!("{}: {cause}", target.redacted),
        cause: Some(cause),
    }
}

impl Conn {
    /// Connect and wait until the bucket's KV service is ready, all within
    /// the URL's connect timeout.
    ///
    /// An attempt that is not ready after [`SECOND_ATTEMPT_AFTER`] gets a
    /// second one beside it, and the first ready wins: about one connect in
    /// fifteen to gocaves stalled for seconds (7.5 s once, 0.4 s usually)
    /// somewhere in the SDK's bootstrap, which the other attempt avoids.
    pub(crate) async fn open(target: &CouchbaseTarget) -> Result<Conn> {
        let target = Arc::new(target.clone());
        type Attempt =
            Pin<Box<dyn Future<Output = couchbase::error::Result<(Cluster, Collection)>> + Send>>;
        let attempt = |t: Arc<CouchbaseTarget>| -> Attempt {
            Box::pin(async move {
                let options =
                    ClusterOptions::new(PasswordAuthenticator::new(&t.user, &t.password).into())
                        .kv_options(KvOptions::new().connect_timeout(t.connect_timeout))
                        .default_retry_strategy(Arc::new(NoLockRetries(
                            BestEffortRetryStrategy::default(),
                        )));
                let cluster = Cluster::connect(t.connstr(), options).await?;
                let bucket = cluster.bucket(&t.bucket);
                bucket
                    .wait_until_ready(
                        WaitUntilReadyOptions::new().service_types(vec![ServiceType::KV]),
                    )
                    .await?;
                let collection = bucket.scope(&t.scope).collection(&t.collection);
                Ok((cluster, collection))
            })
        };
        let t = target.clone();
        let connecting = async move {
            let mut first = attempt(t.clone());
            tokio::select! {
                done = &mut first => return done,
                _ = tokio::time::sleep(SECOND_ATTEMPT_AFTER) => {}
            }
            let mut second = attempt(t);
            tokio::select! {
                done = &mut first => done,
                done = &mut second => done,
            }
        };
        match tokio::time::timeout(target.connect_timeout, connecting).await {
            Ok(Ok((cluster, collection))) => Ok(Conn { target, _cluster: cluster, collection }),
            Ok(Err(e)) => Err(unavailable(&target, e)),
            Err(_) => Err(unavailable(
                &target,
                format_args!(
                    "bucket {:?} not ready within {}s (connect_timeout): the cluster is unreachable, refused the user or password, or has no such bucket",
                    target.bucket,
                    target.connect_timeout.as_secs()
                ),
            )),
        }
    }

    /// One SDK call, bounded by [`CALL_TIMEOUT`]. `Ok(Err(kind))` is an
    /// answer of the server the caller judges (locked, exists, CAS mismatch…).
    ///
    /// The SDK's future is boxed: its type is so deeply nested that every
    /// future holding it would overflow the compiler's layout depth limit
    /// (in the crates using ferrolock too); a box per network call is nothing.
    pub(crate) fn call<'a, T: 'a>(
        &'a self,
        what: &'a str,
        f: impl Future<Output = couchbase::error::Result<T>> + Send + 'a,
    ) -> impl Future<Output = Result<std::result::Result<T, ErrorKind>>> + Send + 'a {
        let f: Pin<Box<dyn Future<Output = couchbase::error::Result<T>> + Send + 'a>> = Box::pin(f);
        async move {
            match tokio::time::timeout(CALL_TIMEOUT, f).await {
                Ok(Ok(v)) => Ok(Ok(v)),
                Ok(Err(e)) => Ok(Err(e.kind().clone())),
                Err(_) => Err(unavailable(
                    &self.target,
                    format_args!("{what}: no answer within {}s", CALL_TIMEOUT.as_secs()),
                )),
            }
        }
    }

    /// The error for a server answer the caller did not expect.
    pub(crate) fn unexpected(&self, what: &str, kind: ErrorKind) -> Error {
        unavailable(&self.target, format_args!("{what}: {kind}"))
    }
}
