//! The import scenarios run on both backends.

use super::*;

/// Users, permissions, the deregistered user and carol's messages, byte for byte; a second
/// run changes nothing, also after a delivery; the source is never written.
pub(super) async fn fixture_imports_exactly(backend: Backend) {
    let source = go_source().await;
    let before = source_contents(&source).await;
    let target = Target::new(backend).await;
    let store = target.open().await;

    let report = run_import(&source, store.as_ref(), false).await;
    let totals = report.user_totals();
    assert_eq!((totals.registered, totals.deregistered), (3, 1), "{report}");
    assert_eq!(report.messages_imported(), 4, "{report}");
    assert_eq!(
        report.per_recipient,
        BTreeMap::from([(b"carol".to_vec(), 4)])
    );
    assert!(
        report.skipped.is_empty() && report.warnings.is_empty(),
        "{report}"
    );

    let users = store.all_users().await.expect("users");
    let names: Vec<&[u8]> = users.iter().map(|u| u.username.as_slice()).collect();
    assert_eq!(names, [&b"alice"[..], b"bob", b"carol", b"dave"]);
    assert_eq!(user(&users, "alice").permission(), Some(Permission::Owner));
    assert_eq!(user(&users, "bob").permission(), Some(Permission::User));
    assert_eq!(user(&users, "carol").permission(), Some(Permission::User));
    assert_eq!(
        user(&users, "dave").public_key,
        None,
        "dave stays deregistered"
    );
    // Keys are kept as Go stored them (808-byte PEM with a trailing LF).
    let carol_pem = user(&users, "carol").public_key.clone().expect("key");
    assert_eq!(carol_pem.len(), 808);
    assert_eq!(
        gochat_proto::wire::PublicKey::parse(&carol_pem).expect("parses"),
        *carol_key().public_key()
    );

    let want = go_pending(&source, "carol").await;
    assert_eq!(want.len(), 4);
    let got = pending(store.as_ref(), "carol").await;
    assert_eq!(got, want, "byte-identical and in order");
    let stamps: Vec<(Vec<u8>, i64)> = got.iter().map(|(s, t, _)| (s.clone(), *t)).collect();
    let readme: Vec<(Vec<u8>, i64)> = CAROL_PENDING
        .iter()
        .map(|(s, t, _)| (s.as_bytes().to_vec(), *t))
        .collect();
    assert_eq!(stamps, readme);

    // Again: nothing changes, and it says so.
    let again = run_import(&source, store.as_ref(), false).await;
    assert!(again.is_noop(), "{again}");
    assert_eq!(again.already_imported, 4);
    assert_eq!(again.user_totals().present, 4);
    assert!(again.to_string().contains("nothing to import"), "{again}");
    assert_eq!(store.all_users().await.expect("users"), users);

    // Deliver one, import again: the delivered message does not come back.
    let carol = store.user(b"carol").await.expect("lookup").expect("carol");
    // The quota counters count what the import stored.
    let usage = store.mailbox_usage(carol.id).await.expect("usage");
    assert_eq!(
        usage.messages, 4,
        "imported messages count against the mailbox quota"
    );
    let first = store.pending_messages(carol.id, 1).await.expect("pending");
    store
        .delete_messages(carol.id, &[first[0].id])
        .await
        .expect("delete delivered");
    let third = run_import(&source, store.as_ref(), false).await;
    assert!(third.is_noop(), "{third}");
    assert_eq!(pending(store.as_ref(), "carol").await, want[1..]);

    assert_eq!(source_contents(&source).await, before, "source unchanged");
}

/// Carol logs in on a server running on the imported store with `carol.priv` and receives the
/// four Go messages, decrypting to the scenario's plaintexts, in order, exactly once; dave
/// stays deregistered (LOGIN and REG both answer ERR_DEREG, as on the Go server).
pub(super) async fn carol_catches_up_over_socket(backend: Backend) {
    let source = go_source().await;
    let target = Target::new(backend).await;
    {
        let store = target.open().await;
        run_import(&source, store.as_ref(), false).await;
    }
    let (addr, stop) = serve(target.url()).await;
    let carol_key = carol_key();

    let mut carol = Client::connect(addr).await;
    carol.login("carol", &carol_key).await;
    let id = carol.send(Request::Reciv).await;
    assert_ok(&carol.reply(id).await, "RECIV");
    for (from, stamp, text) in CAROL_PENDING {
        let p = carol.event().await;
        assert_eq!(p.action, Action::Reciv);
        assert_eq!(p.args[0], from.as_bytes());
        assert_eq!(decode_stamp(&p.args[1]).expect("stamp"), stamp);
        let plain = carol_key
            .decrypt(&p.args[2])
            .expect("decrypts with carol.priv");
        assert_eq!(&plain[..], text.as_bytes());
    }
    carol.err(Request::Reciv, ErrorCode::Empty).await;
    carol.expect_no_events().await;

    let mut dave = Client::connect(addr).await;
    dave.err(login_req("dave"), ErrorCode::Dereg).await;
    dave.err(
        Request::Reg {
            username: Bytes::from_static(b"dave"),
            public_key: common::pem(key(3)),
        },
        ErrorCode::Dereg,
    )
    .await;
    stop().await;
}

/// A target holding other accounts is refused (nothing written) unless `--merge`; with it,
/// a different account under a Go name is a conflict: neither it nor its messages come in.
pub(super) async fn non_empty_target_needs_merge(backend: Backend) {
    let source = go_source().await;
    let target = Target::new(backend).await;
    let store = target.open().await;
    let other = key(3).public_key();
    store
        .register(b"bob", other.to_pem().as_bytes(), &other.fingerprint())
        .await
        .expect("register another bob");

    let refused = import(
        &source.url(),
        Some(store.as_ref()),
        ImportOptions::default(),
    )
    .await;
    assert!(
        matches!(refused, Err(ImportError::Refused(_))),
        "{refused:?}"
    );
    let users = store.all_users().await.expect("users");
    assert_eq!(users.len(), 1, "nothing written");

    let report = run_import(&source, store.as_ref(), true).await;
    assert!(
        matches!(outcome(&report, "bob"), UserOutcome::Conflict(_)),
        "{report}"
    );
    assert_eq!(report.user_totals().registered, 2, "{report}");
    let user_bob = store.user(b"bob").await.expect("lookup").expect("bob");
    assert_eq!(
        user_bob.public_key.as_deref(),
        Some(other.to_pem().as_bytes()),
        "the target's bob is kept"
    );
    let carol = pending(store.as_ref(), "carol").await;
    assert_eq!(
        carol.len(),
        3,
        "bob's message to carol is not attributed to another bob"
    );
    assert!(carol.iter().all(|(s, _, _)| s == b"alice"));
    assert_eq!(
        report.skipped_by_reason(),
        BTreeMap::from([(SkipReason::SenderNotImported, 1)])
    );
}

/// The odd rows the fixture lacks: usernames equal except for case, a key registered twice
/// (same text, and another PEM form), an unusable key, an invalid permission, a name our
/// schema cannot hold, invalid hex, sender and recipient rows that are gone, messages to
/// deregistered users, stamp ties and fractions. Each is decided as documented, counted, and
/// nothing crashes.
pub(super) async fn edge_cases_are_decided_and_counted(backend: Backend) {
    let source = go_source().await;
    add_edge_cases(&source).await;
    let before = source_contents(&source).await;
    let target = Target::new(backend).await;
    let store = target.open().await;
    let report = run_import(&source, store.as_ref(), false).await;
    let text = report.to_string();

    for name in ["alice", "bob", "carol", "frank"] {
        assert!(
            matches!(outcome(&report, name), UserOutcome::Registered(_)),
            "{text}"
        );
    }
    assert_eq!(outcome(&report, "dave"), &UserOutcome::Deregistered);
    for name in ["Carol", "erin", "gina", "hank"] {
        assert!(
            matches!(outcome(&report, name), UserOutcome::Reserved(_)),
            "{name}: {text}"
        );
    }
    assert!(
        matches!(outcome(&report, &"é".repeat(20)), UserOutcome::Skipped(_)),
        "{text}"
    );
    assert!(text.contains("permission 9"), "{text}");
    assert!(text.contains("utf8mb4_general_ci"), "{text}");

    let users = store.all_users().await.expect("users");
    for name in ["Carol", "erin", "gina", "hank"] {
        assert_eq!(user(&users, name).public_key, None, "{name} reserved");
    }
    assert_eq!(user(&users, "frank").permission(), Some(Permission::User));
    assert!(user(&users, "frank").public_key.is_some());
    assert_eq!(users.len(), 9, "the over-long name is not stored");

    assert_eq!(
        report.skipped_by_reason(),
        BTreeMap::from([
            (SkipReason::SenderMissing, 1),
            (SkipReason::RecipientMissing, 1),
            (SkipReason::BadHex, 2),
            (SkipReason::SenderNotImported, 1),
            (SkipReason::RecipientNotLive, 3),
        ]),
        "{text}"
    );
    assert!(text.contains("skipped row"), "{text}");

    // Bob's: the earlier stamp first (fraction dropped), then the tie in table order, then
    // the message from the shadowed name, delivered under its own name.
    let bob: Vec<(Vec<u8>, i64, Vec<u8>)> = pending(store.as_ref(), "bob").await;
    assert_eq!(
        bob,
        vec![
            (b"alice".to_vec(), 1_796_500_801, b"x0".to_vec()),
            (b"alice".to_vec(), 1_796_500_805, b"x1".to_vec()),
            (b"carol".to_vec(), 1_796_500_805, b"x2".to_vec()),
            (b"alice".to_vec(), 1_796_500_805, b"x1".to_vec()),
            (b"Carol".to_vec(), 1_796_500_806, b"from shadow".to_vec()),
        ]
    );
    assert_eq!(
        pending(store.as_ref(), "alice").await,
        vec![(b"bob".to_vec(), 1_796_500_806, b"UP".to_vec())],
        "upper-case hex decodes as Go's hex.DecodeString does"
    );
    assert_eq!(pending(store.as_ref(), "frank").await.len(), 1);
    assert_eq!(pending(store.as_ref(), "carol").await.len(), 4);

    let again = run_import(&source, store.as_ref(), false).await;
    assert!(again.is_noop(), "{again}");
    assert_eq!(source_contents(&source).await, before, "source unchanged");
}

/// Adds the rows the fixture lacks (the unique indexes that would forbid some of them are
/// dropped, as on a Go database restored without them).
async fn add_edge_cases(db: &Db) {
    let mut conn = db.connect().await;
    for sql in [
        "SET FOREIGN_KEY_CHECKS = 0",
        "ALTER TABLE users DROP INDEX uni_users_username, DROP INDEX uni_users_pubkey",
        "ALTER TABLE messages DROP CONSTRAINT chk_messages_src_user",
    ] {
        sqlx::raw_sql(sql).execute(&mut conn).await.expect(sql);
    }
    let pem = |i: usize| key(i).public_key().to_pem();
    let users: [(u64, String, Option<String>, i64); 4] = [
        // Equal to carol under utf8mb4_general_ci.
        (5, "Carol".into(), Some(pem(1)), 0),
        (7, "frank".into(), Some(pem(3)), 9),
        (
            8,
            "gina".into(),
            Some(
                "-----BEGIN RSA PUBLIC KEY-----\nbm90IGEga2V5\n-----END RSA PUBLIC KEY-----\n"
                    .into(),
            ),
            0,
        ),
        // 40 bytes in UTF-8: too long for our 32-byte names.
        (9, "é".repeat(20), None, 0),
    ];
    for (id, name, key, perm) in users {
        sqlx::query("INSERT INTO users VALUES (?, ?, ?, ?)")
            .bind(id)
            .bind(name)
            .bind(key)
            .bind(perm)
            .execute(&mut conn)
            .await
            .expect("insert user");
    }
    // carol's key again: byte for byte (erin), and with CRLF line ends (hank).
    for sql in [
        "INSERT INTO users SELECT 6, 'erin', pubkey, 0 FROM users WHERE user_id = 3",
        "INSERT INTO users SELECT 10, 'hank', REPLACE(pubkey, '\\n', '\\r\\n'), 0 \
         FROM users WHERE user_id = 3",
    ] {
        sqlx::query(sql).execute(&mut conn).await.expect(sql);
    }
    let h = |s: &[u8]| hex::encode(s);
    let messages: [(u64, u64, String, &str); 15] = [
        (1, 2, h(b"x1"), "2026-12-05 20:00:05"),
        (3, 2, h(b"x2"), "2026-12-05 20:00:05"),
        (1, 2, h(b"x0"), "2026-12-05 20:00:01.700"),
        // The very same row again (a resent ciphertext): two messages.
        (1, 2, h(b"x1"), "2026-12-05 20:00:05"),
        (5, 2, h(b"from shadow"), "2026-12-05 20:00:06"),
        (1, 5, h(b"to shadow"), "2026-12-05 20:00:06"),
        (1, 6, h(b"to erin"), "2026-12-05 20:00:06"),
        (1, 4, h(b"to dave"), "2026-12-05 20:00:06"),
        (2, 1, "zz".into(), "2026-12-05 20:00:06"),
        (2, 1, "abc".into(), "2026-12-05 20:00:06"),
        (2, 1, h(b"UP").to_uppercase(), "2026-12-05 20:00:06"),
        (11, 2, h(b"sender gone"), "2026-12-05 20:00:06"),
        (2, 12, h(b"recipient gone"), "2026-12-05 20:00:06"),
        (9, 2, h(b"from a long name"), "2026-12-05 20:00:06"),
        (2, 7, h(b"to frank"), "2026-12-05 20:00:06"),
    ];
    for (src, dst, message, stamp) in messages {
        sqlx::query("INSERT INTO messages VALUES (?, ?, ?, ?)")
            .bind(src)
            .bind(dst)
            .bind(message)
            .bind(stamp)
            .execute(&mut conn)
            .await
            .expect("insert message");
    }
    let _ = conn.close().await;
}

/// The command itself: `--dry-run` writes nothing (not even an empty target), the real run
/// reports the counts, a second run says there is nothing to import, and pointing the target
/// at the Go database is refused before anything is written there.
pub(super) async fn command_line(backend: Backend) {
    let source = go_source().await;
    let before = source_contents(&source).await;
    let target = Target::new(backend).await;
    let exe = env!("CARGO_BIN_EXE_gochat-server");
    let run = |args: Vec<String>| {
        let out = std::process::Command::new(exe)
            .args(&args)
            .output()
            .expect("run gochat-server");
        (
            out.status.code(),
            String::from_utf8_lossy(&out.stdout).into_owned(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    };
    let args = |extra: &[&str], database: &str| {
        let mut a = vec![
            "import-go".to_owned(),
            "--from".to_owned(),
            source.url(),
            "--database".to_owned(),
            database.to_owned(),
        ];
        a.extend(extra.iter().map(|s| (*s).to_owned()));
        a
    };

    let (code, out, err) = run(args(&["--dry-run"], &target.url()));
    assert_eq!(code, Some(0), "{out}{err}");
    assert!(out.contains("for carol: 4 would be imported"), "{out}");
    assert!(out.contains("dry run: nothing was written"), "{out}");
    match &target {
        Target::Sqlite(dir) => assert!(!dir.path().join("store").exists(), "no file created"),
        Target::MariaDb(db) => {
            let mut conn = db.connect().await;
            let n: i64 = sqlx::query_scalar(
                "SELECT COUNT(*) FROM information_schema.TABLES WHERE TABLE_SCHEMA = DATABASE()",
            )
            .fetch_one(&mut conn)
            .await
            .expect("count tables");
            assert_eq!(n, 0, "no tables created");
        }
    }

    let (code, out, err) = run(args(&[], &target.url()));
    assert_eq!(code, Some(0), "{out}{err}");
    assert!(out.contains("for carol: 4 imported"), "{out}");
    assert!(out.contains("3 registered, 1 deregistered"), "{out}");
    assert!(out.contains("import committed"), "{out}");

    let (code, out, err) = run(args(&[], &target.url()));
    assert_eq!(code, Some(0), "{out}{err}");
    assert!(out.contains("nothing to import"), "{out}");

    let (code, out, err) = run(args(&[], &source.url()));
    assert_eq!(code, Some(1), "{out}{err}");
    assert!(err.contains("Go gochat database"), "{err}");
    assert_eq!(source_contents(&source).await, before, "source unchanged");
}

/// `apply_import` is one transaction: a batch that fails half-way leaves nothing behind.
pub(super) async fn a_failed_import_writes_nothing(backend: Backend) {
    use gochat_server::store::{ImportBatch, ImportMessage, ImportUser};
    let target = Target::new(backend).await;
    let store = target.open().await;
    let k = key(3).public_key();
    let batch = ImportBatch {
        users: vec![ImportUser {
            username: b"alice".to_vec(),
            key: Some((k.to_pem().into_bytes(), k.fingerprint())),
            permission: Permission::Owner,
        }],
        messages: vec![ImportMessage {
            sender: b"alice".to_vec(),
            recipient: b"nobody".to_vec(),
            stamp: 1,
            ciphertext: b"x".to_vec(),
            digest: [7; 32],
        }],
    };
    let err = store
        .apply_import(&batch)
        .await
        .expect_err("unknown recipient");
    assert!(err.to_string().contains("nobody"), "{err}");
    assert!(store.all_users().await.expect("users").is_empty());
    assert!(
        store
            .imported_go_messages()
            .await
            .expect("digests")
            .is_empty()
    );
}
