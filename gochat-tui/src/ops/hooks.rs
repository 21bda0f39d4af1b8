//! Hook subscriptions and administrative operations: both answer only "done" or why not.

use gochat_client::errors::DaemonError;
use gochat_proto::ipc::{self, DaemonClient, HookRequest, admin_request};

use super::{some_ref, status_error};
use crate::app::AccountKey;

/// Subscribes to the hook (`gochat_proto::ipc::Hook` value), or unsubscribes.
pub(super) async fn hook(
    c: &mut DaemonClient,
    account: &AccountKey,
    hook: i32,
    subscribe: bool,
) -> Result<(), DaemonError> {
    let request = HookRequest {
        account: some_ref(account),
        hook,
    };
    let result = if subscribe {
        c.subscribe_hook(request).await
    } else {
        c.unsubscribe_hook(request).await
    };
    result.map(|_| ()).map_err(|s| status_error(&s))
}

/// Runs an administrative operation as the account.
pub(super) async fn admin(
    c: &mut DaemonClient,
    account: &AccountKey,
    op: admin_request::Op,
) -> Result<(), DaemonError> {
    c.admin(ipc::AdminRequest {
        account: some_ref(account),
        op: Some(op),
    })
    .await
    .map(|_| ())
    .map_err(|s| status_error(&s))
}
