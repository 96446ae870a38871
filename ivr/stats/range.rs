//! What the daily totals add up to over a range of days, summed by the database: the
//! totals by (metric, key), the headline counts of each day, and calls by weekday and
//! hour. The [`Summary`](super::Summary) is built from this and never from the daily rows,
//! so a year's summary reads a few hundred sums instead of every row of the year.
//!
//! The SQL is written once for both databases where they agree (`SUMS`, `DAYS`); only the
//! weekday of a date is spelled differently (each store's `HOURS`). [`RangeTotals::from_rows`]
//! is the same sum done in memory, which the store suite checks the databases against.

use std::collections::BTreeMap;

use chrono::{Datelike, NaiveDate};
use serde::Serialize;

use super::totals::metric;

/// An inclusive range of UTC days.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub struct DateRange {
    /// The first day.
    pub from: NaiveDate,
    /// The last day, included.
    pub to: NaiveDate,
}

/// Why a range of days was refused.
#[derive(Debug, PartialEq, Eq, thiserror::Error)]
pub enum RangeError {
    /// Not a `YYYY-MM-DD` date.
    #[error("`{0}` is not a date (YYYY-MM-DD)")]
    NotADate(String),
    /// The first day is after the last.
    #[error("the range is reversed: {from} is after {to}")]
    Reversed {
        /// The first day asked for.
        from: NaiveDate,
        /// The last day asked for.
        to: NaiveDate,
    },
}

impl DateRange {
    /// The days from `from` to `to`, unless reversed.
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

    /// Each day of the range, in order.
    pub fn days(self) -> impl Iterator<Item = NaiveDate> {
        self.from.iter_days().take_while(move |d| *d <= self.to)
    }

    fn contains(self, day: NaiveDate) -> bool {
        self.from <= day && day <= self.to
    }
}

/// One row of `daily_totals`.
#[derive(Clone, Debug, PartialEq, Eq, sqlx::FromRow)]
pub struct TotalRow {
    /// The day.
    pub day: NaiveDate,
    /// What is counted (see [`metric`]).
    pub metric: String,
    /// Which value of it: a language, an outcome, a topic…
    pub key: String,
    /// The count.
    pub value: i64,
}

/// A (metric, key) total over a range.
#[derive(Clone, Debug, PartialEq, Eq, sqlx::FromRow)]
pub struct MetricSum {
    /// What is counted.
    pub metric: String,
    /// Which value of it.
    pub key: String,
    /// The sum over the range.
    pub value: i64,
}

/// One day's headline counts (calls unless said otherwise).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, sqlx::FromRow)]
pub struct DayRow {
    /// The day.
    pub day: NaiveDate,
    /// Calls that started that day.
    pub calls: i64,
    /// Calls made by `ivr demo-data`: not real.
    pub synthetic_calls: i64,
    /// Calls in Kazakh.
    pub kk: i64,
    /// Calls in Russian.
    pub ru: i64,
    /// Calls that heard guidance and went no further.
    pub self_service: i64,
    /// Calls put through to an operator.
    pub operator: i64,
    /// Calls transferred to the police.
    pub emergency: i64,
    /// Calls that hung up in the menus.
    pub abandoned: i64,
    /// Calls whose every operator transfer went unanswered.
    pub failed_transfer: i64,
    /// Calls transferred to the police at least once (`emergency_calls`).
    pub emergency_transfers: i64,
    /// Calls that rang operators at least once (`operator_calls`).
    pub operator_transfers: i64,
    /// Calls that waited in the operators' queue, every language (`queue_calls`).
    pub queued: i64,
    /// Of those, answered by an operator after waiting.
    pub queue_answered: i64,
    /// Of those, rung by an overflow route and not answered.
    pub queue_overflowed: i64,
    /// Of those, gave up their place for the main menu or the police while waiting.
    pub queue_left: i64,
    /// Of those, hung up while waiting or during their ring, never answered.
    pub queue_abandoned: i64,
    /// Seconds waited, summed over the waits that were timed (`queue_timed`).
    pub queue_seconds: i64,
    /// Waits timed: what `queue_seconds` averages over.
    pub queue_timed: i64,
}

/// Calls that started on a weekday (0 is Monday) at a UTC hour (`00`-`23`), summed.
#[derive(Clone, Debug, PartialEq, Eq, sqlx::FromRow)]
pub struct HourSum {
    /// 0 is Monday.
    pub weekday: i32,
    /// `00` to `23`, UTC.
    pub hour: String,
    /// Calls.
    pub value: i64,
}

/// The daily totals of a range, summed.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct RangeTotals {
    /// Every (metric, key) over the range, sorted.
    pub sums: Vec<MetricSum>,
    /// The days that have totals, oldest first.
    pub days: Vec<DayRow>,
    /// Calls by weekday and hour of start.
    pub hours: Vec<HourSum>,
    /// Calls each operator answered over the range (`operator_answers`), by id.
    pub operators: Vec<OperatorAnswered>,
}

/// How many calls one operator answered over a range. Never which calls.
#[derive(Clone, Debug, PartialEq, Eq, sqlx::FromRow)]
pub struct OperatorAnswered {
    /// The roster entry's id.
    pub operator_id: i64,
    /// Their name on the roster; `None` once they were removed from it.
    pub name: Option<String>,
    /// Calls answered.
    pub answered: i64,
}

/// Calls answered per operator: both databases alike. The `operator_answers` table is kept
/// by the operators' state writer, not from the call records (see `operators/store`).
pub(super) const OPERATORS: &str = "SELECT a.operator_id, o.name, CAST(SUM(a.answered) AS BIGINT) AS answered \
     FROM operator_answers a LEFT JOIN operators o ON o.id = a.operator_id \
     WHERE a.day >= $1 AND a.day <= $2 GROUP BY a.operator_id, o.name ORDER BY a.operator_id";

/// The totals by (metric, key): both databases alike.
pub(super) const SUMS: &str = "SELECT metric, key, CAST(SUM(value) AS BIGINT) AS value FROM daily_totals \
     WHERE day >= $1 AND day <= $2 GROUP BY metric, key ORDER BY metric, key";

/// The headline counts per day: both databases alike.
pub(super) const DAYS: &str = "SELECT day, \
     CAST(SUM(CASE WHEN metric = 'calls' THEN value ELSE 0 END) AS BIGINT) AS calls, \
     CAST(SUM(CASE WHEN metric = 'synthetic' THEN value ELSE 0 END) AS BIGINT) AS synthetic_calls, \
     CAST(SUM(CASE WHEN metric = 'language' AND key = 'kk' THEN value ELSE 0 END) AS BIGINT) AS kk, \
     CAST(SUM(CASE WHEN metric = 'language' AND key = 'ru' THEN value ELSE 0 END) AS BIGINT) AS ru, \
     CAST(SUM(CASE WHEN metric = 'outcome' AND key = 'self_service' THEN value ELSE 0 END) AS BIGINT) AS self_service, \
     CAST(SUM(CASE WHEN metric = 'outcome' AND key = 'operator' THEN value ELSE 0 END) AS BIGINT) AS operator, \
     CAST(SUM(CASE WHEN metric = 'outcome' AND key = 'emergency' THEN value ELSE 0 END) AS BIGINT) AS emergency, \
     CAST(SUM(CASE WHEN metric = 'outcome' AND key = 'abandoned' THEN value ELSE 0 END) AS BIGINT) AS abandoned, \
     CAST(SUM(CASE WHEN metric = 'outcome' AND key = 'failed_transfer' THEN value ELSE 0 END) AS BIGINT) \
         AS failed_transfer, \
     CAST(SUM(CASE WHEN metric = 'emergency_calls' THEN value ELSE 0 END) AS BIGINT) AS emergency_transfers, \
     CAST(SUM(CASE WHEN metric = 'operator_calls' THEN value ELSE 0 END) AS BIGINT) AS operator_transfers, \
     CAST(SUM(CASE WHEN metric = 'queue_calls' THEN value ELSE 0 END) AS BIGINT) AS queued, \
     CAST(SUM(CASE WHEN metric = 'queue_outcome' AND key LIKE '%:answered' THEN value ELSE 0 END) AS BIGINT) \
         AS queue_answered, \
     CAST(SUM(CASE WHEN metric = 'queue_outcome' AND key LIKE '%:overflowed' THEN value ELSE 0 END) AS BIGINT) \
         AS queue_overflowed, \
     CAST(SUM(CASE WHEN metric = 'queue_outcome' AND key LIKE '%:left' THEN value ELSE 0 END) AS BIGINT) \
         AS queue_left, \
     CAST(SUM(CASE WHEN metric = 'queue_outcome' AND key LIKE '%:abandoned' THEN value ELSE 0 END) AS BIGINT) \
         AS queue_abandoned, \
     CAST(SUM(CASE WHEN metric = 'queue_seconds' AND key LIKE '%:sum' THEN value ELSE 0 END) AS BIGINT) \
         AS queue_seconds, \
     CAST(SUM(CASE WHEN metric = 'queue_seconds' AND key LIKE '%:calls' THEN value ELSE 0 END) AS BIGINT) \
         AS queue_timed \
     FROM daily_totals WHERE day >= $1 AND day <= $2 \
     AND metric IN ('calls', 'synthetic', 'language', 'outcome', 'emergency_calls', 'operator_calls', \
     'queue_calls', 'queue_outcome', 'queue_seconds') \
     GROUP BY day ORDER BY day";

impl RangeTotals {
    /// The same sums as the databases make, done in memory over daily rows (rows outside
    /// `range` are ignored); per-operator counts are not among daily rows, so none.
    pub fn from_rows(range: DateRange, rows: &[TotalRow]) -> RangeTotals {
        let mut sums: BTreeMap<(&str, &str), i64> = BTreeMap::new();
        let mut days: BTreeMap<NaiveDate, DayRow> = BTreeMap::new();
        let mut hours: BTreeMap<(i32, &str), i64> = BTreeMap::new();
        for row in rows.iter().filter(|r| range.contains(r.day)) {
            *sums.entry((&row.metric, &row.key)).or_insert(0) += row.value;
            if let Some(slot) = DayRow::slot(row) {
                let day = days.entry(row.day).or_insert_with(|| DayRow { day: row.day, ..DayRow::default() });
                *slot(day) += row.value;
            }
            if row.metric == metric::HOUR {
                let weekday = i32::try_from(row.day.weekday().num_days_from_monday()).unwrap_or(0);
                *hours.entry((weekday, &row.key)).or_insert(0) += row.value;
            }
        }
        RangeTotals {
            sums: sums
                .into_iter()
                .map(|((metric, key), value)| MetricSum { metric: metric.to_owned(), key: key.to_owned(), value })
                .collect(),
            days: days.into_values().collect(),
            hours: hours
                .into_iter()
                .map(|((weekday, hour), value)| HourSum { weekday, hour: hour.to_owned(), value })
                .collect(),
            operators: Vec::new(),
        }
    }
}

impl DayRow {
    /// Where a daily row counts in a [`DayRow`], if it does (as `DAYS` picks it).
    fn slot(row: &TotalRow) -> Option<fn(&mut DayRow) -> &mut i64> {
        Some(match (row.metric.as_str(), row.key.as_str()) {
            (metric::CALLS, _) => |d| &mut d.calls,
            (metric::SYNTHETIC, _) => |d| &mut d.synthetic_calls,
            (metric::LANGUAGE, "kk") => |d| &mut d.kk,
            (metric::LANGUAGE, "ru") => |d| &mut d.ru,
            (metric::OUTCOME, "self_service") => |d| &mut d.self_service,
            (metric::OUTCOME, "operator") => |d| &mut d.operator,
            (metric::OUTCOME, "emergency") => |d| &mut d.emergency,
            (metric::OUTCOME, "abandoned") => |d| &mut d.abandoned,
            (metric::OUTCOME, "failed_transfer") => |d| &mut d.failed_transfer,
            (metric::EMERGENCY_CALLS, _) => |d| &mut d.emergency_transfers,
            (metric::OPERATOR_CALLS, _) => |d| &mut d.operator_transfers,
            (metric::QUEUE_CALLS, _) => |d| &mut d.queued,
            (metric::QUEUE_OUTCOME, key) => match key.rsplit_once(':').map(|(_, outcome)| outcome) {
                Some("answered") => |d| &mut d.queue_answered,
                Some("overflowed") => |d| &mut d.queue_overflowed,
                Some("left") => |d| &mut d.queue_left,
                Some("abandoned") => |d| &mut d.queue_abandoned,
                _ => return None,
            },
            (metric::QUEUE_SECONDS, key) if key.ends_with(":sum") => |d| &mut d.queue_seconds,
            (metric::QUEUE_SECONDS, key) if key.ends_with(":calls") => |d| &mut d.queue_timed,
            _ => return None,
        })
    }
}
