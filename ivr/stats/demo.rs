//! Synthetic call history for demos and benchmarks (`ivr demo-data`).
//!
//! Calls are made by walking the real flow with [`step`](crate::flow::step) and a
//! pretend caller who picks languages, topics, the emergency and operator keys, silences
//! and hang-ups at plausible rates, so paths, topics and node names are the flow's own.
//! A pool of such walks is spread over the days with more calls in the evening and on
//! weekdays. Every row is marked `synthetic`, and reports say so.

use chrono::{DateTime, Datelike, NaiveDate, TimeDelta, Utc, Weekday};
use rand::rngs::StdRng;
use rand::seq::IndexedRandom;
use rand::{RngExt, SeedableRng};

use super::call::CallRow;
use super::record::{CallEvent, Record, UNTIMED};
use super::totals::DailyTotals;
use crate::call_edge::CallEnd;
use crate::flow::{CallId, DialOutcome, Digit, Flow, Input, Instruction, Step, step};
use crate::operators::Route;

/// Distinct walks of the flow; calls are drawn from them.
const WALKS: usize = 4000;
/// A walk ends by hang-up, transfer or this many steps.
const MAX_STEPS: usize = 40;
/// Relative call volume by UTC hour (Kazakhstan is UTC+5: the evening peak is 13-17 UTC).
const HOURLY: [u32; 24] = [3, 2, 2, 3, 4, 6, 7, 8, 8, 8, 9, 10, 11, 12, 13, 13, 12, 10, 8, 6, 5, 4, 4, 3];

/// What to generate.
#[derive(Clone, Copy, Debug)]
pub struct DemoPlan {
    /// How many calls.
    pub calls: usize,
    /// Over how many days, ending on `last_day`.
    pub days: u32,
    /// The last day of the history (yesterday, usually).
    pub last_day: NaiveDate,
    /// The random seed: the same plan makes the same calls.
    pub seed: u64,
}

/// The synthetic calls and the totals they add up to.
pub fn generate(flow: &Flow, plan: &DemoPlan) -> (Vec<CallRow>, DailyTotals) {
    let mut rng = StdRng::seed_from_u64(plan.seed);
    let walks: Vec<CallRow> = (0..WALKS).map(|_| walk(flow, &mut rng)).collect();
    let days: Vec<NaiveDate> = (0..plan.days).map(|back| plan.last_day - TimeDelta::days(i64::from(back))).collect();
    if days.is_empty() {
        return (Vec::new(), DailyTotals::default());
    }
    let mut calls = Vec::with_capacity(plan.calls);
    let mut totals = DailyTotals::default();
    for _ in 0..plan.calls {
        #[allow(clippy::expect_used, reason = "WALKS walks were made above")]
        let mut call = walks.choose(&mut rng).expect("walks").clone();
        let started = start_time(&days, &mut rng);
        call.call_id = rng.random();
        call.day = started.date_naive();
        call.started_at = Some(started);
        call.synthetic = true;
        call.repeat_caller = rng.random_bool(0.12);
        totals.add_call(&call, 1);
        calls.push(call);
    }
    // In key order, each insert appends to the primary-key B-tree instead of landing on a
    // random page of it: the load runs several times faster.
    calls.sort_unstable_by_key(|c| c.call_id);
    (calls, totals)
}

/// A minute on one of `days`, weekdays and evenings weighted up.
#[allow(clippy::expect_used, reason = "`generate` passes at least one day; the hour is below 24, the minute below 60")]
fn start_time(days: &[NaiveDate], rng: &mut StdRng) -> DateTime<Utc> {
    let day = loop {
        let day = *days.choose(rng).expect("at least one day");
        let weekend = matches!(day.weekday(), Weekday::Sat | Weekday::Sun);
        if !weekend || rng.random_bool(0.7) {
            break day;
        }
    };
    let time = day.and_hms_opt(weighted_hour(rng), rng.random_range(0..60), 0).expect("a valid time");
    time.and_utc()
}

fn weighted_hour(rng: &mut StdRng) -> u32 {
    let mut pick = rng.random_range(0..HOURLY.iter().sum::<u32>());
    for (hour, weight) in (0..).zip(HOURLY) {
        if pick < weight {
            return hour;
        }
        pick -= weight;
    }
    12
}

/// One pretend caller's walk through the flow, folded into a row. Transfers to operators
/// carry what the webhooks record for real ones: how many were rung, by which rule, and for
/// an answered one the minutes talked, from which the time to answer is derived.
fn walk(flow: &Flow, rng: &mut StdRng) -> CallRow {
    let clock = Utc::now();
    let mut records = Vec::new();
    let mut elapsed = 0;
    let mut current = flow.begin(CallId(0));
    records.push(Record::of_step(flow, &current, clock, Some(0), UNTIMED));
    for _ in 0..MAX_STEPS {
        let Some(input) = caller_input(flow, &current, rng) else { break };
        let ringing = matches!(current.say, Instruction::OperatorTransfer { .. });
        let talked = (ringing && input == Input::Dial(DialOutcome::Completed)).then(|| rng.random_range(60..900));
        elapsed += rng.random_range(4..40) + talked.unwrap_or(0);
        current = step(flow, current.next, input);
        let mut record = Record::of_step(flow, &current, clock, Some(elapsed), UNTIMED);
        record.events.extend(talked.map(|seconds| CallEvent::Talked { seconds }));
        if matches!(current.say, Instruction::OperatorTransfer { .. }) {
            let route = if rng.random_bool(0.9) { Route::Language } else { Route::AnyLanguage };
            record.events.push(CallEvent::Rung { operators: rng.random_range(1..=4), route });
        }
        records.push(record);
        if matches!(current.say, Instruction::Hangup { .. }) {
            break;
        }
    }
    if rng.random_bool(0.95) {
        let end = if rng.random_bool(0.97) { CallEnd::Completed } else { CallEnd::Canceled };
        records.push(Record::ended(CallId(0), end, clock, Some(elapsed + rng.random_range(0..20))));
    }
    CallRow::fold(0, &records.iter().collect::<Vec<_>>())
}

/// What the pretend caller does next; `None` is hanging up.
fn caller_input(flow: &Flow, current: &Step<'_>, rng: &mut StdRng) -> Option<Input> {
    match current.say {
        Instruction::EmergencyTransfer { .. } => Some(Input::Dial(dial(rng, 0.9))),
        Instruction::OperatorTransfer { .. } => Some(Input::Dial(dial(rng, 0.7))),
        Instruction::Hangup { .. } => None,
        Instruction::Gather { .. } => {
            let roll: f64 = rng.random();
            let key = |k: Digit| Some(Input::Key(k));
            match roll {
                r if r < 0.10 => None,
                r if r < 0.13 => key(flow.emergency_key),
                r if r < 0.19 => key(flow.operator_key),
                r if r < 0.24 => Some(Input::NoInput),
                r if r < 0.26 => Some(Input::UnknownKey),
                _ => {
                    let options = flow.node(current.next.node).options();
                    let keys: Vec<Digit> = options.map(|o| o.keys().copied().collect()).unwrap_or_default();
                    keys.choose(rng).map(|k| Input::Key(*k)).or(Some(Input::NoInput))
                }
            }
        }
    }
}

#[allow(clippy::expect_used, reason = "choosing from a literal list of three")]
fn dial(rng: &mut StdRng, answered: f64) -> DialOutcome {
    if rng.random_bool(answered) {
        DialOutcome::Completed
    } else {
        *[DialOutcome::NoAnswer, DialOutcome::Busy, DialOutcome::Failed].choose(rng).expect("outcomes")
    }
}
