//! The operators' queue in the [`Summary`](super::Summary): per caller language, how many
//! waited, how their waits ended, how long they waited and where they joined; and how many
//! calls each operator answered. Built from the range's sums like the rest of the summary
//! (the `queue_*` metrics of `totals.rs`, and the `operator_answers` table for operators).

use std::collections::BTreeMap;

use serde::Serialize;

use super::range::{MetricSum, OperatorAnswered};
use super::totals::metric;

/// The queue over a range, in one caller language. The four outcomes add up to `queued`.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct QueueLine {
    /// Calls that waited in the queue.
    pub queued: i64,
    /// Answered by an operator after waiting (an overflow ring answered included).
    pub answered: i64,
    /// Rung by an overflow route (operators of the other language, the switchboard) and
    /// not answered.
    pub overflowed: i64,
    /// Gave up their place for the main menu or the police while waiting, before being rung.
    pub left: i64,
    /// Hung up while waiting or during their ring, never answered.
    pub abandoned: i64,
    /// Rung by an overflow route after waiting, answered or not: the overflowed outcome
    /// plus the overflowed calls that were answered.
    pub rung_by_overflow: i64,
    /// Average seconds from joining to the first ring out of the queue (see `queue.rs`).
    pub avg_seconds: Option<f64>,
    /// The longest of those waits.
    pub max_seconds: Option<i64>,
    /// Average position on joining (1: next).
    pub avg_position: Option<f64>,
    /// Calls by their position on joining (`1`, `2`, …).
    pub positions: BTreeMap<String, i64>,
}

/// Every language's queue line from the range's sums: `kk` and `ru` always, `none` (no
/// language chosen) when anyone of it waited.
pub fn queue_lines(sums: &[MetricSum]) -> BTreeMap<String, QueueLine> {
    let mut lines: BTreeMap<String, QueueLine> =
        ["kk", "ru"].into_iter().map(|code| (code.to_owned(), QueueLine::default())).collect();
    let mut seconds: BTreeMap<&str, (i64, i64)> = BTreeMap::new();
    let mut position_sum: BTreeMap<&str, i64> = BTreeMap::new();
    for sum in sums.iter().filter(|s| s.metric.starts_with("queue_") && s.value != 0) {
        let (language, what) = sum.key.split_once(':').unwrap_or((sum.key.as_str(), ""));
        let line = lines.entry(language.to_owned()).or_default();
        match (sum.metric.as_str(), what) {
            (metric::QUEUE_CALLS, _) => line.queued += sum.value,
            (metric::QUEUE_OVERFLOWED, _) => line.rung_by_overflow += sum.value,
            (metric::QUEUE_OUTCOME, "answered") => line.answered += sum.value,
            (metric::QUEUE_OUTCOME, "overflowed") => line.overflowed += sum.value,
            (metric::QUEUE_OUTCOME, "left") => line.left += sum.value,
            (metric::QUEUE_OUTCOME, "abandoned") => line.abandoned += sum.value,
            (metric::QUEUE_SECONDS, "sum") => seconds.entry(language).or_default().0 += sum.value,
            (metric::QUEUE_SECONDS, "calls") => seconds.entry(language).or_default().1 += sum.value,
            (metric::QUEUE_WAIT, waited) => {
                if let Ok(waited) = waited.parse::<i64>() {
                    line.max_seconds = line.max_seconds.max(Some(waited));
                }
            }
            (metric::QUEUE_POSITION, position) => {
                *line.positions.entry(position.to_owned()).or_default() += sum.value;
                *position_sum.entry(language).or_default() += position.parse::<i64>().unwrap_or(0) * sum.value;
            }
            _ => {}
        }
    }
    for (language, line) in &mut lines {
        let (sum, timed) = seconds.get(language.as_str()).copied().unwrap_or((0, 0));
        line.avg_seconds = average(sum, timed);
        line.avg_position = average(position_sum.get(language.as_str()).copied().unwrap_or(0), line.queued);
    }
    lines
}

/// Calls answered per operator, by name: a removed operator as `#id`, and a name two
/// operators share with each one's id after it.
pub fn answered_by_operator(operators: &[OperatorAnswered]) -> BTreeMap<String, i64> {
    let mut names: BTreeMap<&str, usize> = BTreeMap::new();
    for name in operators.iter().filter_map(|o| o.name.as_deref()) {
        *names.entry(name).or_default() += 1;
    }
    let mut out = BTreeMap::new();
    for operator in operators.iter().filter(|o| o.answered != 0) {
        let label = match operator.name.as_deref() {
            Some(name) if names.get(name) == Some(&1) => name.to_owned(),
            Some(name) => format!("{name} #{}", operator.operator_id),
            None => format!("#{}", operator.operator_id),
        };
        *out.entry(label).or_default() += operator.answered;
    }
    out
}

/// `sum / count` to one decimal, `None` over nothing.
fn average(sum: i64, count: i64) -> Option<f64> {
    (count > 0).then(|| (sum as f64 / count as f64 * 10.0).round() / 10.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sum(metric: &str, key: &str, value: i64) -> MetricSum {
        MetricSum { metric: metric.to_owned(), key: key.to_owned(), value }
    }

    #[test]
    fn lines_add_up_per_language_with_the_longest_wait_and_positions() {
        let sums = [
            sum("queue_calls", "kk", 3),
            sum("queue_outcome", "kk:answered", 2),
            sum("queue_outcome", "kk:abandoned", 1),
            sum("queue_overflowed", "kk", 1),
            sum("queue_seconds", "kk:sum", 100),
            sum("queue_seconds", "kk:calls", 3),
            sum("queue_wait", "kk:20", 2),
            sum("queue_wait", "kk:60", 1),
            sum("queue_position", "kk:1", 2),
            sum("queue_position", "kk:3", 1),
            sum("queue_wait", "ru:9", 0),
        ];
        let lines = queue_lines(&sums);
        assert_eq!(lines.keys().collect::<Vec<_>>(), ["kk", "ru"]);
        let kk = &lines["kk"];
        assert_eq!((kk.queued, kk.answered, kk.abandoned, kk.overflowed, kk.rung_by_overflow), (3, 2, 1, 0, 1));
        assert_eq!((kk.avg_seconds, kk.max_seconds, kk.avg_position), (Some(33.3), Some(60), Some(1.7)));
        assert_eq!(kk.positions, BTreeMap::from([("1".to_owned(), 2), ("3".to_owned(), 1)]));
        assert_eq!(lines["ru"], QueueLine::default(), "a key summed to 0 is no wait");
    }

    #[test]
    fn operators_are_named_and_told_apart() {
        let answered = |operator_id, name: Option<&str>, answered| OperatorAnswered {
            operator_id,
            name: name.map(str::to_owned),
            answered,
        };
        let rows = [answered(1, Some("Aigerim"), 4), answered(2, Some("Dana"), 1), answered(3, Some("Dana"), 2)];
        let by_name = answered_by_operator(&[rows.to_vec(), vec![answered(9, None, 5)]].concat());
        let expected = [("#9", 5), ("Aigerim", 4), ("Dana #2", 1), ("Dana #3", 2)];
        assert_eq!(by_name, expected.map(|(k, v)| (k.to_owned(), v)).into_iter().collect());
    }
}
