//! One error and its causes on one line, for logs and replies that cannot use anyhow's `{:#}`.
//! Shared by the server, the daemon and the frontends.
//!
//! gochat's error types print only their own message and leave the cause to the chain
//! (`source()`), so a plain `%e` in a log would drop the cause; [`Chain`] prints each link
//! joined by `": "`, the way anyhow's `{:#}` does. Some foreign errors (sqlx's `Io` and
//! `Database`, for one) also print their source in their own message; [`Chain`] skips a
//! cause whose text the previous link already showed, so every cause reads once.

use std::error::Error;
use std::fmt;

/// Displays an error followed by each of its sources, each cause once.
pub struct Chain<'a>(pub &'a (dyn Error + 'static));

impl fmt::Display for Chain<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut shown = self.0.to_string();
        f.write_str(&shown)?;
        let mut source = self.0.source();
        while let Some(cause) = source {
            let text = cause.to_string();
            if !shown.contains(&text) {
                write!(f, ": {text}")?;
            }
            shown = text;
            source = cause.source();
        }
        Ok(())
    }
}

/// [`Chain`] as a `String`: `a: b: c`.
pub fn chain(e: &(dyn Error + 'static)) -> String {
    Chain(e).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, thiserror::Error)]
    #[error("outer")]
    struct Outer(#[source] std::io::Error);

    #[derive(Debug, thiserror::Error)]
    #[error("outer: {0}")]
    struct Repeating(#[source] std::io::Error);

    #[test]
    fn each_cause_once() {
        assert_eq!(
            chain(&Outer(std::io::Error::other("inner"))),
            "outer: inner"
        );
        // A foreign error that prints its source itself does not show it twice.
        assert_eq!(
            chain(&Repeating(std::io::Error::other("inner"))),
            "outer: inner"
        );
    }
}
