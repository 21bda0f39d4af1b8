//! Conformance against the byte-exact vectors captured from the Go implementation
//! (`tests/vectors/`, copied from the reference capture; see its README.md).
//!
//! - every captured packet decodes with the right fields and re-encodes byte for byte,
//!   both as a raw [`Packet`] and through the typed [`Request`] / [`Response`];
//! - the deliberately malformed requests fail (or, for the CRLF one, decode) as documented;
//! - timestamps, PEM public keys, the Go client's private key files and RSA-OAEP
//!   ciphertexts match the Go implementation in both directions.

use std::collections::{BTreeMap, HashMap};
use std::path::PathBuf;
use std::sync::OnceLock;

use bytes::{Bytes, BytesMut};
use gochat_proto::crypto::{CryptoError, EncryptingKey, MAX_PLAINTEXT, PrivateKey};
use gochat_proto::wire::{
    Action, CommandError, Direction, ErrorCode, FrameError, GochatCodec, Header, PREAMBLE_LEN,
    Packet, PublicKey, RESERVED, Request, Response, StampError, decode_stamp, decode_stamp_prefix,
    encode_stamp,
};
use serde_json::Value;
use tokio_util::codec::Decoder;

mod keys;
mod oaep;
mod packets;
mod timestamps;

// ---------------------------------------------------------------------------------------------
// Loading
// ---------------------------------------------------------------------------------------------

fn vectors_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests")
        .join("vectors")
}

fn read_file(rel: &str) -> Vec<u8> {
    let path = vectors_dir().join(rel);
    std::fs::read(&path).unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()))
}

fn read_jsonl(name: &str) -> Vec<Value> {
    let text = String::from_utf8(read_file(name)).unwrap();
    text.lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{name}: bad JSON line: {e}")))
        .collect()
}

fn unhex(v: &Value) -> Vec<u8> {
    hex::decode(v.as_str().expect("hex string")).expect("valid hex")
}

fn str_of<'a>(v: &'a Value, key: &str) -> &'a str {
    v[key]
        .as_str()
        .unwrap_or_else(|| panic!("missing string field {key}: {v}"))
}

fn u64_of(v: &Value, key: &str) -> u64 {
    v[key]
        .as_u64()
        .unwrap_or_else(|| panic!("missing integer field {key}: {v}"))
}

fn packets() -> &'static [Value] {
    static CELL: OnceLock<Vec<Value>> = OnceLock::new();
    CELL.get_or_init(|| read_jsonl("packets.jsonl"))
}

fn transcript() -> &'static [Value] {
    static CELL: OnceLock<Vec<Value>> = OnceLock::new();
    CELL.get_or_init(|| read_jsonl("transcript.jsonl"))
}

fn packet_by_name(name: &str) -> &'static Value {
    packets()
        .iter()
        .find(|p| p["name"].as_str() == Some(name))
        .unwrap_or_else(|| panic!("no packet vector named {name}"))
}

/// The vector's name: `name` in packets.jsonl, `vector_name` (or the sequence number) in
/// transcript.jsonl.
fn label(v: &Value) -> String {
    v["name"]
        .as_str()
        .or_else(|| v["vector_name"].as_str())
        .map(str::to_owned)
        .unwrap_or_else(|| format!("transcript#{}", v["seq"]))
}

fn direction(v: &Value) -> Direction {
    match str_of(v, "direction") {
        "client_to_server" => Direction::ToServer,
        "server_to_client" => Direction::ToClient,
        other => panic!("unknown direction {other}"),
    }
}

fn private_key(name: &str) -> &'static PrivateKey {
    static CELL: OnceLock<HashMap<&'static str, PrivateKey>> = OnceLock::new();
    let keys = CELL.get_or_init(|| {
        ["alice", "bob", "carol", "pyclient"]
            .into_iter()
            .map(|n| {
                let pem = read_file(&format!("keys/{n}.priv.pem"));
                let key = PrivateKey::from_pem(&pem)
                    .unwrap_or_else(|e| panic!("keys/{n}.priv.pem does not load: {e}"));
                (n, key)
            })
            .collect()
    });
    keys.get(name)
        .unwrap_or_else(|| panic!("no private key for {name}"))
}

/// Decodes one vector with `Packet::decode`, checking that exactly its bytes are consumed.
fn decode_vector(bytes: &[u8], dir: Direction) -> Result<Packet, FrameError> {
    let mut buf = BytesMut::from(bytes);
    let packet = Packet::decode(&mut buf, dir)?.expect("a whole packet is present");
    assert!(
        buf.is_empty(),
        "decode consumed {} of {} bytes",
        bytes.len() - buf.len(),
        bytes.len()
    );
    Ok(packet)
}
