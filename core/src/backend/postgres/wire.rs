//! The advisory mode's lock connections, spoken to directly: each holds
//! one lock for one owner at a time and runs one statement at a time, so
//! the caller's task writes the statement (Bind, Execute, Sync of a
//! statement prepared on first use) and reads its reply on the socket
//! itself. Through tokio-postgres each of those crossed its connection
//! task and two channels: about half of the pair's client time (see
//! bench/README.md, the advisory pair).
//!
//! The handshake (TLS, startup, authentication) is tokio-postgres's
//! `connect_raw`, run over a stream it borrows and gives back: after it,
//! the server sends nothing until asked, and the socket is ours.

use super::conn::{unavailable, Connector};
use super::sql::{Sql, Stmt};
use super::url::{PostgresTarget, SslMode};
use crate::error::{Error, Result};
use bytes::BytesMut;
use fallible_iterator::FallibleIterator;
use postgres_protocol::message::backend::Message;
use postgres_protocol::message::frontend;
use postgres_protocol::IsNull;
use std::io;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt, ReadBuf};

/// A socket, with TLS or without.
enum Socket {
    Tcp(tokio::net::TcpStream),
    #[cfg(unix)]
    Unix(tokio::net::UnixStream),
    Tls(Box<tokio_rustls::client::TlsStream<tokio::net::TcpStream>>),
}

macro_rules! each {
    ($s:expr, $io:ident => $e:expr) => {
        match $s {
            Socket::Tcp($io) => $e,
            #[cfg(unix)]
            Socket::Unix($io) => $e,
            Socket::Tls($io) => $e,
        }
    };
}

impl AsyncRead for Socket {
    fn poll_read(self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &mut ReadBuf<'_>) -> Poll<io::Result<()>> {
        each!(self.get_mut(), s => Pin::new(s).poll_read(cx, buf))
    }
}

impl AsyncWrite for Socket {
    fn poll_write(self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        each!(self.get_mut(), s => Pin::new(s).poll_write(cx, buf))
    }
    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        each!(self.get_mut(), s => Pin::new(s).poll_flush(cx))
    }
    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        each!(self.get_mut(), s => Pin::new(s).poll_shutdown(cx))
    }
}

/// The socket lent to tokio-postgres for the handshake, taken back after.
struct Lent(Arc<parking_lot::Mutex<Option<Socket>>>);

impl Lent {
    fn with<T>(&self, f: impl FnOnce(Pin<&mut Socket>) -> Poll<io::Result<T>>) -> Poll<io::Result<T>> {
        match self.0.lock().as_mut() {
            Some(s) => f(Pin::new(s)),
            None => Poll::Ready(Err(io::ErrorKind::NotConnected.into())),
        }
    }
}

impl AsyncRead for Lent {
    fn poll_read(self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &mut ReadBuf<'_>) -> Poll<io::Result<()>> {
        self.with(|s| s.poll_read(cx, buf))
    }
}

impl AsyncWrite for Lent {
    fn poll_write(self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        self.with(|s| s.poll_write(cx, buf))
    }
    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        self.with(|s| s.poll_flush(cx))
    }
    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        self.with(|s| s.poll_shutdown(cx))
    }
}

/// A connection's socket and buffers, used by one statement at a time.
struct Io {
    socket: Socket,
    read: BytesMut,
    write: BytesMut,
    /// Which statements are prepared (bit `Stmt as usize`).
    prepared: u32,
    /// A statement was sent and its reply not read to its end (it was
    /// given up half-way: what it left unread would be taken for the next
    /// one's reply).
    pending: bool,
    /// The server ended the session (a FATAL error).
    fatal: bool,
}

/// A lock connection: see the module's documentation.
pub(crate) struct LockConn {
    io: tokio::sync::Mutex<Io>,
    sql: Arc<Sql>,
    /// The connection ended, or cannot be used any more.
    closed: AtomicBool,
}

/// A statement's outcome: its first row's columns as text, if it had a row.
pub(crate) type Row = Option<Vec<Option<String>>>;

/// Why a statement failed: the server said so (the text libpq shows), or
/// the connection did.
pub(crate) enum Failure {
    Server(String),
    Io(io::Error),
}

impl Failure {
    pub(crate) fn into_error(self, target: &PostgresTarget) -> Error {
        match self {
            Failure::Server(text) => unavailable(target, text),
            Failure::Io(e) => unavailable(target, format_args!("the connection failed: {e}")),
        }
    }
}

impl LockConn {
    /// A new connection, bounded by the URL's `connect_timeout` (the TCP
    /// connect, TLS and authentication together), to the first host that
    /// takes it.
    pub(crate) async fn open(connector: &Connector, sql: &Arc<Sql>) -> Result<LockConn> {
        let t = &*connector.target;
        let opening = async {
            let mut last = None;
            for (host, port) in &t.hosts {
                match open_one(connector, host, *port).await {
                    Ok(socket) => return Ok(socket),
                    Err(e) => last = Some(e),
                }
            }
            Err(last.unwrap_or_else(|| unavailable(t, "no host to connect to")))
        };
        // Boxed: a handshake's state (TLS, SCRAM) is a few kilobytes, which
        // an acquire that may open a connection would otherwise carry, and
        // copy, on every call.
        let socket = match tokio::time::timeout(t.connect_timeout, Box::pin(opening)).await {
            Ok(s) => s?,
            Err(_) => {
                return Err(unavailable(t, format_args!("no connection within {}s (connect_timeout)", t.connect_timeout.as_secs())))
            }
        };
        let io = Io {
            socket,
            read: BytesMut::with_capacity(512),
            write: BytesMut::with_capacity(512),
            prepared: 0,
            pending: false,
            fatal: false,
        };
        Ok(LockConn { io: tokio::sync::Mutex::new(io), sql: sql.clone(), closed: AtomicBool::new(false) })
    }

    /// Whether the connection ended: known from a statement, or seen now
    /// (the socket, idle between statements, has something to read: the
    /// end, or the server's goodbye).
    pub(crate) fn is_closed(&self) -> bool {
        if self.closed.load(Ordering::Acquire) {
            return true;
        }
        // A statement in flight will tell.
        let Ok(mut io) = self.io.try_lock() else { return false };
        let io = &mut *io;
        if io.pending {
            self.closed.store(true, Ordering::Release);
            return true;
        }
        let mut byte = [0u8; 1];
        let mut buf = ReadBuf::new(&mut byte);
        let mut cx = Context::from_waker(std::task::Waker::noop());
        // Unasked-for bytes between statements, or the end: only a FATAL
        // error (the session was terminated) comes so; the connection is done.
        let ended = Pin::new(&mut io.socket).poll_read(&mut cx, &mut buf).is_ready();
        if ended {
            self.closed.store(true, Ordering::Release);
        }
        ended
    }

    /// Run `stmt` with `params` (as text); its first row.
    pub(crate) async fn query(&self, stmt: Stmt, params: &[&str]) -> std::result::Result<Row, Failure> {
        let mut io = self.io.lock().await;
        if io.pending {
            self.closed.store(true, Ordering::Release);
        }
        if self.closed.load(Ordering::Acquire) {
            return Err(Failure::Io(io::ErrorKind::NotConnected.into()));
        }
        io.pending = true;
        let out = run(&mut io, &self.sql, stmt, params).await;
        match &out {
            Ok(_) => io.pending = false,
            Err(Failure::Server(_)) if !io.fatal => io.pending = false,
            Err(_) => self.closed.store(true, Ordering::Release),
        }
        out
    }
}

impl Drop for LockConn {
    /// Say goodbye (Terminate) if the socket takes it at once, as a client
    /// that closes cleanly does; the server frees the session's locks.
    fn drop(&mut self) {
        let io = self.io.get_mut();
        let mut bye = BytesMut::new();
        frontend::terminate(&mut bye);
        match &io.socket {
            Socket::Tcp(s) => drop(s.try_write(&bye)),
            #[cfg(unix)]
            Socket::Unix(s) => drop(s.try_write(&bye)),
            Socket::Tls(_) => {}
        }
    }
}

async fn open_one(connector: &Connector, host: &str, port: u16) -> Result<Socket> {
    let t = &*connector.target;
    let failed = |e: &dyn std::fmt::Display| unavailable(t, format_args!("{host}:{port}: {e}"));
    #[cfg(unix)]
    if host.starts_with('/') {
        let path = format!("{host}/.s.PGSQL.{port}");
        let s = tokio::net::UnixStream::connect(&path).await.map_err(|e| failed(&e))?;
        return handshake(connector, Socket::Unix(s), host).await;
    }
    let tcp = tokio::net::TcpStream::connect((host, port)).await.map_err(|e| failed(&e))?;
    tcp.set_nodelay(true).map_err(|e| failed(&e))?;
    let keepalive = socket2::TcpKeepalive::new().with_time(std::time::Duration::from_secs(30));
    let _ = socket2::SockRef::from(&tcp).set_tcp_keepalive(&keepalive);
    let socket = match (&connector.tls_config, t.sslmode) {
        (Some(config), mode) if mode != SslMode::Disable => tls(tcp, config, host, mode == SslMode::Prefer).await.map_err(|e| failed(&e))?,
        _ => Socket::Tcp(tcp),
    };
    handshake(connector, socket, host).await
}

/// libpq's negotiation: ask for TLS; a server that refuses it is spoken to
/// in the clear only under `prefer`.
async fn tls(mut tcp: tokio::net::TcpStream, config: &Arc<rustls::ClientConfig>, host: &str, prefer: bool) -> io::Result<Socket> {
    let mut buf = BytesMut::new();
    frontend::ssl_request(&mut buf);
    tcp.write_all(&buf).await?;
    let mut answer = [0u8];
    tcp.read_exact(&mut answer).await?;
    if answer[0] != b'S' {
        if prefer {
            return Ok(Socket::Tcp(tcp));
        }
        return Err(io::Error::other("the server does not support TLS"));
    }
    let name = rustls::pki_types::ServerName::try_from(host.to_owned()).map_err(io::Error::other)?;
    let s = tokio_rustls::TlsConnector::from(config.clone()).connect(name, tcp).await?;
    Ok(Socket::Tls(Box::new(s)))
}

/// Startup and authentication by tokio-postgres over `socket` (TLS done),
/// which comes back after them.
async fn handshake(connector: &Connector, socket: Socket, host: &str) -> Result<Socket> {
    let t = &*connector.target;
    let shared = Arc::new(parking_lot::Mutex::new(Some(socket)));
    let mut config = connector.config.clone();
    config.ssl_mode(tokio_postgres::config::SslMode::Disable);
    match config.connect_raw(Lent(shared.clone()), tokio_postgres::NoTls).await {
        // Neither is used: dropped unpolled, they write nothing.
        Ok((client, connection)) => drop((client, connection)),
        Err(e) => return Err(super::conn::pg_error(t, &e)),
    }
    let socket = shared.lock().take();
    socket.ok_or_else(|| unavailable(t, format_args!("{host}: the connection was lost in its handshake")))
}

impl Io {
    /// Read until one whole message is in `read`.
    async fn message(&mut self) -> io::Result<Message> {
        loop {
            if let Some(m) = Message::parse(&mut self.read)? {
                return Ok(m);
            }
            if self.socket.read_buf(&mut self.read).await? == 0 {
                return Err(io::ErrorKind::UnexpectedEof.into());
            }
        }
    }
}

async fn run(io: &mut Io, sql: &Sql, stmt: Stmt, params: &[&str]) -> std::result::Result<Row, Failure> {
    let bit = 1u32 << stmt as u32;
    let name = stmt.name();
    io.write.clear();
    let preparing = io.prepared & bit == 0;
    if preparing {
        frontend::parse(name, sql.text(stmt), std::iter::empty(), &mut io.write).map_err(Failure::Io)?;
    }
    // Every parameter and column as text.
    let text = |p: &&str, buf: &mut BytesMut| {
        buf.extend_from_slice(p.as_bytes());
        Ok(IsNull::No)
    };
    frontend::bind("", name, std::iter::empty(), params.iter(), text, std::iter::empty(), &mut io.write)
        .map_err(|_| Failure::Io(io::Error::other("a parameter could not be written")))?;
    frontend::execute("", 0, &mut io.write).map_err(Failure::Io)?;
    frontend::sync(&mut io.write);
    io.fatal = false;
    io.socket.write_all(&io.write).await.map_err(Failure::Io)?;
    let mut row = None;
    let mut failed = None;
    loop {
        match io.message().await.map_err(Failure::Io)? {
            Message::ParseComplete => io.prepared |= bit,
            Message::DataRow(body) if row.is_none() => {
                let buf = body.buffer();
                let cols = body
                    .ranges()
                    .map(|r| Ok(r.map(|r| String::from_utf8_lossy(&buf[r]).into_owned())))
                    .collect()
                    .map_err(Failure::Io)?;
                row = Some(cols);
            }
            Message::ErrorResponse(body) => {
                let (mut severity, mut code, mut text) = (String::new(), String::new(), String::new());
                let mut fields = body.fields();
                while let Some(f) = fields.next().map_err(Failure::Io)? {
                    let value = String::from_utf8_lossy(f.value_bytes()).into_owned();
                    match f.type_() {
                        b'V' => severity = value,
                        b'S' if severity.is_empty() => severity = value,
                        b'C' => code = value,
                        b'M' => text = value,
                        _ => {}
                    }
                }
                io.fatal = severity == "FATAL" || severity == "PANIC";
                if io.fatal {
                    return Err(Failure::Server(format!("{severity} ({code}): {text}")));
                }
                failed = Some(format!("{severity} ({code}): {text}"));
            }
            Message::ReadyForQuery(_) => break,
            // BindComplete, the rest of the rows, CommandComplete, notices.
            _ => {}
        }
    }
    match failed {
        Some(text) => Err(Failure::Server(text)),
        None => Ok(row),
    }
}
