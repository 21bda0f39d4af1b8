//! The gochat v1 wire protocol: sans-IO framing and encodings, plus a tokio codec.

mod codec;
mod codes;
mod command;
mod error;
mod header;
mod limits;
mod packet;
mod pubkey;
mod stamp;

pub use codec::{CodecError, GochatCodec};
pub use codes::{Action, AdminOp, Direction, ErrorCode, Hook, Permission, UserList};
pub use command::{
    AdminRequest, CommandError, Request, Response, format_user_list, parse_user_list,
};
pub use error::{EncodeError, FrameError};
pub use header::Header;
pub use limits::*;
pub use packet::Packet;
pub use pubkey::{PUBLIC_KEY_LABEL, PublicKey, PublicKeyError, decode_pem_any, encode_pem};
pub use stamp::{
    MAX_STAMP_LEN, StampError, decode_stamp, decode_stamp_prefix, encode_stamp, encode_stamp_into,
};
