//! Starting the daemon on demand, and `daemon status|start|stop`.

use crate::support::{Home, gochatd};

#[test]
fn autostart_then_status_and_stop() {
    gochatd(); // built next to gochat-cli, where autostart looks for it
    let home = Home::new();
    let socket = home.socket_path();

    let run = home.cli(&["--json", "server", "list"]);
    let listed = run.json();
    assert!(listed["servers"].as_array().expect("servers").is_empty());
    assert!(run.stderr.contains("started gochatd"), "{run}");
    assert!(
        socket.exists(),
        "the daemon listens on the default socket {}",
        socket.display()
    );

    let status = home.cli(&["--json", "daemon", "status"]).json();
    assert_eq!(status["running"], true);
    assert_eq!(status["protocol_version"], 1);
    let pid = status["pid"].as_u64().expect("pid");
    assert!(std::path::Path::new(&format!("/proc/{pid}")).exists());

    // A second command reuses it.
    let run = home.cli(&["server", "list"]);
    run.ok();
    assert!(!run.stderr.contains("started"), "{run}");
    let again = home.cli(&["--json", "daemon", "start"]).json();
    assert_eq!(again["started"], false);
    assert_eq!(again["pid"], pid);

    home.cli(&["daemon", "stop"]).ok();
    home.cli(&["daemon", "status"]).fails(3);
    assert!(
        !std::path::Path::new(&format!("/proc/{pid}/cmdline")).exists() || {
            let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
            stat.contains(") Z")
        }
    );
    let stopped = home.cli(&["--json", "daemon", "stop"]).json();
    assert_eq!(stopped["stopped"], false, "stopping twice is fine");

    // `daemon start` with an explicit socket passes it on.
    let custom = home.dir.path().join("elsewhere").join("d.sock");
    let custom_arg = custom.to_str().expect("utf-8");
    let started = home
        .cli(&["--json", "--socket", custom_arg, "daemon", "start"])
        .json();
    assert_eq!(started["started"], true);
    assert!(custom.exists());
    home.cli(&["--socket", custom_arg, "daemon", "stop"]).ok();
}

#[test]
fn version_works_without_a_daemon() {
    let home = Home::new();
    let version = home.cli(&["--json", "version"]).json();
    // The CLI does not speak the wire protocol: only the daemon knows its version.
    assert!(version["protocol_version"].is_null());
    assert!(version["daemon_version"].is_null());
    assert!(
        !home.socket_path().exists(),
        "version does not start the daemon"
    );
}

#[test]
fn version_takes_the_protocol_version_from_the_daemon() {
    let home = Home::with_daemon();
    let version = home.cli(&["--json", "version"]).json();
    assert_eq!(version["protocol_version"], 1);
    assert_eq!(version["daemon_version"], env!("CARGO_PKG_VERSION"));
    let text = home.cli(&["version"]);
    assert!(text.ok().contains("gochat protocol version 1"), "{text}");
}
