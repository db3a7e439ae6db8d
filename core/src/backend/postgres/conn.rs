//! Connections through tokio-postgres: made with the URL's settings (TLS
//! through rustls when `sslmode` asks), bounded by `connect_timeout`, each
//! driven by a task of its own that forwards `NOTIFY` payloads where asked;
//! the provider's small pool; errors as `Unavailable`, never with a password.

use super::sql::{Sql, Stmt};
use super::url::{PostgresTarget, SslMode};
use crate::error::{Cause, Error, Result};
use parking_lot::Mutex;
use std::future::Future;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::task::Poll;
use tokio::sync::{mpsc, OnceCell};
use tokio_postgres::{AsyncMessage, Client, Statement};

/// The most connections a provider's pool keeps (held advisory locks have
/// their own connections besides).
const POOL_MAX: usize = 4;

/// An error of the server or the connection, as the `Unavailable` error of
/// this target (its URL redacted).
pub(crate) fn unavailable(target: &PostgresTarget, e: impl std::fmt::Display) -> Error {
    let cause = Cause(e.to_string());
    Error::Unavailable { backend: "postgres", message: format!("{}: {cause}", target.redacted), cause: Some(cause) }
}

/// A server's error as libpq shows it: `SEVERITY (CODE): message`.
pub(crate) fn server_text(severity: &str, code: &str, message: &str) -> String {
    format!("{severity} ({code}): {message}")
}

/// A tokio-postgres error, with the server's own message when it sent one,
/// else with its causes (a TLS handshake's, an I/O error's).
pub(crate) fn pg_error(target: &PostgresTarget, e: &tokio_postgres::Error) -> Error {
    if let Some(db) = e.as_db_error() {
        return unavailable(target, server_text(db.severity(), db.code().code(), db.message()));
    }
    let mut text = e.to_string();
    let mut source = std::error::Error::source(e);
    while let Some(cause) = source {
        let more = cause.to_string();
        if !text.contains(&more) {
            text = format!("{text}: {more}");
        }
        source = cause.source();
    }
    unavailable(target, text)
}

/// The settings of a connection but its host and TLS (each host's come
/// from `Connector::new`; wire.rs connects its sockets itself).
fn config(t: &PostgresTarget) -> tokio_postgres::Config {
    let mut c = tokio_postgres::Config::new();
    c.user(&t.user).dbname(&t.dbname).application_name(&t.application_name);
    if let Some(p) = &t.password {
        c.password(p);
    }
    c.connect_timeout(t.connect_timeout);
    c.keepalives(true).keepalives_idle(std::time::Duration::from_secs(30));
    c.ssl_mode(match t.sslmode {
        SslMode::Disable => tokio_postgres::config::SslMode::Disable,
        SslMode::Prefer => tokio_postgres::config::SslMode::Prefer,
        _ => tokio_postgres::config::SslMode::Require,
    });
    c
}

/// How a provider connects: settings and TLS, made once when it opens.
#[derive(Clone)]
pub(crate) struct Connector {
    pub target: Arc<PostgresTarget>,
    pub(super) config: tokio_postgres::Config,
    /// One config per host, in the URL's order: a folder (a Unix socket)
    /// without TLS, as libpq never uses TLS there (and a server refuses it).
    hosts: Vec<(tokio_postgres::Config, bool)>,
    tls: Option<tokio_postgres_rustls::MakeRustlsConnect>,
    /// The same TLS settings, for the lock connections (wire.rs).
    pub(super) tls_config: Option<Arc<rustls::ClientConfig>>,
}

impl Connector {
    pub(crate) fn new(target: PostgresTarget) -> Result<Connector> {
        let tls_config = match target.sslmode {
            SslMode::Disable => None,
            _ => Some(Arc::new(tls::make(&target)?)),
        };
        let tls = tls_config.as_ref().map(|c| tokio_postgres_rustls::MakeRustlsConnect::new((**c).clone()));
        let config = config(&target);
        let hosts = target
            .hosts
            .iter()
            .map(|(host, port)| {
                let mut c = config.clone();
                c.port(*port);
                let socket = host.starts_with('/');
                if socket {
                    c.host_path(host).ssl_mode(tokio_postgres::config::SslMode::Disable);
                } else {
                    c.host(host);
                }
                (c, socket)
            })
            .collect();
        Ok(Connector { config, hosts, target: Arc::new(target), tls, tls_config })
    }

    /// A new connection, its driver spawned; NOTIFY payloads go to
    /// `notifications` when given. Bounded by the URL's `connect_timeout`
    /// (the TCP connect, TLS and authentication together).
    pub(crate) async fn connect(&self, notifications: Option<mpsc::UnboundedSender<Notice>>) -> Result<Client> {
        let t = &self.target;
        // The hosts in order, the first that answers (as libpq and
        // tokio-postgres do), each with its own TLS choice.
        let connecting = async {
            let mut last = None;
            for (config, socket) in &self.hosts {
                let connected = match (&self.tls, socket) {
                    (Some(tls), false) => config.connect(tls.clone()).await.and_then(|c| drive(c, notifications.clone())),
                    _ => config.connect(tokio_postgres::NoTls).await.and_then(|c| drive(c, notifications.clone())),
                };
                match connected {
                    Ok(client) => return Ok(client),
                    Err(e) => last = Some(e),
                }
            }
            Err(last.expect("a URL names at least one host"))
        };
        match tokio::time::timeout(t.connect_timeout, connecting).await {
            Ok(Ok(client)) => Ok(client),
            Ok(Err(e)) => Err(pg_error(t, &e)),
            Err(_) => Err(unavailable(t, format_args!("no connection within {}s (connect_timeout)", t.connect_timeout.as_secs()))),
        }
    }
}

/// A notification: its channel and payload.
pub(crate) struct Notice {
    pub channel: String,
    pub payload: String,
}

/// Spawn the task that drives a connection until it closes (its client
/// dropped, or the server gone), forwarding notifications.
fn drive<S, T>(
    (client, mut connection): (Client, tokio_postgres::Connection<S, T>),
    notifications: Option<mpsc::UnboundedSender<Notice>>,
) -> std::result::Result<Client, tokio_postgres::Error>
where
    S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send + 'static,
    T: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send + 'static,
{
    tokio::spawn(std::future::poll_fn(move |cx| loop {
        match connection.poll_message(cx) {
            Poll::Ready(Some(Ok(AsyncMessage::Notification(n)))) => {
                if let Some(tx) = &notifications {
                    let _ = tx.send(Notice { channel: n.channel().to_owned(), payload: n.payload().to_owned() });
                }
            }
            Poll::Ready(Some(Ok(_))) => {}
            Poll::Ready(Some(Err(_)) | None) => return Poll::Ready(()),
            Poll::Pending => return Poll::Pending,
        }
    }));
    Ok(client)
}

/// A connection and its prepared statements (prepared on first use).
pub(crate) struct Conn {
    pub client: Client,
    sql: Arc<Sql>,
    prepared: Vec<OnceCell<Statement>>,
    /// Operations in flight on it (the pool lends the least busy).
    busy: AtomicUsize,
}

impl Conn {
    /// A new connection. Boxed: a handshake's state (TLS, SCRAM) is a few
    /// kilobytes, and the operations that may open a connection (an
    /// acquire that finds no idle one) would otherwise carry it, and copy
    /// it, on every call that does not.
    pub(crate) async fn open(connector: &Connector, sql: &Arc<Sql>) -> Result<Conn> {
        let client = Box::pin(connector.connect(None)).await?;
        Ok(Conn::of(client, sql))
    }

    pub(crate) fn of(client: Client, sql: &Arc<Sql>) -> Conn {
        Conn { client, sql: sql.clone(), prepared: (0..Stmt::COUNT).map(|_| OnceCell::new()).collect(), busy: AtomicUsize::new(0) }
    }

    /// The prepared statement `s` on this connection.
    pub(crate) async fn stmt(&self, s: Stmt) -> std::result::Result<&Statement, tokio_postgres::Error> {
        self.prepared[s as usize].get_or_try_init(|| self.client.prepare(self.sql.text(s))).await
    }

    pub(crate) fn is_closed(&self) -> bool {
        self.client.is_closed()
    }
}

/// A few connections shared by the provider's operations; tokio-postgres
/// pipelines concurrent queries on one, so a new one is made only when
/// every one has a query in flight, up to `POOL_MAX`. Closed ones are
/// dropped and replaced on the next use.
pub(crate) struct Pool {
    connector: Connector,
    sql: Arc<Sql>,
    conns: Mutex<Vec<Arc<Conn>>>,
}

/// A connection lent by the pool; counts as busy until dropped.
pub(crate) struct Lent(Arc<Conn>);

impl std::ops::Deref for Lent {
    type Target = Conn;
    fn deref(&self) -> &Conn {
        &self.0
    }
}

impl Drop for Lent {
    fn drop(&mut self) {
        self.0.busy.fetch_sub(1, Ordering::Relaxed);
    }
}

fn lend(c: &Arc<Conn>) -> Lent {
    c.busy.fetch_add(1, Ordering::Relaxed);
    Lent(c.clone())
}

impl Pool {
    pub(crate) fn new(connector: Connector, sql: Arc<Sql>, first: Conn) -> Pool {
        Pool { connector, sql, conns: Mutex::new(vec![Arc::new(first)]) }
    }

    pub(crate) fn target(&self) -> &PostgresTarget {
        &self.connector.target
    }

    pub(crate) async fn get(&self) -> Result<Lent> {
        {
            let mut conns = self.conns.lock();
            conns.retain(|c| !c.is_closed());
            if let Some(c) = conns.iter().min_by_key(|c| c.busy.load(Ordering::Relaxed)) {
                if c.busy.load(Ordering::Relaxed) == 0 || conns.len() >= POOL_MAX {
                    return Ok(lend(c));
                }
            }
        }
        match Conn::open(&self.connector, &self.sql).await {
            Ok(c) => {
                let c = Arc::new(c);
                let mut conns = self.conns.lock();
                if conns.len() < POOL_MAX {
                    conns.push(c.clone());
                }
                Ok(lend(&c))
            }
            Err(e) => {
                // The server refuses more connections, say: share a live one.
                let conns = self.conns.lock();
                conns.iter().find(|c| !c.is_closed()).map(lend).ok_or(e)
            }
        }
    }

    /// Run `op` on a lent connection; a server error becomes `Unavailable`.
    pub(crate) async fn run<'a, T, F, Fut>(&'a self, op: F) -> Result<T>
    where
        F: FnOnce(Lent) -> Fut,
        Fut: Future<Output = std::result::Result<T, tokio_postgres::Error>>,
    {
        let conn = self.get().await?;
        op(conn).await.map_err(|e| pg_error(self.target(), &e))
    }
}

/// TLS through rustls (ring), as libpq's `sslmode` means it: `prefer` and
/// `require` encrypt without verifying the server, `verify-ca` verifies its
/// chain against `sslrootcert` (else the system's roots), `verify-full` the
/// host name too.
mod tls {
    use super::super::url::{PostgresTarget, SslMode};
    use crate::error::{Error, Result};
    use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
    use rustls::client::WebPkiServerVerifier;
    use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
    use rustls::{CertificateError, DigitallySignedStruct, RootCertStore, SignatureScheme};
    use std::sync::Arc;

    pub(super) fn make(t: &PostgresTarget) -> Result<rustls::ClientConfig> {
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let builder = rustls::ClientConfig::builder_with_provider(provider.clone())
            .with_safe_default_protocol_versions()
            .map_err(|e| Error::Internal(format!("rustls: {e}")))?;
        let config = match t.sslmode {
            SslMode::Disable => unreachable!("no TLS without sslmode"),
            SslMode::Prefer | SslMode::Require => builder
                .dangerous()
                .with_custom_certificate_verifier(Arc::new(Unverified(provider)))
                .with_no_client_auth(),
            SslMode::VerifyCa | SslMode::VerifyFull => {
                let roots = Arc::new(roots(t)?);
                let webpki = WebPkiServerVerifier::builder_with_provider(roots, provider)
                    .build()
                    .map_err(|e| Error::invalid(format!("URL {:?}: sslrootcert: {e}", t.redacted)))?;
                if t.sslmode == SslMode::VerifyFull {
                    builder.with_webpki_verifier(webpki).with_no_client_auth()
                } else {
                    builder.dangerous().with_custom_certificate_verifier(Arc::new(ChainOnly(webpki))).with_no_client_auth()
                }
            }
        };
        Ok(config)
    }

    fn roots(t: &PostgresTarget) -> Result<RootCertStore> {
        let mut roots = RootCertStore::empty();
        match &t.sslrootcert {
            Some(path) => {
                let pem = std::fs::read(path).map_err(|e| {
                    Error::invalid(format!("URL {:?}: the sslrootcert file {:?} cannot be read: {e}", t.redacted, path.display().to_string()))
                })?;
                let mut reader = &pem[..];
                for cert in rustls_pemfile_certs(&mut reader) {
                    roots.add(cert).map_err(|e| Error::invalid(format!("URL {:?}: sslrootcert: {e}", t.redacted)))?;
                }
                if roots.is_empty() {
                    return Err(Error::invalid(format!("URL {:?}: sslrootcert holds no PEM certificate", t.redacted)));
                }
            }
            None => {
                for cert in rustls_native_certs::load_native_certs().certs {
                    let _ = roots.add(cert);
                }
            }
        }
        Ok(roots)
    }

    /// The certificates of a PEM file.
    fn rustls_pemfile_certs(pem: &mut &[u8]) -> Vec<CertificateDer<'static>> {
        use rustls::pki_types::pem::PemObject;
        CertificateDer::pem_slice_iter(pem).filter_map(|c| c.ok()).collect()
    }

    /// libpq's `require`: encrypted, the server not verified (its
    /// handshake signatures still are).
    #[derive(Debug)]
    struct Unverified(Arc<rustls::crypto::CryptoProvider>);

    impl ServerCertVerifier for Unverified {
        fn verify_server_cert(
            &self,
            _: &CertificateDer<'_>,
            _: &[CertificateDer<'_>],
            _: &ServerName<'_>,
            _: &[u8],
            _: UnixTime,
        ) -> std::result::Result<ServerCertVerified, rustls::Error> {
            Ok(ServerCertVerified::assertion())
        }
        fn verify_tls12_signature(
            &self,
            message: &[u8],
            cert: &CertificateDer<'_>,
            dss: &DigitallySignedStruct,
        ) -> std::result::Result<HandshakeSignatureValid, rustls::Error> {
            rustls::crypto::verify_tls12_signature(message, cert, dss, &self.0.signature_verification_algorithms)
        }
        fn verify_tls13_signature(
            &self,
            message: &[u8],
            cert: &CertificateDer<'_>,
            dss: &DigitallySignedStruct,
        ) -> std::result::Result<HandshakeSignatureValid, rustls::Error> {
            rustls::crypto::verify_tls13_signature(message, cert, dss, &self.0.signature_verification_algorithms)
        }
        fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
            self.0.signature_verification_algorithms.supported_schemes()
        }
    }

    /// libpq's `verify-ca`: the chain verified, whatever name it is for.
    #[derive(Debug)]
    struct ChainOnly(Arc<WebPkiServerVerifier>);

    impl ServerCertVerifier for ChainOnly {
        fn verify_server_cert(
            &self,
            end_entity: &CertificateDer<'_>,
            intermediates: &[CertificateDer<'_>],
            server_name: &ServerName<'_>,
            ocsp: &[u8],
            now: UnixTime,
        ) -> std::result::Result<ServerCertVerified, rustls::Error> {
            match self.0.verify_server_cert(end_entity, intermediates, server_name, ocsp, now) {
                Err(rustls::Error::InvalidCertificate(
                    CertificateError::NotValidForName | CertificateError::NotValidForNameContext { .. },
                )) => Ok(ServerCertVerified::assertion()),
                other => other,
            }
        }
        fn verify_tls12_signature(
            &self,
            message: &[u8],
            cert: &CertificateDer<'_>,
            dss: &DigitallySignedStruct,
        ) -> std::result::Result<HandshakeSignatureValid, rustls::Error> {
            self.0.verify_tls12_signature(message, cert, dss)
        }
        fn verify_tls13_signature(
            &self,
            message: &[u8],
            cert: &CertificateDer<'_>,
            dss: &DigitallySignedStruct,
        ) -> std::result::Result<HandshakeSignatureValid, rustls::Error> {
            self.0.verify_tls13_signature(message, cert, dss)
        }
        fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
            self.0.supported_verify_schemes()
        }
    }
}
