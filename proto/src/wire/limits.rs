//! Fixed sizes and limits of gochat v1, as the deployed implementation enforces them.

/// The only protocol version.
pub const PROTOCOL_VERSION: u8 = 1;
/// Bytes in the packed header.
pub const HEADER_LEN: usize = 8;
/// Bytes between the header and the payload (written as CRLF, never checked on read).
pub const SEPARATOR_LEN: usize = 2;
/// Header plus separator: the size of a packet without arguments.
pub const PREAMBLE_LEN: usize = HEADER_LEN + SEPARATOR_LEN;
/// Most arguments in one packet (the field is 4 bits wide).
pub const MAX_ARGS: usize = 15;
/// Most content bytes in one argument (2047 including its CRLF).
pub const MAX_ARG_LEN: usize = 2045;
/// Most payload bytes (arguments plus one CRLF each); the field is 14 bits wide.
pub const MAX_PAYLOAD: usize = 16383;
/// Largest packet ID.
pub const MAX_ID: u16 = 1023;
/// The ID of packets the server sends on its own.
pub const NULL_ID: u16 = 0;
/// Info value meaning "no info".
pub const EMPTY_INFO: u8 = 0xFF;
/// Reserved header bits, as written.
pub const RESERVED: u16 = 0xFFFF;
/// The argument terminator.
pub const CRLF: &[u8; 2] = b"\r\n";
/// Longest username the server accepts.
pub const MAX_USERNAME_LEN: usize = 32;
