//! Certificates made with rcgen for the TLS tests, and a TLS gochat-server that presents one.
#![allow(dead_code)]

use rcgen::{BasicConstraints, CertificateParams, DnType, IsCa, KeyPair};
use sha2::{Digest, Sha256};

use crate::common::{TestServer, start_server_with};

/// A certificate with its key.
pub struct TestCert {
    pub pem: String,
    pub der: Vec<u8>,
    pub key_pem: String,
    cert: rcgen::Certificate,
    key: KeyPair,
}

impl TestCert {
    /// SHA-256 of the DER, hex.
    pub fn sha256(&self) -> String {
        hex::encode(Sha256::digest(&self.der))
    }

    /// Writes the certificate to `dir/NAME.pem` and returns the path.
    pub fn write(&self, dir: &std::path::Path, name: &str) -> String {
        let path = dir.join(format!("{name}.pem"));
        std::fs::write(&path, &self.pem).expect("write certificate");
        path.display().to_string()
    }
}

fn params(common_name: &str, names: &[&str], ca: bool) -> CertificateParams {
    let mut params =
        CertificateParams::new(names.iter().map(|n| (*n).to_owned()).collect::<Vec<_>>())
            .expect("params");
    params
        .distinguished_name
        .push(DnType::CommonName, common_name);
    if ca {
        params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    }
    params
}

fn finish(cert: rcgen::Certificate, key: KeyPair) -> TestCert {
    TestCert {
        pem: cert.pem(),
        der: cert.der().to_vec(),
        key_pem: key.serialize_pem(),
        cert,
        key,
    }
}

/// What `openssl req -x509` makes by default: self-signed, `CA:TRUE`, for `name`.
pub fn self_signed_ca(name: &str) -> TestCert {
    let key = KeyPair::generate().expect("key");
    let cert = params(name, &[name], true).self_signed(&key).expect("cert");
    finish(cert, key)
}

/// A self-signed certificate for `name` that expired in 2001.
pub fn expired(name: &str) -> TestCert {
    let key = KeyPair::generate().expect("key");
    let mut params = params(name, &[name], false);
    params.not_before = rcgen::date_time_ymd(2000, 1, 1);
    params.not_after = rcgen::date_time_ymd(2001, 1, 1);
    let cert = params.self_signed(&key).expect("cert");
    finish(cert, key)
}

/// A CA, and a server certificate for `names` that it signs.
pub fn ca_and_leaf(names: &[&str]) -> (TestCert, TestCert) {
    let ca_key = KeyPair::generate().expect("key");
    let ca = params("gochat test CA", &[], true)
        .self_signed(&ca_key)
        .expect("ca");
    let leaf_key = KeyPair::generate().expect("key");
    let leaf = params(names[0], names, false)
        .signed_by(&leaf_key, &ca, &ca_key)
        .expect("leaf");
    (finish(ca, ca_key), finish(leaf, leaf_key))
}

/// A gochat-server listening with TLS on 127.0.0.1:`port` (0: any) with `cert`, its
/// database in `dir` (reuse a stopped server's `dir` to keep its accounts).
pub async fn start_tls_server(dir: tempfile::TempDir, cert: &TestCert, port: u16) -> TestServer {
    let cert_path = dir.path().join("server-cert.pem");
    let key_path = dir.path().join("server-key.pem");
    std::fs::write(&cert_path, &cert.pem).expect("write cert");
    std::fs::write(&key_path, &cert.key_pem).expect("write key");
    start_server_with(dir, move |c| {
        c.listen = None;
        c.tls_listen = Some(format!("127.0.0.1:{port}").parse().expect("addr"));
        c.cert = Some(cert_path);
        c.key = Some(key_path);
    })
    .await
}
