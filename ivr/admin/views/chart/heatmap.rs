//! Calls by weekday and hour of the day: a 7 × 24 grid, darker for more calls. Shades come
//! in five steps rather than a continuous scale, so the legend says exactly what each
//! shade means and two cells that look alike are alike.

use askama::Template;

use crate::admin::views::format::int;
use crate::admin::views::text::Text;

/// No calls, then four steps up to the busiest hour. One hue, light to dark: readable
/// with any kind of colour blindness and in greyscale print.
pub(crate) const SHADES: [&str; 5] = ["#eef1f4", "#c6dbef", "#6baed6", "#2171b5", "#08306b"];

const LEFT: f64 = 34.0;
const TOP: f64 = 4.0;
const CELL: f64 = 24.0;
const GAP: f64 = 2.0;

#[derive(Template)]
#[template(path = "chart/heatmap.html", config = "ivr/admin/views/askama.toml")]
pub(crate) struct Heatmap {
    pub id: &'static str,
    pub title: &'static str,
    pub note: String,
    pub cells: Vec<Cell>,
    pub weekdays: Vec<Label>,
    pub hours: Vec<Label>,
    pub table: Vec<TableRow>,
    pub shades: [&'static str; 5],
    pub max: String,
    pub t: &'static Text,
}

pub(crate) struct Cell {
    pub x: f64,
    pub y: f64,
    pub fill: &'static str,
    pub tip: String,
}

pub(crate) struct Label {
    pub at: f64,
    pub text: String,
}

pub(crate) struct TableRow {
    pub weekday: &'static str,
    pub values: Vec<String>,
}

/// Moves a grid of UTC hours (Monday first, as the statistics count them) to a time zone
/// `offset_hours` from UTC: hours past midnight move to the next weekday, and Sunday's
/// late hours to Monday, since the grid sums over many weeks.
pub fn shift_hours(weekday_hours: &[[i64; 24]; 7], offset_hours: i32) -> [[i64; 24]; 7] {
    let mut shifted = [[0; 24]; 7];
    for (day, hours) in weekday_hours.iter().enumerate() {
        for (hour, calls) in hours.iter().enumerate() {
            let at = (day as i32 * 24 + hour as i32 + offset_hours).rem_euclid(168) as usize;
            shifted[at / 24][at % 24] += calls;
        }
    }
    shifted
}

/// The shade of `calls` when the busiest cell has `max`: 0 only for no calls at all.
pub(crate) fn shade(calls: i64, max: i64) -> usize {
    if calls <= 0 || max <= 0 { 0 } else { ((calls * 4 + max - 1) / max).clamp(1, 4) as usize }
}

impl Heatmap {
    pub fn new(t: &'static Text, id: &'static str, weekday_hours: &[[i64; 24]; 7], timezone: &str) -> Heatmap {
        let max = weekday_hours.iter().flatten().copied().max().unwrap_or(0);
        let cells = if max <= 0 { Vec::new() } else { cells(t, weekday_hours, max) };
        let table = weekday_hours
            .iter()
            .zip(t.weekdays)
            .map(|(hours, weekday)| TableRow { weekday, values: hours.iter().map(|c| int(*c)).collect() })
            .collect();
        Heatmap {
            id,
            title: t.heatmap_title,
            note: t.hours_in.replace("{tz}", timezone),
            cells,
            weekdays: t.weekdays.iter().enumerate().map(|(d, w)| weekday_label(d, w)).collect(),
            hours: (0..24).map(hour_label).collect(),
            table,
            shades: SHADES,
            max: int(max),
            t,
        }
    }

    pub fn view_box(&self) -> String {
        format!("0 0 {} {}", LEFT + 24.0 * CELL + GAP, TOP + 7.0 * CELL + 18.0)
    }

    pub fn cell_size(&self) -> f64 {
        CELL - GAP
    }

    pub fn label_x(&self) -> f64 {
        LEFT - 6.0
    }

    pub fn hour_line(&self) -> f64 {
        TOP + 7.0 * CELL + 12.0
    }
}

fn cells(t: &Text, weekday_hours: &[[i64; 24]; 7], max: i64) -> Vec<Cell> {
    let mut cells = Vec::with_capacity(168);
    for (day, hours) in weekday_hours.iter().enumerate() {
        for (hour, calls) in hours.iter().enumerate() {
            cells.push(Cell {
                x: LEFT + hour as f64 * CELL,
                y: TOP + day as f64 * CELL,
                fill: SHADES[shade(*calls, max)],
                tip: format!("{} {hour:02}:00 — {}", t.weekdays[day], int(*calls)),
            });
        }
    }
    cells
}

fn weekday_label(day: usize, name: &str) -> Label {
    Label { at: TOP + day as f64 * CELL + CELL / 2.0, text: name.to_owned() }
}

fn hour_label(hour: usize) -> Label {
    Label { at: LEFT + hour as f64 * CELL + (CELL - GAP) / 2.0, text: hour.to_string() }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::admin::views::Ui;

    fn grid() -> [[i64; 24]; 7] {
        let mut grid = [[0; 24]; 7];
        grid[0][9] = 40;
        grid[4][22] = 10;
        grid[6][23] = 3;
        grid
    }

    #[test]
    fn the_grid_has_168_cells_and_the_busiest_is_darkest() {
        let html = Heatmap::new(Ui::Kk.text(), "heat", &grid(), "UTC+5").render().unwrap();
        assert_eq!(html.matches("class=\"cell\"").count(), 168);
        assert_eq!(html.matches(SHADES[4]).count(), 1 + 1, "one cell and the legend: {html}");
        assert!(html.contains("Дс 09:00 — 40"));
        assert!(html.contains("Уақыт: UTC+5"));
    }

    #[test]
    fn shades_step_up_to_the_maximum() {
        let shades: Vec<usize> = [0, 1, 10, 11, 20, 21, 30, 31, 40].into_iter().map(|c| shade(c, 40)).collect();
        assert_eq!(shades, [0, 1, 1, 2, 2, 3, 3, 4, 4]);
    }

    #[test]
    fn shifting_to_utc_plus_5_carries_late_hours_into_the_next_day() {
        let local = shift_hours(&grid(), 5);
        assert_eq!(local[0][14], 40);
        assert_eq!(local[5][3], 10);
        assert_eq!(local[0][4], 3, "Sunday 23:00 UTC is Monday 04:00");
        assert_eq!(local.iter().flatten().sum::<i64>(), 53);
        assert_eq!(shift_hours(&local, -5), grid());
    }

    #[test]
    fn an_empty_grid_shows_the_empty_state() {
        let html = Heatmap::new(Ui::Ru.text(), "heat", &[[0; 24]; 7], "UTC").render().unwrap();
        assert!(html.contains(Ui::Ru.text().no_calls));
        assert!(!html.contains("class=\"cell\""));
    }
}
