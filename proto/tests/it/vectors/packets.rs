//! Packets: every captured packet decodes and re-encodes byte for byte, raw and typed;
//! the malformed ones fail as the Go server does.

use super::*;

/// What the decoder must do with a vector that is not a plain well-formed packet.
#[derive(Debug)]
enum Expect {
    /// Decodes and re-encodes; the typed layer accepts it.
    Valid,
    /// The framing rejects it with this error (the server then sends `ERR` with its code).
    Frame(FrameError),
    /// Framing accepts it, but the typed request is refused with this error.
    Command(CommandError),
    /// `crlf_inside_argument_request`: REQ, 1 argument, Len 8, payload `AB\r\nCD\r\n`.
    CrlfInsideLastArg,
}

fn expectation(v: &Value) -> Expect {
    match label(v).as_str() {
        "header_id0_request" => Expect::Frame(FrameError::NullId(Action::Login)),
        "bad_version_request" => Expect::Frame(FrameError::Version(2)),
        "usrs_info4_request" => Expect::Command(CommandError::UnknownOption {
            action: Action::Usrs,
            info: 4,
        }),
        "sub_info5_request" => Expect::Command(CommandError::UnknownOption {
            action: Action::Sub,
            info: 5,
        }),
        "crlf_inside_argument_request" => Expect::CrlfInsideLastArg,
        _ => Expect::Valid,
    }
}

/// Checks the decoded packet's fields against the vector's `header` and `args`.
fn assert_fields(name: &str, v: &Value, p: &Packet) {
    let h = &v["header"];
    assert_eq!(
        u64::from(p.action.code()),
        u64_of(h, "action"),
        "{name}: action"
    );
    assert_eq!(
        p.action.name(),
        str_of(h, "action_name"),
        "{name}: action name"
    );
    assert_eq!(u64::from(p.info), u64_of(h, "info"), "{name}: info");
    assert_eq!(u64::from(p.id), u64_of(h, "id"), "{name}: id");
    assert_eq!(p.args.len() as u64, u64_of(h, "args"), "{name}: arg count");
    assert_eq!(p.payload_len() as u64, u64_of(h, "len"), "{name}: len");
    let want: Vec<Vec<u8>> = v["args"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| unhex(&a["hex"]))
        .collect();
    let got: Vec<Vec<u8>> = p.args.iter().map(|a| a.to_vec()).collect();
    assert_eq!(got, want, "{name}: arguments");
    for (arg, a) in p.args.iter().zip(v["args"].as_array().unwrap()) {
        if let Some(text) = a["utf8"].as_str() {
            assert_eq!(
                std::str::from_utf8(arg).ok(),
                Some(text),
                "{name}: utf8 of an argument"
            );
        }
    }
}

/// Checks one vector completely and returns what happened, for counting.
fn check_vector(v: &Value) -> &'static str {
    let name = label(v);
    let bytes = unhex(&v["hex"]);
    let dir = direction(v);

    // The raw header agrees with the vector's decoded fields.
    let header = Header::parse(bytes[..8].try_into().unwrap());
    let h = &v["header"];
    assert_eq!(
        u64::from(header.version),
        u64_of(h, "version"),
        "{name}: version"
    );
    assert_eq!(
        u64::from(header.args),
        u64_of(h, "args"),
        "{name}: header args"
    );
    assert_eq!(
        u64::from(header.len),
        u64_of(h, "len"),
        "{name}: header len"
    );
    assert_eq!(
        u64::from(header.reserved),
        u64_of(h, "reserved"),
        "{name}: reserved"
    );
    assert_eq!(
        header.reserved, RESERVED,
        "{name}: Go writes reserved = 0xFFFF"
    );
    assert_eq!(&bytes[8..10], b"\r\n", "{name}: separator");
    assert_eq!(
        bytes.len(),
        PREAMBLE_LEN + usize::from(header.len),
        "{name}: total length"
    );

    match expectation(v) {
        Expect::Frame(want) => {
            let err = decode_vector(&bytes, dir).expect_err(&name);
            assert_eq!(err, want, "{name}");
            // Also through the codec, as a server reads it.
            let mut codec = GochatCodec::server();
            let mut buf = BytesMut::from(&bytes[..]);
            assert!(codec.decode(&mut buf).is_err(), "{name}: codec");
            "frame error"
        }
        Expect::CrlfInsideLastArg => {
            // The header announces ONE argument in an 8-byte payload `AB\r\nCD\r\n`. The Go
            // reader splits on every CRLF, keeps "AB" and fails the length sum (ERR_MAXSIZE).
            // Our framing takes the header at its word: the last (here: only) argument runs
            // up to the payload's final CRLF, so it is the 6 bytes `AB\r\nCD`. That is a
            // self-consistent frame (6 + 2 = Len), and it re-encodes to the same bytes.
            let p = decode_vector(&bytes, dir).expect("one 6-byte argument per the header");
            assert_eq!(p.action, Action::Req);
            assert_eq!(p.id, 9);
            assert_eq!(p.args, vec![Bytes::from_static(b"AB\r\nCD")]);
            assert_eq!(p.payload_len(), usize::from(header.len));
            assert_eq!(&p.to_bytes().unwrap()[..], &bytes[..], "{name}: re-encode");
            // The capture's `args` (Go's split) keep only "AB": the documented divergence.
            assert_eq!(unhex(&v["args"][0]["hex"]), b"AB");
            if !v["payload_hex"].is_null() {
                assert_eq!(unhex(&v["payload_hex"]), b"AB\r\nCD\r\n");
            }
            // The typed request carries the whole argument; no valid username contains CRLF,
            // so the session layer refuses it.
            let req = Request::from_packet(&p).unwrap();
            assert_eq!(
                req,
                Request::Req {
                    username: Bytes::from_static(b"AB\r\nCD")
                }
            );
            "crlf in last argument"
        }
        expect @ (Expect::Valid | Expect::Command(_)) => {
            let p = decode_vector(&bytes, dir).unwrap_or_else(|e| panic!("{name}: {e}"));
            assert_fields(&name, v, &p);
            assert!(p.check().is_ok(), "{name}: decoded packet passes check()");
            assert_eq!(p.encoded_len(), bytes.len(), "{name}: encoded_len");
            assert_eq!(&p.to_bytes().unwrap()[..], &bytes[..], "{name}: re-encode");
            let mut via_codec = BytesMut::new();
            tokio_util::codec::Encoder::encode(&mut GochatCodec::server(), &p, &mut via_codec)
                .unwrap();
            assert_eq!(&via_codec[..], &bytes[..], "{name}: codec encode");

            match (dir, expect) {
                (Direction::ToServer, Expect::Valid) => {
                    let req = Request::from_packet(&p).unwrap_or_else(|e| panic!("{name}: {e}"));
                    assert_eq!(req.action(), p.action);
                    let again = req.to_packet(p.id);
                    assert_eq!(again, p, "{name}: typed request round trip");
                    assert_eq!(
                        &again.to_bytes().unwrap()[..],
                        &bytes[..],
                        "{name}: typed re-encode"
                    );
                    "valid request"
                }
                (Direction::ToClient, Expect::Valid) => {
                    let resp = Response::from_packet(&p).unwrap_or_else(|e| panic!("{name}: {e}"));
                    assert_eq!(resp.action(), p.action);
                    let again = resp.to_packet(p.id);
                    assert_eq!(again, p, "{name}: typed response round trip");
                    assert_eq!(
                        &again.to_bytes().unwrap()[..],
                        &bytes[..],
                        "{name}: typed re-encode"
                    );
                    "valid response"
                }
                (Direction::ToServer, Expect::Command(want)) => {
                    assert_eq!(Request::from_packet(&p), Err(want), "{name}");
                    "typed error"
                }
                (Direction::ToClient, Expect::Command(want)) => {
                    panic!("{name}: unexpected client-bound expectation {want:?}")
                }
                (_, Expect::Frame(_) | Expect::CrlfInsideLastArg) => unreachable!(),
            }
        }
    }
}

fn check_all(vectors: &[Value]) -> BTreeMap<&'static str, usize> {
    let mut counts = BTreeMap::new();
    for v in vectors {
        *counts.entry(check_vector(v)).or_insert(0) += 1;
    }
    counts
}

#[test]
fn packets_jsonl_decode_and_reencode() {
    let vectors = packets();
    assert_eq!(vectors.len(), 171);
    let counts = check_all(vectors);
    assert_eq!(counts["frame error"], 2, "{counts:?}");
    assert_eq!(counts["typed error"], 2, "{counts:?}");
    assert_eq!(counts["crlf in last argument"], 1, "{counts:?}");
    assert_eq!(
        counts["valid request"] + counts["valid response"],
        171 - 5,
        "{counts:?}"
    );
}

#[test]
fn transcript_jsonl_decode_and_reencode() {
    let vectors = transcript();
    assert_eq!(vectors.len(), 335);
    let counts = check_all(vectors);
    assert_eq!(counts["frame error"], 2, "{counts:?}");
    assert_eq!(counts["typed error"], 2, "{counts:?}");
    assert_eq!(counts["crlf in last argument"], 1, "{counts:?}");
    assert_eq!(counts["valid request"] + counts["valid response"], 335 - 5);
}

#[test]
fn transcript_names_match_packets_jsonl() {
    for t in transcript() {
        if let Some(name) = t["vector_name"].as_str() {
            let p = packet_by_name(name);
            assert_eq!(t["hex"], p["hex"], "{name}");
            assert_eq!(t["direction"], p["direction"], "{name}");
            assert_eq!(t["seq"], p["capture"]["seq"], "{name}");
        }
    }
}

/// The Go server's `ERR` reply to each malformed request matches the code our error maps to.
#[test]
fn malformed_requests_map_to_the_go_servers_error_codes() {
    let t = transcript();
    let mut checked = 0;
    for (i, v) in t.iter().enumerate() {
        let want = match expectation(v) {
            Expect::Frame(e) => e.error_code(),
            Expect::Command(e) => e.error_code(),
            Expect::CrlfInsideLastArg => ErrorCode::MaxSize,
            Expect::Valid => continue,
        };
        let reply = t[i + 1..]
            .iter()
            .find(|r| r["conn"] == v["conn"] && direction(r) == Direction::ToClient)
            .unwrap_or_else(|| panic!("no reply to {}", label(v)));
        let p = decode_vector(&unhex(&reply["hex"]), Direction::ToClient).unwrap();
        assert_eq!(p.action, Action::Err, "{}", label(v));
        assert_eq!(
            ErrorCode::from_code(p.info),
            Some(want),
            "{}: the Go server answered {:?}",
            label(v),
            ErrorCode::from_code(p.info)
        );
        if matches!(expectation(v), Expect::Frame(_) | Expect::CrlfInsideLastArg) {
            // Connection-ending ERRs use the null ID.
            assert_eq!(p.id, 0, "{}", label(v));
        } else {
            assert_eq!(u64::from(p.id), u64_of(&v["header"], "id"), "{}", label(v));
        }
        checked += 1;
    }
    assert_eq!(checked, 5);
}

/// Each connection's byte stream, in both directions, decodes through the codec into the
/// same packets, in order (the RECIV-before-OK and OK-before-RECIV orders included).
#[test]
fn transcript_streams_decode_through_the_codec() {
    /// One direction of one connection.
    #[derive(Default)]
    struct Stream {
        bytes: Vec<u8>,
        packets: Vec<Vec<u8>>,
        has_bad: bool,
    }
    let mut streams: BTreeMap<(String, bool), Stream> = BTreeMap::new();
    for v in transcript() {
        let dir = direction(v);
        let key = (str_of(v, "conn").to_owned(), dir == Direction::ToServer);
        let entry = streams.entry(key).or_default();
        let bytes = unhex(&v["hex"]);
        entry.bytes.extend_from_slice(&bytes);
        entry.packets.push(bytes);
        entry.has_bad |= !matches!(expectation(v), Expect::Valid | Expect::Command(_));
    }
    let mut decoded_streams = 0;
    for ((conn, to_server), s) in streams {
        let Stream {
            bytes: stream,
            packets,
            has_bad,
        } = s;
        let mut codec = if to_server {
            GochatCodec::server()
        } else {
            GochatCodec::client()
        };
        let mut buf = BytesMut::from(&stream[..]);
        if has_bad {
            // A malformed request ends its connection: nothing valid follows it.
            assert_eq!(packets.len(), 1, "{conn}");
            continue;
        }
        let mut got = Vec::new();
        while let Some(p) = codec.decode_eof(&mut buf).unwrap() {
            got.push(p.to_bytes().unwrap().to_vec());
        }
        assert!(buf.is_empty(), "{conn}");
        assert_eq!(got, packets, "{conn}");
        decoded_streams += 1;
    }
    assert!(decoded_streams >= 50, "{decoded_streams}");
}

#[test]
fn packet_ids_follow_the_documented_rules() {
    for v in transcript() {
        let p = match decode_vector(&unhex(&v["hex"]), direction(v)) {
            Ok(p) => p,
            Err(_) => continue,
        };
        if direction(v) == Direction::ToClient
            && matches!(p.action, Action::Hello | Action::Hook | Action::Shtdwn)
        {
            assert!(p.is_unsolicited(), "{}", label(v));
        }
        if str_of(v, "source") == "go-client" {
            assert!(
                (1..=1022).contains(&p.id),
                "{}: Go client IDs are 1..=1022",
                label(v)
            );
        }
    }
}
