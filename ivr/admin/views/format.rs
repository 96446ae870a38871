//! Numbers, shares, durations and dates written the way Kazakh and Russian readers write
//! them: digits grouped by a no-break space, a decimal comma, `dd.mm.yyyy`. The same in
//! both languages, so the functions take no [`Ui`](super::Ui).

use std::time::Duration;

use chrono::NaiveDate;

const GROUP: char = '\u{a0}';

/// `1234567` as `1 234 567`.
pub(crate) fn int(n: i64) -> String {
    let digits = n.unsigned_abs().to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3 + 1);
    if n < 0 {
        out.push('-');
    }
    for (i, digit) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(GROUP);
        }
        out.push(digit);
    }
    out
}

/// One decimal with a comma, and none when it is zero: `12,5`, `12`.
pub(crate) fn decimal(x: f64) -> String {
    let tenths = (x * 10.0).round() as i64;
    let whole = int(tenths / 10);
    match (tenths % 10).unsigned_abs() {
        0 => whole,
        rest if tenths < 0 && tenths > -10 => format!("-0,{rest}"),
        rest => format!("{whole},{rest}"),
    }
}

/// `part` as a share of `whole`: `45 %`, `4,5 %`; `None` when `whole` is zero.
pub(crate) fn percent(part: i64, whole: i64) -> Option<String> {
    (whole != 0).then(|| format!("{}{GROUP}%", decimal(part as f64 * 100.0 / whole as f64)))
}

/// Minutes and seconds: `0:07`, `2:35`.
pub(crate) fn clock(duration: Duration) -> String {
    let seconds = duration.as_secs_f64().round() as u64;
    format!("{}:{:02}", seconds / 60, seconds % 60)
}

pub(crate) fn date(day: NaiveDate) -> String {
    day.format("%d.%m.%Y").to_string()
}

/// Puts `value` where a label says `{name}`.
pub(crate) fn fill(label: &str, name: &str, value: &str) -> String {
    label.replace(&format!("{{{name}}}"), value)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn integers_are_grouped_by_thousands() {
        assert_eq!(int(0), "0");
        assert_eq!(int(999), "999");
        assert_eq!(int(1000), "1\u{a0}000");
        assert_eq!(int(-1234567), "-1\u{a0}234\u{a0}567");
    }

    #[test]
    fn decimals_use_a_comma_and_drop_a_zero_tenth() {
        assert_eq!(decimal(12.0), "12");
        assert_eq!(decimal(12.46), "12,5");
        assert_eq!(decimal(-0.5), "-0,5");
        assert_eq!(decimal(1234.5), "1\u{a0}234,5");
    }

    #[test]
    fn shares_and_durations_read_naturally() {
        assert_eq!(percent(1, 3).as_deref(), Some("33,3\u{a0}%"));
        assert_eq!(percent(5, 0), None);
        assert_eq!(clock(Duration::from_millis(7400)), "0:07");
        assert_eq!(clock(Duration::from_secs(155)), "2:35");
        assert_eq!(date(NaiveDate::from_ymd_opt(2026, 3, 8).unwrap()), "08.03.2026");
        assert_eq!(fill("через {n} мин.", "n", "5"), "через 5 мин.");
    }
}
