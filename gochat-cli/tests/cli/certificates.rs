//! Trusting a self-hosted server's certificate from the command line (issue 17): a failing
//! `server add --tls` shows the certificate and how to pin it, `server trust` pins it, a
//! changed certificate is refused until trusted again, and `--no-verify` is warned about.

use crate::cert_server::{CertServer, self_signed_ca};
use crate::support::{Home, eventually};

#[test]
fn trust_on_first_use_then_a_changed_certificate() {
    let dir = tempfile::tempdir().expect("tempdir");
    let first = self_signed_ca();
    let server = CertServer::start(dir.path(), &first, 0);
    let port = server.port.to_string();
    let home = Home::with_daemon();

    let add = home.cli(&[
        "server",
        "add",
        "home",
        "localhost",
        "--port",
        &port,
        "--tls",
    ]);
    let err = add.fails(6);
    let shown = &first.sha256[..8].to_ascii_uppercase();
    assert!(
        err.contains(&format!("fingerprint: sha256:{}", &shown[..2])),
        "{err}"
    );
    assert!(err.contains("subject:     CN=localhost"), "{err}");
    assert!(err.contains("valid:"), "{err}");
    assert!(err.contains("gochat-cli server trust home"), "{err}");

    // Refused until pinned, with the certificate in the error.
    let refused = home.cli(&["account", "register", "alice", "--no-passphrase"]);
    let err = refused.fails(6);
    assert!(err.contains("server trust home"), "{err}");

    let trusted = home.cli(&["--yes", "server", "trust", "home"]);
    assert!(
        trusted.ok().contains("pinned the certificate of home"),
        "{trusted:?}"
    );
    home.register("alice");
    let show = home.cli(&["server", "show", "home"]);
    assert!(
        show.ok()
            .contains(&format!("pin:      sha256:{}", first.sha256)),
        "{show:?}"
    );

    // Another certificate on the same address: refused, shown on the profile.
    server.stop();
    let second = self_signed_ca();
    let server = CertServer::start(dir.path(), &second, port.parse().expect("port"));
    eventually("the changed certificate is recorded", || {
        let show = home.cli(&["server", "show", "home"]);
        show.stdout.contains("refused certificate:") && show.stdout.contains("changed since")
    });
    let json = home.cli(&["--json", "server", "show", "home"]).json();
    assert_eq!(
        json["rejected_certificate"]["sha256"],
        second.sha256.as_str()
    );
    assert_eq!(json["rejected_certificate"]["changed"], true);

    // A stale fingerprint pins nothing; the presented one does, and the link comes back.
    let stale = home.cli(&["server", "trust", "home", "--fingerprint", &first.sha256]);
    stale.fails(6);
    let fingerprint = format!("sha256:{}", second.sha256);
    home.cli(&["server", "trust", "home", "--fingerprint", &fingerprint])
        .ok();
    eventually("the account is online again", || {
        let accounts = home.cli(&["--json", "account", "list"]).json();
        accounts.to_string().contains("\"online\"")
    });
    server.stop();
}

#[test]
fn a_ca_file_with_the_self_signed_certificate_connects_and_no_verify_is_warned() {
    let dir = tempfile::tempdir().expect("tempdir");
    let cert = self_signed_ca();
    let server = CertServer::start(dir.path(), &cert, 0);
    let port = server.port.to_string();
    let home = Home::with_daemon();
    let ca = dir.path().join("cert.pem");
    let ca = ca.to_str().expect("utf-8");
    home.cli(&[
        "server",
        "add",
        "home",
        "localhost",
        "--port",
        &port,
        "--tls",
        "--ca-file",
        ca,
    ])
    .ok();
    home.register("bob");

    home.cli(&[
        "server",
        "add",
        "open",
        "localhost",
        "--port",
        &port,
        "--tls",
        "--no-verify",
    ])
    .ok();
    let show = home.cli(&["server", "show", "open"]);
    assert!(
        show.ok()
            .contains("warning:  certificate verification is off"),
        "{show:?}"
    );
    server.stop();
}

#[test]
fn on_a_terminal_server_add_offers_to_pin_at_once() {
    let dir = tempfile::tempdir().expect("tempdir");
    let cert = self_signed_ca();
    let server = CertServer::start(dir.path(), &cert, 0);
    let port = server.port.to_string();
    let home = Home::with_daemon();
    let cmd = home.command(&[
        "server",
        "add",
        "home",
        "localhost",
        "--port",
        &port,
        "--tls",
    ]);
    let mut p = rexpect::session::spawn_command(cmd, Some(30_000)).expect("spawn in a pty");
    p.exp_string("subject:     CN=localhost")
        .expect("the certificate is shown");
    p.exp_string("[y/N]").expect("asked");
    p.send_line("y").expect("answer");
    p.exp_string("pinned the certificate of home")
        .expect("pinned");
    p.exp_eof().expect("done");
    home.register("carol");
    let show = home.cli(&["server", "show", "home"]);
    assert!(
        show.ok()
            .contains(&format!("pin:      sha256:{}", cert.sha256)),
        "{show:?}"
    );
    server.stop();
}
