//! How `watch` shows the events of notifications, hooks and housekeeping (issue 15): as JSON
//! fields beside the common ones, and as human lines.

use gochat_client::term;
use gochat_proto::ipc::{self, event};
use serde_json::{Map, Value, json};

use super::{ContactJson, user};
use crate::output::{BAD, DIM, PEER, WARN, paint};

fn account(r: Option<&ipc::AccountRef>) -> (String, String) {
    let r = r.cloned().unwrap_or_default();
    (r.server, r.username)
}

/// The type name and JSON fields of one of these events; `None` for other kinds.
pub fn json_of(kind: &event::Kind) -> Option<(&'static str, Map<String, Value>)> {
    let (name, key, value) = match kind {
        event::Kind::OpenConversation(o) => {
            let (server, account) = account(o.account.as_ref());
            let v = json!({ "server": server, "account": account, "peer": o.peer });
            ("open_conversation", "open", v)
        }
        event::Kind::HookFailed(f) => {
            let (server, account) = account(f.account.as_ref());
            let v = json!({ "server": server, "account": account, "hook": f.hook,
                "program": f.program, "reason": f.reason });
            ("hook_failed", "hook_failed", v)
        }
        event::Kind::ContactChanged(c) => {
            let (server, account) = account(c.account.as_ref());
            let mut v = serde_json::to_value(ContactJson::from(c)).unwrap_or(Value::Null);
            if let Value::Object(o) = &mut v {
                o.insert("server".into(), server.into());
                o.insert("account".into(), account.into());
            }
            ("contact_changed", "contact", v)
        }
        event::Kind::ConversationDeleted(d) => {
            let (server, account) = account(d.account.as_ref());
            let v = json!({ "server": server, "account": account, "peer": d.peer,
                "messages_deleted": d.messages_deleted });
            ("conversation_deleted", "deleted", v)
        }
        event::Kind::SettingChanged(s) => {
            let v = json!({ "name": s.name, "value": s.value, "source": s.source });
            ("setting_changed", "setting", v)
        }
        _ => return None,
    };
    let mut fields = Map::new();
    fields.insert(key.into(), value);
    Some((name, fields))
}

/// The human line of one of these events (`None`: another kind, or not worth showing).
pub fn line_of(kind: &event::Kind, verbose: bool) -> Option<Option<String>> {
    let tag = |t: &str, style| paint(style, format!("[{t}]"));
    Some(match kind {
        event::Kind::OpenConversation(o) => verbose.then(|| {
            format!(
                "{} a notification asks to open {}",
                tag("OPEN", DIM),
                paint(PEER, user(&o.peer))
            )
        }),
        event::Kind::HookFailed(f) => Some(format!(
            "{} {} ({}) failed: {}",
            tag("HOOK", BAD),
            term::line(&f.hook),
            term::line(&f.program),
            term::line(&f.reason)
        )),
        event::Kind::ContactChanged(c) => verbose.then(|| {
            format!(
                "{} {}'s local preferences changed",
                tag("CONTACT", DIM),
                paint(PEER, user(&c.user))
            )
        }),
        event::Kind::ConversationDeleted(d) => Some(format!(
            "{} the conversation with {} was deleted ({} messages)",
            tag("DELETED", WARN),
            paint(PEER, user(&d.peer)),
            d.messages_deleted
        )),
        event::Kind::SettingChanged(s) => verbose.then(|| {
            format!(
                "{} {} = {}",
                tag("SETTING", DIM),
                term::line(&s.name),
                term::line(&s.value)
            )
        }),
        _ => return None,
    })
}
