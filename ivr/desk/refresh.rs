//! The one task per instance that reads the line now: every second, one query on the queue
//! (`store.rs`) and the roster snapshot the call path already keeps (for the operators'
//! states: no query of its own), put together into the [`LiveLine`] every desk reads.
//!
//! However many desks are open, this is the only database work they cause: a page and a
//! live stream read the snapshot, never the database. Nothing waits on the read, and it is
//! given up after a few seconds: while the database does not answer, the snapshot says so
//! (with the roster's states as this instance holds them, which routing rings from memory
//! meanwhile), and the desks show it.

use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use tokio::task::JoinHandle;

use super::store::{QueueCount, WaitingStore};
use crate::db::Db;
use crate::flow::Language;
use crate::operators::{LineNow, LiveLine, LiveRoster, OperatorNow, QueueNow, Reading, empty_queues};

/// A read that takes longer is given up: the line is marked unreadable until one answers.
const READ_TIMEOUT: Duration = Duration::from_secs(3);

/// Starts the task; it runs until aborted (the drain stops it with the other refreshes).
pub fn spawn_refresh(line: Arc<LiveLine>, roster: Arc<LiveRoster>, db: Db, every: Duration) -> JoinHandle<()> {
    tokio::spawn(async move {
        let mut ticks = tokio::time::interval(every);
        ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            ticks.tick().await;
            let now = Utc::now();
            let read = tokio::time::timeout(READ_TIMEOUT, db.queues_now(now)).await;
            let queues = match read {
                Ok(Ok(queues)) => Some(queues),
                Ok(Err(error)) => {
                    tracing::debug!(%error, "the desk cannot read the queue");
                    None
                }
                Err(_) => None,
            };
            line.publish(line_now(queues.as_deref(), &roster, now));
        }
    })
}

/// The line from a reading of the queue (`None`: the database did not answer) and the roster.
fn line_now(queues: Option<&[QueueCount]>, roster: &LiveRoster, now: DateTime<Utc>) -> LineNow {
    let snapshot = roster.snapshot();
    let operators =
        snapshot.operators.iter().map(|o| OperatorNow { id: o.id, name: o.name.clone(), state: o.state }).collect();
    let (reading, queues) = match queues {
        Some(read) => (Reading::Current, queues_from(read, now)),
        None => (Reading::DatabaseUnreachable, empty_queues()),
    };
    LineNow { reading, queues, operators, states_stale: snapshot.states_stale }
}

/// The three queues, filled from the rows read (a queue without a row is empty).
fn queues_from(read: &[QueueCount], now: DateTime<Utc>) -> Vec<QueueNow> {
    let mut queues = empty_queues();
    for row in read {
        let language = row.language.as_deref().and_then(Language::from_code);
        let code = language.map_or("none", Language::code);
        let Some(queue) = queues.iter_mut().find(|q| q.queue == code) else { continue };
        queue.waiting = u32::try_from(row.waiting).unwrap_or(u32::MAX);
        queue.ringing = u32::try_from(row.ringing).unwrap_or(u32::MAX);
        queue.longest_wait_seconds =
            row.first_joined.map(|joined| u64::try_from((now - joined).num_seconds()).unwrap_or(0));
    }
    queues
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::call_edge::DialTarget;
    use crate::operators::{Languages, Operator, Roster, State};

    fn at(seconds: i64) -> DateTime<Utc> {
        DateTime::from_timestamp(1_800_000_000 + seconds, 0).expect("a time")
    }

    fn roster() -> LiveRoster {
        let operator = |id, state| Operator {
            id,
            name: format!("operator {id}"),
            target: DialTarget::parse("+77010000000").expect("a number"),
            languages: Languages::Both,
            available: state != State::Away,
            state,
        };
        let operators = vec![operator(1, State::Available), operator(2, State::WrapUp)];
        LiveRoster::new(Roster { operators, switchboard: None, states_stale: false })
    }

    #[test]
    fn each_queue_says_how_many_wait_and_how_long_the_first_has() {
        let read = [
            QueueCount { language: Some("ru".to_owned()), waiting: 3, ringing: 1, first_joined: Some(at(-95)) },
            QueueCount { language: None, waiting: 1, ringing: 0, first_joined: Some(at(-4)) },
        ];
        let line = line_now(Some(&read), &roster(), at(0));
        assert_eq!(line.reading, Reading::Current);
        let by_code: Vec<_> =
            line.queues.iter().map(|q| (q.queue, q.waiting, q.ringing, q.longest_wait_seconds)).collect();
        assert_eq!(by_code, [("kk", 0, 0, None), ("ru", 3, 1, Some(95)), ("none", 1, 0, Some(4))]);
        assert_eq!((line.count(State::Available), line.count(State::WrapUp)), (1, 1));
    }

    #[test]
    fn an_unreadable_queue_is_said_and_the_operators_come_from_memory() {
        let line = line_now(None, &roster(), at(0));
        assert_eq!(line.reading, Reading::DatabaseUnreachable);
        assert!(line.queues.iter().all(|q| q.waiting == 0 && q.longest_wait_seconds.is_none()));
        assert_eq!(line.operators.len(), 2, "the roster's last snapshot");
    }
}
