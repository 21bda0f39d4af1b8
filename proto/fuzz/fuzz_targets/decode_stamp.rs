//! Arbitrary bytes through the timestamp varint decoder.
//!
//! Invariants: never panics; a decoded value uses 1..=10 bytes of the input, the prefix alone
//! decodes to the same value, and re-encoding the value decodes back to it.

#![no_main]

use gochat_proto::wire::{decode_stamp, decode_stamp_prefix, encode_stamp};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    match decode_stamp_prefix(data) {
        Ok((v, used)) => {
            assert!((1..=10).contains(&used) && used <= data.len());
            assert_eq!(decode_stamp(&data[..used]), Ok(v));
            let enc = encode_stamp(v);
            assert!(enc.len() <= used, "the minimal encoding is never longer");
            assert_eq!(decode_stamp_prefix(&enc), Ok((v, enc.len())));
        }
        Err(e) => {
            assert_eq!(decode_stamp(data), Err(e));
        }
    }
});
