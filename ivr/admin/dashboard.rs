//! From a statistics [`Summary`] to the dashboard's [`DashboardView`], and from the page's
//! `from`/`to` query to the range shown. Pure, so every number the page shows is tested
//! without a server or a database.

use std::collections::BTreeMap;

use chrono::{Days, NaiveDate};

use super::views::{
    Count, DashboardView, DayCount, OperatorAnswers, QueueRow, RangeProblem, Totals, counts, in_flow_order, shift_hours,
};
use crate::flow::Flow;
use crate::reports::MAX_DAYS;
use crate::stats::Summary;
use crate::stats::{DateRange, RangeError};

/// The heatmap's hours are Kazakhstan's (one time zone, UTC+5, since March 2024); the
/// statistics count UTC hours.
pub const HEATMAP_OFFSET_HOURS: i32 = 5;
const HEATMAP_ZONE: &str = "UTC+5";
/// Days shown when no range is asked for: the last 30, today included.
const DEFAULT_DAYS: u64 = 30;

/// The range the page shows for its `from` and `to` parameters, and why the asked-for
/// range was not used, if it was not: the last 30 days then, so the page always shows a
/// range.
pub fn chosen_range(from: Option<&str>, to: Option<&str>, today: NaiveDate) -> (DateRange, Option<RangeProblem>) {
    let default = DateRange { from: today.checked_sub_days(Days::new(DEFAULT_DAYS - 1)).unwrap_or(today), to: today };
    let (from, to) = match (from.filter(|f| !f.is_empty()), to.filter(|t| !t.is_empty())) {
        (None, None) => return (default, None),
        (from, to) => (from.unwrap_or(""), to.unwrap_or("")),
    };
    match DateRange::parse(from, to) {
        Ok(range) if (range.to - range.from).num_days() + 1 > MAX_DAYS => (default, Some(RangeProblem::TooLong)),
        Ok(range) => (range, None),
        Err(RangeError::NotADate(_)) => (default, Some(RangeProblem::NotADate)),
        Err(RangeError::Reversed { .. }) => (default, Some(RangeProblem::Reversed)),
    }
}

/// Fills the dashboard from a summary: a copy, except for the heatmap's time zone, the
/// police dial results (`police:busy` → `busy`) and the hang-up funnel in flow order.
pub fn dashboard_view(
    summary: &Summary,
    flow: &Flow,
    today: NaiveDate,
    range_problem: Option<RangeProblem>,
) -> DashboardView {
    DashboardView {
        from: summary.from,
        to: summary.to,
        today,
        range_problem,
        totals: Totals {
            calls: summary.calls,
            synthetic_calls: summary.synthetic_calls,
            emergency_transfers: summary.emergency_transfers,
            operator_transfers: summary.operator_transfers,
            abandoned: summary.abandoned,
            avg_ivr_seconds: summary.avg_ivr_seconds,
        },
        days: summary.days.iter().map(|d| DayCount { day: d.day, calls: d.calls }).collect(),
        languages: counts(&summary.languages),
        outcomes: counts(&summary.outcomes),
        topics: counts(&summary.topics),
        weekday_hours: shift_hours(&utc_grid(&summary.weekday_hours), HEATMAP_OFFSET_HOURS),
        timezone: HEATMAP_ZONE.to_owned(),
        emergency_results: police_results(&summary.dial_results),
        operator: OperatorAnswers {
            rung: summary.operator_transfers,
            answered: summary.operator_answered,
            avg_seconds_to_answer: summary.avg_seconds_to_answer,
        },
        hangups: in_flow_order(flow, &summary.exit_nodes),
        queue: summary
            .queue
            .iter()
            .map(|(code, line)| QueueRow { language: code.clone(), line: line.clone() })
            .collect(),
        queue_days: summary.days.iter().map(|d| DayCount { day: d.day, calls: d.queued }).collect(),
        answered_by_operator: counts(&summary.answered_by_operator),
    }
}

fn utc_grid(rows: &[[i64; 24]]) -> [[i64; 24]; 7] {
    let mut grid = [[0; 24]; 7];
    for (day, row) in grid.iter_mut().zip(rows) {
        *day = *row;
    }
    grid
}

/// The police transfers' results, by how the dial ended.
fn police_results(dial_results: &BTreeMap<String, i64>) -> Vec<Count> {
    dial_results
        .iter()
        .filter_map(|(key, value)| {
            key.strip_prefix("police:").map(|result| Count { key: result.to_owned(), value: *value })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::stats::TotalRow;

    fn date(text: &str) -> NaiveDate {
        NaiveDate::parse_from_str(text, "%Y-%m-%d").unwrap()
    }

    fn flow() -> Flow {
        Flow::load(&std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("flows/hotline.toml")).unwrap()
    }

    #[test]
    fn no_range_is_the_last_30_days() {
        let today = date("2026-03-31");
        assert_eq!(chosen_range(None, None, today), (DateRange { from: date("2026-03-02"), to: today }, None));
        assert_eq!(chosen_range(Some(""), Some(""), today).1, None);
        let asked = chosen_range(Some("2025-01-01"), Some("2025-12-31"), today);
        assert_eq!(asked, (DateRange { from: date("2025-01-01"), to: date("2025-12-31") }, None));
    }

    #[test]
    fn a_bad_range_falls_back_and_says_why() {
        let today = date("2026-03-31");
        let problem = |from, to| chosen_range(Some(from), Some(to), today);
        assert_eq!(problem("2026-02-30", "2026-03-01").1, Some(RangeProblem::NotADate));
        assert_eq!(chosen_range(Some("2026-03-01"), None, today).1, Some(RangeProblem::NotADate));
        assert_eq!(problem("2026-03-02", "2026-03-01").1, Some(RangeProblem::Reversed));
        assert_eq!(problem("2000-01-01", "2026-03-01").1, Some(RangeProblem::TooLong));
        assert_eq!(problem("2000-01-01", "2026-03-01").0.to, today);
    }

    #[test]
    fn the_view_copies_the_summary_and_reorders_what_it_must() {
        let day = date("2026-03-02"); // a Monday
        let row = |metric: &str, key: &str, value| TotalRow { day, metric: metric.into(), key: key.into(), value };
        let rows = [
            row("calls", "", 4),
            row("synthetic", "", 1),
            row("outcome", "abandoned", 1),
            row("emergency_calls", "", 2),
            row("operator_calls", "", 2),
            row("operator_answered", "", 1),
            row("transfer_seconds", "sum", 30),
            row("transfer_seconds", "calls", 3),
            row("answer_seconds", "sum", 10),
            row("answer_seconds", "calls", 1),
            row("dial", "police:busy", 1),
            row("dial", "police:completed", 1),
            row("dial", "operator:completed", 1),
            row("hour", "21", 4),
            row("exit_node", "goodbye", 3),
            row("exit_node", "language", 1),
            row("queue_calls", "kk", 2),
            row("queue_outcome", "kk:answered", 1),
            row("queue_outcome", "kk:abandoned", 1),
        ];
        let summary = Summary::from_rows(DateRange { from: day, to: date("2026-03-03") }, &rows);
        let view = dashboard_view(&summary, &flow(), date("2026-03-31"), None);
        assert_eq!((view.totals.calls, view.totals.synthetic_calls, view.totals.abandoned), (4, 1, 1));
        assert_eq!(view.days, [DayCount { day, calls: 4 }, DayCount { day: date("2026-03-03"), calls: 0 }]);
        assert_eq!(view.operator, OperatorAnswers { rung: 2, answered: 1, avg_seconds_to_answer: Some(10.0) });
        let police: Vec<(&str, i64)> = view.emergency_results.iter().map(|c| (c.key.as_str(), c.value)).collect();
        assert_eq!(police, [("busy", 1), ("completed", 1)]);
        // 21:00 UTC on Monday is 02:00 on Tuesday in Kazakhstan.
        assert_eq!((view.weekday_hours[1][2], view.weekday_hours[0][21], view.timezone.as_str()), (4, 0, "UTC+5"));
        let hangups: Vec<&str> = view.hangups.iter().map(|c| c.key.as_str()).collect();
        assert_eq!(hangups.first(), Some(&"language"), "the funnel starts where calls start: {hangups:?}");
        assert_eq!(view.hangups.iter().map(|c| c.value).sum::<i64>(), 4);
        assert_eq!(view.hangups.len(), flow().node_ids().count());
        let languages: Vec<&str> = view.queue.iter().map(|q| q.language.as_str()).collect();
        assert_eq!((languages, view.queue_days[0].calls), (vec!["kk", "ru"], 2));
        assert_eq!(view.queue[0].line.answered, 1);
    }
}
