//! Typed errors of framing and encoding, each mapped to the protocol's `ERR` code.

use super::codes::{Action, ErrorCode};

/// Why a received byte stream is not a valid packet.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FrameError {
    /// The version field is not 1.
    #[error("unsupported protocol version {0}")]
    Version(u8),
    /// The action code is not defined.
    #[error("unknown action code {0:#04x}")]
    UnknownAction(u8),
    /// The action needs an info value and got `0xFF`.
    #[error("{0} needs an info value")]
    MissingInfo(Action),
    /// The packet uses ID 0 where it is not allowed.
    #[error("{0} may not use the null ID")]
    NullId(Action),
    /// The header announces fewer arguments than the action needs.
    #[error("{action} needs at least {min} arguments, the header announces {announced}")]
    TooFewArgs {
        /// The action.
        action: Action,
        /// Its minimum.
        min: u8,
        /// What the header says.
        announced: u8,
    },
    /// A payload length was announced with no arguments.
    #[error("{0} payload bytes announced with no arguments")]
    PayloadWithoutArgs(u16),
    /// The payload cannot hold the announced arguments' terminators.
    #[error("{args} arguments announced in a {len}-byte payload")]
    PayloadTooShort {
        /// Announced arguments.
        args: u8,
        /// Announced payload length.
        len: u16,
    },
    /// The payload holds fewer CRLF-terminated arguments than announced.
    #[error("payload holds {found} of the {announced} announced arguments")]
    MissingArgs {
        /// Announced arguments.
        announced: u8,
        /// Terminated arguments found.
        found: u8,
    },
    /// The payload does not end with CRLF.
    #[error("payload does not end with CRLF")]
    Unterminated,
    /// An argument is longer than 2045 bytes.
    #[error("argument {index} is {len} bytes, over the 2045-byte limit")]
    ArgTooLong {
        /// Zero-based argument index.
        index: usize,
        /// Its length.
        len: usize,
    },
}

impl FrameError {
    /// The `ERR` code the deployed server answers this with.
    pub fn error_code(&self) -> ErrorCode {
        match self {
            FrameError::Version(_) => ErrorCode::Version,
            FrameError::UnknownAction(_)
            | FrameError::MissingInfo(_)
            | FrameError::NullId(_)
            | FrameError::TooFewArgs { .. } => ErrorCode::Header,
            FrameError::PayloadWithoutArgs(_)
            | FrameError::PayloadTooShort { .. }
            | FrameError::MissingArgs { .. }
            | FrameError::Unterminated
            | FrameError::ArgTooLong { .. } => ErrorCode::MaxSize,
        }
    }
}

/// Why a packet cannot be written.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EncodeError {
    /// More than 15 arguments.
    #[error("{0} arguments, at most 15 fit in a packet")]
    TooManyArgs(usize),
    /// An argument over 2045 bytes.
    #[error("argument {index} is {len} bytes, at most 2045 fit")]
    ArgTooLong {
        /// Zero-based argument index.
        index: usize,
        /// Its length.
        len: usize,
    },
    /// A CRLF inside an argument other than the last cannot be framed.
    #[error("argument {0} contains CRLF; only the last argument may")]
    CrlfInArg(usize),
    /// The payload would exceed 16383 bytes.
    #[error("payload of {0} bytes exceeds 16383")]
    PayloadTooLong(usize),
    /// The ID does not fit in 10 bits.
    #[error("packet ID {0} exceeds 1023")]
    IdTooLarge(u16),
}

impl EncodeError {
    /// The `ERR` code the deployed implementation uses for this failure.
    pub fn error_code(&self) -> ErrorCode {
        match self {
            EncodeError::TooManyArgs(_) | EncodeError::IdTooLarge(_) => ErrorCode::Args,
            _ => ErrorCode::MaxSize,
        }
    }
}
