//! The server-profile service: adding, listing, changing and removing profiles. A change
//! restarts the links of the profile's accounts and tells the frontends.

use crate::daemon::Daemon;
use crate::error::ApiError;
use crate::service::trust::normalize_pins;
use crate::store::{ServerRow, StoreError};

impl Daemon {
    /// Adds a profile.
    /// A TLS profile that verifies certificates is checked at once: when its server is
    /// reachable and presents a certificate the profile refuses, the returned row carries it
    /// in `rejected` (to be pinned with [`Daemon::trust_server`]).
    pub async fn add_server(&self, mut row: ServerRow) -> Result<ServerRow, ApiError> {
        row.pins = normalize_pins(&row.pins)?;
        let row = self.store.add_server(&row).await.map_err(|e| match e {
            StoreError::Conflict(m) => ApiError::Exists(m),
            other => ApiError::Store(other),
        })?;
        let row = self.check_new_server(row).await?;
        self.config_changed("servers").await;
        Ok(row)
    }

    /// Every profile.
    pub async fn list_servers(&self) -> Result<Vec<ServerRow>, ApiError> {
        Ok(self.store.list_servers().await?)
    }

    /// Changes the profile named `row.name`; its accounts' links reconnect with the new
    /// settings.
    pub async fn update_server(&self, mut row: ServerRow) -> Result<ServerRow, ApiError> {
        row.pins = normalize_pins(&row.pins)?;
        let row = self.store.update_server(&row).await.map_err(|e| match e {
            StoreError::NotFound => {
                ApiError::NotFound(format!("no server profile called {:?}", row.name))
            }
            other => ApiError::Store(other),
        })?;
        self.restart_links(row.id).await?;
        self.config_changed("servers").await;
        Ok(row)
    }

    /// Removes a profile that no account uses any more.
    pub async fn remove_server(&self, name: &str) -> Result<(), ApiError> {
        if name.is_empty() {
            return Err(ApiError::Invalid(
                "name the server profile to remove".into(),
            ));
        }
        let server = self.resolve_server(name).await?;
        if let Some(account) = self
            .store
            .list_accounts()
            .await?
            .into_iter()
            .find(|a| a.server_id == server.id)
        {
            return Err(ApiError::Invalid(format!(
                "server {:?} still has account {:?}: deregister or remove it first",
                server.name, account.username
            )));
        }
        self.store.remove_server(&server.name).await?;
        self.config_changed("servers").await;
        Ok(())
    }
}
