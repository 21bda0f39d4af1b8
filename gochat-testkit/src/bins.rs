//! Workspace binaries the package under test does not build: `cargo test -p gochat-cli`
//! builds `gochat-cli`, but not `gochatd` (a dev-dependency builds only its library).

#![allow(clippy::panic)]

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::{Mutex, OnceLock};

/// `gochatd`, next to `beside` (a binary of the package under test, from
/// `env!("CARGO_BIN_EXE_...")`), where the frontends' autostart looks first.
///
/// It runs `cargo build -p gochatd --bin gochatd` once per process into the same target
/// directory and profile (a no-op when fresh; `$CARGO` is the cargo running the tests).
/// `GOCHATD_BIN` names a prebuilt binary instead. When the build fails but a binary exists,
/// that one is used with a warning (an unrelated half-finished edit must not stop the tests).
pub fn gochatd(beside: &Path) -> PathBuf {
    static BIN: OnceLock<PathBuf> = OnceLock::new();
    static BUILD: Mutex<()> = Mutex::new(());
    BIN.get_or_init(|| {
        let _guard = BUILD
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if let Some(bin) = std::env::var_os("GOCHATD_BIN") {
            return PathBuf::from(bin);
        }
        build_beside(beside, "gochatd", "gochatd")
    })
    .clone()
}

/// Builds binary `bin` of `package` into the target directory and profile of `beside`.
fn build_beside(beside: &Path, package: &str, bin: &str) -> PathBuf {
    let Some(profile_dir) = beside.parent() else {
        panic!("{} has no directory", beside.display());
    };
    let path = profile_dir.join(bin);
    let Some(target_dir) = profile_dir.parent() else {
        panic!("{} is not in a target directory", profile_dir.display());
    };
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let mut build = Command::new(cargo);
    build
        .args([
            "build",
            "--quiet",
            "-p",
            package,
            "--bin",
            bin,
            "--target-dir",
        ])
        .arg(target_dir)
        .current_dir(env!("CARGO_MANIFEST_DIR"));
    match profile_dir.file_name().and_then(|n| n.to_str()) {
        Some("debug") | None => {}
        Some("release") => {
            build.arg("--release");
        }
        Some(other) => {
            build.args(["--profile", other]);
        }
    }
    match build.status() {
        Ok(s) if s.success() => {}
        _ if path.exists() => eprintln!(
            "warning: `cargo build -p {package}` failed; using the existing {}",
            path.display()
        ),
        other => panic!("cannot build {bin} ({other:?}); set GOCHATD_BIN"),
    }
    path
}
