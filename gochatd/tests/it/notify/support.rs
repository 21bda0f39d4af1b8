//! Daemons started with notification and hook settings, and event helpers.

use std::time::Duration;

use gochat_proto::ipc::{self, event};
use gochatd::config::DaemonConfig;
use gochatd::daemon::Daemon;
use gochatd::store::Store;

use crate::common::{TestDaemon, TestServer, add_server, register, start_daemon, start_server};

/// Starts a daemon whose config `tweak` adjusted (socket and store in a fresh directory).
pub async fn start_daemon_with(tweak: impl FnOnce(&mut DaemonConfig)) -> TestDaemon {
    let dir = tempfile::tempdir().expect("tempdir");
    let socket = dir.path().join("run").join("gochatd.sock");
    let mut config = DaemonConfig {
        socket: Some(socket.clone()),
        database: Some(dir.path().join("data").join("gochatd.db")),
        ..Default::default()
    };
    tweak(&mut config);
    let bound = gochatd::socket::bind(&socket).await.expect("bind socket");
    let store = Store::open(&config.database_path()).await.expect("store");
    let daemon = Daemon::start(store, config).await.expect("daemon starts");
    let serving = daemon.clone();
    tokio::spawn(async move { gochatd::run::serve(serving, bound).await });
    let client = ipc::connect(&socket).await.expect("connect");
    TestDaemon {
        client,
        daemon,
        socket,
        dir,
    }
}

/// The live event stream of a daemon.
pub async fn events(d: &mut TestDaemon) -> tonic::Streaming<ipc::Event> {
    d.client
        .subscribe(ipc::SubscribeRequest { since: 0 })
        .await
        .expect("subscribe")
        .into_inner()
}

/// The next event `pick` accepts (failing after `secs`).
pub async fn next_event<T>(
    events: &mut tonic::Streaming<ipc::Event>,
    secs: u64,
    mut pick: impl FnMut(event::Kind) -> Option<T>,
) -> T {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(secs);
    loop {
        let ev = tokio::time::timeout_at(deadline, events.message())
            .await
            .expect("the event in time")
            .expect("stream ok")
            .expect("stream open");
        if let Some(found) = ev.kind.and_then(&mut pick) {
            return found;
        }
    }
}

/// Sets a setting live.
pub async fn set(d: &mut TestDaemon, name: &str, value: &str) {
    d.client
        .set_setting(ipc::SetSettingRequest {
            name: name.into(),
            value: value.into(),
            reset: false,
        })
        .await
        .unwrap_or_else(|e| panic!("set {name} = {value}: {e}"));
}

/// Changes a contact's preferences.
pub async fn prefs(d: &mut TestDaemon, change: ipc::ContactPrefsRequest) -> ipc::Contact {
    d.client
        .set_contact_prefs(change)
        .await
        .expect("set contact preferences")
        .into_inner()
}

/// A server, alice's daemon, and bob's daemon with its config adjusted by `tweak`, both
/// registered; bob's live events.
pub struct AliceAndBob {
    pub server: TestServer,
    pub alice: TestDaemon,
    pub bob: TestDaemon,
    pub bob_events: tonic::Streaming<ipc::Event>,
}

/// Starts [`AliceAndBob`].
pub async fn alice_and_bob(tweak: impl FnOnce(&mut DaemonConfig)) -> AliceAndBob {
    let server = start_server().await;
    let mut alice = start_daemon().await;
    let mut bob = start_daemon_with(tweak).await;
    add_server(&mut alice, &server).await;
    add_server(&mut bob, &server).await;
    register(&mut alice, "alice").await;
    register(&mut bob, "bob").await;
    let bob_events = events(&mut bob).await;
    AliceAndBob {
        server,
        alice,
        bob,
        bob_events,
    }
}
