//! What nodes send each other over NATS: events for every node (JSON, rare and small) and
//! forwarded messages for one node (a compact binary frame, one per message).

use bytes::{BufMut, Bytes, BytesMut};
use serde::{Deserialize, Serialize};

use gochat_proto::wire::{Direction, MAX_PAYLOAD, MAX_USERNAME_LEN, PREAMBLE_LEN, Packet};

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

/// The largest event accepted from another node (JSON writes each byte of a field as up to
/// four characters; the largest legitimate event, a HOOK packet or a MOTD, is under 70 KiB).
pub(super) const MAX_EVENT: usize = 128 * 1024;

/// The longest stamp field accepted in an event (stamps are at most 10 digits).
const STAMP_MAX: usize = 64;

/// The largest forwarded-message frame: four ids, three short parts and a ciphertext (one
/// argument of a packet, so never more than a packet's payload).
pub(super) const MAX_FORWARD: usize = 4 * 8 + 3 * 256 + MAX_PAYLOAD;

/// Reads an event from another node; `None` if it is malformed or larger than anything a
/// node sends (a buggy or compromised node's), so nothing oversized reaches the sessions.
pub(super) fn decode_event(payload: &[u8]) -> Option<Envelope> {
    if payload.len() > MAX_EVENT {
        return None;
    }
    let envelope: Envelope = serde_json::from_slice(payload).ok()?;
    let fits = match &envelope.event {
        // Relayed to clients byte for byte: exactly one well-formed packet, or a client's
        // framing would be thrown off.
        Event::Hook { packet, .. } => {
            packet.len() <= PREAMBLE_LEN + MAX_PAYLOAD
                && Packet::decode_exact(packet, Direction::ToClient).is_ok()
        }
        Event::Permission { name, .. }
        | Event::Deregistered { name }
        | Event::TokenRevoked { name }
        | Event::Kick { name } => name.len() <= MAX_USERNAME_LEN,
        Event::Motd { text } => text.len() <= MAX_PAYLOAD,
        Event::Broadcast { from, stamp, text } => {
            from.len() <= MAX_USERNAME_LEN && stamp.len() <= STAMP_MAX && text.len() <= MAX_PAYLOAD
        }
        Event::Shutdown { stamp, .. } => stamp.len() <= STAMP_MAX,
    };
    fits.then_some(envelope)
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
    if frame.len() > MAX_FORWARD {
        return None;
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

    fn event(event: Event) -> Vec<u8> {
        serde_json::to_vec(&Envelope {
            from: "n2".into(),
            event,
        })
        .expect("encodes")
    }

    #[test]
    fn oversized_or_malformed_events_and_frames_are_refused() {
        let motd = |n: usize| {
            event(Event::Motd {
                text: vec![b'm'; n],
            })
        };
        assert!(decode_event(&motd(100)).is_some());
        assert!(decode_event(&motd(MAX_PAYLOAD)).is_some());
        assert!(decode_event(&motd(MAX_PAYLOAD + 1)).is_none());
        let broadcast = event(Event::Broadcast {
            from: vec![b'a'; 33],
            stamp: b"1".to_vec(),
            text: b"hi".to_vec(),
        });
        assert!(
            decode_event(&broadcast).is_none(),
            "a name longer than any user's"
        );
        let hook = gochat_proto::wire::Response::duplicate_session("127.0.0.1")
            .to_packet(0)
            .to_bytes()
            .expect("a packet");
        let hook_event = |packet: &[u8]| {
            event(Event::Hook {
                hook: 0,
                packet: packet.to_vec(),
            })
        };
        assert!(decode_event(&hook_event(&hook)).is_some());
        assert!(
            decode_event(&hook_event(&hook[..hook.len() - 1])).is_none(),
            "cut short"
        );
        let mut two = hook.to_vec();
        two.extend_from_slice(&hook);
        assert!(decode_event(&hook_event(&two)).is_none(), "two packets");
        assert!(decode_event(&hook_event(b"garbage!!\r\n")).is_none());
        let kick = event(Event::Kick {
            name: b"bob".to_vec(),
        });
        assert!(decode_event(&kick).is_some());
        let huge = format!("{{\"from\":\"n2\",\"pad\":\"{}\"}}", "x".repeat(MAX_EVENT));
        assert!(decode_event(huge.as_bytes()).is_none());
        for garbage in [&b""[..], b"{", b"null", b"[1,2]", b"\xff\xfe"] {
            assert!(decode_event(garbage).is_none());
        }
        let f = Forward {
            to: Bytes::from_static(b"bob"),
            from: Bytes::from_static(b"alice"),
            raw_stamp: Bytes::from_static(b"1"),
            message: NewMessage {
                sender_id: 1,
                recipient_id: 2,
                stamp: 1,
                ciphertext: vec![0; MAX_FORWARD],
            },
        };
        let frame = encode_forward(&f, 1).expect("encodes");
        assert!(
            decode_forward(&frame).is_none(),
            "a frame longer than any message"
        );
    }
}
