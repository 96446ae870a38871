//! The summary over a date range, built from daily aggregates only. [`Summary`] is what
//! `ivr report` prints and what the admin dashboard's `/api/v1/reports/summary` returns.

use std::collections::BTreeMap;

use chrono::{Datelike, NaiveDate};
use serde::Serialize;

use super::call::Outcome;
use super::totals::{NO_LANGUAGE, metric};

/// An inclusive range of UTC days.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub struct DateRange {
    pub from: NaiveDate,
    pub to: NaiveDate,
}

#[derive(Debug, PartialEq, Eq, thiserror::Error)]
pub enum RangeError {
    #[error("`{0}` is not a date (YYYY-MM-DD)")]
    NotADate(String),
    #[error("the range is reversed: {from} is after {to}")]
    Reversed { from: NaiveDate, to: NaiveDate },
}

impl DateRange {
    pub fn new(from: NaiveDate, to: NaiveDate) -> Result<DateRange, RangeError> {
        if from > to {
            return Err(RangeError::Reversed { from, to });
        }
        Ok(DateRange { from, to })
    }

    /// Parses two `YYYY-MM-DD` dates.
    pub fn parse(from: &str, to: &str) -> Result<DateRange, RangeError> {
        let date = |text: &str| {
            NaiveDate::parse_from_str(text.trim(), "%Y-%m-%d").map_err(|_| RangeError::NotADate(text.to_owned()))
        };
        DateRange::new(date(from)?, date(to)?)
    }

    pub fn days(self) -> impl Iterator<Item = NaiveDate> {
        self.from.iter_days().take_while(move |d| *d <= self.to)
    }
}

/// One row of `daily_totals`.
#[derive(Clone, Debug, PartialEq, Eq, sqlx::FromRow)]
pub struct TotalRow {
    pub day: NaiveDate,
    pub metric: String,
    pub key: String,
    pub value: i64,
}

/// What happened on the line over a range of days. Counts are calls unless said otherwise.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Summary {
    pub from: NaiveDate,
    pub to: NaiveDate,
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
    pub emergency_transfers: i64,
    pub operator_transfers: i64,
    pub operator_answered: i64,
    pub abandoned: i64,
    pub avg_ivr_seconds: f64,
    pub avg_seconds_to_transfer: f64,
    /// From the start of an operator transfer to an operator picking up, over answered transfers.
    pub avg_seconds_to_answer: f64,
    /// Wrong keys and timeouts (events, not calls).
    pub invalid_keys: i64,
    pub timeouts: i64,
    pub repeat_callers: i64,
    /// Transfer results (events), such as `police:busy` or `operator:completed`.
    pub dial_results: BTreeMap<String, i64>,
    /// How calls ended, by the provider's final status, for calls whose status callback arrived.
    pub ended: BTreeMap<String, i64>,
    /// The node each call was on last: where callers hang up.
    pub exit_nodes: BTreeMap<String, i64>,
    /// Calls by weekday (Monday first) and UTC hour of start.
    pub weekday_hours: Vec<[i64; 24]>,
    /// One row per day of the range, days without calls included.
    pub days: Vec<DayRow>,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct DayRow {
    pub day: NaiveDate,
    pub calls: i64,
    pub kk: i64,
    pub ru: i64,
    pub self_service: i64,
    pub operator: i64,
    pub emergency: i64,
    pub abandoned: i64,
    pub failed_transfer: i64,
    pub emergency_transfers: i64,
    pub operator_transfers: i64,
}

impl Summary {
    /// Sums the aggregate rows of `range` (rows outside it are ignored).
    pub fn from_rows(range: DateRange, rows: &[TotalRow]) -> Summary {
        let mut sums: BTreeMap<(&str, &str), i64> = BTreeMap::new();
        let mut days: BTreeMap<NaiveDate, DayRow> =
            range.days().map(|day| (day, DayRow { day, ..DayRow::default() })).collect();
        let mut weekday_hours = vec![[0i64; 24]; 7];
        for row in rows.iter().filter(|r| r.day >= range.from && r.day <= range.to) {
            *sums.entry((&row.metric, &row.key)).or_insert(0) += row.value;
            if let Some(day) = days.get_mut(&row.day) {
                day.add(row);
            }
            if row.metric == metric::HOUR {
                let hour = row.key.parse::<usize>().unwrap_or(0).min(23);
                weekday_hours[row.day.weekday().num_days_from_monday() as usize][hour] += row.value;
            }
        }
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
            if calls == 0 { 0.0 } else { (sum as f64 / calls as f64 * 10.0).round() / 10.0 }
        };
        let mut languages = keyed(metric::LANGUAGE);
        for code in ["kk", "ru", NO_LANGUAGE] {
            languages.entry(code.to_owned()).or_insert(0);
        }
        let mut outcomes = keyed(metric::OUTCOME);
        for outcome in Outcome::ALL {
            outcomes.entry(outcome.as_str().to_owned()).or_insert(0);
        }
        Summary {
            from: range.from,
            to: range.to,
            calls: one(metric::CALLS),
            synthetic_calls: one(metric::SYNTHETIC),
            abandoned: outcomes[Outcome::Abandoned.as_str()],
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
            days: days.into_values().collect(),
        }
    }
}

impl DayRow {
    fn add(&mut self, row: &TotalRow) {
        let slot = match (row.metric.as_str(), row.key.as_str()) {
            (metric::CALLS, "") => &mut self.calls,
            (metric::LANGUAGE, "kk") => &mut self.kk,
            (metric::LANGUAGE, "ru") => &mut self.ru,
            (metric::OUTCOME, "self_service") => &mut self.self_service,
            (metric::OUTCOME, "operator") => &mut self.operator,
            (metric::OUTCOME, "emergency") => &mut self.emergency,
            (metric::OUTCOME, "abandoned") => &mut self.abandoned,
            (metric::OUTCOME, "failed_transfer") => &mut self.failed_transfer,
            (metric::EMERGENCY_CALLS, "") => &mut self.emergency_transfers,
            (metric::OPERATOR_CALLS, "") => &mut self.operator_transfers,
            _ => return,
        };
        *slot += row.value;
    }
}
