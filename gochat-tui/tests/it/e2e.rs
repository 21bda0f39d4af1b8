//! End to end: the real `gochat-tui` binary in tmux, against a real gochat-server (in this
//! process, SQLite in a temporary directory) and real `gochatd` processes.
//!
//! Bob's daemon is started by the test and set up through the daemon API. Alice's is not
//! started at all: her TUI must start it by itself, and she sets everything up by typing, as
//! a new user would (`/server add`, `/register`, `/msg`). Then they chat; then her daemon
//! stops and the TUI must say so, keep the screen, start it again and reattach.

use std::os::unix::fs::DirBuilderExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use gochat_testkit::wait::{wait_until, wait_until_some, wait_until_some_blocking};

use gochat_proto::ipc::{
    self, AccountRef, DaemonClient, Empty, HistoryRequest, RegisterRequest, SendRequest,
    ServerProfile,
};

/// The gochatd binary next to gochat-tui, built if needed (`cargo test -p gochat-tui` does not
/// build other packages' binaries).
fn gochatd_binary() -> PathBuf {
    gochat_testkit::bins::gochatd(Path::new(env!("CARGO_BIN_EXE_gochat-tui")))
}

/// Whether tmux is there; in CI its absence fails the test.
fn have_tmux(test: &str) -> bool {
    gochat_testkit::tools::require("tmux", test)
}

/// A private tmux server with one window running a command.
struct Tmux {
    socket: PathBuf,
}

impl Tmux {
    fn start(socket: PathBuf, width: u16, height: u16, command: &str) -> Tmux {
        let status = Command::new("tmux")
            .arg("-S")
            .arg(&socket)
            .args(["-f", "/dev/null", "new-session", "-d", "-s", "e2e", "-x"])
            .arg(width.to_string())
            .arg("-y")
            .arg(height.to_string())
            .arg(command)
            .status()
            .expect("tmux new-session");
        assert!(status.success(), "tmux new-session failed");
        Tmux { socket }
    }

    fn tmux(&self, args: &[&str]) -> String {
        let out = Command::new("tmux")
            .arg("-S")
            .arg(&self.socket)
            .args(args)
            .output()
            .expect("tmux");
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    fn keys(&self, keys: &[&str]) {
        let mut args = vec!["send-keys", "-t", "e2e"];
        args.extend_from_slice(keys);
        self.tmux(&args);
    }

    fn type_text(&self, text: &str) {
        self.tmux(&["send-keys", "-t", "e2e", "-l", text]);
    }

    fn screen(&self) -> String {
        self.tmux(&["capture-pane", "-p", "-t", "e2e"])
    }

    /// Waits until the screen shows `needle`; returns the screen.
    fn wait_for(&self, needle: &str, timeout: Duration) -> String {
        let found = wait_until_some_blocking(&format!("{needle:?}"), timeout, || {
            let screen = self.screen();
            screen.contains(needle).then_some(screen)
        });
        found.unwrap_or_else(|e| panic!("{e}; the screen shows:\n{}", self.screen()))
    }
}

impl Drop for Tmux {
    fn drop(&mut self) {
        let _ = Command::new("tmux")
            .arg("-S")
            .arg(&self.socket)
            .arg("kill-server")
            .status();
    }
}

/// A process killed when the test ends, however it ends.
struct Process(Child);

impl Drop for Process {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// A daemon the TUI started: stopped through its pid when the test ends.
struct Pid(Option<u32>);

impl Drop for Pid {
    fn drop(&mut self) {
        if let Some(pid) = self.0 {
            let _ = Command::new("kill")
                .arg(pid.to_string())
                .stderr(Stdio::null())
                .status();
        }
    }
}

/// Per-user directories, so each daemon has its own socket, store and XDG dirs.
struct Home {
    root: PathBuf,
}

impl Home {
    fn new(root: &Path, name: &str) -> Home {
        let root = root.join(name);
        for d in ["run", "data", "config", "state", "home"] {
            // Private, as XDG_RUNTIME_DIR must be: the TUI refuses a socket directory open
            // to other users.
            std::fs::DirBuilder::new()
                .recursive(true)
                .mode(0o700)
                .create(root.join(d))
                .expect("mkdir");
        }
        Home { root }
    }

    fn socket(&self) -> PathBuf {
        self.root.join("run/gochatd.sock")
    }

    fn env(&self) -> Vec<(String, String)> {
        let p = |d: &str| self.root.join(d).display().to_string();
        vec![
            ("HOME".into(), p("home")),
            ("XDG_RUNTIME_DIR".into(), p("run")),
            ("XDG_DATA_HOME".into(), p("data")),
            ("XDG_CONFIG_HOME".into(), p("config")),
            ("XDG_STATE_HOME".into(), p("state")),
            ("GOCHAT_SOCKET".into(), self.socket().display().to_string()),
        ]
    }
}

async fn connect_when_up(socket: &Path, timeout: Duration) -> DaemonClient {
    let what = format!("a daemon to answer at {}", socket.display());
    wait_until_some(&what, timeout, async || {
        let mut c = ipc::connect(socket).await.ok()?;
        c.status(Empty {}).await.ok()?;
        Some(c)
    })
    .await
    .unwrap_or_else(|e| panic!("{e}"))
}

async fn wait_for_message(client: &mut DaemonClient, account: &AccountRef, peer: &str, text: &str) {
    let what = format!("{text:?} from {peer}");
    wait_until(&what, Duration::from_secs(60), async || {
        let history = client
            .history(HistoryRequest {
                account: Some(account.clone()),
                peer: peer.into(),
                limit: 20,
                before: 0,
            })
            .await
            .expect("history")
            .into_inner();
        history
            .messages
            .iter()
            .any(|m| m.text == text && !m.outgoing)
    })
    .await
    .unwrap_or_else(|e| panic!("{e}"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_new_user_chats_through_the_tui() {
    if !have_tmux("a_new_user_chats_through_the_tui") {
        return;
    }
    let gochatd = gochatd_binary();
    let dir = tempfile::tempdir().expect("tempdir");

    // The server.
    let server = gochat_testkit::TestServer::start(
        gochat_testkit::ServerOptions {
            motd: "e2e".into(),
            ..Default::default()
        },
        |_| {},
    )
    .await;
    let port = server.addr().port();

    // Bob: a daemon started here, set up through its API.
    let bob_home = Home::new(dir.path(), "bob");
    let bob_log = std::fs::File::create(dir.path().join("bob-gochatd.log")).expect("log");
    let _bob_daemon = Process(
        Command::new(&gochatd)
            .arg("--socket")
            .arg(bob_home.socket())
            .arg("--database")
            .arg(bob_home.root.join("data/gochatd.db"))
            .envs(bob_home.env())
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(bob_log)
            .spawn()
            .expect("start bob's gochatd"),
    );
    let mut bob = connect_when_up(&bob_home.socket(), Duration::from_secs(30)).await;
    bob.add_server(ServerProfile {
        name: "local".into(),
        host: "127.0.0.1".into(),
        port: u32::from(port),
        ..Default::default()
    })
    .await
    .expect("bob adds the server");
    let bob_ref = AccountRef {
        server: "local".into(),
        username: "bob".into(),
    };
    let registered = bob
        .register(RegisterRequest {
            account: Some(bob_ref.clone()),
            passphrase: String::new(),
        })
        .await
        .expect("bob registers")
        .into_inner();
    assert_eq!(
        registered.state,
        ipc::LinkState::Online as i32,
        "bob is online"
    );

    // Alice: only the TUI, in tmux. No daemon runs for her socket yet.
    let alice_home = Home::new(dir.path(), "alice");
    assert!(!alice_home.socket().exists());
    let env: Vec<String> = alice_home
        .env()
        .into_iter()
        .map(|(k, v)| format!("{k}='{v}'"))
        .collect();
    let command = format!(
        "env {} TERM=xterm-256color '{}'; echo \"gochat-tui exited with $?\"; sleep 600",
        env.join(" "),
        env!("CARGO_BIN_EXE_gochat-tui"),
    );
    let tmux = Tmux::start(dir.path().join("tmux.sock"), 100, 30, &command);
    let long = Duration::from_secs(120);
    tmux.wait_for("to begin, F1 for help", Duration::from_secs(60));
    // It started its own daemon.
    let mut alice = connect_when_up(&alice_home.socket(), Duration::from_secs(5)).await;
    let alice_pid = alice
        .status(Empty {})
        .await
        .expect("status")
        .into_inner()
        .pid;
    let _alice_daemon = Pid(Some(alice_pid));

    // Set up by typing, as a new user would.
    tmux.type_text(&format!("/server add local 127.0.0.1 {port}"));
    tmux.keys(&["Enter"]);
    tmux.wait_for("local (no account)", long);
    tmux.type_text("/register alice");
    tmux.keys(&["Enter"]);
    tmux.wait_for("Choose a passphrase", long);
    tmux.type_text("xyz");
    let masked = tmux.wait_for("> ***", long);
    assert!(
        !masked.contains("xyz"),
        "the passphrase is masked:\n{masked}"
    );
    // An empty passphrase keeps the key unencrypted (quick to unlock in a debug build).
    tmux.keys(&["BSpace", "BSpace", "BSpace", "Enter"]);
    tmux.wait_for("Type the passphrase again", long);
    tmux.keys(&["Enter"]);
    tmux.wait_for("registered alice@local", long);
    tmux.wait_for("● online │ alice@local", long);

    tmux.type_text("/msg bob");
    tmux.keys(&["Enter"]);
    tmux.wait_for("Message bob", long);
    tmux.type_text("hello bob, it's alice");
    tmux.keys(&["Enter"]);
    tmux.wait_for("hello bob, it's alice ✓", long);
    wait_for_message(&mut bob, &bob_ref, "alice", "hello bob, it's alice").await;

    // Bob answers through his daemon; it shows up live.
    bob.send(SendRequest {
        account: Some(bob_ref.clone()),
        to: "alice".into(),
        text: "hi alice! got your message".into(),
        wait: true,
    })
    .await
    .expect("bob sends");
    let screen = tmux.wait_for("hi alice! got your message", long);
    assert!(screen.contains("bob"), "{screen}");
    // Bob is in the online list.
    let screen = tmux.wait_for("Online (2)", long);
    println!("--- main view (tmux capture-pane, 100x30) ---\n{screen}");
    if let Ok(dir) = std::env::var("GOCHAT_TUI_E2E_CAPTURE") {
        let _ = std::fs::write(Path::new(&dir).join("e2e-main-view.txt"), &screen);
    }
    // The conversation was seen: the read marker moved.
    let convs = alice
        .conversations(AccountRef {
            server: "local".into(),
            username: "alice".into(),
        })
        .await
        .expect("conversations")
        .into_inner();
    let unread = |convs: &ipc::ConversationList| {
        convs
            .conversations
            .iter()
            .find(|c| c.peer == "bob")
            .map_or(1, |c| c.unread)
    };
    if unread(&convs) > 0 {
        wait_until(
            "the conversation to be read",
            Duration::from_secs(10),
            async || {
                let convs = alice
                    .conversations(AccountRef {
                        server: "local".into(),
                        username: "alice".into(),
                    })
                    .await
                    .expect("conversations")
                    .into_inner();
                unread(&convs) == 0
            },
        )
        .await
        .expect("viewing the conversation marks it read");
    }

    // Alice's daemon stops: the TUI says so, keeps the screen, starts it again, reattaches.
    alice.stop(Empty {}).await.expect("stop alice's daemon");
    let screen = tmux.wait_for("gochatd is not reachable", long);
    assert!(
        screen.contains("hi alice! got your message"),
        "the screen is kept:\n{screen}"
    );
    tmux.wait_for("reattached to gochatd", long);
    let mut alice = connect_when_up(&alice_home.socket(), Duration::from_secs(10)).await;
    let restarted = alice
        .status(Empty {})
        .await
        .expect("status")
        .into_inner()
        .pid;
    let _restarted = Pid(Some(restarted));
    assert_ne!(restarted, alice_pid, "a new daemon serves the socket");
    bob.send(SendRequest {
        account: Some(bob_ref.clone()),
        to: "alice".into(),
        text: "still there?".into(),
        wait: true,
    })
    .await
    .expect("bob sends again");
    tmux.wait_for("still there?", long);

    // Quitting restores the terminal and leaves the daemon running.
    tmux.keys(&["C-q"]);
    tmux.wait_for("gochat-tui exited with 0", Duration::from_secs(20));
    assert!(
        alice.status(Empty {}).await.is_ok(),
        "the daemon outlives the TUI"
    );
    let _ = alice.stop(Empty {}).await;
    let _ = bob.stop(Empty {}).await;
    server.stop().await;
}

/// A socket directory open to other users (someone may have planted a fake daemon there):
/// the TUI says so and starts no daemon in it.
#[test]
fn a_socket_directory_open_to_others_is_refused() {
    if !have_tmux("a_socket_directory_open_to_others_is_refused") {
        return;
    }
    let dir = tempfile::tempdir().expect("tempdir");
    let home = Home::new(dir.path(), "eve");
    std::fs::set_permissions(
        home.root.join("run"),
        std::os::unix::fs::PermissionsExt::from_mode(0o755),
    )
    .expect("chmod");
    let env: Vec<String> = home
        .env()
        .into_iter()
        .map(|(k, v)| format!("{k}='{v}'"))
        .collect();
    let command = format!(
        "env {} TERM=xterm-256color '{}'; sleep 600",
        env.join(" "),
        env!("CARGO_BIN_EXE_gochat-tui"),
    );
    let tmux = Tmux::start(dir.path().join("tmux.sock"), 160, 30, &command);
    let screen = tmux.wait_for("open to other users", Duration::from_secs(60));
    assert!(screen.contains("refusing gochatd"), "{screen}");
    assert!(!home.socket().exists(), "no daemon was started there");
    assert!(!home.root.join("state/gochat/gochatd.log").exists());
}
