//! Full-text search of the account's messages.

use gochat_client::errors::DaemonError;
use gochat_proto::ipc::{DaemonClient, Message, SearchRequest};

use super::{some_ref, status_error};
use crate::app::{AccountKey, App, Level};
use crate::clock;
use crate::msg::{Effect, Reply};

/// Most matches shown.
const LIMIT: u32 = 200;

/// Searches for `query`, only with `from` unless it is empty.
pub(super) async fn run(
    c: &mut DaemonClient,
    account: AccountKey,
    query: String,
    from: String,
) -> Reply {
    let result = c
        .search(SearchRequest {
            account: some_ref(&account),
            query: query.clone(),
            from,
            since: 0,
            limit: LIMIT,
        })
        .await
        .map(|r| r.into_inner().messages)
        .map_err(|s| status_error(&s));
    Reply::Search {
        account,
        query,
        result,
    }
}

/// Prints the matches.
pub(super) fn reduce(
    app: &mut App,
    account: AccountKey,
    query: String,
    result: Result<Vec<Message>, DaemonError>,
) -> Vec<Effect> {
    match result {
        Ok(messages) => {
            let mut lines = vec![format!(
                "{} messages match {query:?} ({}):",
                messages.len(),
                account.label()
            )];
            for m in &messages {
                let when = clock::format(m.stamp, &app.tz, "%Y-%m-%d %H:%M");
                let who = if m.outgoing {
                    format!("you → {}", m.peer)
                } else {
                    format!("{} → you", m.peer)
                };
                lines.push(format!("  {when}  {who}: {}", m.text.replace('\n', " ")));
            }
            app.notice_here(Level::Info, lines.join("\n"));
        }
        Err(e) => app.notice_here(Level::Error, format!("search failed: {e}")),
    }
    Vec::new()
}
