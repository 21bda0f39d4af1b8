//! A private session bus (Debian's `dbus-daemon`) and a fake notification server on it that
//! records every `Notify` call and can invoke an action as a click would.

use std::collections::HashMap;
use std::process::Stdio;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::io::AsyncBufReadExt;

/// One recorded `Notify` call.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Call {
    pub id: u32,
    pub app: String,
    pub summary: String,
    pub body: String,
    pub actions: Vec<String>,
}

/// `dbus-daemon --session` for one test; killed on drop.
pub struct PrivateBus {
    pub address: String,
    _child: tokio::process::Child,
}

impl PrivateBus {
    /// Starts one, or `None` when dbus-daemon is missing (a failure when CI is set).
    pub async fn start() -> Option<PrivateBus> {
        if !gochat_testkit::tools::require("dbus-daemon", "the notification test") {
            return None;
        }
        let mut child = tokio::process::Command::new("dbus-daemon")
            .args(["--session", "--nofork", "--nopidfile", "--print-address"])
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .kill_on_drop(true)
            .spawn()
            .expect("start dbus-daemon");
        let stdout = child.stdout.take().expect("piped stdout");
        let mut lines = tokio::io::BufReader::new(stdout).lines();
        let address = tokio::time::timeout(Duration::from_secs(10), lines.next_line())
            .await
            .expect("dbus-daemon prints its address in time")
            .expect("read the address")
            .expect("an address line");
        Some(PrivateBus {
            address,
            _child: child,
        })
    }
}

struct Recorder {
    calls: Arc<Mutex<Vec<Call>>>,
}

#[zbus::interface(name = "org.freedesktop.Notifications")]
impl Recorder {
    #[allow(clippy::too_many_arguments)]
    async fn notify(
        &self,
        app_name: String,
        _replaces_id: u32,
        _app_icon: String,
        summary: String,
        body: String,
        actions: Vec<String>,
        _hints: HashMap<String, zbus::zvariant::OwnedValue>,
        _expire_timeout: i32,
    ) -> u32 {
        let mut calls = self.calls.lock().expect("calls");
        let id = calls.len() as u32 + 1;
        calls.push(Call {
            id,
            app: app_name,
            summary,
            body,
            actions,
        });
        id
    }

    fn get_capabilities(&self) -> Vec<String> {
        vec!["actions".into(), "body".into(), "body-markup".into()]
    }

    #[zbus(signal)]
    async fn action_invoked(
        emitter: &zbus::object_server::SignalEmitter<'_>,
        id: u32,
        action_key: &str,
    ) -> zbus::Result<()>;
}

const PATH: &str = "/org/freedesktop/Notifications";

/// The fake `org.freedesktop.Notifications` service.
pub struct FakeNotifications {
    calls: Arc<Mutex<Vec<Call>>>,
    connection: zbus::Connection,
}

impl FakeNotifications {
    pub async fn serve(bus: &PrivateBus) -> FakeNotifications {
        let calls = Arc::default();
        let connection = zbus::connection::Builder::address(bus.address.as_str())
            .expect("bus address")
            .name("org.freedesktop.Notifications")
            .expect("service name")
            .serve_at(
                PATH,
                Recorder {
                    calls: Arc::clone(&calls),
                },
            )
            .expect("serve the interface")
            .build()
            .await
            .expect("connect the fake notification server");
        FakeNotifications { calls, connection }
    }

    /// Every call so far.
    pub fn calls(&self) -> Vec<Call> {
        self.calls.lock().expect("calls").clone()
    }

    /// Waits until there are `n` calls (failing after 20 s) and returns them.
    pub async fn wait_for(&self, n: usize) -> Vec<Call> {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
        loop {
            let calls = self.calls();
            if calls.len() >= n {
                return calls;
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "expected {n} notifications, got {calls:#?}"
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// Emits `ActionInvoked(id, action)`, as a click on the notification does.
    pub async fn click(&self, id: u32, action: &str) {
        let iface = self
            .connection
            .object_server()
            .interface::<_, Recorder>(PATH)
            .await
            .expect("the interface is served");
        Recorder::action_invoked(iface.signal_emitter(), id, action)
            .await
            .expect("emit ActionInvoked");
    }

    /// Emits the same `ActionInvoked(id, action)` from another client of the bus, as any
    /// local program could.
    pub async fn forge_click(bus: &PrivateBus, id: u32, action: &str) {
        let other = zbus::connection::Builder::address(bus.address.as_str())
            .expect("bus address")
            .build()
            .await
            .expect("connect another client");
        other
            .emit_signal(
                None::<()>,
                PATH,
                "org.freedesktop.Notifications",
                "ActionInvoked",
                &(id, action),
            )
            .await
            .expect("emit a forged ActionInvoked");
    }
}
