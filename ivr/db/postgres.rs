//! The shared database: PostgreSQL, for several `ivr serve` instances behind a load
//! balancer. One pool serves reads and writes; sqlx's migrator takes an advisory lock, so
//! instances starting together apply each migration once.

use std::time::Duration;

use sqlx::Transaction;
use sqlx::migrate::Migrator;
use sqlx::postgres::{PgPool, PgPoolOptions};

use super::{DbError, Migrated};

static MIGRATOR: Migrator = sqlx::migrate!("migrations/postgres");

/// Connections a process keeps to the shared database.
const POOL_SIZE: u32 = 4;
/// How long a query waits for a connection before the database counts as unavailable.
const ACQUIRE_TIMEOUT: Duration = Duration::from_secs(5);

/// A PostgreSQL database and its pool.
#[derive(Clone, Debug)]
pub struct Postgres {
    pool: PgPool,
    pub(super) migrated: Migrated,
}

impl Postgres {
    /// The database of a `postgres://` URL, connecting only when first used.
    pub fn connect_lazy(url: &str) -> Result<Postgres, DbError> {
        let pool =
            PgPoolOptions::new().max_connections(POOL_SIZE).acquire_timeout(ACQUIRE_TIMEOUT).connect_lazy(url)?;
        Ok(Postgres { pool, migrated: Migrated::default() })
    }

    /// Reads: the one pool (named like SQLite's, so SQL written once runs on either).
    pub fn reader(&self) -> &PgPool {
        &self.pool
    }

    /// Writes: the one pool.
    pub fn writer(&self) -> &PgPool {
        &self.pool
    }

    /// A write transaction. Rows it changes are locked as it goes; what must also be
    /// serialized across instances takes an advisory lock inside it.
    pub async fn begin_write(&self) -> Result<Transaction<'static, sqlx::Postgres>, sqlx::Error> {
        self.pool.begin().await
    }

    pub(super) async fn ready(&self) -> Result<(), DbError> {
        self.migrated.get_or_try_init(|| async { MIGRATOR.run(&self.pool).await }).await?;
        Ok(())
    }

    pub(super) async fn ping(&self) -> Result<(), DbError> {
        sqlx::query("SELECT 1").execute(&self.pool).await?;
        Ok(())
    }

    pub(super) async fn close(&self) {
        self.pool.close().await;
    }
}
