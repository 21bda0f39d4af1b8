//! Checks on strings the server sends: user names (senders, hook users, user lists) and
//! addresses. A hostile or broken server can put any bytes there; only well-formed values get
//! into the store, events and frontends, and rejected ones are logged escaped and shortened.

use std::net::IpAddr;

use gochat_proto::wire::{MAX_USERNAME_LEN, parse_user_list};

/// Most bytes of a rejected value shown in a log line.
const MAX_SHOWN: usize = 48;
/// Most entries taken from one user list (the deployed server has no such limit, but a
/// list packet holds at most 16383 bytes, so about 8000 one-character names).
pub const MAX_LISTED_USERS: usize = 8192;

/// Whether `name` follows the protocol's username rule: 1 to 32 of `[0-9a-z]`.
///
/// (The Go server also accepts the empty name at registration; nobody can message it, so
/// the daemon treats it as invalid.)
pub fn valid_username(name: &[u8]) -> bool {
    (1..=MAX_USERNAME_LEN).contains(&name.len())
        && name
            .iter()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit())
}

/// A user name as the server sent it, or `None` if it breaks the username rule.
///
/// ASCII capitals are folded first: the deployed Go server with MariaDB's case-insensitive
/// collation lets `ALICE` log in as `alice` and then names her `ALICE` in RECIV, hooks and
/// user lists (GO-IMPLEMENTATION.md, 4.C6). Everything else outside `[0-9a-z]` is refused.
pub fn server_username(raw: &[u8]) -> Option<String> {
    let folded = raw.to_ascii_lowercase();
    if !valid_username(&folded) {
        return None;
    }
    String::from_utf8(folded).ok()
}

/// An IP address as the server sent it (DUPSESS), or `None` if it is not one.
pub fn server_ip(raw: &[u8]) -> Option<String> {
    if raw.len() > 64 {
        return None;
    }
    let text = std::str::from_utf8(raw).ok()?;
    text.parse::<IpAddr>().ok().map(|ip| ip.to_string())
}

/// The valid entries of a `USRS` list (names folded as in [`server_username`]), at most
/// [`MAX_LISTED_USERS`]; invalid entries are logged and left out.
pub fn server_user_list(list: &[u8]) -> Vec<(String, Option<u8>)> {
    let mut users = Vec::new();
    let mut rejected = 0usize;
    for (name, level) in parse_user_list(list) {
        match server_username(name.as_bytes()) {
            Some(name) if users.len() < MAX_LISTED_USERS => users.push((name, level)),
            Some(_) => rejected += 1,
            None => {
                if rejected == 0 {
                    tracing::warn!(name = %shown(name.as_bytes()), "the server listed an invalid user name");
                }
                rejected += 1;
            }
        }
    }
    if rejected > 0 {
        tracing::warn!(
            rejected,
            "left invalid or surplus entries out of a user list"
        );
    }
    users
}

/// `raw` made safe for a log line: printable ASCII as is, everything else escaped, at most
/// [`MAX_SHOWN`] bytes of it, with the full length when it was cut.
pub fn shown(raw: &[u8]) -> String {
    let cut = &raw[..raw.len().min(MAX_SHOWN)];
    let mut out = cut.escape_ascii().to_string();
    if raw.len() > MAX_SHOWN {
        out.push_str(&format!("... ({} bytes)", raw.len()));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn usernames() {
        assert!(valid_username(b"alice"));
        assert!(valid_username(b"0"));
        assert!(valid_username(&[b'a'; 32]));
        assert!(!valid_username(&[b'a'; 33]));
        assert!(!valid_username(b""));
        assert!(!valid_username(b"Alice"));
        assert!(!valid_username(b"a b"));
        assert!(!valid_username(b"a\x1b[2K"));
        assert!(!valid_username("zoë".as_bytes()));
        assert_eq!(server_username(b"ALICE").as_deref(), Some("alice"));
        assert_eq!(server_username(b"al\x1bice"), None);
        assert_eq!(server_username(&[b'a'; 2000]), None);
    }

    #[test]
    fn ips() {
        assert_eq!(server_ip(b"192.0.2.7").as_deref(), Some("192.0.2.7"));
        assert_eq!(server_ip(b"2001:db8::1").as_deref(), Some("2001:db8::1"));
        assert_eq!(server_ip(b"\x1b]0;owned\x07"), None);
        assert_eq!(server_ip(b"10.0.0.1:5000"), None);
    }

    #[test]
    fn user_lists_keep_only_valid_names() {
        let list = b"alice 1\nb\x1bob\nCAROL\n\xff\xfe 2\ndave";
        assert_eq!(
            server_user_list(list),
            vec![
                ("alice".to_owned(), Some(1)),
                ("carol".to_owned(), None),
                ("dave".to_owned(), None)
            ]
        );
    }

    #[test]
    fn shown_is_escaped_and_short() {
        assert_eq!(shown(b"a\x1b]0;x\x07"), "a\\x1b]0;x\\x07");
        let long = shown(&[0x9b; 3000]);
        assert!(long.ends_with("(3000 bytes)"));
        assert!(long.len() < 300);
        assert!(long.is_ascii());
    }
}
