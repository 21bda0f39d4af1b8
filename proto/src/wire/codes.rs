//! Every numeric code of gochat v1: actions, error codes, user-list kinds,
//! admin operations, hooks and permission levels.

/// Declares a `u8`-backed code enum with its wire value, canonical name and description.
macro_rules! wire_code {
    (
        $(#[$meta:meta])*
        $vis:vis enum $name:ident {
            $( $(#[$vmeta:meta])* $variant:ident = $value:literal, $text:literal, $desc:literal; )+
        }
    ) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        #[repr(u8)]
        $vis enum $name {
            $( $(#[$vmeta])* $variant = $value, )+
        }

        impl $name {
            /// Every value, in code order.
            pub const ALL: &'static [$name] = &[$($name::$variant),+];

            /// The byte this value has on the wire.
            pub const fn code(self) -> u8 {
                self as u8
            }

            /// The value for a wire byte, if it is defined.
            pub const fn from_code(code: u8) -> Option<Self> {
                match code {
                    $( $value => Some($name::$variant), )+
                    _ => None,
                }
            }

            /// The protocol's name for this value (as the specification spells it).
            pub const fn name(self) -> &'static str {
                match self {
                    $( $name::$variant => $text, )+
                }
            }

            /// A one-line description for humans.
            pub const fn description(self) -> &'static str {
                match self {
                    $( $name::$variant => $desc, )+
                }
            }

            /// Looks a value up by its protocol name, ignoring ASCII case.
            pub fn from_name(name: &str) -> Option<Self> {
                Self::ALL.iter().copied().find(|v| v.name().eq_ignore_ascii_case(name))
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.name())
            }
        }

        impl TryFrom<u8> for $name {
            type Error = u8;
            fn try_from(code: u8) -> Result<Self, u8> {
                Self::from_code(code).ok_or(code)
            }
        }
    };
}

wire_code! {
    /// The action (operation) code in bits 59–52 of the header.
    pub enum Action {
        /// Success reply.
        Ok = 0x01, "OK", "request succeeded";
        /// Error reply; the info byte holds an [`ErrorCode`].
        Err = 0x02, "ERR", "request failed; info carries the error code";
        /// Keep-alive; never answered.
        Keep = 0x03, "KEEP", "keep-alive, no reply";
        /// Register a username with a public key.
        Reg = 0x04, "REG", "register a username and its RSA public key";
        /// Deregister the logged-in account.
        Dereg = 0x05, "DEREG", "deregister the logged-in account";
        /// Start a login (challenge) or log in with a reusable token.
        Login = 0x06, "LOGIN", "start a login by challenge, or log in with a token";
        /// Log out, keeping the connection.
        Logout = 0x07, "LOGOUT", "log out and keep the connection";
        /// Challenge (server→client) or its answer (client→server).
        Verif = 0x08, "VERIF", "login challenge and its decrypted answer";
        /// Request a user's public key and permission.
        Req = 0x09, "REQ", "request a user's public key and permission";
        /// List users; the info byte holds a [`UserList`] kind.
        Usrs = 0x0A, "USRS", "list users (all or online, with or without permissions)";
        /// Send an encrypted message.
        Msg = 0x0B, "MSG", "send an encrypted message to a user";
        /// Catch-up request (client→server) or a delivered message (server→client).
        Reciv = 0x0C, "RECIV", "fetch stored messages, or a delivered message";
        /// Announcement of a scheduled server shutdown.
        Shtdwn = 0x0D, "SHTDWN", "scheduled server shutdown announcement";
        /// Administrative operation; the info byte holds an [`AdminOp`].
        Admin = 0x0E, "ADMIN", "administrative operation";
        /// Subscribe to a hook; the info byte holds a [`Hook`].
        Sub = 0x0F, "SUB", "subscribe to a hook";
        /// Unsubscribe from a hook; the info byte holds a [`Hook`].
        Unsub = 0x10, "UNSUB", "unsubscribe from a hook";
        /// Hook notification; the info byte holds a [`Hook`].
        Hook = 0x11, "HOOK", "hook notification";
        /// Greeting with the message of the day, first packet on a connection.
        Hello = 0x12, "HELLO", "greeting with the message of the day";
    }
}

/// Which side of a connection sent a packet.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Direction {
    /// Client to server.
    ToServer,
    /// Server to client.
    ToClient,
}

impl Action {
    /// Minimum argument count for this action in `direction`, or `None` when the action
    /// is never sent that way.
    pub const fn min_args(self, direction: Direction) -> Option<u8> {
        use Action::*;
        match direction {
            Direction::ToServer => match self {
                Keep | Dereg | Logout | Usrs | Reciv | Admin | Sub | Unsub => Some(0),
                Login | Req => Some(1),
                Reg | Verif => Some(2),
                Msg => Some(3),
                Ok | Err | Shtdwn | Hook | Hello => None,
            },
            Direction::ToClient => match self {
                Ok | Err | Shtdwn | Hook => Some(0),
                Verif | Usrs | Hello => Some(1),
                Req | Reciv => Some(3),
                Keep | Reg | Dereg | Login | Logout | Msg | Admin | Sub | Unsub => None,
            },
        }
    }

    /// Whether a packet of this action must carry a non-empty info byte in `direction`.
    pub const fn requires_info(self, direction: Direction) -> bool {
        use Action::*;
        match direction {
            Direction::ToServer => matches!(self, Usrs | Admin | Err | Sub | Unsub),
            Direction::ToClient => matches!(self, Hook | Err),
        }
    }

    /// Whether the server may send this action with the null ID (unsolicited packets).
    pub const fn may_be_unsolicited(self) -> bool {
        matches!(
            self,
            Action::Shtdwn | Action::Reciv | Action::Hook | Action::Hello | Action::Err
        )
    }
}

wire_code! {
    /// Error codes carried in the info byte of an `ERR` packet.
    pub enum ErrorCode {
        /// Unspecified error.
        Undefined = 0x00, "ERR_UNDEFINED", "undefined error";
        /// The operation is not valid in this state.
        Invalid = 0x01, "ERR_INVALID", "invalid operation";
        /// The user or item does not exist.
        NotFound = 0x02, "ERR_NOTFOUND", "not found";
        /// Unsupported protocol version.
        Version = 0x03, "ERR_VERSION", "protocol version mismatch";
        /// Login verification failed.
        Handshake = 0x04, "ERR_HANDSHAKE", "verification failed";
        /// Invalid arguments.
        Args = 0x05, "ERR_ARGS", "invalid arguments";
        /// A size limit was exceeded or the payload is malformed.
        MaxSize = 0x06, "ERR_MAXSIZE", "payload exceeds limits or is malformed";
        /// Malformed header.
        Header = 0x07, "ERR_HEADER", "malformed header";
        /// The operation needs a logged-in session.
        NoSess = 0x08, "ERR_NOSESS", "not logged in";
        /// The user could not be logged in.
        Login = 0x09, "ERR_LOGIN", "cannot log in";
        /// Connection error.
        Conn = 0x0A, "ERR_CONN", "connection error";
        /// Nothing to return.
        Empty = 0x0B, "ERR_EMPTY", "no data";
        /// A packet could not be built.
        Packet = 0x0C, "ERR_PACKET", "packet could not be built";
        /// Not enough permissions.
        Perms = 0x0D, "ERR_PERMS", "insufficient permissions";
        /// Internal server error.
        Server = 0x0E, "ERR_SERVER", "server error";
        /// The connection was idle too long.
        Idle = 0x0F, "ERR_IDLE", "idle timeout";
        /// The item already exists.
        Exists = 0x10, "ERR_EXISTS", "already exists";
        /// The user is deregistered.
        Dereg = 0x11, "ERR_DEREG", "user deregistered";
        /// The user already has a session.
        DupSess = 0x12, "ERR_DUPSESS", "session already open elsewhere";
        /// The operation needs a TLS connection.
        NoSecure = 0x13, "ERR_NOSECURE", "requires a secure (TLS) connection";
        /// Stored data is corrupted.
        Corrupted = 0x14, "ERR_CORRUPTED", "corrupted data";
        /// Unknown option value.
        Option = 0x15, "ERR_OPTION", "invalid option";
        /// Disconnected by the server.
        Discn = 0x16, "ERR_DISCN", "disconnected";
    }
}

wire_code! {
    /// Kinds of user list, carried in the info byte of a `USRS` request.
    pub enum UserList {
        /// Every registered name.
        All = 0x00, "ALL", "every registered user";
        /// Online names.
        Online = 0x01, "ONLINE", "online users";
        /// Every registered name with its permission level.
        AllPerms = 0x02, "ALLPERMS", "every registered user with permissions";
        /// Online names with their permission levels.
        OnlinePerms = 0x03, "ONLINEPERMS", "online users with permissions";
    }
}

impl UserList {
    /// Whether entries carry a permission level (`"name level"`).
    pub const fn with_perms(self) -> bool {
        matches!(self, UserList::AllPerms | UserList::OnlinePerms)
    }

    /// Whether only online users are listed.
    pub const fn online_only(self) -> bool {
        matches!(self, UserList::Online | UserList::OnlinePerms)
    }
}

wire_code! {
    /// Administrative operations, carried in the info byte of an `ADMIN` request.
    pub enum AdminOp {
        /// Schedule a server shutdown at a timestamp.
        Shutdown = 0x00, "SHTDWN", "schedule a server shutdown";
        /// Deregister (ban) a user.
        Dereg = 0x01, "DEREG", "deregister (ban) a user";
        /// Broadcast a message to every online user (TLS only).
        Broadcast = 0x02, "BRDCAST", "broadcast a message to online users";
        /// Change a user's permission level.
        ChangePerms = 0x03, "CHGPERMS", "change a user's permission level";
        /// Disconnect an online user.
        Kick = 0x04, "KICK", "disconnect an online user";
        /// Change the message of the day.
        Motd = 0x05, "MOTD", "change the message of the day";
    }
}

impl AdminOp {
    /// Minimum number of arguments the operation needs.
    pub const fn min_args(self) -> u8 {
        match self {
            AdminOp::ChangePerms => 2,
            _ => 1,
        }
    }

    /// The lowest permission level allowed to run the operation.
    pub const fn required_permission(self) -> Permission {
        match self {
            AdminOp::ChangePerms | AdminOp::Motd => Permission::Owner,
            _ => Permission::Admin,
        }
    }
}

wire_code! {
    /// Hooks (server events) a client may subscribe to.
    pub enum Hook {
        /// Every hook; only valid in `SUB`/`UNSUB`.
        All = 0x00, "ALL", "every hook";
        /// A user logged in.
        NewLogin = 0x01, "NEWLOGIN", "a user logged in";
        /// A user logged out.
        NewLogout = 0x02, "NEWLOGOUT", "a user logged out";
        /// Someone tried to log in to this session's account from elsewhere.
        DupSess = 0x03, "DUPSESS", "another login attempt for this account";
        /// A user's permission level changed.
        PermsChg = 0x04, "PERMSCHG", "a user's permission level changed";
    }
}

impl Hook {
    /// The individual hooks (everything but [`Hook::All`]).
    pub const SINGLE: [Hook; 4] = [
        Hook::NewLogin,
        Hook::NewLogout,
        Hook::DupSess,
        Hook::PermsChg,
    ];

    /// Minimum arguments of a `HOOK` notification of this kind.
    pub const fn min_args(self) -> u8 {
        match self {
            Hook::NewLogin | Hook::PermsChg => 2,
            Hook::NewLogout | Hook::DupSess => 1,
            Hook::All => 0,
        }
    }
}

wire_code! {
    /// Permission levels.
    pub enum Permission {
        /// A normal user.
        User = 0, "USER", "normal user";
        /// An administrator.
        Admin = 1, "ADMIN", "administrator";
        /// The owner.
        Owner = 2, "OWNER", "owner";
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_round_trip() {
        for a in Action::ALL {
            assert_eq!(Action::from_code(a.code()), Some(*a));
            assert_eq!(Action::from_name(a.name()), Some(*a));
        }
        assert_eq!(Action::from_code(0), None);
        assert_eq!(Action::from_code(0x13), None);
        assert_eq!(ErrorCode::ALL.len(), 0x17);
        assert_eq!(ErrorCode::from_code(0x16), Some(ErrorCode::Discn));
        assert_eq!(UserList::from_code(4), None);
        assert_eq!(AdminOp::from_code(6), None);
        assert_eq!(Hook::from_code(5), None);
    }

    #[test]
    fn admin_rules_match_go() {
        assert_eq!(AdminOp::ChangePerms.min_args(), 2);
        assert_eq!(AdminOp::Kick.required_permission(), Permission::Admin);
        assert_eq!(AdminOp::Motd.required_permission(), Permission::Owner);
        assert!(Permission::Owner > Permission::Admin);
    }

    #[test]
    fn direction_minimums_match_go() {
        assert_eq!(Action::Msg.min_args(Direction::ToServer), Some(3));
        assert_eq!(Action::Shtdwn.min_args(Direction::ToClient), Some(0));
        assert_eq!(Action::Hello.min_args(Direction::ToServer), None);
        assert!(Action::Usrs.requires_info(Direction::ToServer));
        assert!(!Action::Usrs.requires_info(Direction::ToClient));
    }
}
