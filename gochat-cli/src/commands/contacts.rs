//! `contacts`: every user whose key this account has pinned, with its state (the Go client's
//! list of requested users).

use crate::context::Ctx;
use crate::error::Result;
use crate::output::{BAD, Cell, DIM, GOOD, PEER, Table};
use crate::views::{ContactJson, permission_name};

#[derive(Debug, clap::Args)]
pub struct Args {}

pub async fn run(_args: Args, ctx: &mut Ctx) -> Result<()> {
    let account = ctx.account();
    let contacts = ctx
        .client()
        .await?
        .list_contacts(account)
        .await?
        .into_inner()
        .contacts;
    let json: Vec<ContactJson> = contacts.iter().map(ContactJson::from).collect();
    ctx.out.emit(&serde_json::json!({ "contacts": json }), |w| {
        if contacts.is_empty() {
            return writeln!(
                w,
                "no contacts; `gochat-cli request USER` fetches and pins a key"
            );
        }
        let mut table = Table::new(&["USER", "ALIAS", "LEVEL", "KEY", "LOCAL", "FINGERPRINT"]);
        for c in &contacts {
            let changed = c.key_state == gochat_proto::ipc::KeyState::Changed as i32;
            let unknown = c.key_state == gochat_proto::ipc::KeyState::Unknown as i32;
            table.row(vec![
                Cell::styled(crate::views::user(&c.user), PEER),
                Cell::styled(gochat_client::term::line(&c.alias).into_owned(), PEER),
                Cell::styled(permission_name(c.permission).to_owned(), DIM),
                if unknown {
                    Cell::styled("unknown".to_owned(), DIM)
                } else if changed {
                    Cell::styled("CHANGED".to_owned(), BAD)
                } else if c.key_origin.is_empty() {
                    Cell::styled("pinned".to_owned(), GOOD)
                } else {
                    // Fetched from the server earlier by the Go client, imported from it.
                    Cell::styled(
                        format!("pinned ({})", gochat_client::term::line(&c.key_origin)),
                        GOOD,
                    )
                },
                Cell::styled(local_state(c), BAD),
                Cell::styled(c.fingerprint.clone(), DIM),
            ]);
        }
        table.write(w)
    })
}

/// Mute and block, with their counts ("muted (3)", "blocked (5)"), and a notification mode
/// of the contact's own.
fn local_state(c: &gochat_proto::ipc::Contact) -> String {
    let mut parts = Vec::new();
    if c.blocked {
        parts.push(format!("blocked ({})", c.blocked_count));
    } else if c.blocked_count > 0 {
        parts.push(format!("was blocked ({})", c.blocked_count));
    }
    if c.muted {
        parts.push(format!("muted ({})", c.muted_count));
    }
    match gochat_proto::ipc::NotifyMode::try_from(c.notify) {
        Ok(gochat_proto::ipc::NotifyMode::Off) => parts.push("notify off".into()),
        Ok(gochat_proto::ipc::NotifyMode::Mentions) => parts.push("notify mentions".into()),
        Ok(gochat_proto::ipc::NotifyMode::On) => parts.push("notify on".into()),
        _ => {}
    }
    parts.join(", ")
}
