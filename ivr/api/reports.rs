//! The reports API: what happened on the line, for administrators and analysts, as JSON
//! and as CSV for spreadsheets.
//!
//! - `GET /api/v1/reports/summary?from&to[&format=json|csv][&min_count=k]`: the
//!   [`Summary`](crate::stats::Summary) of a range, read from the daily aggregates only.
//! - `GET /api/v1/reports/daily.csv?from&to[&min_count=k]`: one row per day of the range,
//!   days without calls included as zeros.
//! - `GET /api/v1/reports/calls.csv?from&to`: one anonymous row per call, streamed a day at
//!   a time so a year of calls never sits in memory. A row is one person's call (start
//!   minute, path, topics), so no count suppression can make it safe to share outside the
//!   hotline: with `min_count` above 1 it is refused (400), pointing at the aggregate
//!   reports. Raw rows exist only for `IVR_RETENTION_DAYS`.
//!
//! Every parameter is checked before anything is read (`reports::query`); suppression is in
//! `reports::export`. Errors are `{"error": "…"}` like the rest of `/api`.

use axum::body::{Body, Bytes};
use axum::extract::{Query, State};
use axum::http::header;
use axum::response::{IntoResponse, Response};
use chrono::NaiveDate;

use crate::access::{Guarded, Role};
use crate::db::Db;
use crate::error::{Error, JsonError};
use crate::reports::{ReportFormat, ReportQuery, export, query};
use crate::state::AppState;
use crate::stats::{DateRange, Store, Summarize};

/// Who may read reports.
pub const ROLES: [Role; 2] = [Role::Admin, Role::Analyst];

/// The summary of a range, as JSON.
pub const SUMMARY: &str = "/api/v1/reports/summary";
/// One row of totals per day of a range.
pub const DAILY_CSV: &str = "/api/v1/reports/daily.csv";
/// One anonymous row per call of a range, streamed a day at a time.
pub const CALLS_CSV: &str = "/api/v1/reports/calls.csv";

/// The reports API's routes, each admitting [`ROLES`].
pub fn guarded() -> Guarded {
    Guarded::new().get(SUMMARY, &ROLES, summary).get(DAILY_CSV, &ROLES, daily).get(CALLS_CSV, &ROLES, calls)
}

type Pairs = Query<Vec<(String, String)>>;

/// The parameters, checked. Roles were checked before the handler ran (see [`guarded`]),
/// so a caller without access learns nothing about them.
fn admit(pairs: &[(String, String)], formats: &[ReportFormat]) -> Result<ReportQuery, Error> {
    query::parse(pairs, formats).map_err(|bad| Error::Invalid(bad.0))
}

async fn summary(State(state): State<AppState>, Query(pairs): Pairs) -> Result<Response, JsonError> {
    let q = admit(&pairs, &[ReportFormat::Json, ReportFormat::Csv])?;
    let summary = state.db.summary(q.range).await?;
    Ok(match q.format {
        ReportFormat::Json => axum::Json(export::summary_json(&summary, q.min_count)).into_response(),
        ReportFormat::Csv => csv_response("summary", q.range, export::summary_csv(&summary, q.min_count))?,
    })
}

async fn daily(State(state): State<AppState>, Query(pairs): Pairs) -> Result<Response, JsonError> {
    let q = admit(&pairs, &[ReportFormat::Csv])?;
    let summary = state.db.summary(q.range).await?;
    Ok(csv_response("daily", q.range, export::daily_csv(&summary, q.min_count))?)
}

async fn calls(State(state): State<AppState>, Query(pairs): Pairs) -> Result<Response, JsonError> {
    let q = admit(&pairs, &[ReportFormat::Csv])?;
    if q.min_count > 1 {
        return Err(JsonError(Error::Invalid(
            "calls.csv has one row per call, which no min_count can make safe to share: \
             use daily.csv or summary with min_count instead"
                .to_owned(),
        )));
    }
    let db = state.db.clone();
    // The first day is read before answering, so a database that is down gets a 503
    // instead of a truncated 200.
    let first = day_chunk(&db, q.range.from, true).await?;
    let rest = futures_util::stream::unfold((db, q.range.from.succ_opt(), q.range.to), next_chunk);
    let body = futures_util::StreamExt::chain(futures_util::stream::iter([Ok(first)]), rest);
    Ok(csv_headers("calls", q.range, Body::from_stream(body)))
}

/// The CSV lines of one day's calls, after the header when `header`.
async fn day_chunk(db: &Db, day: NaiveDate, header: bool) -> Result<Bytes, Error> {
    let mut rows = db.calls(DateRange { from: day, to: day }).await?;
    // The calls the totals count: a row whose first step has not arrived (a status callback
    // for a call no instance answered, or a first record still in a spool) is left out.
    rows.retain(|row| row.started_at.is_some());
    let mut out = if header { export::calls_header().map_err(csv_fault)? } else { Vec::new() };
    out.extend(export::calls_csv(&rows).map_err(csv_fault)?);
    Ok(Bytes::from(out))
}

type ChunkState = (Db, Option<NaiveDate>, NaiveDate);

/// The next day's chunk of `calls.csv`. A failure ends the stream with an error, which
/// aborts the response: the client sees a broken download, never a silently short file.
async fn next_chunk((db, day, to): ChunkState) -> Option<(Result<Bytes, std::io::Error>, ChunkState)> {
    let day = day.filter(|d| *d <= to)?;
    match day_chunk(&db, day, false).await {
        Ok(bytes) => Some((Ok(bytes), (db, day.succ_opt(), to))),
        Err(error) => {
            tracing::error!(%error, "calls.csv stopped part-way");
            Some((Err(std::io::Error::other("calls.csv stopped part-way")), (db, None, to)))
        }
    }
}

fn csv_fault(error: csv::Error) -> Error {
    Error::Internal(anyhow::Error::new(error).context("writing CSV"))
}

fn csv_response(name: &str, range: DateRange, csv: Result<Vec<u8>, csv::Error>) -> Result<Response, Error> {
    Ok(csv_headers(name, range, Body::from(csv.map_err(csv_fault)?)))
}

fn csv_headers(name: &str, range: DateRange, body: Body) -> Response {
    let file = format!("attachment; filename=\"ivr-{name}-{}-{}.csv\"", range.from, range.to);
    let headers = [
        (header::CONTENT_TYPE, "text/csv; charset=utf-8".to_owned()),
        (header::CONTENT_DISPOSITION, file),
        (header::CACHE_CONTROL, "no-store".to_owned()),
    ];
    (headers, body).into_response()
}
