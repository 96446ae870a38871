//! One anonymous row per call, folded from the call's records in step order.
//!
//! The row is always recomputed from every record the database holds for the call, never
//! patched in place, so records may arrive in any order (a spool replayed late, several
//! instances answering one call) and the row still comes out the same.

use chrono::{DateTime, NaiveDate, Utc};
use serde::Serialize;

use super::record::{CallEvent, Record, call_label};

/// How a call went, for the reports. The first that applies wins.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Outcome {
    /// Transferred to the police at least once.
    Emergency,
    /// Transferred to an operator who answered, or still ringing or talking.
    Operator,
    /// Every operator transfer ended unanswered.
    FailedTransfer,
    /// Heard guidance and went no further.
    SelfService,
    /// Hung up in the menus before any guidance or transfer.
    Abandoned,
}

impl Outcome {
    /// Every outcome, in the order reports list them.
    pub const ALL: [Outcome; 5] =
        [Outcome::SelfService, Outcome::Operator, Outcome::Emergency, Outcome::Abandoned, Outcome::FailedTransfer];

    /// The outcome's name in the database and reports.
    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::Emergency => "emergency",
            Outcome::Operator => "operator",
            Outcome::FailedTransfer => "failed_transfer",
            Outcome::SelfService => "self_service",
            Outcome::Abandoned => "abandoned",
        }
    }
}

/// A call as the `calls` table holds it. Nothing in it came from the provider's form.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, sqlx::FromRow)]
pub struct CallRow {
    /// The call's key: a hash, never the provider's id (shown as a label).
    #[serde(serialize_with = "as_label")]
    pub call_id: i64,
    /// The UTC day the call started (or, until its first record arrives, was first seen).
    pub day: NaiveDate,
    /// To the minute; `None` until the call's first record is stored.
    pub started_at: Option<DateTime<Utc>>,
    /// Made by `ivr demo-data`, not by a caller.
    pub synthetic: bool,
    /// `kk` or `ru`; `None` if the caller never chose.
    pub language: Option<String>,
    /// Topics heard, comma-separated, in the order first heard.
    pub topics: String,
    /// Nodes entered and keys pressed, in order: `language:1 welcome main:3 evidence:0 operator`
    /// (`node:-` is a timeout).
    pub path: String,
    /// The last node entered: where the caller was when the call ended.
    pub exit_node: Option<String>,
    /// How the call ended up (see [`Outcome`]).
    pub outcome: String,
    /// Wrong keys pressed.
    pub invalid_keys: i32,
    /// Menus that heard nothing.
    pub timeouts: i32,
    /// Transfers to the police.
    pub emergency_transfers: i32,
    /// Rounds of ringing operators.
    pub operator_transfers: i32,
    /// Whether an operator picked up.
    pub operator_answered: bool,
    /// Transfer results in order: `police:busy operator:completed`.
    pub dial_results: String,
    /// Seconds in the menus, until a transfer or the end.
    pub ivr_seconds: Option<i32>,
    /// Seconds from the start to the first transfer.
    pub seconds_to_transfer: Option<i32>,
    /// How the call ended (a `CallEnd`'s word: `completed`, `busy`, …), when the platform's
    /// status webhook reached this service.
    pub ended: Option<String>,
    /// Whether the number called in the 24 hours before (only that is kept).
    pub repeat_caller: bool,
    /// Per operator transfer, in order, the rule that chose who to ring and how many were
    /// rung: `language:3 any_language:1 switchboard:1 nobody:0`. Never who.
    pub operators_rung: String,
    /// The most rounds of ringing the caller waited through (1 = answered or given up on
    /// the first ring); 0 without an operator transfer.
    pub operator_rounds: i32,
    /// Seconds from the first answered operator transfer's start to an operator picking up
    /// (the transfer prompt included), timed from the start the call's state carries.
    pub seconds_to_answer: Option<i32>,
}

fn as_label<S: serde::Serializer>(key: &i64, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(&call_label(*key))
}

/// What a fold keeps beyond the row itself.
#[derive(Default)]
struct Timings {
    transfer: Option<i32>,
    end: Option<i32>,
    last: Option<i32>,
    operator_dials_ended: i32,
    /// When the latest operator transfer started, and when an answered one ended.
    ringing_since: Option<i32>,
    answered_ended: Option<i32>,
}

impl CallRow {
    /// Folds one call's records (any order, no duplicates) into its row.
    pub fn fold(call_id: i64, records: &[&Record]) -> CallRow {
        let mut records = records.to_vec();
        records.sort_by_key(|r| r.seq);
        let started_at = records.iter().find_map(|r| r.started_at);
        let first_day = records.iter().map(|r| r.day).min().unwrap_or_default();
        let mut row = CallRow::empty(call_id, started_at.map_or(first_day, |t| t.date_naive()), started_at);
        let mut path: Vec<String> = Vec::new();
        let mut timings = Timings::default();
        for record in records {
            timings.last = timings.last.max(record.elapsed);
            for event in &record.events {
                row.apply(event, record.elapsed, &mut path, &mut timings);
            }
        }
        row.path = path.join(" ");
        row.seconds_to_transfer = timings.transfer;
        row.ivr_seconds = timings.transfer.or(timings.end).or(timings.last);
        row.outcome = row.derive_outcome(timings.operator_dials_ended).as_str().to_owned();
        row
    }

    fn empty(call_id: i64, day: NaiveDate, started_at: Option<DateTime<Utc>>) -> CallRow {
        CallRow {
            call_id,
            day,
            started_at,
            synthetic: false,
            language: None,
            topics: String::new(),
            path: String::new(),
            exit_node: None,
            outcome: Outcome::Abandoned.as_str().to_owned(),
            invalid_keys: 0,
            timeouts: 0,
            emergency_transfers: 0,
            operator_transfers: 0,
            operator_answered: false,
            dial_results: String::new(),
            operators_rung: String::new(),
            operator_rounds: 0,
            seconds_to_answer: None,
            ivr_seconds: None,
            seconds_to_transfer: None,
            ended: None,
            repeat_caller: false,
        }
    }

    fn apply(&mut self, event: &CallEvent, elapsed: Option<i32>, path: &mut Vec<String>, timings: &mut Timings) {
        match event {
            CallEvent::Started | CallEvent::Hangup => {}
            CallEvent::Language { code } => self.language = Some(code.clone()),
            CallEvent::Entered { node } => {
                path.push(node.clone());
                self.exit_node = Some(node.clone());
            }
            CallEvent::Key { node, key } => mark(path, node, *key),
            CallEvent::Invalid { .. } => self.invalid_keys += 1,
            CallEvent::Timeout { node } => {
                self.timeouts += 1;
                mark(path, node, '-');
            }
            CallEvent::Topic { topic } => {
                if !self.topics.split(',').any(|t| t == topic) {
                    append(&mut self.topics, ',', topic);
                }
            }
            CallEvent::Emergency => {
                self.emergency_transfers += 1;
                timings.transfer = min_some(timings.transfer, elapsed);
            }
            CallEvent::Operator { round, .. } => {
                self.operator_transfers += 1;
                self.operator_rounds = self.operator_rounds.max(i32::from(*round));
                timings.transfer = min_some(timings.transfer, elapsed);
                timings.ringing_since = elapsed;
            }
            CallEvent::Rung { operators, route } => {
                append(&mut self.operators_rung, ' ', &format!("{}:{operators}", route.as_str()))
            }
            CallEvent::Dialled { emergency, outcome } => {
                self.dialled(*emergency, outcome, timings);
                timings.answered_ended = elapsed.filter(|_| !emergency && outcome == "completed");
            }
            CallEvent::Talked { seconds } => self.answered(*seconds, timings),
            CallEvent::Ended { status } => {
                self.ended = Some(status.as_str().to_owned());
                timings.end = elapsed;
            }
            CallEvent::RepeatCaller => self.repeat_caller = true,
            // Kept in the call's stored steps (the position on joining); the row has no
            // column for it.
            CallEvent::Queued { .. } => {}
        }
    }

    fn dialled(&mut self, emergency: bool, outcome: &str, timings: &mut Timings) {
        let line = if emergency { "police" } else { "operator" };
        append(&mut self.dial_results, ' ', &format!("{line}:{outcome}"));
        if !emergency {
            timings.operator_dials_ended += 1;
            self.operator_answered |= outcome == "completed";
        }
    }

    /// The first answered transfer's ringing time: from its start to its end, less the talk.
    fn answered(&mut self, talked: i32, timings: &mut Timings) {
        if self.seconds_to_answer.is_none()
            && let (Some(since), Some(ended)) = (timings.ringing_since, timings.answered_ended.take())
        {
            self.seconds_to_answer = Some((ended - since - talked).max(0));
        }
    }

    fn derive_outcome(&self, operator_dials_ended: i32) -> Outcome {
        let operator_pending = self.operator_transfers > operator_dials_ended;
        if self.emergency_transfers > 0 {
            Outcome::Emergency
        } else if self.operator_answered || operator_pending {
            Outcome::Operator
        } else if self.operator_transfers > 0 {
            Outcome::FailedTransfer
        } else if !self.topics.is_empty() {
            Outcome::SelfService
        } else {
            Outcome::Abandoned
        }
    }

    /// The topics heard, in the order first heard.
    pub fn topic_list(&self) -> impl Iterator<Item = &str> {
        self.topics.split(',').filter(|t| !t.is_empty())
    }
}

/// Marks what the caller did on `node`: on the visit just entered, or as a visit of its own.
fn mark(path: &mut Vec<String>, node: &str, what: char) {
    match path.last_mut() {
        Some(last) if last == node => {
            last.push(':');
            last.push(what);
        }
        _ => path.push(format!("{node}:{what}")),
    }
}

fn append(list: &mut String, separator: char, item: &str) {
    if !list.is_empty() {
        list.push(separator);
    }
    list.push_str(item);
}

fn min_some(a: Option<i32>, b: Option<i32>) -> Option<i32> {
    match (a, b) {
        (Some(a), Some(b)) => Some(a.min(b)),
        (a, b) => a.or(b),
    }
}

#[cfg(test)]
mod tests {
    use chrono::NaiveDate;

    use super::*;
    use crate::operators::Route;

    fn record(seq: i32, elapsed: i32, events: Vec<CallEvent>) -> Record {
        let day = NaiveDate::from_ymd_opt(2026, 11, 29).expect("a day");
        let started_at = (seq == 0).then(|| day.and_hms_opt(10, 0, 0).expect("a time").and_utc());
        Record { call: 1, seq, day, started_at, elapsed: Some(elapsed), events }
    }

    fn operator(round: u8) -> Vec<CallEvent> {
        vec![CallEvent::Operator { silent: false, round }, CallEvent::Rung { operators: 3, route: Route::Language }]
    }

    fn dialled(outcome: &str) -> CallEvent {
        CallEvent::Dialled { emergency: false, outcome: outcome.into() }
    }

    #[test]
    fn seconds_to_answer_are_the_ring_of_the_answered_round_less_the_talk() {
        let records = [
            record(0, 0, vec![CallEvent::Started]),
            record(1, 10, operator(1)),
            record(2, 35, vec![dialled("no-answer")]),
            record(3, 50, operator(2)),
            record(4, 200, vec![dialled("completed"), CallEvent::Talked { seconds: 140 }]),
        ];
        let row = CallRow::fold(1, &records.iter().collect::<Vec<_>>());
        assert_eq!(row.seconds_to_answer, Some(10));
        assert_eq!(row.operator_rounds, 2);
        assert_eq!(row.operators_rung, "language:3 language:3");
    }

    #[test]
    fn no_answer_no_seconds_to_answer() {
        let records = [
            record(0, 0, vec![CallEvent::Started]),
            record(1, 10, operator(1)),
            record(2, 35, vec![dialled("busy"), CallEvent::Talked { seconds: 0 }]),
        ];
        let row = CallRow::fold(1, &records.iter().collect::<Vec<_>>());
        assert_eq!(row.seconds_to_answer, None);
        assert!(!row.operator_answered);
    }
}
