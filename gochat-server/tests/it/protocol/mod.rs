//! The protocol end to end over real sockets, on both backends: greeting, registration,
//! challenge and token logins, duplicate sessions, keys and user lists, live and stored
//! messages, hooks, every admin operation, logout and deregistration.

#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

mod admin;
mod messaging;
mod sessions;

use crate::common::{
    Backend, Client, MOTD, TestServer, assert_err, assert_ok, key, login_req, now, pem, req,
    vector_file,
};
use bytes::Bytes;
use gochat_proto::crypto::{EncryptingKey, PrivateKey};
use gochat_proto::wire::{
    Action, AdminOp, AdminRequest, ErrorCode, Hook, Permission, PublicKey, Request, UserList,
    decode_stamp, encode_pem, encode_stamp,
};

use admin::{
    admin_ban, admin_broadcast, admin_change_permissions, admin_kick,
    admin_permission_rules_and_motd, admin_shutdown, scheduled_shutdown_takes_place,
    server_shutdown_says_goodbye,
};
use messaging::{
    hook_subscriptions_and_events, messages_offline_and_catch_up, messages_online,
    thousand_offline_messages_in_order,
};
use sessions::{
    duplicate_sessions, foreign_login_leaves_pending_challenge_alone, keys_and_user_lists,
    login_by_challenge, logout_relogin_and_deregistration, registration, token_login_over_tls,
};

both_backends!(
    registration,
    login_by_challenge,
    duplicate_sessions,
    foreign_login_leaves_pending_challenge_alone,
    keys_and_user_lists,
    messages_online,
    messages_offline_and_catch_up,
    thousand_offline_messages_in_order,
    hook_subscriptions_and_events,
    admin_permission_rules_and_motd,
    admin_kick,
    admin_ban,
    admin_change_permissions,
    admin_shutdown,
    scheduled_shutdown_takes_place,
    server_shutdown_says_goodbye,
    admin_broadcast,
    token_login_over_tls,
    logout_relogin_and_deregistration,
);

const ALICE: usize = 0;
const BOB: usize = 1;
const CAROL: usize = 2;
const DAVE: usize = 3;

fn b(s: &str) -> Bytes {
    Bytes::copy_from_slice(s.as_bytes())
}

fn reg(name: &str, public_key: impl Into<Bytes>) -> Request {
    Request::Reg {
        username: b(name),
        public_key: public_key.into(),
    }
}

fn verif(name: &str, answer: &[u8]) -> Request {
    Client::verif(name, answer)
}

fn token_login(name: &str, token: &[u8]) -> Request {
    Request::Login {
        username: b(name),
        token: Some(Bytes::copy_from_slice(token)),
    }
}

fn admin(op: AdminOp, args: &[&[u8]]) -> Request {
    Request::Admin {
        op: op.code(),
        args: args.iter().map(|a| Bytes::copy_from_slice(a)).collect(),
    }
}

fn kick(name: &str) -> Request {
    AdminRequest::Kick { username: b(name) }.into_request()
}

fn ban(name: &str) -> Request {
    AdminRequest::Dereg { username: b(name) }.into_request()
}

fn chgperms(name: &str, level: u8) -> Request {
    AdminRequest::ChangePerms {
        username: b(name),
        level,
    }
    .into_request()
}

fn encrypt_to(k: &PrivateKey, plaintext: &[u8]) -> Bytes {
    EncryptingKey::new(k.public_key())
        .expect("usable key")
        .encrypt(plaintext)
        .expect("encrypts")
        .into()
}

async fn users(c: &mut Client, kind: UserList) -> Bytes {
    let reply = c.call(Request::Users(kind)).await;
    assert_eq!(reply.action, Action::Usrs, "USRS {kind}: {reply:?}");
    assert_eq!(reply.info, 0xFF, "the USRS reply does not echo the kind");
    assert_eq!(reply.args.len(), 1, "one list argument");
    reply.args[0].clone()
}

/// The target of a kick or ban gets `ERR_DISCN` (ID 0), then the connection closes.
fn assert_disconnected(last: &[gochat_proto::wire::Packet]) {
    assert_eq!(last.len(), 1, "one packet before the close: {last:?}");
    assert_err(&last[0], ErrorCode::Discn, "kicked or banned");
    assert_eq!(last[0].id, 0);
}

/// Registers every `(name, key index)` from one connection.
async fn register_all(s: &TestServer, accounts: &[(&str, usize)]) {
    let mut c = s.connect().await;
    for (name, k) in accounts {
        c.register(name, key(*k)).await;
    }
}

/// Logs in on an already registered account.
async fn login(s: &TestServer, name: &str, k: usize) -> Client {
    let mut c = s.connect().await;
    c.login(name, key(k)).await;
    c
}
