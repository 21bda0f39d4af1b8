//! Requests from a link's helpers (the outbox, key fetches) travel through the link actor,
//! which alone owns the connection: it sends each request and hands back a
//! [`PendingCall`] that the helper awaits on its own.

use gochat_proto::wire::{Request, Response};
use tokio::sync::{mpsc, oneshot};

use super::client::{CallError, PendingCall};

/// A request for the actor to send.
#[derive(Debug)]
pub(super) struct CallRequest {
    pub(super) request: Request,
    pub(super) reply: oneshot::Sender<Result<PendingCall, CallError>>,
}

/// Sends requests over the link's connection, for one online session.
#[derive(Debug, Clone)]
pub struct Caller {
    tx: mpsc::Sender<CallRequest>,
}

impl Caller {
    /// A caller and the receiver the actor serves.
    pub(super) fn channel() -> (Caller, mpsc::Receiver<CallRequest>) {
        let (tx, rx) = mpsc::channel(64);
        (Caller { tx }, rx)
    }

    /// Sends a request and decodes the reply.
    pub async fn call(&self, request: &Request) -> Result<Response, CallError> {
        let (reply, pending) = oneshot::channel();
        self.tx
            .send(CallRequest {
                request: request.clone(),
                reply,
            })
            .await
            .map_err(|_| CallError::Disconnected)?;
        pending
            .await
            .map_err(|_| CallError::Disconnected)??
            .response()
            .await
    }
}
