//! The writer task: the only thing that talks to the statistics database.
//!
//! Every `batch_delay` it takes what the channel holds, in batches of up to `batch_size`,
//! and commits each batch in one transaction. When the database is
//! unreachable, fails or takes longer than `write_timeout`, the batch goes to the spool and
//! the database is tried again after a back-off; once it answers, the spool is replayed
//! before anything newer, so one instance's records reach the database in order. On
//! shutdown it takes what is left in the channel, commits or spools it, waits for the
//! overflow, and replays the spool if the database is up.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use chrono::{NaiveDate, Utc};
use tokio::sync::mpsc::error::TryRecvError;
use tokio::sync::{Notify, mpsc, oneshot};
use tokio::task::JoinHandle;
use tokio::time::{Instant, sleep_until, timeout};

use super::record::Record;
use super::recorder::{FlushReport, Message, Overflow};
use super::spool::{Spool, SpoolReader};
use super::store::{Store, StoreError};
use crate::db::Db;

const RETRY_FIRST: Duration = Duration::from_millis(500);
const RETRY_MAX: Duration = Duration::from_secs(10);
/// Connecting includes migrating, which waits for other instances migrating the same database.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
/// A day: how often retention runs.
const PURGE_EVERY: Duration = Duration::from_secs(24 * 3600);

#[derive(Clone, Debug)]
pub struct WriterConfig {
    pub batch_size: usize,
    pub batch_delay: Duration,
    pub write_timeout: Duration,
    pub retention_days: u32,
}

/// What the rest of the service may know of the writer, for `/readyz` and the metrics.
#[derive(Debug, Default)]
pub struct WriterStatus {
    /// The database took the writer's last attempt (false until it first connects).
    database_up: AtomicBool,
}

impl WriterStatus {
    pub fn database_up(&self) -> bool {
        self.database_up.load(Ordering::Relaxed)
    }
}

/// Stops the writer: [`WriterHandle::drain`] returns once everything is committed or spooled.
pub struct WriterHandle {
    stop: oneshot::Sender<()>,
    task: JoinHandle<()>,
}

impl WriterHandle {
    pub async fn drain(self) {
        let _ = self.stop.send(());
        if let Err(error) = self.task.await {
            tracing::error!(%error, "the statistics writer failed");
        }
    }
}

pub struct Writer {
    rx: mpsc::Receiver<Message>,
    config: WriterConfig,
    /// The database, connecting when first used; shared with the rest of the service.
    database: Db,
    /// `database`, once migrated.
    store: Option<Db>,
    spool: Arc<Spool>,
    overflow: Arc<Overflow>,
    /// The database answered the last attempt.
    up: bool,
    retry_at: Instant,
    retry_delay: Duration,
    purge_at: Option<Instant>,
    purging: Option<JoinHandle<()>>,
    /// Notified by [`Recorder::flush`](super::Recorder::flush): wake now, not at the tick.
    flush: Arc<Notify>,
    /// `up`, where the rest of the service can read it.
    status: Arc<WriterStatus>,
}

impl Writer {
    pub fn new(
        rx: mpsc::Receiver<Message>,
        config: WriterConfig,
        database: Db,
        spool: Arc<Spool>,
        overflow: Arc<Overflow>,
        flush: Arc<Notify>,
        status: Arc<WriterStatus>,
    ) -> Writer {
        let now = Instant::now();
        let (store, up, retry_delay, purge_at, purging) = (None, false, RETRY_FIRST, None, None);
        Writer {
            rx,
            config,
            database,
            store,
            spool,
            overflow,
            up,
            retry_at: now,
            retry_delay,
            purge_at,
            purging,
            flush,
            status,
        }
    }

    pub fn spawn(self) -> WriterHandle {
        let (stop, stopped) = oneshot::channel();
        WriterHandle { stop, task: tokio::spawn(self.run(stopped)) }
    }

    /// Wakes every `batch_delay` (at once for a flush), commits what the channel holds a
    /// batch at a time, and sleeps again. It sleeps on a timer, not on the channel, so a
    /// webhook's `try_send` never pays for waking a parked thread.
    async fn run(mut self, mut stop: oneshot::Receiver<()>) {
        self.ready(true).await;
        let mut tick = Instant::now() + self.config.batch_delay;
        loop {
            let wake = self.wake(tick);
            tokio::select! {
                biased;
                _ = &mut stop => break,
                () = self.flush.notified() => {}
                () = sleep_until(wake) => {}
            }
            if Instant::now() >= tick {
                tick = Instant::now() + self.config.batch_delay;
            }
            if !self.take_all().await {
                break;
            }
            self.housekeeping().await;
        }
        self.drain().await;
    }

    /// Commits everything the channel holds, `batch_size` at a time; `false` once closed.
    async fn take_all(&mut self) -> bool {
        loop {
            let mut batch = Vec::new();
            let open = loop {
                match self.rx.try_recv() {
                    Ok(message) => batch.push(message),
                    Err(TryRecvError::Empty) => break true,
                    Err(TryRecvError::Disconnected) => break false,
                }
                if batch.len() >= self.config.batch_size {
                    break true;
                }
            };
            let full = batch.len() >= self.config.batch_size;
            self.handle(batch).await;
            if !open || !full {
                return open;
            }
        }
    }

    /// When to wake: the next tick, a retry, a replay, a purge.
    fn wake(&self, tick: Instant) -> Instant {
        let retry = (!self.up || self.spool.is_dirty()).then_some(self.retry_at);
        [Some(tick), retry, self.purge_at].into_iter().flatten().min().unwrap_or(tick)
    }

    async fn handle(&mut self, batch: Vec<Message>) {
        let mut records = Vec::with_capacity(batch.len());
        let mut flushes = Vec::new();
        for message in batch {
            match message {
                Message::Record(record) => records.push(record),
                Message::Flush(reply) => flushes.push(reply),
            }
        }
        self.commit(records).await;
        if flushes.is_empty() {
            return;
        }
        if self.ready(true).await && self.spool.is_dirty() {
            self.replay().await;
        }
        let report = FlushReport { database_up: self.up, spooled: self.spool.has_pending() };
        for reply in flushes {
            let _ = reply.send(report);
        }
    }

    async fn housekeeping(&mut self) {
        if self.ready(false).await && self.spool.is_dirty() {
            self.replay().await;
        }
        if self.up && self.purge_at.is_some_and(|at| at <= Instant::now()) {
            self.purge();
        }
    }

    /// Commits a batch, or spools it if the database cannot take it now.
    async fn commit(&mut self, records: Vec<Record>) {
        let records = self.unexpired(records);
        if records.is_empty() {
            return;
        }
        if self.ready(false).await && self.spool.is_dirty() {
            self.replay().await;
        }
        if self.up && self.write(&records).await.is_ok() {
            return;
        }
        self.to_spool(records).await;
    }

    async fn write(&mut self, records: &[Record]) -> Result<(), ()> {
        let Some(store) = &self.store else { return Err(()) };
        let started = Instant::now();
        let reason = match timeout(self.config.write_timeout, store.write(records)).await {
            Ok(Ok(_)) => {
                crate::service::metrics::committed(started.elapsed());
                return Ok(());
            }
            Ok(Err(error)) => error.to_string(),
            Err(_) => "no answer within the write timeout".to_owned(),
        };
        self.down(&reason);
        Err(())
    }

    /// Whether the database can be written to, connecting or trying again when it is time
    /// (or now, when `force`).
    async fn ready(&mut self, force: bool) -> bool {
        if self.up {
            return true;
        }
        if !force && Instant::now() < self.retry_at {
            return false;
        }
        if let Some(store) = &self.store {
            match timeout(self.config.write_timeout, store.ping()).await {
                Ok(Ok(())) => {}
                Ok(Err(error)) => return self.fail(&error.to_string()),
                Err(_) => return self.fail("no answer within the write timeout"),
            }
        } else {
            match timeout(CONNECT_TIMEOUT, ready_to_write(&self.database)).await {
                Ok(Ok(store)) => {
                    tracing::info!(database = store.kind(), "statistics database ready");
                    self.store = Some(store);
                    self.purge_at = Some(Instant::now());
                }
                Ok(Err(error)) => return self.fail(&error.to_string()),
                Err(_) => return self.fail("no answer within the connect timeout"),
            }
        }
        self.up = true;
        self.status.database_up.store(true, Ordering::Relaxed);
        self.retry_delay = RETRY_FIRST;
        if self.purge_at.is_some_and(|at| at <= Instant::now()) {
            self.purge();
        }
        self.up
    }

    fn fail(&mut self, reason: &str) -> bool {
        self.down(reason);
        false
    }

    fn down(&mut self, reason: &str) {
        if self.up || self.retry_delay == RETRY_FIRST {
            tracing::warn!(%reason, spool = %self.spool.dir().display(), "statistics database unavailable: spooling");
        }
        self.up = false;
        self.status.database_up.store(false, Ordering::Relaxed);
        self.retry_at = Instant::now() + self.retry_delay;
        self.retry_delay = (self.retry_delay * 2).min(RETRY_MAX);
    }

    /// Replays the spool, oldest file first; stops at the first failure, keeping the file.
    async fn replay(&mut self) {
        let spool = Arc::clone(&self.spool);
        let files = match tokio::task::spawn_blocking(move || spool.take_for_replay()).await {
            Ok(Ok(files)) => files,
            Ok(Err(error)) => return tracing::error!(%error, "cannot read the statistics spool"),
            Err(error) => return tracing::error!(%error, "cannot read the statistics spool"),
        };
        let mut replayed = 0;
        for file in files {
            match self.replay_file(file.clone()).await {
                Ok(count) => {
                    replayed += count;
                    crate::service::metrics::replayed(count);
                }
                Err(()) => return self.spool.mark_dirty(),
            }
            if let Err(error) = self.spool.remove(&file) {
                tracing::error!(%error, "cannot remove a replayed spool file");
            }
        }
        if replayed > 0 {
            tracing::info!(records = replayed, "statistics spool replayed");
        }
    }

    async fn replay_file(&mut self, file: std::path::PathBuf) -> Result<usize, ()> {
        let mut reader =
            SpoolReader::open(&file).map_err(|error| tracing::error!(%error, "cannot open a spool file"))?;
        let mut count = 0;
        loop {
            let size = self.config.batch_size;
            let (read, back) = tokio::task::spawn_blocking(move || (reader.next_batch(size), reader))
                .await
                .map_err(|error| tracing::error!(%error, "spool reader failed"))?;
            reader = back;
            let batch = read.map_err(|error| tracing::error!(%error, "cannot read a spool file"))?;
            if batch.is_empty() {
                return Ok(count);
            }
            count += batch.len();
            let batch = self.unexpired(batch);
            if !batch.is_empty() {
                self.write(&batch).await?;
            }
        }
    }

    async fn to_spool(&self, records: Vec<Record>) {
        let spool = Arc::clone(&self.spool);
        let count = records.len();
        let written = tokio::task::spawn_blocking(move || spool.append(&records)).await;
        if let Err(error) = written.map_err(std::io::Error::other).and_then(|r| r) {
            tracing::error!(records = count, %error, "statistics lost: the spool cannot be written");
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

    async fn drain(mut self) {
        self.rx.close();
        let mut batch = Vec::new();
        while self.rx.recv_many(&mut batch, self.config.batch_size).await > 0 {
            self.handle(std::mem::take(&mut batch)).await;
        }
        let overflow = Arc::clone(&self.overflow);
        let _ = tokio::task::spawn_blocking(move || overflow.wait_idle()).await;
        if self.ready(true).await && self.spool.is_dirty() {
            self.replay().await;
        }
        if let Some(purge) = self.purging.take() {
            purge.abort(); // rolled back; it runs again at the next start
        }
        let pending = self.spool.has_pending();
        tracing::info!(database_up = self.up, spooled = pending, "statistics drained");
    }
}

async fn ready_to_write(database: &Db) -> Result<Db, StoreError> {
    database.ready().await?;
    Ok(database.clone())
}
