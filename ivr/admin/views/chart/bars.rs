//! Horizontal bars, one row per key: languages, outcomes, topics, transfer results and the
//! hang-up funnel. Rows are HTML so long labels wrap on a phone; each bar is a one-rect
//! SVG whose width is the value's share of the largest value, which spans the full width.

use askama::Template;

use super::{INK, coord};
use crate::admin::views::format::{int, percent};
use crate::admin::views::text::Text;

#[derive(Template)]
#[template(path = "chart/bars.html", config = "ivr/admin/views/askama.toml")]
pub(crate) struct Bars {
    pub id: &'static str,
    pub title: String,
    pub note: Option<String>,
    pub rows: Vec<BarRow>,
    pub t: &'static Text,
    pub ink: &'static str,
}

pub(crate) struct BarRow {
    pub label: String,
    pub value: String,
    pub share: Option<String>,
    /// Percent of the track, 0 to 100.
    pub width: f64,
}

impl Bars {
    /// Rows in the order given. Shares are of `total` (for most charts, the calls); a chart
    /// whose values are all zero has no rows and shows its empty state.
    pub fn new(t: &'static Text, id: &'static str, title: &str, items: Vec<(String, i64)>, total: i64) -> Bars {
        let max = items.iter().map(|(_, value)| *value).max().unwrap_or(0);
        let rows = if max <= 0 {
            Vec::new()
        } else {
            items.into_iter().map(|(label, value)| row(label, value, max, total)).collect()
        };
        Bars { id, title: title.to_owned(), note: None, rows, t, ink: INK }
    }

    pub fn with_note(mut self, note: &str) -> Bars {
        self.note = Some(note.to_owned());
        self
    }
}

fn row(label: String, value: i64, max: i64, total: i64) -> BarRow {
    let width = coord(value.max(0) as f64 * 100.0 / max as f64);
    BarRow { label, value: int(value), share: percent(value, total), width }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::admin::views::Ui;

    fn chart(values: &[i64]) -> Bars {
        let items = values.iter().enumerate().map(|(i, v)| (format!("row {i}"), *v)).collect();
        Bars::new(Ui::Ru.text(), "test", "Тест", items, values.iter().sum())
    }

    #[test]
    fn the_largest_value_spans_the_track_and_others_scale_to_it() {
        let widths: Vec<f64> = chart(&[40, 10, 0, 20]).rows.iter().map(|r| r.width).collect();
        assert_eq!(widths, [100.0, 25.0, 0.0, 50.0]);
    }

    #[test]
    fn the_svg_has_one_bar_per_value_in_the_given_order() {
        let html = chart(&[3, 7, 5]).render().unwrap();
        assert_eq!(html.matches("<rect").count(), 3);
        let first = html.find("row 0").unwrap();
        assert!(first < html.find("row 1").unwrap() && html.find("row 1").unwrap() < html.find("row 2").unwrap());
        assert!(html.contains("width=\"100\""), "{html}");
    }

    #[test]
    fn all_zero_values_show_the_empty_state() {
        let html = chart(&[0, 0]).render().unwrap();
        assert!(html.contains(Ui::Ru.text().no_data));
        assert!(!html.contains("<rect"));
    }
}
