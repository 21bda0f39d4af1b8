//! What every command gets: the options in force, the output and a (lazily made) connection
//! to the daemon.

use std::path::PathBuf;

use gochat_proto::ipc::{AccountRef, DaemonClient};

use crate::connection;
use crate::error::Result;
use crate::global::Global;
use crate::output::Output;

/// The context of one command (or of the shell session).
pub struct Ctx {
    pub global: Global,
    pub out: Output,
    pub runtime: tokio::runtime::Handle,
    client: Option<DaemonClient>,
}

impl Ctx {
    /// Applies the config file and sets up the output.
    pub fn new(mut global: Global, runtime: tokio::runtime::Handle) -> Result<Ctx> {
        crate::config::apply(&mut global)?;
        let out = Output::new(global.json, global.color);
        Ok(Ctx {
            global,
            out,
            runtime,
            client: None,
        })
    }

    /// The socket path in force.
    pub fn socket(&self) -> PathBuf {
        connection::socket_path(self.global.socket.as_deref())
    }

    /// The daemon client, connecting (and starting the daemon unless --no-autostart) on first use.
    pub async fn client(&mut self) -> Result<&mut DaemonClient> {
        let client = match self.client.take() {
            Some(c) => c,
            None => {
                connection::connect(
                    &self.socket(),
                    self.global.socket.is_some(),
                    !self.global.no_autostart,
                )
                .await?
            }
        };
        Ok(self.client.insert(client))
    }

    /// A client only if the daemon already runs (never starts it).
    ///
    /// # Errors
    ///
    /// When the socket or the daemon on it is not ours.
    pub async fn client_if_running(&mut self) -> Result<Option<&mut DaemonClient>> {
        if self.client.is_none() {
            self.client = connection::connect_if_running(&self.socket()).await?;
        }
        Ok(self.client.as_mut())
    }

    /// Replaces the connection (after starting the daemon) or forgets it (after stopping it).
    pub fn set_client(&mut self, client: Option<DaemonClient>) {
        self.client = client;
    }

    /// Takes the connection out (to stop the daemon).
    pub fn take_client(&mut self) -> Option<DaemonClient> {
        self.client.take()
    }

    /// The account named by --server/--account (empty parts: the daemon's defaults).
    pub fn account(&self) -> AccountRef {
        self.account_named(None)
    }

    /// The account `name` (or --account) on --server.
    pub fn account_named(&self, name: Option<&str>) -> AccountRef {
        AccountRef {
            server: self.global.server.clone().unwrap_or_default(),
            username: name
                .map(str::to_owned)
                .or_else(|| self.global.account.clone())
                .unwrap_or_default(),
        }
    }

    /// A context for one shell line: its options over the session's, sharing the connection.
    pub fn for_line(&self, line: &Global) -> Ctx {
        let global = line.or(&self.global);
        Ctx {
            out: Output::new(global.json, global.color),
            global,
            runtime: self.runtime.clone(),
            client: self.client.clone(),
        }
    }

    /// Keeps the connection a line's context made.
    pub fn adopt_client(&mut self, other: &Ctx) {
        if self.client.is_none() {
            self.client = other.client.clone();
        }
    }
}
