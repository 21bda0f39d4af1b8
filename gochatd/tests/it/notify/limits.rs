//! Settings and aliases set through the API with hostile values: each is refused with a
//! typed status (never a panic, never stored), and the daemon keeps serving.

use gochat_proto::ipc;
use tonic::Code;

use crate::common::{add_server, register, start_daemon, start_server};

async fn set(d: &mut crate::common::TestDaemon, name: &str, value: &str) -> Result<(), Code> {
    d.client
        .set_setting(ipc::SetSettingRequest {
            name: name.into(),
            value: value.into(),
            reset: false,
        })
        .await
        .map(|_| ())
        .map_err(|s| s.code())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hostile_settings_and_aliases_are_typed_errors() {
    let server = start_server().await;
    let mut d = start_daemon().await;
    add_server(&mut d, &server).await;
    register(&mut d, "alice").await;
    let invalid = [
        ("hooks.on_message", r#"["/bin/echo\u0000x"]"#.to_owned()),
        (
            "hooks.on_message",
            r#"["/bin/echo", "a\u0000b"]"#.to_owned(),
        ),
        ("hooks.max_queued", "4294967295".to_owned()),
        ("hooks.max_running", "100000".to_owned()),
        ("notify.coalesce_ms", "4294967295".to_owned()),
        ("notify.bus", r#""unix:path=/tmp/x\u0000""#.to_owned()),
        (
            "hooks.on_link_state",
            format!("[\"/bin/echo\", \"{}\"]", "a".repeat(20_000)),
        ),
    ];
    for (name, value) in &invalid {
        assert_eq!(
            set(&mut d, name, value).await,
            Err(Code::InvalidArgument),
            "{name}"
        );
    }
    let long_name = format!("notify.accounts.{}/alice", "x".repeat(10_000));
    assert_eq!(set(&mut d, &long_name, "off").await, Err(Code::NotFound));
    assert_eq!(
        set(&mut d, "notify.accounts.home\u{1b}[2J/alice", "off").await,
        Err(Code::NotFound)
    );
    let shown = d
        .client
        .get_settings(ipc::Empty {})
        .await
        .expect("settings")
        .into_inner();
    assert!(
        shown.settings.iter().all(|s| s.source != "api"),
        "nothing was stored: {:?}",
        shown.settings
    );
    for alias in [
        "\u{202e}evil",
        "a\u{0}b",
        "zero\u{200b}width",
        &"x".repeat(65),
    ] {
        let refused = d
            .client
            .set_contact_prefs(ipc::ContactPrefsRequest {
                user: "bob".into(),
                alias: Some(alias.to_owned()),
                ..Default::default()
            })
            .await
            .expect_err("refused");
        assert_eq!(refused.code(), Code::InvalidArgument, "{alias:?}");
    }
    let kept = d
        .client
        .set_contact_prefs(ipc::ContactPrefsRequest {
            user: "bob".into(),
            alias: Some("Bob 🙂".into()),
            ..Default::default()
        })
        .await
        .expect("a plain alias")
        .into_inner();
    assert_eq!(kept.alias, "Bob 🙂");
}
