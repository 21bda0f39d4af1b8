//! `/import go-client PATH`: moving a Go client user's data into gochatd. The passwords are
//! asked in a popup (the Go password, then a new passphrase); the daemon does the work.

use super::{need_daemon, usage};
use crate::app::{App, Level, PassPurpose, Popup};
use crate::msg::Effect;

/// Opens the password popup for importing the Go client database at `path` (relative
/// paths are taken from the TUI's working directory).
pub(super) fn go_client(app: &mut App, path: &str) -> Vec<Effect> {
    let path = path.trim();
    if path.is_empty() {
        return usage(app, "import");
    }
    if !need_daemon(app) {
        return Vec::new();
    }
    let absolute = match std::path::absolute(path) {
        Ok(p) if p.is_file() => p,
        Ok(p) => {
            app.notice_here(
                Level::Error,
                format!("{}: no such file (the Go client's client.db)", p.display()),
            );
            return Vec::new();
        }
        Err(e) => {
            app.notice_here(Level::Error, format!("{path}: {e}"));
            return Vec::new();
        }
    };
    app.popup = Some(Popup::Passphrase {
        purpose: PassPurpose::GoImport {
            path: absolute.to_string_lossy().into_owned(),
            go_password: None,
        },
        field: Default::default(),
        first: None,
        error: None,
    });
    Vec::new()
}
