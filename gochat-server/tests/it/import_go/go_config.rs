//! The whole procedure through the binary: `import-go`, then serving with the Go config,
//! and `config from-go`.

use super::*;

/// `host`, `port`, `user`, `password` of the test MariaDB server, for a Go config.
fn mysql_parts() -> (String, u16, String, String) {
    let url = mysql_server_url();
    let rest = url.strip_prefix("mysql://").expect("mysql:// URL");
    let (creds, host_port) = rest.rsplit_once('@').expect("user@host");
    let (user, password) = creds.split_once(':').unwrap_or((creds, ""));
    let (host, port) = host_port.rsplit_once(':').unwrap_or((host_port, "3306"));
    (
        host.to_owned(),
        port.trim_end_matches('/').parse().expect("port"),
        user.to_owned(),
        password.to_owned(),
    )
}

/// Two different ports on 127.0.0.1 that were free a moment ago (both held until both are
/// chosen, so they differ).
fn free_ports() -> (u16, u16) {
    let bind = || std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let (a, b) = (bind(), bind());
    let port = |l: &std::net::TcpListener| l.local_addr().expect("addr").port();
    (port(&a), port(&b))
}

/// The fixture's Go config with free ports, a generated certificate, and `database.*` naming
/// `db` on the test server. Returns the file and a TLS connector trusting the certificate.
fn go_config_for(
    dir: &std::path::Path,
    db: &str,
    plain: u16,
    tls: u16,
) -> (PathBuf, tokio_rustls::TlsConnector) {
    let certified = gochat_testkit::certs::CertKey::self_signed(&["localhost"]).expect("cert");
    std::fs::create_dir_all(dir.join("certs")).expect("certs dir");
    certified
        .write_pem_as(dir.join("certs/gochat.pem"), dir.join("certs/gochat.key"))
        .expect("write the certificate");
    let text = std::fs::read_to_string(fixture("server-config.json")).expect("Go config");
    let mut v: serde_json::Value = serde_json::from_str(&text).expect("JSON");
    let (host, port, user, password) = mysql_parts();
    v["server"]["port"] = plain.into();
    v["server"]["tls"]["port"] = tls.into();
    v["database"]["address"] = host.into();
    v["database"]["port"] = port.into();
    v["database"]["user"] = user.into();
    v["database"]["password"] = password.into();
    v["database"]["db_name"] = db.into();
    let path = dir.join("config.json");
    std::fs::write(&path, v.to_string()).expect("write Go config");
    (path, certified.connector().expect("TLS connector"))
}

/// Stops a child process (by its PID) when dropped.
struct Child(std::process::Child);

impl Drop for Child {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// The whole procedure: import, then `gochat-server --go-config config.json` (the Go file as it
/// is, with only ports, certificate and database credentials changed for the test) serves
/// the Go ports: HELLO carries Go's MOTD on both, and carol, over TLS with the same
/// certificate, receives her four Go messages. The same config pointed at the Go database
/// itself is refused before anything is written there.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn go_config_serves_the_imported_store() {
    let source = go_source().await;
    let before = source_contents(&source).await;
    let target = Db::create("gochat_goimp").await;
    let store = store::open(&target.url()).await.expect("target");
    run_import(&source, store.as_ref(), false).await;
    drop(store);

    let dir = tempfile::tempdir().expect("tempdir");
    let (plain, tls) = free_ports();
    let (config, connector) = go_config_for(dir.path(), &target.name, plain, tls);
    let log = std::fs::File::create(dir.path().join("server.log")).expect("log file");
    let _server = Child(
        std::process::Command::new(env!("CARGO_BIN_EXE_gochat-server"))
            .arg("--go-config")
            .arg(&config)
            .current_dir(dir.path())
            .stdout(std::process::Stdio::null())
            .stderr(log)
            .spawn()
            .expect("start gochat-server"),
    );
    let plain_addr: SocketAddr = ([127, 0, 0, 1], plain).into();
    if let Err(e) =
        gochat_testkit::wait::wait_for_port(plain_addr, std::time::Duration::from_secs(60)).await
    {
        panic!(
            "server never listened ({e}): {}",
            std::fs::read_to_string(dir.path().join("server.log")).unwrap_or_default()
        );
    }
    let hello = Client::connect(plain_addr).await;
    assert_eq!(hello.motd(), b"Welcome to the server!");

    let carol_key = carol_key();
    let mut carol = Client::connect_tls(([127, 0, 0, 1], tls).into(), connector).await;
    assert_eq!(carol.motd(), b"Welcome to the server!");
    carol.login("carol", &carol_key).await;
    let id = carol.send(Request::Reciv).await;
    assert_ok(&carol.reply(id).await, "RECIV");
    for (from, _, text) in CAROL_PENDING {
        let p = carol.event().await;
        assert_eq!(p.args[0], from.as_bytes());
        assert_eq!(
            &carol_key.decrypt(&p.args[2]).expect("decrypts")[..],
            text.as_bytes()
        );
    }

    // Pointed at the Go database, the server refuses to start and writes nothing there.
    let (plain, tls) = free_ports();
    let (config, _) = go_config_for(dir.path(), &source.name, plain, tls);
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_gochat-server"))
        .arg("--go-config")
        .arg(&config)
        .current_dir(dir.path())
        .output()
        .expect("run gochat-server");
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("Go gochat database"), "{err}");
    assert!(
        err.contains("`server.logs.log_file`"),
        "warnings name the key: {err}"
    );
    assert_eq!(source_contents(&source).await, before, "source unchanged");
}

/// `config from-go` prints our TOML for the fixture, names the ignored keys on stderr, lets
/// `--database` replace the Go database, and writes `-o` files with mode 0600.
#[test]
fn config_from_go_prints_and_writes_toml() {
    use std::os::unix::fs::PermissionsExt;
    let exe = env!("CARGO_BIN_EXE_gochat-server");
    let file = fixture("server-config.json");
    let out = std::process::Command::new(exe)
        .args(["config", "from-go"])
        .arg(&file)
        .output()
        .expect("run");
    assert_eq!(out.status.code(), Some(0));
    let toml_text = String::from_utf8_lossy(&out.stdout);
    let err = String::from_utf8_lossy(&out.stderr);
    let back: Config = toml::from_str(&toml_text).expect("our TOML");
    assert_eq!(back.listen, "127.0.0.1:9037".parse().ok());
    assert_eq!(back.tls_listen, "127.0.0.1:8037".parse().ok());
    assert_eq!(back.max_clients, 50);
    assert_eq!(back.log, "debug");
    assert_eq!(back.motd, "Welcome to the server!");
    assert_eq!(
        back.database.as_deref(),
        Some("mysql://gochatuser:gochatpass@127.0.0.1:3306/gochat")
    );
    for key in [
        "database.enable_logs",
        "database.log_file",
        "server.logs.log_file",
    ] {
        assert!(err.contains(&format!("`{key}`")), "{err}");
    }
    assert!(!err.contains("gochatpass"), "no secrets on stderr: {err}");

    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("server.toml");
    let out = std::process::Command::new(exe)
        .args(["config", "from-go"])
        .arg(&file)
        .args(["--database", "sqlite:///var/lib/gochat/gochat.db", "-o"])
        .arg(&path)
        .output()
        .expect("run");
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    let mode = std::fs::metadata(&path)
        .expect("written")
        .permissions()
        .mode();
    assert_eq!(mode & 0o777, 0o600);
    let back: Config =
        toml::from_str(&std::fs::read_to_string(&path).expect("read")).expect("our TOML");
    assert_eq!(
        back.database.as_deref(),
        Some("sqlite:///var/lib/gochat/gochat.db")
    );
}
