//! The writer task: the only thing that talks to the statistics database.
//!
//! The promise it keeps: a record the database has not committed within `write_timeout`
//! (200 ms) of its webhook being answered is in the fsync'd spool by then, so a crash or a
//! `kill -9` loses at most that much, with the database up, down or stalled.
//!
//! It sleeps on a timer, not on the channel (a webhook's `try_send` never pays for waking a
//! parked thread), and at every tick does its concerns in turn, each in a file of its own:
//! - `batches.rs`: what the channel holds, taken a batch at a time, each committed in one
//!   transaction or, when its time is already up or the database is down, spooled at once;
//!   flush requests met in the channel answered after the records before them;
//! - `handoff.rs`: one write against its records' deadline: past it, the batch is set aside
//!   in the spool and the write goes on; a late commit removes the copy. Only a failed
//!   write, or one still running after 5 s, counts the database as down;
//! - `retry.rs`: whether the database takes writes: connecting and migrating on a task of
//!   their own (the writer spools meanwhile instead of waiting), the back-off after a
//!   failure, and the probe a flush asks for;
//! - `replay.rs`: the spool back into the database, a batch at a time between the
//!   channel's batches, once it takes writes again;
//! - `warnings.rs`: "unavailable" and "commits are slow" said at most once per 10 s, with
//!   a count;
//! - `shutdown.rs`: the handle that stops the task, and the drain it ends with: the channel
//!   to the spool first, then the spool replayed only for as long as the shutdown deadline
//!   allows (an old backlog is the next start's job).
//!
//! This file holds the writer's configuration and state, the loop, and retention's part:
//! the daily purge, and dropping records of days it already deleted.

mod batches;
#[cfg(test)]
mod fixture;
mod handoff;
mod replay;
mod retry;
mod shutdown;
mod warnings;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use chrono::{NaiveDate, Utc};
use tokio::sync::{Notify, mpsc, oneshot};
use tokio::task::JoinHandle;
use tokio::time::{Instant, sleep_until};

use super::record::Record;
use super::recorder::{FlushReport, Message, Overflow};
use super::spool::Spool;
use crate::db::Db;
use retry::Backoff;
pub use shutdown::WriterHandle;
use warnings::Throttled;

/// A day: how often retention runs.
const PURGE_EVERY: Duration = Duration::from_secs(24 * 3600);
/// Kept out of a batch's time for the spool's append and fsync, should the write fail.
const SPOOL_MARGIN: Duration = Duration::from_millis(50);

/// How the statistics writer batches, waits and keeps.
#[derive(Clone, Debug)]
pub struct WriterConfig {
    /// Records one transaction takes at most (more while it is behind).
    pub batch_size: usize,
    /// How long the writer sleeps between takes from the channel.
    pub batch_delay: Duration,
    /// How long after its webhook was answered a record may wait for the database; then
    /// it is spooled.
    pub write_timeout: Duration,
    /// Days raw call rows are kept (`IVR_RETENTION_DAYS`).
    pub retention_days: u32,
}

/// What the rest of the service may know of the writer, for `/readyz` and the metrics.
#[derive(Debug, Default)]
pub struct WriterStatus {
    /// The database took the writer's last attempt (false until it first connects).
    database_up: AtomicBool,
}

impl WriterStatus {
    /// Whether the database took the writer's last attempt.
    pub fn database_up(&self) -> bool {
        self.database_up.load(Ordering::Relaxed)
    }
}

/// The one task that writes statistics: takes records from the channel in batches,
/// commits them, spools what the database cannot take in time and replays it later.
pub struct Writer {
    rx: mpsc::Receiver<Message>,
    config: WriterConfig,
    /// The database, connecting when first used; shared with the rest of the service.
    database: Db,
    /// `database`, once migrated.
    store: Option<Db>,
    /// Connecting and migrating, on a task of its own.
    connecting: Option<JoinHandle<Result<(), String>>>,
    spool: Arc<Spool>,
    overflow: Arc<Overflow>,
    /// The database took the last write.
    up: bool,
    /// When the database is tried again after a failure.
    backoff: Backoff,
    purge_at: Option<Instant>,
    purging: Option<JoinHandle<()>>,
    /// Notified by [`Recorder::flush`](super::Recorder::flush): wake now, not at the tick.
    flush: Arc<Notify>,
    /// `up`, where the rest of the service can read it.
    status: Arc<WriterStatus>,
    /// Flush requests met in the channel, answered once their records are handled.
    flushes: Vec<oneshot::Sender<FlushReport>>,
    /// "Database unavailable", said with the failures since it was last said.
    down_warning: Throttled,
    /// "Commits are slow", said with the late commits since it was last said.
    slow_warning: Throttled,
    /// When the channel was last seen empty: every record in it now arrived since.
    emptied_at: Instant,
    stop: oneshot::Receiver<Instant>,
    /// The shutdown deadline, once asked to stop.
    stopping: Option<Instant>,
}

impl Writer {
    /// A writer taking records from `rx`; start it with [`Writer::spawn`].
    pub fn new(
        rx: mpsc::Receiver<Message>,
        config: WriterConfig,
        database: Db,
        spool: Arc<Spool>,
        overflow: Arc<Overflow>,
        flush: Arc<Notify>,
        status: Arc<WriterStatus>,
    ) -> Writer {
        // Replaced by `spawn`, which keeps the sending end.
        let (_, stop) = oneshot::channel();
        Writer {
            rx,
            config,
            database,
            store: None,
            connecting: None,
            spool,
            overflow,
            up: false,
            backoff: Backoff::new(),
            purge_at: None,
            purging: None,
            flush,
            status,
            flushes: Vec::new(),
            down_warning: Throttled::default(),
            slow_warning: Throttled::default(),
            emptied_at: Instant::now(),
            stop,
            stopping: None,
        }
    }

    /// Runs the writer on its own task; the handle drains and stops it.
    pub fn spawn(mut self) -> WriterHandle {
        let (stop, stopped) = oneshot::channel();
        self.stop = stopped;
        WriterHandle { stop, task: tokio::spawn(self.run()) }
    }

    /// Wakes every `batch_delay` (at once for a flush), commits what the channel holds a
    /// batch at a time, and sleeps again. It sleeps on a timer, not on the channel, so a
    /// webhook's `try_send` never pays for waking a parked thread.
    async fn run(mut self) {
        self.connect();
        let mut tick = Instant::now() + self.config.batch_delay;
        loop {
            let wake = self.wake(tick);
            tokio::select! {
                biased;
                deadline = &mut self.stop, if self.stopping.is_none() => {
                    self.stopping = Some(deadline.unwrap_or_else(|_| Instant::now()));
                }
                () = self.flush.notified() => {}
                () = sleep_until(wake) => {}
            }
            if self.stopping.is_some() {
                break;
            }
            if Instant::now() >= tick {
                tick = Instant::now() + self.config.batch_delay;
            }
            if !self.take_all().await {
                break;
            }
            self.housekeeping().await;
            self.answer_flushes().await;
            if self.stopping.is_some() {
                break;
            }
        }
        self.drain().await;
    }

    /// Whether shutdown was asked for (checked between batches of a long replay).
    fn stop_requested(&mut self) -> bool {
        if self.stopping.is_none()
            && let Ok(deadline) = self.stop.try_recv()
        {
            self.stopping = Some(deadline);
        }
        self.stopping.is_some()
    }

    /// When to wake: the next tick, a replay (retried after its back-off), a purge. While
    /// connecting, the next tick looks at how it went.
    fn wake(&self, tick: Instant) -> Instant {
        let retry = (self.connecting.is_none() && self.spool.is_dirty()).then_some(self.backoff.retry_at());
        [Some(tick), retry, self.purge_at].into_iter().flatten().min().unwrap_or(tick)
    }

    /// After the channel's batches: the overflow's episode closed if it is over, the spool
    /// replayed if the database takes writes, the daily purge started when it is due.
    async fn housekeeping(&mut self) {
        self.overflow.settle(false);
        if self.may_write() && self.spool.is_dirty() {
            self.replay(None).await;
        }
        if self.up && self.purge_at.is_some_and(|at| at <= Instant::now()) {
            self.purge();
        }
    }

    /// Starts the daily deletion of raw rows past retention, beside the writes (a long
    /// purge must not hold records back; on SQLite they wait, then spool, meanwhile).
    fn purge(&mut self) {
        self.purge_at = Some(Instant::now() + PURGE_EVERY);
        let running = self.purging.as_ref().is_some_and(|task| !task.is_finished());
        if let (Some(store), false) = (&self.store, running) {
            self.purging = Some(super::retention::spawn_purge(store.clone(), self.cutoff()));
        }
    }

    /// The first day whose raw rows are kept.
    fn cutoff(&self) -> NaiveDate {
        super::retention::cutoff(Utc::now().date_naive(), self.config.retention_days)
    }

    /// Records of days retention already deleted would come back as orphans: drop them.
    fn unexpired(&self, mut records: Vec<Record>) -> Vec<Record> {
        let cutoff = self.cutoff();
        let before = records.len();
        records.retain(|r| r.day >= cutoff);
        if records.len() < before {
            tracing::warn!(records = before - records.len(), "dropped records older than the retention period");
        }
        records
    }
}

#[cfg(test)]
mod tests {
    use chrono::{TimeDelta, Utc};

    use super::fixture::{Bench, call_on, config};

    /// Records of a day retention has already deleted are dropped; the first day kept is
    /// kept.
    #[tokio::test]
    async fn records_of_days_retention_deleted_are_dropped() {
        let bench = Bench::new(config());
        let today = Utc::now().date_naive();
        let kept = [call_on(today), call_on(today - TimeDelta::days(365))];
        let expired = call_on(today - TimeDelta::days(366));
        let records = vec![kept[0].clone(), expired, kept[1].clone()];
        assert_eq!(bench.writer.unexpired(records), kept);
    }
}
