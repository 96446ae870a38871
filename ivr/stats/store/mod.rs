//! Where the statistics live: [`Store`], implemented on the database floor's
//! [`Sqlite`](crate::db::Sqlite) (the default: one file, no server) and
//! [`Postgres`](crate::db::Postgres) (several `ivr serve` instances sharing one database).
//!
//! Both run the same write, in one transaction: read what the batch's calls have stored,
//! insert the records whose idempotency keys are new, refold each call that got new records
//! from all its records and move the daily totals by the difference. The Rust half of that is in `plan.rs`, shared; each
//! store holds only its SQL. Queries are checked at run time (`sqlx::query`), and values
//! always travel as bind parameters.

mod plan;
mod postgres;
mod sql;
mod sqlite;

use std::future::Future;

use chrono::NaiveDate;

use super::call::CallRow;
use super::range::{DateRange, RangeTotals, TotalRow};
use super::record::Record;
use super::totals::DailyTotals;
use crate::db::{Db, DbError, on_db};

/// What can go wrong reading or writing statistics.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The database refused or could not be reached.
    #[error(transparent)]
    Db(#[from] DbError),
    /// A stored record this version cannot read.
    #[error("a stored record is unreadable: {0}")]
    Corrupt(#[from] serde_json::Error),
}

impl From<sqlx::Error> for StoreError {
    fn from(error: sqlx::Error) -> StoreError {
        StoreError::Db(error.into())
    }
}

impl From<StoreError> for crate::error::Error {
    /// A database that cannot be reached is "try again shortly"; anything else is a fault.
    fn from(error: StoreError) -> crate::error::Error {
        match error {
            StoreError::Db(error) => error.into(),
            other => crate::error::Error::Internal(other.into()),
        }
    }
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
    /// Call rows deleted.
    pub calls: u64,
    /// Stored records deleted.
    pub steps: u64,
}

/// The statistics database. Every method is one transaction or a read.
pub trait Store: Send + Sync + 'static {
    /// Stores records exactly once: a record whose `(call, seq)` is already stored changes nothing.
    fn write(&self, records: &[Record]) -> impl Future<Output = Result<Written, StoreError>> + Send;

    /// The daily aggregate rows of a range.
    fn total_rows(&self, range: DateRange) -> impl Future<Output = Result<Vec<TotalRow>, StoreError>> + Send;

    /// The anonymous per-call rows whose `day` is in a range, by day and start. Rows whose
    /// first record has not arrived (`started_at` is `None`, `day` the day first seen) are
    /// included: a caller that counts calls leaves them out, as the totals do.
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

    /// The daily totals of a range, summed by the database (see `range.rs`).
    fn range_totals(&self, range: DateRange) -> impl Future<Output = Result<RangeTotals, StoreError>> + Send;
}

impl Store for Db {
    async fn write(&self, records: &[Record]) -> Result<Written, StoreError> {
        on_db!(self, s => s.write(records))
    }
    async fn total_rows(&self, range: DateRange) -> Result<Vec<TotalRow>, StoreError> {
        on_db!(self, s => s.total_rows(range))
    }
    async fn calls(&self, range: DateRange) -> Result<Vec<CallRow>, StoreError> {
        on_db!(self, s => s.calls(range))
    }
    async fn purge_before(&self, cutoff: NaiveDate) -> Result<Purged, StoreError> {
        on_db!(self, s => s.purge_before(cutoff))
    }
    async fn load_synthetic(&self, calls: &[CallRow], totals: &DailyTotals) -> Result<(), StoreError> {
        on_db!(self, s => s.load_synthetic(calls, totals))
    }
    async fn real_calls(&self) -> Result<i64, StoreError> {
        on_db!(self, s => s.real_calls())
    }
    async fn range_totals(&self, range: DateRange) -> Result<RangeTotals, StoreError> {
        on_db!(self, s => s.range_totals(range))
    }
}
