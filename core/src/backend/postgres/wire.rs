//! The advisory mode's lock connections, spoken to directly: each holds
//! one lock for one owner at a time and runs one statement at a time, so
//! the caller's task writes the statement (Bind, Execute, Sync of a
//! statement prepared on first use) and reads its reply on the socket
//! itself. Through tokio-postgres each of those crossed its connection
//! task and two channels: pinned to one CPU with its server, the advisory
//! pair was 1.15–1.20x pgbench running the same statements, and is
//! 1.06–1.07x this way (bench/README.md, benchmark 5).
//!
//! The handshake (TLS, startup, authentication) is tokio-postgres's
//! `connect_raw`, run over a stream it borrows and gives back: after it,
//! the server sends nothing until asked, and the socket is ours.

use super::conn::{server_text, unavailable, Connector};
use super::sql::{Sql, Stmt};
use super::url::{PostgresTarget, SslMode};
use crate::error::{Error, Result};
use bytes::{Buf, BytesMut};
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

/// A statement's outcome: the first column of its first row, as text, if
/// it had a row (what the advisory statements return: a fence, a boolean).
pub(crate) type Row = Option<First>;

/// A short column value, kept without an allocation (longer ones are cut:
/// the statements here return numbers and booleans).
pub(crate) struct First {
    bytes: [u8; 24],
    len: usize,
}

impl First {
    fn of(value: &[u8]) -> First {
        let mut bytes = [0u8; 24];
        let len = value.len().min(bytes.len());
        bytes[..len].copy_from_slice(&value[..len]);
        First { bytes, len }
    }
    pub(crate) fn text(&self) -> &str {
        std::str::from_utf8(&self.bytes[..self.len]).unwrap_or("")
    }
}

/// A number as decimal text, without an allocation (a parameter).
pub(crate) struct Decimal {
    bytes: [u8; 20],
    start: usize,
}

impl Decimal {
    pub(crate) fn of(mut n: u64) -> Decimal {
        let mut bytes = [0u8; 20];
        let mut start = bytes.len();
        loop {
            start -= 1;
            bytes[start] = b'0' + (n % 10) as u8;
            n /= 10;
            if n == 0 {
                break;
            }
        }
        Decimal { bytes, start }
    }
    pub(crate) fn text(&self) -> &str {
        // Only ASCII digits were written.
        std::str::from_utf8(&self.bytes[self.start..]).unwrap_or("0")
    }
}

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
        // Unasked-for bytes between statements, or the end: the server's
        // goodbye (a FATAL error: the session was terminated) or, rarely, a
        // parameter report. Either way the connection is not used again.
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
    /// Read until one whole message is at the front of `read`: its type and
    /// its body's length (the caller advances past it).
    async fn message(&mut self) -> io::Result<(u8, usize)> {
        loop {
            if self.read.len() >= 5 {
                let len = u32::from_be_bytes([self.read[1], self.read[2], self.read[3], self.read[4]]) as usize;
                if len < 4 {
                    return Err(io::Error::new(io::ErrorKind::InvalidData, "a message of a negative length"));
                }
                if self.read.len() > len {
                    return Ok((self.read[0], len - 4));
                }
                self.read.reserve(1 + len - self.read.len());
            }
            if self.socket.read_buf(&mut self.read).await? == 0 {
                return Err(io::ErrorKind::UnexpectedEof.into());
            }
        }
    }
}

/// The first column of a DataRow's body (empty if NULL).
fn first_column(body: &[u8]) -> Option<First> {
    let count = i16::from_be_bytes(body.get(..2)?.try_into().ok()?);
    if count < 1 {
        return None;
    }
    let len = i32::from_be_bytes(body.get(2..6)?.try_into().ok()?);
    Some(match usize::try_from(len) {
        Ok(len) => First::of(body.get(6..6 + len)?),
        Err(_) => First::of(b""),
    })
}

/// An ErrorResponse's body as libpq shows it: `SEVERITY (CODE): message`;
/// whether it ends the session.
fn server_error(body: &[u8]) -> (String, bool) {
    let (mut severity, mut code, mut text) = ("", "", "");
    for field in body.split(|&b| b == 0) {
        let Some((&kind, value)) = field.split_first() else { continue };
        let value = std::str::from_utf8(value).unwrap_or("?");
        match kind {
            b'V' => severity = value,
            b'S' if severity.is_empty() => severity = value,
            b'C' => code = value,
            b'M' => text = value,
            _ => {}
        }
    }
    (server_text(severity, code, text), severity == "FATAL" || severity == "PANIC")
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
        let (kind, len) = io.message().await.map_err(Failure::Io)?;
        let body = &io.read[5..5 + len];
        match kind {
            // ParseComplete.
            b'1' => io.prepared |= bit,
            b'D' if row.is_none() => row = first_column(body),
            b'E' => {
                let (text, fatal) = server_error(body);
                if fatal {
                    io.fatal = true;
                    return Err(Failure::Server(text));
                }
                failed = Some(text);
            }
            // ReadyForQuery.
            b'Z' => {
                io.read.advance(5 + len);
                break;
            }
            // BindComplete, the rest of the rows, CommandComplete, notices.
            _ => {}
        }
        io.read.advance(5 + len);
    }
    match failed {
        Some(text) => Err(Failure::Server(text)),
        None => Ok(row),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decimals_are_written_without_allocation() {
        for n in [0u64, 7, 10, 30_000, u64::MAX] {
            assert_eq!(Decimal::of(n).text(), n.to_string());
        }
    }

    #[test]
    fn a_data_rows_first_column_is_read() {
        // Two columns: "42" and NULL.
        let body = [&2i16.to_be_bytes()[..], &2i32.to_be_bytes(), b"42", &(-1i32).to_be_bytes()].concat();
        assert_eq!(first_column(&body).map(|f| f.text().to_owned()), Some("42".to_owned()));
        let null = [&1i16.to_be_bytes()[..], &(-1i32).to_be_bytes()].concat();
        assert_eq!(first_column(&null).map(|f| f.text().to_owned()), Some(String::new()));
        assert!(first_column(&0i16.to_be_bytes()).is_none(), "no column");
        assert!(first_column(&[&1i16.to_be_bytes()[..], &5i32.to_be_bytes(), b"ab"].concat()).is_none(), "cut short");
    }

    #[test]
    fn server_errors_read_as_libpq_shows_them() {
        let body = b"SERROR\0VERROR\0C42P01\0Mrelation \"x\" does not exist\0P15\0\0";
        assert_eq!(server_error(body), ("ERROR (42P01): relation \"x\" does not exist".to_owned(), false));
        let body = b"SFATAL\0C57P01\0Mterminating connection due to administrator command\0\0";
        assert_eq!(server_error(body), ("FATAL (57P01): terminating connection due to administrator command".to_owned(), true));
    }
}
