//! The trust-on-first-use dialog: the certificate a server presents, in enough detail to
//! compare its fingerprint with the one the operator gave, and the keys to pin it or not.

use gochat_proto::ipc::CertificateInfo;
use ratatui::style::{Modifier, Style};
use ratatui::text::{Line, Span};

use crate::app::App;
use crate::clock;
use crate::wrap::{self, Piece};

/// The SHA-256 as two lines of sixteen colon-separated pairs (upper case).
pub fn fingerprint_lines(hex: &str) -> [String; 2] {
    let pairs: Vec<String> = hex
        .as_bytes()
        .chunks(2)
        .map(|p| String::from_utf8_lossy(p).to_ascii_uppercase())
        .collect();
    let half = pairs.len().div_ceil(2);
    [
        pairs[..half.min(pairs.len())].join(":"),
        pairs[half.min(pairs.len())..].join(":"),
    ]
}

/// The dialog's title and lines for `cert` of profile `server`, `width` columns wide.
pub fn lines(
    app: &App,
    server: &str,
    cert: &CertificateInfo,
    width: u16,
) -> (&'static str, Vec<Line<'static>>) {
    let t = &app.theme;
    let inner = usize::from(width.saturating_sub(4));
    let label = Style::default().fg(t.dim);
    let text = Style::default().fg(t.text);
    let field = |name: &str, value: String| {
        Line::from(vec![
            Span::styled(format!("{name:<12}"), label),
            Span::styled(wrap::truncate(&value, inner.saturating_sub(12)), text),
        ])
    };
    let (title, intro) = if cert.changed {
        (
            "Certificate CHANGED",
            format!("{server} presents another certificate than the pinned one."),
        )
    } else {
        (
            "Trust this certificate?",
            format!("{server} presents a certificate that is not trusted."),
        )
    };
    let intro_style = if cert.changed {
        Style::default().fg(t.error).add_modifier(Modifier::BOLD)
    } else {
        Style::default().fg(t.warning)
    };
    let date = |s: i64| clock::format(s, &app.tz, "%Y-%m-%d");
    let [first, second] = fingerprint_lines(&cert.sha256);
    let mut lines = vec![Line::styled(wrap::truncate(&intro, inner), intro_style)];
    lines.extend(wrap::wrap(
        &[Piece::new(&cert.problem, label)],
        width_of(inner),
        0,
    ));
    lines.extend([
        Line::raw(""),
        field("SHA-256", first),
        field("", second),
        field("Subject", cert.subject.clone()),
        field("Issuer", cert.issuer.clone()),
        field(
            "Valid",
            format!("{} to {}", date(cert.not_before), date(cert.not_after)),
        ),
        Line::raw(""),
    ]);
    lines.extend(wrap::wrap(
        &[Piece::new(
            "Pin it only if the fingerprint is the one the server's operator gave you.",
            text,
        )],
        width_of(inner),
        0,
    ));
    lines.extend([
        Line::raw(""),
        Line::from(vec![
            Span::styled(
                "[y] ",
                Style::default().fg(t.error).add_modifier(Modifier::BOLD),
            ),
            Span::raw("pin it    "),
            Span::styled(
                "[n] ",
                Style::default().fg(t.success).add_modifier(Modifier::BOLD),
            ),
            Span::raw("not now"),
        ]),
    ]);
    lines.truncate(14);
    (title, lines)
}

fn width_of(inner: usize) -> u16 {
    u16::try_from(inner).unwrap_or(u16::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fingerprints_split_in_two_lines() {
        let [a, b] = fingerprint_lines(&"ab".repeat(32));
        assert_eq!(a, ["AB"; 16].join(":"));
        assert_eq!(b, a);
    }
}
