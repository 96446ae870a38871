//! The call path's only contact with the statistics: [`Recorder`].
//!
//! Every method returns at once. A record goes into a bounded channel with `try_send`;
//! when the channel is full (the writer is behind) or closed (shutting down), it goes to
//! the [`Overflow`], which a blocking-pool thread appends to the spool, so a caller never
//! waits on the database, on the disk, or on a lock held across either.

use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use chrono::Utc;
use tokio::sync::{Notify, mpsc, oneshot};

use super::live::LiveCalls;
use super::record::{CallEvent, FINAL_STATUSES, Record};
use super::repeat::RepeatCallers;
use super::spool::{Spool, SpoolUsage};
use super::writer::WriterStatus;
use crate::flow::{CallId, Flow, Step};

/// What travels to the writer.
pub enum Message {
    Record(Record),
    /// Answered once everything sent before it is committed or spooled.
    Flush(oneshot::Sender<FlushReport>),
}

/// The writer's state after a flush.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FlushReport {
    /// The database took the last write (or replay).
    pub database_up: bool,
    /// Records wait in the spool for the database.
    pub spooled: bool,
}

/// Cheap to clone; made by [`start`](super::start), with a writer behind it.
#[derive(Clone)]
pub struct Recorder {
    shared: Arc<Shared>,
}

struct Shared {
    tx: mpsc::Sender<Message>,
    /// Wakes the writer for a flush (records never wake it: see `writer.rs`).
    flush: Arc<Notify>,
    overflow: Arc<Overflow>,
    live: Mutex<LiveCalls>,
    repeat: Mutex<RepeatCallers>,
    writer: Arc<WriterStatus>,
}

/// How the statistics are doing, for `/readyz` and the metrics.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct StatsHealth {
    /// The database took the writer's last attempt.
    pub database_up: bool,
    /// Records waiting in the channel for the writer.
    pub queued: usize,
    /// What the spool holds; `None` if its folder cannot be read.
    pub spool: Option<SpoolUsage>,
    /// The last append to the spool failed: records are being lost.
    pub spool_failing: bool,
}

impl Recorder {
    pub(super) fn new(
        tx: mpsc::Sender<Message>,
        flush: Arc<Notify>,
        overflow: Arc<Overflow>,
        writer: Arc<WriterStatus>,
    ) -> Recorder {
        let shared = Shared {
            tx,
            flush,
            overflow,
            writer,
            live: Mutex::new(LiveCalls::new()),
            repeat: Mutex::new(RepeatCallers::new(Utc::now().date_naive())),
        };
        Recorder { shared: Arc::new(shared) }
    }

    /// How the statistics are doing. Reads the spool's folder.
    pub fn health(&self) -> StatsHealth {
        let shared = &self.shared;
        StatsHealth {
            database_up: shared.writer.database_up(),
            queued: shared.tx.max_capacity() - shared.tx.capacity(),
            spool: shared.overflow.spool.usage().ok(),
            spool_failing: shared.overflow.spool.is_failing(),
        }
    }

    /// The id for a new call: a keyed hash of its `CallSid` (see `live.rs`), or random.
    pub fn call_id(&self, call_sid: Option<&str>) -> CallId {
        match call_sid.filter(|s| !s.is_empty()) {
            Some(sid) => lock(&self.shared.live).call_id(sid),
            None => CallId::random(),
        }
    }

    /// A call was answered: remembers when, and whether `from` called in the last 24 hours.
    /// `from` is hashed in memory and dropped (see `repeat.rs`).
    pub fn call_started(&self, call: CallId, from: Option<&str>) {
        let shared = &self.shared;
        let now = Instant::now();
        let repeat = || {
            from.filter(|n| !n.is_empty())
                .is_some_and(|number| lock(&shared.repeat).check(number, Utc::now().date_naive(), now))
        };
        lock(&shared.live).start(call, now, repeat);
    }

    /// Records one flow step's events.
    pub fn record_step(&self, flow: &Flow, step: &Step<'_>) {
        self.record_step_with(flow, step, Vec::new());
    }

    /// Records one flow step's events and what the webhook learnt beside the flow (who was
    /// rung for a transfer, how long an answered transfer talked).
    pub fn record_step_with(&self, flow: &Flow, step: &Step<'_>, extra: Vec<CallEvent>) {
        crate::service::metrics::step(step, &extra);
        let shared = &self.shared;
        let live = lock(&shared.live).elapsed(step.next.call, Instant::now());
        let mut record = Record::of_step(flow, step, Utc::now(), live.map(|(seconds, _)| seconds));
        record.events.extend(extra);
        if record.started_at.is_some() && live.is_some_and(|(_, repeat)| repeat) {
            record.events.push(CallEvent::RepeatCaller);
        }
        shared.send(record);
    }

    /// The provider's status callback: records how the call ended, if it is final and this
    /// process answered the call.
    pub fn call_ended(&self, call_sid: &str, status: &str) {
        let shared = &self.shared;
        if !FINAL_STATUSES.contains(&status) || call_sid.is_empty() {
            return;
        }
        let mut live = lock(&shared.live);
        let call = live.call_id(call_sid);
        let Some(elapsed) = live.end(call, Instant::now()) else {
            tracing::debug!("status callback for a call this process did not answer: not linked");
            return;
        };
        drop(live);
        shared.send(Record::ended(call, status, Utc::now(), Some(elapsed)));
    }

    /// Waits until everything recorded so far is committed or spooled; tries the database
    /// again now if it was down, and replays the spool if it is up. `None` once the writer
    /// has stopped.
    pub async fn flush(&self) -> Option<FlushReport> {
        let shared = &self.shared;
        let (tx, rx) = oneshot::channel();
        // Woken first to make room in a full channel, then to find the request.
        shared.flush.notify_one();
        shared.tx.send(Message::Flush(tx)).await.ok()?;
        shared.flush.notify_one();
        rx.await.ok()
    }

    /// Sends a record, waiting for room in the channel. For benchmarks and tools, never
    /// the call path.
    pub async fn send_waiting(&self, record: Record) {
        let shared = &self.shared;
        if let Err(mpsc::error::SendError(Message::Record(record))) = shared.tx.send(Message::Record(record)).await {
            shared.overflow.push(record);
        }
    }
}

impl Shared {
    fn send(&self, record: Record) {
        use mpsc::error::TrySendError::{Closed, Full};
        if let Err(Full(Message::Record(record)) | Closed(Message::Record(record))) =
            self.tx.try_send(Message::Record(record))
        {
            self.overflow.push(record);
        }
    }
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// Records the channel could not take, on their way to the spool.
///
/// An overflow episode (the channel full under a burst, or closed at shutdown) is logged
/// twice, not once per record: a warning when it starts, and when no record has overflowed
/// for [`EPISODE_QUIET`], how many records it spooled.
pub struct Overflow {
    spool: Arc<Spool>,
    state: Mutex<OverflowState>,
    idle: Condvar,
}

/// An episode is over once no record has overflowed for this long.
pub const EPISODE_QUIET: Duration = Duration::from_secs(1);

#[derive(Default)]
struct OverflowState {
    pending: Vec<Record>,
    /// A thread is appending to the spool.
    busy: bool,
    /// The episode under way, if records are overflowing.
    episode: Option<Episode>,
}

/// Records overflowing since `started`, the last at `last`.
struct Episode {
    started: Instant,
    last: Instant,
    records: u64,
}

impl Overflow {
    pub fn new(spool: Arc<Spool>) -> Overflow {
        Overflow { spool, state: Mutex::new(OverflowState::default()), idle: Condvar::new() }
    }

    /// Queues a record for the spool and makes sure a thread is writing.
    pub fn push(self: &Arc<Self>, record: Record) {
        let mut state = lock(&self.state);
        state.pending.push(record);
        let now = Instant::now();
        match &mut state.episode {
            Some(episode) => {
                episode.last = now;
                episode.records += 1;
            }
            None => {
                state.episode = Some(Episode { started: now, last: now, records: 1 });
                let spool = self.spool.dir().display();
                tracing::warn!(%spool, "statistics channel full or closed: spooling until it has room");
            }
        }
        if state.busy {
            return;
        }
        state.busy = true;
        drop(state);
        let this = Arc::clone(self);
        match tokio::runtime::Handle::try_current() {
            Ok(runtime) => drop(runtime.spawn_blocking(move || this.write_pending())),
            Err(_) => this.write_pending(),
        }
    }

    /// Appends until nothing is pending, then marks the overflow idle.
    fn write_pending(&self) {
        loop {
            let batch = {
                let mut state = lock(&self.state);
                if state.pending.is_empty() {
                    state.busy = false;
                    self.idle.notify_all();
                    return;
                }
                std::mem::take(&mut state.pending)
            };
            if let Err(error) = self.spool.append(&batch) {
                tracing::error!(records = batch.len(), %error, "statistics lost: the spool cannot be written");
            }
        }
    }

    /// Ends the episode under way if no record has overflowed for [`EPISODE_QUIET`] (at
    /// once on `shutdown`), logging what it spooled. The writer calls it on every tick.
    pub fn settle(&self, shutdown: bool) {
        let mut state = lock(&self.state);
        let quiet = |episode: &Episode| shutdown || episode.last.elapsed() >= EPISODE_QUIET;
        if !state.episode.as_ref().is_some_and(quiet) {
            return;
        }
        let Some(episode) = state.episode.take() else { return };
        drop(state);
        let seconds = episode.last.duration_since(episode.started).as_secs_f64();
        let spool = self.spool.dir().display();
        tracing::info!(records = episode.records, seconds, %spool, "statistics overflow over: records spooled meanwhile");
    }

    /// Blocks until every record pushed so far is in the spool.
    pub fn wait_idle(&self) {
        let mut state = lock(&self.state);
        loop {
            if !state.busy && state.pending.is_empty() {
                return;
            }
            if !state.busy {
                state.busy = true;
                drop(state);
                self.write_pending();
                state = lock(&self.state);
                continue;
            }
            state = self.idle.wait(state).unwrap_or_else(|p| p.into_inner());
        }
    }
}
