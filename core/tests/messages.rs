//! Errors say what is true: a scope whose body released its own lock ends
//! well; a planned backend is not a feature to rebuild with.

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

#[tokio::test]
async fn a_planned_backend_does_not_send_the_user_to_rebuild() {
    let err = Locks::connect("couchbase://db/bucket").await.unwrap_err();
    assert_eq!(err.code(), "UNSUPPORTED");
    let msg = err.to_string();
    assert!(msg.contains("planned") && !msg.contains("rebuild with it"), "{msg}");
}
