//! A TLS gochat-server presenting a certificate made here with rcgen, restartable on the
//! same port with another certificate (for the certificate-trust tests).

use rcgen::{BasicConstraints, CertificateParams, DnType, IsCa, KeyPair};

/// What `openssl req -x509` makes by default: self-signed, `CA:TRUE`, for `localhost`.
pub struct SelfSigned {
    pub pem: String,
    pub key_pem: String,
    /// SHA-256 of the DER, hex.
    pub sha256: String,
}

pub fn self_signed_ca() -> SelfSigned {
    let mut params = CertificateParams::new(vec!["localhost".to_owned()]).expect("params");
    params
        .distinguished_name
        .push(DnType::CommonName, "localhost");
    params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    let key = KeyPair::generate().expect("key");
    let cert = params.self_signed(&key).expect("cert");
    let digest = <sha2::Sha256 as sha2::Digest>::digest(cert.der());
    SelfSigned {
        pem: cert.pem(),
        key_pem: key.serialize_pem(),
        sha256: digest.iter().map(|b| format!("{b:02x}")).collect(),
    }
}

/// A TLS-only server whose database lives in `dir` (kept across restarts).
pub struct CertServer {
    pub port: u16,
    runtime: tokio::runtime::Runtime,
    token: tokio_util::sync::CancellationToken,
}

impl CertServer {
    /// Starts on 127.0.0.1:`port` (0: any) presenting `cert`.
    pub fn start(dir: &std::path::Path, cert: &SelfSigned, port: u16) -> CertServer {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_all()
            .build()
            .expect("runtime");
        let (c, k) = (dir.join("cert.pem"), dir.join("key.pem"));
        std::fs::write(&c, &cert.pem).expect("write cert");
        std::fs::write(&k, &cert.key_pem).expect("write key");
        let config = gochat_server::config::Config {
            listen: None,
            tls_listen: Some(format!("127.0.0.1:{port}").parse().expect("addr")),
            cert: Some(c),
            key: Some(k),
            database: Some(format!("sqlite://{}", dir.join("server.db").display())),
            motd: "cli certificate test".into(),
            ..Default::default()
        };
        let server = runtime
            .block_on(gochat_server::server::Server::start(config))
            .expect("server starts");
        let port = server.tls_addr.expect("a TLS listener").port();
        let token = server.shutdown_token();
        runtime.spawn(server.run());
        CertServer {
            port,
            runtime,
            token,
        }
    }

    /// Stops the server and waits for its port to be released.
    pub fn stop(self) {
        self.token.cancel();
        self.runtime
            .shutdown_timeout(std::time::Duration::from_secs(5));
    }
}
