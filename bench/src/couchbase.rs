//! Benchmarks 7 and 8: Couchbase, on the gocaves mock cluster
//! `bench/run-couchbase` starts (the real KV protocol; the mock's own speed
//! is in both figures alike).
//!
//! 7. `mode=getl`: an uncontended `try_acquire()` + `release()` pair against
//!    a plain `couchbase` crate loop doing the same calls with the same round
//!    trips: `get_and_lock`, then the fence counter's `increment` and the
//!    holder document's `upsert` at once, then `unlock`. Target: at most 1.1x.
//! 8. `mode=lease`: the same pair against the crate doing what the lease
//!    mode does: `get` and `replace` with the CAS (the lease added, the fence
//!    bumped), then `get` and `replace` (the lease removed). Target: at most 1.15x.
//!
//! The documents below are shaped as core/src/backend/couchbase writes them;
//! if core changes them, change them here.

use crate::memory::ferrolock_pairs;
use crate::report::Row;
use crate::stats::{fmt_ns, interleaved, Case, Plan};
use couchbase::authenticator::PasswordAuthenticator;
use couchbase::cluster::Cluster;
use couchbase::collection::Collection;
use couchbase::options::cluster_options::ClusterOptions;
use couchbase::options::diagnostic_options::WaitUntilReadyOptions;
use couchbase::options::kv_binary_options::IncrementOptions;
use couchbase::options::kv_options::{ReplaceOptions, UpsertOptions};
use couchbase::service_type::ServiceType;
use serde_json::{json, Value};
use std::hint::black_box;
use std::time::{Duration, Instant};

fn now_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(0)
}

/// The getl floor: one uncontended get-and-lock pair with the fence.
async fn raw_getl(c: &Collection, key: &str, holder: &str) {
    let cas = c
        .get_and_lock(key, Duration::from_secs(30), None)
        .await
        .expect("get_and_lock")
        .cas();
    let expires_at_ms = now_ms() + 30_000;
    let info = json!({"cas": cas.to_string(), "holder": holder, "expires_at_ms": expires_at_ms});
    let fence_key = format!("fence:{key}");
    let holder_key = format!("holder:{key}");
    let binary = c.binary();
    let (fence, noted) = tokio::join!(
        binary.increment(&fence_key, IncrementOptions::new().initial(1).delta(1)),
        c.upsert(
            &holder_key,
            info,
            UpsertOptions::new().expiry(Duration::from_secs(30))
        ),
    );
    black_box(fence.expect("increment").content());
    noted.expect("upsert");
    c.unlock(key, cas, None).await.expect("unlock");
}

/// The lease floor: read, add a lease with fence + 1, replace with the CAS;
/// read, remove it, replace with the CAS.
async fn raw_lease(c: &Collection, key: &str, holder: &str, seed: &mut u64) {
    let owner: String = crate::memory::next_owner(seed)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    let r = c.get(key, None).await.expect("get");
    let mut doc: Value = r.content_as().expect("the lease document");
    let fence = doc["fence"].as_u64().unwrap_or(0) + 1;
    doc["fence"] = fence.into();
    let now = now_ms();
    doc["leases"] = json!([{"owner": owner, "mode": "x", "holder": holder, "fence": fence, "expires_at_ms": now + 30_000}]);
    c.replace(key, &doc, ReplaceOptions::new().cas(r.cas()))
        .await
        .expect("replace (acquire)");
    let r = c.get(key, None).await.expect("get");
    let mut doc: Value = r.content_as().expect("the lease document");
    doc["leases"] = json!([]);
    c.replace(key, &doc, ReplaceOptions::new().cas(r.cas()))
        .await
        .expect("replace (release)");
}

/// `getl_url`: a `couchbase://user:password@hosts/bucket` URL (mode=getl).
pub fn run(plan: Plan, getl_url: &str, details: &mut String) -> Vec<Row> {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let ns = format!("bench{}", std::process::id());
    let sep = if getl_url.contains('?') { '&' } else { '?' };
    // A namespace per mode: the two modes' documents differ (a key is
    // locked in one mode only).
    let lease_url = format!("{getl_url}{sep}mode=lease&namespace={ns}-lease");
    let getl_url = format!("{getl_url}{sep}namespace={ns}");
    let (getl_locks, lease_locks) = rt.block_on(async {
        let g = ferrolock::Locks::connect(&getl_url)
            .await
            .expect("connect couchbase (getl)");
        let l = ferrolock::Locks::connect(&lease_url)
            .await
            .expect("connect couchbase (lease)");
        (g, l)
    });

    // The floors' own connection, with the SDK's defaults (its retry
    // strategy is not in play: nothing is contended).
    let (hosts, bucket, user, password) = {
        let rest = getl_url
            .strip_prefix("couchbase://")
            .expect("a couchbase:// URL");
        let (auth, rest) = rest.split_once('@').expect("user:password@");
        let (user, password) = auth.split_once(':').expect("user:password");
        let (hosts, rest) = rest.split_once('/').expect("/bucket");
        let bucket = rest.split('?').next().unwrap_or_default();
        (
            hosts.to_owned(),
            bucket.to_owned(),
            user.to_owned(),
            password.to_owned(),
        )
    };
    let (_cluster, collection) = rt.block_on(async {
        let options = ClusterOptions::new(PasswordAuthenticator::new(&user, &password).into());
        let cluster = Cluster::connect(format!("couchbase://{hosts}"), options)
            .await
            .expect("connect the floor");
        let b = cluster.bucket(&bucket);
        b.wait_until_ready(WaitUntilReadyOptions::new().service_types(vec![ServiceType::KV]))
            .await
            .expect("bucket ready");
        let c = b.default_collection();
        (cluster, c)
    });
    let holder = format!("{}:{}", crate::sqlite::hostname(), std::process::id());
    // Every call of a case (its warm-up's and each round's) works on keys
    // of its own: gocaves slows down on a document with a long history, so
    // a case that had done more operations on its key would measure slower.
    let fresh = std::cell::Cell::new(0u64);
    let next = || {
        fresh.set(fresh.get() + 1);
        fresh.get()
    };
    let mut seed = 0x9E37_79B9_7F4A_7C15u64;

    let rt = &rt;
    let (c, h, ns) = (&collection, &holder, &ns);
    let (next, getl_locks_ref, lease_locks_ref) = (&next, &getl_locks, &lease_locks);
    let mut cases: Vec<Case<'_>> = vec![
        Box::new(|n| {
            rt.block_on(async {
                // Made before timing, as ferrolock makes its lock document
                // on first use (below, also before timing).
                let key = format!("__lock:{ns}:floor-getl-{}", next());
                c.upsert(&key, json!({}), None)
                    .await
                    .expect("create the floor's lock document");
                let t = Instant::now();
                for _ in 0..n {
                    raw_getl(c, &key, h).await;
                }
                t.elapsed()
            })
        }),
        Box::new(|n| {
            // ttl 30 s (the longest get-and-lock takes), as the floor's.
            let lock = getl_locks_ref
                .lock(format!("bench-{}", next()))
                .ttl(Duration::from_secs(30));
            rt.block_on(async {
                let first = lock
                    .try_acquire()
                    .await
                    .expect("create the lock document")
                    .expect("free");
                assert!(first.release().await.expect("release"));
                ferrolock_pairs(&lock, n).await
            })
        }),
        Box::new(|n| {
            rt.block_on(async {
                let key = format!("__lock:{ns}:floor-lease-{}", next());
                c.upsert(&key, json!({"fence": 0, "leases": []}), None)
                    .await
                    .expect("create the floor's lease document");
                let t = Instant::now();
                for _ in 0..n {
                    raw_lease(c, &key, h, &mut seed).await;
                }
                t.elapsed()
            })
        }),
        Box::new(|n| {
            let lock = lease_locks_ref
                .lock(format!("bench-{}", next()))
                .ttl(Duration::from_secs(30));
            rt.block_on(async {
                let first = lock
                    .try_acquire()
                    .await
                    .expect("create the lease document")
                    .expect("free");
                assert!(first.release().await.expect("release"));
                ferrolock_pairs(&lock, n).await
            })
        }),
    ];
    let s = interleaved(plan, &mut cases);
    drop(cases);
    rt.block_on(async {
        getl_locks.close().await;
        lease_locks.close().await;
    });

    details.push_str("### 7-8. couchbase (gocaves): try_acquire + release, one process, current_thread runtime\n\n");
    crate::stats::describe_all(
        details,
        &[
            ("getl: the couchbase crate, same calls and round trips (floor)", &s[0]),
            ("getl: ferrolock", &s[1]),
            ("lease: the couchbase crate, same calls and round trips (floor)", &s[2]),
            ("lease: ferrolock", &s[3]),
        ],
    );
    let row = |what: &str, ferro: f64, floor: f64, target: f64| {
        let ratio = ferro / floor;
        Row {
            benchmark: what.to_owned(),
            ferrolock: fmt_ns(ferro),
            floor: fmt_ns(floor),
            ratio: Some(ratio),
            target: format!("<= {target}x"),
            met: Some(ratio <= target),
        }
    };
    vec![
        row(
            "couchbase getl try_acquire+release (vs the crate)",
            s[1].median_ns(),
            s[0].median_ns(),
            1.1,
        ),
        row(
            "couchbase lease try_acquire+release (vs the crate)",
            s[3].median_ns(),
            s[2].median_ns(),
            1.15,
        ),
    ]
}
