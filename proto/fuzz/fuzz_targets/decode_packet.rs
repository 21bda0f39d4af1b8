//! Arbitrary bytes through `Packet::decode` in both directions, then the typed layer.
//!
//! Invariants checked (a violation aborts the run):
//! - decoding never panics; `Ok(None)` consumes nothing; `Ok(Some)` consumes exactly the
//!   packet's encoded length;
//! - every decoded packet passes `check()`, re-encodes, and the re-encoding equals the consumed
//!   bytes with the separator normalised to CRLF and the reserved bits to 0xFFFF;
//! - the re-encoding decodes to the same packet;
//! - `Request::from_packet` / `Response::from_packet` never panic, and whatever they accept
//!   builds a packet that can be encoded again.

#![no_main]

use bytes::BytesMut;
use gochat_proto::wire::{
    AdminRequest, Direction, HEADER_LEN, Packet, Request, Response, decode_stamp, parse_user_list,
};
use libfuzzer_sys::fuzz_target;

fn check(data: &[u8], dir: Direction) {
    let mut buf = BytesMut::from(data);
    // Decode a whole stream: as many packets as the input holds.
    loop {
        let before = buf.len();
        let input = buf.clone();
        match Packet::decode(&mut buf, dir) {
            Ok(Some(p)) => {
                let used = before - buf.len();
                assert_eq!(used, p.encoded_len());
                assert!(p.check().is_ok(), "decoded packet fails check(): {p:?}");
                let again = p.to_bytes().expect("a checked packet encodes");
                let mut want = input[..used].to_vec();
                want[6..8].copy_from_slice(&[0xFF, 0xFF]);
                want[8..10].copy_from_slice(b"\r\n");
                assert_eq!(&again[..], &want[..]);
                let mut b = BytesMut::from(&again[..]);
                assert_eq!(Packet::decode(&mut b, dir), Ok(Some(p.clone())));
                typed(&p, dir);
            }
            Ok(None) => {
                assert_eq!(buf.len(), before, "Ok(None) consumed bytes");
                break;
            }
            Err(e) => {
                assert!(before >= HEADER_LEN);
                let _ = e.error_code();
                break;
            }
        }
    }
}

fn typed(p: &Packet, dir: Direction) {
    match dir {
        Direction::ToServer => match Request::from_packet(p) {
            Ok(req) => {
                let built = req.to_packet(p.id);
                if built.check().is_ok() {
                    built.to_bytes().expect("encodes");
                }
                if let Request::Admin { op, args } = &req {
                    let _ = AdminRequest::parse(*op, args);
                }
                if let Request::Msg { stamp, .. } = &req {
                    let _ = decode_stamp(stamp);
                }
            }
            Err(e) => {
                let _ = e.error_code();
            }
        },
        Direction::ToClient => match Response::from_packet(p) {
            Ok(resp) => {
                let built = resp.to_packet(p.id);
                if built.check().is_ok() {
                    built.to_bytes().expect("encodes");
                }
                if let Response::Users { list } = &resp {
                    let _ = parse_user_list(list);
                }
            }
            Err(e) => {
                let _ = e.error_code();
            }
        },
    }
}

fuzz_target!(|data: &[u8]| {
    check(data, Direction::ToServer);
    check(data, Direction::ToClient);
});
