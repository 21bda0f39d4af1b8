//! gochat-tui: the terminal chat interface attached to gochatd.
//!
//! The Elm architecture: [`app::App`] is the model, [`msg::Msg`] what happens,
//! [`update::update`] the only function that changes the model (returning
//! [`msg::Effect`]s instead of doing I/O), and [`ui::draw`] a pure function of the model.
//! [`run::run`] is the loop; [`daemon`] the task that talks to gochatd (and starts it);
//! [`terminal`] owns the real terminal. Only `main.rs` touches the terminal.
//!
//! Layout of the crate:
//! - model: `app`, `input`, `secret`
//! - messages and effects: `msg`; `update` (+ `commands` for `/commands`, one table with
//!   each command's handler)
//! - daemon operations: `ops`, one module per operation (its RPC and the reduction of its
//!   reply)
//! - view: `ui` (`layout`, `messages`, `sidebar`, `users`, `status`, `popup`, `help`), `wrap`, `clock`
//! - outside world: `daemon` (reaching and starting gochatd through `gochat-client`, the
//!   event stream, the call queues), `run`, `terminal`, `logging`, `config`, `keymap`

pub mod app;
pub mod cli;
pub mod clock;
pub mod commands;
pub mod config;
pub mod daemon;
pub mod events;
pub mod input;
pub mod keymap;
pub mod local_events;
pub mod logging;
pub mod msg;
pub mod nav;
pub mod ops;
pub mod run;
pub mod secret;
pub mod terminal;
pub mod ui;
pub mod update;
pub mod wrap;
