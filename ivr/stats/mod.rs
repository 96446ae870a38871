//! Anonymous call statistics: how many calls, in which language, which guidance was heard,
//! how many callers went to the police or an operator, where callers hang up — without
//! ever knowing who called. See docs/statistics.md.
//!
//! ```text
//! webhook ── Recorder::record_step_with ──try_send──▶ bounded channel ──▶ Writer ──batch──▶ Store
//!                    │ (full or closed)                                     │ (down, slow)
//!                    └──────────▶ Overflow ──▶ Spool (JSON lines) ◀─────────┘
//!                                                   └── replayed when the database is back, counted once
//! ```
//!
//! The call path never waits on the database: there, [`Recorder`] only ever `try_send`s.
//! [`Writer`](writer::Writer) commits batches in one transaction each; the store keeps the
//! per-call rows and the [daily totals](totals) exact and idempotent by `(call id, step)`.
//! The [`Summary`] (the dashboard, `ivr report`, the summary and `daily.csv` reports) is
//! read from the daily totals, summed by the database; only `calls.csv` reads the per-call
//! rows, which retention deletes after `IVR_RETENTION_DAYS`.

mod call;
pub mod cli;
pub mod demo;
mod keys;
mod line_secret;
mod queue;
mod queue_report;
mod range;
mod record;
mod recorder;
mod repeat;
pub mod retention;
mod spool;
pub mod store;
mod stored_word;
mod summary;
mod totals;
pub mod writer;

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::{Notify, mpsc};

pub use call::{CallRow, Outcome};
pub use keys::{FirstTry, KeyRefresh};
pub use queue::QueueOutcome;
pub use queue_report::QueueLine;
pub use range::{DateRange, DayRow, HourSum, MetricSum, OperatorAnswered, RangeError, RangeTotals, TotalRow};
pub use record::{CallEvent, END_SEQ, PartSeconds, Record, UNTIMED, call_key, call_label, to_minute};
pub use recorder::{FlushReport, Recorder, StatsHealth};
pub use repeat::RepeatCheck;
pub use spool::{Spool, SpoolUsage};
pub use store::{Store, StoreError};
pub use summary::{Summarize, Summary};
pub use totals::{DailyTotals, NO_LANGUAGE, metric};
pub use writer::{WriterConfig, WriterHandle, WriterStatus};

use crate::config::Settings;
use crate::db::Db;
use recorder::Overflow;
use writer::Writer;

/// Records a batch may hold.
const BATCH_SIZE: usize = 512;
/// How long [`StatsTasks::drain`] (tools and benchmarks) lets the repeat-caller check finish.
const TOOL_STOP: Duration = Duration::from_secs(10);

/// The statistics' tasks, for whoever stops the service (`crate::tasks`): what produces
/// records stops before the writer drains, and all of them before the database closes.
pub struct StatsTasks {
    /// Checks repeat callers and sends their flags to the writer.
    pub repeat_check: RepeatCheck,
    /// Keeps the day's shared keys loaded.
    pub key_refresh: KeyRefresh,
    /// Commits or spools what the recorder hands it.
    pub writer: WriterHandle,
}

impl StatsTasks {
    /// Stops the producers, then the writer, replaying the spool for up to a minute (tools
    /// and benchmarks).
    pub async fn drain(self) {
        self.repeat_check.stop(tokio::time::Instant::now() + TOOL_STOP).await;
        self.key_refresh.stop().await;
        self.writer.drain().await;
    }
}

impl WriterConfig {
    /// The writer's configuration from the service's settings.
    pub fn from_settings(settings: &Settings) -> WriterConfig {
        WriterConfig {
            batch_size: BATCH_SIZE,
            batch_delay: Duration::from_millis(settings.stats_batch_ms),
            write_timeout: Duration::from_millis(settings.stats_timeout_ms),
            retention_days: settings.retention_days,
        }
    }
}

/// Starts the writer task (it connects to `database`, migrated, in the background), the
/// key refresh and the repeat-caller check, and returns the recorder the webhooks use.
/// Needs a Tokio runtime; returns at once.
pub fn start(settings: &Settings, database: Db) -> (Recorder, StatsTasks) {
    let mut pepper = keys::pepper(&[settings.twilio_auth_token.as_deref(), settings.jambonz_webhook_secret.as_deref()]);
    if let Some(secret) = line_secret::line_secret(settings) {
        pepper.push(0);
        pepper.extend_from_slice(secret.as_bytes());
    }
    start_peppered(WriterConfig::from_settings(settings), database, settings.stats_queue, &settings.data_dir, pepper)
}

/// [`start`] with the writer's settings spelled out (benchmarks).
pub fn start_with(
    config: WriterConfig,
    database: Db,
    queue: usize,
    data_dir: &std::path::Path,
) -> (Recorder, StatsTasks) {
    start_peppered(config, database, queue, data_dir, keys::pepper(&[]))
}

fn start_peppered(
    config: WriterConfig,
    database: Db,
    queue: usize,
    data_dir: &std::path::Path,
    pepper: Vec<u8>,
) -> (Recorder, StatsTasks) {
    let spool = Arc::new(Spool::new(data_dir));
    let overflow = Arc::new(Overflow::new(Arc::clone(&spool)));
    let (tx, rx) = mpsc::channel(queue.max(1));
    let flush = Arc::new(Notify::new());
    let status = Arc::new(WriterStatus::default());
    let parts = recorder::Parts {
        tx,
        flush: Arc::clone(&flush),
        overflow: Arc::clone(&overflow),
        writer: Arc::clone(&status),
        db: database.clone(),
        pepper,
    };
    let (recorder, repeat_check, key_refresh) = Recorder::new(parts);
    let writer = Writer::new(rx, config, database, spool, overflow, flush, status).spawn();
    (recorder, StatsTasks { repeat_check, key_refresh, writer })
}
