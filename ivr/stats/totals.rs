//! Daily aggregates: what each call adds to the `daily_totals` table, by (day, metric, key).
//!
//! Every summary (the dashboard, `ivr report`, the summary and `daily.csv` reports) reads
//! these and never the raw rows, so a summary over years costs a few thousand rows, and the
//! aggregates outlive the raw rows that retention deletes (only `calls.csv` reads raw rows,
//! so it reaches back `IVR_RETENTION_DAYS` at most). They are kept exact as records arrive:
//! when a write changes a call's row, the call's old contribution is taken away and its new
//! one added, in the same transaction.

use std::collections::BTreeMap;

use chrono::{NaiveDate, Timelike};

use super::call::CallRow;

/// Metric names, as stored in `daily_totals.metric`.
pub mod metric {
    /// Empty key: calls.
    pub const CALLS: &str = "calls";
    /// Empty key: calls made by `ivr demo-data`.
    pub const SYNTHETIC: &str = "synthetic";
    /// Key `kk`, `ru` or `none`: calls by language.
    pub const LANGUAGE: &str = "language";
    /// Key an outcome: calls by how they ended up.
    pub const OUTCOME: &str = "outcome";
    /// Key a topic: calls that heard it.
    pub const TOPIC: &str = "topic";
    /// Empty key: calls transferred to the police at least once.
    pub const EMERGENCY_CALLS: &str = "emergency_calls";
    /// Empty key: calls that rang operators at least once.
    pub const OPERATOR_CALLS: &str = "operator_calls";
    /// Empty key: calls an operator picked up.
    pub const OPERATOR_ANSWERED: &str = "operator_answered";
    /// Keys `sum` and `calls`: an average survives being summed over days.
    pub const IVR_SECONDS: &str = "ivr_seconds";
    /// Keys `sum` and `calls`: seconds until the first transfer.
    pub const TRANSFER_SECONDS: &str = "transfer_seconds";
    /// Empty key: wrong keys (events).
    pub const INVALID_KEYS: &str = "invalid_keys";
    /// Empty key: menus that heard nothing (events).
    pub const TIMEOUTS: &str = "timeouts";
    /// Key `police:busy`, `operator:completed`…: transfer results (events).
    pub const DIAL: &str = "dial";
    /// Key a final call status: calls by how the provider says they ended.
    pub const ENDED: &str = "ended";
    /// Key a node: calls whose last node it was.
    pub const EXIT_NODE: &str = "exit_node";
    /// Key `00`-`23`: the UTC hour the call started.
    pub const HOUR: &str = "hour";
    /// Empty key: calls from a number that called in the 24 hours before.
    pub const REPEAT_CALLERS: &str = "repeat_callers";
    /// Keys `sum` and `calls`: seconds until an operator picked up.
    pub const ANSWER_SECONDS: &str = "answer_seconds";
    /// Key: the rule that chose who to ring (`language`, `any_language`,
    /// `language_not_chosen`, `switchboard`, `nobody`); value: operator transfers.
    pub const OPERATOR_ROUTE: &str = "operator_route";
    /// Key `sum`: parties rung over all operator transfers (with `operator_route`'s count,
    /// an average per transfer).
    pub const OPERATORS_RUNG: &str = "operators_rung";
    /// Key a language (`kk`, `ru`, `none`): calls that waited in the operators' queue.
    pub const QUEUE_CALLS: &str = "queue_calls";
    /// Key `language:outcome` (`kk:answered`…): waits by how they ended.
    pub const QUEUE_OUTCOME: &str = "queue_outcome";
    /// Key a language: calls rung by an overflow route after waiting, answered or not.
    pub const QUEUE_OVERFLOWED: &str = "queue_overflowed";
    /// Keys `language:sum` and `language:calls`: the average wait in seconds.
    pub const QUEUE_SECONDS: &str = "queue_seconds";
    /// Key `language:seconds`: calls that waited exactly that long, so that the longest
    /// wait of any range is its highest key (a maximum cannot be kept by adding).
    pub const QUEUE_WAIT: &str = "queue_wait";
    /// Key `language:position`: calls that joined the queue at that position.
    pub const QUEUE_POSITION: &str = "queue_position";
}

/// The key for a call that never chose a language.
pub const NO_LANGUAGE: &str = "none";

/// Sums by (day, metric, key), sorted: PostgreSQL writers touch rows in one order and so
/// cannot deadlock one another. Nested so that adding to an existing sum allocates nothing
/// (demo data adds tens of millions).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct DailyTotals(BTreeMap<NaiveDate, BTreeMap<String, BTreeMap<String, i64>>>);

impl DailyTotals {
    /// Adds `value` to `day`'s (`metric`, `key`).
    pub fn add(&mut self, day: NaiveDate, metric: &str, key: &str, value: i64) {
        if value == 0 {
            return;
        }
        let metrics = self.0.entry(day).or_default();
        let keys = match metrics.get_mut(metric) {
            Some(keys) => keys,
            None => metrics.entry(metric.to_owned()).or_default(),
        };
        match keys.get_mut(key) {
            Some(sum) => *sum += value,
            None => drop(keys.insert(key.to_owned(), value)),
        }
    }

    /// Adds (`sign` 1) or takes away (`sign` -1) what `call` contributes.
    pub fn add_call(&mut self, call: &CallRow, sign: i64) {
        if call.started_at.is_none() {
            return; // not counted until its first record arrives
        }
        for (metric, key, value) in contributions(call) {
            self.add(call.day, metric, key, sign * value);
        }
        for (metric, key, value) in queue_contributions(call) {
            self.add(call.day, metric, &key, sign * value);
        }
    }

    /// The non-zero sums, sorted by (day, metric, key).
    pub fn rows(&self) -> impl Iterator<Item = (NaiveDate, &str, &str, i64)> {
        self.0.iter().flat_map(|(day, metrics)| {
            metrics.iter().flat_map(move |(metric, keys)| {
                keys.iter().filter(|(_, v)| **v != 0).map(move |(key, v)| (*day, metric.as_str(), key.as_str(), *v))
            })
        })
    }

    /// Whether nothing was added.
    pub fn is_empty(&self) -> bool {
        self.rows().next().is_none()
    }
}

const HOURS: [&str; 24] = [
    "00", "01", "02", "03", "04", "05", "06", "07", "08", "09", "10", "11", "12", "13", "14", "15", "16", "17", "18",
    "19", "20", "21", "22", "23",
];

/// What one started call adds to its day.
fn contributions(call: &CallRow) -> Vec<(&'static str, &str, i64)> {
    use metric::*;
    let flag = |b: bool| i64::from(b);
    let mut out = vec![
        (CALLS, "", 1),
        (SYNTHETIC, "", flag(call.synthetic)),
        (LANGUAGE, call.language.as_deref().unwrap_or(NO_LANGUAGE), 1),
        (OUTCOME, call.outcome.as_str(), 1),
        (EMERGENCY_CALLS, "", flag(call.emergency_transfers > 0)),
        (OPERATOR_CALLS, "", flag(call.operator_transfers > 0)),
        (OPERATOR_ANSWERED, "", flag(call.operator_answered)),
        (INVALID_KEYS, "", i64::from(call.invalid_keys)),
        (TIMEOUTS, "", i64::from(call.timeouts)),
        (REPEAT_CALLERS, "", flag(call.repeat_caller)),
    ];
    let timed = [
        (IVR_SECONDS, call.ivr_seconds),
        (TRANSFER_SECONDS, call.seconds_to_transfer),
        (ANSWER_SECONDS, call.seconds_to_answer),
    ];
    for (name, seconds) in timed {
        if let Some(seconds) = seconds {
            out.extend([(name, "sum", i64::from(seconds)), (name, "calls", 1)]);
        }
    }
    out.extend(call.topic_list().map(|t| (TOPIC, t, 1)));
    out.extend(call.dial_results.split(' ').filter(|d| !d.is_empty()).map(|d| (DIAL, d, 1)));
    for (route, rung) in call.operators_rung.split(' ').filter_map(|r| r.split_once(':')) {
        out.extend([(OPERATOR_ROUTE, route, 1), (OPERATORS_RUNG, "sum", rung.parse().unwrap_or(0))]);
    }
    out.extend(call.ended.as_deref().map(|e| (ENDED, e, 1)));
    out.extend(call.exit_node.as_deref().map(|n| (EXIT_NODE, n, 1)));
    out.extend(call.started_at.map(|t| (HOUR, HOURS[t.hour() as usize], 1)));
    out
}

/// What a call that waited in the operators' queue adds, keyed by its language first
/// (apart from [`contributions`]: only these keys are made for the call).
fn queue_contributions(call: &CallRow) -> Vec<(&'static str, String, i64)> {
    use metric::*;
    let language = call.language.as_deref().unwrap_or(NO_LANGUAGE);
    let (Some(position), Some(outcome)) = (call.queue_position, call.queue_outcome.as_deref()) else {
        return Vec::new();
    };
    let mut out = vec![
        (QUEUE_CALLS, language.to_owned(), 1),
        (QUEUE_OUTCOME, format!("{language}:{outcome}"), 1),
        (QUEUE_OVERFLOWED, language.to_owned(), i64::from(call.queue_overflowed)),
        (QUEUE_POSITION, format!("{language}:{position}"), 1),
    ];
    if let Some(seconds) = call.queue_seconds {
        out.extend([
            (QUEUE_SECONDS, format!("{language}:sum"), i64::from(seconds)),
            (QUEUE_SECONDS, format!("{language}:calls"), 1),
            (QUEUE_WAIT, format!("{language}:{seconds}"), 1),
        ]);
    }
    out
}
