//! Exit codes and diagnostics of the main failure cases.

use std::process::Stdio;

use crate::support::{Home, TestServer};

#[test]
fn no_daemon_with_no_autostart_is_exit_3() {
    let home = Home::new();
    let run = home.cli(&["--no-autostart", "server", "list"]);
    let stderr = run.fails(3);
    assert!(
        stderr.contains("gochat-cli daemon start"),
        "says what to do: {run}"
    );
    assert!(run.stdout.is_empty());
    // The environment variable does the same.
    let mut cmd = home.command(&["users"]);
    cmd.env("GOCHAT_NO_AUTOSTART", "1");
    assert_eq!(cmd.output().expect("run").status.code(), Some(3));
    // Status never starts a daemon.
    home.cli(&["daemon", "status"]).fails(3);
    assert!(!home.socket_path().exists(), "nothing was started");
}

#[test]
fn unknown_names_offline_and_usage_errors() {
    let server = TestServer::start();
    let home = Home::with_daemon();

    // Before anything exists.
    let run = home.cli(&["users"]);
    assert!(
        run.fails(4).contains("server add"),
        "says what to do: {run}"
    );

    home.add_server(&server);
    home.cli(&["--server", "nope", "users"]).fails(4);
    home.cli(&["--account", "ghost", "users"]).fails(4);
    home.cli(&["--account", "ghost", "send", "bob", "hi"])
        .fails(4);
    home.cli(&["server", "show", "nope"]).fails(4);

    home.register("dave");
    // The same name again: the server refuses.
    let run = home.cli(&["account", "register", "dave", "--no-passphrase"]);
    assert_ne!(run.code, 0, "{run}");

    // Offline: logged out.
    home.cli(&["account", "logout"]).ok();
    home.cli(&["users"]).fails(7);
    let run = home.cli(&["send", "--wait", "erin", "hello"]);
    assert!(run.fails(7).contains("log in"), "{run}");
    // Without --wait the message is queued for later.
    let queued = home.cli(&["--json", "send", "erin", "later"]).json();
    assert_eq!(queued["messages"][0]["state"], "queued");

    // Back online: the recipient does not exist.
    home.cli(&["account", "login"]).ok();
    let run = home.cli(&["--json", "send", "--wait", "nobody", "hello"]);
    assert!(run.fails(4).contains("no user called nobody"), "{run}");
    let sent: serde_json::Value = serde_json::from_str(run.stdout.trim()).expect("JSON");
    assert_eq!(sent["messages"][0]["state"], "failed", "{run}");
    assert_eq!(sent["messages"][0]["failure_reason"], "not_found", "{run}");

    // Usage errors are exit 2.
    assert_eq!(home.cli(&["send"]).code, 2);
    assert_eq!(home.cli(&["history", "x", "--limit", "many"]).code, 2);
    assert_eq!(home.cli(&["no-such-command"]).code, 2);
    let run = home.cli_stdin(&["send", "bob", "-"], Some(""));
    assert!(run.fails(2).contains("empty"), "{run}");
    // Destructive operations refuse without a terminal unless --yes.
    let run = home.cli(&["account", "deregister"]);
    assert!(run.fails(2).contains("--yes"), "{run}");
}

#[test]
fn a_closed_stdout_is_not_an_error() {
    let home = Home::new();
    // Close the reading end before the CLI writes: the write fails with EPIPE.
    let mut cmd = home.command(&["completions", "bash"]);
    cmd.stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .stdin(Stdio::null());
    let mut child = cmd.spawn().expect("spawn");
    drop(child.stdout.take());
    let out = child.wait_with_output().expect("wait");
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        out.stderr.is_empty(),
        "no diagnostic: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn completions_and_man_pages() {
    let home = Home::new();
    for shell in ["bash", "zsh", "fish"] {
        let script = home.cli(&["completions", shell]).ok().to_owned();
        assert!(script.contains("gochat-cli"), "{shell}");
        assert!(script.contains("history"), "{shell} completes subcommands");
    }
    assert!(
        home.cli(&["completions", "bash"])
            .ok()
            .contains("complete -F _gochat__cli")
    );

    // The bash script really completes, also below the first subcommand.
    let script = home.dir.path().join("gochat-cli.bash");
    std::fs::write(&script, home.cli(&["completions", "bash"]).ok()).expect("write script");
    let probe = r#"source "$1"
c() { COMP_WORDS=("$@"); COMP_CWORD=$(($# - 1)); _gochat__cli gochat-cli "${COMP_WORDS[-1]}" "${COMP_WORDS[-2]}"; echo "${COMPREPLY[*]}"; }
c gochat-cli hi
c gochat-cli server a
c gochat-cli hooks sub new_logo
c gochat-cli send --wa"#;
    let out = std::process::Command::new("bash")
        .args(["-c", probe, "bash"])
        .arg(&script)
        .output()
        .expect("bash");
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        "history\nadd\nnew_logout\n--wait\n",
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );

    // fish, where installed.
    if std::process::Command::new("fish")
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success())
    {
        let script = home.dir.path().join("gochat-cli.fish");
        std::fs::write(&script, home.cli(&["completions", "fish"]).ok()).expect("write script");
        let probe = format!(
            "source {}; complete -C 'gochat-cli server a'",
            script.display()
        );
        let out = std::process::Command::new("fish")
            .args(["-c", &probe])
            .output()
            .expect("fish");
        assert!(
            String::from_utf8_lossy(&out.stdout).starts_with("add"),
            "{out:?}"
        );
    }
    let page = home.cli(&["man"]).ok().to_owned();
    assert!(
        page.starts_with(".ie") || page.contains(".TH gochat-cli"),
        "{page}"
    );
    let dir = home.dir.path().join("man");
    home.cli(&["man", dir.to_str().expect("utf-8")]).ok();
    assert!(dir.join("gochat-cli.1").exists());
    assert!(dir.join("gochat-cli-send.1").exists());
    let help = home.cli(&["--help"]).ok().to_owned();
    assert!(help.contains("Exit codes"), "{help}");
}

/// The exit codes come from the reason gochatd puts in its error details; the message is
/// the daemon's, saying what to do.
#[test]
fn locked_not_found_and_ambiguous_accounts() {
    let server = TestServer::start();
    let other = TestServer::start();
    let home = Home::with_daemon();
    home.add_server(&server);
    let pass = home.dir.path().join("pass");
    std::fs::write(&pass, "correct horse\n").expect("passphrase file");
    let pass = pass.to_str().expect("utf-8");
    home.cli(&["--passphrase-file", pass, "account", "register", "alice"])
        .ok();

    // Locked: exporting the key needs it in memory (exit 5).
    home.cli(&["account", "lock"]).ok();
    let backup = home.dir.path().join("backup");
    let run = home.cli(&[
        "account",
        "backup",
        "--dir",
        backup.to_str().expect("utf-8"),
    ]);
    assert!(run.fails(5).contains("locked"), "{run}");
    // A login on a locked key unlocks it first, with the passphrase from the file.
    let online = home
        .cli(&["--json", "--passphrase-file", pass, "account", "login"])
        .json();
    assert_eq!(online["state"], "online", "{online}");

    // Not found (exit 4), with the daemon's words.
    let run = home.cli(&["--account", "ghost", "users"]);
    assert!(
        run.fails(4).contains("no account called \"ghost\""),
        "{run}"
    );
    let run = home.cli(&["--server", "nope", "account", "login"]);
    assert!(run.fails(4).contains("no server profile called"), "{run}");

    // Ambiguous (exit 2): two accounts on the default server…
    home.register("bob");
    let run = home.cli(&["users"]);
    assert!(run.fails(2).contains("several accounts"), "{run}");
    // …and one name on two servers.
    let port = other.port.to_string();
    home.cli(&["server", "add", "other", "127.0.0.1", "--port", &port])
        .ok();
    home.cli(&[
        "--server",
        "other",
        "account",
        "register",
        "alice",
        "--no-passphrase",
    ])
    .ok();
    let run = home.cli(&["--account", "alice", "users"]);
    assert!(run.fails(2).contains("several servers"), "{run}");
    // The shell's prompt and `send --wait` resolve through the daemon too.
    let run = home.cli(&["--account", "alice", "send", "--wait", "bob", "hi"]);
    assert!(run.fails(2).contains("several servers"), "{run}");
}
