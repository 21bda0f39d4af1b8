//! A `tokio_util::codec` codec over [`Packet`] for one side of a connection.

use bytes::BytesMut;
use tokio_util::codec::{Decoder, Encoder};

use super::codes::{Direction, ErrorCode};
use super::error::{EncodeError, FrameError};
use super::packet::Packet;

/// Errors of a framed gochat connection.
#[derive(Debug, thiserror::Error)]
pub enum CodecError {
    /// The peer sent bytes that are not a valid packet.
    #[error("malformed packet: {0}")]
    Frame(#[from] FrameError),
    /// We tried to send a packet that cannot be framed.
    #[error("cannot encode packet: {0}")]
    Encode(#[from] EncodeError),
    /// The stream ended in the middle of a packet.
    #[error("connection closed in the middle of a packet")]
    Truncated,
    /// The transport failed.
    #[error("I/O error: {0}")]
    Io(#[from] std::io::Error),
}

impl CodecError {
    /// The `ERR` code to tell the peer before closing, if any.
    pub fn error_code(&self) -> ErrorCode {
        match self {
            CodecError::Frame(e) => e.error_code(),
            CodecError::Encode(e) => e.error_code(),
            CodecError::Truncated | CodecError::Io(_) => ErrorCode::Conn,
        }
    }
}

/// Frames packets received from the peer that speaks in `direction`.
///
/// A server uses `GochatCodec::server()` (it reads packets sent to the server), a client
/// `GochatCodec::client()`.
#[derive(Debug, Clone, Copy)]
pub struct GochatCodec {
    incoming: Direction,
}

impl GochatCodec {
    /// The codec for the server side of a connection.
    pub fn server() -> Self {
        GochatCodec {
            incoming: Direction::ToServer,
        }
    }

    /// The codec for the client side of a connection.
    pub fn client() -> Self {
        GochatCodec {
            incoming: Direction::ToClient,
        }
    }

    /// Which direction incoming packets travel in.
    pub fn incoming(&self) -> Direction {
        self.incoming
    }
}

impl Decoder for GochatCodec {
    type Item = Packet;
    type Error = CodecError;

    fn decode(&mut self, src: &mut BytesMut) -> Result<Option<Packet>, CodecError> {
        Ok(Packet::decode(src, self.incoming)?)
    }

    fn decode_eof(&mut self, src: &mut BytesMut) -> Result<Option<Packet>, CodecError> {
        match self.decode(src)? {
            Some(packet) => Ok(Some(packet)),
            None if src.is_empty() => Ok(None),
            None => Err(CodecError::Truncated),
        }
    }
}

impl Encoder<Packet> for GochatCodec {
    type Error = CodecError;

    fn encode(&mut self, item: Packet, dst: &mut BytesMut) -> Result<(), CodecError> {
        item.encode(dst)?;
        Ok(())
    }
}

impl Encoder<&Packet> for GochatCodec {
    type Error = CodecError;

    fn encode(&mut self, item: &Packet, dst: &mut BytesMut) -> Result<(), CodecError> {
        item.encode(dst)?;
        Ok(())
    }
}
