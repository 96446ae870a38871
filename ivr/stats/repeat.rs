//! "The same number called within the last 24 hours", without keeping the number, and
//! the same answer whichever instance took each call.
//!
//! The number is hashed on the call path with HMAC under the day's caller salt (shared by
//! every instance through the database, see `keys.rs`) and dropped. The hash goes to a
//! bounded channel with `try_send`; a background task records it in `recent_callers` (a
//! hash and the minute it last called, nothing that names a call) and looks up the same
//! number under yesterday's salt. When the number called in the 24 hours before, it sends
//! the call a record of its own ([`REPEAT_SEQ`]), so the flag reaches the call's row by
//! the usual idempotent write. The webhook never waits for any of it. If the channel is
//! full or the database does not answer, the flag is lost for those calls (a count that
//! undercounts, never a call that waits).

use std::time::Duration;

use chrono::{NaiveDate, TimeDelta};
use tokio::sync::{mpsc, oneshot};
use tokio::task::JoinHandle;

use super::keys::{CallerSeen, DailyKeys, KeyStore};
use super::record::{CallEvent, Record};
use crate::db::Db;
use crate::flow::CallId;

/// The `seq` of the record that flags a repeat caller: the one step counter value a call
/// would need 65,535 webhooks to reach (where its counter wraps anyway), below [`END_SEQ`].
///
/// [`END_SEQ`]: super::record::END_SEQ
pub const REPEAT_SEQ: i32 = u16::MAX as i32;

/// Callers waiting for the check; beyond it, the flag is lost.
const QUEUE: usize = 16_384;
/// Callers checked in one transaction.
const BATCH: usize = 256;
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
}

impl RepeatCallers {
    /// Starts the checking task; `flag` sends the record of a repeat caller.
    pub fn start(
        keys: DailyKeys,
        db: Db,
        flag: impl Fn(Record) + Send + Sync + 'static,
    ) -> (RepeatCallers, JoinHandle<()>) {
        let (tx, rx) = mpsc::channel(QUEUE);
        (RepeatCallers { keys, tx }, tokio::spawn(check_forever(rx, db, flag)))
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
            tracing::debug!("repeat-caller check queue full: this call is not checked");
        }
    }

    /// Returns once every caller seen so far is checked (its flag, if any, sent on).
    pub async fn settled(&self) {
        let (tx, rx) = oneshot::channel();
        if self.tx.send(Pending::Barrier(tx)).await.is_ok() {
            let _ = rx.await;
        }
    }
}

async fn check_forever(mut rx: mpsc::Receiver<Pending>, db: Db, flag: impl Fn(Record) + Sync) {
    let mut received = Vec::with_capacity(BATCH);
    let mut failing = false;
    while rx.recv_many(&mut received, BATCH).await > 0 {
        let mut callers = Vec::with_capacity(received.len());
        let mut barriers = Vec::new();
        for pending in received.drain(..) {
            match pending {
                Pending::Caller { call, day, seen } => callers.push((call, day, seen)),
                Pending::Barrier(done) => barriers.push(done),
            }
        }
        if !callers.is_empty() {
            check(&db, &callers, &flag, &mut failing).await;
        }
        for done in barriers {
            let _ = done.send(());
        }
    }
}

/// Checks one batch and flags the repeat callers in it.
async fn check(
    db: &Db,
    callers: &[(CallId, NaiveDate, CallerSeen)],
    flag: &(impl Fn(Record) + Sync),
    failing: &mut bool,
) {
    let seen: Vec<CallerSeen> = callers.iter().map(|(_, _, seen)| *seen).collect();
    let checked = tokio::time::timeout(CHECK_TIMEOUT, async {
        db.ready().await?;
        db.callers_seen(&seen).await
    })
    .await;
    let why = match checked {
        Ok(Ok(repeats)) => {
            if std::mem::take(failing) {
                tracing::info!("repeat callers are checked again");
            }
            for ((call, day, _), _) in callers.iter().zip(repeats).filter(|(_, repeat)| *repeat) {
                flag(repeat_record(*call, *day));
            }
            return;
        }
        Ok(Err(error)) => error.to_string(),
        Err(_) => "the database did not answer in time".to_owned(),
    };
    if !std::mem::replace(failing, true) {
        tracing::warn!(error = why, "cannot check repeat callers: their flag is lost while the database is away");
    }
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
