//! Operator states: available, on a call, in wrap-up, or away, and how each change moves
//! an operator from one to another. Pure: the clock is passed in, nothing here reads the
//! database or the time, so every transition is tested as a plain function call.
//!
//! What is stored ([`OperatorState`]) is the roster's switch (`available`; off is away,
//! with [`AwayReason`] saying why) and what the line last saw ([`Activity`]). The state an
//! operator is in *now* ([`State`]) is read from both with the clock: a wrap-up ends by
//! itself when its time passes, and a call the platform never reported ended stops
//! counting after [`LONGEST_CALL`], so a lost webhook never keeps an operator from being
//! rung for ever.

use chrono::{DateTime, TimeDelta, Utc};

pub use crate::config::UNANSWERED_BEFORE_AWAY;

/// A call whose end was never reported (an instance lost it) stops keeping its operator
/// from being rung after this long; the Asterisk dialect's longest transfer too.
pub const LONGEST_CALL: TimeDelta = TimeDelta::hours(6);

/// The state an operator is in now, as the desk, the API and routing see it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum State {
    /// At the desk and free: rung for callers.
    Available,
    /// On a call they answered: not rung.
    OnCall,
    /// Their last call ended a moment ago: not rung until the wrap-up ends.
    WrapUp,
    /// Not at the desk: not rung until made available.
    Away,
}

impl State {
    /// Whether a caller may ring an operator in this state.
    pub fn rung(self) -> bool {
        self == State::Available
    }

    /// `available`, `on_call`, `wrap_up` or `away`, as the API and the CLI write it.
    pub fn as_str(self) -> &'static str {
        match self {
            State::Available => "available",
            State::OnCall => "on_call",
            State::WrapUp => "wrap_up",
            State::Away => "away",
        }
    }
}

/// Why an operator is away.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum AwayReason {
    /// They said so themselves.
    Operator,
    /// An administrator (or the command line) did.
    Administrator,
    /// The line did: rings in a row were not answered (`IVR_AWAY_AFTER_UNANSWERED`).
    UnansweredRings,
}

impl AwayReason {
    /// The reason as stored.
    pub fn as_str(self) -> &'static str {
        match self {
            AwayReason::Operator => "operator",
            AwayReason::Administrator => "administrator",
            AwayReason::UnansweredRings => "unanswered_rings",
        }
    }

    /// The reason a stored word names; `None` for one this version does not know.
    pub fn parse(text: &str) -> Option<AwayReason> {
        [AwayReason::Operator, AwayReason::Administrator, AwayReason::UnansweredRings]
            .into_iter()
            .find(|reason| reason.as_str() == text)
    }
}

/// What the line last saw of an operator.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Activity {
    /// Nothing under way.
    Free,
    /// They answered the transfer drawn `transfer`, and it has not ended.
    OnCall {
        /// The random number of the transfer's ring (see [`Ringing`](crate::operators::Ringing)).
        transfer: u32,
    },
    /// Their call ended; they are in wrap-up until `until`.
    WrapUp {
        /// When the wrap-up ends by itself.
        until: DateTime<Utc>,
    },
}

/// One operator's state as stored: the roster's switch and what the line saw.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct OperatorState {
    /// The roster's switch: off is away.
    pub available: bool,
    /// What the line last saw.
    pub activity: Activity,
    /// When `activity` began (for a free operator: when they last became free, or last
    /// let a ring go unanswered); `None` when the line has seen nothing of them yet.
    pub since: Option<DateTime<Utc>>,
    /// Rings in a row not answered while free.
    pub unanswered_rings: u32,
    /// Why they are away, when that was recorded.
    pub away_reason: Option<AwayReason>,
    /// When they were made away, with the reason.
    pub away_since: Option<DateTime<Utc>>,
}

impl OperatorState {
    /// An operator the line has seen nothing of: free, or away when switched off.
    pub fn new(available: bool) -> OperatorState {
        OperatorState {
            available,
            activity: Activity::Free,
            since: None,
            unanswered_rings: 0,
            away_reason: None,
            away_since: None,
        }
    }

    /// The state now.
    pub fn at(&self, now: DateTime<Utc>) -> State {
        if !self.available {
            return State::Away;
        }
        match self.activity {
            Activity::OnCall { .. } if self.since.is_none_or(|since| now < since + LONGEST_CALL) => State::OnCall,
            Activity::WrapUp { until } if now < until => State::WrapUp,
            _ => State::Available,
        }
    }

    /// When a wrap-up under way ends (`None` when there is none now).
    pub fn wrap_up_until(&self, now: DateTime<Utc>) -> Option<DateTime<Utc>> {
        match self.activity {
            Activity::WrapUp { until } if self.at(now) == State::WrapUp => Some(until),
            _ => None,
        }
    }

    /// The state after `change` at `now`. A change that does not apply (a call's end for
    /// an operator on another call, a ring not answered by someone already away) leaves it
    /// as it is.
    pub fn after(self, change: Change, now: DateTime<Utc>) -> OperatorState {
        match change {
            Change::Answered { transfer } => {
                OperatorState { activity: Activity::OnCall { transfer }, since: Some(now), unanswered_rings: 0, ..self }
            }
            Change::CallEnded { transfer, wrap_up } => match self.activity {
                Activity::OnCall { transfer: answered } if answered == transfer => {
                    let activity = if wrap_up > TimeDelta::zero() {
                        Activity::WrapUp { until: now + wrap_up }
                    } else {
                        Activity::Free
                    };
                    OperatorState { activity, since: Some(now), ..self }
                }
                _ => self,
            },
            Change::NotAnswered { away_after } => {
                // A ring that reached someone on a call or in wrap-up (rung before the
                // change reached every instance), or already away, is nothing to count.
                if self.at(now) != State::Available {
                    return self;
                }
                let unanswered = self.unanswered_rings.saturating_add(1);
                if away_after == 0 || unanswered < away_after {
                    // Now the most recently free: the caller is offered to the next one.
                    return OperatorState { unanswered_rings: unanswered, since: Some(now), ..self.settled(now) };
                }
                OperatorState { unanswered_rings: 0, ..self.settled(now).away(AwayReason::UnansweredRings, now) }
            }
            Change::MadeAvailable => OperatorState {
                available: true,
                activity: Activity::Free,
                since: Some(now),
                unanswered_rings: 0,
                away_reason: None,
                away_since: None,
            },
            Change::MadeAway(reason) if self.available => self.away(reason, now),
            Change::MadeAway(_) => self,
        }
    }

    fn away(self, reason: AwayReason, now: DateTime<Utc>) -> OperatorState {
        OperatorState {
            available: false,
            unanswered_rings: 0,
            away_reason: Some(reason),
            away_since: Some(now),
            ..self
        }
    }

    /// Since when an operator available now has been free, for ringing the one free
    /// longest first: when they last became free (or let a ring go unanswered), when their
    /// wrap-up ended, or when a call whose end never came stopped counting. `None` for one the
    /// line has seen nothing of: free since ever, the longest of all.
    pub fn free_since(&self) -> Option<DateTime<Utc>> {
        match self.activity {
            Activity::Free => self.since,
            Activity::WrapUp { until } => Some(until),
            Activity::OnCall { .. } => self.since.map(|since| since + LONGEST_CALL),
        }
    }

    /// A wrap-up or call that has run out is written back as free.
    fn settled(self, now: DateTime<Utc>) -> OperatorState {
        match self.activity {
            Activity::Free => self,
            _ if self.at(now) == State::Available => {
                OperatorState { activity: Activity::Free, since: Some(now), ..self }
            }
            _ => self,
        }
    }
}

/// One operator's state as the API and the CLI show it: the state now and what explains it.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct StateView {
    /// The roster entry.
    pub id: i64,
    /// The state now.
    pub state: State,
    /// When the line last changed what they were doing (answered, call ended, wrap-up
    /// ended early, a ring not answered); `None` before it ever did.
    pub since: Option<DateTime<Utc>>,
    /// When the wrap-up under way ends.
    pub wrap_up_until: Option<DateTime<Utc>>,
    /// Rings in a row not answered while free (away at [`UNANSWERED_BEFORE_AWAY`]).
    pub unanswered_rings: u32,
    /// Why they are away, when they are and it was recorded.
    pub away_reason: Option<AwayReason>,
    /// When they were made away, when they are and it was recorded.
    pub away_since: Option<DateTime<Utc>>,
}

impl OperatorState {
    /// What the API and the CLI show of operator `id` at `now`.
    pub fn view(&self, id: i64, now: DateTime<Utc>) -> StateView {
        let away = !self.available;
        StateView {
            id,
            state: self.at(now),
            since: self.since,
            wrap_up_until: self.wrap_up_until(now),
            unanswered_rings: self.unanswered_rings,
            away_reason: self.away_reason.filter(|_| away),
            away_since: self.away_since.filter(|_| away),
        }
    }
}

/// Something that changes an operator's state.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Change {
    /// The line: they answered the transfer drawn `transfer` (its whisper was fetched).
    Answered {
        /// The transfer's random number.
        transfer: u32,
    },
    /// The line: the transfer drawn `transfer` ended after being answered; `wrap_up`
    /// (IVR_WRAP_UP_SECONDS) of wrap-up follows for whoever answered it.
    CallEnded {
        /// The transfer's random number.
        transfer: u32,
        /// How long the wrap-up lasts; none at all for zero.
        wrap_up: TimeDelta,
    },
    /// The line: they were rung and did not answer (no answer, or busy); at `away_after`
    /// such rings in a row they are made away (never, for zero).
    NotAnswered {
        /// `IVR_AWAY_AFTER_UNANSWERED`.
        away_after: u32,
    },
    /// The API, the CLI or the desk: available now; ends a wrap-up early, and forgets
    /// rings not answered.
    MadeAvailable,
    /// The API, the CLI or the desk: away, for `reason`.
    MadeAway(AwayReason),
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(seconds: i64) -> DateTime<Utc> {
        DateTime::from_timestamp(1_800_000_000 + seconds, 0).expect("a time")
    }

    const WRAP_UP: TimeDelta = TimeDelta::seconds(30);

    #[test]
    fn an_answered_call_is_on_a_call_then_wrap_up_then_available_by_itself() {
        let free = OperatorState::new(true);
        assert_eq!(free.at(at(0)), State::Available);
        let on_call = free.after(Change::Answered { transfer: 7 }, at(0));
        assert_eq!(on_call.at(at(600)), State::OnCall);
        let wrap_up = on_call.after(Change::CallEnded { transfer: 7, wrap_up: WRAP_UP }, at(600));
        assert_eq!(wrap_up.at(at(600)), State::WrapUp);
        assert_eq!(wrap_up.wrap_up_until(at(629)), Some(at(630)));
        assert_eq!(wrap_up.at(at(629)), State::WrapUp);
        assert_eq!(wrap_up.at(at(630)), State::Available, "no write needed for the wrap-up to end");
        assert_eq!(wrap_up.wrap_up_until(at(630)), None);
    }

    #[test]
    fn no_wrap_up_seconds_is_available_as_soon_as_the_call_ends() {
        let on_call = OperatorState::new(true).after(Change::Answered { transfer: 7 }, at(0));
        let ended = on_call.after(Change::CallEnded { transfer: 7, wrap_up: TimeDelta::zero() }, at(60));
        assert_eq!((ended.activity, ended.at(at(60))), (Activity::Free, State::Available));
    }

    #[test]
    fn the_end_of_another_transfer_leaves_a_call_under_way() {
        let on_call = OperatorState::new(true).after(Change::Answered { transfer: 7 }, at(0));
        assert_eq!(on_call.after(Change::CallEnded { transfer: 8, wrap_up: WRAP_UP }, at(60)), on_call);
        let free = OperatorState::new(true);
        assert_eq!(free.after(Change::CallEnded { transfer: 7, wrap_up: WRAP_UP }, at(60)), free);
    }

    #[test]
    fn a_call_whose_end_never_came_stops_counting_after_the_longest_call() {
        let on_call = OperatorState::new(true).after(Change::Answered { transfer: 7 }, at(0));
        assert_eq!(on_call.at(at(0) + LONGEST_CALL - TimeDelta::seconds(1)), State::OnCall);
        assert_eq!(on_call.at(at(0) + LONGEST_CALL), State::Available);
    }

    #[test]
    fn two_rings_in_a_row_not_answered_make_an_operator_away_and_say_why() {
        let free = OperatorState::new(true);
        let once = free.after(Change::NotAnswered { away_after: UNANSWERED_BEFORE_AWAY }, at(0));
        assert_eq!((once.at(at(0)), once.unanswered_rings), (State::Available, 1));
        assert_eq!(once.free_since(), Some(at(0)), "now the most recently free");
        let twice = once.after(Change::NotAnswered { away_after: UNANSWERED_BEFORE_AWAY }, at(40));
        assert_eq!(twice.at(at(40)), State::Away);
        assert_eq!((twice.away_reason, twice.away_since), (Some(AwayReason::UnansweredRings), Some(at(40))));
        assert_eq!(
            twice.after(Change::NotAnswered { away_after: UNANSWERED_BEFORE_AWAY }, at(80)),
            twice,
            "already away: nothing more to count"
        );
    }

    #[test]
    fn an_answer_between_two_unanswered_rings_starts_the_count_again() {
        let once = OperatorState::new(true).after(Change::NotAnswered { away_after: UNANSWERED_BEFORE_AWAY }, at(0));
        let answered = once.after(Change::Answered { transfer: 1 }, at(10));
        let ended = answered.after(Change::CallEnded { transfer: 1, wrap_up: WRAP_UP }, at(20));
        let again = ended.after(Change::NotAnswered { away_after: UNANSWERED_BEFORE_AWAY }, at(100));
        assert_eq!((again.at(at(100)), again.unanswered_rings), (State::Available, 1));
        assert_eq!(again.activity, Activity::Free, "the finished wrap-up is written back as free");
    }

    #[test]
    fn a_ring_reaching_someone_on_a_call_or_in_wrap_up_is_not_counted() {
        let on_call = OperatorState::new(true).after(Change::Answered { transfer: 1 }, at(0));
        assert_eq!(on_call.after(Change::NotAnswered { away_after: UNANSWERED_BEFORE_AWAY }, at(5)), on_call);
        let wrap_up = on_call.after(Change::CallEnded { transfer: 1, wrap_up: WRAP_UP }, at(10));
        assert_eq!(wrap_up.after(Change::NotAnswered { away_after: UNANSWERED_BEFORE_AWAY }, at(15)), wrap_up);
    }

    #[test]
    fn made_available_ends_a_wrap_up_early_and_forgets_unanswered_rings() {
        let on_call = OperatorState::new(true).after(Change::Answered { transfer: 1 }, at(0));
        let wrap_up = on_call.after(Change::CallEnded { transfer: 1, wrap_up: WRAP_UP }, at(10));
        let ended_early = wrap_up.after(Change::MadeAvailable, at(12));
        assert_eq!(ended_early.at(at(12)), State::Available);
        let away = OperatorState::new(true)
            .after(Change::NotAnswered { away_after: UNANSWERED_BEFORE_AWAY }, at(0))
            .after(Change::NotAnswered { away_after: UNANSWERED_BEFORE_AWAY }, at(1));
        let back = away.after(Change::MadeAvailable, at(60));
        assert_eq!(back, OperatorState { since: Some(at(60)), ..OperatorState::new(true) });
    }

    #[test]
    fn made_away_says_who_and_keeps_the_first_reason() {
        let away = OperatorState::new(true).after(Change::MadeAway(AwayReason::Operator), at(5));
        assert_eq!(
            (away.at(at(5)), away.away_reason, away.away_since),
            (State::Away, Some(AwayReason::Operator), Some(at(5)))
        );
        assert_eq!(away.after(Change::MadeAway(AwayReason::Administrator), at(9)), away);
        assert_eq!(OperatorState::new(false).at(at(0)), State::Away, "switched off on the roster");
    }

    #[test]
    fn an_operator_away_on_a_call_is_away_and_still_wraps_up_that_call() {
        let on_call = OperatorState::new(true).after(Change::Answered { transfer: 3 }, at(0));
        let away = on_call.after(Change::MadeAway(AwayReason::Operator), at(5));
        assert_eq!(away.at(at(5)), State::Away);
        let ended = away.after(Change::CallEnded { transfer: 3, wrap_up: WRAP_UP }, at(60));
        assert_eq!((ended.at(at(60)), ended.activity), (State::Away, Activity::WrapUp { until: at(90) }));
    }

    #[test]
    fn free_since_counts_from_the_end_of_what_kept_them_busy() {
        assert_eq!(OperatorState::new(true).free_since(), None, "seen nothing of: free since ever");
        let on_call = OperatorState::new(true).after(Change::Answered { transfer: 1 }, at(0));
        assert_eq!(on_call.free_since(), Some(at(0) + LONGEST_CALL), "a call whose end never came");
        let wrap_up = on_call.after(Change::CallEnded { transfer: 1, wrap_up: WRAP_UP }, at(10));
        assert_eq!(wrap_up.free_since(), Some(at(40)));
        let free = on_call.after(Change::CallEnded { transfer: 1, wrap_up: TimeDelta::zero() }, at(10));
        assert_eq!(free.free_since(), Some(at(10)));
    }

    #[test]
    fn every_reason_reads_back() {
        for reason in [AwayReason::Operator, AwayReason::Administrator, AwayReason::UnansweredRings] {
            assert_eq!(AwayReason::parse(reason.as_str()), Some(reason));
        }
        assert_eq!(AwayReason::parse("holiday"), None);
    }

    #[test]
    fn away_after_is_the_count_of_rings_and_zero_is_never() {
        let not_answered = |away_after| Change::NotAnswered { away_after };
        let mut state = OperatorState::new(true);
        for ring in 0..5 {
            state = state.after(not_answered(0), at(ring * 40));
        }
        assert_eq!(state.at(at(200)), State::Available, "0: never away");
        let twice = OperatorState::new(true).after(not_answered(3), at(0)).after(not_answered(3), at(40));
        assert_eq!(twice.at(at(41)), State::Available);
        assert_eq!(twice.after(not_answered(3), at(80)).at(at(81)), State::Away);
    }
}
