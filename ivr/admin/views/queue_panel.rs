//! The dashboard's panel on the operators' queue: per caller language, how many waited and
//! how their waits ended, how long and from which position; callers who waited per day;
//! and how many calls each operator answered (by name, never which calls). Separate from
//! `dashboard.rs` so that the page's general charts stay readable.

use super::chart::{Bars, Columns};
use super::dashboard::{Count, DayCount};
use super::format::{decimal, fill, int, percent};
use super::text::Text;
use crate::stats::QueueLine;

/// One language's line of the queue, as the summary has it.
#[derive(Clone, Debug, PartialEq)]
pub struct QueueRow {
    /// `kk`, `ru` or `none`.
    pub language: String,
    /// Its counts, waits and positions.
    pub line: QueueLine,
}

/// One table row, every cell written out.
pub(super) struct QueueCells {
    pub language: String,
    pub queued: String,
    pub answered: String,
    pub overflowed: String,
    pub left: String,
    pub abandoned: String,
    pub avg_wait: String,
    pub longest_wait: String,
    pub avg_position: String,
}

/// The panel: the table (empty when nobody waited), its overflow note, and the charts.
pub(super) struct QueuePanel {
    pub rows: Vec<QueueCells>,
    pub overflow_note: Option<String>,
    pub per_day: Option<Columns>,
    pub operators: Option<Bars>,
}

/// The panel for the range's queue lines, callers who waited per day, and calls answered
/// per operator.
pub(super) fn queue_panel(t: &'static Text, rows: &[QueueRow], days: &[DayCount], operators: &[Count]) -> QueuePanel {
    let waited: i64 = rows.iter().map(|r| r.line.queued).sum();
    let overflow: i64 = rows.iter().map(|r| r.line.rung_by_overflow).sum();
    let seconds = |s: Option<f64>| s.map_or_else(|| "—".to_owned(), |s| format!("{} {}", decimal(s), t.seconds));
    let share = |value: i64, of: i64| match percent(value, of) {
        Some(share) => format!("{} ({share})", int(value)),
        None => int(value),
    };
    let cells = rows.iter().filter(|r| r.line.queued > 0).map(|r| {
        let l = &r.line;
        QueueCells {
            language: t.language_name(&r.language).to_owned(),
            queued: int(l.queued),
            answered: share(l.answered, l.queued),
            overflowed: share(l.overflowed, l.queued),
            left: share(l.left, l.queued),
            abandoned: share(l.abandoned, l.queued),
            avg_wait: seconds(l.avg_seconds),
            longest_wait: seconds(l.max_seconds.map(|m| m as f64)),
            avg_position: l.avg_position.map_or_else(|| "—".to_owned(), decimal),
        }
    });
    let answered: Vec<(String, i64)> = operators.iter().map(|c| (c.key.clone(), c.value)).collect();
    let answered_total = answered.iter().map(|(_, v)| v).sum();
    QueuePanel {
        rows: cells.collect(),
        overflow_note: (overflow > 0).then(|| fill(t.queue_overflow_note, "n", &int(overflow))),
        per_day: (waited > 0).then(|| Columns::new(t, "queued-per-day", days).titled(t.queued_over_time)),
        operators: (answered_total > 0)
            .then(|| Bars::new(t, "answered-by-operator", t.answered_by_operator, answered, answered_total)),
    }
}
