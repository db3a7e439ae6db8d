//! Connections through the `redis` crate: one server (a connection manager
//! that reconnects), or a whole Cluster; TLS material of `rediss://` URLs;
//! running a script call (scripts.rs) with `EVALSHA`.

use super::scripts::{Call, Script};
use super::url::{RedisTarget, RedisTls, RedisTopology};
use crate::error::{Error, Result};
use redis::aio::{ConnectionManager, ConnectionManagerConfig};
use redis::cluster_async::ClusterConnection;
use std::sync::OnceLock;
use std::time::Duration;

pub(crate) const CONNECT_TIMEOUT: Duration = Duration::from_secs(2);
pub(crate) const RESPONSE_TIMEOUT: Duration = Duration::from_secs(2);

/// The TLS material of a `rediss://` URL, read once when the provider opens.
#[cfg(feature = "redis-tls")]
pub(crate) type Certs = redis::TlsCertificates;
#[cfg(not(feature = "redis-tls"))]
#[derive(Clone)]
pub(crate) enum Certs {}

/// Read the `ca`, `cert` and `key` files of a `rediss://` URL (PEM).
pub(crate) fn load_certs(tls: Option<&RedisTls>) -> Result<Option<Certs>> {
    let Some(tls) = tls else { return Ok(None) };
    #[cfg(feature = "redis-tls")]
    {
        // One provider for rustls whatever else the process links.
        let _ = rustls::crypto::ring::default_provider().install_default();
        let read = |what: &str, path: &std::path::Path| {
            std::fs::read(path).map_err(|e| {
                Error::invalid(format!("the {what} file {:?} of the rediss:// URL cannot be read: {e}", path.display().to_string()))
            })
        };
        let root_cert = tls.ca.as_deref().map(|p| read("ca", p)).transpose()?;
        let client_tls = match (&tls.cert, &tls.key) {
            (Some(c), Some(k)) => Some(redis::ClientTlsConfig { client_cert: read("cert", c)?, client_key: read("key", k)? }),
            _ => None,
        };
        Ok(Some(redis::TlsCertificates { client_tls, root_cert }))
    }
    #[cfg(not(feature = "redis-tls"))]
    {
        let _ = tls;
        Err(Error::Unsupported { backend: "redis", operation: "TLS without the cargo feature `redis-tls`".into() })
    }
}

/// A client for one server's URL, over TLS with `certs` when given.
pub(crate) fn client(url: &str, certs: Option<&Certs>) -> redis::RedisResult<redis::Client> {
    match certs {
        #[cfg(feature = "redis-tls")]
        Some(c) => redis::Client::build_with_tls(url, c.clone()),
        #[cfg(not(feature = "redis-tls"))]
        Some(c) => match *c {},
        None => redis::Client::open(url),
    }
}

/// One server's connection, reconnecting as needed (made lazily: it
/// connects on first use), trying `retries` more times when a connect fails.
pub(crate) fn server(url: &str, certs: Option<&Certs>, retries: usize) -> redis::RedisResult<Conn> {
    let config = ConnectionManagerConfig::new()
        .set_connection_timeout(Some(CONNECT_TIMEOUT))
        .set_response_timeout(Some(RESPONSE_TIMEOUT))
        .set_number_of_retries(retries)
        .set_max_delay(Duration::from_millis(200));
    Ok(Conn::Server(ConnectionManager::new_lazy_with_config(client(url, certs)?, config)?))
}

/// The connections a target needs: one per server, or one to the cluster.
pub(crate) async fn open(target: &RedisTarget, certs: Option<&Certs>) -> redis::RedisResult<Vec<Conn>> {
    // A server of a quorum is not retried: the others answer meanwhile,
    // and one that refuses rests (quorum.rs) until it is asked again.
    let retries = if target.topology == RedisTopology::Quorum { 0 } else { 2 };
    if target.topology != RedisTopology::Cluster {
        return target.nodes.iter().map(|url| server(url, certs, retries)).collect();
    }
    let builder = redis::cluster::ClusterClientBuilder::new(target.nodes.iter().map(String::as_str))
        .connection_timeout(CONNECT_TIMEOUT)
        .response_timeout(RESPONSE_TIMEOUT);
    #[cfg(feature = "redis-tls")]
    let builder = match certs {
        Some(c) => builder.certs(c.clone()),
        None => builder,
    };
    Ok(vec![Conn::Cluster(builder.build()?.get_async_connection().await?)])
}

/// One connection: to a server, or to a whole cluster.
#[derive(Clone)]
pub(crate) enum Conn {
    Server(ConnectionManager),
    Cluster(ClusterConnection),
}

/// The `redis` crate's handle of each script (its SHA1, for `EVALSHA`).
fn prepared(script: Script) -> &'static redis::Script {
    static PREPARED: OnceLock<Vec<redis::Script>> = OnceLock::new();
    &PREPARED.get_or_init(|| Script::ALL.iter().map(|s| redis::Script::new(s.source())).collect())[script as usize]
}

impl Conn {
    /// `SCRIPT LOAD` every script (one pipelined round trip to a server; to
    /// every master of a cluster), so that no operation's first use costs
    /// the `NOSCRIPT` detour (EVALSHA, SCRIPT LOAD, EVALSHA). Best effort:
    /// a server that restarts later loses them, and the detour still works.
    pub(crate) async fn load_scripts(&self) {
        match self {
            Conn::Server(c) => {
                let mut pipe = redis::pipe();
                for s in Script::ALL {
                    pipe.cmd("SCRIPT").arg("LOAD").arg(s.source()).ignore();
                }
                let _: redis::RedisResult<()> = pipe.query_async(&mut c.clone()).await;
            }
            Conn::Cluster(c) => {
                let loads = Script::ALL.iter().map(|s| {
                    let mut c = c.clone();
                    async move {
                        let _: redis::RedisResult<redis::Value> =
                            redis::cmd("SCRIPT").arg("LOAD").arg(s.source()).query_async(&mut c).await;
                    }
                });
                futures_util::future::join_all(loads).await;
            }
        }
    }

    /// Run one script call: `EVALSHA`, and on `NOSCRIPT` (a server
    /// restarted since) `SCRIPT LOAD` and `EVALSHA` again. The command is
    /// written once into a buffer of the right size (the `redis` crate's
    /// script invocation copies each key and argument twice more: a
    /// quarter of the client's instructions per pair went to allocation).
    pub(crate) async fn call<T: redis::FromRedisValue>(&self, call: &Call<'_>) -> redis::RedisResult<T> {
        let script = prepared(call.script);
        let bytes = call.keys.iter().map(|k| k.len()).sum::<usize>() + call.args.iter().map(Vec::len).sum::<usize>();
        let mut cmd = redis::Cmd::with_capacity(3 + call.keys.len() + call.args.len(), 7 + 40 + 2 + bytes);
        cmd.arg("EVALSHA").arg(script.get_hash()).arg(call.keys.len());
        for k in &call.keys {
            cmd.arg(*k);
        }
        for a in &call.args {
            cmd.arg(a.as_slice());
        }
        match self.query(&cmd).await {
            Err(e) if e.kind() == redis::ErrorKind::Server(redis::ServerErrorKind::NoScript) => {
                let _: String = self.query(redis::cmd("SCRIPT").arg("LOAD").arg(call.script.source())).await?;
                self.query(&cmd).await
            }
            reply => reply,
        }
    }

    pub(crate) async fn query<T: redis::FromRedisValue>(&self, cmd: &redis::Cmd) -> redis::RedisResult<T> {
        match self {
            Conn::Server(c) => cmd.query_async(&mut c.clone()).await,
            Conn::Cluster(c) => cmd.query_async(&mut c.clone()).await,
        }
    }
}

/// The masters of a cluster (SCAN is per node), each as a server
/// connection: `urls[0]` gives the scheme and credentials.
pub(crate) async fn masters(cluster: &Conn, seed_url: &str, certs: Option<&Certs>) -> redis::RedisResult<Vec<Conn>> {
    let nodes: String = cluster.query(redis::cmd("CLUSTER").arg("NODES")).await?;
    let (scheme, rest) = seed_url.split_once("://").unwrap_or(("redis", ""));
    let auth = rest.split_once('@').map(|(a, _)| format!("{a}@")).unwrap_or_default();
    let mut out = Vec::new();
    for line in nodes.lines() {
        let f: Vec<&str> = line.split_whitespace().collect();
        if f.len() > 2 && f[2].contains("master") && !f[2].contains("fail") {
            let addr = f[1].split('@').next().unwrap_or_default();
            out.push(server(&format!("{scheme}://{auth}{addr}/0"), certs, 2)?);
        }
    }
    Ok(out)
}
