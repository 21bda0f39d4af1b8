//! The real `gochatd` binary: socket activation, readiness, stale sockets, SIGTERM, restart.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use gochat_proto::ipc::{self, DaemonClient};

fn daemon_cmd(dir: &Path) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_gochatd"));
    cmd.arg("--database")
        .arg(dir.join("data/gochatd.db"))
        .env("XDG_CONFIG_HOME", dir.join("config"))
        .env("XDG_DATA_HOME", dir.join("data"))
        .env("XDG_RUNTIME_DIR", dir.join("run"))
        .env_remove("GOCHAT_SOCKET")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    cmd
}

async fn wait_connect(socket: &Path) -> DaemonClient {
    crate::common::connect_when_up(socket, Duration::from_secs(10)).await
}

struct Reaper(Child);

impl Drop for Reaper {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn sigterm(child: &Child) {
    let _ = Command::new("kill")
        .arg("-TERM")
        .arg(child.id().to_string())
        .status();
}

fn wait_exit(child: &mut Child, within: Duration) -> Option<std::process::ExitStatus> {
    gochat_testkit::wait::wait_for_exit(child, within).ok()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn restart_keeps_data_and_changes_instance() {
    let dir = tempfile::tempdir().expect("tempdir");
    let socket: PathBuf = dir.path().join("sock/gochatd.sock");
    let mut first = Reaper(
        daemon_cmd(dir.path())
            .arg("--socket")
            .arg(&socket)
            .spawn()
            .expect("spawn"),
    );
    let mut client = wait_connect(&socket).await;
    client
        .add_server(ipc::ServerProfile {
            name: "home".into(),
            host: "127.0.0.1".into(),
            port: 9,
            ..Default::default()
        })
        .await
        .expect("add server");
    let before = client
        .status(ipc::Empty {})
        .await
        .expect("status")
        .into_inner();
    sigterm(&first.0);
    let status = wait_exit(&mut first.0, Duration::from_secs(10)).expect("exits on SIGTERM");
    assert!(status.success(), "clean exit: {status:?}");
    assert!(!socket.exists(), "socket removed on exit");

    // A stale socket file (nothing listening) does not stop the next start.
    std::os::unix::net::UnixListener::bind(&socket).expect("stale socket");
    let _second = Reaper(
        daemon_cmd(dir.path())
            .arg("--socket")
            .arg(&socket)
            .spawn()
            .expect("spawn"),
    );
    let mut client = wait_connect(&socket).await;
    let after = client
        .status(ipc::Empty {})
        .await
        .expect("status")
        .into_inner();
    assert_ne!(
        before.instance_id, after.instance_id,
        "a restart is detectable"
    );
    let servers = client
        .list_servers(ipc::Empty {})
        .await
        .expect("servers")
        .into_inner();
    assert_eq!(servers.servers.len(), 1, "profiles persist");

    // A second daemon for the same user refuses to start.
    let mut third = daemon_cmd(dir.path())
        .arg("--socket")
        .arg(&socket)
        .spawn()
        .expect("spawn");
    let status = wait_exit(&mut third, Duration::from_secs(10)).expect("second daemon exits");
    assert!(!status.success());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn socket_activation() {
    if !gochat_testkit::tools::require("systemd-socket-activate", "socket_activation") {
        return;
    }
    let dir = tempfile::tempdir().expect("tempdir");
    let socket = dir.path().join("run/gochat/gochatd.sock");
    std::fs::create_dir_all(socket.parent().expect("dir")).expect("mkdir");
    let mut cmd = Command::new("systemd-socket-activate");
    cmd.arg("-l")
        .arg(&socket)
        .arg(env!("CARGO_BIN_EXE_gochatd"))
        .arg("--socket")
        .arg(&socket)
        .arg("--database")
        .arg(dir.path().join("data/gochatd.db"))
        .env("XDG_RUNTIME_DIR", dir.path().join("run"))
        .env("XDG_DATA_HOME", dir.path().join("data"))
        .env("XDG_CONFIG_HOME", dir.path().join("config"))
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    let _activator = Reaper(cmd.spawn().expect("spawn systemd-socket-activate"));
    let mut client = wait_connect(&socket).await;
    let status = client
        .status(ipc::Empty {})
        .await
        .expect("status")
        .into_inner();
    assert!(status.pid > 0);
}
