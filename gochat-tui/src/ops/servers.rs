//! Server profiles: adding, changing and removing them (the snapshot reload shows them).

use gochat_client::errors::DaemonError;
use gochat_proto::ipc::{DaemonClient, ServerProfile, ServerRef};

use super::status_error;

/// Adds a profile.
pub(super) async fn add(c: &mut DaemonClient, profile: ServerProfile) -> Result<(), DaemonError> {
    c.add_server(profile)
        .await
        .map(|_| ())
        .map_err(|s| status_error(&s))
}

/// Replaces the profile of the same name.
pub(super) async fn update(
    c: &mut DaemonClient,
    profile: ServerProfile,
) -> Result<(), DaemonError> {
    c.update_server(profile)
        .await
        .map(|_| ())
        .map_err(|s| status_error(&s))
}

/// Removes the profile `name`.
pub(super) async fn remove(c: &mut DaemonClient, name: String) -> Result<(), DaemonError> {
    c.remove_server(ServerRef { name })
        .await
        .map(|_| ())
        .map_err(|s| status_error(&s))
}
