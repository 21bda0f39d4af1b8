//! `gochatd`: the per-user gochat daemon.
//!
//! It alone holds the protocol connections ([`link`], one actor per account), the SQLite
//! [`store`] and the users' [`keys`], and serves the gRPC [`api`] on a Unix [`socket`] to any
//! number of frontends, which see every change live through the [`events`] stream.
#![forbid(unsafe_code)]

pub mod api;
pub mod cli;
pub mod config;
pub mod convert;
pub mod daemon;
pub mod dblock;
pub mod error;
pub mod events;
pub mod goclient;
pub mod keys;
pub mod link;
pub mod notify;
pub mod pool;
pub mod reason;
pub mod report;
pub mod run;
pub mod service;
pub mod socket;
pub mod store;
pub mod tls;
