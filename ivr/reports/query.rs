//! The query string of a report, checked in full before anything is read: a mistyped
//! parameter answers 400 with a sentence saying what to send, never an empty or silently
//! different report.

use std::collections::HashMap;

use crate::stats::{DateRange, RangeError};

/// The longest range a report covers, in days (ten years and leap days): more is a typo.
pub const MAX_DAYS: i64 = 3660;

/// What a report was asked for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ReportQuery {
    /// The days covered, both ends included.
    pub range: DateRange,
    /// Counts below this are shown as `<k`; 1 shows every count.
    pub min_count: u32,
    /// The answer's format.
    pub format: ReportFormat,
}

/// The formats the reports API answers in.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ReportFormat {
    /// `application/json`.
    Json,
    /// `text/csv`, RFC 4180.
    Csv,
}

impl ReportFormat {
    fn parse(text: &str) -> Option<ReportFormat> {
        match text {
            "json" => Some(ReportFormat::Json),
            "csv" => Some(ReportFormat::Csv),
            _ => None,
        }
    }

    fn name(self) -> &'static str {
        match self {
            ReportFormat::Json => "json",
            ReportFormat::Csv => "csv",
        }
    }
}

/// Why a query was refused: the sentence the client gets with the 400.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct BadQuery(pub String);

const PARAMETERS: [&str; 4] = ["from", "to", "min_count", "format"];

/// Parses `pairs` (the decoded query string). `formats` are the formats this report comes
/// in, the first being the default.
pub fn parse(pairs: &[(String, String)], formats: &[ReportFormat]) -> Result<ReportQuery, BadQuery> {
    let mut given: HashMap<&str, &str> = HashMap::new();
    for (name, value) in pairs {
        if !PARAMETERS.contains(&name.as_str()) {
            return Err(bad(format!("unknown parameter `{name}`: use from, to, min_count and format")));
        }
        if given.insert(name, value).is_some() {
            return Err(bad(format!("`{name}` is given more than once")));
        }
    }
    let (Some(from), Some(to)) = (given.get("from"), given.get("to")) else {
        return Err(bad("give the range as from=YYYY-MM-DD&to=YYYY-MM-DD (UTC days, both included)".to_owned()));
    };
    Ok(ReportQuery {
        range: range(from, to)?,
        min_count: given.get("min_count").map_or(Ok(1), |k| min_count(k))?,
        format: given.get("format").map_or(Ok(formats[0]), |f| format(f, formats))?,
    })
}

/// A range of at most [`MAX_DAYS`] days.
pub fn range(from: &str, to: &str) -> Result<DateRange, BadQuery> {
    let range = DateRange::parse(from, to).map_err(|e| match e {
        RangeError::NotADate(text) => bad(format!("`{text}` is not a date: use YYYY-MM-DD")),
        RangeError::Reversed { from, to } => bad(format!("the range is reversed: from {from} is after to {to}")),
    })?;
    if days(range) > MAX_DAYS {
        return Err(bad(format!("the range is {} days long; a report covers at most {MAX_DAYS}", days(range))));
    }
    Ok(range)
}

/// The number of days in a range, both ends included.
pub fn days(range: DateRange) -> i64 {
    (range.to - range.from).num_days() + 1
}

fn min_count(text: &str) -> Result<u32, BadQuery> {
    match text.parse::<u32>() {
        Ok(k) if k >= 1 => Ok(k),
        _ => Err(bad(format!("min_count must be a whole number from 1 to {}, not `{text}`", u32::MAX))),
    }
}

fn format(text: &str, formats: &[ReportFormat]) -> Result<ReportFormat, BadQuery> {
    match ReportFormat::parse(text).filter(|f| formats.contains(f)) {
        Some(format) => Ok(format),
        None => {
            let known: Vec<&str> = formats.iter().map(|f| f.name()).collect();
            Err(bad(format!("unknown format `{text}`: this report comes as {}", known.join(" or "))))
        }
    }
}

fn bad(message: String) -> BadQuery {
    BadQuery(message)
}

#[cfg(test)]
mod tests {
    use super::*;

    const BOTH: [ReportFormat; 2] = [ReportFormat::Json, ReportFormat::Csv];

    fn query(text: &str) -> Result<ReportQuery, BadQuery> {
        let pairs: Vec<(String, String)> = form_urlencoded::parse(text.as_bytes()).into_owned().collect();
        parse(&pairs, &BOTH)
    }

    fn refusal(text: &str) -> String {
        query(text).expect_err(text).0
    }

    #[test]
    fn a_plain_range_has_defaults() {
        let q = query("from=2026-01-01&to=2026-01-31").unwrap();
        assert_eq!((q.range.from.to_string(), q.range.to.to_string()), ("2026-01-01".into(), "2026-01-31".into()));
        assert_eq!((q.min_count, q.format), (1, ReportFormat::Json));
        assert_eq!(query("from=2026-01-01&to=2026-01-01&min_count=5&format=csv").unwrap().min_count, 5);
    }

    #[test]
    fn every_mistake_is_named() {
        assert!(refusal("from=2026-01-01").contains("from=YYYY-MM-DD&to=YYYY-MM-DD"));
        assert!(refusal("from=2026-13-01&to=2026-12-31").contains("`2026-13-01` is not a date"));
        assert!(refusal("from=2026-02-01&to=2026-01-01").contains("reversed"));
        assert!(refusal("from=2000-01-01&to=2026-01-01").contains("at most 3660"));
        assert!(refusal("from=2026-01-01&to=2026-01-02&min_count=0").contains("min_count"));
        assert!(refusal("from=2026-01-01&to=2026-01-02&min_count=-3").contains("`-3`"));
        assert!(refusal("from=2026-01-01&to=2026-01-02&min_count=2.5").contains("`2.5`"));
        assert!(refusal("from=2026-01-01&to=2026-01-02&format=xml").contains("json or csv"));
        assert!(refusal("from=2026-01-01&to=2026-01-02&form=csv").contains("unknown parameter `form`"));
        assert!(refusal("from=2026-01-01&from=2026-01-02&to=2026-01-02").contains("more than once"));
    }

    #[test]
    fn ten_years_is_the_longest_range() {
        assert!(query("from=2016-01-01&to=2026-01-07").is_ok());
        assert!(query("from=2016-01-01&to=2026-01-08").is_err());
    }

    #[test]
    fn a_report_refuses_formats_it_does_not_come_in() {
        let pairs = vec![("from".into(), "2026-01-01".into()), ("to".into(), "2026-01-01".into())];
        let mut csv_only = pairs.clone();
        csv_only.push(("format".into(), "json".into()));
        assert_eq!(parse(&pairs, &[ReportFormat::Csv]).unwrap().format, ReportFormat::Csv);
        assert!(parse(&csv_only, &[ReportFormat::Csv]).unwrap_err().0.contains("comes as csv"));
    }
}
