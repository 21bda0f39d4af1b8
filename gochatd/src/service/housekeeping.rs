//! Conversation housekeeping and the live settings: a contact's local preferences (alias,
//! mute, block, notifications), deleting a conversation, and changing notification and hook
//! settings. Each change is announced to every frontend.

use gochat_proto::ipc::{self, AccountRef, event};

use crate::daemon::Daemon;
use crate::error::ApiError;
use crate::notify::ChangeError;
use crate::notify::settings::{SettingError, Shown};
use crate::store::{AccountRow, PrefsChange, ServerRow};

/// The longest alias.
const ALIAS_MAX: usize = 64;

fn account_ref(server: &ServerRow, account: &AccountRow) -> AccountRef {
    AccountRef {
        server: server.name.clone(),
        username: account.username.clone(),
    }
}

impl Daemon {
    /// Every contact of the account with its key and local preferences (contacts with only
    /// preferences included), by user name.
    pub async fn contacts_with_prefs(
        &self,
        r: Option<&AccountRef>,
    ) -> Result<Vec<ipc::Contact>, ApiError> {
        let (server, account) = self.resolve_account(r).await?;
        let aref = account_ref(&server, &account);
        let mut out: Vec<ipc::Contact> = self
            .store
            .list_contacts(account.id)
            .await?
            .iter()
            .map(crate::convert::contact)
            .collect();
        for (user, prefs) in self.store.list_contact_prefs(account.id).await? {
            let at = match out.iter().position(|c| c.user == user) {
                Some(at) => at,
                None => {
                    out.push(ipc::Contact {
                        user,
                        key_state: ipc::KeyState::Unknown as i32,
                        ..Default::default()
                    });
                    out.len() - 1
                }
            };
            crate::convert::with_prefs(&mut out[at], &prefs);
        }
        for c in &mut out {
            c.account = Some(aref.clone());
        }
        out.sort_by(|a, b| a.user.cmp(&b.user));
        Ok(out)
    }

    /// Changes `user`'s local preferences and announces them.
    pub async fn set_contact_prefs(
        &self,
        r: Option<&AccountRef>,
        user: &str,
        change: PrefsChange,
    ) -> Result<ipc::Contact, ApiError> {
        if !crate::link::untrusted::valid_username(user.as_bytes()) {
            return Err(ApiError::Invalid(format!(
                "{user:?} is not a valid username"
            )));
        }
        if let Some(alias) = &change.alias
            && (alias.chars().count() > ALIAS_MAX
                || alias.chars().any(gochat_client::term::is_unsafe))
        {
            return Err(ApiError::Invalid(format!(
                "an alias is one line of at most {ALIAS_MAX} characters, without control, \
                 bidi or invisible characters"
            )));
        }
        let (server, account) = self.resolve_account(r).await?;
        let prefs = self
            .store
            .set_contact_prefs(account.id, user, &change)
            .await?;
        let mut contact = match self.store.contact(account.id, user).await? {
            Some(row) => crate::convert::contact(&row),
            None => ipc::Contact {
                user: user.to_owned(),
                key_state: ipc::KeyState::Unknown as i32,
                ..Default::default()
            },
        };
        crate::convert::with_prefs(&mut contact, &prefs);
        contact.account = Some(account_ref(&server, &account));
        self.events
            .emit(event::Kind::ContactChanged(contact.clone()))
            .await;
        Ok(contact)
    }

    /// Deletes the local history with `peer` (and so its read markers); returns how many
    /// messages went.
    pub async fn delete_conversation(
        &self,
        r: Option<&AccountRef>,
        peer: &str,
    ) -> Result<u64, ApiError> {
        if peer.is_empty() {
            return Err(ApiError::Invalid("name the conversation's user".into()));
        }
        let (server, account) = self.resolve_account(r).await?;
        let deleted = self.store.delete_conversation(account.id, peer).await?;
        self.events
            .emit(event::Kind::ConversationDeleted(ipc::ConversationDeleted {
                account: Some(account_ref(&server, &account)),
                peer: peer.to_owned(),
                messages_deleted: deleted,
            }))
            .await;
        Ok(deleted)
    }

    /// Sets (or with `None` resets) a notification or hook setting live and announces it.
    pub async fn change_setting(&self, name: &str, value: Option<&str>) -> Result<Shown, ApiError> {
        let shown = self
            .notify
            .change(&self.store, name, value)
            .await
            .map_err(|e| match e {
                ChangeError::Setting(SettingError::Unknown(_)) => ApiError::NotFound(e.to_string()),
                ChangeError::Setting(other) => ApiError::Invalid(other.to_string()),
                ChangeError::Store(s) => ApiError::from(s),
            })?;
        self.events
            .emit(event::Kind::SettingChanged(setting_view(&shown)))
            .await;
        Ok(shown)
    }
}

/// The API form of a setting.
pub fn setting_view(s: &Shown) -> ipc::Setting {
    ipc::Setting {
        name: s.name.clone(),
        value: s.value.clone(),
        source: s.source.to_owned(),
        help: s.help.to_owned(),
    }
}
