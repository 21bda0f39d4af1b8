//! The client side of the gochat wire protocol shared by the examples (`loadgen`, `soak`):
//! a request/response connection over plain TCP, challenge login, and a cache of RSA keys.
//!
//! Every network operation has a timeout ([`OP_TIMEOUT`]) and server errors are returned,
//! never panicked on.

#![allow(dead_code)]

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, anyhow, bail};
use bytes::{Bytes, BytesMut};
use gochat_proto::crypto::PrivateKey;
use gochat_proto::wire::{Action, Direction, ErrorCode, Packet, Request};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpSocket, TcpStream};

/// How long any single network operation may take.
pub const OP_TIMEOUT: Duration = Duration::from_secs(30);
/// Most RSA keys the cache will generate in one run.
pub const MAX_KEYS: usize = 1000;

/// The name of the error code of an `ERR` packet (`ERR_EMPTY`, …).
pub fn err_name(p: &Packet) -> String {
    match ErrorCode::from_code(p.info) {
        Some(c) => c.name().to_owned(),
        None => format!("ERR({:#04x})", p.info),
    }
}

/// Loads `count` keys from the cache, generating (in parallel) and saving any that are missing.
pub fn load_keys(path: &Path, count: usize) -> Result<Vec<Arc<PrivateKey>>> {
    if count > MAX_KEYS {
        bail!("at most {MAX_KEYS} keys");
    }
    let mut keys = Vec::new();
    if let Ok(text) = std::fs::read_to_string(path) {
        const END: &str = "-----END RSA PRIVATE KEY-----";
        for block in text.split_inclusive(END).filter(|b| b.contains(END)) {
            match PrivateKey::from_pem(block.as_bytes()) {
                Ok(k) => keys.push(Arc::new(k)),
                Err(e) => eprintln!(
                    "warning: skipping unreadable key in {}: {e}",
                    path.display()
                ),
            }
            if keys.len() == count {
                break;
            }
        }
    }
    if keys.len() >= count {
        return Ok(keys);
    }
    let missing = count - keys.len();
    let threads = std::thread::available_parallelism()
        .map_or(2, |n| n.get())
        .min(missing);
    eprintln!(
        "generating {missing} RSA-4096 keys on {threads} threads (cached in {})",
        path.display()
    );
    let started = Instant::now();
    let per = missing.div_ceil(threads);
    let generated: Vec<Result<Vec<PrivateKey>>> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..threads)
            .map(|t| {
                let n = per.min(missing.saturating_sub(t * per));
                s.spawn(move || -> Result<Vec<PrivateKey>> {
                    (0..n)
                        .map(|_| PrivateKey::generate().map_err(|e| anyhow!("{e}")))
                        .collect()
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|h| {
                h.join()
                    .unwrap_or_else(|_| Err(anyhow!("key generation thread panicked")))
            })
            .collect()
    });
    for batch in generated {
        keys.extend(batch?.into_iter().map(Arc::new));
    }
    eprintln!(
        "generated {missing} keys in {:.1} s",
        started.elapsed().as_secs_f64()
    );
    let mut text = String::new();
    for k in &keys {
        text.push_str(&k.to_pkcs1_pem().map_err(|e| anyhow!("{e}"))?);
    }
    write_private(path, text.as_bytes()).with_context(|| format!("writing {}", path.display()))?;
    Ok(keys)
}

// Client connection

/// Writes `bytes` to `path`, readable by the owner only (the file holds private keys).
fn write_private(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    use std::io::Write;
    use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(path)?;
    // An older cache may have been created with wider permissions.
    file.set_permissions(std::fs::Permissions::from_mode(0o600))?;
    file.write_all(bytes)
}

/// A client connection for request/response use.
pub struct Client {
    /// The socket.
    pub stream: TcpStream,
    /// Bytes read but not yet decoded.
    pub buf: BytesMut,
    /// The last request ID used.
    pub next_id: u16,
}

/// Next request ID in 1..=1023.
pub fn bump(id: &mut u16) -> u16 {
    *id = if *id >= 1023 { 1 } else { *id + 1 };
    *id
}

pub async fn read_packet<R: AsyncReadExt + Unpin>(
    rd: &mut R,
    buf: &mut BytesMut,
) -> Result<Packet> {
    loop {
        if let Some(p) =
            Packet::decode(buf, Direction::ToClient).context("malformed packet from server")?
        {
            return Ok(p);
        }
        buf.reserve(8192);
        let n = rd.read_buf(buf).await.context("read")?;
        if n == 0 {
            bail!("connection closed by server");
        }
    }
}

impl Client {
    /// Connects from `source` (port chosen by the kernel) and reads HELLO.
    pub async fn connect(addr: SocketAddr, source: Option<Ipv4Addr>) -> Result<Client> {
        let socket = TcpSocket::new_v4().context("socket")?;
        if let Some(src) = source {
            socket.set_reuseaddr(true).context("SO_REUSEADDR")?;
            socket
                .bind(SocketAddr::new(IpAddr::V4(src), 0))
                .with_context(|| format!("bind {src}"))?;
        }
        let stream = tokio::time::timeout(OP_TIMEOUT, socket.connect(addr))
            .await
            .map_err(|_| anyhow!("connect timed out"))?
            .context("connect")?;
        let _ = stream.set_nodelay(true);
        let mut c = Client {
            stream,
            buf: BytesMut::new(),
            next_id: (rand::random::<u16>() % 1023) + 1,
        };
        let hello = c.recv().await?;
        if hello.action != Action::Hello {
            bail!("expected HELLO, got {}", hello.action);
        }
        Ok(c)
    }

    pub async fn recv(&mut self) -> Result<Packet> {
        tokio::time::timeout(OP_TIMEOUT, read_packet(&mut self.stream, &mut self.buf))
            .await
            .map_err(|_| anyhow!("no reply within {} s", OP_TIMEOUT.as_secs()))?
    }

    pub async fn send(&mut self, packet: &Packet) -> Result<()> {
        let bytes = packet.to_bytes().context("encode")?;
        tokio::time::timeout(OP_TIMEOUT, self.stream.write_all(&bytes))
            .await
            .map_err(|_| anyhow!("write timed out"))?
            .context("write")
    }

    /// Sends a request and returns the reply with the same ID (unsolicited packets are
    /// skipped; a connection-ending ERR is an error).
    pub async fn call(&mut self, request: &Request) -> Result<Packet> {
        self.call_with(request, &mut |_| {}).await
    }

    /// [`Client::call`], handing every other packet that arrives before the reply (`RECIV`,
    /// `HOOK`, …) to `unsolicited`.
    pub async fn call_with(
        &mut self,
        request: &Request,
        unsolicited: &mut (dyn FnMut(&Packet) + Send),
    ) -> Result<Packet> {
        let id = bump(&mut self.next_id);
        self.send(&request.to_packet(id)).await?;
        for _ in 0..100_000 {
            let p = self.recv().await?;
            if p.id == id {
                return Ok(p);
            }
            if p.id == 0 && p.action == Action::Err {
                bail!("server closed the connection with {}", err_name(&p));
            }
            unsolicited(&p);
        }
        bail!("no reply with ID {id}")
    }

    /// REG; `Ok(None)` on OK, `Ok(Some(code))` on ERR.
    pub async fn register(&mut self, name: &Bytes, key: &PrivateKey) -> Result<Option<String>> {
        let reply = self
            .call(&Request::Reg {
                username: name.clone(),
                public_key: Bytes::from(key.public_key().to_pem()),
            })
            .await?;
        Ok(match reply.action {
            Action::Ok => None,
            Action::Err => Some(err_name(&reply)),
            other => Some(format!("unexpected {other}")),
        })
    }

    /// LOGIN by challenge, then VERIF. The decryption runs on a blocking thread.
    pub async fn login(&mut self, name: &Bytes, key: &Arc<PrivateKey>) -> Result<()> {
        let reply = self
            .call(&Request::Login {
                username: name.clone(),
                token: None,
            })
            .await?;
        let challenge = match reply.action {
            Action::Verif => reply
                .args
                .first()
                .cloned()
                .ok_or_else(|| anyhow!("VERIF without challenge"))?,
            Action::Err => bail!("LOGIN: {}", err_name(&reply)),
            other => bail!("LOGIN: unexpected {other}"),
        };
        let key = key.clone();
        let answer = tokio::task::spawn_blocking(move || key.decrypt(&challenge))
            .await
            .context("decrypt task")?
            .map_err(|e| anyhow!("decrypting the challenge: {e}"))?;
        let reply = self
            .call(&Request::Verif {
                username: name.clone(),
                answer: Bytes::copy_from_slice(&answer),
            })
            .await?;
        match reply.action {
            Action::Ok => Ok(()),
            Action::Err => bail!("VERIF: {}", err_name(&reply)),
            other => bail!("VERIF: unexpected {other}"),
        }
    }

    /// LOGOUT, keeping the connection.
    pub async fn logout(&mut self) -> Result<()> {
        let reply = self.call(&Request::Logout).await?;
        match reply.action {
            Action::Ok => Ok(()),
            Action::Err => bail!("LOGOUT: {}", err_name(&reply)),
            other => bail!("LOGOUT: unexpected {other}"),
        }
    }
}

/// Waits until the server accepts connections (up to 20 s).
pub async fn wait_for_server(addr: SocketAddr) -> Result<()> {
    let start = Instant::now();
    loop {
        match Client::connect(addr, None).await {
            Ok(_) => return Ok(()),
            Err(e) if start.elapsed() > Duration::from_secs(20) => {
                return Err(e.context(format!("server at {addr} not reachable")));
            }
            Err(_) => tokio::time::sleep(Duration::from_millis(100)).await,
        }
    }
}
