//! Hooks: what a hook program is given (environment, standard input), the timeout that kills
//! it, and the cap on hooks running at once with the queue behind it.

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::time::Duration;

use gochat_proto::ipc::{self, event};

use super::support::{AliceAndBob, alice_and_bob, next_event, set};
use crate::common::*;

/// Writes an executable shell script.
fn script(dir: &Path, name: &str, body: &str) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, format!("#!/bin/sh\n{body}\n")).expect("write script");
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o700)).expect("chmod");
    path
}

fn toml_list(items: &[&str]) -> String {
    let quoted: Vec<String> = items.iter().map(|s| format!("{s:?}")).collect();
    format!("[{}]", quoted.join(", "))
}

/// The text of `path` once it exists (the scripts write a hidden file and rename it, so a
/// file that exists is complete).
/// The count in a drop report (`dropped N: too many hooks waiting`).
fn dropped_count(reason: &str) -> usize {
    reason
        .strip_prefix("dropped ")
        .and_then(|r| r.split(':').next())
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("not a drop report: {reason}"))
}

async fn wait_file(path: &Path) -> String {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    loop {
        if let Ok(text) = std::fs::read_to_string(path) {
            return text;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "{} never appeared",
            path.display()
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hooks_get_the_message_are_killed_on_time_and_capped() {
    let work = tempfile::tempdir().expect("tempdir");
    let out = work.path().join("out");
    std::fs::create_dir(&out).expect("out dir");
    let record = script(
        work.path(),
        "record",
        r#"{ env | grep '^GOCHAT_' | sort; echo --; cat; } > "$1/$GOCHAT_MESSAGE_ID.tmp"
mv "$1/$GOCHAT_MESSAGE_ID.tmp" "$1/$GOCHAT_MESSAGE_ID""#,
    );
    let command = toml_list(&[
        record.to_str().expect("utf-8"),
        out.to_str().expect("utf-8"),
    ]);
    // No notification server anywhere: hooks still run, delivery still works.
    let AliceAndBob {
        server,
        mut alice,
        mut bob,
        mut bob_events,
    } = alice_and_bob(|c| {
        c.notify.bus = "unix:path=/nonexistent/bus".into();
        c.hooks.timeout_secs = 2;
    })
    .await;
    set(&mut bob, "hooks.on_message", &command).await;

    // Environment and standard input.
    alice
        .client
        .send(send("bob", "line one\n'quoted' $HOME `x`", true))
        .await
        .expect("send");
    let m = next_received(&mut bob_events).await;
    let text = wait_file(&out.join(m.id.to_string())).await;
    let expected = format!(
        "GOCHAT_ACCOUNT=bob\nGOCHAT_HOOK=on_message\nGOCHAT_MESSAGE_ID={}\nGOCHAT_SENDER=alice\n\
         GOCHAT_SERVER=local\nGOCHAT_STAMP={}\n--\nline one\n'quoted' $HOME `x`",
        m.id, m.stamp
    );
    assert_eq!(text, expected);

    // Muted: no hook.
    bob.client
        .set_contact_prefs(ipc::ContactPrefsRequest {
            account: None,
            user: "alice".into(),
            muted: Some(true),
            ..Default::default()
        })
        .await
        .expect("mute");
    alice
        .client
        .send(send("bob", "muted", true))
        .await
        .expect("send");
    let muted = next_received(&mut bob_events).await;
    tokio::time::sleep(Duration::from_millis(800)).await;
    assert!(
        !out.join(muted.id.to_string()).exists(),
        "no hook for a muted sender"
    );
    bob.client
        .set_contact_prefs(ipc::ContactPrefsRequest {
            account: None,
            user: "alice".into(),
            muted: Some(false),
            ..Default::default()
        })
        .await
        .expect("unmute");

    // A hook that outlives its timeout is killed, with what it started, and reported.
    let pids = work.path().join("pids");
    let hang = script(
        work.path(),
        "hang",
        &format!(
            "sleep 60 &\necho $! >> {0}\necho $$ >> {0}\nwait",
            pids.display()
        ),
    );
    set(
        &mut bob,
        "hooks.on_message",
        &toml_list(&[hang.to_str().expect("utf-8")]),
    )
    .await;
    alice
        .client
        .send(send("bob", "hang", true))
        .await
        .expect("send");
    let failed = next_event(&mut bob_events, 20, |k| match k {
        event::Kind::HookFailed(f) => Some(f),
        _ => None,
    })
    .await;
    assert_eq!(failed.hook, "on_message");
    assert_eq!(failed.program, hang.to_str().expect("utf-8"));
    assert!(failed.reason.contains("killed"), "{}", failed.reason);
    let started = wait_file(&pids).await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    for pid in started.split_whitespace() {
        assert!(
            !Path::new(&format!("/proc/{pid}")).exists()
                || std::fs::read_to_string(format!("/proc/{pid}/stat"))
                    .is_ok_and(|s| s.contains(") Z ")),
            "process {pid} survived the timeout"
        );
    }

    // At most two at once, one waiting, the rest dropped (and reported).
    let running = work.path().join("running");
    let log = work.path().join("log");
    std::fs::create_dir(&running).expect("running dir");
    let slow = script(
        work.path(),
        "slow",
        &format!(
            "touch {r}/$GOCHAT_MESSAGE_ID\nls {r} | wc -l >> {l}\nsleep 3\nrm {r}/$GOCHAT_MESSAGE_ID\necho done >> {l}",
            r = running.display(),
            l = log.display()
        ),
    );
    set(&mut bob, "hooks.timeout_secs", "20").await;
    set(&mut bob, "hooks.max_running", "2").await;
    set(&mut bob, "hooks.max_queued", "1").await;
    set(
        &mut bob,
        "hooks.on_message",
        &toml_list(&[slow.to_str().expect("utf-8")]),
    )
    .await;
    for i in 0..6 {
        alice
            .client
            .send(send("bob", &format!("busy {i}"), false))
            .await
            .expect("send");
    }
    let mut dropped = 0;
    let mut received = 0;
    while received < 6 {
        match next_event(&mut bob_events, 20, |k| match k {
            event::Kind::HookFailed(f) => Some(Some(f)),
            event::Kind::MessageReceived(_) => Some(None),
            _ => None,
        })
        .await
        {
            Some(f) => dropped += dropped_count(&f.reason),
            None => received += 1,
        }
    }
    // Drops are announced just after their message.
    while let Ok(Ok(Some(ev))) =
        tokio::time::timeout(Duration::from_secs(2), bob_events.message()).await
    {
        if let Some(event::Kind::HookFailed(f)) = ev.kind {
            dropped += dropped_count(&f.reason);
        }
    }
    // Wait for the runs that were let through to end.
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    loop {
        let text = std::fs::read_to_string(&log).unwrap_or_default();
        if text.matches("done").count() >= 6 - dropped {
            break;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "hooks did not finish: {text}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let text = std::fs::read_to_string(&log).expect("log");
    let most = text
        .lines()
        .filter_map(|l| l.trim().parse::<u32>().ok())
        .max()
        .expect("counts");
    assert!(most <= 2, "at most two hooks at once: {text}");
    assert_eq!(dropped, 3, "two running, one waiting, three dropped");

    // on_key_change: the contact and both fingerprints. Bob's store pins another key for
    // alice (his own), so the server's answer to a key request is a change.
    let keys = work.path().join("keys");
    std::fs::create_dir(&keys).expect("keys dir");
    let key_hook = script(
        work.path(),
        "key",
        r#"env | grep '^GOCHAT_' | sort > "$1/.$GOCHAT_USER" && mv "$1/.$GOCHAT_USER" "$1/$GOCHAT_USER""#,
    );
    set(
        &mut bob,
        "hooks.on_key_change",
        &toml_list(&[
            key_hook.to_str().expect("utf-8"),
            keys.to_str().expect("utf-8"),
        ]),
    )
    .await;
    let (_, me) = bob.daemon.resolve_account(None).await.expect("bob");
    let mut pinned = bob
        .daemon
        .store
        .contact(me.id, "alice")
        .await
        .expect("contact")
        .expect("alice's key is pinned");
    let real = pinned.fingerprint.clone().expect("a fingerprint");
    pinned.public_pem = Some(me.public_pem.clone());
    pinned.fingerprint = Some(me.fingerprint.clone());
    bob.daemon
        .store
        .upsert_contact(&pinned)
        .await
        .expect("pin another key");
    bob.client
        .request_key(ipc::UserRef {
            account: None,
            user: "alice".into(),
        })
        .await
        .expect("request alice's key");
    let text = wait_file(&keys.join("alice")).await;
    assert!(
        text.contains(&format!("GOCHAT_OLD_FINGERPRINT={}\n", me.fingerprint))
            && text.contains(&format!("GOCHAT_NEW_FINGERPRINT={real}\n"))
            && text.contains("GOCHAT_HOOK=on_key_change\n")
            && text.contains("GOCHAT_USER=alice\n"),
        "{text}"
    );

    // on_link_state: the state and the detail in the environment.
    let links = work.path().join("links");
    std::fs::create_dir(&links).expect("links dir");
    let link = script(
        work.path(),
        "link",
        r#"env | grep '^GOCHAT_' | sort > "$1/.$GOCHAT_LINK_STATE" && mv "$1/.$GOCHAT_LINK_STATE" "$1/$GOCHAT_LINK_STATE""#,
    );
    set(
        &mut bob,
        "hooks.on_link_state",
        &toml_list(&[
            link.to_str().expect("utf-8"),
            links.to_str().expect("utf-8"),
        ]),
    )
    .await;
    bob.client
        .logout(ipc::AccountRef::default())
        .await
        .expect("logout");
    let text = wait_file(&links.join("offline")).await;
    assert!(
        text.contains("GOCHAT_ACCOUNT=bob\n")
            && text.contains("GOCHAT_HOOK=on_link_state\n")
            && text.contains("GOCHAT_LINK_STATE=offline\n")
            && text.contains("GOCHAT_SERVER=local\n"),
        "{text}"
    );
    server.token.cancel();
}
