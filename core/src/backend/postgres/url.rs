//! The PostgreSQL part of a URL:
//! `postgres://[user[:password]@]host[:port][,host2[:port2]…][/dbname][?params]`
//! with libpq's `sslmode`, `sslrootcert`, `application_name` and
//! `connect_timeout`, and ferrolock's own `mode=lease|advisory` and
//! `schema=`. The password is kept here only to connect: `Debug` hides it,
//! and errors show the URL redacted (`url.rs`).

use crate::error::Result;
use crate::url::UrlParts;
use std::path::PathBuf;
use std::time::Duration;

/// How locks are kept (`mode=`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum PgMode {
    /// Rows in a lease table with an expiry by the server's clock (default).
    Lease,
    /// Session advisory locks, each on a dedicated connection.
    Advisory,
}

/// libpq's `sslmode`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum SslMode {
    Disable,
    /// TLS if the server offers it, unverified (libpq's default).
    Prefer,
    /// TLS, unverified.
    Require,
    /// TLS, the chain verified, not the host name.
    VerifyCa,
    /// TLS, the chain and the host name verified.
    VerifyFull,
}

#[derive(Clone, PartialEq, Eq)]
pub(crate) struct PostgresTarget {
    pub hosts: Vec<(String, u16)>,
    pub user: String,
    pub password: Option<String>,
    pub dbname: String,
    pub sslmode: SslMode,
    pub sslrootcert: Option<PathBuf>,
    pub application_name: String,
    pub connect_timeout: Duration,
    pub mode: PgMode,
    pub schema: String,
    /// The URL with its password redacted, for errors.
    pub redacted: String,
}

impl std::fmt::Debug for PostgresTarget {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PostgresTarget")
            .field("url", &self.redacted)
            .field("mode", &self.mode)
            .field("schema", &self.schema)
            .finish()
    }
}

/// The default connect timeout (libpq has none; a lock provider should not
/// hang on an unreachable server).
pub(crate) const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);

const OWN: &[&str] = &["mode", "schema", "sslmode", "sslrootcert", "application_name", "connect_timeout"];

/// Parse what follows the scheme of a PostgreSQL URL, and its parameters.
pub(crate) fn parse(url: &mut UrlParts) -> Result<PostgresTarget> {
    let mode = match url.take("mode").as_deref() {
        None | Some("lease") => PgMode::Lease,
        Some("advisory") => PgMode::Advisory,
        Some(other) => return Err(url.invalid(format_args!("mode={other:?} is not lease or advisory"))),
    };
    let schema = url.take("schema").unwrap_or_else(|| "public".to_owned());
    let identifier = |s: &str| {
        !s.is_empty()
            && s.len() <= 48
            && s.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_')
            && !s.as_bytes()[0].is_ascii_digit()
    };
    if !identifier(&schema) {
        return Err(url.invalid(format_args!(
            "schema={schema:?} is not a plain identifier (1-48 of [A-Za-z0-9_], not starting with a digit)"
        )));
    }
    let sslmode = match url.take("sslmode").as_deref() {
        None | Some("prefer") | Some("allow") => SslMode::Prefer,
        Some("disable") => SslMode::Disable,
        Some("require") => SslMode::Require,
        Some("verify-ca") => SslMode::VerifyCa,
        Some("verify-full") => SslMode::VerifyFull,
        Some(other) => {
            return Err(url.invalid(format_args!(
                "sslmode={other:?} is not one of disable, allow, prefer, require, verify-ca, verify-full"
            )))
        }
    };
    let sslrootcert = match url.take("sslrootcert") {
        Some(p) if p.is_empty() => return Err(url.invalid("sslrootcert= needs a file path")),
        p => p.map(PathBuf::from),
    };
    let application_name = url.take("application_name").unwrap_or_else(|| "ferrolock".to_owned());
    if application_name.len() > 63 || application_name.chars().any(|c| c.is_control()) {
        return Err(url.invalid("application_name must be at most 63 bytes without control characters"));
    }
    let connect_timeout = match url.take("connect_timeout") {
        None => CONNECT_TIMEOUT,
        Some(v) => match v.parse::<u32>() {
            Ok(s) if s > 0 => Duration::from_secs(s.into()),
            _ => {
                return Err(url.invalid(format_args!("connect_timeout={v:?} is not a whole number of seconds (at least 1)")))
            }
        },
    };
    url.finish(OWN)?;

    let body = url.body.clone();
    let (authority, dbname) = match body.find('/') {
        Some(i) => (&body[..i], Some(&body[i + 1..])),
        None => (&body[..], None),
    };
    let (userinfo, hostlist) = match authority.rfind('@') {
        Some(at) => (Some(&authority[..at]), &authority[at + 1..]),
        None => (None, authority),
    };
    let decode = |what: &str, s: &str| url.decoded(what, s);
    let (user, password) = match userinfo {
        None => (None, None),
        Some(u) => match u.split_once(':') {
            Some((user, pass)) => (Some(decode("user", user)?), Some(decode("password", pass)?)),
            None => (Some(decode("user", u)?), None),
        },
    };
    let user = user.filter(|u| !u.is_empty()).unwrap_or_else(|| "postgres".to_owned());
    let hosts: Vec<(String, u16)> = url
        .hosts(hostlist, "postgres://[user[:password]@]host[:port]/dbname")?
        .into_iter()
        .map(|(name, port)| (name, port.unwrap_or(5432)))
        .collect();
    let dbname = match dbname {
        Some(d) if !d.is_empty() => decode("database name", d)?,
        _ => user.clone(),
    };
    if matches!(sslmode, SslMode::Disable) && sslrootcert.is_some() {
        return Err(url.invalid("sslrootcert= needs TLS; sslmode=disable turns it off"));
    }
    Ok(PostgresTarget {
        hosts,
        user,
        password,
        dbname,
        sslmode,
        sslrootcert,
        application_name,
        connect_timeout,
        mode,
        schema,
        redacted: url.redacted.clone(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn target(url: &str) -> Result<PostgresTarget> {
        parse(&mut crate::url::parse(url)?)
    }

    #[test]
    fn parses_urls() {
        let t = target("postgres://alice:p%40ss@db.example:6543/app?sslmode=require&mode=advisory&schema=locks").unwrap();
        assert_eq!(t.hosts, [("db.example".to_owned(), 6543)]);
        assert_eq!((t.user.as_str(), t.password.as_deref(), t.dbname.as_str()), ("alice", Some("p@ss"), "app"));
        assert_eq!((t.sslmode, t.mode, t.schema.as_str()), (SslMode::Require, PgMode::Advisory, "locks"));
        assert!(!format!("{t:?}").contains("p@ss"));
        let t = target("postgresql://localhost?connect_timeout=2&application_name=worker").unwrap();
        assert_eq!(t.hosts, [("localhost".to_owned(), 5432)]);
        assert_eq!((t.user.as_str(), t.dbname.as_str(), t.mode), ("postgres", "postgres", PgMode::Lease));
        assert_eq!((t.connect_timeout, t.application_name.as_str()), (Duration::from_secs(2), "worker"));
        let t = target("postgres://u@[::1]:5433,h2/db").unwrap();
        assert_eq!(t.hosts, [("::1".to_owned(), 5433), ("h2".to_owned(), 5432)]);
    }

    #[test]
    fn bad_urls_name_the_part() {
        for (bad, needle) in [
            ("postgres://", "host is missing"),
            ("postgres://h:99999/db", "port"),
            ("postgres://h/db?mode=fast", "mode"),
            ("postgres://h/db?schema=a;drop", "schema"),
            ("postgres://h/db?sslmode=maybe", "sslmode"),
            ("postgres://h/db?connect_timeout=soon", "connect_timeout"),
            ("postgres://h/db?colour=blue", "colour"),
            ("postgres://h/%ff", "database"),
        ] {
            let e = target(bad).unwrap_err();
            assert_eq!(e.code(), "INVALID_ARGUMENT", "{bad}");
            assert!(e.to_string().contains(needle), "{bad}: {e}");
        }
        let e = target("postgres://u:hunter2@h:x/db").unwrap_err().to_string();
        assert!(!e.contains("hunter2"), "{e}");
    }
}
