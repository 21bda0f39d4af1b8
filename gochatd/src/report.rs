//! Errors as text for the log and for link details: the error and each of its causes once.
//! Error types here never repeat their source in their own message, so nothing is lost and
//! nothing is said twice.

pub use gochat_proto::error_chain::chain;
