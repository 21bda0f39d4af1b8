//! What an admin announces to everyone online on this node: a broadcast text (encrypted for
//! each user) and a scheduled shutdown. The session's ADMIN handler and the cluster (for an
//! announcement made on another node) both use it.

use bytes::{Bytes, BytesMut};
use gochat_proto::crypto::split_text;
use gochat_proto::wire::Response;

use crate::conn::ConnId;
use crate::hub::Hub;

/// Prefix of every broadcast text, as the deployed server writes it.
pub const BROADCAST_PREFIX: &[u8] = b"ADMINISTRATIVE BROADCAST:\n";

/// Sends `text` from `sender` to every user online here except the one on `skip`, cut to
/// fit each user's key, as `RECIV`s stamped `stamp`.
pub fn broadcast_here(hub: &Hub, sender: &Bytes, stamp: &Bytes, text: &[u8], skip: Option<ConnId>) {
    let text = String::from_utf8_lossy(text);
    for online in hub.online_users() {
        if Some(online.conn.id()) == skip {
            continue;
        }
        let max = online
            .key
            .max_plaintext()
            .saturating_sub(BROADCAST_PREFIX.len());
        let mut out = BytesMut::new();
        for piece in split_text(&text, max) {
            let mut plain = BROADCAST_PREFIX.to_vec();
            plain.extend_from_slice(piece.as_bytes());
            let Ok(ciphertext) = online.key.encrypt(&plain) else {
                continue;
            };
            let reciv = Response::Reciv {
                from: sender.clone(),
                stamp: stamp.clone(),
                ciphertext: ciphertext.into(),
            };
            let _ = reciv.to_packet(0).encode(&mut out);
        }
        let _ = online.conn.try_send(out.freeze(), None);
    }
}

/// Tells every user online here that the server stops at `raw_stamp`.
pub fn announce_shutdown_here(hub: &Hub, raw_stamp: Bytes) {
    if let Ok(bytes) = (Response::Shtdwn {
        stamp: Some(raw_stamp),
    })
    .to_packet(0)
    .to_bytes()
    {
        for online in hub.online_users() {
            let _ = online.conn.try_send(bytes.clone(), None);
        }
    }
}
