//! The server child: the real `gochat-server` binary, started, killed with SIGKILL and
//! restarted.

use super::*;

/// A running `gochat-server` process; killed with SIGKILL if dropped.
pub(crate) struct Server {
    pub(crate) child: Child,
}

impl Server {
    /// Starts the server and waits for its HELLO.
    pub(crate) async fn start(
        bin: &Path,
        addr: SocketAddr,
        url: &str,
        log: &Path,
    ) -> Result<Server> {
        let log_file = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(log)
            .with_context(|| format!("opening {}", log.display()))?;
        let mut command = Command::new(bin);
        command
            .arg("--listen")
            .arg(addr.to_string())
            .arg("--database")
            .arg(url)
            .arg("--log")
            .arg("warn")
            .stdin(Stdio::null())
            .stdout(log_file.try_clone().context("log file")?)
            .stderr(log_file)
            .kill_on_drop(true);
        // The server's own settings come from the command line only.
        for (name, _) in std::env::vars_os() {
            if name.to_string_lossy().starts_with("GOCHAT_") {
                command.env_remove(&name);
            }
        }
        let child = command
            .spawn()
            .with_context(|| format!("starting {}", bin.display()))?;
        let mut server = Server { child };
        let started = Instant::now();
        loop {
            if let Some(status) = server.child.try_wait().context("waiting for the server")? {
                bail!("the server exited with {status}: {}", tail(log));
            }
            if let Ok(Ok(_)) =
                tokio::time::timeout(Duration::from_secs(5), Client::connect(addr)).await
            {
                return Ok(server);
            }
            if started.elapsed() > START_TIMEOUT {
                bail!(
                    "the server did not answer within {} s: {}",
                    START_TIMEOUT.as_secs(),
                    tail(log)
                );
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// SIGKILL, and reap.
    pub(crate) async fn kill(&mut self) -> Result<()> {
        self.child.kill().await.context("killing the server")
    }

    /// SIGTERM (a clean shutdown), then SIGKILL if it takes more than 10 s.
    pub(crate) async fn stop(mut self) {
        if let Some(pid) = self
            .child
            .id()
            .and_then(|id| rustix::process::Pid::from_raw(id as i32))
        {
            let _ = rustix::process::kill_process(pid, rustix::process::Signal::TERM);
        }
        if tokio::time::timeout(Duration::from_secs(10), self.child.wait())
            .await
            .is_err()
        {
            let _ = self.child.kill().await;
        }
    }
}
