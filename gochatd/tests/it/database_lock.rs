//! One daemon per database: two real `gochatd` processes on one database, with different
//! sockets.

use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

fn daemon(dir: &Path, socket: &Path) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_gochatd"));
    cmd.arg("--database")
        .arg(dir.join("data/gochatd.db"))
        .arg("--socket")
        .arg(socket)
        .env("XDG_CONFIG_HOME", dir.join("config"))
        .env("XDG_DATA_HOME", dir.join("data"))
        .env("XDG_RUNTIME_DIR", dir.join("run"))
        .env_remove("GOCHAT_SOCKET")
        .env_remove("GOCHAT_DATABASE")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped());
    cmd
}

struct Reaper(Child);

impl Drop for Reaper {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

async fn wait_answering(socket: &Path) {
    crate::common::connect_when_up(socket, Duration::from_secs(20)).await;
}

/// Runs a daemon that must fail at start and returns its stderr.
fn refused(cmd: &mut Command) -> String {
    let output = cmd.output().expect("run gochatd");
    assert!(!output.status.success(), "the second daemon started");
    String::from_utf8_lossy(&output.stderr).into_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_second_daemon_on_the_same_database_names_the_first() {
    let dir = tempfile::tempdir().expect("tempdir");
    let first_socket = dir.path().join("one/gochatd.sock");
    let second_socket = dir.path().join("two/gochatd.sock");
    let mut first = Reaper(daemon(dir.path(), &first_socket).spawn().expect("spawn"));
    wait_answering(&first_socket).await;

    let lock = dir.path().join("data/gochatd.db.lock");
    let mode = std::fs::metadata(&lock)
        .expect("lock file")
        .permissions()
        .mode();
    assert_eq!(mode & 0o777, 0o600);

    let stderr = refused(&mut daemon(dir.path(), &second_socket));
    assert!(
        stderr.contains(&first_socket.display().to_string()),
        "names the first socket: {stderr}"
    );
    assert!(
        stderr.contains(&format!("pid {}", first.0.id())),
        "names the first pid: {stderr}"
    );
    assert!(
        !second_socket.exists(),
        "the refused daemon created no socket"
    );
    // The first one is untouched.
    wait_answering(&first_socket).await;

    // Once the first exits (even by SIGKILL), the database is free again.
    first.0.kill().expect("kill");
    first.0.wait().expect("reap");
    let _second = Reaper(daemon(dir.path(), &second_socket).spawn().expect("spawn"));
    wait_answering(&second_socket).await;
}
