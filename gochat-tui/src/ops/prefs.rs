//! Contact preferences, deleting a conversation, and the daemon's notification and hook
//! settings (`/alias`, `/mute`, `/block`, `/delete`, `/set`).

use gochat_client::errors::DaemonError;
use gochat_proto::ipc::{
    ContactPrefsRequest, DaemonClient, Empty, SetSettingRequest, Setting, UserRef,
};

use super::{some_ref, status_error};
use crate::app::{AccountKey, App, BufferKey, Level};
use crate::msg::{Effect, Reply};

/// Applies a change of preferences (the `contact_changed` event mirrors it).
pub(super) async fn contact(
    c: &mut DaemonClient,
    request: ContactPrefsRequest,
) -> Result<(), DaemonError> {
    c.set_contact_prefs(request)
        .await
        .map(|_| ())
        .map_err(|s| status_error(&s))
}

/// Deletes a conversation (the `conversation_deleted` event removes it from the screen).
pub(super) async fn delete(
    c: &mut DaemonClient,
    account: &AccountKey,
    peer: String,
) -> Result<(), DaemonError> {
    c.delete_conversation(UserRef {
        account: some_ref(account),
        user: peer,
    })
    .await
    .map(|_| ())
    .map_err(|s| status_error(&s))
}

/// Reads the settings, after changing one when `change` says so (name, value or reset).
pub(super) async fn settings(
    c: &mut DaemonClient,
    name: String,
    change: Option<Option<String>>,
) -> Reply {
    let result = match change {
        None => c.get_settings(Empty {}).await,
        Some(value) => {
            c.set_setting(SetSettingRequest {
                name: name.clone(),
                reset: value.is_none(),
                value: value.unwrap_or_default(),
            })
            .await
        }
    };
    Reply::Settings {
        name,
        result: result
            .map(|r| r.into_inner().settings)
            .map_err(|s| status_error(&s)),
    }
}

/// Lists the settings (or the one asked for) in the system buffer.
pub(super) fn reduce(
    app: &mut App,
    name: String,
    result: Result<Vec<Setting>, DaemonError>,
) -> Vec<Effect> {
    match result {
        Ok(settings) => {
            let shown: Vec<&Setting> = settings
                .iter()
                .filter(|s| name.is_empty() || s.name == name)
                .collect();
            if shown.is_empty() {
                app.notice_here(Level::Error, format!("no setting called {name:?}"));
            }
            for s in shown {
                app.notice_here(
                    Level::Info,
                    format!(
                        "{} = {}  ({}; {})",
                        gochat_client::term::line(&s.name),
                        gochat_client::term::line(&s.value),
                        gochat_client::term::line(&s.source),
                        gochat_client::term::line(&s.help)
                    ),
                );
            }
        }
        Err(e) => {
            app.notice(BufferKey::System, Level::Error, format!("settings: {e}"));
            app.flash(Level::Error, format!("settings: {e}"));
        }
    }
    Vec::new()
}
