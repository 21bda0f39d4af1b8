//! The Go client's shell commands (CONN, REG, MSG, …), translated into gochat-cli commands or
//! shell built-ins. Names are case-insensitive, as in the Go shell.

/// What a line means.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Line {
    /// A gochat-cli command line (without the program name).
    Run(Vec<String>),
    /// Leave the shell.
    Exit,
    /// Help, optionally on one command.
    Help(Option<String>),
    /// Show or change the selected server and account.
    Use(Vec<String>),
    /// Toggle showing every event.
    Verbose,
    /// Clear the screen.
    Clear,
    /// CONN: select a server profile (by name, or by address and port) and log in.
    Conn {
        target: Vec<String>,
        no_verify: bool,
    },
    /// REG with no name: ask for it.
    RegisterAsk,
    /// Nothing to do.
    Empty,
    /// A Go command used wrongly.
    Invalid(String),
}

/// The Go shell's commands with a one-line description of what they map onto.
pub const GO_COMMANDS: &[(&str, &str)] = &[
    (
        "CONN",
        "CONN <server> | CONN <addr> <port> [-noverify]: select a server and log in",
    ),
    ("DISCN", "DISCN: log out (account logout)"),
    ("REG", "REG [name]: register an account (account register)"),
    ("LOGIN", "LOGIN [name]: log in (account login)"),
    ("LOGOUT", "LOGOUT: log out (account logout)"),
    ("DEREG", "DEREG: delete the account (account deregister)"),
    ("REQ", "REQ <user>: fetch and pin a key (request)"),
    ("PERMS", "PERMS <user>: a user's permission level (request)"),
    (
        "USRS",
        "USRS online|all|local server|local all|requested: list users",
    ),
    ("MSG", "MSG <user> <text…>: send a message (send)"),
    ("RECIV", "RECIV: show unread messages (inbox)"),
    (
        "IMPORT",
        "IMPORT <user> <file>: import a Go key file (key import)",
    ),
    ("EXPORT", "EXPORT [user]: write <user>.priv (key export)"),
    ("SUB", "SUB <hook>: subscribe to a hook (hooks sub)"),
    ("UNSUB", "UNSUB <hook>: unsubscribe (hooks unsub)"),
    ("VER", "VER: versions (version)"),
    (
        "VERBOSE",
        "VERBOSE: show every event, or only the important ones",
    ),
    (
        "REGSERVER",
        "REGSERVER <name> <addr> <port> [-tls]: add a server (server add)",
    ),
    (
        "DELSERVER",
        "DELSERVER <name>: remove a server (server remove)",
    ),
    ("SERVERS", "SERVERS: list servers (server list)"),
    (
        "SERVERCONFIG",
        "SERVERCONFIG <name>: show a server (server show)",
    ),
    (
        "SETSERVER",
        "SETSERVER <name> <Server.Field> <value>: change a server (server set)",
    ),
    (
        "ADMIN",
        "ADMIN shutdown|broadcast|ban|kick|setperms|motd …: administration (admin)",
    ),
    (
        "RECOVER",
        "RECOVER <user>: write <user>.priv and <user>.msgs (account backup)",
    ),
    ("HELP", "HELP [command]: this help"),
    ("EXIT", "EXIT: leave the shell (also QUIT, Ctrl-D)"),
];

/// The shell's own commands.
pub const BUILTINS: &[(&str, &str)] = &[
    (
        "use",
        "use [SERVER [ACCOUNT]] | use ACCOUNT@SERVER: show or select the server and account",
    ),
    ("help", "help [COMMAND]: help"),
    ("clear", "clear: clear the screen (also Ctrl-L)"),
    ("exit", "exit: leave the shell (also quit, Ctrl-D)"),
];

fn strings(words: &[&str]) -> Vec<String> {
    words.iter().map(|w| (*w).to_owned()).collect()
}

/// Interprets the words of a line. `is_command` tells whether a lower-case word is one of
/// gochat-cli's own top-level commands (those win over Go names).
pub fn translate(words: &[String], is_command: impl Fn(&str) -> bool) -> Line {
    let Some(first) = words.first() else {
        return Line::Empty;
    };
    let lower = first.to_ascii_lowercase();
    let rest: Vec<String> = words[1..].to_vec();
    match lower.as_str() {
        "exit" | "quit" => return Line::Exit,
        "help" | "?" => return Line::Help(rest.first().cloned()),
        "use" => return Line::Use(rest),
        "verbose" => return Line::Verbose,
        "clear" | "cls" => return Line::Clear,
        _ => {}
    }
    if is_command(&lower) {
        let mut line = vec![lower];
        line.extend(rest);
        return Line::Run(line);
    }
    let run = |head: &[&str], tail: &[String]| {
        let mut line = strings(head);
        line.extend(tail.iter().cloned());
        Line::Run(line)
    };
    match lower.as_str() {
        "conn" => {
            let no_verify = rest.iter().any(|w| w.eq_ignore_ascii_case("-noverify"));
            let target: Vec<String> = rest
                .iter()
                .filter(|w| !w.starts_with('-'))
                .cloned()
                .collect();
            if target.is_empty() || target.len() > 2 {
                return Line::Invalid(
                    "usage: CONN <server> | CONN <addr> <port> [-noverify]".into(),
                );
            }
            Line::Conn { target, no_verify }
        }
        "discn" | "logout" => Line::Run(strings(&["account", "logout"])),
        "reg" | "register" if rest.is_empty() => Line::RegisterAsk,
        "reg" | "register" => run(&["account", "register"], &rest),
        "login" => run(&["account", "login"], &rest),
        "dereg" | "deregister" => run(&["account", "deregister"], &rest),
        "req" | "perms" => match rest.as_slice() {
            [user] => run(&["request"], std::slice::from_ref(user)),
            _ => Line::Invalid(format!("usage: {} <user>", first.to_ascii_uppercase())),
        },
        "usrs" => {
            let args: Vec<String> = rest.iter().map(|w| w.to_ascii_lowercase()).collect();
            let args: Vec<&str> = args.iter().map(String::as_str).collect();
            match args.as_slice() {
                [] | ["all"] => Line::Run(strings(&["users"])),
                ["online"] => Line::Run(strings(&["users", "--online"])),
                ["all", "perms"] | ["perms"] => Line::Run(strings(&["users", "--perms"])),
                ["online", "perms"] => Line::Run(strings(&["users", "--online", "--perms"])),
                ["local", "server"] | ["local", "all"] | ["local"] => {
                    Line::Run(strings(&["account", "list"]))
                }
                ["requested"] => Line::Run(strings(&["contacts"])),
                _ => {
                    Line::Invalid("usage: USRS online|all|local server|local all|requested".into())
                }
            }
        }
        "msg" => match rest.split_first() {
            Some((user, text)) if !text.is_empty() => {
                let mut line = strings(&["send"]);
                line.push(user.clone());
                line.push("--".into());
                line.extend(text.iter().cloned());
                Line::Run(line)
            }
            _ => Line::Invalid("usage: MSG <user> <text…>".into()),
        },
        "reciv" => Line::Run(strings(&["inbox"])),
        "import" => match rest.as_slice() {
            [user, file] => run(&["key", "import"], &[user.clone(), file.clone()]),
            _ => Line::Invalid("usage: IMPORT <user> <file>".into()),
        },
        "export" => match rest.as_slice() {
            [] => Line::Run(strings(&["key", "export"])),
            [user] => Line::Run(vec![
                "key".into(),
                "export".into(),
                "--account".into(),
                user.clone(),
                "--output".into(),
                format!("{user}.priv"),
            ]),
            _ => Line::Invalid("usage: EXPORT [user]".into()),
        },
        "sub" | "unsub" => match rest.as_slice() {
            [hook] => run(&["hooks", lower.as_str()], &[hook.to_ascii_lowercase()]),
            _ => Line::Invalid(format!("usage: {} <hook>", first.to_ascii_uppercase())),
        },
        "ver" => Line::Run(strings(&["version"])),
        "regserver" => match rest.as_slice() {
            [name, addr, port] => run(
                &["server", "add"],
                &[name.clone(), addr.clone(), "--port".into(), port.clone()],
            ),
            [name, addr, port, tls] if tls.eq_ignore_ascii_case("-tls") => run(
                &["server", "add"],
                &[
                    name.clone(),
                    addr.clone(),
                    "--port".into(),
                    port.clone(),
                    "--tls".into(),
                ],
            ),
            _ => Line::Invalid("usage: REGSERVER <name> <addr> <port> [-tls]".into()),
        },
        "delserver" => match rest.as_slice() {
            [name] => run(&["server", "remove"], std::slice::from_ref(name)),
            _ => Line::Invalid("usage: DELSERVER <name>".into()),
        },
        "servers" => Line::Run(strings(&["server", "list"])),
        "serverconfig" => match rest.as_slice() {
            [name] => run(&["server", "show"], std::slice::from_ref(name)),
            _ => Line::Invalid("usage: SERVERCONFIG <name>".into()),
        },
        "setserver" => setserver(&rest),
        "recover" => match rest.first() {
            Some(user) => run(&["account", "backup"], std::slice::from_ref(user)),
            None => Line::Invalid("usage: RECOVER <user>".into()),
        },
        _ => Line::Run(words.to_vec()),
    }
}

fn setserver(rest: &[String]) -> Line {
    let usage = || Line::Invalid("usage: SETSERVER <name> <Server.Field> <value>".into());
    let [name, field, value @ ..] = rest else {
        return usage();
    };
    if value.is_empty() {
        return usage();
    }
    let field = field
        .rsplit('.')
        .next()
        .unwrap_or(field)
        .to_ascii_lowercase();
    let flag = match field.as_str() {
        "address" | "host" => "--host",
        "port" => "--port",
        "tls" | "usetls" | "use_tls" => "--tls",
        "verify" | "verifytls" | "verify_tls" => "--verify",
        "name" => {
            return Line::Invalid(
                "profiles cannot be renamed: add a new one and remove the old one".into(),
            );
        }
        _ => {
            return Line::Invalid(format!(
                "unknown field {field:?}: use Address, Port, TLS or Verify"
            ));
        }
    };
    Line::Run(vec![
        "server".into(),
        "set".into(),
        name.clone(),
        flag.into(),
        value.join(" "),
    ])
}

#[cfg(test)]
mod tests {
    use super::*;

    fn words(line: &str) -> Vec<String> {
        line.split_whitespace().map(str::to_owned).collect()
    }

    fn ours(w: &str) -> bool {
        matches!(
            w,
            "send" | "users" | "admin" | "server" | "account" | "history"
        )
    }

    fn run(line: &str) -> Vec<String> {
        match translate(&words(line), ours) {
            Line::Run(v) => v,
            other => panic!("{line}: {other:?}"),
        }
    }

    #[test]
    fn go_commands_map_onto_ours() {
        assert_eq!(
            run("MSG bob hello  there"),
            words("send bob -- hello there")
        );
        assert_eq!(run("msg bob -x"), words("send bob -- -x"));
        assert_eq!(run("USRS online"), words("users --online"));
        assert_eq!(run("USRS local all"), words("account list"));
        assert_eq!(run("REQ bob"), words("request bob"));
        assert_eq!(run("PERMS bob"), words("request bob"));
        assert_eq!(run("LOGIN alice"), words("account login alice"));
        assert_eq!(run("REG alice"), words("account register alice"));
        assert_eq!(run("SUB new_login"), words("hooks sub new_login"));
        assert_eq!(
            run("REGSERVER home 127.0.0.1 9037 -tls"),
            words("server add home 127.0.0.1 --port 9037 --tls")
        );
        assert_eq!(
            run("SETSERVER home Server.Port 9000"),
            words("server set home --port 9000")
        );
        assert_eq!(run("ADMIN setperms bob 1"), words("admin setperms bob 1"));
        assert_eq!(
            run("EXPORT alice"),
            words("key export --account alice --output alice.priv")
        );
        assert_eq!(run("RECIV"), words("inbox"));
        assert_eq!(run("SEND bob hi"), words("send bob hi"));
        assert_eq!(run("RECOVER alice"), words("account backup alice"));
    }

    #[test]
    fn builtins_and_errors() {
        assert_eq!(translate(&words("EXIT"), ours), Line::Exit);
        assert_eq!(translate(&words("REG"), ours), Line::RegisterAsk);
        assert_eq!(
            translate(&words("help send"), ours),
            Line::Help(Some("send".into()))
        );
        assert!(matches!(
            translate(&words("MSG bob"), ours),
            Line::Invalid(_)
        ));
        assert_eq!(
            translate(&words("CONN 127.0.0.1 9037 -noverify"), ours),
            Line::Conn {
                target: words("127.0.0.1 9037"),
                no_verify: true
            }
        );
        assert_eq!(translate(&[], ours), Line::Empty);
    }
}
