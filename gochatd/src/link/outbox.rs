//! The outbox: queued messages are encrypted to their recipient's pinned key and sent in
//! order once the link is online; each state change is an event.

use std::sync::Arc;

use bytes::Bytes;
use gochat_proto::crypto::EncryptingKey;
use gochat_proto::ipc::event;
use gochat_proto::wire::{ErrorCode, PublicKey, Request, Response, encode_stamp};
use tokio::sync::Notify;

use super::contacts::{KeyCheck, fetch_key};
use super::{CallError, Caller, Completions, LinkContext, LinkError, describe};
use crate::reason::Reason;
use crate::store::{MessageRow, MessageState};

/// Pause before retrying after a request timed out.
const RETRY_DELAY: std::time::Duration = std::time::Duration::from_secs(5);

/// Runs until aborted: on every notification, sends whatever is queued.
pub async fn run(ctx: LinkContext, caller: Caller, wake: Arc<Notify>, completions: Completions) {
    loop {
        wake.notified().await;
        loop {
            let queued = match ctx.store.queued_messages(ctx.account.id).await {
                Ok(q) => q,
                Err(e) => {
                    tracing::error!(error = %crate::report::chain(&e), "cannot read the outbox");
                    break;
                }
            };
            if queued.is_empty() {
                break;
            }
            let mut stalled = false;
            for message in queued {
                match send_one(&ctx, &caller, &message).await {
                    Ok(()) => finish(&ctx, &completions, &message, MessageState::Sent, None).await,
                    Err(Outcome::Failed(reason, why)) => {
                        finish(
                            &ctx,
                            &completions,
                            &message,
                            MessageState::Failed,
                            Some((reason, &why)),
                        )
                        .await
                    }
                    // Connection trouble: leave it (and the rest) queued and try again soon;
                    // if the link is really gone, it stops this task and retries after login.
                    Err(Outcome::Retry) => {
                        stalled = true;
                        break;
                    }
                }
            }
            if stalled {
                tokio::time::sleep(RETRY_DELAY).await;
            }
        }
    }
}

enum Outcome {
    /// Will not be delivered: why, for programs and for humans.
    Failed(Reason, String),
    Retry,
}

/// Records the outcome (with its event), then resolves the send's completion.
async fn finish(
    ctx: &LinkContext,
    completions: &Completions,
    message: &MessageRow,
    state: MessageState,
    error: Option<(Reason, &str)>,
) {
    match record_state(ctx, message.id, state, error).await {
        Ok(row) => completions.resolve(&row),
        Err(e) => {
            tracing::error!(error = %crate::report::chain(&e), "cannot record a message's state")
        }
    }
}

/// Sets a message's state and publishes the change in one transaction.
async fn record_state(
    ctx: &LinkContext,
    id: i64,
    state: MessageState,
    error: Option<(Reason, &str)>,
) -> Result<MessageRow, crate::store::StoreError> {
    let mut batch = ctx.events.batch().await?;
    let row = batch.store().set_message_state(id, state, error).await?;
    let msg = crate::convert::message(&row, &ctx.account_ref());
    batch.publish(event::Kind::MessageUpdated(msg)).await?;
    batch.commit().await?;
    Ok(row)
}

fn link_outcome(e: LinkError) -> Outcome {
    match e {
        LinkError::Refused(code) => Outcome::Failed(
            Reason::Refused(code),
            format!("server refused: {}", describe(code)),
        ),
        LinkError::Call(CallError::BadReply(why)) => Outcome::Failed(Reason::BadServerData, why),
        LinkError::Call(_) | LinkError::NotOnline(_) | LinkError::Certificate { .. } => {
            Outcome::Retry
        }
    }
}

async fn send_one(ctx: &LinkContext, caller: &Caller, message: &MessageRow) -> Result<(), Outcome> {
    let contact = match ctx.store.contact(ctx.account.id, &message.peer).await {
        Ok(Some(c)) if c.public_pem.is_some() => c,
        Ok(_) => match fetch_key(ctx, caller, &message.peer).await {
            Ok(KeyCheck::Trusted(c) | KeyCheck::Changed(c)) => c,
            Err(LinkError::Refused(Some(ErrorCode::NotFound))) => {
                return Err(no_such_user(&message.peer));
            }
            Err(LinkError::Refused(Some(ErrorCode::Dereg))) => {
                return Err(deregistered(&message.peer));
            }
            Err(e) => return Err(link_outcome(e)),
        },
        Err(e) => {
            // The cause stays in the log: message errors reach every frontend.
            tracing::error!(error = %crate::report::chain(&e), "cannot read a recipient's key");
            return Err(Outcome::Failed(
                Reason::Internal,
                "gochatd failed to read the recipient's key; its log has the details".to_owned(),
            ));
        }
    };
    if contact.pending_fingerprint.is_some() {
        return Err(Outcome::Failed(
            Reason::KeyChanged,
            format!(
                "{}'s key changed; check the new fingerprint and accept it before sending",
                message.peer
            ),
        ));
    }
    let pem = contact.public_pem.unwrap_or_default();
    let key = PublicKey::parse(pem.as_bytes()).map_err(|e| {
        Outcome::Failed(
            Reason::BadServerData,
            format!("pinned key of {} is unusable: {e}", message.peer),
        )
    })?;
    // Resume after the pieces the server already acknowledged: a piece must never reach the
    // recipient twice.
    let acknowledged = match ctx.store.sent_bytes(message.id).await {
        Ok(n) => floor_char_boundary(&message.text, n),
        Err(e) => {
            tracing::error!(error = %crate::report::chain(&e), "cannot read a message's delivery progress");
            return Err(Outcome::Retry);
        }
    };
    if acknowledged > 0 && acknowledged == message.text.len() {
        return Ok(());
    }
    let rest = message.text[acknowledged..].to_owned();
    // Pieces fit the recipient's key: 446 bytes for RSA-4096, less for smaller keys. They
    // are encrypted on the crypto pool, beside the decryptions of received messages.
    let pieces = ctx
        .crypto
        .start(move || {
            let key = EncryptingKey::new(&key)?;
            gochat_proto::crypto::split_text(&rest, key.max_plaintext())
                .into_iter()
                .map(|piece| Ok((piece.len(), key.encrypt(piece.as_bytes())?)))
                .collect::<Result<Vec<_>, gochat_proto::crypto::CryptoError>>()
        })
        .await
        .map_err(|e| Outcome::Failed(Reason::Internal, format!("cannot encrypt: {e}")))?
        .map_err(|e| Outcome::Failed(Reason::BadServerData, format!("cannot encrypt: {e}")))?;
    let mut sent = acknowledged;
    for (len, ciphertext) in pieces {
        let request = Request::Msg {
            to: Bytes::copy_from_slice(message.peer.as_bytes()),
            stamp: encode_stamp(message.stamp).into(),
            ciphertext: ciphertext.into(),
        };
        deliver(caller, &request, &message.peer).await?;
        sent += len;
        // Recorded for the last piece too: should recording SENT fail, the next attempt
        // finds every byte acknowledged and sends nothing again.
        if let Err(e) = ctx.store.set_sent_bytes(message.id, sent).await {
            tracing::error!(error = %crate::report::chain(&e), "cannot record a message's delivery progress");
        }
    }
    Ok(())
}

/// The recipient does not exist on the server (ERR_NOTFOUND).
fn no_such_user(peer: &str) -> Outcome {
    Outcome::Failed(
        Reason::NotFound,
        format!("no user called {peer} on this server"),
    )
}

/// The recipient deregistered (ERR_DEREG).
fn deregistered(peer: &str) -> Outcome {
    Outcome::Failed(
        Reason::Refused(Some(ErrorCode::Dereg)),
        format!("{peer} has deregistered"),
    )
}

/// The largest char boundary of `text` at or below `n`.
fn floor_char_boundary(text: &str, n: usize) -> usize {
    let mut n = n.min(text.len());
    while !text.is_char_boundary(n) {
        n -= 1;
    }
    n
}

async fn deliver(caller: &Caller, request: &Request, peer: &str) -> Result<(), Outcome> {
    match caller.call(request).await {
        Ok(Response::Ok) => Ok(()),
        Ok(Response::Err(Some(ErrorCode::NotFound))) => Err(no_such_user(peer)),
        Ok(Response::Err(Some(ErrorCode::Dereg))) => Err(deregistered(peer)),
        // The server's database is down or full: the message was not taken, try again.
        Ok(Response::Err(Some(ErrorCode::Server))) => Err(Outcome::Retry),
        Ok(Response::Err(code)) => Err(Outcome::Failed(
            Reason::Refused(code),
            format!("server refused: {}", describe(code)),
        )),
        Ok(other) => Err(Outcome::Failed(
            Reason::BadServerData,
            format!("unexpected reply {}", other.action()),
        )),
        Err(e) => Err(link_outcome(LinkError::Call(e))),
    }
}
