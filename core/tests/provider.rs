//! A provider's own tasks belong to it.

use ferrolock::Locks;
use std::time::Duration;

/// Dropping the last handle of a provider that was never closed ends its
/// renewal watchdog (and every other task it started).
#[test]
fn dropping_the_last_handle_ends_the_providers_tasks() {
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    rt.block_on(async {
        let alive = || tokio::runtime::Handle::current().metrics().num_alive_tasks();
        assert_eq!(alive(), 0);
        let locks = Locks::connect("memory://provider-tasks").await.unwrap();
        let held = locks.lock("a").ttl(Duration::from_millis(300)).try_acquire().await.unwrap().unwrap();
        // The watchdog renews it (so its task is alive and working).
        tokio::time::sleep(Duration::from_millis(450)).await;
        assert!(!held.is_lost());
        assert!(alive() >= 1, "the watchdog runs while the provider lives");
        assert!(held.release().await.unwrap());
        drop(locks);
        // Let the ended tasks be reaped.
        for _ in 0..100 {
            if alive() == 0 {
                break;
            }
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        assert_eq!(alive(), 0, "a task of the dropped provider is still alive");
    });
}
