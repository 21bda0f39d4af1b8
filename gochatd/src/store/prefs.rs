//! Local preferences of contacts (alias, mute, block, notification mode, with the counts of
//! muted and blocked messages), conversation deletion, and the settings changed live.

use std::collections::HashMap;

use sqlx::Row;

use super::write::WriteTx;
use super::{BEGIN_WRITE, Store, StoreError, missing_parent_is_not_found};

/// When a notification is sent for a message (a contact's or an account's choice).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum NotifyMode {
    /// For every message.
    On,
    /// Never.
    Off,
    /// Only when the text names the account's user.
    Mentions,
}

impl NotifyMode {
    /// The stored (and configured) name.
    pub fn name(self) -> &'static str {
        match self {
            NotifyMode::On => "on",
            NotifyMode::Off => "off",
            NotifyMode::Mentions => "mentions",
        }
    }

    /// The mode called `name`, if any.
    pub fn from_name(name: &str) -> Option<NotifyMode> {
        match name {
            "on" => Some(NotifyMode::On),
            "off" => Some(NotifyMode::Off),
            "mentions" => Some(NotifyMode::Mentions),
            _ => None,
        }
    }
}

/// A contact's local preferences; the default is a contact nobody set anything for.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ContactPrefs {
    /// Shown instead of the user name.
    pub alias: Option<String>,
    /// Stored and counted, but no notification and no hook.
    pub muted: bool,
    /// Dropped on arrival and counted.
    pub blocked: bool,
    /// `None`: the account's mode.
    pub notify: Option<NotifyMode>,
    /// Messages received while muted.
    pub muted_count: u64,
    /// Messages dropped while blocked.
    pub blocked_count: u64,
}

/// A change of preferences; `None` fields stay as they are.
#[derive(Debug, Clone, Default)]
pub struct PrefsChange {
    /// `Some("")` removes the alias.
    pub alias: Option<String>,
    /// Mute or unmute.
    pub muted: Option<bool>,
    /// Block or unblock.
    pub blocked: Option<bool>,
    /// `Some(None)`: back to the account's mode.
    pub notify: Option<Option<NotifyMode>>,
}

/// What arrival does with a sender's messages.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ArrivalRule {
    /// Stored, notified, hooked.
    Normal,
    /// Stored and counted; no notification or hook.
    Muted,
    /// Dropped and counted.
    Blocked,
}

const PREFS_COLUMNS: &str = "alias, muted, blocked, notify, muted_count, blocked_count";

fn prefs_from_row(row: &sqlx::sqlite::SqliteRow) -> Result<ContactPrefs, sqlx::Error> {
    let notify: Option<String> = row.try_get("notify")?;
    let count = |name: &str| -> Result<u64, sqlx::Error> {
        Ok(u64::try_from(row.try_get::<i64, _>(name)?).unwrap_or(0))
    };
    Ok(ContactPrefs {
        alias: row.try_get("alias")?,
        muted: row.try_get("muted")?,
        blocked: row.try_get("blocked")?,
        notify: notify.as_deref().and_then(NotifyMode::from_name),
        muted_count: count("muted_count")?,
        blocked_count: count("blocked_count")?,
    })
}

impl Store {
    /// The preferences of `user` for account `account_id` (the default when none were set).
    pub async fn contact_prefs(
        &self,
        account_id: i64,
        user: &str,
    ) -> Result<ContactPrefs, StoreError> {
        let sql = format!(
            "SELECT {PREFS_COLUMNS} FROM contact_prefs WHERE account_id = ?1 AND user = ?2"
        );
        let row = sqlx::query(&sql)
            .bind(account_id)
            .bind(user)
            .fetch_optional(&self.pool)
            .await?;
        Ok(row
            .as_ref()
            .map(prefs_from_row)
            .transpose()?
            .unwrap_or_default())
    }

    /// Every contact of the account with preferences set, by user name.
    pub async fn list_contact_prefs(
        &self,
        account_id: i64,
    ) -> Result<Vec<(String, ContactPrefs)>, StoreError> {
        let sql = format!(
            "SELECT user, {PREFS_COLUMNS} FROM contact_prefs WHERE account_id = ?1 ORDER BY user"
        );
        let rows = sqlx::query(&sql)
            .bind(account_id)
            .fetch_all(&self.pool)
            .await?;
        let mut out = Vec::with_capacity(rows.len());
        for row in &rows {
            out.push((row.try_get("user")?, prefs_from_row(row)?));
        }
        Ok(out)
    }

    /// Applies `change` to the preferences of `user` and returns them.
    /// [`StoreError::NotFound`] if there is no account `account_id`.
    pub async fn set_contact_prefs(
        &self,
        account_id: i64,
        user: &str,
        change: &PrefsChange,
    ) -> Result<ContactPrefs, StoreError> {
        let mut tx = self.pool.begin_with(BEGIN_WRITE).await?;
        sqlx::query(
            "INSERT INTO contact_prefs (account_id, user) VALUES (?1, ?2) ON CONFLICT DO NOTHING",
        )
        .bind(account_id)
        .bind(user)
        .execute(&mut *tx)
        .await
        .map_err(missing_parent_is_not_found)?;
        if let Some(alias) = &change.alias {
            let alias = (!alias.is_empty()).then_some(alias.as_str());
            sqlx::query("UPDATE contact_prefs SET alias = ?3 WHERE account_id = ?1 AND user = ?2")
                .bind(account_id)
                .bind(user)
                .bind(alias)
                .execute(&mut *tx)
                .await?;
        }
        if let Some(muted) = change.muted {
            sqlx::query("UPDATE contact_prefs SET muted = ?3 WHERE account_id = ?1 AND user = ?2")
                .bind(account_id)
                .bind(user)
                .bind(muted)
                .execute(&mut *tx)
                .await?;
        }
        if let Some(blocked) = change.blocked {
            sqlx::query(
                "UPDATE contact_prefs SET blocked = ?3 WHERE account_id = ?1 AND user = ?2",
            )
            .bind(account_id)
            .bind(user)
            .bind(blocked)
            .execute(&mut *tx)
            .await?;
        }
        if let Some(notify) = change.notify {
            sqlx::query("UPDATE contact_prefs SET notify = ?3 WHERE account_id = ?1 AND user = ?2")
                .bind(account_id)
                .bind(user)
                .bind(notify.map(NotifyMode::name))
                .execute(&mut *tx)
                .await?;
        }
        let sql = format!(
            "SELECT {PREFS_COLUMNS} FROM contact_prefs WHERE account_id = ?1 AND user = ?2"
        );
        let row = sqlx::query(&sql)
            .bind(account_id)
            .bind(user)
            .fetch_one(&mut *tx)
            .await?;
        let prefs = prefs_from_row(&row)?;
        tx.commit().await?;
        Ok(prefs)
    }

    /// Deletes every message exchanged with `peer` (their read markers go with them) and
    /// returns how many there were.
    pub async fn delete_conversation(
        &self,
        account_id: i64,
        peer: &str,
    ) -> Result<u64, StoreError> {
        let done = sqlx::query("DELETE FROM messages WHERE account_id = ?1 AND peer = ?2")
            .bind(account_id)
            .bind(peer)
            .execute(&self.pool)
            .await?;
        Ok(done.rows_affected())
    }

    /// Settings changed live, by name (values in TOML syntax).
    pub async fn settings(&self) -> Result<HashMap<String, String>, StoreError> {
        let rows = sqlx::query("SELECT name, value FROM settings")
            .fetch_all(&self.pool)
            .await?;
        let mut out = HashMap::with_capacity(rows.len());
        for row in &rows {
            out.insert(row.try_get("name")?, row.try_get("value")?);
        }
        Ok(out)
    }

    /// Keeps a live setting (`None`: forgets it).
    pub async fn put_setting(&self, name: &str, value: Option<&str>) -> Result<(), StoreError> {
        match value {
            Some(value) => {
                sqlx::query(
                    "INSERT INTO settings (name, value) VALUES (?1, ?2) \
                     ON CONFLICT (name) DO UPDATE SET value = excluded.value",
                )
                .bind(name)
                .bind(value)
                .execute(&self.pool)
                .await?
            }
            None => {
                sqlx::query("DELETE FROM settings WHERE name = ?1")
                    .bind(name)
                    .execute(&self.pool)
                    .await?
            }
        };
        Ok(())
    }
}

impl WriteTx {
    /// How arrival treats each muted or blocked sender of account `account_id` (the others
    /// are [`ArrivalRule::Normal`]).
    pub async fn arrival_rules(
        &mut self,
        account_id: i64,
    ) -> Result<HashMap<String, ArrivalRule>, StoreError> {
        let rows = sqlx::query(
            "SELECT user, blocked FROM contact_prefs \
             WHERE account_id = ?1 AND (muted = 1 OR blocked = 1)",
        )
        .bind(account_id)
        .fetch_all(self.conn())
        .await?;
        let mut out = HashMap::with_capacity(rows.len());
        for row in &rows {
            let blocked: bool = row.try_get("blocked")?;
            let arrival = if blocked {
                ArrivalRule::Blocked
            } else {
                ArrivalRule::Muted
            };
            out.insert(row.try_get("user")?, arrival);
        }
        Ok(out)
    }

    /// Counts `n` messages from `user` that arrived muted or blocked.
    pub async fn count_arrivals(
        &mut self,
        account_id: i64,
        user: &str,
        arrival: ArrivalRule,
        n: u64,
    ) -> Result<(), StoreError> {
        let sql = match arrival {
            ArrivalRule::Normal => return Ok(()),
            ArrivalRule::Muted => {
                "UPDATE contact_prefs SET muted_count = muted_count + ?3 \
                 WHERE account_id = ?1 AND user = ?2"
            }
            ArrivalRule::Blocked => {
                "UPDATE contact_prefs SET blocked_count = blocked_count + ?3 \
                 WHERE account_id = ?1 AND user = ?2"
            }
        };
        sqlx::query(sql)
            .bind(account_id)
            .bind(user)
            .bind(i64::try_from(n).unwrap_or(i64::MAX))
            .execute(self.conn())
            .await?;
        Ok(())
    }
}

impl Store {
    /// The id of the account `username` on the server profile `server`.
    pub async fn account_id_by_names(
        &self,
        server: &str,
        username: &str,
    ) -> Result<Option<i64>, StoreError> {
        let id = sqlx::query_scalar(
            "SELECT a.id FROM accounts a JOIN servers s ON s.id = a.server_id \
             WHERE s.name = ?1 AND a.username = ?2",
        )
        .bind(server)
        .bind(username)
        .fetch_optional(&self.pool)
        .await?;
        Ok(id)
    }
}
