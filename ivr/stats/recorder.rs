//! The call path's only contact with the statistics: [`Recorder`].
//!
//! Every method the call path uses returns at once (only `flush` and `send_waiting`, for
//! tests, tools and benchmarks, wait). A record goes into a bounded channel with `try_send`;
//! when the channel is full (the writer is behind) or closed (shutting down), it goes to
//! the [`Overflow`], which a blocking-pool thread appends to the spool, so a caller never
//! waits on the database, on the disk, or on a lock held across either.

use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use chrono::{DateTime, TimeDelta, Utc};
use tokio::sync::{Notify, mpsc, oneshot};

use super::keys::{self, DailyKeys, FirstTry, KeyRefresh};
use super::record::{CallEvent, PartSeconds, Record};
use super::repeat::{RepeatCallers, RepeatCheck};
use super::spool::{Spool, SpoolUsage};
use super::writer::WriterStatus;
use crate::call_edge::CallEnd;
use crate::db::Db;
use crate::flow::{CallId, Flow, Step};

/// A call longer than this is not one: a start time further back is not believed.
const LONGEST_CALL_SECONDS: i64 = 48 * 3600;

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
    /// Wakes the writer for a flush (records never wake it: see `writer/mod.rs`).
    flush: Arc<Notify>,
    overflow: Arc<Overflow>,
    /// The day's shared keys, in memory (see `keys.rs`).
    keys: DailyKeys,
    repeat: RepeatCallers,
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

/// What [`Recorder::new`] needs beside the writer's channel.
pub(super) struct Parts {
    pub tx: mpsc::Sender<Message>,
    pub flush: Arc<Notify>,
    pub overflow: Arc<Overflow>,
    pub writer: Arc<WriterStatus>,
    pub db: Db,
    /// Mixed into the shared keys (see `keys.rs`).
    pub pepper: Vec<u8>,
}

impl Recorder {
    /// Starts the key refresh and the repeat-caller check beside the recorder; returns
    /// them for whoever stops the service.
    pub(super) fn new(parts: Parts) -> (Recorder, RepeatCheck, KeyRefresh) {
        let Parts { tx, flush, overflow, writer, db, pepper } = parts;
        let keys = DailyKeys::new(pepper);
        let refresh = keys::spawn_refresh(keys.clone(), db.clone());
        let (flag_tx, flag_overflow) = (tx.clone(), Arc::clone(&overflow));
        let (repeat, check) =
            RepeatCallers::start(keys.clone(), db, move |record| send(&flag_tx, &flag_overflow, record));
        let shared = Shared { tx, flush, overflow, keys, repeat, writer };
        (Recorder { shared: Arc::new(shared) }, check, refresh)
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

    /// The id for a new call: a keyed hash of the provider's call id under today's shared
    /// key (see `keys.rs`), so every instance gives a redelivery the same id; random
    /// without one.
    pub fn call_id(&self, provider_id: Option<&str>) -> CallId {
        match provider_id.filter(|s| !s.is_empty()) {
            Some(id) => self.link(id, Utc::now().date_naive(), "start"),
            None => CallId::random(),
        }
    }

    /// The keyed id of a provider's call that started on `day`; counted when only this
    /// process can link it (`record`: what it is the id of).
    fn link(&self, provider_id: &str, day: chrono::NaiveDate, record: &'static str) -> CallId {
        let (call, shared) = self.shared.keys.link(provider_id, day);
        if !shared {
            crate::instruments::linked_by_this_process(record);
        }
        call
    }

    /// A call was answered: checks, in the background, whether `from` called in the last
    /// 24 hours. `from` is hashed in memory and dropped (see `repeat.rs`).
    pub fn call_started(&self, call: CallId, from: Option<&str>) {
        if let Some(number) = from.filter(|n| !n.is_empty()) {
            let now = Utc::now();
            self.shared.repeat.saw(call, number, now.date_naive(), now.timestamp().div_euclid(60));
        }
    }

    /// Whether today's linking keys are the shared ones from the database (after start-up,
    /// once the database answered): until then a call is linked by this process only.
    pub fn keys_shared(&self) -> bool {
        self.shared.keys.shared(Utc::now().date_naive())
    }

    /// Waits, `within` at most, for the first try to read the day's shared keys from the
    /// database: start-up waits for it before accepting calls, so that a restart links the
    /// ends of the calls the last process started.
    pub async fn first_key_try(&self, within: Duration) -> FirstTry {
        self.shared.keys.first_try(within).await
    }

    /// Records one flow step's events and what the webhook learnt beside the flow (who was
    /// rung for a transfer, how long an answered transfer talked). The seconds since the
    /// call started come from the start time the call's state carries; a guidance part
    /// entered is timed by `part_seconds` (see [`Record::of_step`]).
    pub fn record_step_with(&self, flow: &Flow, step: &Step<'_>, extra: Vec<CallEvent>, part_seconds: PartSeconds<'_>) {
        let rung = extra.iter().filter_map(|event| match event {
            CallEvent::Rung { route, .. } => Some(route.as_str()),
            _ => None,
        });
        crate::instruments::step(step, rung);
        let now = Utc::now();
        let elapsed = step.next.started.and_then(|started| seconds_since(started, now));
        let mut record = Record::of_step(flow, step, now, elapsed, part_seconds);
        record.events.extend(extra);
        self.shared.send(record);
    }

    /// The provider's status callback said the call ended: records how (`end`). The call
    /// is found by the keyed hash of the provider's call id under the key of the day it
    /// started, `duration` seconds ago (the provider's own count: Twilio `CallDuration`,
    /// jambonz `duration`), which is also what the row keeps as the call's length.
    pub fn call_ended(&self, provider_id: &str, end: CallEnd, duration: Option<i32>) {
        if provider_id.is_empty() {
            return;
        }
        let now = Utc::now();
        let duration = duration.filter(|d| (0..=LONGEST_CALL_SECONDS as i32).contains(d));
        let started = now - TimeDelta::seconds(i64::from(duration.unwrap_or(0)));
        let call = self.link(provider_id, started.date_naive(), "end");
        self.shared.send(Record::ended(call, end, now, duration));
    }

    /// A call whose id the dialect holds ended (a FastAGI connection: no status webhook).
    pub fn call_ended_as(&self, call: CallId, end: CallEnd, duration: Option<i32>) {
        let duration = duration.filter(|d| (0..=LONGEST_CALL_SECONDS as i32).contains(d));
        self.shared.send(Record::ended(call, end, Utc::now(), duration));
    }

    /// Waits until everything recorded so far is committed or spooled (the repeat-caller
    /// checks queued so far included); tries the database again now if it was down, and
    /// replays the spool if it is up. `None` once the writer has stopped. For tests and
    /// tools, never the call path.
    pub async fn flush(&self) -> Option<FlushReport> {
        let shared = &self.shared;
        shared.repeat.settled().await;
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
        send(&self.tx, &self.overflow, record);
    }
}

/// Hands a record to the writer's channel, or to the overflow when it is full or closed.
fn send(tx: &mpsc::Sender<Message>, overflow: &Arc<Overflow>, record: Record) {
    use mpsc::error::TrySendError::{Closed, Full};
    if let Err(Full(Message::Record(record)) | Closed(Message::Record(record))) = tx.try_send(Message::Record(record)) {
        overflow.push(record);
    }
}

/// Seconds from `started` (seconds since 1970) to `now`; `None` for a start in the future
/// (beyond a little clock skew between instances) or longer ago than any call lasts.
fn seconds_since(started: u32, now: DateTime<Utc>) -> Option<i32> {
    let seconds = now.timestamp() - i64::from(started);
    let seconds = if (-5..0).contains(&seconds) { 0 } else { seconds };
    (0..=LONGEST_CALL_SECONDS).contains(&seconds).then(|| i32::try_from(seconds).ok()).flatten()
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
