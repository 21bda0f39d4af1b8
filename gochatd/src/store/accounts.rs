//! Accounts and contacts.

use super::rows::{ACCOUNT_COLUMNS, CONTACT_COLUMNS, account_from_row, contact_from_row};
use super::{
    AccountRow, ContactRow, Store, StoreError, is_foreign_key_violation, is_unique_violation,
    missing_parent_is_not_found,
};

impl Store {
    /// Adds an account and returns it with its assigned id (`a.id` is ignored).
    /// [`StoreError::Conflict`] if the server already has an account with that username,
    /// [`StoreError::NotFound`] if there is no server `a.server_id`.
    pub async fn add_account(&self, a: &AccountRow) -> Result<AccountRow, StoreError> {
        let sql = format!(
            "INSERT INTO accounts (server_id, username, key_blob, key_encrypted, public_pem, \
             fingerprint, auto_login, permission) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8) \
             RETURNING {ACCOUNT_COLUMNS}"
        );
        let row = sqlx::query(&sql)
            .bind(a.server_id)
            .bind(&a.username)
            .bind(&a.key_blob)
            .bind(a.key_encrypted)
            .bind(&a.public_pem)
            .bind(&a.fingerprint)
            .bind(a.auto_login)
            .bind(i64::from(a.permission))
            .fetch_one(&self.pool)
            .await
            .map_err(|e| {
                if is_unique_violation(&e) {
                    StoreError::Conflict(format!(
                        "the server already has an account {:?}",
                        a.username
                    ))
                } else if is_foreign_key_violation(&e) {
                    StoreError::NotFound
                } else {
                    e.into()
                }
            })?;
        Ok(account_from_row(&row)?)
    }

    /// The account `username` on server `server_id`.
    pub async fn account(
        &self,
        server_id: i64,
        username: &str,
    ) -> Result<Option<AccountRow>, StoreError> {
        let sql = format!(
            "SELECT {ACCOUNT_COLUMNS} FROM accounts WHERE server_id = ?1 AND username = ?2"
        );
        let row = sqlx::query(&sql)
            .bind(server_id)
            .bind(username)
            .fetch_optional(&self.pool)
            .await?;
        Ok(row.as_ref().map(account_from_row).transpose()?)
    }

    /// The account with id `id`.
    pub async fn account_by_id(&self, id: i64) -> Result<Option<AccountRow>, StoreError> {
        let sql = format!("SELECT {ACCOUNT_COLUMNS} FROM accounts WHERE id = ?1");
        let row = sqlx::query(&sql)
            .bind(id)
            .fetch_optional(&self.pool)
            .await?;
        Ok(row.as_ref().map(account_from_row).transpose()?)
    }

    /// Every account, ordered by server name, then username.
    pub async fn list_accounts(&self) -> Result<Vec<AccountRow>, StoreError> {
        let columns = ACCOUNT_COLUMNS
            .split(", ")
            .map(|c| format!("a.{c} AS {c}"))
            .collect::<Vec<_>>()
            .join(", ");
        let sql = format!(
            "SELECT {columns} FROM accounts a JOIN servers s ON s.id = a.server_id \
             ORDER BY s.name, a.username"
        );
        let rows = sqlx::query(&sql).fetch_all(&self.pool).await?;
        Ok(rows
            .iter()
            .map(account_from_row)
            .collect::<Result<_, _>>()?)
    }

    /// Replaces the mutable fields (key, key encryption, public key, fingerprint, auto-login,
    /// permission) of account `a.id`; its server and username stay.
    /// [`StoreError::NotFound`] if there is no such account.
    pub async fn update_account(&self, a: &AccountRow) -> Result<(), StoreError> {
        let done = sqlx::query(
            "UPDATE accounts SET key_blob = ?2, key_encrypted = ?3, public_pem = ?4, \
             fingerprint = ?5, auto_login = ?6, permission = ?7 WHERE id = ?1",
        )
        .bind(a.id)
        .bind(&a.key_blob)
        .bind(a.key_encrypted)
        .bind(&a.public_pem)
        .bind(&a.fingerprint)
        .bind(a.auto_login)
        .bind(i64::from(a.permission))
        .execute(&self.pool)
        .await?;
        if done.rows_affected() == 0 {
            return Err(StoreError::NotFound);
        }
        Ok(())
    }

    /// Removes account `id` with its contacts and messages.
    /// [`StoreError::NotFound`] if there is no such account.
    pub async fn remove_account(&self, id: i64) -> Result<(), StoreError> {
        let done = sqlx::query("DELETE FROM accounts WHERE id = ?1")
            .bind(id)
            .execute(&self.pool)
            .await?;
        if done.rows_affected() == 0 {
            return Err(StoreError::NotFound);
        }
        Ok(())
    }

    /// The contact `user` of account `account_id`.
    pub async fn contact(
        &self,
        account_id: i64,
        user: &str,
    ) -> Result<Option<ContactRow>, StoreError> {
        let sql =
            format!("SELECT {CONTACT_COLUMNS} FROM contacts WHERE account_id = ?1 AND user = ?2");
        let row = sqlx::query(&sql)
            .bind(account_id)
            .bind(user)
            .fetch_optional(&self.pool)
            .await?;
        Ok(row.as_ref().map(contact_from_row).transpose()?)
    }

    /// Inserts the contact, or replaces every field of the existing one with the same
    /// account and user. [`StoreError::NotFound`] if there is no account `c.account_id`.
    pub async fn upsert_contact(&self, c: &ContactRow) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO contacts (account_id, user, public_pem, fingerprint, pending_pem, \
             pending_fingerprint, permission, key_origin) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8) \
             ON CONFLICT (account_id, user) DO UPDATE SET public_pem = excluded.public_pem, \
             fingerprint = excluded.fingerprint, pending_pem = excluded.pending_pem, \
             pending_fingerprint = excluded.pending_fingerprint, \
             permission = excluded.permission, key_origin = excluded.key_origin",
        )
        .bind(c.account_id)
        .bind(&c.user)
        .bind(&c.public_pem)
        .bind(&c.fingerprint)
        .bind(&c.pending_pem)
        .bind(&c.pending_fingerprint)
        .bind(i64::from(c.permission))
        .bind(&c.key_origin)
        .execute(&self.pool)
        .await
        .map_err(missing_parent_is_not_found)?;
        Ok(())
    }

    /// Every contact of account `account_id`, by user name.
    pub async fn list_contacts(&self, account_id: i64) -> Result<Vec<ContactRow>, StoreError> {
        let sql =
            format!("SELECT {CONTACT_COLUMNS} FROM contacts WHERE account_id = ?1 ORDER BY user");
        let rows = sqlx::query(&sql)
            .bind(account_id)
            .fetch_all(&self.pool)
            .await?;
        Ok(rows
            .iter()
            .map(contact_from_row)
            .collect::<Result<_, _>>()?)
    }
}
