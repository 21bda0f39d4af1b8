//! A raw wire client (`gochat_testkit::wire` on a runtime of its own, for these synchronous
//! tests): a sender the test controls byte for byte, free of any frontend's filtering.

use bytes::Bytes;
use gochat_proto::crypto::{EncryptingKey, PrivateKey};
use gochat_proto::wire::{Action, PublicKey, Request, encode_stamp};
use gochat_testkit::WireClient;

/// A logged-in wire session.
pub struct RawClient {
    client: WireClient,
    runtime: tokio::runtime::Runtime,
}

impl RawClient {
    /// Connects, registers `name` with a fresh key and logs in.
    pub fn register(port: u16, name: &str) -> RawClient {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("runtime");
        let key = PrivateKey::generate().expect("key");
        let client = runtime
            .block_on(async {
                let mut c = WireClient::connect(([127, 0, 0, 1], port).into()).await?;
                c.register(name.as_bytes(), &key).await?;
                c.login(name.as_bytes(), &key).await?;
                Ok::<_, gochat_testkit::WireError>(c)
            })
            .unwrap_or_else(|e| {
                panic!(
                    "{name} registers and logs in: {}",
                    gochat_proto::error_chain::Chain(&e)
                )
            });
        RawClient { client, runtime }
    }

    /// Sends `text` to `to` as one encrypted message, exactly as given.
    pub fn send(&mut self, to: &str, text: &str) {
        let client = &mut self.client;
        self.runtime.block_on(async {
            let reply = client
                .call(&Request::Req {
                    username: Bytes::copy_from_slice(to.as_bytes()),
                })
                .await
                .expect("REQ");
            assert_eq!(reply.action, Action::Req, "REQ {to}: {reply:?}");
            let key = PublicKey::parse(&reply.args[1]).expect("recipient key");
            let key = EncryptingKey::new(&key).expect("encrypting key");
            assert!(text.len() <= key.max_plaintext(), "one block");
            let ciphertext = key.encrypt(text.as_bytes()).expect("encrypt");
            let now = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .expect("clock")
                .as_secs();
            let reply = client
                .call(&Request::Msg {
                    to: Bytes::copy_from_slice(to.as_bytes()),
                    stamp: Bytes::from(encode_stamp(i64::try_from(now).expect("time"))),
                    ciphertext: Bytes::from(ciphertext),
                })
                .await
                .expect("MSG");
            assert_eq!(reply.action, Action::Ok, "MSG {to}: {reply:?}");
        });
    }
}
