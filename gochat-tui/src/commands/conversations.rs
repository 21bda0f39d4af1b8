//! Conversations: `/msg`, `/close`, `/search`, `/buffers`, `/clear`.

use super::{Invocation, account_for, call, need_daemon, usage};
use crate::app::{App, Level};
use crate::msg::{Call, Effect};
use crate::nav::{close_conversation, open_conversation};

/// `/msg USER [TEXT]`: opens the conversation, and sends TEXT.
pub(super) fn msg(app: &mut App, inv: &Invocation<'_>) -> Vec<Effect> {
    let Some(peer) = inv.arg(0) else {
        return usage(app, "msg");
    };
    let Some(account) = account_for(app, None) else {
        return Vec::new();
    };
    if peer == account.user {
        app.notice_here(Level::Error, "you cannot message yourself");
        return Vec::new();
    }
    let mut effects = open_conversation(app, &account, peer, true);
    let text = inv.text_after(1);
    if !text.is_empty() && need_daemon(app) {
        effects.push(Effect::Call(Call::Send {
            account,
            to: peer.to_owned(),
            text: text.to_owned(),
        }));
    }
    effects
}

/// `/close`: hides the active conversation.
pub(super) fn close(app: &mut App, _: &Invocation<'_>) -> Vec<Effect> {
    close_conversation(app, None)
}

/// `/search TEXT [-from USER]`.
pub(super) fn search(app: &mut App, inv: &Invocation<'_>) -> Vec<Effect> {
    let mut text = inv.text_after(0).to_owned();
    let mut from = String::new();
    if let Some(pos) = text.find("-from ") {
        let after = text[pos + 6..].trim().to_owned();
        let who = after.split_whitespace().next().unwrap_or("").to_owned();
        let remaining = after[who.len()..].trim().to_owned();
        text = format!("{} {}", text[..pos].trim(), remaining)
            .trim()
            .to_owned();
        from = who;
    }
    if text.is_empty() {
        return usage(app, "search");
    }
    if !need_daemon(app) {
        return Vec::new();
    }
    let Some(account) = account_for(app, None) else {
        return Vec::new();
    };
    call(Call::Search {
        account,
        query: text,
        from,
    })
}

/// `/buffers`: the account's conversations, closed ones included.
pub(super) fn buffers(app: &mut App, _: &Invocation<'_>) -> Vec<Effect> {
    let Some(account) = account_for(app, None) else {
        return Vec::new();
    };
    let Some(acc) = app.account(&account) else {
        return Vec::new();
    };
    let mut convs: Vec<_> = acc.conversations.values().collect();
    convs.sort_by(|a, b| a.peer.cmp(&b.peer));
    let lines: Vec<String> = convs
        .iter()
        .map(|c| {
            format!(
                "  {}{}{}",
                c.peer,
                if c.unread > 0 {
                    format!(" ({} unread)", c.unread)
                } else {
                    String::new()
                },
                if c.hidden { " [closed]" } else { "" }
            )
        })
        .collect();
    let text = format!(
        "{} conversations of {}:\n{}",
        convs.len(),
        account.label(),
        lines.join("\n")
    );
    app.notice_here(Level::Info, text);
    Vec::new()
}

/// `/clear`: removes the notices of the active buffer.
pub(super) fn clear(app: &mut App, _: &Invocation<'_>) -> Vec<Effect> {
    let key = app.active.clone();
    if let Some(b) = app.buffer_mut(&key) {
        b.clear_notices();
    }
    Vec::new()
}
