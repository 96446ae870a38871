//! The default store: one SQLite file, in WAL mode so reports read while the writer writes.
//!
//! Writes go through a pool of exactly one connection and open with `BEGIN IMMEDIATE`, so
//! there is one writer and it takes the write lock up front instead of failing half-way.
//! `synchronous = FULL`: a committed batch survives a power cut, because "nothing lost"
//! includes the statistics already acknowledged.

use std::collections::HashSet;
use std::str::FromStr;
use std::time::Duration;

use chrono::NaiveDate;
use sqlx::migrate::Migrator;
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteSynchronous};
use sqlx::{QueryBuilder, Sqlite, SqliteConnection};

use super::plan::{self, CALL_COLUMNS, CALL_UPSERT, CHUNK, StepRow, TOTALS_UPSERT, push_call_row};
use super::{Purged, Store, StoreError, Written};
use crate::stats::call::CallRow;
use crate::stats::record::Record;
use crate::stats::report::{DateRange, TotalRow};
use crate::stats::totals::DailyTotals;

static MIGRATOR: Migrator = sqlx::migrate!("migrations/sqlite");

#[derive(Clone, Debug)]
pub struct SqliteStore {
    writer: SqlitePool,
    reader: SqlitePool,
}

impl SqliteStore {
    /// Opens (creating if needed) the file of a `sqlite://` URL.
    pub async fn connect(url: &str) -> Result<SqliteStore, StoreError> {
        let store = SqliteStore::connect_lazy(url)?;
        store.ping().await?;
        Ok(store)
    }

    /// The store of a `sqlite://` URL, opening the file only when first used.
    pub fn connect_lazy(url: &str) -> Result<SqliteStore, StoreError> {
        let options = SqliteConnectOptions::from_str(url)?
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Full)
            .busy_timeout(Duration::from_secs(5));
        let writer = SqlitePoolOptions::new().max_connections(1).connect_lazy_with(options.clone());
        let reader = SqlitePoolOptions::new().max_connections(4).connect_lazy_with(options.read_only(true));
        Ok(SqliteStore { writer, reader })
    }

    /// The read-only connections, for reports and pages.
    pub fn reader(&self) -> &SqlitePool {
        &self.reader
    }

    /// The single writing connection's pool, for other parts of the service that write here.
    pub fn pool(&self) -> &SqlitePool {
        &self.writer
    }
}

impl Store for SqliteStore {
    /// SQLite has no advisory lock for sqlx's migrator to take, so two processes starting at
    /// once (`ivr serve` and `ivr report`) could both apply a migration. Holding the write
    /// lock makes the second wait and then find it applied.
    async fn migrate(&self) -> Result<(), StoreError> {
        let mut tx = self.writer.begin_with("BEGIN IMMEDIATE").await?;
        // `run_direct` is `run` on a connection we hold (sqlx's way around an `Acquire`
        // lifetime error in `Send` futures).
        MIGRATOR.run_direct(None, &mut *tx, false).await?;
        tx.commit().await?;
        Ok(())
    }

    async fn ping(&self) -> Result<(), StoreError> {
        sqlx::query("SELECT 1").execute(&self.writer).await?;
        Ok(())
    }

    async fn write(&self, records: &[Record]) -> Result<Written, StoreError> {
        let records = plan::unique(records);
        let mut tx = self.writer.begin_with("BEGIN IMMEDIATE").await?;
        let mut fresh = HashSet::new();
        for chunk in records.chunks(CHUNK) {
            fresh.extend(insert_steps(&mut tx, chunk).await?);
        }
        if !fresh.is_empty() {
            let stored = load_steps(&mut tx, &plan::calls_of(&fresh)).await?;
            let plan = plan::plan(&stored, &fresh);
            upsert_calls(&mut tx, &plan.calls, CALL_UPSERT).await?;
            upsert_totals(&mut tx, &plan.totals).await?;
        }
        tx.commit().await?;
        Ok(Written { new: fresh.len(), duplicates: records.len() - fresh.len() })
    }

    async fn total_rows(&self, range: DateRange) -> Result<Vec<TotalRow>, StoreError> {
        let sql = "SELECT day, metric, key, value FROM daily_totals WHERE day >= ? AND day <= ?";
        Ok(sqlx::query_as(sql).bind(range.from).bind(range.to).fetch_all(&self.reader).await?)
    }

    async fn calls(&self, range: DateRange) -> Result<Vec<CallRow>, StoreError> {
        let mut query = QueryBuilder::<Sqlite>::new("SELECT ");
        query.push(CALL_COLUMNS).push(" FROM calls WHERE day >= ").push_bind(range.from);
        query.push(" AND day <= ").push_bind(range.to).push(" ORDER BY day, started_at, call_id");
        Ok(query.build_query_as().fetch_all(&self.reader).await?)
    }

    async fn purge_before(&self, cutoff: NaiveDate) -> Result<Purged, StoreError> {
        let mut tx = self.writer.begin_with("BEGIN IMMEDIATE").await?;
        let steps = sqlx::query(
            "DELETE FROM call_steps WHERE day < ?1 \
             OR call_id IN (SELECT call_id FROM calls WHERE day < ?1)",
        )
        .bind(cutoff)
        .execute(&mut *tx)
        .await?;
        let calls = sqlx::query("DELETE FROM calls WHERE day < ?").bind(cutoff).execute(&mut *tx).await?;
        tx.commit().await?;
        Ok(Purged { calls: calls.rows_affected(), steps: steps.rows_affected() })
    }

    async fn load_synthetic(&self, calls: &[CallRow], totals: &DailyTotals) -> Result<(), StoreError> {
        let mut tx = self.writer.begin_with("BEGIN IMMEDIATE").await?;
        upsert_calls(&mut tx, calls, "").await?;
        upsert_totals(&mut tx, totals).await?;
        tx.commit().await?;
        Ok(())
    }

    async fn real_calls(&self) -> Result<i64, StoreError> {
        let sql = "SELECT CAST(COALESCE(SUM(CASE WHEN metric = 'calls' THEN value ELSE -value END), 0) AS BIGINT) \
                   FROM daily_totals WHERE metric IN ('calls', 'synthetic') AND key = ''";
        Ok(sqlx::query_scalar(sql).fetch_one(&self.reader).await?)
    }
}

/// Inserts the records' keys and contents; returns the keys that were not there yet.
async fn insert_steps(tx: &mut SqliteConnection, records: &[&Record]) -> Result<Vec<(i64, i32)>, StoreError> {
    let mut query =
        QueryBuilder::<Sqlite>::new("INSERT INTO call_steps (call_id, seq, day, started_at, elapsed, events) ");
    query.push_values(records, |mut tuple, r| {
        tuple.push_bind(r.call).push_bind(r.seq).push_bind(r.day);
        tuple.push_bind(r.started_at).push_bind(r.elapsed).push_bind(plan::events_json(r));
    });
    query.push(" ON CONFLICT (call_id, seq) DO NOTHING RETURNING call_id, seq");
    Ok(query.build_query_as().fetch_all(&mut *tx).await?)
}

/// Every stored record of `calls`.
async fn load_steps(tx: &mut SqliteConnection, calls: &[i64]) -> Result<Vec<Record>, StoreError> {
    let mut records = Vec::new();
    for chunk in calls.chunks(CHUNK) {
        let mut query = QueryBuilder::<Sqlite>::new(
            "SELECT call_id, seq, day, started_at, elapsed, events FROM call_steps WHERE call_id IN (",
        );
        let mut list = query.separated(", ");
        for call in chunk {
            list.push_bind(*call);
        }
        query.push(")");
        let rows: Vec<StepRow> = query.build_query_as().fetch_all(&mut *tx).await?;
        for row in rows {
            records.push(row.into_record()?);
        }
    }
    Ok(records)
}

/// Writes call rows; `conflict` is [`CALL_UPSERT`] for refolded rows, empty for new ones.
async fn upsert_calls(tx: &mut SqliteConnection, calls: &[CallRow], conflict: &str) -> Result<(), StoreError> {
    for chunk in calls.chunks(CHUNK) {
        let mut query = QueryBuilder::<Sqlite>::new("INSERT INTO calls (");
        query.push(CALL_COLUMNS).push(") ");
        query.push_values(chunk, |mut tuple, row| push_call_row!(tuple, row));
        query.push(conflict);
        query.build().execute(&mut *tx).await?;
    }
    Ok(())
}

async fn upsert_totals(tx: &mut SqliteConnection, totals: &DailyTotals) -> Result<(), StoreError> {
    let rows: Vec<_> = totals.rows().collect();
    for chunk in rows.chunks(CHUNK * 2) {
        let mut query = QueryBuilder::<Sqlite>::new("INSERT INTO daily_totals (day, metric, key, value) ");
        query.push_values(chunk, |mut tuple, (day, metric, key, value)| {
            tuple.push_bind(*day).push_bind(metric.to_string()).push_bind(key.to_string()).push_bind(*value);
        });
        query.push(TOTALS_UPSERT);
        query.build().execute(&mut *tx).await?;
    }
    Ok(())
}
