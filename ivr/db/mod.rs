//! The database floor: the one database (`IVR_DATABASE_URL`) that the statistics, the
//! operator roster and the dashboard's accounts all stand on.
//!
//! [`Db`] is SQLite (the default: one file, no server) or PostgreSQL (several `ivr serve`
//! instances sharing one database), chosen at run time. It owns the pools, connecting and
//! migrating; what is stored in it belongs to the modules that store it: `stats::Store`,
//! the statistics' daily keys (`stats/keys.rs`), `operators::RosterStore` and
//! `access::AccessStore` are each implemented on [`Sqlite`] and [`Postgres`], and on [`Db`]
//! by [`on_db!`], the one place that picks the variant.
//!
//! Migrations (`migrations/sqlite`, `migrations/postgres`) run once per process: the first
//! caller of [`Db::ready`] runs them and every other caller awaits that run, so the
//! statistics writer, the roster refresh and a request that come at once never migrate
//! side by side. A failed run is tried again by the next caller. Across processes, each
//! database serializes the migrator (an advisory lock on PostgreSQL, the write lock on
//! SQLite), and a new SQLite file is created whole before anyone can open it (`sqlite.rs`).
//!
//! SQL both databases accept is written once, with `$1`-style parameters: PostgreSQL's own,
//! and read by sqlx's SQLite driver as the same numbered parameters.

pub mod cli;
mod postgres;
mod sqlite;

use std::sync::Arc;

use tokio::sync::OnceCell;

pub use postgres::Postgres;
pub use sqlite::Sqlite;

/// What can go wrong opening or migrating the database.
#[derive(Debug, thiserror::Error)]
pub enum DbError {
    /// A URL of another scheme than `sqlite:` or `postgres:`.
    #[error("IVR_DATABASE_URL must be sqlite://FILE or postgres://…, not a `{0}:` URL")]
    UnsupportedUrl(String),
    /// The database refused or could not be reached.
    #[error("database: {0}")]
    Database(#[from] sqlx::Error),
    /// A migration failed or does not match what was applied.
    #[error("migrations: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    /// A new SQLite file could not be created.
    #[error("creating the SQLite file: {0}")]
    Create(#[source] std::io::Error),
}

impl DbError {
    /// The database cannot be reached now (down, slow, closed): worth trying again later,
    /// rather than a fault in what was asked.
    pub fn is_unavailable(&self) -> bool {
        matches!(
            self,
            DbError::Database(sqlx::Error::PoolTimedOut | sqlx::Error::Io(_) | sqlx::Error::PoolClosed)
                | DbError::Create(_)
        )
    }
}

/// The database `IVR_DATABASE_URL` names. Clones share the pools and the migration state.
#[derive(Clone, Debug)]
pub enum Db {
    /// An SQLite file: the default, for one instance.
    Sqlite(Sqlite),
    /// PostgreSQL: for several instances behind a load balancer.
    Postgres(Postgres),
}

/// Calls the same method on whichever database a [`Db`] is, and awaits it: the one
/// delegation from [`Db`] to the stores implemented on [`Sqlite`] and [`Postgres`].
///
/// `on_db!(self, db => db.list_operators())`
macro_rules! on_db {
    ($value:expr, $db:ident => $call:expr) => {
        match $value {
            $crate::db::Db::Sqlite($db) => $call.await,
            $crate::db::Db::Postgres($db) => $call.await,
        }
    };
}
pub(crate) use on_db;

/// Whether this process's migrations have run, shared by the clones of one [`Db`].
type Migrated = Arc<OnceCell<()>>;

impl Db {
    /// Connects now (creating a new SQLite file whole), and fails if the database does not
    /// answer. Does not migrate: see [`Db::ready`].
    pub async fn connect(url: &str) -> Result<Db, DbError> {
        let db = Db::connect_lazy(url)?;
        match &db {
            Db::Sqlite(sqlite) => sqlite.create_if_missing().await?,
            Db::Postgres(_) => {}
        }
        db.ping().await?;
        Ok(db)
    }

    /// The database of a URL, connecting only when first used: the service starts, and
    /// answers calls, whether the database is up or not. Fails only on a URL it cannot use.
    pub fn connect_lazy(url: &str) -> Result<Db, DbError> {
        match url.split_once(':').map(|(scheme, _)| scheme) {
            Some("sqlite") => Ok(Db::Sqlite(Sqlite::connect_lazy(url)?)),
            Some("postgres" | "postgresql") => Ok(Db::Postgres(Postgres::connect_lazy(url)?)),
            Some(other) => Err(DbError::UnsupportedUrl(other.to_owned())),
            None => Err(DbError::UnsupportedUrl(String::new())),
        }
    }

    /// Returns once the database is migrated: at once after the first success in this
    /// process; otherwise runs the migrations, or awaits the run already under way.
    pub async fn ready(&self) -> Result<(), DbError> {
        on_db!(self, db => db.ready())
    }

    /// Answers when the database can be written to (on SQLite, by a write that is rolled
    /// back: a read answers while another process holds the write lock).
    pub async fn ping(&self) -> Result<(), DbError> {
        on_db!(self, db => db.ping())
    }

    /// `sqlite` or `postgres`: what may be printed about the database (a URL may hold a password).
    pub fn kind(&self) -> &'static str {
        match self {
            Db::Sqlite(_) => "sqlite",
            Db::Postgres(_) => "postgres",
        }
    }

    /// Closes every connection, waiting for those in use. On SQLite the last one to close
    /// folds the write-ahead log into the file, so no `-wal` file is left beside it.
    pub async fn close(&self) {
        on_db!(self, db => db.close())
    }
}
