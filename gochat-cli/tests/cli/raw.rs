//! A raw wire client (gochat-proto's codec and crypto over a blocking TCP stream): a sender
//! the test controls byte for byte, free of any frontend's filtering.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::Duration;

use bytes::{Bytes, BytesMut};
use gochat_proto::crypto::{EncryptingKey, PrivateKey};
use gochat_proto::wire::{Action, GochatCodec, Packet, PublicKey, Request, encode_stamp};
use tokio_util::codec::{Decoder, Encoder};

/// A logged-in wire session.
pub struct RawClient {
    stream: TcpStream,
    codec: GochatCodec,
    buffer: BytesMut,
    next_id: u16,
}

impl RawClient {
    /// Connects, registers `name` with a fresh key and logs in.
    pub fn register(port: u16, name: &str) -> RawClient {
        let stream = TcpStream::connect(("127.0.0.1", port)).expect("connect to the server");
        stream
            .set_read_timeout(Some(Duration::from_secs(30)))
            .expect("timeout");
        let mut c = RawClient {
            stream,
            codec: GochatCodec::client(),
            buffer: BytesMut::new(),
            next_id: 1,
        };
        let hello = c.read();
        assert_eq!(hello.action, Action::Hello, "{hello:?}");
        let key = PrivateKey::generate().expect("key");
        let reply = c.call(Request::Reg {
            username: Bytes::copy_from_slice(name.as_bytes()),
            public_key: Bytes::from(key.public_key().to_pem()),
        });
        assert_eq!(reply.action, Action::Ok, "REG {name}: {reply:?}");
        let reply = c.call(Request::Login {
            username: Bytes::copy_from_slice(name.as_bytes()),
            token: None,
        });
        assert_eq!(reply.action, Action::Verif, "LOGIN {name}: {reply:?}");
        let answer = key.decrypt(&reply.args[0]).expect("challenge decrypts");
        let reply = c.call(Request::Verif {
            username: Bytes::copy_from_slice(name.as_bytes()),
            answer: Bytes::copy_from_slice(&answer),
        });
        assert_eq!(reply.action, Action::Ok, "VERIF {name}: {reply:?}");
        c
    }

    /// Sends `text` to `to` as one encrypted message, exactly as given.
    pub fn send(&mut self, to: &str, text: &str) {
        let reply = self.call(Request::Req {
            username: Bytes::copy_from_slice(to.as_bytes()),
        });
        assert_eq!(reply.action, Action::Req, "REQ {to}: {reply:?}");
        let key = PublicKey::parse(&reply.args[1]).expect("recipient key");
        let key = EncryptingKey::new(&key).expect("encrypting key");
        assert!(text.len() <= key.max_plaintext(), "one block");
        let ciphertext = key.encrypt(text.as_bytes()).expect("encrypt");
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .expect("clock")
            .as_secs();
        let reply = self.call(Request::Msg {
            to: Bytes::copy_from_slice(to.as_bytes()),
            stamp: Bytes::from(encode_stamp(i64::try_from(now).expect("time"))),
            ciphertext: Bytes::from(ciphertext),
        });
        assert_eq!(reply.action, Action::Ok, "MSG {to}: {reply:?}");
    }

    fn call(&mut self, request: Request) -> Packet {
        let id = self.next_id;
        self.next_id += 1;
        let mut out = BytesMut::new();
        self.codec
            .encode(request.to_packet(id), &mut out)
            .expect("encode");
        self.stream.write_all(&out).expect("write");
        loop {
            let p = self.read();
            if p.id == id {
                return p;
            }
        }
    }

    fn read(&mut self) -> Packet {
        loop {
            if let Some(p) = self.codec.decode(&mut self.buffer).expect("decode") {
                return p;
            }
            let mut chunk = [0u8; 4096];
            let n = self.stream.read(&mut chunk).expect("read");
            assert!(n > 0, "the server closed the connection");
            self.buffer.extend_from_slice(&chunk[..n]);
        }
    }
}
