//! What the line reports about operators, and the task that writes it to the database.
//!
//! A transfer to operators draws a random number for its ring ([`Ringing`]), which travels
//! in that transfer's webhook URLs only: the dial's action URL carries it with the
//! operators rung, and each operator's whisper URL with that one operator ([`Answering`]).
//! The whisper is fetched when an operator answers, so it says who is now on a call; the
//! dial's end says the call ended (wrap-up for whoever answered that transfer) or that
//! nobody answered (a ring not answered, counted for each operator rung). The webhook that
//! learns this hands it to [`LineReports`], which never waits: a bounded channel to a task
//! ([`spawn_state_writer`]) that writes each change ([`StateStore::change_state`]) and has
//! this instance's roster reloaded. When the database does not answer, reports are dropped
//! (said once) and routing goes on from the roster it has.

use std::fmt::Write;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use chrono::{DateTime, TimeDelta, Utc};
use tokio::sync::mpsc;
use tokio::task::JoinHandle;

use super::LiveRoster;
use super::state::Change;
use super::store::StateStore;
use crate::db::Db;
use crate::flow::DialOutcome;

/// Reports waiting for the writer; beyond it, new ones are dropped.
const QUEUE: usize = 1024;
/// A write that takes longer is abandoned.
const WRITE_TIMEOUT: Duration = Duration::from_secs(5);

/// One transfer's ring: the random number drawn for it and the roster entries rung.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Ringing {
    /// Drawn for this transfer; links to nothing stored anywhere else.
    pub transfer: u32,
    /// The operators rung (never the switchboard), as many as the transfer rang.
    pub operators: Vec<i64>,
}

impl Ringing {
    /// A new ring of `operators`; `None` when no operator of the roster is rung.
    pub fn draw(operators: Vec<i64>) -> Option<Ringing> {
        (!operators.is_empty()).then(|| Ringing { transfer: rand::random(), operators })
    }

    /// `<transfer in hex>.<id>.<id>…`, as it travels in a URL's query.
    pub fn encode(&self, out: &mut String) {
        let _ = write!(out, "{:x}", self.transfer);
        for id in &self.operators {
            let _ = write!(out, ".{id}");
        }
    }

    /// What [`Ringing::encode`] wrote; `None` for anything else.
    pub fn parse(text: &str) -> Option<Ringing> {
        let mut parts = text.split('.');
        let transfer = u32::from_str_radix(parts.next()?, 16).ok()?;
        let operators = parts.map(|id| id.parse::<i64>().ok().filter(|id| *id > 0)).collect::<Option<Vec<_>>>()?;
        let few = (1..=super::MAX_RUNG).contains(&operators.len());
        few.then_some(Ringing { transfer, operators })
    }

    /// The operator `operator` of this ring, as their whisper says it.
    pub fn answering(&self, operator: i64) -> Answering {
        Answering { transfer: self.transfer, operator }
    }
}

/// The operator a whisper is for, and the transfer ringing them: fetched when they answer.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Answering {
    /// The transfer's random number.
    pub transfer: u32,
    /// The roster entry that answered.
    pub operator: i64,
}

impl Answering {
    /// `<transfer in hex>.<id>`.
    pub fn encode(&self, out: &mut String) {
        let _ = write!(out, "{:x}.{}", self.transfer, self.operator);
    }

    /// What [`Answering::encode`] wrote; `None` for anything else.
    pub fn parse(text: &str) -> Option<Answering> {
        let ringing = Ringing::parse(text)?;
        match ringing.operators[..] {
            [operator] => Some(Answering { transfer: ringing.transfer, operator }),
            _ => None,
        }
    }
}

/// One change to write: to whom, what, and when it was reported.
type Report = (i64, Change, DateTime<Utc>);

/// Where the line reports operators answering, calls ending and rings not answered. Never
/// waits; cloned into every request's line.
#[derive(Clone, Debug)]
pub struct LineReports {
    sender: mpsc::Sender<Report>,
    /// How long a wrap-up lasts (IVR_WRAP_UP_SECONDS).
    wrap_up: TimeDelta,
    /// Rings in a row not answered before the line makes an operator away
    /// (IVR_AWAY_AFTER_UNANSWERED; never for zero).
    away_after: u32,
    /// A report was dropped and that was said; cleared when the writer writes again.
    dropping: Arc<AtomicBool>,
}

/// The writer's end of [`LineReports`].
#[derive(Debug)]
pub struct LineReportsInbox {
    receiver: mpsc::Receiver<Report>,
    dropping: Arc<AtomicBool>,
}

/// A channel for the line's reports, with `wrap_up_seconds` of wrap-up after each call and
/// an operator made away after `away_after` rings in a row not answered.
pub fn line_reports(wrap_up_seconds: u32, away_after: u32) -> (LineReports, LineReportsInbox) {
    let (sender, receiver) = mpsc::channel(QUEUE);
    let dropping = Arc::new(AtomicBool::new(false));
    let wrap_up = TimeDelta::seconds(i64::from(wrap_up_seconds));
    (LineReports { sender, wrap_up, away_after, dropping: dropping.clone() }, LineReportsInbox { receiver, dropping })
}

impl LineReports {
    /// An operator answered (their whisper was fetched): on a call.
    pub fn answered(&self, answering: Answering) {
        self.send(answering.operator, Change::Answered { transfer: answering.transfer });
    }

    /// A transfer's dial ended with `outcome`: answered, the call is over (wrap-up for
    /// whoever answered it); no answer or busy, each operator rung did not answer. A
    /// failed dial (the caller hung up while it rang, the network) counts for nobody.
    pub fn transfer_ended(&self, ringing: &Ringing, outcome: DialOutcome) {
        let change = match outcome {
            DialOutcome::Completed => Change::CallEnded { transfer: ringing.transfer, wrap_up: self.wrap_up },
            DialOutcome::NoAnswer | DialOutcome::Busy => Change::NotAnswered { away_after: self.away_after },
            DialOutcome::Failed => return,
        };
        for operator in &ringing.operators {
            self.send(*operator, change);
        }
    }

    fn send(&self, operator: i64, change: Change) {
        if self.sender.try_send((operator, change, Utc::now())).is_err() && !self.dropping.swap(true, Ordering::Relaxed)
        {
            tracing::warn!("operator states: a report was dropped (the writer is behind or stopped)");
        }
    }
}

/// Starts the task writing the line's reports; it runs until aborted. Needs a Tokio runtime.
pub fn spawn_state_writer(db: Db, roster: Arc<LiveRoster>, inbox: LineReportsInbox) -> JoinHandle<()> {
    let LineReportsInbox { mut receiver, dropping } = inbox;
    tokio::spawn(async move {
        let mut failing = false;
        while let Some((operator, change, at)) = receiver.recv().await {
            let written = tokio::time::timeout(WRITE_TIMEOUT, async {
                db.ready().await?;
                db.change_state(operator, change, at).await
            })
            .await;
            match written {
                Ok(Ok(_)) => {
                    if std::mem::take(&mut failing) {
                        tracing::info!("operator states are written again");
                    }
                    dropping.store(false, Ordering::Relaxed);
                    if receiver.is_empty() {
                        roster.request_reload();
                    }
                }
                // Removed since it was rung: nothing to write.
                Ok(Err(super::RosterError::UnknownOperator(_))) => {}
                Ok(Err(error)) => failed(&mut failing, &error.to_string()),
                Err(_) => failed(&mut failing, "the database did not answer in time"),
            }
        }
    })
}

fn failed(failing: &mut bool, why: &str) {
    if !std::mem::replace(failing, true) {
        tracing::warn!(error = why, "cannot write an operator's state: routing goes on from the roster in memory");
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::operators::UNANSWERED_BEFORE_AWAY;

    #[test]
    fn a_ring_reads_back_as_written_and_anything_else_is_nothing() {
        let ringing = Ringing { transfer: 0xdead_beef, operators: vec![3, 17] };
        let mut text = String::new();
        ringing.encode(&mut text);
        assert_eq!(text, "deadbeef.3.17");
        assert_eq!(Ringing::parse(&text), Some(ringing.clone()));
        let mut one = String::new();
        ringing.answering(17).encode(&mut one);
        assert_eq!(Answering::parse(&one), Some(Answering { transfer: 0xdead_beef, operator: 17 }));
        assert_eq!(Answering::parse(&text), None, "a whisper is for one operator");
        for bad in ["", "x.1", "1", "1.", "1.-2", "1.0", "1.a", "100000000.1", &format!("1{}", ".1".repeat(11))] {
            assert_eq!(Ringing::parse(bad), None, "{bad:?}");
        }
        assert_eq!(Ringing::draw(Vec::new()), None, "the switchboard alone is no ring of operators");
    }

    #[tokio::test]
    async fn an_ended_transfer_reports_each_operator_rung_and_a_failed_one_nobody() {
        let (reports, mut inbox) = line_reports(30, UNANSWERED_BEFORE_AWAY);
        let ringing = Ringing { transfer: 9, operators: vec![1, 2] };
        reports.transfer_ended(&ringing, DialOutcome::Failed);
        reports.transfer_ended(&ringing, DialOutcome::NoAnswer);
        reports.transfer_ended(&ringing, DialOutcome::Completed);
        reports.answered(ringing.answering(2));
        let mut got = Vec::new();
        while let Ok((operator, change, _)) = inbox.receiver.try_recv() {
            got.push((operator, change));
        }
        let ended = Change::CallEnded { transfer: 9, wrap_up: TimeDelta::seconds(30) };
        assert_eq!(
            got,
            [
                (1, Change::NotAnswered { away_after: UNANSWERED_BEFORE_AWAY }),
                (2, Change::NotAnswered { away_after: UNANSWERED_BEFORE_AWAY }),
                (1, ended),
                (2, ended),
                (2, Change::Answered { transfer: 9 })
            ]
        );
    }
}
