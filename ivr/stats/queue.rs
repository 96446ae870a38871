//! How a caller's wait in the operators' queue went, folded from the call's records in
//! step order: their position on joining, how long they waited, and how the wait ended.
//!
//! The queue's own records say when a caller first waited (`CallEvent::Queued`, with the
//! position) and when they gave up their place (`LeftQueue`: put through, the police, the
//! main menu); the rest is read from the steps between: a ring (`Rung`), an answer
//! (`Dialled` completed). The busy menu and advice keep the caller's place: still waiting. Like the
//! rest of the row it is recomputed from every record each time one arrives, so the facts
//! may change as late records come in, and the daily totals follow (`store/plan.rs`).

use super::record::{CallEvent, END_SEQ, Record};
use crate::operators::Route;

/// How a wait in the queue ended, the first that applies.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum QueueOutcome {
    /// An operator (of any route, the switchboard included) answered after the caller waited.
    Answered,
    /// Not answered, but rung out of the queue by an overflow route (operators of the other
    /// language, or the switchboard).
    Overflowed,
    /// Gave up their place for the main menu or the police while waiting, before being rung.
    Left,
    /// Anything else: hung up while waiting or during their ring, never answered.
    Abandoned,
}

impl QueueOutcome {
    /// Every outcome, in the order reports list them.
    pub const ALL: [QueueOutcome; 4] =
        [QueueOutcome::Answered, QueueOutcome::Overflowed, QueueOutcome::Left, QueueOutcome::Abandoned];

    /// The outcome's word in the database and reports.
    pub fn as_str(self) -> &'static str {
        match self {
            QueueOutcome::Answered => "answered",
            QueueOutcome::Overflowed => "overflowed",
            QueueOutcome::Left => "left",
            QueueOutcome::Abandoned => "abandoned",
        }
    }
}

/// What a call's row keeps of its wait.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Waited {
    /// Position on joining (1: next).
    pub position: i32,
    /// From joining to the first ring out of the queue; never rung: to leaving it, else to
    /// the call's end (its last step until the end's record arrives). `None` without times.
    pub seconds: Option<i32>,
    /// How the wait ended.
    pub outcome: QueueOutcome,
    /// Whether a ring after waiting went by an overflow route, answered or not.
    pub overflowed: bool,
}

/// The wait of a call whose `records` are sorted by step; `None` if the caller never waited.
pub fn waited(records: &[&Record]) -> Option<Waited> {
    let (joined_at, position) = records.iter().enumerate().find_map(|(i, record)| {
        record.events.iter().find_map(|e| match e {
            CallEvent::Queued { position } => Some((i, *position)),
            _ => None,
        })
    })?;
    let mut wait = Wait::default();
    for record in &records[joined_at + 1..] {
        for event in &record.events {
            wait.follow(event, record);
        }
    }
    let steps_end = records.iter().filter(|r| r.seq != END_SEQ).filter_map(|r| r.elapsed).max();
    let end = records.iter().find(|r| r.seq == END_SEQ).and_then(|r| r.elapsed).or(steps_end);
    let until = wait.rung.or(wait.left).unwrap_or(end);
    let outcome = if wait.answered {
        QueueOutcome::Answered
    } else if wait.overflowed {
        QueueOutcome::Overflowed
    } else if wait.left.is_some() {
        QueueOutcome::Left
    } else {
        QueueOutcome::Abandoned
    };
    let joined = records[joined_at].elapsed;
    let seconds = joined.zip(until).map(|(joined, until)| (until - joined).max(0));
    Some(Waited { position, seconds, outcome, overflowed: wait.overflowed })
}

/// What the steps after joining showed; `rung` and `left` are when (seconds into the call,
/// `None` inside when the step had no time).
#[derive(Default)]
struct Wait {
    rung: Option<Option<i32>>,
    left: Option<Option<i32>>,
    answered: bool,
    overflowed: bool,
}

impl Wait {
    fn follow(&mut self, event: &CallEvent, record: &Record) {
        match event {
            CallEvent::Rung { operators, route } if *operators > 0 => {
                self.rung.get_or_insert(record.elapsed);
                self.overflowed |= matches!(route, Route::AnyLanguage | Route::Switchboard);
            }
            CallEvent::Dialled { emergency: false, outcome } => self.answered |= outcome == "completed",
            // Recorded whenever the place is given up; after a ring it is the put-through.
            CallEvent::LeftQueue if self.rung.is_none() => {
                self.left.get_or_insert(record.elapsed);
            }
            _ => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::stats::call::tests::{end, entered, key, record};

    fn joined(position: i32) -> Vec<Record> {
        vec![
            record(0, 0, vec![CallEvent::Started, entered("main")]),
            record(1, 5, vec![key("main", '0'), entered("operator"), CallEvent::Queued { position }]),
        ]
    }

    fn rung(route: Route) -> Vec<CallEvent> {
        vec![CallEvent::Operator { silent: false, round: 1 }, CallEvent::Rung { operators: 1, route }]
    }

    fn dialled(outcome: &str) -> CallEvent {
        CallEvent::Dialled { emergency: false, outcome: outcome.into() }
    }

    fn fold(records: &[Record]) -> Option<Waited> {
        let mut sorted: Vec<&Record> = records.iter().collect();
        sorted.sort_by_key(|r| r.seq);
        waited(&sorted)
    }

    #[test]
    fn joined_at_three_and_answered_after_forty_seconds() {
        let mut records = joined(3);
        records.push(record(2, 25, vec![CallEvent::Timeout { node: "operator".into() }, entered("operator")]));
        records.push(record(3, 45, rung(Route::Language)));
        records.push(record(4, 300, vec![dialled("completed"), CallEvent::Talked { seconds: 240 }]));
        records.push(end(Some(301)));
        let expected = Waited { position: 3, seconds: Some(40), outcome: QueueOutcome::Answered, overflowed: false };
        assert_eq!(fold(&records), Some(expected));
        records.reverse();
        assert_eq!(fold(&records), Some(expected), "in any order");
    }

    #[test]
    fn a_hang_up_while_waiting_is_abandoned_after_the_wait_to_the_end() {
        let mut records = joined(2);
        records.push(record(2, 25, vec![CallEvent::Timeout { node: "operator".into() }, entered("operator")]));
        assert_eq!(fold(&records).map(|w| (w.seconds, w.outcome)), Some((Some(20), QueueOutcome::Abandoned)));
        records.push(end(Some(33)));
        let expected = Waited { position: 2, seconds: Some(28), outcome: QueueOutcome::Abandoned, overflowed: false };
        assert_eq!(fold(&records), Some(expected));
    }

    #[test]
    fn an_overflow_ring_is_overflowed_unless_answered_and_flagged_either_way() {
        for (route, answer, outcome, overflowed) in [
            (Route::Switchboard, "no-answer", QueueOutcome::Overflowed, true),
            (Route::AnyLanguage, "completed", QueueOutcome::Answered, true),
            (Route::Language, "busy", QueueOutcome::Abandoned, false),
        ] {
            let mut records = joined(1);
            records.push(record(2, 65, rung(route)));
            records.push(record(3, 90, vec![dialled(answer)]));
            let expected = Waited { position: 1, seconds: Some(60), outcome, overflowed };
            assert_eq!(fold(&records), Some(expected), "{route:?} {answer}");
        }
    }

    #[test]
    fn the_main_menu_or_the_police_while_waiting_is_left() {
        let left = |events: Vec<CallEvent>| [events, vec![CallEvent::LeftQueue]].concat();
        for events in [left(vec![key("operators_busy", '9'), CallEvent::Emergency]), left(vec![entered("main")])] {
            let mut records = joined(4);
            records.push(record(2, 17, events));
            records.push(end(Some(60)));
            assert_eq!(fold(&records).map(|w| (w.seconds, w.outcome)), Some((Some(12), QueueOutcome::Left)));
        }
    }

    #[test]
    fn the_busy_menu_keeps_the_place() {
        let mut records = joined(2);
        records.push(record(2, 15, vec![key("operator", '1'), entered("operators_busy")]));
        records.push(end(Some(50)));
        assert_eq!(fold(&records).map(|w| (w.seconds, w.outcome)), Some((Some(45), QueueOutcome::Abandoned)));
    }

    #[test]
    fn a_caller_who_never_waited_has_no_wait() {
        let records = [
            record(0, 0, vec![CallEvent::Started, entered("main")]),
            record(1, 5, rung(Route::Language)),
            record(2, 40, vec![dialled("completed")]),
            end(Some(41)),
        ];
        assert_eq!(fold(&records), None);
    }
}
