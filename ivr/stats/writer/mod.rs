//! The writer task: the only thing that talks to the statistics database.
//!
//! The promise it keeps: a record the database has not committed within `write_timeout`
//! (200 ms) of its webhook being answered is in the fsync'd spool by then, so a crash or a
//! `kill -9` loses at most that much, with the database up, down or stalled.
//!
//! Every `batch_delay` it takes what the channel holds, in batches of up to `batch_size`
//! (larger while it is behind), and commits each batch in one transaction, giving the
//! database only what is left of the oldest waiting record's time. A write that has not
//! committed by then is not abandoned: its batch is set aside in the spool (the promise is
//! kept), and the write goes on, while the records reaching the channel meanwhile are
//! spooled as their own time runs out. A write that commits late removes its set-aside copy,
//! so a database that is only slow (a machine short of CPU, a lock held for a moment) costs
//! one fsync'd copy, not a rolled-back write, a back-off and a replay. Only a write that
//! fails, or is still running after [`STALLED_WRITE`], counts the database as down.
//! Whether the database is back is told by a write, never a read: after a back-off the
//! next batch is simply tried again.
//! Connecting and migrating run on a task of their own, so the writer spools meanwhile
//! instead of waiting. The spool is replayed a batch at a time between the channel's
//! batches (a call's row is refolded from all its stored records, so order does not matter).
//!
//! On shutdown, what the channel still holds goes to the spool first; the spool is then
//! replayed only for as long as the shutdown deadline allows: an old backlog is the next
//! start's job.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use chrono::{NaiveDate, Utc};
use futures_util::FutureExt;
use tokio::sync::mpsc::error::TryRecvError;
use tokio::sync::{Notify, mpsc, oneshot};
use tokio::task::JoinHandle;
use tokio::time::{Instant, sleep_until, timeout};

use super::record::Record;
use super::recorder::{FlushReport, Message, Overflow};
use super::spool::{Spool, SpoolReader};
use super::store::Store;
use crate::db::Db;

const RETRY_FIRST: Duration = Duration::from_millis(500);
const RETRY_MAX: Duration = Duration::from_secs(10);
/// Connecting includes migrating, which waits for other instances migrating the same database.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
/// A day: how often retention runs.
const PURGE_EVERY: Duration = Duration::from_secs(24 * 3600);
/// Kept out of a batch's time for the spool's append and fsync, should the write fail.
const SPOOL_MARGIN: Duration = Duration::from_millis(50);
/// At most one "database unavailable" (or "commits are slow") warning this often.
const DOWN_WARNING_EVERY: Duration = Duration::from_secs(10);
/// A write still running after this long is abandoned (rolled back) and the database
/// counted as down: SQLite's busy timeout, and a bound on a PostgreSQL that stopped answering.
const STALLED_WRITE: Duration = Duration::from_secs(5);
/// How many times `batch_size` a batch grows to while the channel stays full.
const PRESSURE_BATCHES: usize = 8;
/// How long [`WriterHandle::drain`] (tools and benchmarks) may replay the spool.
const TOOL_DRAIN: Duration = Duration::from_secs(60);

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

/// What became of a batch handed to the database.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Fate {
    Committed,
    /// Not committed, but set aside in the spool while the write ran.
    Spooled,
    /// Not committed, and only in memory: the caller spools it.
    Refused,
}

/// A warning said at most once per [`DOWN_WARNING_EVERY`], with how often its cause
/// happened since it was last said.
#[derive(Debug, Default)]
struct Throttled {
    said: Option<Instant>,
    since: u64,
}

impl Throttled {
    /// Counts one occurrence; the count to say when the warning is due and `may_say`.
    fn occurred(&mut self, may_say: bool) -> Option<u64> {
        self.since += 1;
        if !may_say || self.said.is_some_and(|at| at.elapsed() < DOWN_WARNING_EVERY) {
            return None;
        }
        self.said = Some(Instant::now());
        Some(std::mem::take(&mut self.since))
    }
}

/// Stops the writer: the drain returns once everything is committed or spooled.
pub struct WriterHandle {
    stop: oneshot::Sender<Instant>,
    task: JoinHandle<()>,
}

impl WriterHandle {
    /// Stops the writer, replaying the spool for up to a minute (tools and benchmarks).
    pub async fn drain(self) {
        self.drain_by(Instant::now() + TOOL_DRAIN).await;
    }

    /// Stops the writer: the channel goes to the spool at once, then the spool is replayed
    /// into the database until `deadline` at the latest.
    pub async fn drain_by(self, deadline: Instant) {
        let _ = self.stop.send(deadline);
        if let Err(error) = self.task.await {
            tracing::error!(%error, "the statistics writer failed");
        }
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
    retry_at: Instant,
    retry_delay: Duration,
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
        let now = Instant::now();
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
            retry_at: now,
            retry_delay: RETRY_FIRST,
            purge_at: None,
            purging: None,
            flush,
            status,
            flushes: Vec::new(),
            down_warning: Throttled::default(),
            slow_warning: Throttled::default(),
            emptied_at: now,
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

    /// Commits (or spools) everything the channel holds, `batch_size` at a time at first;
    /// while batches come out full (the writer is behind), each next one is twice as large,
    /// up to [`PRESSURE_BATCHES`] times: fewer transactions, fewer fsyncs. Flush requests
    /// are kept for [`Writer::answer_flushes`]. `false` once the channel is closed.
    async fn take_all(&mut self) -> bool {
        let mut size = self.config.batch_size;
        loop {
            let mut records = Vec::with_capacity(size);
            let open = loop {
                match self.rx.try_recv() {
                    Ok(Message::Record(record)) => records.push(record),
                    Ok(Message::Flush(reply)) => self.flushes.push(reply),
                    Err(TryRecvError::Empty) => {
                        self.emptied_at = Instant::now();
                        break true;
                    }
                    Err(TryRecvError::Disconnected) => break false,
                }
                if records.len() >= size {
                    break true;
                }
            };
            let full = records.len() >= size;
            // Every record taken arrived after the channel was last seen empty.
            let deadline = self.record_deadline();
            self.commit(records, deadline).await;
            if !open || !full {
                return open;
            }
            size = (size * 2).min(self.config.batch_size * PRESSURE_BATCHES);
        }
    }

    /// By when the records now in the channel must be committed, or the spool started.
    fn record_deadline(&self) -> Instant {
        self.emptied_at + self.config.write_timeout.saturating_sub(SPOOL_MARGIN)
    }

    /// When to wake: the next tick, a replay (retried after its back-off), a purge. While
    /// connecting, the next tick looks at how it went.
    fn wake(&self, tick: Instant) -> Instant {
        let retry = (self.connecting.is_none() && self.spool.is_dirty()).then_some(self.retry_at);
        [Some(tick), retry, self.purge_at].into_iter().flatten().min().unwrap_or(tick)
    }

    /// Answers flush requests: the database is tried now (if it was down) and the spool
    /// replayed if it is up. Only tests and tools flush; webhooks never wait for it.
    async fn answer_flushes(&mut self) {
        if self.flushes.is_empty() {
            return;
        }
        if self.probe().await && self.spool.is_dirty() {
            self.replay(None).await;
        }
        let report = FlushReport { database_up: self.up, spooled: self.spool.has_pending() };
        for reply in self.flushes.drain(..) {
            let _ = reply.send(report);
        }
    }

    async fn housekeeping(&mut self) {
        self.overflow.settle(false);
        if self.may_write() && self.spool.is_dirty() {
            self.replay(None).await;
        }
        if self.up && self.purge_at.is_some_and(|at| at <= Instant::now()) {
            self.purge();
        }
    }

    /// Commits a batch, or spools it: at once if it is already past `deadline` (the writer
    /// was behind) or the database is down, and by `deadline` if the write is still running.
    async fn commit(&mut self, records: Vec<Record>, deadline: Instant) {
        let records = self.unexpired(records);
        if records.is_empty() {
            return;
        }
        if Instant::now() < deadline
            && self.may_write()
            && self.write(&records, Some(deadline), None).await != Fate::Refused
        {
            return;
        }
        self.to_spool(records).await;
    }

    /// One transaction. `due`: when the batch, held only in memory, must be in the spool if
    /// not committed (`None` for a replayed batch, already there); the write goes on past
    /// it. Abandoned (rolled back) after [`STALLED_WRITE`] or at `until`, and left when
    /// shutdown is asked for meanwhile (the caller spools the batch with the rest, unless
    /// it is already set aside).
    async fn write(&mut self, records: &[Record], mut due: Option<Instant>, until: Option<Instant>) -> Fate {
        let Some(store) = self.store.clone() else { return Fate::Refused };
        let started = Instant::now();
        let give_up = until.map_or(started + STALLED_WRITE, |until| until.min(started + STALLED_WRITE));
        let mut set_aside = None;
        let writing = store.write(records);
        tokio::pin!(writing);
        let written = loop {
            let wake = due.unwrap_or(give_up).min(give_up).min(self.record_deadline());
            let waiting = self.stopping.is_none();
            tokio::select! {
                biased;
                written = &mut writing => break Some(written),
                stop = &mut self.stop, if waiting => {
                    self.stopping = Some(stop.unwrap_or_else(|_| Instant::now()));
                    return self.uncommitted(set_aside.as_deref());
                }
                () = sleep_until(wake) => {}
            }
            let now = Instant::now();
            if now >= give_up {
                break None;
            }
            if due.is_some_and(|due| now >= due) {
                due = None;
                set_aside = self.set_aside(records).await;
            }
            if now >= self.record_deadline() {
                self.spool_channel().await;
            }
        };
        let reason = match written {
            Some(Ok(_)) => {
                crate::instruments::committed(started.elapsed());
                self.back_up();
                if let Some(copy) = set_aside {
                    self.committed_late(&copy, started.elapsed());
                }
                return Fate::Committed;
            }
            Some(Err(error)) => error.to_string(),
            None => format!("no commit within {} s", give_up.duration_since(started).as_secs_f32()),
        };
        self.down(&reason);
        self.uncommitted(set_aside.as_deref())
    }

    /// A write ended without a commit: its batch is spooled already if it was set aside
    /// (to be replayed), else the caller must spool it.
    fn uncommitted(&self, set_aside: Option<&std::path::Path>) -> Fate {
        if set_aside.is_none() {
            return Fate::Refused;
        }
        self.spool.mark_dirty();
        Fate::Spooled
    }

    /// Writes a batch still being written to the spool, for the promise; `None` if the
    /// spool cannot be written (the batch is then spooled again should the write fail).
    async fn set_aside(&self, records: &[Record]) -> Option<std::path::PathBuf> {
        let (spool, batch) = (Arc::clone(&self.spool), records.to_vec());
        match tokio::task::spawn_blocking(move || spool.set_aside(&batch)).await {
            Ok(Ok(path)) => Some(path),
            Ok(Err(error)) => {
                tracing::error!(records = records.len(), %error, "the spool cannot be written: a slow write's batch is only in memory");
                None
            }
            Err(error) => {
                tracing::error!(%error, "the spool writer failed");
                None
            }
        }
    }

    /// Spools what the channel holds (its records' time ran out while a write was running).
    async fn spool_channel(&mut self) {
        let records = self.take_channel();
        self.emptied_at = Instant::now();
        let records = self.unexpired(records);
        if !records.is_empty() {
            self.to_spool(records).await;
        }
    }

    /// Every record the channel holds now; flush requests are kept for later.
    fn take_channel(&mut self) -> Vec<Record> {
        let mut records = Vec::new();
        while let Ok(message) = self.rx.try_recv() {
            match message {
                Message::Record(record) => records.push(record),
                Message::Flush(reply) => self.flushes.push(reply),
            }
        }
        records
    }

    /// A write committed after its batch was set aside: the copy goes, and slow commits are
    /// said at most once per [`DOWN_WARNING_EVERY`], with how many there were.
    fn committed_late(&mut self, copy: &std::path::Path, took: Duration) {
        if let Err(error) = self.spool.remove(copy) {
            tracing::error!(%error, "cannot remove a committed batch's copy from the spool (it will be replayed, counted once)");
        }
        if let Some(late_commits) = self.slow_warning.occurred(true) {
            let (took_ms, spool) = (took.as_millis(), self.spool.dir().display());
            tracing::warn!(took_ms, late_commits, %spool, "statistics commits are slow: batches are copied to the spool while they commit");
        }
    }

    /// Whether a write may be tried now: the database is migrated and either took the last
    /// write or its back-off has passed. Starts connecting again when that is due.
    fn may_write(&mut self) -> bool {
        if self.store.is_none() {
            self.poll_connect();
        }
        self.store.is_some() && (self.up || Instant::now() >= self.retry_at)
    }

    /// Starts connecting and migrating on a task of its own, if none is running.
    fn connect(&mut self) {
        if self.connecting.is_none() {
            let database = self.database.clone();
            self.connecting = Some(tokio::spawn(async move {
                match timeout(CONNECT_TIMEOUT, database.ready()).await {
                    Ok(result) => result.map_err(|error| error.to_string()),
                    Err(_) => Err("no answer within the connect timeout".to_owned()),
                }
            }));
        }
    }

    /// Takes the connecting task's result if it is done; starts another when its back-off passed.
    fn poll_connect(&mut self) {
        match &self.connecting {
            Some(task) if task.is_finished() => {}
            Some(_) => return,
            None => {
                if Instant::now() >= self.retry_at {
                    self.connect();
                }
                return;
            }
        }
        let Some(task) = self.connecting.take() else { return };
        self.connected(task.now_or_never());
    }

    /// What the connecting task ended with (`None`: it did not end).
    fn connected(&mut self, ended: Option<Result<Result<(), String>, tokio::task::JoinError>>) -> bool {
        match ended {
            Some(Ok(Ok(()))) => {
                tracing::info!(database = self.database.kind(), "statistics database ready");
                self.store = Some(self.database.clone());
                self.purge_at = Some(Instant::now());
                self.back_up();
                true
            }
            Some(Ok(Err(reason))) => self.fail(&reason),
            Some(Err(error)) => self.fail(&error.to_string()),
            None => self.fail("the connection was abandoned"),
        }
    }

    /// Whether the database can be written to now, asked of it at once (for a flush):
    /// waits for the connection, or writes a probe (never just a read: SQLite answers a
    /// `SELECT` while another process holds the write lock).
    async fn probe(&mut self) -> bool {
        let Some(store) = &self.store else {
            self.connect();
            let Some(task) = self.connecting.take() else { return false };
            let ended = task.await;
            return self.connected(Some(ended));
        };
        if self.up {
            return true;
        }
        match timeout(self.config.write_timeout, store.ping()).await {
            Ok(Ok(())) => {
                self.back_up();
                true
            }
            Ok(Err(error)) => self.fail(&error.to_string()),
            Err(_) => self.fail("no answer within the write timeout"),
        }
    }

    fn fail(&mut self, reason: &str) -> bool {
        self.down(reason);
        false
    }

    /// The database took a write.
    fn back_up(&mut self) {
        if !self.up && self.retry_delay > RETRY_FIRST {
            tracing::info!("statistics database writable again");
        }
        self.up = true;
        self.status.database_up.store(true, Ordering::Relaxed);
        self.retry_delay = RETRY_FIRST;
        if self.purge_at.is_some_and(|at| at <= Instant::now()) {
            self.purge();
        }
    }

    /// The database did not take a write. Said at most once per [`DOWN_WARNING_EVERY`] (a
    /// database that keeps missing the deadline under load would otherwise be a warning
    /// every few hundred milliseconds), with how many failures the interval had.
    fn down(&mut self, reason: &str) {
        if let Some(failures) = self.down_warning.occurred(self.up || self.retry_delay == RETRY_FIRST) {
            let spool = self.spool.dir().display();
            tracing::warn!(%reason, failures, %spool, "statistics database unavailable: spooling");
        }
        self.up = false;
        self.status.database_up.store(false, Ordering::Relaxed);
        self.retry_at = Instant::now() + self.retry_delay;
        self.retry_delay = (self.retry_delay * 2).min(RETRY_MAX);
    }

    /// Replays the spool, oldest file first, a batch at a time; between batches the
    /// channel's records go first. Stops at the first failure, at a stop request, or at
    /// `until`, keeping what is not replayed for later.
    async fn replay(&mut self, until: Option<Instant>) {
        let spool = Arc::clone(&self.spool);
        let files = match tokio::task::spawn_blocking(move || spool.take_for_replay()).await {
            Ok(Ok(files)) => files,
            Ok(Err(error)) => return tracing::error!(%error, "cannot read the statistics spool"),
            Err(error) => return tracing::error!(%error, "cannot read the statistics spool"),
        };
        let mut replayed = 0;
        for file in files {
            match self.replay_file(file.clone(), until).await {
                Ok(count) => {
                    replayed += count;
                    crate::instruments::replayed(count);
                }
                Err(count) => {
                    replayed += count;
                    self.spool.mark_dirty();
                    self.retry_at = self.retry_at.max(Instant::now() + RETRY_FIRST);
                    break;
                }
            }
            if let Err(error) = self.spool.remove(&file) {
                tracing::error!(%error, "cannot remove a replayed spool file");
            }
        }
        if replayed > 0 {
            tracing::info!(records = replayed, "statistics spool replayed");
        }
    }

    /// The records of one spool file, committed; `Err` with what was replayed when stopped short.
    async fn replay_file(&mut self, file: std::path::PathBuf, until: Option<Instant>) -> Result<usize, usize> {
        let mut reader = SpoolReader::open(&file).map_err(|error| {
            tracing::error!(%error, "cannot open a spool file");
            0_usize
        })?;
        let mut count = 0;
        loop {
            if until.is_none() && !self.rx.is_empty() {
                self.take_all().await;
            }
            let out_of_time = until.is_some_and(|until| Instant::now() + SPOOL_MARGIN >= until);
            if out_of_time || (until.is_none() && self.stop_requested()) {
                return Err(count);
            }
            let size = self.config.batch_size;
            let (read, back) =
                tokio::task::spawn_blocking(move || (reader.next_batch(size), reader)).await.map_err(|error| {
                    tracing::error!(%error, "spool reader failed");
                    count
                })?;
            reader = back;
            let batch = read.map_err(|error| {
                tracing::error!(%error, "cannot read a spool file");
                count
            })?;
            if batch.is_empty() {
                return Ok(count);
            }
            let batch = self.unexpired(batch);
            if !batch.is_empty() && self.write(&batch, None, until).await != Fate::Committed {
                return Err(count);
            }
            count += batch.len();
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

    /// What the channel still holds goes to the spool first (one fsync'd append), then the
    /// spool is replayed for as long as the deadline allows; the rest is the next start's.
    async fn drain(mut self) {
        let deadline = self.stopping.unwrap_or_else(Instant::now);
        self.rx.close();
        let records = self.take_channel();
        let records = self.unexpired(records);
        let spooled = records.len();
        self.to_spool(records).await;
        let overflow = Arc::clone(&self.overflow);
        let _ = tokio::task::spawn_blocking(move || overflow.wait_idle()).await;
        self.overflow.settle(true);
        if self.store.is_none() {
            self.poll_connect();
        }
        if let Some(connecting) = self.connecting.take() {
            connecting.abort();
        }
        // Never waits on a database known to be down; a working one gets until the deadline.
        if self.up && self.spool.is_dirty() && Instant::now() < deadline {
            self.replay(Some(deadline)).await;
        }
        if let Some(purge) = self.purging.take() {
            purge.abort(); // rolled back; it runs again at the next start
        }
        let report = FlushReport { database_up: self.up, spooled: self.spool.has_pending() };
        for reply in self.flushes.drain(..) {
            let _ = reply.send(report);
        }
        tracing::info!(records = spooled, database_up = self.up, spooled = report.spooled, "statistics drained");
    }
}
