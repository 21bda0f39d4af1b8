//! Keys while a dialog is open: the masked passphrase field, confirmations, the one-line
//! prompt, the quick switcher and the help screen.

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

use crate::app::{App, Ask, Confirm, Level, PassPurpose, Popup, Row, SwitchItem, switcher_items};
use crate::keymap::Action;
use crate::msg::{Call, Effect};
use crate::secret::Secret;

/// Next dialog from the queue, if any.
pub fn close(app: &mut App) {
    app.popup = app.popup_queue.pop_front();
}

fn ctrl(key: &KeyEvent, c: char) -> bool {
    key.modifiers.contains(KeyModifiers::CONTROL) && key.code == KeyCode::Char(c)
}

fn plain_char(key: &KeyEvent) -> Option<char> {
    match key.code {
        KeyCode::Char(c)
            if !key
                .modifiers
                .intersects(KeyModifiers::CONTROL | KeyModifiers::ALT) =>
        {
            Some(c)
        }
        _ => None,
    }
}

pub fn on_key(app: &mut App, key: KeyEvent) -> Vec<Effect> {
    // Ctrl-C cancels a dialog; the other quit keys still quit.
    if app.keymap.action(&key) == Some(Action::Quit) && !ctrl(&key, 'c') {
        app.should_quit = true;
        return Vec::new();
    }
    let Some(popup) = app.popup.take() else {
        return Vec::new();
    };
    if key.code == KeyCode::Esc || ctrl(&key, 'c') {
        if let Popup::Passphrase { purpose, .. } = &popup {
            let what = match purpose {
                PassPurpose::Register(a) => format!("registration of {} cancelled", a.label()),
                PassPurpose::Unlock { account, .. } => {
                    format!("{} stays locked (/unlock to try again)", account.label())
                }
                PassPurpose::Import { account, .. } => {
                    format!("import of {} cancelled", account.label())
                }
                PassPurpose::GoImport { path, .. } => format!("import of {path} cancelled"),
            };
            app.notice_here(Level::Info, what);
        }
        close(app);
        return Vec::new();
    }
    match popup {
        Popup::Passphrase {
            purpose,
            mut field,
            first,
            error,
        } => {
            match key.code {
                KeyCode::Enter => return passphrase_entered(app, purpose, field, first),
                KeyCode::Backspace => field.pop(),
                KeyCode::Char('u') if ctrl(&key, 'u') => field = Secret::default(),
                _ => {
                    if let Some(c) = plain_char(&key) {
                        field.push(c);
                    }
                }
            }
            app.popup = Some(Popup::Passphrase {
                purpose,
                field,
                first,
                error,
            });
            Vec::new()
        }
        Popup::TrustCertificate { server, cert } => match key.code {
            KeyCode::Char('y' | 'Y') => {
                close(app);
                app.notice_here(Level::Info, format!("pinning the certificate of {server}…"));
                vec![Effect::Call(Call::TrustServer {
                    server,
                    sha256: cert.sha256,
                })]
            }
            KeyCode::Char('n' | 'N') | KeyCode::Enter => {
                app.notice_here(
                    Level::Info,
                    format!("not pinned; /server trust {server} asks again"),
                );
                close(app);
                Vec::new()
            }
            _ => {
                app.popup = Some(Popup::TrustCertificate { server, cert });
                Vec::new()
            }
        },
        Popup::Confirm { what, text } => match key.code {
            KeyCode::Char('y' | 'Y') => {
                close(app);
                confirmed(app, what)
            }
            KeyCode::Char('n' | 'N') | KeyCode::Enter => {
                app.notice_here(Level::Info, "cancelled");
                close(app);
                Vec::new()
            }
            _ => {
                app.popup = Some(Popup::Confirm { what, text });
                Vec::new()
            }
        },
        Popup::Prompt { ask, mut field } => {
            match key.code {
                KeyCode::Enter => {
                    close(app);
                    let value = field.trim().to_owned();
                    if value.is_empty() {
                        return Vec::new();
                    }
                    return match ask {
                        Ask::NewConversation(account) => new_conversation(app, &account, &value),
                    };
                }
                KeyCode::Backspace => {
                    field.pop();
                }
                KeyCode::Tab => {
                    let Ask::NewConversation(account) = &ask;
                    if let Some(a) = app.account(account) {
                        let mut names: Vec<String> = a
                            .online_users
                            .iter()
                            .flatten()
                            .map(|u| u.name.clone())
                            .filter(|n| n.starts_with(field.as_str()) && *n != account.user)
                            .collect();
                        names.sort();
                        names.dedup();
                        let prefix = super::common_prefix(&names);
                        if prefix.len() > field.len() {
                            field = prefix;
                        }
                    }
                }
                _ => {
                    if let Some(c) = plain_char(&key)
                        && !c.is_whitespace()
                    {
                        field.push(c);
                    }
                }
            }
            app.popup = Some(Popup::Prompt { ask, field });
            Vec::new()
        }
        Popup::Switcher {
            mut query,
            mut selected,
        } => {
            let items = switcher_items(app, &query);
            match key.code {
                KeyCode::Enter => {
                    close(app);
                    return match items.get(selected) {
                        Some(SwitchItem::Row(row, _)) => super::open_row(app, row),
                        Some(SwitchItem::New(account, peer)) => {
                            new_conversation(app, account, peer)
                        }
                        None => Vec::new(),
                    };
                }
                KeyCode::Up => selected = selected.saturating_sub(1),
                KeyCode::Char('p') if ctrl(&key, 'p') => selected = selected.saturating_sub(1),
                KeyCode::Down => selected = (selected + 1).min(items.len().saturating_sub(1)),
                KeyCode::Char('n') if ctrl(&key, 'n') => {
                    selected = (selected + 1).min(items.len().saturating_sub(1))
                }
                KeyCode::Backspace => {
                    query.pop();
                    selected = 0;
                }
                KeyCode::Tab => {
                    let names: Vec<String> = items
                        .iter()
                        .filter_map(|i| match i {
                            SwitchItem::Row(Row::Conv(_, p), _) => Some(p.clone()),
                            _ => None,
                        })
                        .filter(|p| p.to_lowercase().starts_with(&query.to_lowercase()))
                        .collect();
                    let prefix = super::common_prefix(&names);
                    if prefix.len() > query.len() {
                        query = prefix;
                        selected = 0;
                    }
                }
                _ => {
                    if let Some(c) = plain_char(&key) {
                        query.push(c);
                        selected = 0;
                    }
                }
            }
            app.popup = Some(Popup::Switcher { query, selected });
            Vec::new()
        }
        Popup::Help { mut scroll } => {
            match key.code {
                KeyCode::Up | KeyCode::Char('k') => scroll = scroll.saturating_sub(1),
                KeyCode::Down | KeyCode::Char('j') => scroll = scroll.saturating_add(1),
                KeyCode::PageUp => scroll = scroll.saturating_sub(10),
                KeyCode::PageDown | KeyCode::Char(' ') => scroll = scroll.saturating_add(10),
                KeyCode::Home | KeyCode::Char('g') => scroll = 0,
                KeyCode::End | KeyCode::Char('G') => scroll = u16::MAX,
                KeyCode::Enter | KeyCode::Char('q') | KeyCode::F(1) => {
                    close(app);
                    return Vec::new();
                }
                _ => {
                    if app.keymap.action(&key) == Some(Action::Help) {
                        close(app);
                        return Vec::new();
                    }
                }
            }
            let max = u16::try_from(crate::ui::help::lines(app).len()).unwrap_or(u16::MAX);
            app.popup = Some(Popup::Help {
                scroll: scroll.min(max),
            });
            Vec::new()
        }
    }
}

pub fn on_paste(app: &mut App, text: &str) -> Vec<Effect> {
    let line = text.lines().next().unwrap_or("");
    match &mut app.popup {
        Some(Popup::Passphrase { field, .. }) => {
            for c in line.chars() {
                field.push(c);
            }
        }
        Some(Popup::Prompt { field, .. }) => field.push_str(line.trim()),
        Some(Popup::Switcher { query, selected }) => {
            query.push_str(line.trim());
            *selected = 0;
        }
        _ => {}
    }
    Vec::new()
}

fn passphrase_entered(
    app: &mut App,
    purpose: PassPurpose,
    field: Secret,
    first: Option<Secret>,
) -> Vec<Effect> {
    // The Go password comes first, asked once; then the new passphrase, asked twice.
    let purpose = match purpose {
        PassPurpose::GoImport {
            path,
            go_password: None,
        } => {
            app.popup = Some(Popup::Passphrase {
                purpose: PassPurpose::GoImport {
                    path,
                    go_password: Some(field),
                },
                field: Secret::default(),
                first: None,
                error: None,
            });
            return Vec::new();
        }
        other => other,
    };
    let twice = matches!(
        purpose,
        PassPurpose::Register(_) | PassPurpose::Import { .. } | PassPurpose::GoImport { .. }
    );
    if twice && first.is_none() {
        app.popup = Some(Popup::Passphrase {
            purpose,
            field: Secret::default(),
            first: Some(field),
            error: None,
        });
        return Vec::new();
    }
    if let Some(first) = first
        && first != field
    {
        app.popup = Some(Popup::Passphrase {
            purpose,
            field: Secret::default(),
            first: None,
            error: Some("the two passphrases differ; type it again".into()),
        });
        return Vec::new();
    }
    close(app);
    let call = match purpose {
        PassPurpose::Register(account) => {
            app.notice_here(
                Level::Info,
                format!(
                    "registering {} (making a 4096-bit key takes a few seconds)…",
                    account.label()
                ),
            );
            Call::Register {
                account,
                passphrase: field,
            }
        }
        PassPurpose::Unlock { account, login } => {
            app.notice_here(Level::Info, format!("unlocking {}…", account.label()));
            Call::Unlock {
                account,
                passphrase: field,
                login,
            }
        }
        PassPurpose::Import { account, path } => {
            app.notice_here(
                Level::Info,
                format!("importing {} from {path}…", account.label()),
            );
            Call::ImportKey {
                account,
                path,
                passphrase: field,
            }
        }
        PassPurpose::GoImport { path, go_password } => {
            app.notice_here(
                Level::Info,
                format!("importing the Go client's data from {path}…"),
            );
            Call::ImportGoClient {
                path,
                go_password: go_password.unwrap_or_default(),
                passphrase: field,
            }
        }
    };
    vec![Effect::Call(call)]
}

fn confirmed(app: &mut App, what: Confirm) -> Vec<Effect> {
    match what {
        Confirm::Deregister(account) => {
            app.notice_here(Level::Info, format!("deregistering {}…", account.label()));
            vec![Effect::Call(Call::Deregister(account))]
        }
        Confirm::RemoveServer(name) => vec![Effect::Call(Call::RemoveServer(name))],
    }
}

fn new_conversation(app: &mut App, account: &crate::app::AccountKey, peer: &str) -> Vec<Effect> {
    if peer == account.user {
        app.flash(Level::Error, "you cannot message yourself");
        return Vec::new();
    }
    super::open_conversation(app, account, peer, true)
}
