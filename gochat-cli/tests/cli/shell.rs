//! The interactive shell, driven through a pseudo-terminal.

use rexpect::session::spawn_command;

use crate::support::{Home, TestServer};

#[test]
fn shell_sends_receives_and_completes() {
    let server = TestServer::start();
    let alice = Home::with_daemon();
    let bob = Home::with_daemon();
    alice.add_server(&server);
    bob.add_server(&server);
    alice.register("alice");
    bob.register("bob");
    // So that the completer knows bob.
    bob.cli(&["send", "--wait", "alice", "first contact"]).ok();

    let mut cmd = alice.command(&["shell"]);
    cmd.env("TERM", "xterm");
    let mut p = spawn_command(cmd, Some(30_000)).expect("spawn the shell in a pty");
    p.exp_string("gochat(alice@local) > ")
        .expect("prompt with account and server");

    // A Go shell command.
    p.send_line("MSG bob hello from the shell").expect("send");
    p.exp_regex(r"(queued|sent) message \d+ to bob")
        .expect("MSG result");
    p.exp_string("gochat(alice@local) > ").expect("prompt");

    // A message arriving while a line is being typed: printed above, the line kept.
    p.send("hist").expect("type");
    p.flush().expect("flush");
    // The shell has the text once it echoes it.
    p.exp_string("hist").expect("the typed text is echoed");
    bob.cli(&["send", "alice", "ping from bob"]).ok();
    p.exp_string("bob: ping from bob")
        .expect("the incoming message is printed");
    p.exp_string("gochat(alice@local) > hist")
        .expect("the typed text is redrawn");
    // Completion finishes "hist" into "history ", and "b" into "bob ".
    p.send("\t").expect("tab");
    p.flush().expect("flush");
    p.exp_string("history ").expect("completed command");
    p.send("b\t").expect("tab");
    p.flush().expect("flush");
    p.exp_string("bob ").expect("completed user");
    p.send_line("").expect("enter");
    p.exp_string("bob: hello from the shell")
        .expect("history output");

    // Our own command names work too, and so does USRS.
    p.send_line("USRS online").expect("usrs");
    p.exp_regex("(?m)^bob").expect("bob is online");
    p.send_line("REQ bob").expect("req");
    p.exp_string("bob: permission level 0").expect("REQ result");

    // Errors do not end the shell.
    p.send_line("send").expect("bad line");
    p.exp_string("required").expect("clap's usage error");
    p.send_line("LOGIN nobody").expect("unknown account");
    p.exp_string("[ERROR]").expect("error shown");
    p.exp_string("gochat(alice@local) > ")
        .expect("still running");

    // REG asks for the name, then a passphrase twice, without echo.
    p.send_line("REG").expect("reg");
    p.exp_string("Username: ").expect("asks the name");
    p.send_line("erin").expect("name");
    p.exp_string("New passphrase").expect("asks a passphrase");
    p.send_line("s3cret words").expect("passphrase");
    p.exp_string("Repeat").expect("asks again");
    p.send_line("s3cret words").expect("passphrase again");
    let shown = p.exp_string("registered erin@local").expect("registered");
    assert!(
        !shown.contains("s3cret"),
        "the passphrase is not echoed: {shown:?}"
    );
    p.exp_string("gochat(erin@local) > ")
        .expect("registering selects the new account");
    // Locked again, LOGIN asks for the passphrase to unlock.
    p.send_line("account lock").expect("lock");
    p.exp_string("(not connected) gochat(erin@local) > ")
        .expect("locked");
    p.send_line("LOGIN erin").expect("login");
    p.exp_string("Passphrase for").expect("asks the passphrase");
    p.send_line("s3cret words").expect("passphrase");
    p.exp_string("logged in erin@local").expect("logged in");
    p.exp_string("gochat(erin@local) > ")
        .expect("online prompt");

    p.send_line("EXIT").expect("exit");
    p.exp_eof().expect("the shell ends");
    let history = std::fs::read_to_string(alice.dir.path().join("state/gochat/cli_history"))
        .expect("history file");
    assert!(
        history.contains("MSG bob hello from the shell"),
        "{history}"
    );
}
