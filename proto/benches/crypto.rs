//! RSA-4096 OAEP-SHA256 with alice's key exported by the Go client (tests/vectors/keys/).

#![allow(missing_docs, clippy::unwrap_used, clippy::expect_used)]

use std::hint::black_box;
use std::time::Duration;

use criterion::{Criterion, criterion_group, criterion_main};
use gochat_proto::crypto::{EncryptingKey, MAX_PLAINTEXT, PrivateKey};

fn crypto(c: &mut Criterion) {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/vectors/keys/alice.priv.pem"
    );
    let key = PrivateKey::from_pem(&std::fs::read(path).unwrap()).unwrap();
    assert_eq!(key.public_key().bits(), 4096);
    let enc = EncryptingKey::new(key.public_key()).unwrap();
    let short = b"hello bob, you are online".to_vec();
    let full = vec![b'x'; MAX_PLAINTEXT];
    let ct = enc.encrypt(&short).unwrap();

    let mut group = c.benchmark_group("oaep4096");
    group.bench_function("encrypt_25B", |b| {
        b.iter(|| enc.encrypt(black_box(&short)).unwrap())
    });
    group.bench_function("encrypt_446B", |b| {
        b.iter(|| enc.encrypt(black_box(&full)).unwrap())
    });
    group
        .sample_size(20)
        .measurement_time(Duration::from_secs(10));
    group.bench_function("decrypt", |b| {
        b.iter(|| key.decrypt(black_box(&ct)).unwrap())
    });
    group.finish();
}

criterion_group!(benches, crypto);
criterion_main!(benches);
