//! Charts as inline SVG, drawn on the server.
//!
//! The hotline's network has no CDN and the dashboard must work with scripts off, so each
//! chart is markup computed here: the geometry in Rust, where a test can check that there
//! is one bar per value and that the largest value reaches the top, and the markup in a
//! template. Every chart is labelled for screen readers, carries its numbers as a table in
//! a `<details>`, and says plainly when there is nothing to draw.

mod bars;
mod columns;
mod heatmap;

pub(crate) use bars::Bars;
pub(crate) use columns::Columns;
pub(crate) use heatmap::Heatmap;
pub use heatmap::shift_hours;

/// The colour of bars and columns: dark enough on white for people with low vision.
pub(crate) const INK: &str = "#2f6fb0";

/// The top of a value axis for a largest value of `max`: the smallest 1, 2 or 5 × 10ⁿ at
/// or above it, so the axis reads in round numbers.
pub(crate) fn nice_ceiling(max: i64) -> i64 {
    let mut scale = 1i64;
    loop {
        if let Some(top) = [1, 2, 5].into_iter().map(|m| m * scale).find(|top| *top >= max) {
            return top;
        }
        scale = scale.saturating_mul(10);
    }
}

/// A coordinate rounded to a tenth: shorter markup, no visible difference.
pub(crate) fn coord(x: f64) -> f64 {
    (x * 10.0).round() / 10.0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn axis_tops_are_round_numbers_at_or_above_the_maximum() {
        let tops: Vec<i64> = [0, 1, 2, 3, 7, 10, 11, 45, 99, 101, 1_234].into_iter().map(nice_ceiling).collect();
        assert_eq!(tops, [1, 1, 2, 5, 10, 10, 20, 50, 100, 200, 2_000]);
    }
}
