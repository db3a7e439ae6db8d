//! The Couchbase part of a URL:
//! `couchbase://[user:password@]h1[:p1][,h2[:p2]…]/BUCKET[?params]` (the
//! host list of a Couchbase connection string, as gocaves prints it) and
//! `couchbases://` (TLS), with `scope=`, `collection=` (default
//! `_default`), `mode=getl|lease` and `connect_timeout=` (seconds). The
//! password is kept here only to connect: `Debug` hides it, and errors show
//! the URL redacted (`url.rs`).

use crate::error::Result;
use crate::url::UrlParts;
use std::time::Duration;

/// How locks are kept (`mode=`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum CbMode {
    /// Get-and-lock on the lock document, its CAS the proof (BoxLang's
    /// CouchbaseLock; the default).
    Getl,
    /// A lease document written with insert, replace-with-CAS and expiry.
    Lease,
}

#[derive(Clone, PartialEq, Eq)]
pub(crate) struct CouchbaseTarget {
    pub tls: bool,
    pub hosts: Vec<(String, Option<u16>)>,
    pub user: String,
    pub password: String,
    pub bucket: String,
    pub scope: String,
    pub collection: String,
    pub mode: CbMode,
    pub connect_timeout: Duration,
    /// The URL with its password redacted, for errors.
    pub redacted: String,
}

impl std::fmt::Debug for CouchbaseTarget {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CouchbaseTarget")
            .field("url", &self.redacted)
            .field("mode", &self.mode)
            .field("scope", &self.scope)
            .field("collection", &self.collection)
            .finish()
    }
}

impl CouchbaseTarget {
    /// The connection string the SDK takes: scheme and hosts, no credentials.
    pub(crate) fn connstr(&self) -> String {
        let hosts: Vec<String> = self
            .hosts
            .iter()
            .map(|(h, p)| {
                let h = if h.contains(':') {
                    format!("[{h}]")
                } else {
                    h.clone()
                };
                match p {
                    Some(p) => format!("{h}:{p}"),
                    None => h,
                }
            })
            .collect();
        format!(
            "{}://{}",
            if self.tls { "couchbases" } else { "couchbase" },
            hosts.join(",")
        )
    }
}

/// The default connect timeout: the SDK has none of its own (a wrong
/// password, a dead port and an unknown bucket all hang without one).
pub(crate) const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

const OWN: &[&str] = &["mode", "scope", "collection", "connect_timeout"];

/// A scope or collection name as Couchbase allows them: 1-251 of
/// `[A-Za-z0-9_%-]`, not starting with `_` or `%` (except `_default`).
fn keyspace_name(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 251
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-' || b == b'%')
        && (s == "_default" || !s.starts_with(['_', '%']))
}

/// Parse what follows the scheme of a Couchbase URL, and its parameters.
pub(crate) fn parse(url: &mut UrlParts) -> Result<CouchbaseTarget> {
    let mode = match url.take("mode").as_deref() {
        None | Some("getl") => CbMode::Getl,
        Some("lease") => CbMode::Lease,
        Some(other) => return Err(url.invalid(format_args!("mode={other:?} is not getl or lease"))),
    };
    let mut names = Vec::new();
    for param in ["scope", "collection"] {
        let v = url.take(param).unwrap_or_else(|| "_default".to_owned());
        if !keyspace_name(&v) {
            return Err(url.invalid(format_args!(
                "{param}={v:?} is not a Couchbase {param} name (1-251 of [A-Za-z0-9_%-], not starting with _ or % unless _default)"
            )));
        }
        names.push(v);
    }
    let collection = names.pop().unwrap_or_default();
    let scope = names.pop().unwrap_or_default();
    let connect_timeout = match url.take("connect_timeout") {
        None => CONNECT_TIMEOUT,
        Some(v) => match v.parse::<u32>() {
            Ok(s) if s > 0 => Duration::from_secs(s.into()),
            _ => {
                return Err(url.invalid(format_args!(
                    "connect_timeout={v:?} is not a whole number of seconds (at least 1)"
                )))
            }
        },
    };
    url.finish(OWN)?;

    let tls = url.scheme == "couchbases";
    let body = url.body.clone();
    let (authority, bucket) = match body.find('/') {
        Some(i) => (&body[..i], &body[i + 1..]),
        None => (&body[..], ""),
    };
    let (userinfo, hostlist) = match authority.rfind('@') {
        Some(at) => (Some(&authority[..at]), &authority[at + 1..]),
        None => (None, authority),
    };
    let decode = |what: &str, s: &str| url.decoded(what, s);
    let (user, password) = match userinfo {
        None => ("Administrator".to_owned(), "password".to_owned()),
        Some(u) => match u.split_once(':') {
            Some((user, pass)) => (decode("user", user)?, decode("password", pass)?),
            None => {
                return Err(url.invalid(
                    "the user has no password; expected couchbase://user:password@host/bucket",
                ))
            }
        },
    };
    if user.is_empty() {
        return Err(
            url.invalid("the user is empty; expected couchbase://user:password@host/bucket")
        );
    }
    let hosts = url.hosts(hostlist, "couchbase://[user:password@]host[:port][,host2…]/bucket")?;
    let bucket = decode("bucket", bucket)?;
    if bucket.is_empty() {
        return Err(url.invalid(
            "the bucket is missing; expected couchbase://[user:password@]host[:port]/bucket",
        ));
    }
    if bucket.len() > 100
        || !bucket
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"_-.%".contains(&b))
    {
        return Err(url.invalid(format_args!(
            "bucket {bucket:?} is not a Couchbase bucket name (1-100 of [A-Za-z0-9_.%-])"
        )));
    }
    Ok(CouchbaseTarget {
        tls,
        hosts,
        user,
        password,
        bucket,
        scope,
        collection,
        mode,
        connect_timeout,
        redacted: url.redacted.clone(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn target(url: &str) -> Result<CouchbaseTarget> {
        parse(&mut crate::url::parse(url)?)
    }

    #[test]
    fn parses_urls() {
        let t = target("couchbase://alice:p%40ss@127.0.0.1:11210,127.0.0.1:11211/locks?mode=lease&scope=app&collection=mutex")
            .unwrap();
        assert_eq!(
            t.hosts,
            [
                ("127.0.0.1".to_owned(), Some(11210)),
                ("127.0.0.1".to_owned(), Some(11211))
            ]
        );
        assert_eq!(
            (t.user.as_str(), t.password.as_str(), t.bucket.as_str()),
            ("alice", "p@ss", "locks")
        );
        assert_eq!(
            (t.mode, t.scope.as_str(), t.collection.as_str()),
            (CbMode::Lease, "app", "mutex")
        );
        assert_eq!(t.connstr(), "couchbase://127.0.0.1:11210,127.0.0.1:11211");
        assert!(!format!("{t:?}").contains("p@ss"));
        let t = target("couchbases://u:p@db.example/default?connect_timeout=3").unwrap();
        assert!(t.tls);
        assert_eq!(
            (t.mode, t.scope.as_str(), t.collection.as_str()),
            (CbMode::Getl, "_default", "_default")
        );
        assert_eq!(
            (t.connstr().as_str(), t.connect_timeout),
            ("couchbases://db.example", Duration::from_secs(3))
        );
        let t = target("couchbase://[::1]:11210/b").unwrap();
        assert_eq!(t.connstr(), "couchbase://[::1]:11210");
        assert_eq!(
            (t.user.as_str(), t.password.as_str()),
            ("Administrator", "password")
        );
    }

    #[test]
    fn bad_urls_name_the_part() {
        for (bad, needle) in [
            ("couchbase://", "host is missing"),
            ("couchbase://h", "bucket is missing"),
            ("couchbase://h:99999/b", "port"),
            ("couchbase://h/b?mode=fast", "mode"),
            ("couchbase://h/b?scope=a;b", "scope"),
            ("couchbase://h/b?collection=_system", "collection"),
            ("couchbase://h/b?connect_timeout=soon", "connect_timeout"),
            ("couchbase://h/b?colour=blue", "colour"),
            ("couchbase://h/b%2Fc", "bucket"),
            ("couchbase://alice@h/b", "no password"),
        ] {
            let e = target(bad).unwrap_err();
            assert_eq!(e.code(), "INVALID_ARGUMENT", "{bad}");
            assert!(e.to_string().contains(needle), "{bad}: {e}");
        }
        let e = target("couchbase://u:hunter2@h:x/b")
            .unwrap_err()
            .to_string();
        assert!(!e.contains("hunter2"), "{e}");
    }
}
