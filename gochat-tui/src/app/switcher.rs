//! The quick switcher's matches: a query over the model's rows and contacts.

use super::{App, Row};

/// A line of the quick switcher.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SwitchItem {
    /// An existing row, with its label.
    Row(Row, String),
    /// A new conversation with this peer.
    New(crate::app::AccountKey, String),
}

/// How well `name` matches `query`: lower is better; None when it does not.
fn score(name: &str, query: &str) -> Option<u8> {
    if query.is_empty() {
        return Some(3);
    }
    let name = name.to_lowercase();
    let query = query.to_lowercase();
    if name == query {
        Some(0)
    } else if name.starts_with(&query) {
        Some(1)
    } else if name.contains(&query) {
        Some(2)
    } else {
        let mut chars = name.chars();
        query.chars().all(|q| chars.any(|c| c == q)).then_some(4)
    }
}

/// The matches of the quick switcher for `query`, best first.
pub fn switcher_items(app: &App, query: &str) -> Vec<SwitchItem> {
    let several_accounts = app.servers.iter().map(|s| s.accounts.len()).sum::<usize>() > 1;
    let mut scored: Vec<(u8, u32, i64, SwitchItem)> = Vec::new();
    let query = query.trim();
    for server in &app.servers {
        let name = &server.profile.name;
        if let Some(s) = score(name, query) {
            scored.push((
                s + 1,
                0,
                0,
                SwitchItem::Row(Row::Server(name.clone()), format!("{name} (server)")),
            ));
        }
        for account in &server.accounts {
            for conv in account.conversations.values() {
                if let Some(s) = score(&conv.peer, query) {
                    let label = if several_accounts {
                        format!("{} ({})", conv.peer, account.key.label())
                    } else {
                        conv.peer.clone()
                    };
                    scored.push((
                        s,
                        conv.unread,
                        conv.last_time,
                        SwitchItem::Row(Row::Conv(account.key.clone(), conv.peer.clone()), label),
                    ));
                }
            }
        }
    }
    scored.sort_by(|a, b| {
        a.0.cmp(&b.0)
            .then_with(|| b.1.cmp(&a.1))
            .then_with(|| b.2.cmp(&a.2))
    });
    let mut items: Vec<SwitchItem> = scored.into_iter().map(|(.., i)| i).take(200).collect();
    let exact = items.iter().any(|i| match i {
        SwitchItem::Row(Row::Conv(_, p), _) => p == query,
        _ => false,
    });
    if !query.is_empty()
        && !exact
        && !query.contains(char::is_whitespace)
        && let Some(account) = app.current_account()
        && account.key.user != query
    {
        items.push(SwitchItem::New(account.key.clone(), query.to_owned()));
    }
    if query.is_empty() {
        items.insert(0, SwitchItem::Row(Row::System, "gochat (system)".into()));
    }
    items
}
