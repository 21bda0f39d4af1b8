//! Framing benchmarks: encode and decode of typical packets, and a decode + encode round as a
//! relaying server does it for every MSG.
//!
//! Decode benches decode a buffer of `BATCH` back-to-back packets (the buffer is built outside
//! the timed section), so the numbers are per packet in a stream; encode benches write into a
//! reused buffer. Throughput is reported in packets (elements) per second.

#![allow(missing_docs, clippy::unwrap_used, clippy::expect_used)]

use std::hint::black_box;

use bytes::{Bytes, BytesMut};
use criterion::{BatchSize, Criterion, Throughput, criterion_group, criterion_main};
use gochat_proto::wire::{
    Action, Direction, EncodeError, MAX_ARG_LEN, Packet, Request, encode_stamp,
};

/// Packets per decode iteration.
const BATCH: usize = 1024;

fn hello() -> Packet {
    Packet::new(Action::Hello, 0).with_arg("Welcome to the server!")
}

/// A MSG as the Go client sends it: recipient, 5-byte stamp ending in 0x0D, 512-byte
/// ciphertext (pseudo-random, CRLF-free like ours).
fn msg() -> Packet {
    let mut x: u32 = 0x9E37_79B9;
    let mut ct = Vec::with_capacity(512);
    while ct.len() < 512 {
        x ^= x << 13;
        x ^= x >> 17;
        x ^= x << 5;
        let b = x as u8;
        if !(b == b'\n' && ct.last() == Some(&b'\r')) {
            ct.push(b);
        }
    }
    Packet::new(Action::Msg, 42)
        .with_arg("bob")
        .with_arg(encode_stamp(1_795_672_200))
        .with_arg(ct)
}

/// `user0001\nuser0002\n…` with `n` names, no trailing newline (the USRS list format).
fn names(range: std::ops::RangeInclusive<usize>) -> Vec<u8> {
    range
        .map(|i| format!("user{i:04}"))
        .collect::<Vec<_>>()
        .join("\n")
        .into_bytes()
}

/// The largest list of 8-character names that fits in one 2045-byte argument: 227 names.
const USRS_MAX_NAMES: usize = (MAX_ARG_LEN + 1) / 9;

fn usrs_one_arg() -> Packet {
    let list = names(1..=USRS_MAX_NAMES);
    assert!(list.len() <= MAX_ARG_LEN && list.len() + 9 > MAX_ARG_LEN);
    Packet::new(Action::Usrs, 7).with_arg(list)
}

/// 1,000 names cannot be one argument (8,999 bytes > 2,045); spread over 5 arguments of 200
/// names they fit in one packet (payload 9,005 bytes ≤ 16,383).
fn usrs_1000_five_args() -> Packet {
    let mut p = Packet::new(Action::Usrs, 7);
    for chunk in 0..5 {
        p = p.with_arg(names(chunk * 200 + 1..=chunk * 200 + 200));
    }
    p
}

fn stream_of(p: &Packet, n: usize) -> BytesMut {
    let one = p.to_bytes().unwrap();
    let mut buf = BytesMut::with_capacity(one.len() * n);
    for _ in 0..n {
        buf.extend_from_slice(&one);
    }
    buf
}

fn bench_encode(c: &mut Criterion, name: &str, p: &Packet) {
    let mut group = c.benchmark_group("encode");
    group.throughput(Throughput::Elements(1));
    let mut buf = BytesMut::with_capacity(p.encoded_len());
    group.bench_function(name, |b| {
        b.iter(|| {
            buf.clear();
            black_box(p).encode(&mut buf).unwrap();
            black_box(&buf);
        })
    });
    group.finish();
}

fn bench_decode(c: &mut Criterion, name: &str, p: &Packet, dir: Direction) {
    let mut group = c.benchmark_group("decode");
    group.throughput(Throughput::Elements(BATCH as u64));
    let stream = stream_of(p, BATCH);
    group.bench_function(name, |b| {
        b.iter_batched_ref(
            || stream.clone(),
            |buf| {
                while let Some(p) = Packet::decode(buf, dir).unwrap() {
                    black_box(p);
                }
            },
            BatchSize::LargeInput,
        )
    });
    group.finish();
}

fn wire(c: &mut Criterion) {
    let hello = hello();
    let msg = msg();
    let usrs = usrs_one_arg();
    let usrs_multi = usrs_1000_five_args();

    // 1,000 names in one argument cannot be framed (the Go server answers ERR_PACKET).
    let too_big = Packet::new(Action::Usrs, 7).with_arg(names(1..=1000));
    assert_eq!(
        too_big.check(),
        Err(EncodeError::ArgTooLong {
            index: 0,
            len: 8999
        })
    );

    bench_encode(c, "hello", &hello);
    bench_encode(c, "msg_512", &msg);
    bench_encode(c, "usrs_227_names_1_arg", &usrs);
    bench_encode(c, "usrs_1000_names_5_args", &usrs_multi);

    bench_decode(c, "hello", &hello, Direction::ToClient);
    bench_decode(c, "msg_512", &msg, Direction::ToServer);
    bench_decode(c, "usrs_227_names_1_arg", &usrs, Direction::ToClient);
    bench_decode(
        c,
        "usrs_1000_names_5_args",
        &usrs_multi,
        Direction::ToClient,
    );

    // What a server does with every MSG: decode it, then frame the RECIV it forwards. Here the
    // same packet is re-encoded (same size and shape as the RECIV).
    let mut group = c.benchmark_group("decode_encode");
    group.throughput(Throughput::Elements(BATCH as u64));
    let stream = stream_of(&msg, BATCH);
    let mut out = BytesMut::with_capacity(stream.len());
    group.bench_function("msg_512", |b| {
        b.iter_batched_ref(
            || stream.clone(),
            |buf| {
                out.clear();
                while let Some(p) = Packet::decode(buf, Direction::ToServer).unwrap() {
                    p.encode(&mut out).unwrap();
                }
                black_box(&out);
            },
            BatchSize::LargeInput,
        )
    });
    // The same through the typed layer: MSG request in, RECIV response out.
    group.bench_function("msg_512_typed_to_reciv", |b| {
        b.iter_batched_ref(
            || stream.clone(),
            |buf| {
                out.clear();
                while let Some(p) = Packet::decode(buf, Direction::ToServer).unwrap() {
                    let Ok(Request::Msg {
                        stamp, ciphertext, ..
                    }) = Request::from_packet(&p)
                    else {
                        unreachable!()
                    };
                    let reciv = gochat_proto::wire::Response::Reciv {
                        from: Bytes::from_static(b"alice"),
                        stamp,
                        ciphertext,
                    };
                    reciv.to_packet(0).encode(&mut out).unwrap();
                }
                black_box(&out);
            },
            BatchSize::LargeInput,
        )
    });
    group.finish();
}

criterion_group!(benches, wire);
criterion_main!(benches);
