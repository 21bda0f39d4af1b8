//! Connecting a link: dialing and the HELLO, registration, login (token or challenge), and
//! what follows a login (permission, hooks, catch-up).

use std::sync::Arc;

use bytes::Bytes;
use gochat_proto::crypto::PrivateKey;
use gochat_proto::ipc::LinkState;
use gochat_proto::wire::{ErrorCode, Hook, Request, Response};
use zeroize::Zeroizing;

use super::client::{self, CallError, Client};
use super::transport::DialError;
use super::{Actor, CALL_TIMEOUT, DIAL_TIMEOUT, LinkError, LoginError, describe, transport};
use crate::store::RejectedCert;

/// Why a connection could not be opened.
enum OpenError {
    /// The server's certificate was refused.
    Certificate(RejectedCert),
    /// Anything else, for humans.
    Other(String),
}

impl Actor {
    /// Opens a connection and registers the account with `public_pem` on it.
    pub(super) async fn register(
        &mut self,
        public_pem: String,
    ) -> Result<(Client, client::Unsolicited), LinkError> {
        let (client, unsolicited) = match self.open().await {
            Ok(opened) => opened,
            Err(OpenError::Certificate(rejected)) => {
                let message = self.note_rejection(&rejected).await;
                return Err(LinkError::Certificate { message, rejected });
            }
            Err(OpenError::Other(why)) => return Err(LinkError::NotOnline(why)),
        };
        let request = Request::Reg {
            username: Bytes::from(self.ctx.account.username.clone()),
            public_key: Bytes::from(public_pem),
        };
        match client.call(&request).await? {
            Response::Ok => Ok((client, unsolicited)),
            Response::Err(code) => Err(LinkError::Refused(code)),
            other => Err(LinkError::Call(CallError::BadReply(format!(
                "{} in reply to REG",
                other.action()
            )))),
        }
    }

    /// Dials the server and waits for its HELLO.
    async fn open(&mut self) -> Result<(Client, client::Unsolicited), OpenError> {
        let stream = match transport::dial(&self.ctx.server, DIAL_TIMEOUT).await {
            Ok(stream) => stream,
            Err(DialError::Certificate { rejected, .. }) => {
                return Err(OpenError::Certificate(rejected));
            }
            Err(e) => return Err(OpenError::Other(crate::report::chain(&e))),
        };
        self.clear_rejection().await;
        let (client, mut unsolicited) =
            Client::start(stream, CALL_TIMEOUT, &self.tasks, self.session.clone());
        match tokio::time::timeout(DIAL_TIMEOUT, unsolicited.recv()).await {
            Ok(Some(Ok(hello)))
                if matches!(Response::from_packet(&hello), Ok(Response::Hello { .. })) =>
            {
                Ok((client, unsolicited))
            }
            Ok(Some(Ok(other))) => Err(OpenError::Other(format!(
                "server greeted with {} instead of HELLO",
                other.action
            ))),
            Ok(Some(Err(reason))) => Err(OpenError::Other(reason)),
            Ok(None) | Err(_) => Err(OpenError::Other("no HELLO from the server".into())),
        }
    }

    pub(super) async fn connect(
        &mut self,
        key: &Arc<PrivateKey>,
    ) -> Result<(Client, client::Unsolicited), LoginError> {
        let (client, unsolicited) = match self.greeted.take() {
            Some(connection) => connection,
            None => match self.open().await {
                Ok(opened) => opened,
                Err(OpenError::Certificate(rejected)) => {
                    return Err(LoginError::Retry(self.note_rejection(&rejected).await));
                }
                Err(OpenError::Other(why)) => return Err(LoginError::Retry(why)),
            },
        };
        self.set_state(LinkState::LoggingIn, "", None).await;
        self.login(&client, key).await?;
        // After login: our own permission, hooks, catch-up, then the outbox.
        let username = Bytes::from(self.ctx.account.username.clone());
        let permission = match client.call(&Request::Req { username }).await {
            Ok(Response::Req { permission, .. }) => permission,
            _ => self.ctx.account.permission,
        };
        if permission != self.ctx.account.permission {
            self.ctx.account.permission = permission;
            if let Ok(Some(mut row)) = self.ctx.store.account_by_id(self.ctx.account.id).await {
                row.permission = permission;
                let _ = self.ctx.store.update_account(&row).await;
            }
        }
        let _ = client.call(&Request::Sub(Hook::All)).await;
        self.status.send_modify(|s| s.secure = self.ctx.server.tls);
        self.set_state(LinkState::Online, "", Some(permission))
            .await;
        self.catching_up = false;
        match client.call(&Request::Reciv).await {
            Ok(Response::Ok) => self.catching_up = true,
            Ok(Response::Err(Some(ErrorCode::Empty))) => {}
            Ok(other) => tracing::warn!(?other, "unexpected catch-up reply"),
            Err(e) => return Err(LoginError::Retry(e.to_string())),
        }
        Ok((client, unsolicited))
    }

    async fn login(&mut self, client: &Client, key: &Arc<PrivateKey>) -> Result<(), LoginError> {
        let username = Bytes::from(self.ctx.account.username.clone());
        if self.ctx.server.tls
            && let Some(token) = self.token.take()
        {
            let request = Request::Login {
                username: username.clone(),
                token: Some(Bytes::copy_from_slice(&token)),
            };
            if let Ok(Response::Ok) = client.call(&request).await {
                self.token = Some(token);
                return Ok(());
            }
        }
        let challenge = match client
            .call(&Request::Login {
                username: username.clone(),
                token: None,
            })
            .await
        {
            Ok(Response::Verif { challenge }) => challenge,
            Ok(Response::Err(code)) => return Err(login_refused(code)),
            Ok(other) => {
                return Err(LoginError::Retry(format!(
                    "unexpected reply to LOGIN: {:?}",
                    other.action()
                )));
            }
            Err(e) => return Err(LoginError::Retry(e.to_string())),
        };
        let key = key.clone();
        let answer = tokio::task::spawn_blocking(move || key.decrypt(&challenge))
            .await
            .map_err(|e| LoginError::Retry(e.to_string()))?
            .map_err(|_| {
                LoginError::Fatal(
                    "the server's challenge does not decrypt with this account's key".into(),
                )
            })?;
        let request = Request::Verif {
            username,
            answer: Bytes::copy_from_slice(&answer),
        };
        match client.call(&request).await {
            Ok(Response::Ok) => {
                if self.ctx.server.tls {
                    self.token = Some(Zeroizing::new(answer.to_vec()));
                }
                Ok(())
            }
            Ok(Response::Err(code)) => Err(login_refused(code)),
            Ok(other) => Err(LoginError::Retry(format!(
                "unexpected reply to VERIF: {:?}",
                other.action()
            ))),
            Err(e) => Err(LoginError::Retry(e.to_string())),
        }
    }
}

fn login_refused(code: Option<ErrorCode>) -> LoginError {
    match code {
        Some(ErrorCode::DupSess) => LoginError::Fatal(
            "this account is already logged in elsewhere (log out there, then log in again)".into(),
        ),
        Some(
            ErrorCode::NotFound
            | ErrorCode::Dereg
            | ErrorCode::Handshake
            | ErrorCode::Login
            | ErrorCode::Corrupted,
        ) => LoginError::Fatal(format!("login refused: {}", describe(code))),
        _ => LoginError::Retry(format!("login refused: {}", describe(code))),
    }
}
