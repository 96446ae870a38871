//! The statistics' SQL for SQLite. Every write is one transaction on the single writer
//! connection, opened with `BEGIN IMMEDIATE` (see `db/sqlite.rs`), so no lock is taken per
//! call; reports read through the read-only connections. What both databases share is in
//! `sql.rs`.

use chrono::NaiveDate;
use sqlx::{QueryBuilder, Sqlite, SqliteConnection};

use super::StoreError;
use super::plan::{self, CHUNK, StepRow};
use super::sql::stats_sql;
use crate::stats::call::CallRow;
use crate::stats::range::{DAYS, DateRange, OPERATORS, RangeTotals, SUMS, TotalRow};
use crate::stats::record::Record;
use crate::stats::totals::DailyTotals;

/// Calls by weekday (0 is Monday; `%w` counts from Sunday) and hour.
const HOURS: &str = "SELECT (CAST(strftime('%w', day) AS INTEGER) + 6) % 7 AS weekday, key AS hour, \
     CAST(SUM(value) AS BIGINT) AS value FROM daily_totals \
     WHERE metric = 'hour' AND day >= $1 AND day <= $2 GROUP BY 1, 2 ORDER BY 1, 2";

stats_sql!(crate::db::Sqlite, Sqlite, SqliteConnection, load_steps = load_steps, hours = HOURS);

/// Every stored record of `calls`, as stored: SQLite binds no arrays, so an `IN` list a
/// chunk at a time.
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
