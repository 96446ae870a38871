//! "The same number called within the last 24 hours", without keeping the number, and
//! the same answer whichever instance took each call.
//!
//! The number is hashed on the call path with HMAC under the day's caller salt (shared by
//! every instance through the database, see `keys.rs`) and dropped. The hash goes to a
//! bounded channel with `try_send`; a background task records it in `recent_callers` (a
//! hash, the minute it last called and a keyed tag of its last call, which tells a
//! redelivery from a new call; a reader of the database alone can tie neither to a row of
//! `calls`) and looks up the same number under yesterday's salt. The task wakes on a timer
//! ([`TICK`]) and checks what queued meanwhile in one transaction, like the statistics
//! writer: waiting on the channel woke a thread for every call and committed (and fsync'd)
//! a handful of callers at a time. When the number called in the 24 hours before, it sends
//! the call a record of its own ([`REPEAT_SEQ`]), so the flag reaches the call's row by the
//! usual idempotent write. The webhook never waits for any of it. If the channel is full or
//! the database does not answer, the flag is lost for those calls (a count that
//! undercounts, never a call that waits).
//!
//! At shutdown the task is stopped ([`RepeatCheck::stop`]) once the conversations are over
//! and before the writer drains and the database closes (`crate::tasks`): it checks what
//! is queued, if the drain leaves time, sends the flags on, and ends, so it never meets a
//! closed pool.

use std::collections::HashMap;
use std::collections::hash_map::Entry;
use std::sync::Arc;
use std::time::Duration;

use chrono::{NaiveDate, TimeDelta};
use tokio::sync::mpsc::error::TryRecvError;
use tokio::sync::{Notify, mpsc, oneshot};
use tokio::task::JoinHandle;
use tokio::time::Instant;

use super::keys::{CallerSeen, DailyKeys, KeyStore};
use super::record::{CallEvent, Record};
use crate::db::Db;
use crate::flow::CallId;

/// The `seq` of the record that flags a repeat caller: the one step counter value a call
/// would need 65,535 webhooks to reach (where its counter wraps anyway), below [`END_SEQ`].
///
/// [`END_SEQ`]: super::record::END_SEQ
pub const REPEAT_SEQ: i32 = u16::MAX as i32;

/// Callers waiting for the check; beyond it, the flag is lost (at [`TICK`], 80,000 new
/// calls a second).
const QUEUE: usize = 16_384;
/// Callers checked in one transaction at most.
const BATCH: usize = 4_096;
/// How often the task takes what queued. The flag reaches the call's row this much later;
/// nobody waits for it.
const TICK: Duration = Duration::from_millis(200);
/// A check that takes longer is abandoned.
const CHECK_TIMEOUT: Duration = Duration::from_secs(10);

enum Pending {
    Caller {
        call: CallId,
        day: NaiveDate,
        seen: CallerSeen,
    },
    /// Answered once every caller queued before it is checked (and its flag sent).
    Barrier(oneshot::Sender<()>),
}

/// The call path's side of the check; cheap to clone.
#[derive(Clone)]
pub struct RepeatCallers {
    keys: DailyKeys,
    tx: mpsc::Sender<Pending>,
    /// Wakes the task before its tick, for [`RepeatCallers::settled`].
    wake: Arc<Notify>,
}

/// The checking task, running: stopped by [`RepeatCheck::stop`], at once when dropped.
pub struct RepeatCheck {
    stop: oneshot::Sender<Instant>,
    task: JoinHandle<()>,
}

impl RepeatCheck {
    /// Checks what is queued (by `by` at the latest; the flags sent on), then ends: no
    /// caller is queued from then on. Returns once it has ended.
    pub async fn stop(self, by: Instant) {
        let _ = self.stop.send(by);
        if let Err(error) = self.task.await {
            tracing::error!(%error, "the repeat-caller check failed");
        }
    }
}

impl RepeatCallers {
    /// Starts the checking task; `flag` sends the record of a repeat caller.
    pub fn start(
        keys: DailyKeys,
        db: Db,
        flag: impl Fn(Record) + Send + Sync + 'static,
    ) -> (RepeatCallers, RepeatCheck) {
        let (tx, rx) = mpsc::channel(QUEUE);
        let wake = Arc::new(Notify::new());
        let (stop, stopped) = oneshot::channel();
        let task = tokio::spawn(check_until_stopped(rx, Arc::clone(&wake), stopped, db, flag));
        (RepeatCallers { keys, tx, wake }, RepeatCheck { stop, task })
    }

    /// A call from `number` started on `day` at `minute` (minutes since 1970, UTC).
    /// Returns at once.
    pub fn saw(&self, call: CallId, number: &str, day: NaiveDate, minute: i64) {
        let yesterday = day - TimeDelta::days(1);
        let seen = CallerSeen {
            hash: self.keys.caller_hash(number, day),
            yesterday: self.keys.known_caller_hash(number, yesterday),
            call: self.keys.call_tag(call, day),
            minute,
        };
        if self.tx.try_send(Pending::Caller { call, day, seen }).is_err() {
            tracing::debug!("repeat-caller check queue full, or stopped: this call is not checked");
        }
    }

    /// Returns once every caller seen so far is checked (its flag, if any, sent on).
    pub async fn settled(&self) {
        let (tx, rx) = oneshot::channel();
        if self.tx.send(Pending::Barrier(tx)).await.is_ok() {
            self.wake.notify_one();
            let _ = rx.await;
        }
    }
}

/// Every [`TICK`] (at once when woken), checks what queued, a batch at a time; once asked
/// to stop (or every sender is gone), checks what is left by the deadline and ends.
async fn check_until_stopped(
    mut rx: mpsc::Receiver<Pending>,
    wake: Arc<Notify>,
    stop: oneshot::Receiver<Instant>,
    db: Db,
    flag: impl Fn(Record) + Sync,
) {
    let mut failing = false;
    let mut stop = Stop { asked: stop, by: None };
    loop {
        if stop.by.is_none() {
            tokio::select! {
                () = tokio::time::sleep(TICK) => {}
                () = wake.notified() => {}
                _ = stop.asked() => {}
            }
        }
        if stop.by.is_some() {
            rx.close();
        }
        let (callers, barriers, open) = take_queued(&mut rx);
        for batch in once_per_call(callers).chunks(BATCH) {
            let checked = check_by(&db, batch, &flag, &mut stop).await;
            report(checked, stop.by.is_some(), &mut failing);
        }
        for done in barriers {
            let _ = done.send(());
        }
        if !open {
            return;
        }
    }
}

/// The stop asked of the task, and its deadline once asked.
struct Stop {
    asked: oneshot::Receiver<Instant>,
    by: Option<Instant>,
}

impl Stop {
    /// Resolves once a stop is asked (a dropped handle asks for one now), with its deadline.
    async fn asked(&mut self) -> Instant {
        if let Some(by) = self.by {
            return by;
        }
        let by = (&mut self.asked).await.unwrap_or_else(|_| Instant::now());
        self.by = Some(by);
        by
    }
}

type Caller = (CallId, NaiveDate, CallerSeen);

/// Everything queued now: the callers, the barriers, and whether the channel is still open.
fn take_queued(rx: &mut mpsc::Receiver<Pending>) -> (Vec<Caller>, Vec<oneshot::Sender<()>>, bool) {
    let (mut callers, mut barriers) = (Vec::new(), Vec::new());
    loop {
        match rx.try_recv() {
            Ok(Pending::Caller { call, day, seen }) => callers.push((call, day, seen)),
            Ok(Pending::Barrier(done)) => barriers.push(done),
            Err(TryRecvError::Empty) => return (callers, barriers, true),
            Err(TryRecvError::Disconnected) => return (callers, barriers, false),
        }
    }
}

/// The callers with each call once: a provider's redeliveries of one call's first webhook
/// (the same number and the same call tag) are one check, at the latest minute seen. They
/// would get the same answer, and one statement cannot upsert a number twice, so each
/// would cost a statement of its own.
fn once_per_call(callers: Vec<Caller>) -> Vec<Caller> {
    let mut unique: Vec<Caller> = Vec::with_capacity(callers.len());
    let mut index: HashMap<([u8; 16], [u8; 8]), usize> = HashMap::with_capacity(callers.len());
    for caller in callers {
        let seen = &caller.2;
        match index.entry((seen.hash, seen.call)) {
            Entry::Occupied(at) => {
                let kept = &mut unique[*at.get()].2;
                kept.minute = kept.minute.max(seen.minute);
            }
            Entry::Vacant(slot) => {
                slot.insert(unique.len());
                unique.push(caller);
            }
        }
    }
    unique
}

/// Logs how a check went: a failure once until checks work again, and at shutdown (where
/// the drain's time running out is no fault of the database) as information only.
fn report(checked: Result<(), String>, stopping: bool, failing: &mut bool) {
    match checked {
        Ok(()) if std::mem::take(failing) => tracing::info!("repeat callers are checked again"),
        Ok(()) => {}
        Err(why) if stopping => tracing::info!(error = %why, "repeat callers left unchecked at shutdown"),
        Err(why) if !std::mem::replace(failing, true) => {
            tracing::warn!(error = %why, "cannot check repeat callers: their flag is lost while the database is away");
        }
        Err(_) => {}
    }
}

/// Checks one batch within [`CHECK_TIMEOUT`], or by the stop's deadline once a stop is
/// asked (before or meanwhile: a database that stalls does not hold the shutdown).
async fn check_by(db: &Db, callers: &[Caller], flag: &(impl Fn(Record) + Sync), stop: &mut Stop) -> Result<(), String> {
    let checking = check(db, callers, flag);
    tokio::pin!(checking);
    let by = match stop.by {
        Some(by) => by,
        None => tokio::select! {
            checked = tokio::time::timeout(CHECK_TIMEOUT, &mut checking) => return in_time(checked),
            by = stop.asked() => by,
        },
    };
    in_time(tokio::time::timeout_at(by, checking).await)
}

fn in_time(checked: Result<Result<(), String>, tokio::time::error::Elapsed>) -> Result<(), String> {
    checked.unwrap_or_else(|_| Err("the database did not answer in time".to_owned()))
}

/// Checks one batch and flags the repeat callers in it; why not.
async fn check(db: &Db, callers: &[Caller], flag: &(impl Fn(Record) + Sync)) -> Result<(), String> {
    let seen: Vec<CallerSeen> = callers.iter().map(|(_, _, seen)| *seen).collect();
    db.ready().await.map_err(|error| error.to_string())?;
    let repeats = db.callers_seen(&seen).await.map_err(|error| error.to_string())?;
    for ((call, day, _), _) in callers.iter().zip(repeats).filter(|(_, repeat)| *repeat) {
        flag(repeat_record(*call, *day));
    }
    Ok(())
}

fn repeat_record(call: CallId, day: NaiveDate) -> Record {
    Record {
        call: super::record::call_key(call),
        seq: REPEAT_SEQ,
        day,
        started_at: None,
        elapsed: None,
        events: vec![CallEvent::RepeatCaller],
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn caller(call: u64, number: u8, tag: u8, minute: i64) -> Caller {
        let day = NaiveDate::from_ymd_opt(2026, 12, 1).expect("a day");
        (CallId(call), day, CallerSeen { hash: [number; 16], yesterday: None, call: [tag; 8], minute })
    }

    #[test]
    fn redeliveries_of_one_call_are_checked_once_at_the_latest_minute() {
        let queued = vec![caller(1, 7, 1, 100), caller(2, 8, 2, 100), caller(1, 7, 1, 103), caller(1, 7, 1, 101)];
        let checked = once_per_call(queued);
        let calls: Vec<(u64, i64)> = checked.iter().map(|(call, _, seen)| (call.0, seen.minute)).collect();
        assert_eq!(calls, [(1, 103), (2, 100)], "in order of first arrival, one per call");
    }

    #[test]
    fn two_calls_of_one_number_are_both_checked() {
        let checked = once_per_call(vec![caller(1, 7, 1, 100), caller(3, 7, 3, 100)]);
        assert_eq!(checked.len(), 2, "a second call of the same number is a repeat to find, not a redelivery");
    }

    #[tokio::test]
    async fn a_stop_checks_the_callers_queued_and_sends_their_flags_then_takes_no_more() {
        let dir = tempfile::tempdir().unwrap();
        let db = Db::connect(&format!("sqlite://{}", dir.path().join("stats.sqlite3").display())).await.unwrap();
        let flags = Arc::new(std::sync::Mutex::new(Vec::new()));
        let sent = Arc::clone(&flags);
        let flag = move |record: Record| sent.lock().unwrap().push(record.events);
        let (callers, check) = RepeatCallers::start(DailyKeys::new(Vec::new()), db, flag);
        let (today, minute) = (chrono::Utc::now().date_naive(), super::super::keys::minute_now());
        callers.saw(CallId(1), "+77010000001", today, minute - 60);
        callers.saw(CallId(2), "+77010000001", today, minute);
        check.stop(Instant::now() + Duration::from_secs(5)).await;
        assert_eq!(*flags.lock().unwrap(), [vec![CallEvent::RepeatCaller]], "the second call flagged by the stop");
        callers.saw(CallId(3), "+77010000001", today, minute);
        callers.settled().await;
        assert_eq!(flags.lock().unwrap().len(), 1, "a caller seen after the stop is not checked");
    }
}
