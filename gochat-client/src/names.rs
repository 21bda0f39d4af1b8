//! Display names of the daemon's enumerations, the same in every frontend.

use gochat_proto::ipc::{ErrorReason, ServerError};

/// A permission level's name: `user`, `admin`, `owner`, else `unknown`.
pub fn permission_name(level: u32) -> &'static str {
    match level {
        0 => "user",
        1 => "admin",
        2 => "owner",
        _ => "unknown",
    }
}

/// An error reason's name for scripts: `not_found`, `locked`, …; `None` when unspecified.
pub fn reason_name(reason: ErrorReason) -> Option<String> {
    match reason {
        ErrorReason::Unspecified => None,
        r => r
            .as_str_name()
            .strip_prefix("ERROR_REASON_")
            .map(str::to_ascii_lowercase),
    }
}

/// A server error code by its protocol name (`ERR_PERMS`, `ERR_NOTFOUND`, …); `None` when
/// unspecified.
pub fn server_error_name(code: ServerError) -> Option<String> {
    match code {
        ServerError::Unspecified => None,
        c => c
            .as_str_name()
            .strip_prefix("SERVER_ERROR_")
            .map(|name| format!("ERR_{}", name.replace('_', ""))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_for_scripts() {
        assert_eq!(
            reason_name(ErrorReason::AmbiguousAccount).as_deref(),
            Some("ambiguous_account")
        );
        assert_eq!(reason_name(ErrorReason::Unspecified), None);
        assert_eq!(
            server_error_name(ServerError::NotFound).as_deref(),
            Some("ERR_NOTFOUND")
        );
        assert_eq!(
            server_error_name(ServerError::DupSess).as_deref(),
            Some("ERR_DUPSESS")
        );
        assert_eq!(server_error_name(ServerError::Unspecified), None);
    }
}
