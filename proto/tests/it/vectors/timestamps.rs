//! Timestamps: the varint stamp vectors and every stamp seen on the wire.

use super::*;

#[test]
fn timestamp_vectors() {
    let vectors = read_jsonl("timestamps.jsonl");
    let (mut enc, mut dec) = (0, 0);
    for v in &vectors {
        match str_of(v, "kind") {
            "encode" => {
                let unix = v["unix"].as_i64().unwrap();
                let want = unhex(&v["hex"]);
                assert_eq!(encode_stamp(unix), want, "encode {unix}");
                assert_eq!(want.len() as u64, u64_of(v, "len"), "len {unix}");
                let zz: u64 = str_of(v, "zigzag_u64").parse().unwrap();
                assert_eq!(zz, ((unix << 1) ^ (unix >> 63)) as u64, "zigzag {unix}");
                assert_eq!(
                    decode_stamp_prefix(&want),
                    Ok((unix, want.len())),
                    "decode {unix}"
                );
                enc += 1;
            }
            "decode" => {
                let input = unhex(&v["input_hex"]);
                let got = decode_stamp_prefix(&input);
                if v["ok"].as_bool().unwrap() {
                    let unix = v["decoded_unix"].as_i64().unwrap();
                    let consumed = u64_of(v, "bytes_consumed") as usize;
                    assert_eq!(got, Ok((unix, consumed)), "decode {}", v["input_hex"]);
                    assert_eq!(decode_stamp(&input), Ok(unix));
                } else {
                    let want = match str_of(v, "go_error") {
                        "EOF" => StampError::Empty,
                        "unexpected EOF" => StampError::Truncated,
                        e if e.contains("overflows") => StampError::Overflow,
                        e => panic!("unknown Go error {e}"),
                    };
                    assert_eq!(got, Err(want), "decode {}", v["input_hex"]);
                    assert!(
                        v["gochat_result"]
                            .as_str()
                            .unwrap()
                            .contains("ErrorArguments")
                    );
                }
                dec += 1;
            }
            other => panic!("unknown kind {other}"),
        }
    }
    assert_eq!((enc, dec), (46, 19));
}

/// Every stamp on the wire (MSG, RECIV, SHTDWN, ADMIN shutdown) decodes, is minimal, and lies
/// within the capture's time window.
#[test]
fn stamps_seen_on_the_wire_decode() {
    let mut seen = 0;
    for v in packets() {
        let p = match decode_vector(&unhex(&v["hex"]), direction(v)) {
            Ok(p) => p,
            Err(_) => continue,
        };
        let stamp = match (p.action, direction(v)) {
            (Action::Msg, Direction::ToServer) | (Action::Reciv, Direction::ToClient) => &p.args[1],
            (Action::Shtdwn, Direction::ToClient) => &p.args[0],
            (Action::Admin, Direction::ToServer) if p.info == 0 => &p.args[0],
            _ => continue,
        };
        let (unix, used) = decode_stamp_prefix(stamp).unwrap();
        assert_eq!(used, stamp.len(), "{}: no trailing bytes", label(v));
        assert_eq!(encode_stamp(unix), stamp.to_vec(), "{}: minimal", label(v));
        let captured = v["capture"]["unix_time"].as_f64().unwrap() as i64;
        assert!(
            (captured - 7200..=captured + 120).contains(&unix),
            "{}: stamp {unix} vs capture {captured}",
            label(v)
        );
        // Today's stamps end in 0x0D, so the payload holds `0d 0d 0a`.
        assert_eq!(stamp.last(), Some(&0x0d), "{}", label(v));
        seen += 1;
    }
    assert!(seen >= 11, "{seen}");
}
