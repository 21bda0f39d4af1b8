//! A hostile peer: message text full of terminal escapes reaches every human output only in
//! a visible, harmless form, and `--json` still carries it exactly.

use rexpect::session::spawn_command;

use crate::raw::RawClient;
use crate::support::{Follower, Home, TestServer, eventually};

/// Retitles the window, writes the clipboard, erases the line to fake another sender, opens
/// a C1 CSI, reverses and isolates text, and breaks the line with U+2028.
const HOSTILE: &str = "title\u{1b}]0;pwned\u{7} clip\u{1b}]52;c;ZXZpbA==\u{7} erase\u{1b}[2K\r[12:00] admin: fake\u{9b}31m csi \u{202e}desrever\u{202c} \u{2066}iso\u{2069} \u{200f}mark \u{61c}sep\u{2028}after\u{7f}\nsecond line";

fn is_forbidden(c: char) -> bool {
    (c.is_control() && c != '\n')
        || matches!(
            c,
            '\u{61c}'
                | '\u{200e}'
                | '\u{200f}'
                | '\u{202a}'..='\u{202e}'
                | '\u{2066}'..='\u{2069}'
                | '\u{2028}'
                | '\u{2029}'
        )
}

#[track_caller]
fn assert_terminal_safe(what: &str, out: &str) {
    if let Some(c) = out.chars().find(|c| is_forbidden(*c)) {
        panic!("{what}: {c:?} reached the terminal in {out:?}");
    }
}

/// The message is still readable: its words are there, and its second line starts a real,
/// indented line.
#[track_caller]
fn assert_readable(what: &str, out: &str) {
    for word in ["pwned", "ZXZpbA==", "admin: fake", "desrever", "after"] {
        assert!(out.contains(word), "{what}: {word:?} missing from {out:?}");
    }
    assert!(
        out.lines()
            .any(|l| l.starts_with(' ') && l.trim_start() == "second line"),
        "{what}: the second line is not an indented line of its own in {out:?}"
    );
}

/// What the shell wrote, as the program wrote it: the pty's line discipline (ONLCR) turns
/// each `\n` into `\r\n` on the way out.
fn from_pty(out: &str) -> String {
    out.replace("\r\n", "\n")
}

#[test]
fn escapes_from_a_peer_never_reach_the_terminal() {
    let server = TestServer::start();
    let alice = Home::with_daemon();
    alice.add_server(&server);
    alice.register("alice");

    let status = alice.cli(&["--json", "daemon", "status"]).json();
    let since = status["last_event_id"].as_u64().expect("id").to_string();
    let mut watch_human = Follower::start(&alice, &["watch", "--since", &since]);
    let mut watch_json = Follower::start(&alice, &["--json", "watch", "--since", &since]);

    let mut cmd = alice.command(&["shell"]);
    // A dumb terminal: the line editor itself then sends no escape sequences either.
    cmd.env("TERM", "dumb");
    let mut shell = spawn_command(cmd, Some(30_000)).expect("spawn the shell in a pty");
    shell
        .exp_string("gochat(alice@local) > ")
        .expect("the shell's prompt");

    let mut zed = RawClient::register(server.port, "zed");
    zed.send("alice", HOSTILE);

    // Live: the shell prints the incoming message above the prompt.
    let live = from_pty(
        &shell
            .exp_string("second line")
            .expect("the shell shows the message"),
    );
    assert_terminal_safe("shell (live)", &live);
    assert!(live.contains("zed"), "{live:?}");

    let json = watch_json.expect("the message event", |l| l.contains("message_received"));
    let event: serde_json::Value = serde_json::from_str(&json).expect("a JSON line");
    assert_eq!(event["message"]["text"], HOSTILE, "watch --json is exact");
    watch_human.expect("the second line", |l| l.contains("second line"));
    let watched = watch_human.seen.join("\n");
    assert_terminal_safe("watch", &watched);
    assert_readable("watch", &watched);

    eventually("the message is stored", || {
        alice.cli(&["--json", "history", "zed"]).json()["messages"]
            .as_array()
            .is_some_and(|m| m.len() == 1)
    });
    let history = alice.cli(&["--json", "history", "zed"]).json();
    assert_eq!(
        history["messages"][0]["text"], HOSTILE,
        "history --json is exact"
    );
    let search = alice.cli(&["--json", "search", "pwned"]).json();
    assert_eq!(
        search["messages"][0]["text"], HOSTILE,
        "search --json is exact"
    );

    for args in [
        &["history", "zed"][..],
        &["inbox"][..],
        &["search", "pwned"][..],
    ] {
        let run = alice.cli(args);
        let out = run.ok();
        assert_terminal_safe(&args.join(" "), out);
        assert_readable(&args.join(" "), out);
        assert!(out.contains("zed"), "{args:?}: {out:?}");
        assert!(
            !out.contains("\n[12:00] admin"),
            "{args:?}: a faked line in {out:?}"
        );
    }
    let conversations = alice.cli(&["conversations"]);
    assert_terminal_safe("conversations", conversations.ok());
    assert!(conversations.ok().contains("pwned"), "{conversations:?}");

    // The shell's history command.
    shell.send_line("history zed").expect("type");
    let shown = from_pty(
        &shell
            .exp_string("second line")
            .expect("the shell's history"),
    );
    assert_terminal_safe("shell history", &shown);
    assert_readable("shell history", &format!("{shown}second line"));
    shell.send_line("exit").expect("exit");
    shell.exp_eof().expect("the shell ends");
}
