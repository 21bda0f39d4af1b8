//! A throw-away MariaDB database per test, on the server the tests share
//! (`mysql://root@127.0.0.1:3306`, or `GOCHAT_TEST_MYSQL_URL`).

use sqlx::Connection;

/// The MariaDB server of the tests (no database part).
pub fn server_url() -> String {
    std::env::var("GOCHAT_TEST_MYSQL_URL").unwrap_or_else(|_| "mysql://root@127.0.0.1:3306".into())
}

/// A database with a random name, dropped by [`TempDatabase::drop_now`] or, failing that
/// (a test that panicked), when the guard is dropped.
#[derive(Debug)]
pub struct TempDatabase {
    name: String,
    dropped: bool,
}

impl TempDatabase {
    /// Creates a database named `gochat_it_<random>`.
    pub async fn create() -> Result<TempDatabase, sqlx::Error> {
        Self::create_with_prefix("gochat_it").await
    }

    /// Creates a database named `<prefix>_<random>`.
    pub async fn create_with_prefix(prefix: &str) -> Result<TempDatabase, sqlx::Error> {
        let name = format!("{prefix}_{:016x}", rand::random::<u64>());
        let mut admin = sqlx::MySqlConnection::connect(&server_url()).await?;
        sqlx::query(&format!("CREATE DATABASE `{name}`"))
            .execute(&mut admin)
            .await?;
        let _ = admin.close().await;
        Ok(TempDatabase {
            name,
            dropped: false,
        })
    }

    /// The database's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The URL of the database.
    pub fn url(&self) -> String {
        format!("{}/{}", server_url(), self.name)
    }

    /// Drops the database now.
    pub async fn drop_now(mut self) -> Result<(), sqlx::Error> {
        self.dropped = true;
        drop_database(&self.name).await
    }
}

async fn drop_database(name: &str) -> Result<(), sqlx::Error> {
    let mut admin = sqlx::MySqlConnection::connect(&server_url()).await?;
    sqlx::query("SET SESSION lock_wait_timeout = 10")
        .execute(&mut admin)
        .await?;
    sqlx::query(&format!("DROP DATABASE IF EXISTS `{name}`"))
        .execute(&mut admin)
        .await?;
    let _ = admin.close().await;
    Ok(())
}

impl Drop for TempDatabase {
    fn drop(&mut self) {
        if self.dropped {
            return;
        }
        // A failed test: drop the database from a thread of its own, outside the test's
        // runtime.
        let name = self.name.clone();
        let _ = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build();
            match runtime {
                Ok(rt) => {
                    if let Err(e) = rt.block_on(drop_database(&name)) {
                        eprintln!("could not drop test database {name}: {e}");
                    }
                }
                Err(e) => eprintln!("could not drop test database {name}: no runtime: {e}"),
            }
        })
        .join();
    }
}
