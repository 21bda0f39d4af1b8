//! Integration tests of gochat-tui, in one binary (one link on a 2-core machine):
//! snapshots of the screens (`TestBackend` + insta) driven through `update`, behaviour of
//! `update`, and an end-to-end run of the real binary in tmux against real daemons and a
//! real server.

mod behaviour;
mod certificates;
mod common;
mod e2e;
mod housekeeping;
mod screens;
