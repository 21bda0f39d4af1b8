//! Other local users: a socket directory or a daemon that is not ours is refused, the
//! autostart log is never written through a link, and private files are never left
//! readable by others.

use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::support::{Home, TestServer, gochatd};

/// The uid standing in for another local user.
const OTHER_UID: u32 = 65534;

fn chmod(path: &Path, mode: u32) {
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).expect("chmod");
}

fn mode(path: &Path) -> u32 {
    std::fs::metadata(path).expect("stat").mode() & 0o7777
}

/// A home whose socket is `DIR/sock/gochatd.sock`, with no daemon.
fn home_with_socket_dir() -> (Home, PathBuf) {
    let mut home = Home::new();
    let dir = home.dir.path().join("sock");
    std::fs::create_dir(&dir).expect("mkdir");
    chmod(&dir, 0o700);
    home.socket = Some(dir.join("gochatd.sock"));
    (home, dir)
}

#[test]
fn a_socket_directory_open_to_others_is_refused() {
    let (home, dir) = home_with_socket_dir();
    chmod(&dir, 0o755);
    for args in [&["daemon", "status"][..], &["server", "list"][..]] {
        let run = home.cli(args);
        let err = run.fails(3);
        assert!(err.contains("open to other users"), "{args:?}: {err}");
        assert!(err.contains("mode 0755"), "{args:?}: {err}");
    }
    // Autostart did not start a daemon or create a log there.
    assert!(!dir.join("gochatd.log").exists());
    assert!(!dir.join("gochatd.sock").exists());
}

#[test]
fn a_socket_directory_of_another_user_is_refused() {
    if !gochat_testkit::tools::require_root(
        "to chown",
        "a_socket_directory_of_another_user_is_refused",
    ) {
        return;
    }
    let (home, dir) = home_with_socket_dir();
    std::os::unix::fs::chown(&dir, Some(OTHER_UID), Some(OTHER_UID)).expect("chown");
    let run = home.cli(&["server", "list"]);
    let err = run.fails(3);
    assert!(
        err.contains(&format!("belongs to uid {OTHER_UID}")),
        "{err}"
    );
    assert!(
        !dir.join("gochatd.log").exists(),
        "no log in their directory"
    );
}

/// Set when this test binary runs as the fake daemon of another user.
const FAKE_ENV: &str = "GOCHAT_TEST_FAKE_DAEMON_SOCKET";

/// Not a test: the body of the fake daemon, run (as another uid) by
/// `a_daemon_of_another_user_is_refused` through this same test binary.
#[test]
#[ignore = "a helper process, run by a_daemon_of_another_user_is_refused"]
fn fake_daemon_of_another_user() {
    let Some(path) = std::env::var_os(FAKE_ENV) else {
        return;
    };
    let listener = std::os::unix::net::UnixListener::bind(&path).expect("bind");
    let deadline = Instant::now() + Duration::from_secs(60);
    listener.set_nonblocking(true).expect("nonblocking");
    let mut held = Vec::new();
    while Instant::now() < deadline {
        match listener.accept() {
            // Keep the connection open: a refusal must come from the client's check.
            Ok((stream, _)) => held.push(stream),
            Err(_) => std::thread::sleep(Duration::from_millis(20)),
        }
    }
}

struct Reaped(Child);

impl Drop for Reaped {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[test]
fn a_daemon_of_another_user_is_refused() {
    if !gochat_testkit::tools::require_root(
        "to run a process as another uid",
        "a_daemon_of_another_user_is_refused",
    ) {
        return;
    }
    // Another user must reach the directory to bind in it; it is ours and private again
    // before the CLI looks.
    let base = tempfile::tempdir().expect("tempdir");
    chmod(base.path(), 0o755);
    let dir = base.path().join("sock");
    std::fs::create_dir(&dir).expect("mkdir");
    chmod(&dir, 0o777);
    let socket = dir.join("gochatd.sock");
    let exe = std::env::current_exe().expect("test binary");
    let child = Command::new("setpriv")
        .args([
            "--reuid",
            &OTHER_UID.to_string(),
            "--regid",
            &OTHER_UID.to_string(),
            "--clear-groups",
        ])
        .arg(&exe)
        .args([
            "--exact",
            "local::fake_daemon_of_another_user",
            "--ignored",
            "--nocapture",
        ])
        .env(FAKE_ENV, &socket)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .spawn()
        .expect("setpriv (util-linux) runs the fake daemon as another user");
    let _fake = Reaped(child);
    gochat_testkit::wait::wait_until_blocking(
        "the fake daemon to bind",
        Duration::from_secs(30),
        || socket.exists(),
    )
    .expect("the fake daemon binds");
    chmod(&dir, 0o700);
    assert_eq!(std::fs::metadata(&socket).expect("socket").uid(), OTHER_UID);

    let mut home = Home::new();
    home.socket = Some(socket.clone());
    for args in [&["daemon", "status"][..], &["server", "list"][..]] {
        let err = home.cli(args).fails(3).to_owned();
        assert!(
            err.contains(&format!("runs as uid {OTHER_UID}")),
            "{args:?}: {err}"
        );
    }
    // The Drop of home would ask that daemon to stop: it is not ours to talk to.
    home.socket = None;
}

#[test]
fn the_autostart_log_is_not_written_through_a_link() {
    gochatd();
    let (home, dir) = home_with_socket_dir();
    let victim = home.dir.path().join("victim");
    std::fs::write(&victim, "keep me\n").expect("write");
    std::os::unix::fs::symlink(&victim, dir.join("gochatd.log")).expect("symlink");
    let err = home.cli(&["server", "list"]).fails(3).to_owned();
    assert!(err.contains("symbolic link"), "{err}");
    assert_eq!(std::fs::read_to_string(&victim).expect("read"), "keep me\n");
    assert!(!dir.join("gochatd.sock").exists(), "no daemon was started");
}

#[test]
fn the_autostart_log_is_private() {
    gochatd();
    let (home, dir) = home_with_socket_dir();
    let log = dir.join("gochatd.log");
    std::fs::write(&log, "").expect("write");
    chmod(&log, 0o644);
    home.cli(&["server", "list"]).ok();
    assert_eq!(mode(&log), 0o600, "the log is narrowed to 0600");
}

#[test]
fn private_files_are_new_0600_files_and_replaced_only_with_force() {
    let server = TestServer::start();
    let home = Home::with_daemon();
    home.add_server(&server);
    home.register("carol");

    let key = home.dir.path().join("carol.pem");
    std::fs::write(&key, "old").expect("write");
    chmod(&key, 0o644);
    let path = key.to_str().expect("utf-8");
    let err = home.cli(&["key", "export", "-o", path]).fails(2).to_owned();
    assert!(
        err.contains("already exists") && err.contains("--force"),
        "{err}"
    );
    assert_eq!(std::fs::read_to_string(&key).expect("read"), "old");
    assert_eq!(mode(&key), 0o644);
    home.cli(&["key", "export", "-o", path, "--force"]).ok();
    assert_eq!(mode(&key), 0o600, "a fresh 0600 file, not the old mode");
    assert!(
        std::fs::read_to_string(&key)
            .expect("read")
            .contains("PRIVATE KEY")
    );

    let out = home.dir.path().join("backup");
    std::fs::create_dir(&out).expect("mkdir");
    let msgs = out.join("carol.msgs");
    std::fs::write(&msgs, "old").expect("write");
    chmod(&msgs, 0o644);
    let dir = out.to_str().expect("utf-8");
    let err = home
        .cli(&["account", "backup", "--dir", dir])
        .fails(2)
        .to_owned();
    assert!(err.contains("already exists"), "{err}");
    assert!(
        !out.join("carol.priv").exists(),
        "nothing written on refusal"
    );
    home.cli(&["account", "backup", "--dir", dir, "--force"])
        .ok();
    assert_eq!(mode(&msgs), 0o600);
    assert_eq!(mode(&out.join("carol.priv")), 0o600);
}
