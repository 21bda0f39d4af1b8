//! End-to-end tests of the `gochat-cli` binary against real `gochatd` processes and an
//! in-process gochat-server (one test binary, ripgrep style).

mod admin;
mod cert_server;
mod certificates;
mod daemon;
mod failures;
mod go_import;
mod hostile;
mod housekeeping;
mod local;
mod messaging;
mod raw;
mod shell;
mod support;
mod watch;
