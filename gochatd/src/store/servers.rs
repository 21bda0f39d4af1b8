//! Server profiles.

use super::rows::{SERVER_COLUMNS, server_from_row};
use super::{BEGIN_WRITE, RejectedCert, ServerRow, Store, StoreError, is_unique_violation};

impl Store {
    /// Adds a server profile and returns it with its assigned id (`s.id` is ignored).
    /// [`StoreError::Conflict`] if a profile with that name exists. The first profile always
    /// becomes the default; a later one marked `is_default` takes the mark from the others.
    pub async fn add_server(&self, s: &ServerRow) -> Result<ServerRow, StoreError> {
        let mut tx = self.pool.begin_with(BEGIN_WRITE).await?;
        let others: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM servers")
            .fetch_one(&mut *tx)
            .await?;
        let is_default = s.is_default || others == 0;
        if is_default {
            sqlx::query("UPDATE servers SET is_default = 0 WHERE is_default = 1")
                .execute(&mut *tx)
                .await?;
        }
        let sql = format!(
            "INSERT INTO servers (name, host, port, tls, verify, ca_file, is_default, pins) \
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8) RETURNING {SERVER_COLUMNS}"
        );
        let row = sqlx::query(&sql)
            .bind(&s.name)
            .bind(&s.host)
            .bind(i64::from(s.port))
            .bind(s.tls)
            .bind(s.verify)
            .bind(&s.ca_file)
            .bind(is_default)
            .bind(s.pins.join("\n"))
            .fetch_one(&mut *tx)
            .await
            .map_err(|e| {
                if is_unique_violation(&e) {
                    StoreError::Conflict(format!("a server named {:?} exists", s.name))
                } else {
                    e.into()
                }
            })?;
        let added = server_from_row(&row)?;
        tx.commit().await?;
        Ok(added)
    }

    /// Replaces every field of the profile named `s.name` (`s.id` is ignored) and returns the
    /// stored row. [`StoreError::NotFound`] if there is none. Setting `is_default` clears it
    /// on every other profile.
    pub async fn update_server(&self, s: &ServerRow) -> Result<ServerRow, StoreError> {
        let mut tx = self.pool.begin_with(BEGIN_WRITE).await?;
        if s.is_default {
            sqlx::query("UPDATE servers SET is_default = 0 WHERE is_default = 1 AND name <> ?1")
                .bind(&s.name)
                .execute(&mut *tx)
                .await?;
        }
        let sql = format!(
            "UPDATE servers SET host = ?2, port = ?3, tls = ?4, verify = ?5, ca_file = ?6, \
             is_default = ?7, pins = ?8 WHERE name = ?1 RETURNING {SERVER_COLUMNS}"
        );
        let row = sqlx::query(&sql)
            .bind(&s.name)
            .bind(&s.host)
            .bind(i64::from(s.port))
            .bind(s.tls)
            .bind(s.verify)
            .bind(&s.ca_file)
            .bind(s.is_default)
            .bind(s.pins.join("\n"))
            .fetch_optional(&mut *tx)
            .await?
            .ok_or(StoreError::NotFound)?;
        let updated = server_from_row(&row)?;
        tx.commit().await?;
        Ok(updated)
    }

    /// Records the certificate the server of profile `id` presented and that was refused
    /// (`None` clears it). Returns whether the stored value changed.
    pub async fn set_server_rejection(
        &self,
        id: i64,
        rejected: Option<&RejectedCert>,
    ) -> Result<bool, StoreError> {
        let done = sqlx::query(
            "UPDATE servers SET rejected_cert = ?2, rejected_problem = ?3, rejected_changed = ?4 \
             WHERE id = ?1 AND NOT (rejected_cert IS ?2 AND rejected_problem IS ?3 \
             AND rejected_changed = ?4)",
        )
        .bind(id)
        .bind(rejected.map(|r| r.der.as_slice()))
        .bind(rejected.map(|r| r.problem.as_str()))
        .bind(rejected.is_some_and(|r| r.changed))
        .execute(&self.pool)
        .await?;
        Ok(done.rows_affected() > 0)
    }

    /// Removes the profile named `name` with its accounts and their contacts and messages.
    /// [`StoreError::NotFound`] if there is none. When the default profile is removed, the
    /// first remaining profile by name becomes the default.
    pub async fn remove_server(&self, name: &str) -> Result<(), StoreError> {
        let mut tx = self.pool.begin_with(BEGIN_WRITE).await?;
        let was_default: bool =
            sqlx::query_scalar("DELETE FROM servers WHERE name = ?1 RETURNING is_default")
                .bind(name)
                .fetch_optional(&mut *tx)
                .await?
                .ok_or(StoreError::NotFound)?;
        if was_default {
            sqlx::query(
                "UPDATE servers SET is_default = 1 \
                 WHERE id = (SELECT id FROM servers ORDER BY name LIMIT 1)",
            )
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await?;
        Ok(())
    }

    /// The profile named `name`.
    pub async fn server(&self, name: &str) -> Result<Option<ServerRow>, StoreError> {
        let sql = format!("SELECT {SERVER_COLUMNS} FROM servers WHERE name = ?1");
        let row = sqlx::query(&sql)
            .bind(name)
            .fetch_optional(&self.pool)
            .await?;
        Ok(row.as_ref().map(server_from_row).transpose()?)
    }

    /// The profile with id `id`.
    pub async fn server_by_id(&self, id: i64) -> Result<Option<ServerRow>, StoreError> {
        let sql = format!("SELECT {SERVER_COLUMNS} FROM servers WHERE id = ?1");
        let row = sqlx::query(&sql)
            .bind(id)
            .fetch_optional(&self.pool)
            .await?;
        Ok(row.as_ref().map(server_from_row).transpose()?)
    }

    /// Every profile, by name.
    pub async fn list_servers(&self) -> Result<Vec<ServerRow>, StoreError> {
        let sql = format!("SELECT {SERVER_COLUMNS} FROM servers ORDER BY name");
        let rows = sqlx::query(&sql).fetch_all(&self.pool).await?;
        Ok(rows.iter().map(server_from_row).collect::<Result<_, _>>()?)
    }
}
