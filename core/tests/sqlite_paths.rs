//! The errors a wrong SQLite path gives: a folder or a place that cannot be
//! written is `INVALID_ARGUMENT` naming it; `connect_existing` (the CLI's
//! release, refresh, state, force-release, list) never creates a database.
//! (A leading `~` is `$HOME`: the parser's unit test, and the CLI's and
//! Python's tests, which set HOME for a process of their own; here setting
//! it would race the other tests' reads of the environment.)
#![cfg(feature = "sqlite")]

use ferrolock::{Error, Locks};

#[tokio::test]
async fn connect_existing_does_not_create_a_database() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("typo.db");
    let err = Locks::connect_existing(&format!("sqlite://{}", path.display())).await.unwrap_err();
    assert!(matches!(err, Error::InvalidArgument(_)), "{err:?}");
    assert_eq!(err.exit_code(), 64);
    assert!(err.to_string().contains(&path.display().to_string()), "{err}");
    assert!(err.to_string().contains("does not exist"), "{err}");
    assert!(!path.exists(), "the database was created");

    // Once it exists, it opens.
    let locks = Locks::connect(&format!("sqlite://{}", path.display())).await.unwrap();
    locks.close().await;
    let locks = Locks::connect_existing(&format!("sqlite://{}", path.display())).await.unwrap();
    assert_eq!(locks.state("x").await.unwrap(), ferrolock::LockState::Free);
    locks.close().await;
}

#[tokio::test]
async fn a_folder_or_an_unwritable_path_is_invalid_and_named() {
    let dir = tempfile::tempdir().unwrap();
    let err = Locks::connect(&format!("sqlite://{}", dir.path().display())).await.unwrap_err();
    assert!(matches!(err, Error::InvalidArgument(_)), "{err:?}");
    assert!(err.to_string().contains(&dir.path().display().to_string()) && err.to_string().contains("folder"), "{err}");

    // A file where a folder should be.
    let file = dir.path().join("file");
    std::fs::write(&file, b"x").unwrap();
    let under = file.join("locks.db");
    let err = Locks::connect(&format!("sqlite://{}", under.display())).await.unwrap_err();
    assert!(matches!(err, Error::InvalidArgument(_)), "{err:?}");
    assert!(err.to_string().contains(&under.display().to_string()), "{err}");

    // A place no file can be made (even by root).
    let err = Locks::connect("sqlite:///proc/ferrolock-locks.db").await.unwrap_err();
    assert!(matches!(err, Error::InvalidArgument(_)), "{err:?}");
    assert!(err.to_string().contains("/proc/ferrolock-locks.db"), "{err}");

}
