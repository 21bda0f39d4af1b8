//! The testkit's own tests: certificates verify the way a client checks them, the wire
//! client's errors are typed, and the waits give up.

#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

mod certs;
mod wait;
mod wire;
