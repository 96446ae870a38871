//! Calls over time as columns. One column per day up to three months; longer ranges are
//! summed into weeks (a year is 53 columns, not 366 slivers) and past two years into
//! months, so every column stays wide enough to see and to point at.

use askama::Template;
use chrono::{Datelike, NaiveDate};

use super::{INK, coord, nice_ceiling};
use crate::admin::views::DayCount;
use crate::admin::views::format::{date, int};
use crate::admin::views::text::Text;

const WIDTH: f64 = 720.0;
const HEIGHT: f64 = 260.0;
const LEFT: f64 = 56.0;
const RIGHT: f64 = 12.0;
const TOP: f64 = 14.0;
const BOTTOM: f64 = 34.0;
const PLOT_WIDTH: f64 = WIDTH - LEFT - RIGHT;
const PLOT_HEIGHT: f64 = HEIGHT - TOP - BOTTOM;
/// At most this many dates under the axis; every column still has its own tooltip.
const MAX_LABELS: usize = 8;

/// How many days one column sums.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Period {
    Day,
    Week,
    Month,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Bucket {
    pub first: NaiveDate,
    pub last: NaiveDate,
    pub calls: i64,
}

#[derive(Template)]
#[template(path = "chart/columns.html", config = "ivr/admin/views/askama.toml")]
pub(crate) struct Columns {
    pub id: &'static str,
    pub title: &'static str,
    pub columns: Vec<Column>,
    pub ticks: Vec<Tick>,
    pub labels: Vec<Tick>,
    pub t: &'static Text,
    pub ink: &'static str,
}

pub(crate) struct Column {
    pub x: f64,
    pub y: f64,
    pub width: f64,
    pub height: f64,
    pub period: String,
    pub value: String,
}

/// A labelled position on an axis.
pub(crate) struct Tick {
    pub at: f64,
    pub label: String,
}

/// Chooses the period for the span of `days` and sums each period's calls, in date order.
pub(crate) fn buckets(days: &[DayCount]) -> (Period, Vec<Bucket>) {
    let mut days = days.to_vec();
    days.sort_by_key(|d| d.day);
    let (Some(first), Some(last)) = (days.first(), days.last()) else { return (Period::Day, Vec::new()) };
    let span = (last.day - first.day).num_days() + 1;
    let period = match span {
        ..=92 => Period::Day,
        93..=731 => Period::Week,
        _ => Period::Month,
    };
    let start = first.day;
    let key = |day: NaiveDate| match period {
        Period::Day => (day - start).num_days(),
        Period::Week => (day - start).num_days() / 7,
        Period::Month => i64::from(day.year()) * 12 + i64::from(day.month0()),
    };
    let mut out: Vec<(i64, Bucket)> = Vec::new();
    for d in &days {
        match out.last_mut() {
            Some((k, bucket)) if *k == key(d.day) => {
                bucket.last = d.day;
                bucket.calls += d.calls;
            }
            _ => out.push((key(d.day), Bucket { first: d.day, last: d.day, calls: d.calls })),
        }
    }
    (period, out.into_iter().map(|(_, bucket)| bucket).collect())
}

impl Columns {
    pub fn new(t: &'static Text, id: &'static str, days: &[DayCount]) -> Columns {
        let (period, buckets) = buckets(days);
        let title = match period {
            Period::Day => t.calls_per_day,
            Period::Week => t.calls_per_week,
            Period::Month => t.calls_per_month,
        };
        let max = buckets.iter().map(|b| b.calls).max().unwrap_or(0);
        if max <= 0 {
            return Columns { id, title, columns: Vec::new(), ticks: Vec::new(), labels: Vec::new(), t, ink: INK };
        }
        let top = nice_ceiling(max);
        let slot = PLOT_WIDTH / buckets.len() as f64;
        let columns = buckets.iter().enumerate().map(|(i, b)| column(b, i, slot, top, period)).collect();
        Columns { id, title, columns, ticks: ticks(top), labels: labels(&buckets, slot, period), t, ink: INK }
    }

    /// The same chart under another title (not calls: callers who waited in the queue).
    pub fn titled(self, title: &'static str) -> Columns {
        Columns { title, ..self }
    }

    pub fn view_box(&self) -> String {
        format!("0 0 {WIDTH} {HEIGHT}")
    }

    /// Where grid lines start and end, and where the value labels stand (right-aligned).
    pub fn left(&self) -> f64 {
        LEFT
    }

    pub fn right(&self) -> f64 {
        WIDTH - RIGHT
    }

    /// Where the date labels stand: just under the plot.
    pub fn label_line(&self) -> f64 {
        TOP + PLOT_HEIGHT + 20.0
    }
}

fn column(bucket: &Bucket, index: usize, slot: f64, top: i64, period: Period) -> Column {
    let width = (slot * 0.8).max(1.0);
    let height = bucket.calls.max(0) as f64 / top as f64 * PLOT_HEIGHT;
    Column {
        x: coord(LEFT + index as f64 * slot + (slot - width) / 2.0),
        y: coord(TOP + PLOT_HEIGHT - height),
        width: coord(width),
        height: coord(height),
        period: long_label(bucket, period),
        value: int(bucket.calls),
    }
}

/// 0, the middle when it is a whole number, and the top.
fn ticks(top: i64) -> Vec<Tick> {
    let values = if top % 2 == 0 { vec![0, top / 2, top] } else { vec![0, top] };
    let at = |v: i64| coord(TOP + PLOT_HEIGHT - v as f64 / top as f64 * PLOT_HEIGHT);
    values.into_iter().map(|v| Tick { at: at(v), label: int(v) }).collect()
}

fn labels(buckets: &[Bucket], slot: f64, period: Period) -> Vec<Tick> {
    let every = buckets.len().div_ceil(MAX_LABELS);
    let short = |b: &Bucket| match period {
        Period::Day | Period::Week => b.first.format("%d.%m").to_string(),
        Period::Month => b.first.format("%m.%Y").to_string(),
    };
    let at = |i: usize| coord(LEFT + (i as f64 + 0.5) * slot);
    buckets.iter().enumerate().step_by(every).map(|(i, b)| Tick { at: at(i), label: short(b) }).collect()
}

fn long_label(bucket: &Bucket, period: Period) -> String {
    match period {
        Period::Day => date(bucket.first),
        Period::Week => format!("{} – {}", date(bucket.first), date(bucket.last)),
        Period::Month => bucket.first.format("%m.%Y").to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::admin::views::Ui;

    fn days(from: NaiveDate, calls: &[i64]) -> Vec<DayCount> {
        calls.iter().zip(from.iter_days()).map(|(calls, day)| DayCount { day, calls: *calls }).collect()
    }

    fn jan(day: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(2026, 1, day).unwrap()
    }

    #[test]
    fn a_single_day_is_one_column_reaching_its_share_of_the_axis() {
        let chart = Columns::new(Ui::Kk.text(), "t", &days(jan(5), &[7]));
        assert_eq!(chart.columns.len(), 1);
        assert_eq!(chart.columns[0].height, coord(PLOT_HEIGHT * 7.0 / 10.0));
        assert_eq!(chart.ticks.last().unwrap().label, "10");
    }

    #[test]
    fn columns_scale_to_the_largest_value() {
        let chart = Columns::new(Ui::Kk.text(), "t", &days(jan(1), &[50, 25, 0, 100]));
        let heights: Vec<f64> = chart.columns.iter().map(|c| c.height).collect();
        assert_eq!(heights, [PLOT_HEIGHT / 2.0, PLOT_HEIGHT / 4.0, 0.0, PLOT_HEIGHT].map(coord));
        assert!(chart.columns.iter().all(|c| coord(c.y + c.height) == coord(TOP + PLOT_HEIGHT)));
        let html = chart.render().unwrap();
        assert_eq!(html.matches("<rect").count(), 4);
        assert!(html.contains("Күн сайынғы қоңыраулар"));
    }

    #[test]
    fn a_year_and_a_day_is_summed_into_weeks() {
        let (period, weeks) = buckets(&days(jan(1), &[1; 366]));
        assert_eq!(period, Period::Week);
        assert_eq!(weeks.len(), 53);
        assert_eq!(weeks[0].calls, 7);
        assert_eq!(weeks[52].calls, 2);
        assert_eq!(weeks.iter().map(|w| w.calls).sum::<i64>(), 366);
        assert!(Columns::new(Ui::Ru.text(), "t", &days(jan(1), &[1; 366])).title.contains("неделям"));
    }

    #[test]
    fn three_years_are_summed_into_months() {
        let (period, months) = buckets(&days(jan(1), &[1; 1095]));
        assert_eq!(period, Period::Month);
        assert_eq!(months.len(), 36);
        assert_eq!(months[1].calls, 28);
    }

    #[test]
    fn no_calls_draws_no_columns() {
        let chart = Columns::new(Ui::Ru.text(), "t", &days(jan(1), &[0, 0]));
        let html = chart.render().unwrap();
        assert!(!html.contains("<svg"));
        assert!(html.contains(Ui::Ru.text().no_calls));
    }
}
