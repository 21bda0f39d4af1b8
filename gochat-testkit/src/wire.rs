//! The gochat v1 client of the tests and the load tools: connect over TCP or TLS, read HELLO,
//! register, log in by RSA challenge, send and receive packets.
//!
//! Every network operation has a timeout ([`OP_TIMEOUT`] unless changed with
//! [`WireClient::set_timeout`]). Failures and refusals are [`WireError`]s, never panics:
//! the asserting layer for tests is [`crate::session`].

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use bytes::{Bytes, BytesMut};
use gochat_proto::crypto::{CryptoError, PrivateKey};
use gochat_proto::wire::{Action, Direction, EncodeError, ErrorCode, FrameError, Packet, Request};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::{TcpSocket, TcpStream};
use tokio_rustls::TlsConnector;
use tokio_rustls::client::TlsStream;
use zeroize::Zeroizing;

/// How long any single network operation may take by default.
pub const OP_TIMEOUT: Duration = Duration::from_secs(30);

/// Any byte stream a client can run over.
pub trait Io: AsyncRead + AsyncWrite + Unpin + Send {}
impl<T: AsyncRead + AsyncWrite + Unpin + Send> Io for T {}

/// A stream whose kind (plain or TLS) is chosen at run time.
pub type BoxedIo = Box<dyn Io>;

/// What went wrong on a connection, or what the server refused.
#[derive(Debug, thiserror::Error)]
pub enum WireError {
    /// The TCP connection could not be made.
    #[error("cannot connect to {addr}")]
    Connect {
        /// The server.
        addr: SocketAddr,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
    /// The local source address could not be bound.
    #[error("cannot bind the source address {addr}")]
    Bind {
        /// The source address.
        addr: IpAddr,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
    /// The TLS handshake failed.
    #[error("TLS handshake with {addr} failed")]
    Tls {
        /// The server.
        addr: SocketAddr,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
    /// An operation took longer than allowed.
    #[error("{what}: nothing within {} s", after.as_secs_f64())]
    Timeout {
        /// What was waited for.
        what: &'static str,
        /// The limit.
        after: Duration,
    },
    /// Reading or writing failed.
    #[error("the connection failed")]
    Io(#[from] std::io::Error),
    /// The server sent bytes that are not a packet.
    #[error("malformed packet from the server")]
    Frame(#[from] FrameError),
    /// A packet could not be framed.
    #[error("cannot encode the packet")]
    Encode(#[from] EncodeError),
    /// The server closed the connection between packets.
    #[error("connection closed by server")]
    Closed,
    /// The server closed the connection in the middle of a packet.
    #[error("connection closed by server in the middle of a packet")]
    Truncated,
    /// The first packet was not HELLO.
    #[error("expected HELLO, got {0}")]
    NoHello(Action),
    /// The server ended the session with an unsolicited `ERR` (ID 0).
    #[error("server closed the connection with {}", code_name(*.0))]
    Ended(u8),
    /// A request was answered with `ERR`.
    #[error("{request}: {}", code_name(*.code))]
    Refused {
        /// The request (`REG`, `LOGIN`, ...).
        request: &'static str,
        /// The error code.
        code: u8,
    },
    /// A request was answered with another action than expected.
    #[error("{request}: unexpected {got}")]
    Unexpected {
        /// The request.
        request: &'static str,
        /// What came instead.
        got: Action,
    },
    /// VERIF came without a challenge.
    #[error("VERIF without challenge")]
    NoChallenge,
    /// The challenge did not decrypt with the key.
    #[error("decrypting the challenge")]
    Challenge(#[source] CryptoError),
    /// The decrypting task died.
    #[error("the decrypting task failed")]
    Task(#[source] tokio::task::JoinError),
    /// No reply with the request's ID came among many packets.
    #[error("no reply with ID {0}")]
    NoReply(u16),
}

impl WireError {
    /// The error code when the server refused a request or ended the session.
    pub fn error_code(&self) -> Option<u8> {
        match self {
            WireError::Refused { code, .. } | WireError::Ended(code) => Some(*code),
            _ => None,
        }
    }
}

/// The name of an error code (`ERR_EMPTY`, ...), or its number when unknown.
pub fn code_name(code: u8) -> String {
    match ErrorCode::from_code(code) {
        Some(c) => c.name().to_owned(),
        None => format!("ERR({code:#04x})"),
    }
}

/// The name of the error code of an `ERR` packet.
pub fn err_name(p: &Packet) -> String {
    code_name(p.info)
}

/// Advances `id` to the next request ID (1..=1023, never 0) and returns it.
pub fn bump(id: &mut u16) -> u16 {
    *id = if *id >= 1023 { 1 } else { *id + 1 };
    *id
}

/// Reads one server packet from `rd`, keeping what comes after it in `buf`. No timeout: wrap
/// it. Used on a split stream's read half.
pub async fn read_packet<R: AsyncRead + Unpin>(
    rd: &mut R,
    buf: &mut BytesMut,
) -> Result<Packet, WireError> {
    loop {
        if let Some(p) = Packet::decode(buf, Direction::ToClient)? {
            return Ok(p);
        }
        buf.reserve(8192);
        let n = rd.read_buf(buf).await?;
        if n == 0 {
            return Err(if buf.is_empty() {
                WireError::Closed
            } else {
                WireError::Truncated
            });
        }
    }
}

/// A client connection: requests out, packets in.
pub struct WireClient<S = TcpStream> {
    /// The stream (public so a load tool can split it).
    pub stream: S,
    /// Bytes read but not yet decoded.
    pub buf: BytesMut,
    /// The last request ID used (see [`bump`]).
    pub next_id: u16,
    /// The greeting.
    pub hello: Packet,
    out: BytesMut,
    timeout: Duration,
}

impl WireClient<TcpStream> {
    /// Connects over plain TCP and reads HELLO.
    pub async fn connect(addr: SocketAddr) -> Result<Self, WireError> {
        Self::connect_from(addr, None).await
    }

    /// Connects from `source` (the kernel picks the port) and reads HELLO.
    pub async fn connect_from(
        addr: SocketAddr,
        source: Option<Ipv4Addr>,
    ) -> Result<Self, WireError> {
        let stream = tcp(addr, source).await?;
        WireClient::over(stream).await
    }
}

impl WireClient<TlsStream<TcpStream>> {
    /// Connects over TLS, checking the certificate for `server_name`, and reads HELLO.
    pub async fn connect_tls(
        addr: SocketAddr,
        connector: &TlsConnector,
        server_name: &str,
    ) -> Result<Self, WireError> {
        let stream = tcp(addr, None).await?;
        let name = rustls_pki_types::ServerName::try_from(server_name.to_owned()).map_err(|e| {
            WireError::Tls {
                addr,
                source: std::io::Error::new(std::io::ErrorKind::InvalidInput, e),
            }
        })?;
        let tls = tokio::time::timeout(OP_TIMEOUT, connector.connect(name, stream))
            .await
            .map_err(|_| WireError::Timeout {
                what: "TLS handshake",
                after: OP_TIMEOUT,
            })?
            .map_err(|source| WireError::Tls { addr, source })?;
        WireClient::over(tls).await
    }
}

async fn tcp(addr: SocketAddr, source: Option<Ipv4Addr>) -> Result<TcpStream, WireError> {
    let socket = if addr.is_ipv4() {
        TcpSocket::new_v4()
    } else {
        TcpSocket::new_v6()
    }
    .map_err(|source| WireError::Connect { addr, source })?;
    if let Some(src) = source {
        let bind = IpAddr::V4(src);
        socket
            .set_reuseaddr(true)
            .and_then(|()| socket.bind(SocketAddr::new(bind, 0)))
            .map_err(|source| WireError::Bind { addr: bind, source })?;
    }
    let stream = tokio::time::timeout(OP_TIMEOUT, socket.connect(addr))
        .await
        .map_err(|_| WireError::Timeout {
            what: "connect",
            after: OP_TIMEOUT,
        })?
        .map_err(|source| WireError::Connect { addr, source })?;
    let _ = stream.set_nodelay(true);
    Ok(stream)
}

impl<S: AsyncRead + AsyncWrite + Unpin> WireClient<S> {
    /// Wraps a connected stream and reads HELLO (which must have ID 0).
    pub async fn over(stream: S) -> Result<Self, WireError> {
        let mut buf = BytesMut::new();
        let mut stream = stream;
        let hello = tokio::time::timeout(OP_TIMEOUT, read_packet(&mut stream, &mut buf))
            .await
            .map_err(|_| WireError::Timeout {
                what: "HELLO",
                after: OP_TIMEOUT,
            })??;
        if hello.action != Action::Hello || hello.id != 0 {
            return Err(WireError::NoHello(hello.action));
        }
        Ok(WireClient {
            stream,
            buf,
            next_id: rand::random_range(1..=1023),
            hello,
            out: BytesMut::new(),
            timeout: OP_TIMEOUT,
        })
    }

    /// Sets the limit of each later operation.
    pub fn set_timeout(&mut self, timeout: Duration) {
        self.timeout = timeout;
    }

    /// The MOTD from HELLO.
    pub fn motd(&self) -> &[u8] {
        self.hello.arg(0).map_or(&[][..], |a| a.as_ref())
    }

    /// A fresh request ID (see [`bump`]).
    pub fn next_id(&mut self) -> u16 {
        bump(&mut self.next_id)
    }

    /// Queues a packet without writing it (see [`WireClient::flush`]).
    pub fn feed(&mut self, packet: &Packet) -> Result<(), WireError> {
        packet.encode(&mut self.out)?;
        Ok(())
    }

    /// Writes everything fed so far.
    pub async fn flush(&mut self) -> Result<(), WireError> {
        let limit = self.timeout;
        let write = async {
            self.stream.write_all(&self.out).await?;
            self.stream.flush().await
        };
        tokio::time::timeout(limit, write)
            .await
            .map_err(|_| WireError::Timeout {
                what: "write",
                after: limit,
            })??;
        self.out.clear();
        Ok(())
    }

    /// Writes one packet.
    pub async fn send(&mut self, packet: &Packet) -> Result<(), WireError> {
        self.feed(packet)?;
        self.flush().await
    }

    /// Sends `request` with a fresh ID; returns the ID.
    pub async fn send_request(&mut self, request: &Request) -> Result<u16, WireError> {
        let id = self.next_id();
        self.send(&request.to_packet(id)).await?;
        Ok(id)
    }

    /// The next packet; [`WireError::Closed`] at the end of the stream.
    pub async fn recv(&mut self) -> Result<Packet, WireError> {
        self.recv_within(self.timeout).await
    }

    /// The next packet within `limit`.
    pub async fn recv_within(&mut self, limit: Duration) -> Result<Packet, WireError> {
        tokio::time::timeout(limit, read_packet(&mut self.stream, &mut self.buf))
            .await
            .map_err(|_| WireError::Timeout {
                what: "a packet",
                after: limit,
            })?
    }

    /// The next packet within `limit`, or `None` at a clean end of the stream.
    pub async fn next_packet(&mut self, limit: Duration) -> Result<Option<Packet>, WireError> {
        match self.recv_within(limit).await {
            Ok(p) => Ok(Some(p)),
            Err(WireError::Closed) => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// Sends a request and returns the reply with its ID. Other packets are skipped; an
    /// unsolicited `ERR` ends the session and is an error.
    pub async fn call(&mut self, request: &Request) -> Result<Packet, WireError> {
        self.call_with(request, &mut |_| {}).await
    }

    /// [`WireClient::call`], handing every other packet that arrives before the reply
    /// (`RECIV`, `HOOK`, ...) to `unsolicited`.
    pub async fn call_with(
        &mut self,
        request: &Request,
        unsolicited: &mut (dyn FnMut(&Packet) + Send),
    ) -> Result<Packet, WireError> {
        let id = self.send_request(request).await?;
        for _ in 0..100_000 {
            let p = self.recv().await?;
            if p.id == id {
                return Ok(p);
            }
            if p.id == 0 && p.action == Action::Err {
                return Err(WireError::Ended(p.info));
            }
            unsolicited(&p);
        }
        Err(WireError::NoReply(id))
    }

    /// `REG name <key's PEM>`; `OK` or [`WireError::Refused`].
    pub async fn register(&mut self, name: &[u8], key: &PrivateKey) -> Result<(), WireError> {
        let reply = self
            .call(&Request::Reg {
                username: Bytes::copy_from_slice(name),
                public_key: Bytes::from(key.public_key().to_pem()),
            })
            .await?;
        expect(&reply, "REG", Action::Ok)
    }

    /// `REG`, for load tools that count refusals: `Ok(None)` on `OK`, `Ok(Some(name))` when
    /// refused (the error code's name, or `unexpected ACTION`).
    pub async fn try_register(
        &mut self,
        name: &[u8],
        key: &PrivateKey,
    ) -> Result<Option<String>, WireError> {
        match self.register(name, key).await {
            Ok(()) => Ok(None),
            Err(WireError::Refused { code, .. }) => Ok(Some(code_name(code))),
            Err(WireError::Unexpected { got, .. }) => Ok(Some(format!("unexpected {got}"))),
            Err(e) => Err(e),
        }
    }

    /// `LOGIN name`; returns the encrypted challenge from VERIF.
    pub async fn challenge(&mut self, name: &[u8]) -> Result<Bytes, WireError> {
        let reply = self
            .call(&Request::Login {
                username: Bytes::copy_from_slice(name),
                token: None,
            })
            .await?;
        expect(&reply, "LOGIN", Action::Verif)?;
        reply.args.first().cloned().ok_or(WireError::NoChallenge)
    }

    /// `VERIF name answer`; `OK` or [`WireError::Refused`].
    pub async fn verify(&mut self, name: &[u8], answer: &[u8]) -> Result<(), WireError> {
        let reply = self
            .call(&Request::Verif {
                username: Bytes::copy_from_slice(name),
                answer: Bytes::copy_from_slice(answer),
            })
            .await?;
        expect(&reply, "VERIF", Action::Ok)
    }

    /// Challenge login, decrypting on this task; returns the answer (the reusable token
    /// over TLS).
    pub async fn login(
        &mut self,
        name: &[u8],
        key: &PrivateKey,
    ) -> Result<Zeroizing<Vec<u8>>, WireError> {
        let challenge = self.challenge(name).await?;
        let answer = key.decrypt(&challenge).map_err(WireError::Challenge)?;
        self.verify(name, &answer).await?;
        Ok(answer)
    }

    /// Challenge login, decrypting on a blocking thread (for many logins at once).
    pub async fn login_offloaded(
        &mut self,
        name: &[u8],
        key: &Arc<PrivateKey>,
    ) -> Result<(), WireError> {
        let challenge = self.challenge(name).await?;
        let key = key.clone();
        let answer = tokio::task::spawn_blocking(move || key.decrypt(&challenge))
            .await
            .map_err(WireError::Task)?
            .map_err(WireError::Challenge)?;
        self.verify(name, &answer).await
    }

    /// `LOGOUT`, keeping the connection.
    pub async fn logout(&mut self) -> Result<(), WireError> {
        let reply = self.call(&Request::Logout).await?;
        expect(&reply, "LOGOUT", Action::Ok)
    }
}

impl<S: Io + 'static> WireClient<S> {
    /// The same client over a boxed stream, so plain and TLS clients have one type.
    pub fn boxed(self) -> WireClient<BoxedIo> {
        WireClient {
            stream: Box::new(self.stream),
            buf: self.buf,
            next_id: self.next_id,
            hello: self.hello,
            out: self.out,
            timeout: self.timeout,
        }
    }
}

/// `Ok` when `reply` is `want`, else why not.
fn expect(reply: &Packet, request: &'static str, want: Action) -> Result<(), WireError> {
    if reply.action == want {
        Ok(())
    } else if reply.action == Action::Err {
        Err(WireError::Refused {
            request,
            code: reply.info,
        })
    } else {
        Err(WireError::Unexpected {
            request,
            got: reply.action,
        })
    }
}

/// Waits until a server at `addr` greets with HELLO, for at most `limit`.
pub async fn wait_for_hello(addr: SocketAddr, limit: Duration) -> Result<(), WireError> {
    let start = tokio::time::Instant::now();
    let mut pause = Duration::from_millis(5);
    loop {
        match WireClient::connect(addr).await {
            Ok(_) => return Ok(()),
            Err(e) if start.elapsed() > limit => return Err(e),
            Err(_) => {
                tokio::time::sleep(pause).await;
                pause = (pause * 2).min(Duration::from_millis(100));
            }
        }
    }
}
