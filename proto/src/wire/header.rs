//! The 8-byte packed header and its per-direction validation.

use super::codes::{Action, Direction};
use super::error::FrameError;
use super::limits::{EMPTY_INFO, HEADER_LEN, MAX_ID, NULL_ID, PROTOCOL_VERSION, RESERVED};

/// The header fields, as raw numbers (a decoded header is not yet validated).
///
/// Layout (big-endian u64, MSB first): version 4 bits, action 8, info 8, args 4,
/// length 14, ID 10, reserved 16.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Header {
    /// Protocol version (4 bits).
    pub version: u8,
    /// Raw action code.
    pub action: u8,
    /// Info byte (`0xFF` = empty).
    pub info: u8,
    /// Argument count (4 bits).
    pub args: u8,
    /// Payload length in bytes, one CRLF per argument included (14 bits).
    pub len: u16,
    /// Packet ID (10 bits).
    pub id: u16,
    /// Reserved bits; written as `0xFFFF`, ignored on read.
    pub reserved: u16,
}

impl Header {
    /// Builds a version-1 header with the reserved bits set as the Go implementation sets them.
    pub fn new(action: Action, info: u8, args: u8, len: u16, id: u16) -> Self {
        Header {
            version: PROTOCOL_VERSION,
            action: action.code(),
            info,
            args,
            len,
            id,
            reserved: RESERVED,
        }
    }

    /// Unpacks the eight header bytes.
    pub fn parse(bytes: [u8; HEADER_LEN]) -> Self {
        let v = u64::from_be_bytes(bytes);
        Header {
            version: (v >> 60) as u8 & 0x0F,
            action: (v >> 52) as u8,
            info: (v >> 44) as u8,
            args: (v >> 40) as u8 & 0x0F,
            len: (v >> 26) as u16 & 0x3FFF,
            id: (v >> 16) as u16 & 0x03FF,
            reserved: v as u16,
        }
    }

    /// Packs the header into eight bytes. Fields wider than their bit width are truncated.
    pub fn to_bytes(&self) -> [u8; HEADER_LEN] {
        let v = (u64::from(self.version & 0x0F) << 60)
            | (u64::from(self.action) << 52)
            | (u64::from(self.info) << 44)
            | (u64::from(self.args & 0x0F) << 40)
            | (u64::from(self.len & 0x3FFF) << 26)
            | (u64::from(self.id & MAX_ID) << 16)
            | u64::from(self.reserved);
        v.to_be_bytes()
    }

    /// Validates the header as a peer receiving it from `direction`'s sender would,
    /// in the Go implementation's order, and returns the action.
    ///
    /// Actions never sent in `direction` are let through (minimum 0), as the deployed
    /// implementation does; the session layer answers them.
    pub fn validate(&self, direction: Direction) -> Result<Action, FrameError> {
        if self.version != PROTOCOL_VERSION {
            return Err(FrameError::Version(self.version));
        }
        let action =
            Action::from_code(self.action).ok_or(FrameError::UnknownAction(self.action))?;
        match direction {
            Direction::ToServer => {
                if self.info == EMPTY_INFO && action.requires_info(direction) {
                    return Err(FrameError::MissingInfo(action));
                }
                if self.id == NULL_ID {
                    return Err(FrameError::NullId(action));
                }
            }
            Direction::ToClient => {
                if self.id == NULL_ID && !action.may_be_unsolicited() {
                    return Err(FrameError::NullId(action));
                }
                if self.info == EMPTY_INFO && action.requires_info(direction) {
                    return Err(FrameError::MissingInfo(action));
                }
            }
        }
        let min = action.min_args(direction).unwrap_or(0);
        if self.args < min {
            return Err(FrameError::TooFewArgs {
                action,
                min,
                announced: self.args,
            });
        }
        if self.args == 0 && self.len != 0 {
            return Err(FrameError::PayloadWithoutArgs(self.len));
        }
        if self.args != 0 && usize::from(self.len) < 2 * usize::from(self.args) {
            return Err(FrameError::PayloadTooShort {
                args: self.args,
                len: self.len,
            });
        }
        Ok(action)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn go_login_example() {
        // LOGIN, ID 5, one argument "alice": GO-IMPLEMENTATION.md §1.2.
        let h = Header::new(Action::Login, EMPTY_INFO, 1, 7, 5);
        assert_eq!(
            h.to_bytes(),
            [0x10, 0x6f, 0xf1, 0x00, 0x1c, 0x05, 0xff, 0xff]
        );
        assert_eq!(Header::parse(h.to_bytes()), h);
    }

    #[test]
    fn reserved_bits_are_ignored_on_read() {
        let mut bytes = Header::new(Action::Keep, EMPTY_INFO, 0, 0, 9).to_bytes();
        bytes[6] = 0;
        bytes[7] = 0x12;
        assert_eq!(
            Header::parse(bytes).validate(Direction::ToServer),
            Ok(Action::Keep)
        );
    }

    #[test]
    fn server_side_checks_in_go_order() {
        let mut h = Header::new(Action::Usrs, EMPTY_INFO, 0, 0, 0);
        assert_eq!(
            h.validate(Direction::ToServer),
            Err(FrameError::MissingInfo(Action::Usrs))
        );
        h.info = 1;
        assert_eq!(
            h.validate(Direction::ToServer),
            Err(FrameError::NullId(Action::Usrs))
        );
        h.id = 1;
        assert_eq!(h.validate(Direction::ToServer), Ok(Action::Usrs));
        h.version = 2;
        assert_eq!(h.validate(Direction::ToServer), Err(FrameError::Version(2)));
        let msg = Header::new(Action::Msg, EMPTY_INFO, 2, 10, 1);
        assert!(matches!(
            msg.validate(Direction::ToServer),
            Err(FrameError::TooFewArgs { .. })
        ));
    }

    #[test]
    fn client_side_checks() {
        let reciv = Header::new(Action::Reciv, EMPTY_INFO, 3, 6, 0);
        assert_eq!(reciv.validate(Direction::ToClient), Ok(Action::Reciv));
        let ok = Header::new(Action::Ok, EMPTY_INFO, 0, 0, 0);
        assert_eq!(
            ok.validate(Direction::ToClient),
            Err(FrameError::NullId(Action::Ok))
        );
        let hook = Header::new(Action::Hook, EMPTY_INFO, 1, 3, 0);
        assert_eq!(
            hook.validate(Direction::ToClient),
            Err(FrameError::MissingInfo(Action::Hook))
        );
    }
}
