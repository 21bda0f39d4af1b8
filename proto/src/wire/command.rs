//! Typed packets: what a client may ask ([`Request`], [`AdminRequest`]) and what a server
//! sends ([`Response`]), so that callers never assemble argument vectors by hand.

use bytes::Bytes;

use super::codes::{Action, AdminOp, ErrorCode, Hook, Permission, UserList};
use super::limits::EMPTY_INFO;
use super::packet::Packet;

/// A packet whose shape does not fit its action.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum CommandError {
    /// The action is never sent in this direction.
    #[error("{0} is not sent in this direction")]
    WrongDirection(Action),
    /// The info byte holds an unknown value (answered with `ERR_OPTION`).
    #[error("unknown option {info:#04x} for {action}")]
    UnknownOption {
        /// The action.
        action: Action,
        /// The unknown info value.
        info: u8,
    },
    /// An argument is missing or malformed.
    #[error("missing or malformed argument for {0}")]
    BadArgs(Action),
}

impl CommandError {
    /// The `ERR` code a server answers this with.
    pub fn error_code(&self) -> ErrorCode {
        match self {
            CommandError::WrongDirection(_) => ErrorCode::Invalid,
            CommandError::UnknownOption { .. } => ErrorCode::Option,
            CommandError::BadArgs(_) => ErrorCode::Args,
        }
    }
}

/// A packet a client sends to the server.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Request {
    /// Keep-alive; never answered.
    Keep,
    /// Register `username` with a PEM public key.
    Reg {
        /// The name.
        username: Bytes,
        /// PEM text of the public key.
        public_key: Bytes,
    },
    /// Deregister the logged-in account.
    Dereg,
    /// Log in by challenge (`token: None`) or with a reusable token.
    Login {
        /// The name.
        username: Bytes,
        /// The reusable token, over TLS.
        token: Option<Bytes>,
    },
    /// Answer a login challenge.
    Verif {
        /// The name.
        username: Bytes,
        /// The decrypted challenge.
        answer: Bytes,
    },
    /// Log out, keeping the connection.
    Logout,
    /// Ask for a user's key and permission.
    Req {
        /// The name.
        username: Bytes,
    },
    /// List users.
    Users(UserList),
    /// Send a message.
    Msg {
        /// Recipient.
        to: Bytes,
        /// Timestamp varint, as sent.
        stamp: Bytes,
        /// RSA-OAEP ciphertext.
        ciphertext: Bytes,
    },
    /// Fetch stored messages.
    Reciv,
    /// An administrative operation, kept raw: the server checks permissions before
    /// interpreting it (see [`AdminRequest::parse`]).
    Admin {
        /// The info byte.
        op: u8,
        /// The arguments.
        args: Vec<Bytes>,
    },
    /// Subscribe to a hook.
    Sub(Hook),
    /// Unsubscribe from a hook.
    Unsub(Hook),
}

fn arg(packet: &Packet, index: usize) -> Result<Bytes, CommandError> {
    packet
        .args
        .get(index)
        .cloned()
        .ok_or(CommandError::BadArgs(packet.action))
}

impl Request {
    /// Interprets a packet received by a server.
    pub fn from_packet(packet: &Packet) -> Result<Request, CommandError> {
        let option = |info: u8| CommandError::UnknownOption {
            action: packet.action,
            info,
        };
        Ok(match packet.action {
            Action::Keep => Request::Keep,
            Action::Reg => Request::Reg {
                username: arg(packet, 0)?,
                public_key: arg(packet, 1)?,
            },
            Action::Dereg => Request::Dereg,
            Action::Login => Request::Login {
                username: arg(packet, 0)?,
                // Any second argument selects the token path, as in the deployed server.
                token: packet.args.get(1).cloned(),
            },
            Action::Verif => Request::Verif {
                username: arg(packet, 0)?,
                answer: arg(packet, 1)?,
            },
            Action::Logout => Request::Logout,
            Action::Req => Request::Req {
                username: arg(packet, 0)?,
            },
            Action::Usrs => {
                Request::Users(UserList::from_code(packet.info).ok_or(option(packet.info))?)
            }
            Action::Msg => Request::Msg {
                to: arg(packet, 0)?,
                stamp: arg(packet, 1)?,
                ciphertext: arg(packet, 2)?,
            },
            Action::Reciv => Request::Reciv,
            Action::Admin => Request::Admin {
                op: packet.info,
                args: packet.args.clone(),
            },
            Action::Sub => Request::Sub(Hook::from_code(packet.info).ok_or(option(packet.info))?),
            Action::Unsub => {
                Request::Unsub(Hook::from_code(packet.info).ok_or(option(packet.info))?)
            }
            other @ (Action::Ok | Action::Err | Action::Shtdwn | Action::Hook | Action::Hello) => {
                return Err(CommandError::WrongDirection(other));
            }
        })
    }

    /// The action this request is sent as.
    pub fn action(&self) -> Action {
        match self {
            Request::Keep => Action::Keep,
            Request::Reg { .. } => Action::Reg,
            Request::Dereg => Action::Dereg,
            Request::Login { .. } => Action::Login,
            Request::Verif { .. } => Action::Verif,
            Request::Logout => Action::Logout,
            Request::Req { .. } => Action::Req,
            Request::Users(_) => Action::Usrs,
            Request::Msg { .. } => Action::Msg,
            Request::Reciv => Action::Reciv,
            Request::Admin { .. } => Action::Admin,
            Request::Sub(_) => Action::Sub,
            Request::Unsub(_) => Action::Unsub,
        }
    }

    /// Builds the packet for this request with `id`.
    pub fn to_packet(&self, id: u16) -> Packet {
        let p = Packet::new(self.action(), id);
        match self {
            Request::Keep | Request::Dereg | Request::Logout | Request::Reciv => p,
            Request::Reg {
                username,
                public_key,
            } => p.with_arg(username.clone()).with_arg(public_key.clone()),
            Request::Login { username, token } => {
                let p = p.with_arg(username.clone());
                match token {
                    Some(t) => p.with_arg(t.clone()),
                    None => p,
                }
            }
            Request::Verif { username, answer } => {
                p.with_arg(username.clone()).with_arg(answer.clone())
            }
            Request::Req { username } => p.with_arg(username.clone()),
            Request::Users(kind) => p.with_info(kind.code()),
            Request::Msg {
                to,
                stamp,
                ciphertext,
            } => p
                .with_arg(to.clone())
                .with_arg(stamp.clone())
                .with_arg(ciphertext.clone()),
            Request::Admin { op, args } => {
                let mut p = p.with_info(*op);
                p.args = args.clone();
                p
            }
            Request::Sub(hook) | Request::Unsub(hook) => p.with_info(hook.code()),
        }
    }
}

/// An administrative operation with its arguments.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AdminRequest {
    /// Shut the server down at the timestamp (varint bytes, as sent).
    Shutdown {
        /// Timestamp varint.
        stamp: Bytes,
    },
    /// Deregister (ban) a user.
    Dereg {
        /// Target.
        username: Bytes,
    },
    /// Send a text to every online user (TLS only).
    Broadcast {
        /// The text.
        text: Bytes,
    },
    /// Set a user's permission level (one raw byte).
    ChangePerms {
        /// Target.
        username: Bytes,
        /// New level byte (0, 1 or 2 are valid).
        level: u8,
    },
    /// Disconnect an online user.
    Kick {
        /// Target.
        username: Bytes,
    },
    /// Replace the message of the day.
    Motd {
        /// The new text.
        text: Bytes,
    },
}

impl AdminRequest {
    /// Interprets an `ADMIN` packet's info and arguments: unknown operations give
    /// `ERR_INVALID`, missing arguments `ERR_ARGS` (the deployed server's codes).
    pub fn parse(op: u8, args: &[Bytes]) -> Result<AdminRequest, ErrorCode> {
        let op = AdminOp::from_code(op).ok_or(ErrorCode::Invalid)?;
        if args.len() < usize::from(op.min_args()) {
            return Err(ErrorCode::Args);
        }
        let first = args[0].clone();
        Ok(match op {
            AdminOp::Shutdown => AdminRequest::Shutdown { stamp: first },
            AdminOp::Dereg => AdminRequest::Dereg { username: first },
            AdminOp::Broadcast => AdminRequest::Broadcast { text: first },
            AdminOp::ChangePerms => AdminRequest::ChangePerms {
                username: first,
                level: *args[1].first().ok_or(ErrorCode::Args)?,
            },
            AdminOp::Kick => AdminRequest::Kick { username: first },
            AdminOp::Motd => AdminRequest::Motd { text: first },
        })
    }

    /// The operation.
    pub fn op(&self) -> AdminOp {
        match self {
            AdminRequest::Shutdown { .. } => AdminOp::Shutdown,
            AdminRequest::Dereg { .. } => AdminOp::Dereg,
            AdminRequest::Broadcast { .. } => AdminOp::Broadcast,
            AdminRequest::ChangePerms { .. } => AdminOp::ChangePerms,
            AdminRequest::Kick { .. } => AdminOp::Kick,
            AdminRequest::Motd { .. } => AdminOp::Motd,
        }
    }

    /// The request carrying this operation.
    pub fn into_request(self) -> Request {
        let op = self.op().code();
        let args = match self {
            AdminRequest::Shutdown { stamp } => vec![stamp],
            AdminRequest::Dereg { username } | AdminRequest::Kick { username } => vec![username],
            AdminRequest::Broadcast { text } | AdminRequest::Motd { text } => vec![text],
            AdminRequest::ChangePerms { username, level } => {
                vec![username, Bytes::copy_from_slice(&[level])]
            }
        };
        Request::Admin { op, args }
    }
}

impl From<AdminRequest> for Request {
    fn from(admin: AdminRequest) -> Request {
        admin.into_request()
    }
}

/// A packet a server sends to a client.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Response {
    /// Success.
    Ok,
    /// Failure with a code (`Err(None)` for a code this implementation does not know).
    Err(Option<ErrorCode>),
    /// Greeting with the message of the day.
    Hello {
        /// The MOTD (may be empty).
        motd: Bytes,
    },
    /// Login challenge ciphertext.
    Verif {
        /// RSA-OAEP ciphertext of the challenge.
        challenge: Bytes,
    },
    /// A user's key and permission.
    Req {
        /// The name, as requested.
        username: Bytes,
        /// PEM public key.
        public_key: Bytes,
        /// Permission byte.
        permission: u8,
    },
    /// A user list (see [`parse_user_list`]).
    Users {
        /// Entries separated by `\n`.
        list: Bytes,
    },
    /// A delivered message.
    Reciv {
        /// Sender.
        from: Bytes,
        /// Timestamp varint.
        stamp: Bytes,
        /// Ciphertext.
        ciphertext: Bytes,
    },
    /// Scheduled shutdown announcement.
    Shtdwn {
        /// Timestamp varint (may be absent from old servers).
        stamp: Option<Bytes>,
    },
    /// Hook notification.
    Hook {
        /// Which hook.
        hook: Hook,
        /// Its arguments (see [`Response::new_login`] and friends).
        args: Vec<Bytes>,
    },
}

impl Response {
    /// The action this response is sent as.
    pub fn action(&self) -> Action {
        match self {
            Response::Ok => Action::Ok,
            Response::Err(_) => Action::Err,
            Response::Hello { .. } => Action::Hello,
            Response::Verif { .. } => Action::Verif,
            Response::Req { .. } => Action::Req,
            Response::Users { .. } => Action::Usrs,
            Response::Reciv { .. } => Action::Reciv,
            Response::Shtdwn { .. } => Action::Shtdwn,
            Response::Hook { .. } => Action::Hook,
        }
    }

    /// `HOOK NEWLOGIN <name> <perm byte>`.
    pub fn new_login(username: Bytes, permission: Permission) -> Response {
        Response::Hook {
            hook: Hook::NewLogin,
            args: vec![username, Bytes::copy_from_slice(&[permission.code()])],
        }
    }

    /// `HOOK NEWLOGOUT <name>`.
    pub fn new_logout(username: Bytes) -> Response {
        Response::Hook {
            hook: Hook::NewLogout,
            args: vec![username],
        }
    }

    /// `HOOK DUPSESS <ip>`.
    pub fn duplicate_session(ip: &str) -> Response {
        Response::Hook {
            hook: Hook::DupSess,
            args: vec![Bytes::copy_from_slice(ip.as_bytes())],
        }
    }

    /// `HOOK PERMSCHG <name> <perm byte>`.
    pub fn permissions_changed(username: Bytes, permission: Permission) -> Response {
        Response::Hook {
            hook: Hook::PermsChg,
            args: vec![username, Bytes::copy_from_slice(&[permission.code()])],
        }
    }

    /// Builds the packet with `id` (use 0 for unsolicited packets).
    pub fn to_packet(&self, id: u16) -> Packet {
        let p = Packet::new(self.action(), id);
        match self {
            Response::Ok => p,
            Response::Err(code) => p.with_info(code.map_or(EMPTY_INFO, ErrorCode::code)),
            Response::Hello { motd } => p.with_arg(motd.clone()),
            Response::Verif { challenge } => p.with_arg(challenge.clone()),
            Response::Req {
                username,
                public_key,
                permission,
            } => p
                .with_arg(username.clone())
                .with_arg(public_key.clone())
                .with_arg(Bytes::copy_from_slice(&[*permission])),
            Response::Users { list } => p.with_arg(list.clone()),
            Response::Reciv {
                from,
                stamp,
                ciphertext,
            } => p
                .with_arg(from.clone())
                .with_arg(stamp.clone())
                .with_arg(ciphertext.clone()),
            Response::Shtdwn { stamp } => match stamp {
                Some(s) => p.with_arg(s.clone()),
                None => p,
            },
            Response::Hook { hook, args } => {
                let mut p = p.with_info(hook.code());
                p.args = args.clone();
                p
            }
        }
    }

    /// Interprets a packet received by a client.
    pub fn from_packet(packet: &Packet) -> Result<Response, CommandError> {
        Ok(match packet.action {
            Action::Ok => Response::Ok,
            Action::Err => Response::Err(ErrorCode::from_code(packet.info)),
            Action::Hello => Response::Hello {
                motd: arg(packet, 0)?,
            },
            Action::Verif => Response::Verif {
                challenge: arg(packet, 0)?,
            },
            Action::Req => Response::Req {
                username: arg(packet, 0)?,
                public_key: arg(packet, 1)?,
                permission: *arg(packet, 2)?
                    .first()
                    .ok_or(CommandError::BadArgs(Action::Req))?,
            },
            // Servers may continue a long list in further arguments: join them.
            Action::Usrs => Response::Users {
                list: match packet.args.len() {
                    0 => return Err(CommandError::BadArgs(Action::Usrs)),
                    1 => packet.args[0].clone(),
                    _ => Bytes::from(packet.args.join(&b'\n')),
                },
            },
            Action::Reciv => Response::Reciv {
                from: arg(packet, 0)?,
                stamp: arg(packet, 1)?,
                ciphertext: arg(packet, 2)?,
            },
            Action::Shtdwn => Response::Shtdwn {
                stamp: packet.args.first().cloned(),
            },
            Action::Hook => {
                let hook = Hook::from_code(packet.info).ok_or(CommandError::UnknownOption {
                    action: Action::Hook,
                    info: packet.info,
                })?;
                if packet.args.len() < usize::from(hook.min_args()) {
                    return Err(CommandError::BadArgs(Action::Hook));
                }
                Response::Hook {
                    hook,
                    args: packet.args.clone(),
                }
            }
            other => return Err(CommandError::WrongDirection(other)),
        })
    }
}

/// Formats a `USRS` list: entries joined by `\n`, each `name` or `name <decimal level>`.
pub fn format_user_list<'a>(entries: impl IntoIterator<Item = (&'a [u8], Option<u8>)>) -> Vec<u8> {
    let mut out = Vec::new();
    for (i, (name, perm)) in entries.into_iter().enumerate() {
        if i > 0 {
            out.push(b'\n');
        }
        out.extend_from_slice(name);
        if let Some(level) = perm {
            out.push(b' ');
            out.extend_from_slice(level.to_string().as_bytes());
        }
    }
    out
}

/// Parses a `USRS` list into names with their levels (when listed).
pub fn parse_user_list(list: &[u8]) -> Vec<(String, Option<u8>)> {
    if list.is_empty() {
        return Vec::new();
    }
    list.split(|&b| b == b'\n')
        .filter(|line| !line.is_empty())
        .map(|line| {
            let line = String::from_utf8_lossy(line);
            match line.rsplit_once(' ') {
                Some((name, level)) => match level.parse::<u8>() {
                    Ok(level) => (name.to_owned(), Some(level)),
                    Err(_) => (line.clone().into_owned(), None),
                },
                None => (line.into_owned(), None),
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn requests_round_trip() {
        let reqs = [
            Request::Keep,
            Request::Reg {
                username: "alice".into(),
                public_key: "pem".into(),
            },
            Request::Login {
                username: "a".into(),
                token: Some("t".into()),
            },
            Request::Users(UserList::OnlinePerms),
            Request::Sub(Hook::All),
            AdminRequest::ChangePerms {
                username: "bob".into(),
                level: 1,
            }
            .into(),
        ];
        for r in reqs {
            assert_eq!(Request::from_packet(&r.to_packet(3)), Ok(r));
        }
    }

    #[test]
    fn unknown_options() {
        let p = Packet::new(Action::Usrs, 1).with_info(4);
        assert_eq!(
            Request::from_packet(&p).map_err(|e| e.error_code()),
            Err(ErrorCode::Option)
        );
        assert_eq!(AdminRequest::parse(9, &[]), Err(ErrorCode::Invalid));
        assert_eq!(AdminRequest::parse(3, &["x".into()]), Err(ErrorCode::Args));
        assert_eq!(
            AdminRequest::parse(3, &["x".into(), Bytes::new()]),
            Err(ErrorCode::Args)
        );
    }

    #[test]
    fn user_lists() {
        let list = format_user_list([(&b"alice"[..], Some(0)), (&b"carol"[..], Some(2))]);
        assert_eq!(list, b"alice 0\ncarol 2");
        assert_eq!(
            parse_user_list(&list),
            vec![("alice".into(), Some(0)), ("carol".into(), Some(2))]
        );
        assert_eq!(parse_user_list(b""), vec![]);
    }
}
