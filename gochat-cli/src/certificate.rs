//! A server's certificate as the user sees it before trusting it: fingerprints, subject,
//! issuer, validity, and what the profile makes of it.

use gochat_client::term;
use gochat_proto::ipc;
use serde::Serialize;

use crate::time;

/// The JSON shape of a certificate (documented in `docs/CLI.md`).
#[derive(Debug, Serialize)]
pub struct CertificateJson {
    pub sha256: String,
    pub spki_sha256: String,
    pub subject: String,
    pub issuer: String,
    /// Unix seconds.
    pub not_before: i64,
    /// Unix seconds.
    pub not_after: i64,
    pub trusted: bool,
    pub changed: bool,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub problem: String,
}

impl From<&ipc::CertificateInfo> for CertificateJson {
    fn from(c: &ipc::CertificateInfo) -> Self {
        CertificateJson {
            sha256: c.sha256.clone(),
            spki_sha256: c.spki_sha256.clone(),
            subject: c.subject.clone(),
            issuer: c.issuer.clone(),
            not_before: c.not_before,
            not_after: c.not_after,
            trusted: c.trusted,
            changed: c.changed,
            problem: c.problem.clone(),
        }
    }
}

/// `sha256:` and the hex digest in colon-separated pairs, as browsers show it.
pub fn fingerprint(hex: &str) -> String {
    let pairs: Vec<&str> = hex
        .as_bytes()
        .chunks(2)
        .map(|p| std::str::from_utf8(p).unwrap_or("??"))
        .collect();
    format!("sha256:{}", pairs.join(":").to_ascii_uppercase())
}

/// The lines describing `c`, each indented by `indent`.
pub fn describe(c: &ipc::CertificateInfo, indent: &str) -> String {
    let subject = if c.subject.is_empty() {
        "(unreadable)".to_owned()
    } else {
        term::line(&c.subject).into_owned()
    };
    let mut text = format!(
        "{indent}fingerprint: {}\n{indent}subject:     {subject}\n{indent}issuer:      {}\n\
         {indent}valid:       {} to {}\n",
        fingerprint(&c.sha256),
        term::line(&c.issuer),
        time::local(c.not_before.saturating_mul(1000)),
        time::local(c.not_after.saturating_mul(1000)),
    );
    if !c.spki_sha256.is_empty() {
        text.push_str(&format!(
            "{indent}public key:  spki-sha256:{}\n",
            c.spki_sha256
        ));
    }
    if !c.problem.is_empty() {
        text.push_str(&format!(
            "{indent}refused:     {}\n",
            term::line(&c.problem)
        ));
    }
    text
}

/// What to do about a refused certificate of profile `server`.
pub fn advice(server: &str, c: &ipc::CertificateInfo) -> String {
    if c.changed {
        format!(
            "the server's certificate changed since it was pinned; if the operator announced \
             it, compare the fingerprint, then run `gochat-cli server trust {server}`"
        )
    } else {
        format!(
            "compare the fingerprint with the one the server's operator gave you, then pin it \
             with `gochat-cli server trust {server}` (or confirm the prompt in gochat-tui)"
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fingerprints_are_shown_in_pairs() {
        assert_eq!(fingerprint("ab01ff"), "sha256:AB:01:FF");
    }
}
