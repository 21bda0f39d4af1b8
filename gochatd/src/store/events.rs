//! The numbered event log behind `Subscribe(since)`.
//!
//! Ids come from an `AUTOINCREMENT` key: they only grow and are never reused, even after
//! [`prune_events`](Store::prune_events) removed every row, so a frontend's resume point
//! stays meaningful across pruning and daemon restarts.

use sqlx::Row;

use super::{Store, StoreError, to_sql_int};

/// An event id read from the database as `u64` (ids are positive; a negative one is corrupt).
fn event_id(v: i64) -> Result<u64, sqlx::Error> {
    u64::try_from(v).map_err(|_| sqlx::Error::ColumnDecode {
        index: "id".to_owned(),
        source: format!("negative event id {v}").into(),
    })
}

impl Store {
    /// Appends an event (an encoded `daemon.v1.Event`) and returns its id.
    pub async fn append_event(&self, payload: &[u8]) -> Result<u64, StoreError> {
        append_event_on(&self.pool, payload).await
    }

    /// Up to `limit` events with an id above `after`, oldest first.
    pub async fn events_after(
        &self,
        after: u64,
        limit: u32,
    ) -> Result<Vec<(u64, Vec<u8>)>, StoreError> {
        let rows = sqlx::query("SELECT id, payload FROM events WHERE id > ?1 ORDER BY id LIMIT ?2")
            .bind(to_sql_int(after))
            .bind(i64::from(limit))
            .fetch_all(&self.pool)
            .await?;
        let mut out = Vec::with_capacity(rows.len());
        for row in &rows {
            let id: i64 = row.try_get("id")?;
            out.push((event_id(id)?, row.try_get("payload")?));
        }
        Ok(out)
    }

    /// The oldest event still in the log, if any.
    pub async fn first_event_id(&self) -> Result<Option<u64>, StoreError> {
        let id: Option<i64> = sqlx::query_scalar("SELECT MIN(id) FROM events")
            .fetch_one(&self.pool)
            .await?;
        Ok(id.map(event_id).transpose()?)
    }

    /// The id of the newest event ever appended (also when it was pruned since); 0 if none
    /// ever was.
    pub async fn last_event_id(&self) -> Result<u64, StoreError> {
        let id: i64 = sqlx::query_scalar(
            "SELECT MAX(COALESCE((SELECT seq FROM sqlite_sequence WHERE name = 'events'), 0), \
                        COALESCE((SELECT MAX(id) FROM events), 0))",
        )
        .fetch_one(&self.pool)
        .await?;
        Ok(event_id(id)?)
    }

    /// Removes all but the newest `keep` events.
    pub async fn prune_events(&self, keep: u64) -> Result<(), StoreError> {
        sqlx::query(
            "DELETE FROM events \
             WHERE id <= (SELECT id FROM events ORDER BY id DESC LIMIT 1 OFFSET ?1)",
        )
        .bind(to_sql_int(keep))
        .execute(&self.pool)
        .await?;
        Ok(())
    }
}

/// [`Store::append_event`] on any connection (the pool, or a write transaction).
pub(super) async fn append_event_on<'e, E>(exec: E, payload: &[u8]) -> Result<u64, StoreError>
where
    E: sqlx::Executor<'e, Database = sqlx::Sqlite>,
{
    let id: i64 = sqlx::query_scalar("INSERT INTO events (payload) VALUES (?1) RETURNING id")
        .bind(payload)
        .fetch_one(exec)
        .await?;
    Ok(event_id(id)?)
}
