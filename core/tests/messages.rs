//! Errors say what is true: a scope whose body released its own lock ends
//! well; a backend left out of a build names its feature.

use ferrolock::{Error, Locks};
use std::time::Duration;

#[tokio::test]
async fn a_body_that_releases_its_lock_ends_its_scope_without_lost() {
    let locks = Locks::connect("memory://messages-release").await.unwrap();
    let lock = locks.lock("a");
    // The scoped forms of the bindings (Python `with`, Node `run`, C
    // `ferrolock_run`): the body releases, then the scope finishes.
    let held = lock.try_acquire().await.unwrap().unwrap();
    assert!(held.release_ref().await.unwrap());
    held.finish(false).await.unwrap();
    // Handed off inside the body: the scope ends well too, and the lock stays held.
    let held = lock.try_acquire().await.unwrap().unwrap();
    let token = held.take_token().unwrap();
    held.finish(false).await.unwrap();
    assert!(locks.resume(&token).await.unwrap().release().await.unwrap());
}

#[tokio::test]
async fn a_force_released_lock_says_so_among_the_causes() {
    let locks = Locks::connect("memory://messages-force").await.unwrap();
    let held = locks.lock("a").try_acquire().await.unwrap().unwrap();
    assert!(locks.force_release("a").await.unwrap());
    let err = held.refresh(Duration::from_secs(5)).await.unwrap_err();
    assert!(matches!(err, Error::Lost { .. }), "{err:?}");
    assert!(err.to_string().contains("force-released"), "{err}");
    let err = held.finish(false).await.unwrap_err();
    assert!(err.to_string().contains("force-released"), "{err}");
}

// Every backend is written now; the one this build leaves out (Couchbase,
// too heavy for the everyday build) names the feature to rebuild with.
#[cfg(not(feature = "couchbase"))]
#[tokio::test]
async fn a_backend_built_without_names_its_feature() {
    let err = Locks::connect("couchbase://db/bucket").await.unwrap_err();
    assert_eq!(err.code(), "UNSUPPORTED");
    let msg = err.to_string();
    assert!(msg.contains("rebuild with it: --features couchbase") && !msg.contains("planned"), "{msg}");
}
