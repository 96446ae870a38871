//! Where the statistics live: [`Store`], with [`SqliteStore`] (the default: one file, no
//! server) and [`PgStore`] (several `ivr serve` instances sharing one database).
//!
//! Both run the same write: insert the records' idempotency keys, keep the new ones, refold
//! each touched call from all its stored records and move the daily totals by the
//! difference, in one transaction. The Rust half of that is in `plan.rs`, shared; each
//! store holds only its SQL. Queries are checked at run time (`sqlx::query`), and values
//! always travel as bind parameters.

mod plan;
mod postgres;
mod sqlite;

use std::future::Future;

use chrono::NaiveDate;

use super::call::CallRow;
use super::record::Record;
use super::report::{DateRange, Summary, TotalRow};
use super::totals::DailyTotals;

pub use postgres::PgStore;
pub use sqlite::SqliteStore;

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("IVR_DATABASE_URL must be sqlite://FILE or postgres://…, not a `{0}:` URL")]
    UnsupportedUrl(String),
    #[error("database: {0}")]
    Database(#[from] sqlx::Error),
    #[error("migrations: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    #[error("a stored record is unreadable: {0}")]
    Corrupt(#[from] serde_json::Error),
}

/// What one write did.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Written {
    /// Records stored for the first time.
    pub new: usize,
    /// Records already stored: a provider's repeated delivery, or a spool replayed again.
    pub duplicates: usize,
}

/// What one retention run deleted.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Purged {
    pub calls: u64,
    pub steps: u64,
}

/// The statistics database. Every method is one transaction or a read.
pub trait Store: Send + Sync + 'static {
    /// Applies this database's embedded migrations (`migrations/sqlite` or `migrations/postgres`).
    fn migrate(&self) -> impl Future<Output = Result<(), StoreError>> + Send;

    /// Answers when the database does.
    fn ping(&self) -> impl Future<Output = Result<(), StoreError>> + Send;

    /// Stores records exactly once: a record whose `(call, seq)` is already stored changes nothing.
    fn write(&self, records: &[Record]) -> impl Future<Output = Result<Written, StoreError>> + Send;

    /// The daily aggregate rows of a range.
    fn total_rows(&self, range: DateRange) -> impl Future<Output = Result<Vec<TotalRow>, StoreError>> + Send;

    /// The anonymous per-call rows of calls that started in a range, oldest first.
    fn calls(&self, range: DateRange) -> impl Future<Output = Result<Vec<CallRow>, StoreError>> + Send;

    /// Deletes the raw rows (calls and their records) of days before `cutoff`; aggregates stay.
    fn purge_before(&self, cutoff: NaiveDate) -> impl Future<Output = Result<Purged, StoreError>> + Send;

    /// Inserts demo calls and their totals in one transaction: all of them or none.
    fn load_synthetic(
        &self,
        calls: &[CallRow],
        totals: &DailyTotals,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;

    /// How many calls the aggregates count that are not synthetic.
    fn real_calls(&self) -> impl Future<Output = Result<i64, StoreError>> + Send;

    /// The summary of a range, from the aggregates.
    fn summary(&self, range: DateRange) -> impl Future<Output = Result<Summary, StoreError>> + Send {
        async move { Ok(Summary::from_rows(range, &self.total_rows(range).await?)) }
    }
}

/// The store `IVR_DATABASE_URL` names, chosen at run time. Clones share the pools.
#[derive(Clone, Debug)]
pub enum AnyStore {
    Sqlite(SqliteStore),
    Postgres(PgStore),
}

impl AnyStore {
    /// Connects (creating a SQLite file if needed). Does not migrate.
    pub async fn connect(url: &str) -> Result<AnyStore, StoreError> {
        match url.split_once(':').map(|(scheme, _)| scheme) {
            Some("sqlite") => Ok(AnyStore::Sqlite(SqliteStore::connect(url).await?)),
            Some("postgres" | "postgresql") => Ok(AnyStore::Postgres(PgStore::connect(url).await?)),
            Some(other) => Err(StoreError::UnsupportedUrl(other.to_owned())),
            None => Err(StoreError::UnsupportedUrl(String::new())),
        }
    }

    /// The store of a URL, connecting only when first used: the service starts, and answers
    /// calls, whether the database is up or not. Fails only on a URL it cannot use.
    pub fn connect_lazy(url: &str) -> Result<AnyStore, StoreError> {
        match url.split_once(':').map(|(scheme, _)| scheme) {
            Some("sqlite") => Ok(AnyStore::Sqlite(SqliteStore::connect_lazy(url)?)),
            Some("postgres" | "postgresql") => Ok(AnyStore::Postgres(PgStore::connect_lazy(url)?)),
            Some(other) => Err(StoreError::UnsupportedUrl(other.to_owned())),
            None => Err(StoreError::UnsupportedUrl(String::new())),
        }
    }

    /// `sqlite` or `postgres`: what may be printed about the database (a URL may hold a password).
    pub fn kind(&self) -> &'static str {
        match self {
            AnyStore::Sqlite(_) => "sqlite",
            AnyStore::Postgres(_) => "postgres",
        }
    }
}

macro_rules! delegate {
    ($self:ident, $store:ident => $call:expr) => {
        match $self {
            AnyStore::Sqlite($store) => $call.await,
            AnyStore::Postgres($store) => $call.await,
        }
    };
}

impl Store for AnyStore {
    async fn migrate(&self) -> Result<(), StoreError> {
        delegate!(self, s => s.migrate())
    }
    async fn ping(&self) -> Result<(), StoreError> {
        delegate!(self, s => s.ping())
    }
    async fn write(&self, records: &[Record]) -> Result<Written, StoreError> {
        delegate!(self, s => s.write(records))
    }
    async fn total_rows(&self, range: DateRange) -> Result<Vec<TotalRow>, StoreError> {
        delegate!(self, s => s.total_rows(range))
    }
    async fn calls(&self, range: DateRange) -> Result<Vec<CallRow>, StoreError> {
        delegate!(self, s => s.calls(range))
    }
    async fn purge_before(&self, cutoff: NaiveDate) -> Result<Purged, StoreError> {
        delegate!(self, s => s.purge_before(cutoff))
    }
    async fn load_synthetic(&self, calls: &[CallRow], totals: &DailyTotals) -> Result<(), StoreError> {
        delegate!(self, s => s.load_synthetic(calls, totals))
    }
    async fn real_calls(&self) -> Result<i64, StoreError> {
        delegate!(self, s => s.real_calls())
    }
}
