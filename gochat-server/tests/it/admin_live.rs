//! Out-of-band administration (`gochat-server admin …`) reaches the running server through
//! its control socket: changes apply to live sessions within a second, the tool says whether
//! a running server applied them, and deregistration leaves no cache behind.

use std::path::Path;
use std::time::Duration;

use crate::common::{self, Backend, Client, TestServer, key};
use bytes::Bytes;
use gochat_proto::wire::{AdminOp, ErrorCode, Hook, Permission, Request};
use gochat_server::control::Request as Control;
use gochat_server::control::client::{AdminError, Outcome, apply};
use gochat_server::live_admin::Applied;

/// How soon a live session must see an out-of-band change.
const LIVE: Duration = Duration::from_secs(1);

fn kick(name: &str) -> Request {
    Request::Admin {
        op: AdminOp::Kick.code(),
        args: vec![Bytes::copy_from_slice(name.as_bytes())],
    }
}

/// Runs the real `gochat-server admin …` against `ts`'s database and `socket`; returns
/// (success, stdout, stderr).
async fn admin_tool(ts: &TestServer, socket: &Path, args: &[&str]) -> (bool, String, String) {
    let url = ts.config.database_url();
    let out = tokio::process::Command::new(env!("CARGO_BIN_EXE_gochat-server"))
        .arg("--database")
        .arg(url)
        .arg("--control-socket")
        .arg(socket)
        .arg("admin")
        .args(args)
        .env_remove("GOCHAT_CONFIG")
        .output()
        .await
        .expect("run gochat-server admin");
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn socket_of(ts: &TestServer) -> std::path::PathBuf {
    gochat_server::control::socket_path(&ts.config).expect("control socket on")
}

async fn demotion_reaches_live_session(backend: Backend) {
    let ts = TestServer::start(backend).await;
    let mut alice = ts.connect().await;
    alice.register("alice", key(0)).await;
    ts.set_permission("alice", Permission::Admin).await;
    alice.login("alice", key(0)).await;
    alice.ok(Request::Sub(Hook::PermsChg)).await;
    let _bob = ts.user("bob", key(1)).await;

    let outcome = apply(
        &ts.config,
        &Control::SetPermission {
            user: "alice".into(),
            level: Permission::User,
        },
    )
    .await
    .expect("applied");
    assert_eq!(outcome, Outcome::AppliedByServer(Applied::Online));
    tokio::time::timeout(LIVE, alice.expect_hook(Hook::PermsChg, &[b"alice", &[0]]))
        .await
        .expect("PERMSCHG within a second");
    alice.err(kick("bob"), ErrorCode::Perms).await;
    assert_eq!(
        ts.store
            .user(b"alice")
            .await
            .expect("lookup")
            .expect("row")
            .permission,
        0
    );
    ts.stop().await;
}

async fn deregistration_closes_live_session(backend: Backend) {
    let ts = TestServer::start(backend).await;
    let mut bob = ts.user("bob", key(1)).await;
    let outcome = apply(&ts.config, &Control::Deregister { user: "bob".into() })
        .await
        .expect("applied");
    assert_eq!(outcome, Outcome::AppliedByServer(Applied::Online));
    tokio::time::timeout(LIVE, bob.closed())
        .await
        .expect("session closed within a second");
    let mut again = ts.connect().await;
    again.err(common::login_req("bob"), ErrorCode::Dereg).await;
    // Unknown users are reported, not invented.
    let missing = apply(&ts.config, &Control::Deregister { user: "zed".into() }).await;
    assert!(
        matches!(missing, Err(AdminError::NoSuchUser(_))),
        "{missing:?}"
    );
    ts.stop().await;
}

async fn kick_with_the_admin_binary(backend: Backend) {
    let ts = TestServer::start(backend).await;
    let socket = socket_of(&ts);
    let mut carol = ts.user("carol", key(2)).await;
    let (ok, stdout, stderr) = admin_tool(&ts, &socket, &["kick", "carol"]).await;
    assert!(ok, "kick failed: {stderr}");
    assert!(
        stdout.contains("applied by the running server"),
        "stdout: {stdout}"
    );
    tokio::time::timeout(LIVE, carol.closed())
        .await
        .expect("kicked within a second");
    let (ok, _, stderr) = admin_tool(&ts, &socket, &["kick", "carol"]).await;
    assert!(!ok, "kicking someone offline is an error");
    assert!(stderr.contains("not online"), "stderr: {stderr}");

    // The binary's set-permission reaches a live session too.
    let mut dave = ts.user("dave", key(3)).await;
    dave.ok(Request::Sub(Hook::PermsChg)).await;
    let (ok, stdout, stderr) = admin_tool(&ts, &socket, &["set-permission", "dave", "admin"]).await;
    assert!(ok, "set-permission failed: {stderr}");
    assert!(
        stdout.contains("applied by the running server"),
        "stdout: {stdout}"
    );
    tokio::time::timeout(LIVE, dave.expect_hook(Hook::PermsChg, &[b"dave", &[1]]))
        .await
        .expect("PERMSCHG within a second");
    ts.stop().await;
}

/// With no server on the socket (here: a stale socket file, as a killed server leaves), the
/// tool writes the store and says the change waits for the next login.
async fn without_a_server_the_tool_writes_the_store(backend: Backend) {
    let ts = TestServer::start(backend).await;
    let dir = tempfile::tempdir().expect("tempdir");
    let stale = dir.path().join("stale.sock");
    drop(std::os::unix::net::UnixListener::bind(&stale).expect("bind"));
    let mut erin = ts.connect().await;
    erin.register("erin", key(4)).await;

    let (ok, stdout, stderr) = admin_tool(&ts, &stale, &["set-permission", "erin", "admin"]).await;
    assert!(ok, "set-permission failed: {stderr}");
    assert!(
        stdout.contains("no running server; takes effect at next login"),
        "stdout: {stdout}"
    );
    assert_eq!(
        ts.store
            .user(b"erin")
            .await
            .expect("lookup")
            .expect("row")
            .permission,
        1
    );
    let (ok, _, stderr) = admin_tool(&ts, &stale, &["kick", "erin"]).await;
    assert!(!ok, "a kick without a server cannot succeed");
    assert!(stderr.contains("no running server"), "stderr: {stderr}");
    let (ok, _, stderr) = admin_tool(&ts, &stale, &["deregister", "nobody"]).await;
    assert!(!ok);
    assert!(stderr.contains("no such user"), "stderr: {stderr}");
    ts.stop().await;
}

/// A sender that has the recipient's id cached gets ERR_DEREG right after the recipient is
/// deregistered, on every path, and nothing is stored for them.
async fn deregistration_invalidates_the_recipient_cache(backend: Backend) {
    let ts = TestServer::start(backend).await;
    let mut root = ts.connect().await;
    root.register("root", key(0)).await;
    ts.set_permission("root", Permission::Owner).await;
    root.login("root", key(0)).await;
    let mut sender = ts.user("sender", key(1)).await;
    for (name, k) in [("viatool", 2), ("viaadmin", 3), ("viaself", 4)] {
        let mut c = ts.connect().await;
        c.register(name, key(k)).await;
    }
    for name in ["viatool", "viaadmin", "viaself"] {
        // Stored for an offline recipient: its id is now cached.
        sender
            .ok(Client::msg(name, Bytes::from_static(b"first")))
            .await;
        assert_eq!(ts.pending(name).await, 1);
    }
    // Out of band, through the control socket.
    let outcome = apply(
        &ts.config,
        &Control::Deregister {
            user: "viatool".into(),
        },
    )
    .await
    .expect("applied");
    assert_eq!(outcome, Outcome::AppliedByServer(Applied::Offline));
    // In protocol, by an admin.
    root.ok(Request::Admin {
        op: AdminOp::Dereg.code(),
        args: vec![Bytes::from_static(b"viaadmin")],
    })
    .await;
    // In protocol, by the user.
    let mut own = ts.connect().await;
    own.login("viaself", key(4)).await;
    own.ok(Request::Dereg).await;

    for name in ["viatool", "viaadmin", "viaself"] {
        sender
            .err(
                Client::msg(name, Bytes::from_static(b"second")),
                ErrorCode::Dereg,
            )
            .await;
        let id = ts
            .store
            .user(name.as_bytes())
            .await
            .expect("lookup")
            .expect("row")
            .id;
        assert_eq!(
            ts.store.count_pending(id).await.expect("count"),
            0,
            "nothing stored for {name}"
        );
    }
    ts.stop().await;
}

both_backends!(
    demotion_reaches_live_session,
    deregistration_closes_live_session,
    kick_with_the_admin_binary,
    without_a_server_the_tool_writes_the_store,
    deregistration_invalidates_the_recipient_cache,
);

/// The control socket is private: its directory is created 0700, the socket is 0600, and a
/// peer with another uid is refused even when the file modes would let it in.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn control_socket_is_private() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().expect("tempdir");
    let socket = dir.path().join("run").join("ctl.sock");
    let url = format!("sqlite://{}/db.sqlite", dir.path().display());
    let config = gochat_server::config::Config {
        listen: Some("127.0.0.1:0".parse().expect("addr")),
        database: Some(url.clone()),
        control_socket: Some(socket.clone()),
        ..Default::default()
    };
    let server = gochat_server::server::Server::start(config)
        .await
        .expect("server starts");
    let addr = server.plain_addr.expect("plain");
    let stop = server.shutdown_token();
    let running = tokio::spawn(server.run());
    let mode = |p: &Path| std::fs::metadata(p).expect("stat").permissions().mode() & 0o777;
    assert_eq!(mode(socket.parent().expect("dir")), 0o700);
    assert_eq!(mode(&socket), 0o600);

    let mut bob = Client::connect(addr).await;
    bob.register("bob", key(1)).await;
    bob.login("bob", key(1)).await;

    if rustix::process::geteuid().is_root() {
        let as_nobody = |args: &[&str]| {
            std::process::Command::new(env!("CARGO_BIN_EXE_gochat-server"))
                .uid(65534)
                .gid(65534)
                .arg("--database")
                .arg(&url)
                .arg("--control-socket")
                .arg(&socket)
                .arg("admin")
                .args(args)
                .env_remove("GOCHAT_CONFIG")
                .output()
                .expect("run as nobody")
        };
        use std::os::unix::process::CommandExt;
        // The directory keeps others out.
        let out = as_nobody(&["kick", "bob"]);
        assert!(!out.status.success());
        // With open modes, the server itself refuses the other uid.
        std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o755))
            .expect("chmod");
        std::fs::set_permissions(
            socket.parent().expect("dir"),
            std::fs::Permissions::from_mode(0o755),
        )
        .expect("chmod");
        std::fs::set_permissions(&socket, std::fs::Permissions::from_mode(0o666)).expect("chmod");
        let out = as_nobody(&["kick", "bob"]);
        assert!(!out.status.success());
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(stderr.contains("without answering"), "stderr: {stderr}");
        // bob is still online.
        let reply = bob.call(common::req("bob")).await;
        assert_eq!(reply.action, gochat_proto::wire::Action::Req, "{reply:?}");
    } else {
        eprintln!("not root: the other-uid part of control_socket_is_private is not run");
    }
    stop.cancel();
    running.await.expect("server stops");
    assert!(!socket.exists(), "the socket is removed at shutdown");
}
