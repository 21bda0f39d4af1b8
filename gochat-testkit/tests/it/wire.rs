use gochat_proto::wire::{Action, ErrorCode, Request};
use gochat_testkit::keys::key;
use gochat_testkit::{ServerOptions, TestServer, WireClient, WireError};

#[tokio::test]
async fn register_login_and_refusals_are_typed() {
    let server = TestServer::start(ServerOptions::default(), |_| {}).await;
    let mut alice = server.connect().await.expect("connect");
    alice.register(b"alice", key(0)).await.expect("REG");
    let err = alice.register(b"alice", key(1)).await.expect_err("taken");
    assert!(
        matches!(err, WireError::Refused { request: "REG", .. }),
        "{err:?}"
    );
    assert_eq!(
        alice
            .try_register(b"alice", key(1))
            .await
            .expect("answered"),
        Some(
            ErrorCode::from_code(err.error_code().unwrap())
                .unwrap()
                .name()
                .to_owned()
        )
    );
    alice.login(b"alice", key(0)).await.expect("login");

    let mut mallory = server.connect().await.expect("connect");
    let err = mallory
        .login(b"alice", key(0))
        .await
        .expect_err("alice is online");
    assert_eq!(err.error_code(), Some(ErrorCode::DupSess.code()), "{err:?}");
    let err = mallory.login(b"nobody", key(0)).await.expect_err("unknown");
    assert!(
        matches!(
            err,
            WireError::Refused {
                request: "LOGIN",
                ..
            }
        ),
        "{err:?}"
    );

    let reply = alice
        .call(&Request::Req {
            username: "alice".into(),
        })
        .await
        .expect("REQ");
    assert_eq!(reply.action, Action::Req);
    alice.logout().await.expect("logout");
    server.stop().await;
}

#[tokio::test]
async fn a_closed_port_and_a_stopped_server_are_errors() {
    let mut server = TestServer::start(ServerOptions::default(), |_| {}).await;
    let addr = server.addr();
    let mut c = server.connect().await.expect("connect");
    server.stop_in_place().await;
    // The server said goodbye (ERR_DISCN with ID 0), then closed.
    let err = c
        .call(&Request::Req {
            username: "x".into(),
        })
        .await
        .expect_err("the server is gone");
    assert!(
        matches!(
            err,
            WireError::Ended(_) | WireError::Closed | WireError::Io(_)
        ),
        "{err:?}"
    );
    let err = WireClient::connect(addr)
        .await
        .err()
        .expect("nothing listens");
    assert!(matches!(err, WireError::Connect { .. }), "{err:?}");
}
