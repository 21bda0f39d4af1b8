//! Tab completion for the shell: command names (ours, the Go names, built-ins), subcommands,
//! flags, and the names of servers, accounts, users and hooks.

use std::borrow::Cow;
use std::sync::{Arc, Mutex};

use rustyline::completion::{Completer, Pair};
use rustyline::highlight::Highlighter;
use rustyline::hint::Hinter;
use rustyline::validate::Validator;
use rustyline::{Context, Helper};

use super::aliases::{BUILTINS, GO_COMMANDS};

/// Names the completer offers, refreshed after every command and on events.
#[derive(Debug, Default)]
pub struct Names {
    pub servers: Vec<String>,
    pub accounts: Vec<String>,
    pub users: Vec<String>,
}

impl Names {
    /// Adds a user to complete; names that are not valid user names (a server may send
    /// anything) are left out, so completion never prints them raw.
    pub fn add_user(&mut self, user: &str) {
        if gochat_client::term::is_user_name(user) && !self.users.iter().any(|u| u == user) {
            self.users.push(user.to_owned());
            self.users.sort();
        }
    }
}

/// The rustyline helper.
pub struct ShellHelper {
    pub names: Arc<Mutex<Names>>,
    pub command: clap::Command,
}

fn lock(names: &Mutex<Names>) -> std::sync::MutexGuard<'_, Names> {
    names
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

impl ShellHelper {
    fn first_words(&self, prefix: &str) -> Vec<String> {
        let upper = !prefix.is_empty() && prefix.chars().all(|c| !c.is_ascii_lowercase());
        let mut out: Vec<String> = Vec::new();
        for sub in self.command.get_subcommands() {
            out.push(sub.get_name().to_owned());
            out.extend(sub.get_visible_aliases().map(str::to_owned));
        }
        out.extend(BUILTINS.iter().map(|(n, _)| (*n).to_owned()));
        out.extend(GO_COMMANDS.iter().map(|(n, _)| (*n).to_owned()));
        let mut out: Vec<String> = out
            .into_iter()
            .map(|n| if upper { n.to_ascii_uppercase() } else { n })
            .filter(|n| {
                n.to_ascii_lowercase()
                    .starts_with(&prefix.to_ascii_lowercase())
            })
            .collect();
        out.sort();
        out.dedup();
        out
    }

    /// Candidates for a word after the first.
    fn later_words(&self, words: &[&str], prefix: &str) -> Vec<String> {
        let names = lock(&self.names);
        let first = words[0].to_ascii_lowercase();
        let previous = words.last().copied().unwrap_or("");
        if matches!(previous, "--server" | "-s") {
            return names.servers.clone();
        }
        if matches!(previous, "--account" | "-a") {
            return names.accounts.clone();
        }
        // The Go names.
        let hooks = || {
            [
                "all",
                "new_login",
                "new_logout",
                "duplicated_session",
                "permissions_change",
            ]
            .iter()
            .map(|s| (*s).to_owned())
            .collect::<Vec<_>>()
        };
        match first.as_str() {
            "msg" | "req" | "perms" if words.len() == 1 => return names.users.clone(),
            "login" | "export" | "recover" | "dereg" if words.len() == 1 => {
                return names.accounts.clone();
            }
            "conn" | "delserver" | "serverconfig" | "setserver" | "use" if words.len() == 1 => {
                return names.servers.clone();
            }
            "sub" | "unsub" if words.len() == 1 => return hooks(),
            "usrs" if words.len() == 1 => {
                return ["online", "all", "local", "requested"]
                    .map(str::to_owned)
                    .to_vec();
            }
            "admin" if words.len() == 1 => {
                return [
                    "shutdown",
                    "broadcast",
                    "deregister",
                    "ban",
                    "perms",
                    "setperms",
                    "kick",
                    "motd",
                ]
                .map(str::to_owned)
                .to_vec();
            }
            _ => {}
        }
        // Our commands: walk the subcommand tree.
        let mut cmd = &self.command;
        let mut path: Vec<String> = Vec::new();
        let mut positionals = 0;
        for word in words {
            if let Some(sub) = cmd.find_subcommand(word) {
                path.push(sub.get_name().to_owned());
                cmd = sub;
                positionals = 0;
            } else if !word.starts_with('-') && !path.is_empty() {
                positionals += 1;
            }
        }
        if path.is_empty() {
            return Vec::new();
        }
        if prefix.starts_with('-') {
            return cmd
                .get_arguments()
                .chain(self.command.get_arguments())
                .filter_map(|a| a.get_long().map(|l| format!("--{l}")))
                .collect();
        }
        if cmd.has_subcommands() {
            return cmd
                .get_subcommands()
                .map(|s| s.get_name().to_owned())
                .collect();
        }
        let Some(arg) = cmd
            .get_positionals()
            .nth(positionals)
            .or_else(|| cmd.get_positionals().last())
        else {
            return Vec::new();
        };
        let values: Vec<String> = arg
            .get_possible_values()
            .iter()
            .filter(|v| !v.is_hide_set())
            .map(|v| v.get_name().to_owned())
            .collect();
        if !values.is_empty() {
            return values;
        }
        match arg.get_id().as_str() {
            "user" => names.users.clone(),
            "name" if path.first().is_some_and(|p| p == "server") => names.servers.clone(),
            "name" => names.accounts.clone(),
            _ => Vec::new(),
        }
    }
}

impl Completer for ShellHelper {
    type Candidate = Pair;

    fn complete(
        &self,
        line: &str,
        pos: usize,
        _: &Context<'_>,
    ) -> rustyline::Result<(usize, Vec<Pair>)> {
        let before = &line[..pos];
        let start = before.rfind(char::is_whitespace).map_or(0, |i| i + 1);
        let prefix = &before[start..];
        let words: Vec<&str> = before[..start].split_whitespace().collect();
        let candidates = if words.is_empty() {
            self.first_words(prefix)
        } else {
            self.later_words(&words, prefix)
        };
        let pairs = candidates
            .into_iter()
            .filter(|c| c.starts_with(prefix))
            .map(|c| Pair {
                display: c.clone(),
                replacement: format!("{c} "),
            })
            .collect();
        Ok((start, pairs))
    }
}

impl Hinter for ShellHelper {
    type Hint = String;
}

impl Highlighter for ShellHelper {
    fn highlight_prompt<'b, 's: 'b, 'p: 'b>(
        &'s self,
        prompt: &'p str,
        _default: bool,
    ) -> Cow<'b, str> {
        Cow::Borrowed(prompt)
    }
}

impl Validator for ShellHelper {}

impl Helper for ShellHelper {}

#[cfg(test)]
mod tests {
    use clap::CommandFactory;

    use super::*;

    fn helper() -> ShellHelper {
        let names = Names {
            servers: vec!["local".into()],
            accounts: vec!["alice".into()],
            users: vec!["bob".into(), "carol".into()],
        };
        ShellHelper {
            names: Arc::new(Mutex::new(names)),
            command: crate::shell::LineCli::command(),
        }
    }

    fn complete(line: &str) -> Vec<String> {
        let h = helper();
        let history = rustyline::history::DefaultHistory::new();
        let ctx = Context::new(&history);
        let (_, pairs) = h.complete(line, line.len(), &ctx).expect("complete");
        pairs.into_iter().map(|p| p.display).collect()
    }

    #[test]
    fn names_that_are_not_user_names_are_never_offered() {
        let mut names = Names::default();
        names.add_user("bob");
        names.add_user("b\u{1b}]0;x\u{7}");
        names.add_user("Bob");
        names.add_user("");
        assert_eq!(names.users, vec!["bob".to_owned()]);
    }

    #[test]
    fn completes_commands_users_and_flags() {
        assert!(complete("se").contains(&"send".to_owned()));
        assert!(complete("se").contains(&"server".to_owned()));
        assert_eq!(complete("MS"), vec!["MSG".to_owned()]);
        assert_eq!(complete("send b"), vec!["bob".to_owned()]);
        assert_eq!(complete("MSG c"), vec!["carol".to_owned()]);
        assert_eq!(complete("server re"), vec!["remove".to_owned()]);
        assert_eq!(complete("server remove l"), vec!["local".to_owned()]);
        assert!(complete("history bob --li").contains(&"--limit".to_owned()));
        assert!(complete("hooks sub ").contains(&"new_login".to_owned()));
        assert_eq!(complete("send --account a"), vec!["alice".to_owned()]);
    }
}
