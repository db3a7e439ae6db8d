//! What a SQLite path in a URL means, and the errors a wrong one gives: a
//! leading `~` is the home folder; a folder or a place that cannot be written
//! is `INVALID_ARGUMENT` naming it; `connect_existing` (the CLI's release,
//! refresh, state, force-release, list) never creates a database.
#![cfg(feature = "sqlite")]

use ferrolock::{Error, Locks};

#[tokio::test]
async fn a_tilde_is_the_home_folder() {
    let home = tempfile::tempdir().unwrap();
    let cwd = std::env::current_dir().unwrap();
    // SAFETY: this test binary's other tests read no environment variable.
    unsafe { std::env::set_var("HOME", home.path()) };
    let locks = Locks::connect("sqlite://~/sub/locks.db").await.unwrap();
    assert!(locks.lock("a").try_acquire().await.unwrap().unwrap().release().await.unwrap());
    locks.close().await;
    assert!(home.path().join("sub/locks.db").is_file());
    assert!(!cwd.join("~").exists(), "a folder named ~ was made in {}", cwd.display());
}

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
