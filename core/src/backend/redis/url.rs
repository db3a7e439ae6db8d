//! The Redis part of a URL: `redis://[user:pass@]h1[:p1][,h2…][/db]` (one
//! server, or a quorum of an odd number), `redis+cluster://seeds`, and the
//! same over TLS as `rediss://` with the `ca=`, `cert=`, `key=` files.

use crate::error::{Error, Result};
use crate::url::{percent_decode, UrlParts};
use std::path::PathBuf;

/// How the servers of a Redis URL are used.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum RedisTopology {
    /// One server.
    Single,
    /// Independent servers, a majority must agree (Redlock-style).
    Quorum,
    /// Redis Cluster, reached through its seed nodes.
    Cluster,
}

/// A parsed Redis URL: one connection URL per server, credentials included
/// (never shown: `ProviderUrl::redacted` is what errors and logs use).
#[derive(Clone, PartialEq, Eq)]
pub(crate) struct RedisTarget {
    pub topology: RedisTopology,
    pub nodes: Vec<String>,
    /// Each server as the URL names it (`host:port`, the host as typed):
    /// what errors name.
    pub addrs: Vec<String>,
    pub password: Option<String>,
    /// `rediss://`: TLS to every server, with these files if given.
    pub tls: Option<RedisTls>,
}

/// The files of a `rediss://` URL's `ca`, `cert` and `key` parameters (PEM).
/// Without `ca`, the system's trusted roots verify the server.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct RedisTls {
    pub ca: Option<PathBuf>,
    pub cert: Option<PathBuf>,
    pub key: Option<PathBuf>,
}

impl std::fmt::Debug for RedisTarget {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RedisTarget")
            .field("topology", &self.topology)
            .field("nodes", &self.nodes.len())
            .field("tls", &self.tls)
            .finish()
    }
}

/// Parse what follows the scheme of a Redis URL, and its TLS parameters.
pub(crate) fn parse(url: &mut UrlParts) -> Result<RedisTarget> {
    let mut files = RedisTls::default();
    for (name, slot) in [("ca", &mut files.ca), ("cert", &mut files.cert), ("key", &mut files.key)] {
        if let Some(v) = url.take(name) {
            if v.is_empty() {
                return Err(url.invalid(format_args!("{name}= needs a file path")));
            }
            *slot = Some(PathBuf::from(v));
        }
    }
    url.finish(&["ca", "cert", "key"])?;
    let tls = match url.scheme.as_str() {
        "rediss" | "rediss+cluster" => {
            if !cfg!(feature = "redis-tls") {
                return Err(Error::Unsupported {
                    backend: "redis",
                    operation: "TLS (rediss://): builds without the cargo feature `redis-tls` (rebuild with it)".into(),
                });
            }
            if files.cert.is_some() != files.key.is_some() {
                return Err(url.invalid("a client certificate needs both cert= and key="));
            }
            Some(files)
        }
        _ if files != RedisTls::default() => {
            return Err(url.invalid("ca=, cert= and key= are TLS parameters; they need rediss://"))
        }
        _ => None,
    };
    parse_servers(&url.scheme, &url.body, &url.redacted, tls)
}

fn parse_servers(scheme: &str, body: &str, redacted: &str, tls: Option<RedisTls>) -> Result<RedisTarget> {
    let (authority, db) = match body.find('/') {
        Some(i) => (&body[..i], &body[i + 1..]),
        None => (body, ""),
    };
    let db: u32 = if db.is_empty() {
        0
    } else {
        db.parse().map_err(|_| Error::invalid(format!("URL {redacted:?}: database {db:?} is not a number")))?
    };
    let (userinfo, hosts) = match authority.rfind('@') {
        Some(at) => (Some(&authority[..at]), &authority[at + 1..]),
        None => (None, authority),
    };
    let password = userinfo
        .and_then(|u| u.split_once(':'))
        .map(|(_, p)| percent_decode(p).unwrap_or_else(|| p.to_owned()))
        .filter(|p| !p.is_empty());
    let mut nodes = Vec::new();
    let mut addrs = Vec::new();
    for host in hosts.split(',') {
        // The port follows the last `:`, unless that `:` is inside an IPv6
        // address in brackets (`[::1]`, port omitted).
        let (name, port) = match host.rsplit_once(':') {
            Some((h, p)) if !p.contains(']') => (h, p),
            _ => (host, "6379"),
        };
        if name.is_empty() {
            return Err(Error::invalid(format!("URL {redacted:?}: a host is missing")));
        }
        let port: u16 = port
            .parse()
            .map_err(|_| Error::invalid(format!("URL {redacted:?}: port {port:?} of host {name:?} is not a number")))?;
        let auth = userinfo.map(|u| format!("{u}@")).unwrap_or_default();
        let node_scheme = if tls.is_some() { "rediss" } else { "redis" };
        nodes.push(format!("{node_scheme}://{auth}{name}:{port}/{db}"));
        addrs.push(format!("{name}:{port}"));
    }
    let topology = match (scheme, nodes.len()) {
        ("redis+cluster" | "rediss+cluster", _) => {
            if db != 0 {
                return Err(Error::invalid(format!("URL {redacted:?}: Redis Cluster has only database 0")));
            }
            RedisTopology::Cluster
        }
        (_, 1) => RedisTopology::Single,
        (_, n) if n % 2 == 0 => {
            return Err(Error::invalid(format!(
                "URL {redacted:?}: a quorum needs an odd number of servers, not {n}"
            )))
        }
        _ => RedisTopology::Quorum,
    };
    Ok(RedisTarget { topology, nodes, addrs, password, tls })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn target(url: &str) -> Result<RedisTarget> {
        parse(&mut crate::url::parse(url)?)
    }

    #[test]
    fn parses_topologies() {
        let t = target("redis://u:p%40ss@h1:1,h2:2,h3:3/2").unwrap();
        assert_eq!(t.topology, RedisTopology::Quorum);
        assert_eq!(t.nodes, ["redis://u:p%40ss@h1:1/2", "redis://u:p%40ss@h2:2/2", "redis://u:p%40ss@h3:3/2"]);
        assert_eq!(t.password.as_deref(), Some("p@ss"));
        assert_eq!(t.addrs, ["h1:1", "h2:2", "h3:3"]);
        let t = target("redis://localhost").unwrap();
        assert_eq!((t.topology, t.nodes[0].as_str()), (RedisTopology::Single, "redis://localhost:6379/0"));
        // IPv6, with and without a port (issue 16: `[::1]` alone was read as
        // host `[:` and port `1]`).
        let t = target("redis://[::1]:6380,[::1],h").unwrap();
        assert_eq!(t.nodes, ["redis://[::1]:6380/0", "redis://[::1]:6379/0", "redis://h:6379/0"]);
        let t = target("redis+cluster://a:7000,b:7001").unwrap();
        assert_eq!(t.topology, RedisTopology::Cluster);
        for bad in ["redis://h:notaport", "redis://h/x", "redis://h1,h2", "redis://", "redis+cluster://h/3"] {
            assert_eq!(target(bad).unwrap_err().code(), "INVALID_ARGUMENT", "{bad}");
        }
        let e = target("redis://u:secret@h:bad").unwrap_err().to_string();
        assert!(!e.contains("secret"), "{e}");
    }

    #[test]
    #[cfg(feature = "redis-tls")]
    fn parses_rediss() {
        let t = target("rediss://:pw@h:6380/1?ca=%2Ftmp%2Fca.pem").unwrap();
        assert_eq!(t.nodes, ["rediss://:pw@h:6380/1"]);
        assert_eq!(t.tls, Some(RedisTls { ca: Some("/tmp/ca.pem".into()), cert: None, key: None }));
        let t = target("rediss+cluster://a:1,b:2?cert=c.pem&key=k.pem").unwrap();
        assert_eq!(t.topology, RedisTopology::Cluster);
        assert_eq!(t.nodes, ["rediss://a:1/0", "rediss://b:2/0"]);
        let t = target("rediss://h1,h2,h3").unwrap();
        assert_eq!((t.topology, t.tls.is_some()), (RedisTopology::Quorum, true));
        for bad in ["redis://h?ca=x.pem", "sqlite://x.db?ca=x.pem", "rediss://h?cert=c.pem", "rediss://h?ca="] {
            assert_eq!(target(bad).unwrap_err().code(), "INVALID_ARGUMENT", "{bad}");
        }
    }

}
