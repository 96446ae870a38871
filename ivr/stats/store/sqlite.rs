//! The statistics' SQL for SQLite. Every write is one transaction on the single writer
//! connection, opened with `BEGIN IMMEDIATE` (see `db/sqlite.rs`); reports read through
//! the read-only connections.

use chrono::NaiveDate;
use sqlx::{QueryBuilder, Sqlite, SqliteConnection};

use super::plan::{self, CALL_COLUMNS, CALL_UPSERT, CHUNK, StepRow, TOTALS_UPSERT, push_call_row};
use super::{Purged, Store, StoreError, Written};
use crate::stats::call::CallRow;
use crate::stats::range::{DAYS, DateRange, RangeTotals, SUMS, TotalRow};
use crate::stats::record::Record;
use crate::stats::totals::DailyTotals;

/// Calls by weekday (0 is Monday; `%w` counts from Sunday) and hour.
const HOURS: &str = "SELECT (CAST(strftime('%w', day) AS INTEGER) + 6) % 7 AS weekday, key AS hour, \
     CAST(SUM(value) AS BIGINT) AS value FROM daily_totals \
     WHERE metric = 'hour' AND day >= $1 AND day <= $2 GROUP BY 1, 2 ORDER BY 1, 2";

impl Store for crate::db::Sqlite {
    async fn write(&self, records: &[Record]) -> Result<Written, StoreError> {
        let records = plan::unique(records);
        let mut tx = self.begin_write().await?;
        let stored = load_steps(&mut tx, &plan::calls_of(&records)).await?;
        let (new, older) = plan::split_new(&records, stored)?;
        for chunk in new.chunks(CHUNK) {
            insert_steps(&mut tx, chunk).await?;
        }
        if !new.is_empty() {
            let plan = plan::plan(&older, &new);
            upsert_calls(&mut tx, &plan.calls, CALL_UPSERT).await?;
            upsert_totals(&mut tx, &plan.totals).await?;
        }
        tx.commit().await?;
        Ok(Written { new: new.len(), duplicates: records.len() - new.len() })
    }

    async fn total_rows(&self, range: DateRange) -> Result<Vec<TotalRow>, StoreError> {
        let sql = "SELECT day, metric, key, value FROM daily_totals WHERE day >= ? AND day <= ?";
        Ok(sqlx::query_as(sql).bind(range.from).bind(range.to).fetch_all(self.reader()).await?)
    }

    async fn calls(&self, range: DateRange) -> Result<Vec<CallRow>, StoreError> {
        let mut query = QueryBuilder::<Sqlite>::new("SELECT ");
        query.push(CALL_COLUMNS).push(" FROM calls WHERE day >= ").push_bind(range.from);
        query.push(" AND day <= ").push_bind(range.to).push(" ORDER BY day, started_at, call_id");
        Ok(query.build_query_as().fetch_all(self.reader()).await?)
    }

    async fn purge_before(&self, cutoff: NaiveDate) -> Result<Purged, StoreError> {
        let mut tx = self.begin_write().await?;
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
        let mut tx = self.begin_write().await?;
        upsert_calls(&mut tx, calls, "").await?;
        upsert_totals(&mut tx, totals).await?;
        tx.commit().await?;
        Ok(())
    }

    async fn real_calls(&self) -> Result<i64, StoreError> {
        let sql = "SELECT CAST(COALESCE(SUM(CASE WHEN metric = 'calls' THEN value ELSE -value END), 0) AS BIGINT) \
                   FROM daily_totals WHERE metric IN ('calls', 'synthetic') AND key = ''";
        Ok(sqlx::query_scalar(sql).fetch_one(self.reader()).await?)
    }

    /// The three sums read side by side, on connections of their own.
    async fn range_totals(&self, range: DateRange) -> Result<RangeTotals, StoreError> {
        let (from, to) = (range.from, range.to);
        let (sums, days, hours) = tokio::try_join!(
            sqlx::query_as(SUMS).bind(from).bind(to).fetch_all(self.reader()),
            sqlx::query_as(DAYS).bind(from).bind(to).fetch_all(self.reader()),
            sqlx::query_as(HOURS).bind(from).bind(to).fetch_all(self.reader()),
        )?;
        Ok(RangeTotals { sums, days, hours })
    }
}

/// Inserts records not stored yet (a key stored meanwhile would be left as it is).
async fn insert_steps(tx: &mut SqliteConnection, records: &[&Record]) -> Result<(), StoreError> {
    let mut query =
        QueryBuilder::<Sqlite>::new("INSERT INTO call_steps (call_id, seq, day, started_at, elapsed, events) ");
    query.push_values(records, |mut tuple, r| {
        tuple.push_bind(r.call).push_bind(r.seq).push_bind(r.day);
        tuple.push_bind(r.started_at).push_bind(r.elapsed).push_bind(plan::events_json(r));
    });
    query.push(" ON CONFLICT (call_id, seq) DO NOTHING");
    query.build().execute(&mut *tx).await?;
    Ok(())
}

/// Every stored record of `calls`, as stored.
async fn load_steps(tx: &mut SqliteConnection, calls: &[i64]) -> Result<Vec<StepRow>, StoreError> {
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
        records.extend(query.build_query_as::<StepRow>().fetch_all(&mut *tx).await?);
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
