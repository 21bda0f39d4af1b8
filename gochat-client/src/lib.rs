//! What the gochat frontends (`gochat-cli`, `gochat-tui`) share, so that each rule lives in
//! one place:
//!
//! - [`term`]: text from the network made safe for a terminal;
//! - [`socket`]: reaching gochatd only through a private directory and only when the daemon
//!   runs as us;
//! - [`autostart`]: finding and starting gochatd, its log opened safely;
//! - [`files`]: writing private files (keys, backups) without loosening an existing file;
//! - [`names`]: display names of the daemon's enumerations;
//! - [`errors`]: daemon errors with the typed reason frontends branch on.

pub mod autostart;
pub mod errors;
pub mod files;
pub mod names;
pub mod socket;
pub mod term;
