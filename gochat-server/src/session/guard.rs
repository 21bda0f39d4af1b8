//! Guards around REG, LOGIN and VERIF from a connection that is not logged in: the per-IP
//! rate limit, the log line and counter for each failed login, and the per-connection cap
//! on failed proofs of key (wrong VERIF answer or token) and rate-limited attempts.

use bytes::Bytes;
use gochat_proto::wire::{ErrorCode, MAX_USERNAME_LEN, Request};

use super::Session;
use crate::metrics::{Limit, Metrics};

/// A username from the network made safe for a log line: at most 32 bytes, every byte
/// outside printable ASCII escaped (so no control characters or fake lines reach the log).
pub(super) fn loggable_name(name: &[u8]) -> String {
    let shown = &name[..name.len().min(MAX_USERNAME_LEN)];
    let mut out = shown.escape_ascii().to_string();
    if name.len() > shown.len() {
        out.push_str("...");
    }
    out
}

/// The action name and username of a login-type request.
fn auth_request(request: &Request) -> Option<(&'static str, &Bytes)> {
    match request {
        Request::Reg { username, .. } => Some(("REG", username)),
        Request::Login { username, .. } => Some(("LOGIN", username)),
        Request::Verif { username, .. } => Some(("VERIF", username)),
        _ => None,
    }
}

impl Session {
    /// Takes a token from the per-IP LOGIN/REG/VERIF bucket for `request`. Over the rate
    /// the request gets `ERR(SERVER)` ("try again later") and counts as a failed attempt.
    /// A VERIF answering this connection's own challenge is not charged: its LOGIN was.
    pub(super) async fn auth_allowed(&mut self, id: u16, request: &Request) -> bool {
        let Some((action, username)) = auth_request(request) else {
            return true;
        };
        let answers_own_challenge = matches!(request, Request::Verif { .. })
            && self
                .pending
                .as_ref()
                .is_some_and(|p| p.username == *username);
        if answers_own_challenge || self.deps.admission.allow_auth(self.conn.ip()) {
            return true;
        }
        self.deps.metrics.limit_hit(Limit::AuthRate);
        Metrics::inc(&self.deps.metrics.login_failures);
        if let Some(suppressed) = self.deps.admission.log_auth_limited() {
            tracing::warn!(
                conn = self.conn.id(),
                ip = %self.conn.ip(),
                user = %loggable_name(username),
                action,
                suppressed,
                "login rate limit reached, refused"
            );
        }
        self.err(id, ErrorCode::Server).await;
        self.count_auth_failure();
        false
    }

    /// Clears the record of the last error sent, before a LOGIN or VERIF runs.
    pub(super) fn begin_auth_attempt(&self) {
        self.last_error
            .store(0, std::sync::atomic::Ordering::Relaxed);
    }

    /// After a LOGIN or VERIF ran: if it was answered with an error, logs the failure (IP,
    /// escaped username, reason; never the challenge, answer or token) and counts it.
    pub(super) fn end_auth_attempt(&mut self, action: &'static str, username: &[u8]) {
        let last = self.last_error.load(std::sync::atomic::Ordering::Relaxed);
        let Some(code) = last.checked_sub(1).and_then(ErrorCode::from_code) else {
            return;
        };
        Metrics::inc(&self.deps.metrics.login_failures);
        tracing::warn!(
            conn = self.conn.id(),
            ip = %self.conn.ip(),
            user = %loggable_name(username),
            action,
            reason = code.name(),
            "login failed"
        );
        // Only a failed proof of key counts towards the cap: a mistyped or unknown name
        // costs little, and is rate-limited per IP anyway.
        if code == ErrorCode::Handshake {
            self.count_auth_failure();
        }
    }

    /// Counts a failed proof of key or a rate-limited attempt; at `max_auth_failures` the
    /// connection gets `ERR(LOGIN)` (ID 0) and is closed.
    fn count_auth_failure(&mut self) {
        self.auth_failures = self.auth_failures.saturating_add(1);
        if self.auth_failures < self.deps.config.max_auth_failures {
            return;
        }
        self.deps.metrics.limit_hit(Limit::AuthFailures);
        tracing::warn!(
            conn = self.conn.id(),
            ip = %self.conn.ip(),
            failures = self.auth_failures,
            "too many failed logins, closing"
        );
        if let Ok(bytes) = gochat_proto::wire::Packet::error(ErrorCode::Login, 0).to_bytes() {
            let _ = self.conn.try_send(bytes, None);
        }
        self.conn.close();
    }
}

#[cfg(test)]
mod tests {
    use super::loggable_name;

    #[test]
    fn names_are_escaped_and_cut() {
        assert_eq!(loggable_name(b"alice"), "alice");
        assert_eq!(loggable_name(b"a\nb\x1b[31m"), "a\\nb\\x1b[31m");
        assert_eq!(loggable_name(&[b'x'; 40]), format!("{}...", "x".repeat(32)));
        assert_eq!(loggable_name(&[0xff, b'"']), "\\xff\\\"");
    }
}
