//! The shared store: PostgreSQL, for several `ivr serve` instances writing at once. What
//! both databases share is in `sql.rs`.
//!
//! Two instances may write records of the same call at the same moment (the service is
//! stateless, so any instance answers any webhook). Each write first takes a transaction
//! advisory lock per call, in call-id order, so one call's refold sees every record
//! committed before it and two writers never wait on each other in a circle. Totals are
//! upserted sorted by (day, metric, key) for the same reason.

use chrono::NaiveDate;
use sqlx::{PgConnection, Postgres};

use super::StoreError;
use super::plan::{self, StepRow};
use super::sql::stats_sql;
use crate::stats::call::CallRow;
use crate::stats::range::{DAYS, DateRange, OPERATORS, RangeTotals, SUMS, TotalRow};
use crate::stats::record::Record;
use crate::stats::totals::DailyTotals;

/// Calls by weekday (0 is Monday) and hour.
const HOURS: &str = "SELECT CAST(EXTRACT(ISODOW FROM day) AS INTEGER) - 1 AS weekday, key AS hour, \
     CAST(SUM(value) AS BIGINT) AS value FROM daily_totals \
     WHERE metric = 'hour' AND day >= $1 AND day <= $2 GROUP BY 1, 2 ORDER BY 1, 2";

stats_sql!(crate::db::Postgres, Postgres, PgConnection, load_steps = load_steps, hours = HOURS);

/// Locks `calls` in call-id order until the write commits, then reads every stored record
/// of them, as stored: one array parameter each.
async fn load_steps(tx: &mut PgConnection, calls: &[i64]) -> Result<Vec<StepRow>, StoreError> {
    sqlx::query("SELECT pg_advisory_xact_lock(id) FROM unnest($1::bigint[]) AS t(id)")
        .bind(calls)
        .execute(&mut *tx)
        .await?;
    let sql = "SELECT call_id, seq, day, started_at, elapsed, events FROM call_steps WHERE call_id = ANY($1)";
    Ok(sqlx::query_as(sql).bind(calls).fetch_all(&mut *tx).await?)
}
