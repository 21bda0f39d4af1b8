//! What nodes send each other over NATS: events for every node (JSON, rare and small) and
//! forwarded messages for one node (a compact binary frame, one per message).

use bytes::{BufMut, Bytes, BytesMut};
use serde::{Deserialize, Serialize};

use super::Forward;
use crate::store::NewMessage;

/// An event for every node, with the node it came from (which ignores its own).
#[derive(Debug, Serialize, Deserialize)]
pub(super) struct Envelope {
    /// The sending node's id.
    pub from: String,
    /// What happened.
    pub event: Event,
}

/// Something every node applies to its own sessions.
#[derive(Debug, Serialize, Deserialize)]
pub(super) enum Event {
    /// A HOOK packet for subscribers (`hook` is its code).
    Hook { hook: u8, packet: Vec<u8> },
    /// A user's permission changed.
    Permission { name: Vec<u8>, level: u8 },
    /// A user was deregistered: their session ends.
    Deregistered { name: Vec<u8> },
    /// A user's reusable token was revoked.
    TokenRevoked { name: Vec<u8> },
    /// The MOTD changed.
    Motd { text: Vec<u8> },
    /// A user is kicked.
    Kick { name: Vec<u8> },
    /// An admin broadcast.
    Broadcast {
        from: Vec<u8>,
        stamp: Vec<u8>,
        text: Vec<u8>,
    },
    /// The cluster shuts down at `at`.
    Shutdown { at: i64, stamp: Vec<u8> },
}

/// A duplicate login attempt, for the node holding the session.
#[derive(Debug, Serialize, Deserialize)]
pub(super) struct DupAttempt {
    pub name: Vec<u8>,
    pub ip: String,
}

/// Frames a forwarded message stored as row `row`: four ids (row, sender, recipient,
/// stamp), three length-prefixed names and stamp, then the ciphertext.
pub(super) fn encode_forward(f: &Forward, row: i64) -> Option<Bytes> {
    let mut out = BytesMut::with_capacity(72 + f.message.ciphertext.len());
    out.put_i64(row);
    out.put_i64(f.message.sender_id);
    out.put_i64(f.message.recipient_id);
    out.put_i64(f.message.stamp);
    for part in [&f.to[..], &f.from[..], &f.raw_stamp[..]] {
        out.put_u8(u8::try_from(part.len()).ok()?);
        out.put_slice(part);
    }
    out.put_slice(&f.message.ciphertext);
    Some(out.freeze())
}

/// Reads a frame written by [`encode_forward`] (the message and its row id); `None` if it
/// is malformed.
pub(super) fn decode_forward(mut frame: &[u8]) -> Option<(Forward, i64)> {
    fn take<'a>(frame: &mut &'a [u8], n: usize) -> Option<&'a [u8]> {
        let (head, rest) = (frame.get(..n)?, frame.get(n..)?);
        *frame = rest;
        Some(head)
    }
    fn int(frame: &mut &[u8]) -> Option<i64> {
        Some(i64::from_be_bytes(take(frame, 8)?.try_into().ok()?))
    }
    fn part(frame: &mut &[u8]) -> Option<Bytes> {
        let len = usize::from(*take(frame, 1)?.first()?);
        Some(Bytes::copy_from_slice(take(frame, len)?))
    }
    let row = int(&mut frame)?;
    let (sender_id, recipient_id, stamp) = (int(&mut frame)?, int(&mut frame)?, int(&mut frame)?);
    let (to, from, raw_stamp) = (part(&mut frame)?, part(&mut frame)?, part(&mut frame)?);
    let forward = Forward {
        to,
        from,
        raw_stamp,
        message: NewMessage {
            sender_id,
            recipient_id,
            stamp,
            ciphertext: frame.to_vec(),
        },
    };
    Some((forward, row))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_forward_frame_round_trips_and_truncations_are_refused() {
        let f = Forward {
            to: Bytes::from_static(b"bob"),
            from: Bytes::from_static(b"alice"),
            raw_stamp: Bytes::from_static(b"12345"),
            message: NewMessage {
                sender_id: 1,
                recipient_id: 2,
                stamp: 12345,
                ciphertext: vec![7; 300],
            },
        };
        let frame = encode_forward(&f, 99).expect("fits");
        let (back, row) = decode_forward(&frame).expect("decodes");
        assert_eq!(row, 99);
        assert_eq!(back.to, f.to);
        assert_eq!(back.from, f.from);
        assert_eq!(back.raw_stamp, f.raw_stamp);
        assert_eq!(back.message.ciphertext, f.message.ciphertext);
        assert_eq!(back.message.recipient_id, 2);
        for cut in 0..48 {
            assert!(decode_forward(&frame[..cut]).is_none(), "cut at {cut}");
        }
    }
}
