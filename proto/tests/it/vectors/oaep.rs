//! RSA-OAEP in both directions, and the plaintext limit.

use super::*;

/// Go → us: every captured ciphertext decrypts to the listed plaintext, and is the one carried
/// by the packets it was seen in.
#[test]
fn oaep_vectors_decrypt() {
    let vectors = read_jsonl("oaep.jsonl");
    assert_eq!(vectors.len(), 24);
    for v in &vectors {
        let name = str_of(v, "name");
        let recipient = str_of(v, "recipient");
        assert_eq!(str_of(v, "key_file"), format!("keys/{recipient}.priv.pem"));
        let key = private_key(recipient);
        assert_eq!(
            key.public_key().bits() as u64,
            u64_of(v, "key_bits"),
            "{name}"
        );
        let ct = unhex(&v["ciphertext_hex"]);
        assert_eq!(ct.len() as u64, u64_of(v, "ciphertext_len"), "{name}");
        let want = unhex(&v["plaintext_hex"]);
        assert_eq!(want.len() as u64, u64_of(v, "plaintext_len"), "{name}");
        let got = key.decrypt(&ct).unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(&got[..], &want[..], "{name}");
        assert_eq!(
            std::str::from_utf8(&got).ok(),
            v["plaintext_utf8"].as_str(),
            "{name}"
        );
        // Someone else's key must not decrypt it.
        let other = if recipient == "alice" { "bob" } else { "alice" };
        assert!(matches!(
            private_key(other).decrypt(&ct),
            Err(CryptoError::Decrypt)
        ));

        for seen in v["seen_in_packets"].as_array().unwrap() {
            let pv = packet_by_name(seen.as_str().unwrap());
            let p = decode_vector(&unhex(&pv["hex"]), direction(pv)).unwrap();
            assert_eq!(
                p.args.last().map(|a| &a[..]),
                Some(&ct[..]),
                "{name} in {seen}"
            );
        }
        // A VERIF challenge's plaintext is the client's answer, byte for byte.
        if let Some(challenge) = v["seen_in_packets"][0]
            .as_str()
            .filter(|s| s.starts_with("verif_challenge"))
        {
            let cv = packet_by_name(challenge);
            let conn = &cv["capture"]["conn"];
            let seq = cv["capture"]["seq"].as_u64().unwrap() as usize;
            let answer = transcript()[seq + 1..]
                .iter()
                .find(|t| {
                    &t["conn"] == conn
                        && direction(t) == Direction::ToServer
                        && t["header"]["action_name"] == "VERIF"
                })
                .unwrap();
            let p = decode_vector(&unhex(&answer["hex"]), Direction::ToServer).unwrap();
            assert_eq!(&p.args[1][..], &want[..], "{name}: VERIF answer");
        }
    }
}

/// Us → Go: our ciphertexts decrypt with the keys the Go client exported, carry no CRLF, have
/// the key's size, and the 446/447-byte limit holds.
#[test]
fn our_ciphertexts_decrypt_with_go_keys() {
    let texts: [&[u8]; 5] = [
        b"",
        b"hello bob",
        "héllo ✓ 日本 😀".as_bytes(),
        &[b'\r', b'\n', 0, 0xff],
        &[b'x'; 190],
    ];
    for name in ["alice", "bob", "carol", "pyclient"] {
        // The key as the Go server hands it out in a REQ reply.
        let public = PublicKey::parse(&read_file(&format!("keys/{name}.pub.req.pem"))).unwrap();
        let enc = EncryptingKey::new(&public).unwrap();
        let size = public.bits() / 8;
        assert_eq!(enc.max_plaintext(), size - 66, "{name}");
        let key = private_key(name);
        for text in texts {
            for _ in 0..4 {
                let ct = enc.encrypt(text).unwrap();
                assert_eq!(ct.len(), size, "{name}");
                assert!(
                    !ct.windows(2).any(|w| w == b"\r\n"),
                    "{name}: CRLF in ciphertext"
                );
                assert_eq!(&key.decrypt(&ct).unwrap()[..], text, "{name}");
            }
        }
        let max = vec![b'm'; enc.max_plaintext()];
        assert_eq!(
            &key.decrypt(&enc.encrypt(&max).unwrap()).unwrap()[..],
            &max[..]
        );
        let over = vec![b'm'; enc.max_plaintext() + 1];
        assert!(matches!(
            enc.encrypt(&over),
            Err(CryptoError::TooLong { .. })
        ));
    }
}

#[test]
fn plaintext_limit_is_446_for_4096_bit_keys() {
    let public = PublicKey::parse(&read_file("keys/bob.pub.req.pem")).unwrap();
    let enc = EncryptingKey::new(&public).unwrap();
    assert_eq!(enc.max_plaintext(), MAX_PLAINTEXT);
    assert_eq!(MAX_PLAINTEXT, 446);
    // 446 bytes of 3-byte CJK + ASCII, as in `msg_online_446_utf8_cjk`.
    let ok = vec![b'a'; 446];
    let ct = enc.encrypt(&ok).unwrap();
    assert_eq!(ct.len(), 512);
    assert_eq!(&private_key("bob").decrypt(&ct).unwrap()[..], &ok[..]);
    match enc.encrypt(&[b'a'; 447]) {
        Err(CryptoError::TooLong { len: 447, max: 446 }) => {}
        other => panic!("447 bytes: {other:?}"),
    }
    assert!(matches!(
        enc.encrypt_once(&[b'a'; 447]),
        Err(CryptoError::TooLong { .. })
    ));
}

/// A full MSG as our client would build it round-trips through the Go-compatible framing and
/// decrypts with the recipient's Go-exported key.
#[test]
fn msg_built_by_us_is_readable_by_a_go_peer() {
    let public = PublicKey::parse(&read_file("keys/bob.pub.req.pem")).unwrap();
    let enc = EncryptingKey::new(&public).unwrap();
    let ct = enc.encrypt("hello from rust ✓".as_bytes()).unwrap();
    let req = Request::Msg {
        to: Bytes::from_static(b"bob"),
        stamp: Bytes::from(encode_stamp(1_795_672_200)),
        ciphertext: Bytes::from(ct),
    };
    let bytes = req.to_packet(42).to_bytes().unwrap();
    // Split the payload exactly as the Go reader does: on every CRLF, first `args` pieces.
    let header = Header::parse(bytes[..8].try_into().unwrap());
    let payload = &bytes[PREAMBLE_LEN..];
    let mut pieces = Vec::new();
    let mut rest = payload;
    while let Some(at) = rest.windows(2).position(|w| w == b"\r\n") {
        pieces.push(&rest[..at]);
        rest = &rest[at + 2..];
    }
    assert_eq!(
        pieces.len(),
        usize::from(header.args),
        "Go's split finds exactly the arguments"
    );
    let sum: usize = pieces.iter().map(|p| p.len() + 2).sum();
    assert_eq!(sum, usize::from(header.len), "Go's length check passes");
    assert_eq!(
        &private_key("bob").decrypt(pieces[2]).unwrap()[..],
        "hello from rust ✓".as_bytes()
    );
}
