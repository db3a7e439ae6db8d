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

/// A lock is checked once, at its first operation; a builder method that
/// changes what is checked (ttl, mode, holder) makes it checked again.
#[tokio::test]
async fn a_lock_changed_after_use_is_checked_again() {
    let locks = Locks::connect("memory://checked-again").await.unwrap();
    let lock = locks.lock("a");
    assert!(lock.try_acquire().await.unwrap().unwrap().release().await.unwrap());
    let err = lock.clone().ttl(Duration::ZERO).try_acquire().await.unwrap_err();
    assert_eq!(err.code(), "INVALID_ARGUMENT", "{err}");
    let err = lock.clone().holder("a\nb").try_acquire().await.unwrap_err();
    assert_eq!(err.code(), "INVALID_ARGUMENT", "{err}");
    // The checked original still works.
    assert!(lock.try_acquire().await.unwrap().unwrap().release().await.unwrap());
    locks.close().await;
}

/// The watchdog reuses the place of a handle that is gone (the common
/// acquire, release, acquire…) without losing the handles that live on.
#[tokio::test]
async fn renewal_survives_handles_coming_and_going() {
    let locks = Locks::connect("memory://renewal-churn").await.unwrap();
    let short = |name: &str| locks.lock(name).ttl(Duration::from_millis(300));
    let kept = short("kept").try_acquire().await.unwrap().unwrap();
    // A released handle the caller still has: not renewed, not reused.
    let released = short("released").try_acquire().await.unwrap().unwrap();
    assert!(released.release_ref().await.unwrap());
    for _ in 0..1000 {
        assert!(short("churn").try_acquire().await.unwrap().unwrap().release().await.unwrap());
    }
    let last = short("last").try_acquire().await.unwrap().unwrap();
    // Longer than a ttl: only renewals keep them.
    tokio::time::sleep(Duration::from_millis(450)).await;
    assert!(!kept.is_lost() && !last.is_lost());
    assert!(kept.release().await.unwrap(), "the kept handle was renewed");
    assert!(last.release().await.unwrap(), "the handle registered last was renewed");
    locks.close().await;
}

/// A provider on a `blocking::Driven` runtime (what the synchronous bindings
/// connect with): its callers drive it, and between their calls its
/// background thread does, so renewals go on while nobody calls, a handle
/// dropped outside any call is released, and several threads can call at
/// once.
#[test]
fn a_driven_provider_works_between_and_across_its_callers() {
    let driven = ferrolock::blocking::Driven::new("ferrolock-test-driven");
    let locks = driven.block_on(Locks::connect("memory://driven")).unwrap();
    // A 300 ms ttl outlived with no call at all: only the background thread renews it.
    let held = driven.block_on(locks.lock("renewed").ttl(Duration::from_millis(300)).try_acquire()).unwrap().unwrap();
    std::thread::sleep(Duration::from_millis(900));
    assert!(!held.is_lost(), "not renewed between calls");
    assert!(driven.block_on(held.release()).unwrap());
    // A handle dropped outside any call: released by the background thread.
    let dropped = driven.block_on(locks.lock("dropped").try_acquire()).unwrap().unwrap();
    drop(dropped);
    let next = driven.block_on(locks.lock("dropped").acquire(Duration::from_secs(10))).unwrap();
    assert!(driven.block_on(next.release()).unwrap());
    // Four threads on one lock, each waiting in its own call: every
    // acquisition exclusive, none lost.
    let inside = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let threads: Vec<_> = (0..4)
        .map(|_| {
            let (driven, locks, inside) = (driven.clone(), locks.clone(), inside.clone());
            std::thread::spawn(move || {
                for _ in 0..50 {
                    let h = driven.block_on(locks.lock("shared").acquire(Duration::from_secs(30))).unwrap();
                    assert_eq!(inside.fetch_add(1, std::sync::atomic::Ordering::SeqCst), 0, "two holders at once");
                    inside.fetch_sub(1, std::sync::atomic::Ordering::SeqCst);
                    assert!(driven.block_on(h.release()).unwrap());
                }
            })
        })
        .collect();
    for t in threads {
        t.join().unwrap();
    }
    assert_eq!(driven.block_on(locks.lock("shared").try_acquire()).unwrap().unwrap().fence(), 201);
    driven.block_on(locks.close());
    driven.stop();
}

/// A blocking memory call that does not wait needs no `block_on`: it works
/// on a thread that runs a runtime (a callback of an async host, a binding
/// called back from the shared runtime's worker), where tokio refuses one.
#[test]
fn blocking_memory_calls_work_on_a_runtime_thread() {
    let locks = ferrolock::blocking::Locks::connect("memory://on-a-runtime-thread").unwrap();
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    rt.block_on(async {
        let lock = locks.lock("k");
        let held = lock.try_acquire().unwrap().expect("free");
        assert!(lock.try_acquire().unwrap().is_none());
        held.refresh(Duration::from_secs(5)).unwrap();
        let token = held.into_token().unwrap();
        let held = locks.resume(&token).unwrap();
        assert!(matches!(locks.state("k").unwrap(), ferrolock::LockState::Held { .. }));
        assert!(held.release().unwrap());
        let held = lock.acquire(Duration::from_secs(1)).unwrap();
        assert!(held.release().unwrap());
    });
}

/// An installed `metrics` recorder gets a provider's figures: the
/// acquisition and release counters, and the hold time at release.
#[test]
fn a_metrics_recorder_gets_acquisitions_and_hold_times() {
    use metrics::{Counter, CounterFn, Gauge, Histogram, HistogramFn, Key, KeyName, Metadata, Recorder, SharedString, Unit};
    use std::sync::{Arc, Mutex};

    /// Every value recorded, by metric name.
    #[derive(Default)]
    struct Seen(Mutex<Vec<(String, f64)>>);
    struct Handle(Arc<Seen>, String);
    impl CounterFn for Handle {
        fn increment(&self, value: u64) {
            self.0 .0.lock().unwrap().push((self.1.clone(), value as f64));
        }
        fn absolute(&self, value: u64) {
            self.increment(value)
        }
    }
    impl HistogramFn for Handle {
        fn record(&self, value: f64) {
            self.0 .0.lock().unwrap().push((self.1.clone(), value));
        }
    }
    struct Rec(Arc<Seen>);
    impl Recorder for Rec {
        fn describe_counter(&self, _: KeyName, _: Option<Unit>, _: SharedString) {}
        fn describe_gauge(&self, _: KeyName, _: Option<Unit>, _: SharedString) {}
        fn describe_histogram(&self, _: KeyName, _: Option<Unit>, _: SharedString) {}
        fn register_counter(&self, key: &Key, _: &Metadata<'_>) -> Counter {
            Counter::from_arc(Arc::new(Handle(self.0.clone(), key.name().to_owned())))
        }
        fn register_gauge(&self, _: &Key, _: &Metadata<'_>) -> Gauge {
            Gauge::noop()
        }
        fn register_histogram(&self, key: &Key, _: &Metadata<'_>) -> Histogram {
            Histogram::from_arc(Arc::new(Handle(self.0.clone(), key.name().to_owned())))
        }
    }

    let seen = Arc::new(Seen::default());
    let recorder = Rec(seen.clone());
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    // The provider takes its handles from the recorder when it connects.
    let locks = metrics::with_local_recorder(&recorder, || rt.block_on(Locks::connect("memory://metrics")).unwrap());
    rt.block_on(async {
        let held = locks.lock("a").try_acquire().await.unwrap().unwrap();
        tokio::time::sleep(Duration::from_millis(120)).await;
        assert!(held.release().await.unwrap());
    });
    let seen = seen.0.lock().unwrap().clone();
    let of = |name: &str| seen.iter().filter(|(n, _)| n == name).map(|(_, v)| *v).collect::<Vec<_>>();
    assert_eq!(of("ferrolock_acquired_total"), [1.0], "{seen:?}");
    assert_eq!(of("ferrolock_released_total"), [1.0], "{seen:?}");
    let hold = of("ferrolock_hold_seconds");
    // Held 120 ms, by a clock of a few milliseconds' resolution.
    assert!(hold.len() == 1 && (0.1..5.0).contains(&hold[0]), "hold seconds: {hold:?}");
}
