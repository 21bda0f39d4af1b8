//! Asking the user: passphrases without echo (from the terminal, or `--passphrase-file`; never
//! from the command line) and yes/no confirmations.

use std::io::{BufRead, IsTerminal, Read, Write};
use std::path::Path;

use crate::error::{CliError, Result};

fn no_terminal(what: &str) -> CliError {
    CliError::usage(format!(
        "no terminal to read the {what} from: pass --passphrase-file FILE (or --no-passphrase where offered)"
    ))
}

/// Reads a passphrase from `file` ("-": stdin; one trailing newline is dropped).
fn from_file(file: &Path) -> Result<String> {
    let mut text = String::new();
    if file == Path::new("-") {
        std::io::stdin()
            .read_to_string(&mut text)
            .map_err(|e| CliError::other(format!("cannot read the passphrase from stdin: {e}")))?;
    } else {
        text = std::fs::read_to_string(file).map_err(|e| {
            CliError::other(format!(
                "cannot read the passphrase file {}: {e}",
                file.display()
            ))
        })?;
    }
    if text.ends_with('\n') {
        text.pop();
        if text.ends_with('\r') {
            text.pop();
        }
    }
    Ok(text)
}

fn ask_hidden(prompt: &str) -> Result<String> {
    rpassword::prompt_password(gochat_client::term::line(prompt)).map_err(|e| match e.kind() {
        std::io::ErrorKind::NotFound | std::io::ErrorKind::Other if !has_terminal() => {
            no_terminal("passphrase")
        }
        _ => CliError::other(format!("cannot read the passphrase: {e}")),
    })
}

/// Whether a controlling terminal can be opened.
fn has_terminal() -> bool {
    std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .open("/dev/tty")
        .is_ok()
}

/// An existing passphrase (to unlock).
pub fn passphrase(file: Option<&Path>, prompt: &str) -> Result<String> {
    match file {
        Some(f) => from_file(f),
        None if !has_terminal() => Err(no_terminal("passphrase")),
        None => ask_hidden(prompt),
    }
}

/// A new passphrase, typed twice. Empty means "store the key unencrypted".
pub fn new_passphrase(file: Option<&Path>, what: &str) -> Result<String> {
    if let Some(f) = file {
        return from_file(f);
    }
    if !has_terminal() {
        return Err(no_terminal("passphrase"));
    }
    let first = ask_hidden(&format!(
        "New passphrase for {what} (empty: store the key unencrypted): "
    ))?;
    if first.is_empty() {
        return Ok(first);
    }
    let second = ask_hidden("Repeat the passphrase: ")?;
    if first != second {
        return Err(CliError::usage("the passphrases do not match"));
    }
    Ok(first)
}

/// Asks "question [y/N]" on the terminal; `yes` (--yes) skips the question.
pub fn confirm(question: &str, yes: bool) -> Result<()> {
    if yes {
        return Ok(());
    }
    let tty = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .open("/dev/tty");
    let Ok(mut tty) = tty else {
        return Err(CliError::usage(format!(
            "{question}: confirm with --yes (no terminal to ask on)"
        )));
    };
    if !std::io::stdin().is_terminal() && !std::io::stderr().is_terminal() {
        return Err(CliError::usage(format!("{question}: confirm with --yes")));
    }
    write!(tty, "{} [y/N] ", gochat_client::term::line(question))?;
    tty.flush()?;
    let mut answer = String::new();
    std::io::BufReader::new(tty).read_line(&mut answer)?;
    match answer.trim().to_ascii_lowercase().as_str() {
        "y" | "yes" => Ok(()),
        _ => Err(CliError::other("cancelled")),
    }
}

/// Reads one line (for the shell's REG, which asks for the name).
pub fn line(prompt: &str) -> Result<String> {
    let mut stderr = std::io::stderr();
    write!(stderr, "{}", gochat_client::term::line(prompt))?;
    stderr.flush()?;
    let mut answer = String::new();
    std::io::stdin().lock().read_line(&mut answer)?;
    Ok(answer.trim().to_owned())
}
