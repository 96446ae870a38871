//! One anonymous row per call, folded from the call's records in step order.
//!
//! The row is always recomputed from every record the database holds for the call, never
//! patched in place, so records may arrive in any order (a spool replayed late, several
//! instances answering one call) and the row still comes out the same.
//!
//! A topic counts as heard only once the caller listened to its part to the end or moved
//! on from it ([`Hearing`]): a caller who hangs up in the middle of a part heard no
//! guidance. Whether they did is known only from later records (a later step, the call's
//! end), so a row can lose or keep a topic when they arrive; the daily totals follow, as
//! they follow every change of a row (`store/plan.rs`).

use chrono::{DateTime, NaiveDate, Utc};
use serde::Serialize;

use super::queue;
use super::record::{CallEvent, END_SEQ, Record, call_label};
use super::repeat::REPEAT_SEQ;

/// How a call went, for the reports. The first that applies wins.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Outcome {
    /// Transferred to the police at least once.
    Emergency,
    /// Transferred to an operator who answered, or still ringing or talking.
    Operator,
    /// Every operator transfer ended unanswered.
    FailedTransfer,
    /// Heard guidance (a part to its end, or moved on from it) and went no further.
    SelfService,
    /// Hung up before hearing any guidance to its end or reaching a transfer: in the menus,
    /// or in the middle of a guidance part.
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
    /// Topics heard (a part listened to its end or moved on from, see [`Hearing`]),
    /// comma-separated, in the order first heard.
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
    /// The caller's position on joining the operators' queue (1: next); `None` if they
    /// never waited (see `queue.rs` for this and the next three).
    pub queue_position: Option<i32>,
    /// Seconds from joining the queue to the first ring out of it (never rung: to leaving
    /// it, else to the call's end); `None` if they never waited or the steps had no times.
    pub queue_seconds: Option<i32>,
    /// How the wait ended: `answered`, `overflowed`, `left`, `abandoned`; `None` if they
    /// never waited.
    pub queue_outcome: Option<String>,
    /// Whether a ring after waiting went by an overflow route (answered or not).
    pub queue_overflowed: bool,
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
        let hearing = Hearing::of(&records);
        if let Some(waited) = queue::waited(&records) {
            row.queue_position = Some(waited.position);
            row.queue_seconds = waited.seconds;
            row.queue_outcome = Some(waited.outcome.as_str().to_owned());
            row.queue_overflowed = waited.overflowed;
        }
        for record in records {
            timings.last = timings.last.max(record.elapsed);
            for event in &record.events {
                row.apply(event, record, &hearing, &mut path, &mut timings);
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
            queue_position: None,
            queue_seconds: None,
            queue_outcome: None,
            queue_overflowed: false,
        }
    }

    /// Folds in one `event` of `record`; `hearing` tells whether a topic it entered was heard.
    fn apply(
        &mut self,
        event: &CallEvent,
        record: &Record,
        hearing: &Hearing,
        path: &mut Vec<String>,
        timings: &mut Timings,
    ) {
        let elapsed = record.elapsed;
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
            CallEvent::Topic { topic, part_seconds } => {
                if hearing.heard(record, *part_seconds) && !self.topics.split(',').any(|t| t == topic) {
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
            // Folded on its own, from the records in order (`queue.rs`).
            CallEvent::Queued { .. } | CallEvent::LeftQueue => {}
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

/// What tells whether a caller heard a guidance part: whether the call went on after the
/// step that entered it, and how long the call lasted by its end record.
struct Hearing {
    /// The highest step counter among the call's step records (not its end record, nor the
    /// repeat-caller flag, which come whatever the caller does).
    last_step: Option<i32>,
    /// The call's end record, if it has arrived: the call's length in seconds, if known.
    end: Option<Option<i32>>,
}

impl Hearing {
    fn of(records: &[&Record]) -> Hearing {
        Hearing {
            last_step: records.iter().map(|r| r.seq).filter(|seq| ![END_SEQ, REPEAT_SEQ].contains(seq)).max(),
            end: records.iter().find(|r| r.seq == END_SEQ).map(|r| r.elapsed),
        }
    }

    /// Whether the part that `record` entered, `part_seconds` long, was heard: the call has
    /// a later step (a key, the part's silence timing out: the caller moved on), or it
    /// lasted at least the part past the step (whole seconds on both sides, rounded down,
    /// so a caller who heard the part whole is never missed). When that cannot be told (no
    /// part length, no end record yet, or a length missing on either side) it counts as heard.
    fn heard(&self, record: &Record, part_seconds: Option<u16>) -> bool {
        let Some(part) = part_seconds else { return true };
        if self.last_step.is_some_and(|last| last > record.seq) {
            return true;
        }
        match (self.end, record.elapsed) {
            (Some(Some(end)), Some(entered)) => end - entered >= i32::from(part),
            _ => true,
        }
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

/// The call's records as the fold's tests make them; the store's tests fold them too.
#[cfg(test)]
pub(super) mod tests {
    use chrono::NaiveDate;

    use super::*;
    use crate::operators::Route;

    pub(in crate::stats) fn record(seq: i32, elapsed: i32, events: Vec<CallEvent>) -> Record {
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

    pub(in crate::stats) fn entered(node: &str) -> CallEvent {
        CallEvent::Entered { node: node.into() }
    }

    pub(in crate::stats) fn key(node: &str, key: char) -> CallEvent {
        CallEvent::Key { node: node.into(), key }
    }

    pub(in crate::stats) fn end(elapsed: Option<i32>) -> Record {
        let day = NaiveDate::from_ymd_opt(2026, 11, 29).expect("a day");
        let events = vec![CallEvent::Ended { status: crate::call_edge::CallEnd::Completed }];
        Record { call: 1, seq: END_SEQ, day, started_at: None, elapsed, events }
    }

    /// A Kazakh caller who presses 3 on the main menu at 10 s and enters the evidence
    /// topic's first part, `part_seconds` long.
    pub(in crate::stats) fn into_evidence(part_seconds: Option<u16>) -> Vec<Record> {
        into_part('3', "evidence_1", "evidence", part_seconds)
    }

    /// A Kazakh caller who presses `pressed` on the main menu at 10 s and enters `node`,
    /// the first part of `topic`, `part_seconds` long.
    fn into_part(pressed: char, node: &str, topic: &str, part_seconds: Option<u16>) -> Vec<Record> {
        let topic = CallEvent::Topic { topic: topic.into(), part_seconds };
        vec![
            record(0, 0, vec![CallEvent::Started, entered("language")]),
            record(1, 4, vec![key("language", '1'), CallEvent::Language { code: "kk".into() }, entered("main")]),
            record(2, 10, vec![key("main", pressed), entered(node), topic]),
        ]
    }

    fn fold(records: &[Record]) -> CallRow {
        CallRow::fold(1, &records.iter().collect::<Vec<_>>())
    }

    #[test]
    fn a_hang_up_in_the_middle_of_a_part_is_abandoned() {
        let mut records = into_evidence(Some(20));
        records.push(end(Some(13)));
        let row = fold(&records);
        assert_eq!((row.outcome.as_str(), row.topics.as_str()), ("abandoned", ""));
        assert_eq!(row.exit_node.as_deref(), Some("evidence_1"));
        assert_eq!(row.path, "language:1 main:3 evidence_1");
    }

    #[test]
    fn a_part_heard_whole_is_self_service() {
        for lasted in [30, 10 + 20] {
            let mut records = into_evidence(Some(20));
            records.push(end(Some(lasted)));
            let row = fold(&records);
            assert_eq!((row.outcome.as_str(), row.topics.as_str()), ("self_service", "evidence"), "{lasted} s");
        }
    }

    #[test]
    fn a_step_after_the_part_makes_the_topic_heard_even_with_an_early_end() {
        // A key back to the main menu; the topic's next part (which enters no topic again).
        let cases = [
            (into_evidence(Some(20)), key("evidence_1", '2'), "main", "evidence"),
            (
                into_part('2', "safety_plan_1", "safety_plan", Some(22)),
                key("safety_plan_1", '1'),
                "safety_plan_2",
                "safety_plan",
            ),
        ];
        for (mut records, pressed, next, topic) in cases {
            records.push(record(3, 11, vec![pressed, entered(next)]));
            records.push(end(Some(12)));
            let row = fold(&records);
            assert_eq!((row.outcome.as_str(), row.topics.as_str()), ("self_service", topic), "{next}");
            assert_eq!(row.exit_node.as_deref(), Some(next));
        }
    }

    #[test]
    fn a_repeat_callers_flag_is_no_step_after_the_part() {
        let mut records = into_evidence(Some(20));
        records.push(record(REPEAT_SEQ, 10, vec![CallEvent::RepeatCaller]));
        records.push(end(Some(13)));
        let row = fold(&records);
        assert_eq!((row.outcome.as_str(), row.topics.as_str(), row.repeat_caller), ("abandoned", "", true));
    }

    #[test]
    fn what_cannot_be_told_counts_as_heard() {
        let untimed = [into_evidence(None), vec![end(Some(11))]].concat();
        let no_end = into_evidence(Some(20));
        let no_length = [into_evidence(Some(20)), vec![end(None)]].concat();
        for (name, records) in [("no part_seconds", untimed), ("no end record", no_end), ("no length", no_length)] {
            let row = fold(&records);
            assert_eq!((row.outcome.as_str(), row.topics.as_str()), ("self_service", "evidence"), "{name}");
        }
    }

    #[test]
    fn an_old_record_without_part_seconds_still_reads() {
        let stored = r#"[{"e":"topic","topic":"evidence"}]"#;
        let events: Vec<CallEvent> = serde_json::from_str(stored).expect("an old record reads");
        assert_eq!(events, [CallEvent::Topic { topic: "evidence".into(), part_seconds: None }]);
        let written = serde_json::to_string(&events).expect("written");
        assert_eq!(written, stored, "no part_seconds written where there is none");
    }

    #[test]
    fn the_end_arriving_first_folds_the_same() {
        let mut records = into_evidence(Some(20));
        records.insert(0, end(Some(13)));
        records.reverse();
        assert_eq!(fold(&records).outcome, "abandoned");
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
