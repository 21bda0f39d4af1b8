//! External tools and privileges a test needs. Without them a test may skip on a
//! developer's machine, but never in CI (`CI` set): there it fails, so a missing tool cannot
//! pass unnoticed. `.ci/run` installs tmux and systemd's tools.

#![allow(clippy::panic)]

use std::path::Path;

/// Whether `CI` is set.
pub fn in_ci() -> bool {
    std::env::var_os("CI").is_some()
}

/// Whether an executable called `tool` is on `PATH`.
pub fn on_path(tool: &str) -> bool {
    use std::os::unix::fs::PermissionsExt;
    let Some(path) = std::env::var_os("PATH") else {
        return false;
    };
    std::env::split_paths(&path).any(|dir| {
        let file = Path::new(&dir).join(tool);
        file.metadata()
            .is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
    })
}

/// `true` when `tool` is on `PATH`. Otherwise: in CI, panics (the test fails); elsewhere,
/// says on stderr that `test` is skipped and returns `false`.
#[track_caller]
pub fn require(tool: &str, test: &str) -> bool {
    if on_path(tool) {
        return true;
    }
    skip_or_fail(&format!("{tool} is missing; .ci/run must install it"), test)
}

/// `true` when this process runs as root. Otherwise as [`require`].
#[track_caller]
pub fn require_root(why: &str, test: &str) -> bool {
    if is_root() {
        return true;
    }
    skip_or_fail(&format!("this test needs root ({why}) in CI"), test)
}

#[track_caller]
fn skip_or_fail(reason: &str, test: &str) -> bool {
    assert!(!in_ci(), "{reason}");
    eprintln!("{reason}: skipping {test}");
    false
}

/// Whether this process runs as root (the owner of `/proc/self`).
pub fn is_root() -> bool {
    use std::os::unix::fs::MetadataExt;
    std::fs::metadata("/proc/self").is_ok_and(|m| m.uid() == 0)
}
