//! Timestamps: Unix seconds as a signed zig-zag LEB128 varint (Go's `binary.AppendVarint`).

use thiserror::Error;

/// Longest varint encoding of an `i64`.
pub const MAX_STAMP_LEN: usize = 10;

/// Why a timestamp argument does not decode.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Error)]
pub enum StampError {
    /// The argument is empty.
    #[error("empty timestamp")]
    Empty,
    /// The varint stops mid-way.
    #[error("truncated timestamp varint")]
    Truncated,
    /// The varint does not fit in 64 bits.
    #[error("timestamp varint overflows 64 bits")]
    Overflow,
}

/// Appends the encoding of `unix_seconds` to `out`.
pub fn encode_stamp_into(unix_seconds: i64, out: &mut Vec<u8>) {
    let mut zz = ((unix_seconds << 1) ^ (unix_seconds >> 63)) as u64;
    while zz >= 0x80 {
        out.push((zz as u8) | 0x80);
        zz >>= 7;
    }
    out.push(zz as u8);
}

/// Encodes `unix_seconds` as the wire varint.
pub fn encode_stamp(unix_seconds: i64) -> Vec<u8> {
    let mut out = Vec::with_capacity(5);
    encode_stamp_into(unix_seconds, &mut out);
    out
}

/// Decodes a timestamp, returning the seconds and the bytes consumed. Trailing bytes are
/// left unread, as Go's `binary.ReadVarint` leaves them.
pub fn decode_stamp_prefix(bytes: &[u8]) -> Result<(i64, usize), StampError> {
    if bytes.is_empty() {
        return Err(StampError::Empty);
    }
    let mut value: u64 = 0;
    for (i, &b) in bytes.iter().enumerate() {
        if i == MAX_STAMP_LEN {
            return Err(StampError::Overflow);
        }
        if b < 0x80 {
            if i == MAX_STAMP_LEN - 1 && b > 1 {
                return Err(StampError::Overflow);
            }
            value |= u64::from(b) << (7 * i);
            let signed = ((value >> 1) as i64) ^ -((value & 1) as i64);
            return Ok((signed, i + 1));
        }
        value |= u64::from(b & 0x7F) << (7 * i);
    }
    Err(StampError::Truncated)
}

/// Decodes a timestamp argument the way the deployed implementation does (trailing bytes ignored).
pub fn decode_stamp(bytes: &[u8]) -> Result<i64, StampError> {
    decode_stamp_prefix(bytes).map(|(v, _)| v)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_encodings() {
        assert_eq!(encode_stamp(0), [0x00]);
        assert_eq!(encode_stamp(1), [0x02]);
        assert_eq!(encode_stamp(-1), [0x01]);
        assert_eq!(encode_stamp(1_700_000_000), [0x80, 0xc4, 0x9f, 0xd5, 0x0c]);
        assert_eq!(encode_stamp(1_751_328_000), [0x80, 0x94, 0x99, 0x86, 0x0d]);
    }

    #[test]
    fn extremes_round_trip() {
        for v in [i64::MIN, i64::MAX, 0, -1, 1 << 40] {
            assert_eq!(decode_stamp(&encode_stamp(v)), Ok(v));
        }
    }

    #[test]
    fn bad_inputs() {
        assert_eq!(decode_stamp(b""), Err(StampError::Empty));
        assert_eq!(decode_stamp(&[0x80]), Err(StampError::Truncated));
        assert_eq!(decode_stamp(&[0xff; 11]), Err(StampError::Overflow));
        assert_eq!(decode_stamp_prefix(&[0x02, 0x99]), Ok((1, 1)));
    }
}
