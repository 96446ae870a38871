//! Retention: raw per-call rows (`calls`, `call_steps`) are kept `IVR_RETENTION_DAYS`
//! (default 365) and then deleted by the writer, once at connection and daily after; the
//! daily aggregates are kept for ever, so reports over past years still work.

use chrono::{NaiveDate, TimeDelta};

use tokio::task::JoinHandle;

use super::store::{Purged, Store, StoreError};
use crate::db::Db;

/// The first day whose raw rows are kept, `days` before `today`.
pub fn cutoff(today: NaiveDate, days: u32) -> NaiveDate {
    today - TimeDelta::days(i64::from(days))
}

/// Deletes the raw rows older than `days` before `today`.
pub async fn purge(store: &impl Store, today: NaiveDate, days: u32) -> Result<Purged, StoreError> {
    store.purge_before(cutoff(today, days)).await
}

/// Runs one purge on its own task, logging what it did.
pub fn spawn_purge(store: Db, cutoff: NaiveDate) -> JoinHandle<()> {
    tokio::spawn(async move {
        match store.purge_before(cutoff).await {
            Ok(purged) if purged.calls + purged.steps > 0 => {
                tracing::info!(calls = purged.calls, steps = purged.steps, %cutoff, "raw call rows deleted (retention)");
            }
            Ok(_) => {}
            Err(error) => tracing::warn!(%error, "retention run failed; it runs again tomorrow or at the next start"),
        }
    })
}
