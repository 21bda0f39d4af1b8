//! One error and its causes on one line: [`Chain`], shared with the daemon and the frontends
//! (`gochat_proto::error_chain`). The tests below check every server error type against it.

pub use gochat_proto::error_chain::Chain;

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::ConfigError;
    use crate::control::client::{AdminError, ControlError};
    use crate::control::server::BindError;
    use crate::go_config::GoConfigError;
    use crate::import_go::{ImportError, SourceError};
    use crate::server::StartError;
    use crate::store::{RegisterError, StoreError};
    use crate::tls::TlsError;
    use std::error::Error;
    use std::io;
    use std::path::PathBuf;

    const CAUSE: &str = "disk on fire";

    fn io_cause() -> io::Error {
        io::Error::other(CAUSE)
    }

    fn store_cause() -> StoreError {
        StoreError::Sqlx(sqlx::Error::Io(io_cause()))
    }

    /// One value of every error variant that wraps a source, each built on a cause whose
    /// text is [`CAUSE`].
    fn wrapping_errors() -> Vec<Box<dyn Error + Send + Sync + 'static>> {
        let path = PathBuf::from("/x");
        vec![
            Box::new(store_cause()),
            Box::new(StoreError::Io {
                context: "creating database file /x".into(),
                source: io_cause(),
            }),
            Box::new(RegisterError::Db(store_cause())),
            Box::new(StartError::Store(store_cause())),
            Box::new(StartError::Bind {
                addr: std::net::SocketAddr::from(([127, 0, 0, 1], 1)),
                source: io_cause(),
            }),
            Box::new(StartError::Config(ConfigError::Read {
                path: path.clone(),
                source: io_cause(),
            })),
            Box::new(StartError::Control(BindError::Io {
                context: "binding",
                path: path.clone(),
                source: io_cause(),
            })),
            Box::new(AdminError::Store(store_cause())),
            Box::new(AdminError::Control(ControlError::Io {
                path: path.clone(),
                source: io_cause(),
            })),
            Box::new(crate::live_admin::LiveAdminError::Store(store_cause())),
            Box::new(GoConfigError::Read {
                path: path.clone(),
                source: io_cause(),
            }),
            Box::new(ImportError::Target(store_cause())),
            Box::new(ImportError::Source(SourceError::Connect(sqlx::Error::Io(
                io_cause(),
            )))),
            Box::new(ImportError::Source(SourceError::Query(sqlx::Error::Io(
                io_cause(),
            )))),
            Box::new(StartError::Tls(TlsError::Config(
                tokio_rustls::rustls::Error::General(CAUSE.into()),
            ))),
        ]
    }

    #[test]
    fn every_wrapping_error_prints_its_cause_exactly_once() {
        for error in wrapping_errors() {
            let chain = Chain(error.as_ref()).to_string();
            assert_eq!(chain.matches(CAUSE).count(), 1, "{chain}");
            let error = anyhow::Error::from_boxed(error).context("cannot start");
            let anyhow = Chain(error.as_ref()).to_string();
            assert_eq!(anyhow.matches(CAUSE).count(), 1, "{anyhow}");
            assert!(anyhow.starts_with("cannot start: "), "{anyhow}");
        }
    }

    #[test]
    fn no_link_repeats_the_next_one() {
        for error in wrapping_errors() {
            let mut link: Option<&(dyn Error + 'static)> = Some(error.as_ref());
            while let Some(current) = link {
                let own = current.to_string();
                assert!(!own.ends_with('.'), "no trailing period: {own}");
                // sqlx's own messages repeat their source; only ours are held to this.
                if let Some(next) = current.source()
                    && current.downcast_ref::<sqlx::Error>().is_none()
                {
                    assert!(
                        !own.contains(&next.to_string()),
                        "{own:?} repeats its source {next}"
                    );
                }
                link = current.source();
            }
        }
    }

    #[test]
    fn binary_report_reads_as_one_chain() {
        // What `gochat-server` prints when the database cannot be opened: cli.rs adds
        // context, server.rs and store/mod.rs each add one link, sqlx adds the last.
        let error = anyhow::Error::from(StartError::Store(store_cause()))
            .context("gochat-server cannot start (database sqlite:///x)");
        assert_eq!(
            Chain(error.as_ref()).to_string(),
            format!(
                "gochat-server cannot start (database sqlite:///x): cannot open the database: \
                 database error: error communicating with database: {CAUSE}"
            )
        );
    }

    #[test]
    fn nested_server_error_reads_as_one_chain() {
        let error = StartError::Store(store_cause());
        assert_eq!(
            Chain(&error).to_string(),
            format!(
                "cannot open the database: database error: error communicating with database: {CAUSE}"
            )
        );
    }
}
