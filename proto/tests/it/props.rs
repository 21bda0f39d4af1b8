//! Property tests of the framing, the codec, the timestamp varint and text splitting.

use bytes::{Bytes, BytesMut};
use gochat_proto::crypto::{MAX_PLAINTEXT, split_text};
use gochat_proto::wire::{
    Action, CodecError, Direction, GochatCodec, HEADER_LEN, Header, MAX_ARG_LEN, MAX_ARGS, MAX_ID,
    MAX_PAYLOAD, PREAMBLE_LEN, Packet, decode_stamp, decode_stamp_prefix, encode_stamp,
    encode_stamp_into,
};
use proptest::prelude::*;
use tokio_util::codec::Decoder;

// ---------------------------------------------------------------------------------------------
// Strategies
// ---------------------------------------------------------------------------------------------

fn direction() -> impl Strategy<Value = Direction> {
    prop_oneof![Just(Direction::ToServer), Just(Direction::ToClient)]
}

/// Bytes biased towards CR and LF, so that `\r\r\n`, leading `\n` and inner CRLF are common.
fn byte() -> impl Strategy<Value = u8> {
    prop_oneof![
        3 => any::<u8>(),
        1 => Just(b'\r'),
        1 => Just(b'\n'),
    ]
}

/// Long argument lengths: anywhere up to the 2045-byte limit, sometimes at it.
fn arg_len() -> impl Strategy<Value = usize> {
    prop_oneof![
        2 => 0..=MAX_ARG_LEN,
        1 => Just(MAX_ARG_LEN),
    ]
}

/// Fills `len` bytes from `seed` with a small PRNG, one byte in five a CR and one in five an LF
/// (cheap even for 2045-byte arguments, where a per-byte strategy is slow in debug builds).
fn fill(seed: u64, len: usize) -> Vec<u8> {
    let mut x = seed | 1;
    (0..len)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            match x % 5 {
                0 => b'\r',
                1 => b'\n',
                _ => (x >> 8) as u8,
            }
        })
        .collect()
}

/// One argument's bytes; unless it is the last one, any CRLF in it is broken up.
fn arg_bytes(last: bool) -> impl Strategy<Value = Vec<u8>> {
    let short = prop::collection::vec(byte(), 0..24);
    let long = (any::<u64>(), arg_len()).prop_map(|(seed, len)| fill(seed, len));
    prop_oneof![3 => short, 2 => long].prop_map(move |mut a| {
        if !last {
            for i in 1..a.len() {
                if a[i - 1] == b'\r' && a[i] == b'\n' {
                    a[i] = b'n';
                }
            }
        }
        a
    })
}

/// A packet the header check accepts in `dir`: any action, info and ID the direction allows,
/// at least the action's minimum number of arguments, at most 15, within every size limit.
fn valid_packet(dir: Direction) -> impl Strategy<Value = Packet> {
    let action = prop::sample::select(Action::ALL);
    (action, any::<u8>(), 0..=MAX_ID, 0..=MAX_ARGS)
        .prop_flat_map(move |(action, info, id, extra)| {
            let min = usize::from(action.min_args(dir).unwrap_or(0));
            let count = min.max(extra);
            let mut args: Vec<BoxedStrategy<Vec<u8>>> = Vec::with_capacity(count);
            for i in 0..count {
                args.push(arg_bytes(i + 1 == count).boxed());
            }
            (Just(action), Just(info), Just(id), args)
        })
        .prop_map(move |(action, mut info, mut id, mut args)| {
            if info == 0xFF && action.requires_info(dir) {
                info = 0;
            }
            let null_ok = dir == Direction::ToClient && action.may_be_unsolicited();
            if id == 0 && !null_ok {
                id = 1;
            }
            // Shrink the largest arguments until the payload fits in 16383 bytes.
            while args.iter().map(|a| a.len() + 2).sum::<usize>() > MAX_PAYLOAD {
                let over = args.iter().map(|a| a.len() + 2).sum::<usize>() - MAX_PAYLOAD;
                let big = (0..args.len()).max_by_key(|&i| args[i].len()).unwrap();
                let keep = args[big].len().saturating_sub(over);
                args[big].truncate(keep);
            }
            Packet {
                action,
                info,
                id,
                args: args.into_iter().map(Bytes::from).collect(),
            }
        })
}

fn dir_and_packet() -> impl Strategy<Value = (Direction, Packet)> {
    direction().prop_flat_map(|dir| (Just(dir), valid_packet(dir)))
}

fn dir_and_packets() -> impl Strategy<Value = (Direction, Vec<Packet>)> {
    direction().prop_flat_map(|dir| (Just(dir), prop::collection::vec(valid_packet(dir), 1..8)))
}

/// Mostly-valid inputs: an encoded valid packet with a few bytes changed, cut short or extended.
fn mutated_packet() -> impl Strategy<Value = (Direction, Vec<u8>)> {
    (
        dir_and_packet(),
        prop::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 0..4),
        any::<prop::sample::Index>(),
        prop::collection::vec(byte(), 0..32),
    )
        .prop_map(|((dir, p), flips, cut, tail)| {
            let mut bytes = p.to_bytes().unwrap().to_vec();
            for (at, b) in flips {
                let i = at.index(bytes.len());
                bytes[i] = b;
            }
            let keep = cut.index(bytes.len() + 1);
            if keep < bytes.len() / 2 {
                bytes.truncate(keep.max(1));
            } else {
                bytes.extend_from_slice(&tail);
            }
            (dir, bytes)
        })
}

// ---------------------------------------------------------------------------------------------
// Helpers
// ---------------------------------------------------------------------------------------------

/// What `bytes` must look like when re-encoded: the separator becomes CRLF and the reserved
/// bits 0xFFFF, exactly as the Go sender writes them; nothing else changes.
fn canonical(bytes: &[u8]) -> Vec<u8> {
    let mut out = bytes.to_vec();
    out[6] = 0xFF;
    out[7] = 0xFF;
    out[8] = b'\r';
    out[9] = b'\n';
    out
}

/// Feeds `input` to `Packet::decode` and checks the decoder's contract whatever happens.
fn decode_contract(input: &[u8], dir: Direction) -> Result<(), TestCaseError> {
    let mut buf = BytesMut::from(input);
    match Packet::decode(&mut buf, dir) {
        Ok(Some(p)) => {
            let used = input.len() - buf.len();
            prop_assert!(used >= PREAMBLE_LEN);
            prop_assert_eq!(used, p.encoded_len());
            prop_assert_eq!(&buf[..], &input[used..]);
            // Whatever decodes can be framed again, and re-encodes to the bytes it came from.
            prop_assert!(p.check().is_ok());
            let again = p.to_bytes().unwrap();
            prop_assert_eq!(&again[..], &canonical(&input[..used])[..]);
            // And it decodes to the same packet.
            let mut b = BytesMut::from(&again[..]);
            prop_assert_eq!(Packet::decode(&mut b, dir).unwrap(), Some(p));
        }
        Ok(None) => {
            prop_assert_eq!(&buf[..], input, "Ok(None) must not consume");
            if input.len() >= HEADER_LEN {
                let h = Header::parse(input[..HEADER_LEN].try_into().unwrap());
                prop_assert!(h.validate(dir).is_ok());
                prop_assert!(input.len() < PREAMBLE_LEN + usize::from(h.len));
            }
        }
        Err(e) => {
            // Every framing error maps to a protocol error code; nothing panics.
            let _ = e.error_code();
            prop_assert!(input.len() >= HEADER_LEN);
        }
    }
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// Properties
// ---------------------------------------------------------------------------------------------

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    #[test]
    fn encode_then_decode_is_identity((dir, p) in dir_and_packet()) {
        prop_assert!(p.check().is_ok());
        let bytes = p.to_bytes().unwrap();
        prop_assert_eq!(bytes.len(), p.encoded_len());
        prop_assert!(bytes.len() <= PREAMBLE_LEN + MAX_PAYLOAD);
        let h = Header::parse(bytes[..HEADER_LEN].try_into().unwrap());
        prop_assert_eq!(h.validate(dir), Ok(p.action));
        let mut buf = BytesMut::from(&bytes[..]);
        let got = Packet::decode(&mut buf, dir).unwrap();
        prop_assert_eq!(got.as_ref(), Some(&p));
        prop_assert!(buf.is_empty());
        // With the next packet's bytes behind it, only this packet is consumed.
        let mut buf = BytesMut::from(&bytes[..]);
        buf.extend_from_slice(&bytes);
        prop_assert_eq!(Packet::decode(&mut buf, dir).unwrap(), Some(p));
        prop_assert_eq!(&buf[..], &bytes[..]);
        // `decode_exact` agrees.
        prop_assert!(Packet::decode_exact(&bytes, dir).is_ok());
    }

    #[test]
    fn every_prefix_waits_without_consuming((dir, p) in dir_and_packet()) {
        let bytes = p.to_bytes().unwrap();
        // Every cut point near the edges and a spread through the middle.
        let cuts = (0..bytes.len()).filter(|&c| c < 24 || bytes.len() - c < 24 || c % 97 == 0);
        for cut in cuts {
            let mut buf = BytesMut::from(&bytes[..cut]);
            prop_assert_eq!(Packet::decode(&mut buf, dir), Ok(None));
            prop_assert_eq!(buf.len(), cut);
        }
    }

    #[test]
    fn arbitrary_bytes_never_panic(dir in direction(), input in prop::collection::vec(any::<u8>(), 0..64)) {
        decode_contract(&input, dir)?;
    }

    #[test]
    fn arbitrary_bytes_after_a_valid_header_never_panic(
        dir in direction(),
        header in any::<u64>(),
        body in prop::collection::vec(byte(), 0..128),
    ) {
        // Force version 1 and a small length so that the payload path is reached often.
        let h = (header & 0x0FFF_FF00_03FF_FFFF) | (1 << 60) | ((body.len() as u64 & 0x7F) << 26);
        let mut input = h.to_be_bytes().to_vec();
        input.extend_from_slice(&body);
        decode_contract(&input, dir)?;
    }

    #[test]
    fn mutated_packets_never_panic((dir, input) in mutated_packet()) {
        decode_contract(&input, dir)?;
    }

    #[test]
    fn chunked_stream_through_the_codec_gives_the_same_packets(
        (dir, packets) in dir_and_packets(),
        chunks in prop::collection::vec(1..700usize, 1..64),
    ) {
        let mut stream = Vec::new();
        for p in &packets {
            stream.extend_from_slice(&p.to_bytes().unwrap());
        }
        let mut codec = match dir {
            Direction::ToServer => GochatCodec::server(),
            Direction::ToClient => GochatCodec::client(),
        };
        let mut buf = BytesMut::new();
        let mut got = Vec::new();
        let mut rest = &stream[..];
        let mut sizes = chunks.iter().cycle();
        while !rest.is_empty() {
            let n = (*sizes.next().unwrap()).min(rest.len());
            buf.extend_from_slice(&rest[..n]);
            rest = &rest[n..];
            while let Some(p) = codec.decode(&mut buf).unwrap() {
                got.push(p);
            }
        }
        prop_assert_eq!(codec.decode_eof(&mut buf).unwrap(), None);
        prop_assert_eq!(got, packets);
    }

    #[test]
    fn truncated_stream_is_reported_at_eof((dir, p) in dir_and_packet(), cut in any::<prop::sample::Index>()) {
        let bytes = p.to_bytes().unwrap();
        let cut = 1 + cut.index(bytes.len() - 1);
        let mut codec = match dir {
            Direction::ToServer => GochatCodec::server(),
            Direction::ToClient => GochatCodec::client(),
        };
        let mut buf = BytesMut::from(&bytes[..cut]);
        prop_assert!(matches!(codec.decode_eof(&mut buf), Err(CodecError::Truncated)));
    }

    #[test]
    fn stamp_round_trip(v in any::<i64>(), tail in prop::collection::vec(any::<u8>(), 0..4)) {
        let enc = encode_stamp(v);
        prop_assert!(!enc.is_empty() && enc.len() <= 10);
        // Minimal: only the last byte lacks the continuation bit, and it is not a zero
        // continuation (except for the single byte 0).
        prop_assert!(enc[..enc.len() - 1].iter().all(|b| b & 0x80 != 0));
        prop_assert!(enc.len() == 1 || *enc.last().unwrap() != 0);
        prop_assert_eq!(decode_stamp_prefix(&enc), Ok((v, enc.len())));
        let mut with_tail = enc.clone();
        with_tail.extend_from_slice(&tail);
        prop_assert_eq!(decode_stamp_prefix(&with_tail), Ok((v, enc.len())));
        prop_assert_eq!(decode_stamp(&with_tail), Ok(v));
        let mut appended = vec![0xAA];
        encode_stamp_into(v, &mut appended);
        prop_assert_eq!(&appended[1..], &enc[..]);
    }

    #[test]
    fn stamp_decode_never_panics(input in prop::collection::vec(any::<u8>(), 0..16)) {
        if let Ok((v, used)) = decode_stamp_prefix(&input) {
            prop_assert!(used >= 1 && used <= input.len() && used <= 10);
            prop_assert_eq!(decode_stamp(&input[..used]), Ok(v));
        }
    }

    #[test]
    fn split_text_pieces(text in "\\PC{0,700}", max in 4..600usize) {
        check_split(&text, max)?;
    }

    #[test]
    fn split_text_multibyte(text in "[a-zé語😀]{0,400}", max in 4..40usize) {
        check_split(&text, max)?;
    }
}

fn check_split(text: &str, max: usize) -> Result<(), TestCaseError> {
    let pieces = split_text(text, max);
    prop_assert!(!pieces.is_empty());
    prop_assert_eq!(pieces.concat(), text);
    if text.is_empty() {
        prop_assert_eq!(pieces, vec![""]);
        return Ok(());
    }
    let mut offset = 0;
    for (i, piece) in pieces.iter().enumerate() {
        prop_assert!(piece.len() <= max, "piece of {} > {}", piece.len(), max);
        prop_assert!(!piece.is_empty());
        // Each piece is the input's own slice at a char boundary (pieces are `&str`, so
        // UTF-8 validity is guaranteed; the boundary is checked against the input).
        prop_assert!(text.is_char_boundary(offset));
        prop_assert_eq!(&text[offset..offset + piece.len()], *piece);
        offset += piece.len();
        // Greedy: a piece stops only where the next character would not fit.
        if i + 1 < pieces.len() {
            let next = text[offset..].chars().next().unwrap();
            prop_assert!(piece.len() + next.len_utf8() > max);
        }
    }
    prop_assert_eq!(offset, text.len());
    Ok(())
}

/// Packets at the exact limits: a 2045-byte argument and a 16383-byte payload.
#[test]
fn exact_limits_round_trip() {
    let mut p = Packet::new(Action::Msg, MAX_ID);
    for _ in 0..8 {
        p.args.push(Bytes::from(vec![b'a'; MAX_ARG_LEN]));
    }
    p.args.push(Bytes::from_static(b"\r\n\r\nx"));
    assert_eq!(p.payload_len(), MAX_PAYLOAD);
    let bytes = p.to_bytes().unwrap();
    assert_eq!(bytes.len(), PREAMBLE_LEN + MAX_PAYLOAD);
    let mut buf = BytesMut::from(&bytes[..]);
    assert_eq!(
        Packet::decode(&mut buf, Direction::ToServer).unwrap(),
        Some(p.clone())
    );
    p.args.push(Bytes::new());
    assert!(p.check().is_err());
}

/// `split_text` with the real OAEP limit.
#[test]
fn split_text_for_oaep() {
    let text = "語".repeat(1000);
    let pieces = split_text(&text, MAX_PLAINTEXT);
    let (last, full) = pieces.split_last().unwrap();
    assert!(
        full.iter().all(|p| p.len() == 444),
        "148 three-byte characters per piece"
    );
    assert!(last.len() <= MAX_PLAINTEXT);
    assert_eq!(pieces.concat(), text);
}
