//! The reports as JSON and CSV, with small counts suppressed for sharing outside the
//! hotline.
//!
//! Suppression (`min_count = k > 1`) replaces every count below `k`, zero included, with
//! the text `<k`, so a reader cannot tell 0 from 1 in a cell. Averages drawn from fewer
//! than `k` calls become empty (JSON `null`): an average of one call is that call.
//! Suppression is per cell; totals stay exact, so a cell can sometimes be worked out from
//! its row's total and the other cells ("complementary disclosure"). That is accepted for
//! these aggregate counts; per-call rows are never exported under suppression (see
//! `calls.csv` in `crate::api::reports`).

use serde_json::{Map, Value};

use crate::stats::CallRow;
use crate::stats::Summary;

/// A count as a cell: the number, or `<k` when it is below `k`.
pub fn count(value: i64, min_count: u32) -> String {
    if min_count > 1 && value < i64::from(min_count) { format!("<{min_count}") } else { value.to_string() }
}

/// The summary as the API returns it, suppressed. Every integer in a [`Summary`] is a
/// count of calls or events, so every integer is subject to suppression.
pub fn summary_json(summary: &Summary, min_count: u32) -> Value {
    let mut value = serde_json::to_value(summary).unwrap_or(Value::Null);
    if min_count <= 1 {
        return value;
    }
    suppress(&mut value, min_count);
    let k = i64::from(min_count);
    if let Value::Object(fields) = &mut value {
        if summary.calls < k {
            fields.insert("avg_ivr_seconds".to_owned(), Value::Null);
        }
        if summary.emergency_transfers + summary.operator_transfers < k {
            fields.insert("avg_seconds_to_transfer".to_owned(), Value::Null);
        }
        if summary.operator_answered < k {
            fields.insert("avg_seconds_to_answer".to_owned(), Value::Null);
        }
        if let Some(Value::Object(lines)) = fields.get_mut("queue") {
            for (language, line) in lines {
                let queued = summary.queue.get(language).map_or(0, |l| l.queued);
                let max = summary.queue.get(language).and_then(|l| l.max_seconds);
                thin_queue_line(line, queued >= k, max);
            }
        }
    }
    value
}

/// A suppressed queue line's averages and longest wait: drawn from fewer than `k` waits
/// they are hidden (`null`); otherwise the longest wait, a number of seconds rather than a
/// count, is put back as it was.
fn thin_queue_line(line: &mut Value, enough: bool, max_seconds: Option<i64>) {
    if let Value::Object(fields) = line {
        let max = if enough { max_seconds.map_or(Value::Null, Value::from) } else { Value::Null };
        fields.insert("max_seconds".to_owned(), max);
        if !enough {
            fields.insert("avg_seconds".to_owned(), Value::Null);
            fields.insert("avg_position".to_owned(), Value::Null);
        }
    }
}

fn suppress(value: &mut Value, min_count: u32) {
    match value {
        Value::Number(n) if n.is_i64() || n.is_u64() => {
            let n = n.as_i64().unwrap_or(i64::MAX);
            if n < i64::from(min_count) {
                *value = Value::String(format!("<{min_count}"));
            }
        }
        Value::Array(items) => items.iter_mut().for_each(|v| suppress(v, min_count)),
        Value::Object(fields) => fields.values_mut().for_each(|v| suppress(v, min_count)),
        _ => {}
    }
}

/// The summary as `metric,key,value` rows: totals have an empty key, breakdowns one row
/// per key, nested breakdowns (the queue's) a key joined by dots: `kk.answered`,
/// `kk.positions.3`. The per-day rows and the heatmap are left to `daily.csv`.
pub fn summary_csv(summary: &Summary, min_count: u32) -> Result<Vec<u8>, csv::Error> {
    let json = summary_json(summary, min_count);
    let mut out = csv::Writer::from_writer(Vec::new());
    out.write_record(["metric", "key", "value"])?;
    let empty = Map::new();
    for (metric, value) in json.as_object().unwrap_or(&empty) {
        match value {
            Value::Object(keys) => write_keys(&mut out, metric, "", keys)?,
            Value::Array(_) => {}
            value => out.write_record([metric.as_str(), "", &cell(value)])?,
        }
    }
    finish(out)
}

/// One row per key of `keys`, under `prefix`, nested objects a key deeper.
fn write_keys(
    out: &mut csv::Writer<Vec<u8>>,
    metric: &str,
    prefix: &str,
    keys: &Map<String, Value>,
) -> Result<(), csv::Error> {
    for (key, value) in keys {
        let key = if prefix.is_empty() { key.clone() } else { format!("{prefix}.{key}") };
        match value {
            Value::Object(inner) => write_keys(out, metric, &key, inner)?,
            value => out.write_record([metric, key.as_str(), &cell(value)])?,
        }
    }
    Ok(())
}

fn cell(value: &Value) -> String {
    match value {
        Value::String(s) => s.clone(),
        Value::Null => String::new(),
        other => other.to_string(),
    }
}

/// The columns of `daily.csv`.
pub const DAILY_HEADER: [&str; 19] = [
    "day",
    "calls",
    "synthetic_calls",
    "kk",
    "ru",
    "self_service",
    "operator",
    "emergency",
    "abandoned",
    "failed_transfer",
    "emergency_transfers",
    "operator_transfers",
    "queued",
    "queue_answered",
    "queue_overflowed",
    "queue_left",
    "queue_abandoned",
    "queue_avg_seconds",
    "queue_seconds",
];

/// One row per day of the summary's range, days without calls included as zeros, with
/// the demo calls of each day, so a spreadsheet shows which days are not real. The one
/// daily CSV: the API's `daily.csv` and `ivr report --format csv`. The queue's columns
/// count every language (the summary has them per language); its seconds are a sum, not
/// a count, and with its average are left empty when fewer than `k` waits were timed.
pub fn daily_csv(summary: &Summary, min_count: u32) -> Result<Vec<u8>, csv::Error> {
    let mut out = csv::Writer::from_writer(Vec::new());
    out.write_record(DAILY_HEADER)?;
    for d in &summary.days {
        let counts = [
            d.calls,
            d.synthetic_calls,
            d.kk,
            d.ru,
            d.self_service,
            d.operator,
            d.emergency,
            d.abandoned,
            d.failed_transfer,
            d.emergency_transfers,
            d.operator_transfers,
            d.queued,
            d.queue_answered,
            d.queue_overflowed,
            d.queue_left,
            d.queue_abandoned,
        ];
        let mut record = vec![d.day.to_string()];
        record.extend(counts.iter().map(|c| count(*c, min_count)));
        let timed = d.queue_timed > 0 && (min_count <= 1 || d.queue_timed >= i64::from(min_count));
        let average = (d.queue_seconds as f64 / d.queue_timed as f64 * 10.0).round() / 10.0;
        record.push(if timed { average.to_string() } else { String::new() });
        record.push(if timed { d.queue_seconds.to_string() } else { String::new() });
        out.write_record(&record)?;
    }
    finish(out)
}

/// The columns of `calls.csv`: a [`CallRow`]'s fields, in its order.
pub const CALLS_HEADER: [&str; 26] = [
    "call_id",
    "day",
    "started_at",
    "synthetic",
    "language",
    "topics",
    "path",
    "exit_node",
    "outcome",
    "invalid_keys",
    "timeouts",
    "emergency_transfers",
    "operator_transfers",
    "operator_answered",
    "dial_results",
    "ivr_seconds",
    "seconds_to_transfer",
    "ended",
    "repeat_caller",
    "operators_rung",
    "operator_rounds",
    "seconds_to_answer",
    "queue_position",
    "queue_seconds",
    "queue_outcome",
    "queue_overflowed",
];

/// The header line of `calls.csv`.
pub fn calls_header() -> Result<Vec<u8>, csv::Error> {
    let mut out = csv::Writer::from_writer(Vec::new());
    out.write_record(CALLS_HEADER)?;
    finish(out)
}

/// Call rows as CSV lines without a header, so a stream of chunks makes one file.
pub fn calls_csv(rows: &[CallRow]) -> Result<Vec<u8>, csv::Error> {
    let mut out = csv::WriterBuilder::new().has_headers(false).from_writer(Vec::new());
    for row in rows {
        out.serialize(row)?;
    }
    finish(out)
}

fn finish(out: csv::Writer<Vec<u8>>) -> Result<Vec<u8>, csv::Error> {
    out.into_inner().map_err(|e| csv::Error::from(e.into_error()))
}

#[cfg(test)]
mod tests {
    use chrono::{NaiveDate, TimeZone, Utc};

    use super::*;
    use crate::stats::{DateRange, TotalRow};

    fn day(d: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(2026, 3, d).unwrap()
    }

    fn summary() -> Summary {
        let row = |d, metric: &str, key: &str, value| TotalRow {
            day: day(d),
            metric: metric.to_owned(),
            key: key.to_owned(),
            value,
        };
        let rows = [
            row(1, "calls", "", 7),
            row(1, "language", "kk", 6),
            row(1, "language", "ru", 1),
            row(1, "outcome", "self_service", 7),
            row(1, "synthetic", "", 7),
            row(1, "queue_calls", "kk", 2),
            row(1, "queue_outcome", "kk:answered", 1),
            row(1, "queue_outcome", "kk:abandoned", 1),
            row(1, "queue_seconds", "kk:sum", 50),
            row(1, "queue_seconds", "kk:calls", 2),
            row(1, "queue_wait", "kk:40", 1),
            row(1, "queue_wait", "kk:10", 1),
            row(1, "queue_position", "kk:2", 2),
            row(3, "calls", "", 2),
            row(3, "language", "ru", 2),
            row(3, "outcome", "emergency", 2),
            row(3, "emergency_calls", "", 2),
            row(3, "topic", "evidence, \"quoted\"", 2),
        ];
        Summary::from_rows(DateRange::new(day(1), day(3)).unwrap(), &rows)
    }

    fn text(bytes: Vec<u8>) -> String {
        String::from_utf8(bytes).unwrap()
    }

    #[test]
    fn counts_below_k_are_hidden_zero_included() {
        assert_eq!(
            (count(0, 5), count(4, 5), count(5, 5), count(0, 1)),
            ("<5".into(), "<5".into(), "5".into(), "0".into())
        );
    }

    #[test]
    fn daily_csv_has_every_day_and_suppresses_small_cells() {
        let csv = text(daily_csv(&summary(), 1).unwrap());
        let lines: Vec<&str> = csv.lines().collect();
        assert_eq!(lines[0], DAILY_HEADER.join(","));
        assert_eq!(
            &lines[1..],
            [
                "2026-03-01,7,7,6,1,7,0,0,0,0,0,0,2,1,0,0,1,25,50",
                "2026-03-02,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,,",
                "2026-03-03,2,0,0,2,0,0,2,0,0,2,0,0,0,0,0,0,,"
            ]
        );
        let shared = text(daily_csv(&summary(), 3).unwrap());
        assert_eq!(shared.lines().nth(1), Some("2026-03-01,7,7,6,<3,7,<3,<3,<3,<3,<3,<3,<3,<3,<3,<3,<3,,"));
    }

    #[test]
    fn summary_json_hides_small_counts_and_thin_averages() {
        let open = summary_json(&summary(), 1);
        assert_eq!((open["calls"].as_i64(), open["languages"]["ru"].as_i64()), (Some(9), Some(3)));
        let shared = summary_json(&summary(), 3);
        assert_eq!(shared["calls"], 9);
        assert_eq!(shared["languages"]["ru"], 3);
        assert_eq!(shared["languages"]["none"], "<3");
        assert_eq!(shared["emergency_transfers"], "<3");
        assert_eq!(shared["days"][1]["calls"], "<3");
        assert_eq!(shared["avg_seconds_to_transfer"], Value::Null);
        assert_eq!(shared["from"], "2026-03-01");
        assert_eq!(summary_json(&summary(), 10)["avg_ivr_seconds"], Value::Null);
        assert_eq!(open["queue"]["kk"]["max_seconds"], 40);
        assert_eq!(open["queue"]["kk"]["avg_position"], 2.0);
        let queue = &summary_json(&summary(), 2)["queue"]["kk"];
        assert_eq!((queue["queued"].as_i64(), queue["answered"].as_str()), (Some(2), Some("<2")));
        assert_eq!((queue["max_seconds"].as_i64(), queue["avg_seconds"].as_f64()), (Some(40), Some(25.0)));
        let thin = &shared["queue"]["kk"];
        assert_eq!((&thin["max_seconds"], &thin["avg_seconds"]), (&Value::Null, &Value::Null));
    }

    #[test]
    fn summary_csv_quotes_keys_that_need_it() {
        let csv = text(summary_csv(&summary(), 1).unwrap());
        assert!(csv.starts_with("metric,key,value\n"), "{csv}");
        assert!(csv.contains("\ncalls,,9\n"), "{csv}");
        assert!(csv.contains("\ntopics,\"evidence, \"\"quoted\"\"\",2\n"), "{csv}");
        assert!(!csv.contains("weekday_hours") && !csv.contains("\ndays"), "{csv}");
        assert!(csv.contains("\nqueue,kk.queued,2\n") && csv.contains("\nqueue,kk.positions.2,2\n"), "{csv}");
    }

    #[test]
    fn calls_csv_rows_match_the_header_and_are_quoted() {
        let mut header_check = csv::Writer::from_writer(Vec::new());
        let row = CallRow {
            call_id: 0x00ab,
            day: day(1),
            started_at: Some(Utc.with_ymd_and_hms(2026, 3, 1, 13, 5, 0).unwrap()),
            synthetic: false,
            language: Some("kk".into()),
            topics: "safety_plan,evidence".into(),
            path: "language:1 welcome main:3".into(),
            exit_node: Some("main".into()),
            outcome: "self_service".into(),
            invalid_keys: 1,
            timeouts: 0,
            emergency_transfers: 0,
            operator_transfers: 0,
            operator_answered: false,
            dial_results: String::new(),
            ivr_seconds: Some(40),
            seconds_to_transfer: None,
            ended: Some("completed".into()),
            repeat_caller: false,
            operators_rung: String::new(),
            operator_rounds: 0,
            seconds_to_answer: None,
            queue_position: Some(2),
            queue_seconds: Some(35),
            queue_outcome: Some("answered".into()),
            queue_overflowed: false,
        };
        header_check.serialize(&row).unwrap();
        let with_header = text(finish(header_check).unwrap());
        assert_eq!(with_header.lines().next(), Some(CALLS_HEADER.join(",").as_str()));
        let body = text(calls_csv(&[row]).unwrap());
        assert_eq!(text(calls_header().unwrap()) + &body, with_header);
        assert!(body.contains(",\"safety_plan,evidence\",language:1 welcome main:3,main,"), "{body}");
        assert!(body.contains("2026-03-01T13:05:00Z"), "{body}");
    }
}
