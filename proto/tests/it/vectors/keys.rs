//! Public and private keys: PEM vectors, captured REG/REQ PEMs, the Go client's key files.

use super::*;

#[test]
fn pem_vectors() {
    let vectors = read_jsonl("pem.jsonl");
    assert_eq!(vectors.len(), 4);
    for v in &vectors {
        let name = str_of(v, "name");
        let go_pem = str_of(v, "go_public_pem");
        let spki = unhex(&v["spki_der_hex"]);
        let pkcs1 = unhex(&v["pkcs1_public_der_hex"]);
        let bits = u64_of(v, "bits") as usize;
        assert_eq!(go_pem.len() as u64, u64_of(v, "go_public_pem_len"));

        let key = PublicKey::parse(go_pem.as_bytes()).unwrap();
        assert_eq!(key.to_pem(), go_pem, "{name}: to_pem");
        assert_eq!(key.spki_der(), &spki[..], "{name}: SPKI DER");
        assert_eq!(key.bits(), bits, "{name}: bits");

        // The captured REG and REQ texts, both from the JSON and from keys/.
        let reg = str_of(v, "captured_reg_pem");
        let req = str_of(v, "captured_req_pem");
        assert_eq!(
            read_file(&format!("keys/{name}.pub.reg.pem")),
            reg.as_bytes()
        );
        assert_eq!(
            read_file(&format!("keys/{name}.pub.req.pem")),
            req.as_bytes()
        );
        for text in [reg, req] {
            let k = PublicKey::parse(text.as_bytes()).unwrap();
            assert_eq!(k, key, "{name}");
            assert_eq!(
                k.to_pem(),
                go_pem,
                "{name}: normalised like the Go server's REQ"
            );
        }
        assert_eq!(
            reg == go_pem,
            v["reg_pem_identical_to_go_public_pem"].as_bool().unwrap()
        );
        assert_eq!(
            req == go_pem,
            v["req_pem_identical_to_go_public_pem"].as_bool().unwrap()
        );

        // Raw DER forms.
        assert_eq!(
            PublicKey::from_der(&spki).unwrap(),
            key,
            "{name}: from SPKI DER"
        );
        assert_eq!(
            PublicKey::from_der(&pkcs1).unwrap(),
            key,
            "{name}: from PKCS#1 DER"
        );
        assert_eq!(
            PublicKey::parse(&spki).unwrap(),
            key,
            "{name}: parse of raw DER"
        );

        // The modulus sits at the end of the PKCS#1 body, followed by the exponent 65537.
        assert_eq!(u64_of(v, "exponent"), 65537);
        let modulus = unhex(&v["modulus_hex"]);
        assert_eq!(modulus.len() * 8, bits);
        assert!(pkcs1.windows(modulus.len()).any(|w| w == &modulus[..]));
    }
    // The Python client's standard label and the Go server's normalised REQ form.
    let py = read_file("keys/pyclient.pub.reg.pem");
    assert!(py.starts_with(b"-----BEGIN PUBLIC KEY-----\n"));
    let key = PublicKey::parse(&py).unwrap();
    assert_eq!(key.bits(), 2048);
    assert_eq!(
        key.to_pem().as_bytes(),
        &read_file("keys/pyclient.pub.req.pem")[..]
    );
}

/// Every PEM that travelled in a REG request or a REQ reply parses; the REQ replies (and the
/// Go client's REGs) are byte-identical to our output.
#[test]
fn captured_reg_and_req_pems_parse() {
    let mut count = 0;
    for v in transcript() {
        let Ok(p) = decode_vector(&unhex(&v["hex"]), direction(v)) else {
            continue;
        };
        let pem = match (p.action, direction(v)) {
            (Action::Reg, Direction::ToServer) | (Action::Req, Direction::ToClient) => &p.args[1],
            _ => continue,
        };
        let key = PublicKey::parse(pem).unwrap_or_else(|e| panic!("{}: {e}", label(v)));
        if str_of(v, "source") == "python-client" {
            assert!(pem.starts_with(b"-----BEGIN PUBLIC KEY-----"));
            assert_eq!(
                key.to_pem().as_bytes(),
                &read_file("keys/pyclient.pub.req.pem")[..]
            );
        } else {
            assert_eq!(key.to_pem().as_bytes(), &pem[..], "{}", label(v));
            if key.bits() == 4096 {
                assert_eq!(pem.len(), 808);
            }
        }
        count += 1;
    }
    assert!(count >= 9 + 19, "{count}");
}

#[test]
fn private_key_files_reencode_byte_for_byte() {
    for name in ["alice", "bob", "carol", "pyclient"] {
        let file = read_file(&format!("keys/{name}.priv.pem"));
        let key = private_key(name);
        let pem = key.to_pkcs1_pem().unwrap();
        assert_eq!(pem.as_bytes(), &file[..], "{name}: PKCS#1 PEM re-export");
        assert_eq!(
            key.public_key().to_pem().as_bytes(),
            &read_file(&format!("keys/{name}.pub.req.pem"))[..],
            "{name}: public half"
        );
        if name != "pyclient" {
            assert_eq!(file.len(), 3243, "{name}");
            assert_eq!(key.public_key().bits(), 4096);
        }
        // The DER round-trips through from_der as well.
        let der = key.to_pkcs1_der().unwrap();
        let again = PrivateKey::from_der(&der).unwrap();
        assert_eq!(again.public_key(), key.public_key());
    }
}

#[test]
fn generated_key_round_trips_through_pkcs1_pem() {
    let key = PrivateKey::generate().unwrap();
    assert_eq!(key.public_key().bits(), 4096);
    let pem = key.to_pkcs1_pem().unwrap();
    assert!(pem.starts_with("-----BEGIN RSA PRIVATE KEY-----\n"));
    assert!(pem.ends_with("-----END RSA PRIVATE KEY-----\n"));
    assert!(pem.lines().all(|l| l.len() <= 64));
    let again = PrivateKey::from_pem(pem.as_bytes()).unwrap();
    assert_eq!(again.public_key(), key.public_key());
    assert_eq!(again.to_pkcs1_pem().unwrap(), pem);
    let public_pem = key.public_key().to_pem();
    assert_eq!(public_pem.len(), 808);
    let enc = EncryptingKey::new(&PublicKey::parse(public_pem.as_bytes()).unwrap()).unwrap();
    let ct = enc.encrypt(b"round trip").unwrap();
    assert_eq!(&again.decrypt(&ct).unwrap()[..], b"round trip");
}
