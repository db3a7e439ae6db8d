//! The backends, and the one list of them. Adding a backend: a folder here
//! (its `Target`, `parse` and a type implementing `contract::Backend`), one
//! row below, one cargo feature in core/Cargo.toml (added to `backends`),
//! one row in tests/vectors/backends.json. See docs/ARCHITECTURE.md.

pub(crate) mod bypass;
pub(crate) mod contract;
#[cfg(any(feature = "redis", feature = "redis-runner", feature = "postgres"))]
pub(crate) mod waiters;
#[macro_use]
mod registry;

pub use contract::{Capabilities, Drive};
pub(crate) use contract::{AcquireRequest, Attempt, Backend, Lease, LeaseInfo};
use crate::error::Result;
use crate::kinds::Mode;
use std::time::Duration;

registry::backends! {
    Memory => memory::MemoryBackend, cfg(all()), "memory", ["memory"];
    Sqlite => sqlite::SqliteBackend, cfg(feature = "sqlite"), "sqlite", ["sqlite"];
    Redis => redis::RedisBackend, cfg(feature = "redis"), "redis", ["redis", "rediss", "redis+cluster", "rediss+cluster"];
    // Redis through the embedder's own client (a WebAssembly build's): tokens of kind redis.
    RedisRunner(Redis) => runner::RunnerBackend, cfg(feature = "redis-runner"), "redis-runner", ["redis+runner"];
    Postgres => postgres::PostgresBackend, cfg(feature = "postgres"), "postgres", ["postgres", "postgresql"];
    Couchbase => couchbase::CouchbaseBackend, cfg(feature = "couchbase"), "couchbase", ["couchbase", "couchbases"];
}
