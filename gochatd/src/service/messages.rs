//! The message service: queueing a text (split into pieces here, the one place that cuts
//! texts), waiting for the server's answers, history, conversations, read marks and search.
//! It works on store rows; the API layer converts them to protobuf.

use gochat_proto::crypto::MAX_PLAINTEXT;
use gochat_proto::ipc::{self, AccountRef, ReadMarker, event};

use crate::daemon::Daemon;
use crate::error::ApiError;
use crate::events::now_ms;
use crate::store::{AccountRow, ConversationRow, MessageRow, MessageState, NewMessage, ServerRow};

/// How long `Send` with `wait` waits for the server's answers.
const SEND_WAIT: std::time::Duration = std::time::Duration::from_secs(60);
/// Page sizes when the request gives none, and the largest allowed.
const DEFAULT_HISTORY: u32 = 50;
const DEFAULT_SEARCH: u32 = 100;
const MAX_PAGE: u32 = 10_000;

/// Messages of one account.
#[derive(Debug, Clone)]
pub struct Messages {
    /// The account's server profile.
    pub server: ServerRow,
    /// The account.
    pub account: AccountRow,
    /// The messages, in the order of the request.
    pub rows: Vec<MessageRow>,
    /// For a history page: the id to pass as `before` for the next, older page (0: none).
    pub next_before: i64,
}

/// The conversations of one account.
#[derive(Debug, Clone)]
pub struct Conversations {
    /// The account's server profile.
    pub server: ServerRow,
    /// The account.
    pub account: AccountRow,
    /// One entry per peer, the most recently active first.
    pub rows: Vec<ConversationRow>,
}

fn page_limit(limit: u32, default: u32) -> u32 {
    if limit == 0 {
        default
    } else {
        limit.min(MAX_PAGE)
    }
}

impl Daemon {
    /// Queues a text (split into ≤ 446-byte pieces) for `to`; with `wait`, returns once every
    /// piece was confirmed or failed.
    pub async fn send(
        &self,
        r: Option<&AccountRef>,
        to: &str,
        text: &str,
        wait: bool,
    ) -> Result<Messages, ApiError> {
        let (server, account) = self.resolve_account(r).await?;
        if to.is_empty() {
            return Err(ApiError::Invalid("a recipient is required".into()));
        }
        if !crate::link::untrusted::valid_username(to.as_bytes()) {
            return Err(ApiError::Invalid(format!(
                "{to:?} is not a valid username (1 to 32 of a-z and 0-9)"
            )));
        }
        if to == account.username {
            return Err(ApiError::Invalid("you cannot message yourself".into()));
        }
        let aref = AccountRef {
            server: server.name.clone(),
            username: account.username.clone(),
        };
        let stamp = (now_ms() + 500) / 1000;
        // Every piece and its event in one transaction: all are queued, or none.
        let mut rows: Vec<MessageRow> = Vec::new();
        let mut batch = self.events.batch().await?;
        // The one splitting rule (UTF-8 boundaries), also used by the outbox for the blocks of
        // a recipient key smaller than RSA-4096.
        for piece in gochat_proto::crypto::split_text(text, MAX_PLAINTEXT) {
            let row = batch
                .store()
                .insert_message(&NewMessage {
                    account_id: account.id,
                    peer: to.to_owned(),
                    outgoing: true,
                    text: piece.to_owned(),
                    stamp,
                    state: MessageState::Queued,
                    read: true,
                })
                .await?;
            batch
                .publish(event::Kind::MessageUpdated(crate::convert::message(
                    &row, &aref,
                )))
                .await?;
            rows.push(row);
        }
        batch.commit().await?;
        let link = self.ensure_link(&account).await?;
        // Offline, the pieces stay queued until the next login: nothing to wait for.
        let wait = wait && link.status().state == ipc::LinkState::Online;
        let mut completions: Vec<_> = if wait {
            rows.iter().map(|row| link.completion(row.id)).collect()
        } else {
            Vec::new()
        };
        link.kick_outbox();
        let deadline = tokio::time::Instant::now() + SEND_WAIT;
        let mut out = Vec::with_capacity(rows.len());
        for (i, row) in rows.into_iter().enumerate() {
            let mut row = self.store.message(row.id).await?.unwrap_or(row);
            if row.state == MessageState::Queued
                && let Some(done) = completions.get_mut(i)
                && let Ok(Ok(answered)) = tokio::time::timeout_at(deadline, done).await
            {
                row = answered;
            }
            out.push(row);
        }
        Ok(Messages {
            server,
            account,
            rows: out,
            next_before: 0,
        })
    }

    /// A page of the messages exchanged with `peer`, newest first, older than `before` when
    /// given.
    pub async fn history(
        &self,
        r: Option<&AccountRef>,
        peer: &str,
        before: Option<i64>,
        limit: u32,
    ) -> Result<Messages, ApiError> {
        let (server, account) = self.resolve_account(r).await?;
        let limit = page_limit(limit, DEFAULT_HISTORY);
        // One row more than asked tells whether an older page exists.
        let mut rows = self
            .store
            .history(account.id, peer, before, limit + 1)
            .await?;
        let more = rows.len() > limit as usize;
        rows.truncate(limit as usize);
        let next_before = if more {
            rows.last().map_or(0, |m| m.id)
        } else {
            0
        };
        Ok(Messages {
            server,
            account,
            rows,
            next_before,
        })
    }

    /// The account's conversations.
    pub async fn conversations(&self, r: Option<&AccountRef>) -> Result<Conversations, ApiError> {
        let (server, account) = self.resolve_account(r).await?;
        let rows = self.store.conversations(account.id).await?;
        Ok(Conversations {
            server,
            account,
            rows,
        })
    }

    /// Marks messages from `peer` read (up to `up_to` when given); the marks and their
    /// `read` event are committed together.
    pub async fn mark_read(
        &self,
        r: Option<&AccountRef>,
        peer: &str,
        up_to: Option<i64>,
    ) -> Result<(), ApiError> {
        let (server, account) = self.resolve_account(r).await?;
        let mut batch = self.events.batch().await?;
        let up_to = batch.store().mark_read(account.id, peer, up_to).await?;
        if up_to > 0 {
            batch
                .publish(event::Kind::Read(ReadMarker {
                    account: Some(AccountRef {
                        server: server.name,
                        username: account.username,
                    }),
                    peer: peer.to_owned(),
                    up_to,
                }))
                .await?;
        }
        batch.commit().await?;
        Ok(())
    }

    /// Full-text search in the account's messages, newest first.
    pub async fn search(
        &self,
        r: Option<&AccountRef>,
        query: &str,
        from: Option<&str>,
        since: Option<i64>,
        limit: u32,
    ) -> Result<Messages, ApiError> {
        let (server, account) = self.resolve_account(r).await?;
        let limit = page_limit(limit, DEFAULT_SEARCH);
        let rows = self
            .store
            .search(account.id, query, from, since, limit)
            .await?;
        Ok(Messages {
            server,
            account,
            rows,
            next_before: 0,
        })
    }
}
