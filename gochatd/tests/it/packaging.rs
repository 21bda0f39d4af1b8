//! The systemd user units pass `systemd-analyze verify` (where systemd-analyze exists), with
//! `ExecStart` pointed at the freshly built daemon. They run the packaged binary
//! (/usr/bin/gochatd); packaging/deb/test.sh verifies them as installed, man page included.

use std::process::Command;

#[test]
fn user_units_verify() {
    if !gochat_testkit::tools::require("systemd-analyze", "user_units_verify") {
        return;
    }
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../packaging/systemd/user");
    let dir = tempfile::tempdir().expect("tempdir");
    let runtime = dir.path().join("runtime");
    std::fs::create_dir(&runtime).expect("runtime dir");
    for unit in ["gochatd.service", "gochatd.socket"] {
        let text = std::fs::read_to_string(root.join(unit)).expect("unit file");
        if unit == "gochatd.service" {
            assert!(
                text.contains("\nExecStart=/usr/bin/gochatd\n"),
                "the user unit runs the packaged binary"
            );
        }
        let text = text.replace(
            "\nExecStart=/usr/bin/gochatd\n",
            &format!("\nExecStart={}\n", env!("CARGO_BIN_EXE_gochatd")),
        );
        std::fs::write(dir.path().join(unit), text).expect("write unit");
    }
    let out = Command::new("systemd-analyze")
        // The man page named in Documentation= is not installed in a source tree.
        .args(["--user", "verify", "--man=no"])
        .arg(dir.path().join("gochatd.socket"))
        .arg(dir.path().join("gochatd.service"))
        .env("XDG_RUNTIME_DIR", &runtime)
        .output()
        .expect("run systemd-analyze");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success(),
        "systemd-analyze verify failed:\n{stderr}"
    );
}
