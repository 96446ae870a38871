//! The summary over a date range: what `ivr report` prints, what the dashboard shows and
//! what `/api/v1/reports/summary` returns, built from the range's totals as the database
//! summed them ([`RangeTotals`]), never from the daily rows.

use std::collections::BTreeMap;
use std::future::Future;

use chrono::NaiveDate;
use serde::Serialize;

use super::queue_report::{QueueLine, answered_by_operator, queue_lines};
use super::{DateRange, DayRow, NO_LANGUAGE, Outcome, RangeTotals, Store, StoreError, TotalRow, metric};

/// What happened on the line over a range of days. Counts are calls unless said otherwise;
/// an average is `None` (JSON `null`, a dash on the page and in `ivr report`) when there
/// is nothing to average.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Summary {
    /// The first day covered (UTC).
    pub from: NaiveDate,
    /// The last day covered (UTC), included.
    pub to: NaiveDate,
    /// Calls that started in the range.
    pub calls: i64,
    /// Calls made by `ivr demo-data`: not real. Reports say so whenever this is not 0.
    pub synthetic_calls: i64,
    /// `kk`, `ru`, and `none` for calls that ended before choosing.
    pub languages: BTreeMap<String, i64>,
    /// Every outcome, zero or not: `self_service`, `operator`, `emergency`, `abandoned`,
    /// `failed_transfer`.
    pub outcomes: BTreeMap<String, i64>,
    /// Calls that heard each guidance topic.
    pub topics: BTreeMap<String, i64>,
    /// Calls transferred to the police at least once (the emergency key).
    pub emergency_transfers: i64,
    /// Calls that rang operators at least once.
    pub operator_transfers: i64,
    /// Of those, calls an operator picked up.
    pub operator_answered: i64,
    /// Calls that hung up before hearing any guidance part to its end or reaching a
    /// transfer (`Outcome::Abandoned`).
    pub abandoned: i64,
    /// Average seconds a call spent in the menu.
    pub avg_ivr_seconds: Option<f64>,
    /// Average seconds from the call's start to a transfer, over transferred calls.
    pub avg_seconds_to_transfer: Option<f64>,
    /// From the start of an operator transfer to an operator picking up, over answered transfers.
    pub avg_seconds_to_answer: Option<f64>,
    /// Wrong keys pressed (events, not calls).
    pub invalid_keys: i64,
    /// Menus the caller let time out (events, not calls).
    pub timeouts: i64,
    /// Calls from a number that called in the 24 hours before (only a salted hash is compared).
    pub repeat_callers: i64,
    /// Transfer results (events), such as `police:busy` or `operator:completed`.
    pub dial_results: BTreeMap<String, i64>,
    /// How calls ended, by the provider's final status, for calls whose status callback arrived.
    pub ended: BTreeMap<String, i64>,
    /// The node each call was on last: where callers hang up.
    pub exit_nodes: BTreeMap<String, i64>,
    /// Calls by weekday (Monday first) and UTC hour of start.
    pub weekday_hours: Vec<[i64; 24]>,
    /// The operators' queue per caller language: `kk` and `ru`, and `none` when a caller
    /// who chose no language waited.
    pub queue: BTreeMap<String, QueueLine>,
    /// Calls each operator answered, by name (never which calls).
    pub answered_by_operator: BTreeMap<String, i64>,
    /// One row per day of the range, days without calls included.
    pub days: Vec<DayRow>,
}

/// The summary of a range, read from any store.
pub trait Summarize: Store {
    /// The summary of `range`, summed by the database.
    fn summary(&self, range: DateRange) -> impl Future<Output = Result<Summary, StoreError>> + Send {
        async move { Ok(Summary::new(range, self.range_totals(range).await?)) }
    }
}

impl<S: Store> Summarize for S {}

impl Summary {
    /// The summary of `range` from its totals.
    pub fn new(range: DateRange, totals: RangeTotals) -> Summary {
        let sums: BTreeMap<(&str, &str), i64> =
            totals.sums.iter().map(|s| ((s.metric.as_str(), s.key.as_str()), s.value)).collect();
        let one = |m: &str| sums.get(&(m, "")).copied().unwrap_or(0);
        let keyed = |m: &str| -> BTreeMap<String, i64> {
            // A key whose calls all moved elsewhere keeps a row of 0: not worth showing.
            sums.iter()
                .filter(|((metric, _), value)| *metric == m && **value != 0)
                .map(|((_, k), v)| ((*k).to_owned(), *v))
                .collect()
        };
        let average = |m: &str| {
            let calls = sums.get(&(m, "calls")).copied().unwrap_or(0);
            let sum = sums.get(&(m, "sum")).copied().unwrap_or(0);
            (calls > 0).then(|| (sum as f64 / calls as f64 * 10.0).round() / 10.0)
        };
        let mut languages = keyed(metric::LANGUAGE);
        for code in ["kk", "ru", NO_LANGUAGE] {
            languages.entry(code.to_owned()).or_insert(0);
        }
        let mut outcomes = keyed(metric::OUTCOME);
        for outcome in Outcome::ALL {
            outcomes.entry(outcome.as_str().to_owned()).or_insert(0);
        }
        let mut weekday_hours = vec![[0i64; 24]; 7];
        for cell in &totals.hours {
            let hour = cell.hour.parse::<usize>().unwrap_or(0).min(23);
            if let Some(row) = usize::try_from(cell.weekday).ok().and_then(|d| weekday_hours.get_mut(d)) {
                row[hour] += cell.value;
            }
        }
        let mut stored: BTreeMap<NaiveDate, DayRow> = totals.days.into_iter().map(|d| (d.day, d)).collect();
        let days = range.days().map(|day| stored.remove(&day).unwrap_or(DayRow { day, ..DayRow::default() })).collect();
        Summary {
            from: range.from,
            to: range.to,
            calls: one(metric::CALLS),
            synthetic_calls: one(metric::SYNTHETIC),
            abandoned: outcomes.get(Outcome::Abandoned.as_str()).copied().unwrap_or(0),
            languages,
            outcomes,
            topics: keyed(metric::TOPIC),
            emergency_transfers: one(metric::EMERGENCY_CALLS),
            operator_transfers: one(metric::OPERATOR_CALLS),
            operator_answered: one(metric::OPERATOR_ANSWERED),
            avg_ivr_seconds: average(metric::IVR_SECONDS),
            avg_seconds_to_transfer: average(metric::TRANSFER_SECONDS),
            avg_seconds_to_answer: average(metric::ANSWER_SECONDS),
            invalid_keys: one(metric::INVALID_KEYS),
            timeouts: one(metric::TIMEOUTS),
            repeat_callers: one(metric::REPEAT_CALLERS),
            dial_results: keyed(metric::DIAL),
            ended: keyed(metric::ENDED),
            exit_nodes: keyed(metric::EXIT_NODE),
            weekday_hours,
            queue: queue_lines(&totals.sums),
            answered_by_operator: answered_by_operator(&totals.operators),
            days,
        }
    }

    /// The summary of daily rows summed in memory (tests and tools that fold records
    /// themselves).
    pub fn from_rows(range: DateRange, rows: &[TotalRow]) -> Summary {
        Summary::new(range, RangeTotals::from_rows(range, rows))
    }
}
