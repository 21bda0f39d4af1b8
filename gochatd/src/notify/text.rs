//! What a notification says: the sender in the summary, the text (made safe as the frontends
//! make it, cut, and escaped for servers that read markup) or a count in the body.

use gochat_client::term;

/// The summary: the sender's alias or name, made terminal-safe.
pub fn summary(peer: &str, alias: Option<&str>) -> String {
    match alias {
        Some(alias) => format!("{} ({})", term::line(alias), term::name(peer)),
        None => term::name(peer).into_owned(),
    }
}

/// The body for `count` messages whose first text is `first`.
pub fn body(first: &str, count: u64, peer: &str, hide: bool, max_chars: usize) -> String {
    if count > 1 {
        return format!("{count} new messages");
    }
    if hide {
        return format!("new message from {}", markup(&term::name(peer)));
    }
    markup(&cut(&term::line(first), max_chars))
}

/// `text` cut to `max_chars` characters, with an ellipsis when it was longer.
fn cut(text: &str, max_chars: usize) -> String {
    match text.char_indices().nth(max_chars) {
        None => text.to_owned(),
        Some((at, _)) => {
            let keep = text[..at]
                .char_indices()
                .nth(max_chars.saturating_sub(1))
                .map_or(at, |(i, _)| i);
            format!("{}…", &text[..keep])
        }
    }
}

/// Escapes the characters notification servers with `body-markup` would read as markup.
fn markup(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            c => out.push(c),
        }
    }
    out
}

/// Whether `text` names `user` (case-insensitively, as a whole word).
pub fn mentions(text: &str, user: &str) -> bool {
    if user.is_empty() {
        return false;
    }
    let text = text.to_lowercase();
    let user = user.to_lowercase();
    let word = |c: Option<char>| c.is_some_and(|c| c.is_alphanumeric() || c == '_');
    text.match_indices(&user).any(|(at, m)| {
        !word(text[..at].chars().next_back()) && !word(text[at + m.len()..].chars().next())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bodies_are_safe_short_and_escaped() {
        assert_eq!(body("hi <b>&", 1, "bob", false, 200), "hi &lt;b&gt;&amp;");
        assert_eq!(
            body("\u{1b}]0;x\u{7}", 1, "bob", false, 200),
            "\\u{1b}]0;x\\u{7}"
        );
        assert_eq!(body("abcdef", 1, "bob", false, 4), "abc…");
        assert_eq!(body("abcd", 1, "bob", false, 4), "abcd");
        assert_eq!(body("secret", 1, "bob", true, 200), "new message from bob");
        assert_eq!(body("x", 50, "bob", false, 200), "50 new messages");
    }

    #[test]
    fn mentions_are_whole_words() {
        assert!(mentions("hey Alice, look", "alice"));
        assert!(mentions("alice", "alice"));
        assert!(!mentions("malice", "alice"));
        assert!(!mentions("alice_b", "alice"));
    }
}
