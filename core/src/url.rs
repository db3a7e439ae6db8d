//! Provider URLs: `memory://`, `sqlite://PATH`, `redis://…` and their
//! common query parameters, parsed once. Errors show the URL with its
//! password replaced by `***`.

use crate::error::{Error, Result};
use crate::validate;
use std::path::PathBuf;

/// The backend a URL selects and where it points.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Target {
    Memory { store: String },
    Sqlite { path: PathBuf },
    #[cfg_attr(not(feature = "redis"), allow(dead_code))]
    Redis(RedisTarget),
}

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

/// A parsed provider URL.
#[derive(Debug, Clone)]
pub(crate) struct ProviderUrl {
    pub target: Target,
    pub namespace: String,
    pub bypass: bool,
    pub holder: Option<String>,
    /// The URL with any password replaced by `***`: safe for logs and errors.
    pub redacted: String,
}

/// The URL used when none is given: `$FERROLOCK_URL`, else the SQLite file
/// `$XDG_DATA_HOME/ferrolock/locks.db` (else `~/.local/share/ferrolock/locks.db`).
pub fn default_url() -> String {
    if let Ok(url) = std::env::var("FERROLOCK_URL") {
        if !url.is_empty() {
            return url;
        }
    }
    let base = std::env::var_os("XDG_DATA_HOME")
        .filter(|v| !v.is_empty())
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".local/share")))
        .unwrap_or_else(|| PathBuf::from("."));
    format!("sqlite://{}", base.join("ferrolock").join("locks.db").display())
}

/// Replace the password of `scheme://user:pass@host` with `***`.
pub fn redact(url: &str) -> String {
    let Some(scheme_end) = url.find("://") else {
        return url.to_owned();
    };
    let rest = &url[scheme_end + 3..];
    let authority_end = rest.find(['/', '?']).unwrap_or(rest.len());
    let authority = &rest[..authority_end];
    match authority.rfind('@') {
        Some(at) => {
            let userinfo = &authority[..at];
            let user = userinfo.split(':').next().unwrap_or("");
            let masked = if userinfo.contains(':') { format!("{user}:***") } else { "***".to_owned() };
            format!("{}://{}@{}{}", &url[..scheme_end], masked, &authority[at + 1..], &rest[authority_end..])
        }
        None => url.to_owned(),
    }
}

pub(crate) fn parse(url: &str) -> Result<ProviderUrl> {
    let redacted = redact(url);
    let Some(scheme_end) = url.find("://") else {
        return Err(Error::invalid(format!(
            "URL {redacted:?} has no scheme; expected memory://, sqlite://PATH or redis://HOST"
        )));
    };
    let scheme = url[..scheme_end].to_ascii_lowercase();
    let rest = &url[scheme_end + 3..];
    let (body, query) = match rest.find('?') {
        Some(q) => (&rest[..q], Some(&rest[q + 1..])),
        None => (rest, None),
    };

    let mut namespace = "default".to_owned();
    let mut bypass = false;
    let mut holder = None;
    let mut tls_files = RedisTls::default();
    for pair in query.unwrap_or("").split('&').filter(|p| !p.is_empty()) {
        let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
        let v = percent_decode(v)
            .ok_or_else(|| Error::invalid(format!("URL {redacted:?}: query parameter {k:?} is not valid percent-encoded UTF-8")))?;
        match k {
            "namespace" => {
                validate::namespace(&v)?;
                namespace = v;
            }
            "bypass" => {
                bypass = match v.as_str() {
                    "true" | "1" | "yes" => true,
                    "false" | "0" | "no" => false,
                    _ => return Err(Error::invalid(format!("URL {redacted:?}: bypass={v:?} is not true or false"))),
                }
            }
            "holder" => {
                validate::holder(&v)?;
                holder = Some(v);
            }
            "ca" | "cert" | "key" => {
                if v.is_empty() {
                    return Err(Error::invalid(format!("URL {redacted:?}: {k}= needs a file path")));
                }
                let slot = match k {
                    "ca" => &mut tls_files.ca,
                    "cert" => &mut tls_files.cert,
                    _ => &mut tls_files.key,
                };
                *slot = Some(PathBuf::from(v));
            }
            _ => {
                return Err(Error::invalid(format!(
                    "URL {redacted:?}: unknown query parameter {k:?} (known: namespace, bypass, holder; ca, cert, key for rediss://)"
                )))
            }
        }
    }

    let target = match scheme.as_str() {
        "memory" => Target::Memory { store: percent_decode(body).unwrap_or_default() },
        "sqlite" => {
            if !cfg!(feature = "sqlite") {
                return Err(Error::Unsupported {
                    backend: "sqlite",
                    operation: "builds without the cargo feature `sqlite` (rebuild with it)".into(),
                });
            }
            let path = percent_decode(body)
                .ok_or_else(|| Error::invalid(format!("URL {redacted:?}: the path is not valid percent-encoded UTF-8")))?;
            if path.is_empty() {
                return Err(Error::invalid(format!(
                    "URL {redacted:?} has no file path; use sqlite://locks.db or sqlite:///abs/path/locks.db"
                )));
            }
            Target::Sqlite { path: PathBuf::from(path) }
        }
        "redis" | "redis+cluster" => {
            if !cfg!(feature = "redis") {
                return Err(Error::Unsupported {
                    backend: "redis",
                    operation: "builds without the cargo feature `redis` (rebuild with it)".into(),
                });
            }
            Target::Redis(parse_redis(&scheme, body, &redacted, None)?)
        }
        "rediss" | "rediss+cluster" => {
            if !cfg!(feature = "redis-tls") {
                return Err(Error::Unsupported {
                    backend: "redis",
                    operation: "TLS (rediss://): builds without the cargo feature `redis-tls` (rebuild with it)"
                        .into(),
                });
            }
            if tls_files.cert.is_some() != tls_files.key.is_some() {
                return Err(Error::invalid(format!(
                    "URL {redacted:?}: a client certificate needs both cert= and key="
                )));
            }
            let tls = std::mem::take(&mut tls_files);
            Target::Redis(parse_redis(&scheme, body, &redacted, Some(tls))?)
        }
        "postgres" | "postgresql" => {
            return Err(Error::Unsupported {
                backend: "postgres",
                operation: "builds without the cargo feature `postgres` (rebuild with it)".into(),
            })
        }
        "couchbase" | "couchbases" => {
            return Err(Error::Unsupported {
                backend: "couchbase",
                operation: "builds without the cargo feature `couchbase` (rebuild with it)".into(),
            })
        }
        other => {
            return Err(Error::invalid(format!(
                "URL {redacted:?}: unknown scheme {other:?}; expected memory, sqlite, redis, rediss, redis+cluster"
            )))
        }
    };
    // A rediss:// URL took its files; any left belong to another scheme.
    if tls_files != RedisTls::default() {
        return Err(Error::invalid(format!("URL {redacted:?}: ca=, cert= and key= are TLS parameters; they need rediss://")));
    }
    Ok(ProviderUrl { target, namespace, bypass, holder, redacted })
}

fn parse_redis(scheme: &str, body: &str, redacted: &str, tls: Option<RedisTls>) -> Result<RedisTarget> {
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
    for host in hosts.split(',') {
        let (name, port) = match host.rsplit_once(':') {
            Some((h, p)) if !h.ends_with(']') || h.starts_with('[') => (h, p),
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
    Ok(RedisTarget { topology, nodes, password, tls })
}

fn percent_decode(s: &str) -> Option<String> {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'%' => {
                let hex = s.get(i + 1..i + 3)?;
                out.push(u8::from_str_radix(hex, 16).ok()?);
                i += 3;
            }
            b => {
                out.push(b);
                i += 1;
            }
        }
    }
    String::from_utf8(out).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn redacts_passwords() {
        assert_eq!(redact("redis://user:s3cret@h:6379/0"), "redis://user:***@h:6379/0");
        assert_eq!(redact("redis://:s3cret@h"), "redis://:***@h");
        assert_eq!(redact("redis://h1:1,h2:2"), "redis://h1:1,h2:2");
        assert_eq!(redact("memory://"), "memory://");
    }

    #[test]
    fn parses_sqlite_paths() {
        let u = parse("sqlite://locks.db?namespace=app").unwrap();
        assert_eq!(u.target, Target::Sqlite { path: "locks.db".into() });
        assert_eq!(u.namespace, "app");
        let u = parse("sqlite:///var/lib/x/locks.db").unwrap();
        assert_eq!(u.target, Target::Sqlite { path: "/var/lib/x/locks.db".into() });
    }

    #[test]
    #[cfg(feature = "redis")]
    fn parses_redis_topologies() {
        let Target::Redis(t) = parse("redis://u:p%40ss@h1:1,h2:2,h3:3/2").unwrap().target else { panic!() };
        assert_eq!(t.topology, RedisTopology::Quorum);
        assert_eq!(t.nodes, ["redis://u:p%40ss@h1:1/2", "redis://u:p%40ss@h2:2/2", "redis://u:p%40ss@h3:3/2"]);
        assert_eq!(t.password.as_deref(), Some("p@ss"));
        let Target::Redis(t) = parse("redis://localhost").unwrap().target else { panic!() };
        assert_eq!((t.topology, t.nodes[0].as_str()), (RedisTopology::Single, "redis://localhost:6379/0"));
        let Target::Redis(t) = parse("redis+cluster://a:7000,b:7001").unwrap().target else { panic!() };
        assert_eq!(t.topology, RedisTopology::Cluster);
        for bad in ["redis://h:notaport", "redis://h/x", "redis://h1,h2", "redis://", "redis+cluster://h/3"] {
            assert_eq!(parse(bad).unwrap_err().code(), "INVALID_ARGUMENT", "{bad}");
        }
        let e = parse("redis://u:secret@h:bad").unwrap_err().to_string();
        assert!(!e.contains("secret"), "{e}");
    }

    #[test]
    #[cfg(feature = "redis-tls")]
    fn parses_rediss() {
        let Target::Redis(t) = parse("rediss://:pw@h:6380/1?ca=%2Ftmp%2Fca.pem").unwrap().target else { panic!() };
        assert_eq!(t.nodes, ["rediss://:pw@h:6380/1"]);
        assert_eq!(t.tls, Some(RedisTls { ca: Some("/tmp/ca.pem".into()), cert: None, key: None }));
        let Target::Redis(t) = parse("rediss+cluster://a:1,b:2?cert=c.pem&key=k.pem").unwrap().target else { panic!() };
        assert_eq!(t.topology, RedisTopology::Cluster);
        assert_eq!(t.nodes, ["rediss://a:1/0", "rediss://b:2/0"]);
        let Target::Redis(t) = parse("rediss://h1,h2,h3").unwrap().target else { panic!() };
        assert_eq!((t.topology, t.tls.is_some()), (RedisTopology::Quorum, true));
        for bad in ["redis://h?ca=x.pem", "sqlite://x.db?ca=x.pem", "rediss://h?cert=c.pem", "rediss://h?ca="] {
            assert_eq!(parse(bad).unwrap_err().code(), "INVALID_ARGUMENT", "{bad}");
        }
    }

    #[test]
    fn unknown_scheme_is_invalid_and_redacted() {
        let e = parse("ftp://bob:hunter2@host").unwrap_err();
        assert_eq!(e.code(), "INVALID_ARGUMENT");
        let msg = e.to_string();
        assert!(msg.contains("ftp") && !msg.contains("hunter2"), "{msg}");
    }
}
