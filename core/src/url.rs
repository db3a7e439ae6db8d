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
            _ => {
                return Err(Error::invalid(format!(
                    "URL {redacted:?}: unknown query parameter {k:?} (known: namespace, bypass, holder)"
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
                    operation: "this build (enable the cargo feature `sqlite`)".into(),
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
        "redis" | "rediss" | "redis+cluster" => {
            return Err(Error::Unsupported {
                backend: "redis",
                operation: "this build (enable the cargo feature `redis`)".into(),
            })
        }
        "postgres" | "postgresql" => {
            return Err(Error::Unsupported {
                backend: "postgres",
                operation: "this build (enable the cargo feature `postgres`)".into(),
            })
        }
        "couchbase" | "couchbases" => {
            return Err(Error::Unsupported {
                backend: "couchbase",
                operation: "this build (enable the cargo feature `couchbase`)".into(),
            })
        }
        other => {
            return Err(Error::invalid(format!(
                "URL {redacted:?}: unknown scheme {other:?}; expected memory, sqlite, redis, rediss, redis+cluster"
            )))
        }
    };
    Ok(ProviderUrl { target, namespace, bypass, holder, redacted })
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
    fn unknown_scheme_is_invalid_and_redacted() {
        let e = parse("ftp://bob:hunter2@host").unwrap_err();
        assert_eq!(e.code(), "INVALID_ARGUMENT");
        let msg = e.to_string();
        assert!(msg.contains("ftp") && !msg.contains("hunter2"), "{msg}");
    }
}
