//! Packets and their framing: exact-length payloads, CRLF-terminated arguments, the last
//! argument absorbing any CRLF it contains, every limit checked before buffering.

use std::sync::LazyLock;

use bytes::{BufMut, Bytes, BytesMut};
use memchr::memmem;

use super::codes::{Action, Direction, ErrorCode};
use super::error::{EncodeError, FrameError};
use super::header::Header;
use super::limits::{
    CRLF, EMPTY_INFO, HEADER_LEN, MAX_ARG_LEN, MAX_ARGS, MAX_ID, MAX_PAYLOAD, NULL_ID, PREAMBLE_LEN,
};

/// One gochat v1 packet: action, info byte, ID and arguments.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Packet {
    /// The action.
    pub action: Action,
    /// The info byte (`0xFF` = empty).
    pub info: u8,
    /// The packet ID (0 = null).
    pub id: u16,
    /// The arguments, without their terminators.
    pub args: Vec<Bytes>,
}

impl Packet {
    /// A packet with no info and no arguments.
    pub fn new(action: Action, id: u16) -> Self {
        Packet {
            action,
            info: EMPTY_INFO,
            id,
            args: Vec::new(),
        }
    }

    /// Sets the info byte.
    pub fn with_info(mut self, info: u8) -> Self {
        self.info = info;
        self
    }

    /// Appends an argument.
    pub fn with_arg(mut self, arg: impl Into<Bytes>) -> Self {
        self.args.push(arg.into());
        self
    }

    /// An `ERR` packet carrying `code`.
    pub fn error(code: ErrorCode, id: u16) -> Self {
        Packet::new(Action::Err, id).with_info(code.code())
    }

    /// The argument at `index`, if present.
    pub fn arg(&self, index: usize) -> Option<&Bytes> {
        self.args.get(index)
    }

    /// The info byte as an option (`None` for `0xFF`).
    pub fn info(&self) -> Option<u8> {
        (self.info != EMPTY_INFO).then_some(self.info)
    }

    /// Payload length: each argument plus its CRLF.
    pub fn payload_len(&self) -> usize {
        self.args.iter().map(|a| a.len() + CRLF.len()).sum()
    }

    /// Total encoded size.
    pub fn encoded_len(&self) -> usize {
        PREAMBLE_LEN + self.payload_len()
    }

    /// Checks that the packet can be framed.
    pub fn check(&self) -> Result<(), EncodeError> {
        if self.id > MAX_ID {
            return Err(EncodeError::IdTooLarge(self.id));
        }
        if self.args.len() > MAX_ARGS {
            return Err(EncodeError::TooManyArgs(self.args.len()));
        }
        let last = self.args.len().saturating_sub(1);
        for (index, arg) in self.args.iter().enumerate() {
            if arg.len() > MAX_ARG_LEN {
                return Err(EncodeError::ArgTooLong {
                    index,
                    len: arg.len(),
                });
            }
            if index != last && find_crlf(arg).is_some() {
                return Err(EncodeError::CrlfInArg(index));
            }
        }
        let len = self.payload_len();
        if len > MAX_PAYLOAD {
            return Err(EncodeError::PayloadTooLong(len));
        }
        Ok(())
    }

    /// Writes the packet to `dst`, byte for byte as the Go implementation does.
    pub fn encode(&self, dst: &mut BytesMut) -> Result<(), EncodeError> {
        self.check()?;
        let len = self.payload_len();
        // `check` bounds both fields to their bit widths.
        let header = Header::new(
            self.action,
            self.info,
            self.args.len() as u8,
            len as u16,
            self.id,
        );
        dst.reserve(PREAMBLE_LEN + len);
        dst.put_slice(&header.to_bytes());
        dst.put_slice(CRLF);
        for arg in &self.args {
            dst.put_slice(arg);
            dst.put_slice(CRLF);
        }
        Ok(())
    }

    /// The encoded packet as a fresh buffer.
    pub fn to_bytes(&self) -> Result<Bytes, EncodeError> {
        let mut buf = BytesMut::with_capacity(self.encoded_len());
        self.encode(&mut buf)?;
        Ok(buf.freeze())
    }

    /// Decodes one packet from the front of `src`, sent by the peer that speaks in `direction`.
    ///
    /// Returns `Ok(None)` when more bytes are needed (nothing is consumed), `Ok(Some(packet))`
    /// after consuming exactly one packet, or an error once the bytes seen so far cannot be a
    /// valid packet. The header is validated as soon as its 8 bytes are present, so no more
    /// than one header plus 16383 payload bytes is ever buffered for a packet.
    pub fn decode(src: &mut BytesMut, direction: Direction) -> Result<Option<Packet>, FrameError> {
        if src.len() < HEADER_LEN {
            return Ok(None);
        }
        let mut raw = [0u8; HEADER_LEN];
        raw.copy_from_slice(&src[..HEADER_LEN]);
        let header = Header::parse(raw);
        let action = header.validate(direction)?;
        let total = PREAMBLE_LEN + usize::from(header.len);
        if src.len() < total {
            src.reserve(total - src.len());
            return Ok(None);
        }
        let mut ranges = [(0, 0); MAX_ARGS];
        let ranges = split_args(&src[PREAMBLE_LEN..total], header.args, &mut ranges)?;
        let frame = src.split_to(total).freeze();
        let args = ranges
            .iter()
            .map(|&(start, end)| frame.slice(PREAMBLE_LEN + start..PREAMBLE_LEN + end))
            .collect();
        Ok(Some(Packet {
            action,
            info: header.info,
            id: header.id,
            args,
        }))
    }

    /// Decodes a complete packet from a slice that holds exactly one packet.
    pub fn decode_exact(bytes: &[u8], direction: Direction) -> Result<Packet, FrameError> {
        let mut buf = BytesMut::from(bytes);
        match Packet::decode(&mut buf, direction)? {
            Some(packet) if buf.is_empty() => Ok(packet),
            Some(_) => Err(FrameError::Unterminated),
            None => Err(FrameError::MissingArgs {
                announced: bytes
                    .get(..HEADER_LEN)
                    .and_then(|h| <[u8; HEADER_LEN]>::try_from(h).ok())
                    .map_or(0, |h| Header::parse(h).args),
                found: 0,
            }),
        }
    }

    /// Whether this is a packet the server sends on its own (null ID).
    pub fn is_unsolicited(&self) -> bool {
        self.id == NULL_ID
    }
}

/// The position of the first CRLF in `hay`.
///
/// Uses one searcher built once: a one-shot `memmem::find` builds a new searcher on every
/// call, which dominated the decoding of short arguments. (A `memchr` for LF or CR plus a
/// check of its neighbour is cheaper still for short arguments but degrades on LF-rich text
/// such as user lists, or CR-rich input.)
fn find_crlf(hay: &[u8]) -> Option<usize> {
    static FINDER: LazyLock<memmem::Finder<'static>> = LazyLock::new(|| memmem::Finder::new(CRLF));
    FINDER.find(hay)
}

/// Splits a payload into `count` argument ranges, stored in `ranges` (the header's 4-bit
/// field bounds `count` by 15): every argument but the last ends at the first CRLF; the last
/// takes everything up to the payload's final CRLF.
fn split_args<'r>(
    payload: &[u8],
    count: u8,
    ranges: &'r mut [(usize, usize); MAX_ARGS],
) -> Result<&'r [(usize, usize)], FrameError> {
    let count = usize::from(count);
    if count == 0 {
        return Ok(&ranges[..0]);
    }
    let mut start = 0;
    for (index, range) in ranges[..count - 1].iter_mut().enumerate() {
        let Some(at) = find_crlf(&payload[start..]) else {
            return Err(FrameError::MissingArgs {
                announced: count as u8,
                found: index as u8,
            });
        };
        if at > MAX_ARG_LEN {
            return Err(FrameError::ArgTooLong { index, len: at });
        }
        *range = (start, start + at);
        start += at + CRLF.len();
    }
    let rest = &payload[start..];
    if !rest.ends_with(CRLF) {
        return Err(if rest.is_empty() {
            FrameError::MissingArgs {
                announced: count as u8,
                found: (count - 1) as u8,
            }
        } else {
            FrameError::Unterminated
        });
    }
    let len = rest.len() - CRLF.len();
    if len > MAX_ARG_LEN {
        return Err(FrameError::ArgTooLong {
            index: count - 1,
            len,
        });
    }
    ranges[count - 1] = (start, start + len);
    Ok(&ranges[..count])
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn raw(action: Action, info: u8, id: u16, payload: &[u8], args: u8) -> BytesMut {
        let h = Header::new(action, info, args, payload.len() as u16, id);
        let mut b = BytesMut::new();
        b.put_slice(&h.to_bytes());
        b.put_slice(CRLF);
        b.put_slice(payload);
        b
    }

    #[test]
    fn login_example_bytes() {
        let p = Packet::new(Action::Login, 5).with_arg("alice");
        assert_eq!(
            &p.to_bytes().unwrap()[..],
            b"\x10\x6f\xf1\x00\x1c\x05\xff\xff\r\nalice\r\n"
        );
    }

    #[test]
    fn zero_arg_packet_is_ten_bytes() {
        assert_eq!(Packet::new(Action::Keep, 1).to_bytes().unwrap().len(), 10);
    }

    #[test]
    fn last_argument_keeps_inner_crlf_and_stamp_cr() {
        let stamp = b"\x80\x94\x99\x86\x0d".as_slice();
        let ct = b"ab\r\ncd\r\n".as_slice();
        let p = Packet::new(Action::Msg, 7)
            .with_arg("bob")
            .with_arg(Bytes::copy_from_slice(stamp))
            .with_arg(Bytes::copy_from_slice(ct));
        let mut buf = BytesMut::from(&p.to_bytes().unwrap()[..]);
        let got = Packet::decode(&mut buf, Direction::ToServer)
            .unwrap()
            .unwrap();
        assert_eq!(got, p);
        assert!(buf.is_empty());
    }

    #[test]
    fn partial_input_waits() {
        let bytes = Packet::new(Action::Login, 5)
            .with_arg("alice")
            .to_bytes()
            .unwrap();
        for cut in 0..bytes.len() {
            let mut buf = BytesMut::from(&bytes[..cut]);
            assert_eq!(Packet::decode(&mut buf, Direction::ToServer), Ok(None));
            assert_eq!(buf.len(), cut);
        }
    }

    #[test]
    fn malformed_payloads_are_errors() {
        // more arguments announced than present
        let mut b = raw(Action::Reg, EMPTY_INFO, 1, b"ab\r\n", 2);
        assert!(matches!(
            Packet::decode(&mut b, Direction::ToServer),
            Err(FrameError::PayloadTooShort { .. }) | Err(FrameError::MissingArgs { .. })
        ));
        let mut b = raw(Action::Reg, EMPTY_INFO, 1, b"abcdef\r\n", 2);
        assert!(matches!(
            Packet::decode(&mut b, Direction::ToServer),
            Err(FrameError::MissingArgs { .. })
        ));
        // arguments announced with zero length
        let mut b = raw(Action::Login, EMPTY_INFO, 1, b"", 1);
        assert!(Packet::decode(&mut b, Direction::ToServer).is_err());
        // payload without arguments
        let mut b = raw(Action::Keep, EMPTY_INFO, 1, b"xx", 0);
        assert_eq!(
            Packet::decode(&mut b, Direction::ToServer),
            Err(FrameError::PayloadWithoutArgs(2))
        );
        // missing final CRLF
        let mut b = raw(Action::Login, EMPTY_INFO, 1, b"alice!!", 1);
        assert_eq!(
            Packet::decode(&mut b, Direction::ToServer),
            Err(FrameError::Unterminated)
        );
    }

    #[test]
    fn oversize_arguments_rejected_both_ways() {
        let big = vec![b'a'; MAX_ARG_LEN + 1];
        let p = Packet::new(Action::Login, 1).with_arg(big.clone());
        assert!(matches!(p.check(), Err(EncodeError::ArgTooLong { .. })));
        let mut payload = big;
        payload.extend_from_slice(CRLF);
        let mut b = raw(Action::Login, EMPTY_INFO, 1, &payload, 1);
        assert!(matches!(
            Packet::decode(&mut b, Direction::ToServer),
            Err(FrameError::ArgTooLong { .. })
        ));
        let ok = Packet::new(Action::Login, 1).with_arg(vec![b'a'; MAX_ARG_LEN]);
        assert!(ok.check().is_ok());
    }

    #[test]
    fn find_crlf_matches_a_naive_search() {
        let cases: [&[u8]; 9] = [
            b"",
            b"\r",
            b"\n",
            b"\n\r",
            b"\r\n",
            b"a\r\r\n",
            b"\n\n\r\r\nx\r\n",
            b"abc",
            b"\r\r\r",
        ];
        let mut long = b"user0001\n".repeat(300);
        long.extend_from_slice(b"\r\r\n");
        for hay in cases.into_iter().chain([&long[..]]) {
            let naive = hay.windows(2).position(|w| w == CRLF);
            assert_eq!(find_crlf(hay), naive, "{hay:?}");
        }
    }

    #[test]
    fn encoder_refuses_unframeable_packets() {
        let p = Packet::new(Action::Reg, 1).with_arg("a\r\nb").with_arg("k");
        assert_eq!(p.check(), Err(EncodeError::CrlfInArg(0)));
        let mut p = Packet::new(Action::Keep, 1024);
        assert_eq!(p.check(), Err(EncodeError::IdTooLarge(1024)));
        p.id = 1;
        p.args = vec![Bytes::from_static(b"x"); 16];
        assert_eq!(p.check(), Err(EncodeError::TooManyArgs(16)));
        p.args = vec![Bytes::from(vec![b'x'; 2045]); 9];
        assert!(matches!(p.check(), Err(EncodeError::PayloadTooLong(_))));
    }
}
