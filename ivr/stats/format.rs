//! `ivr report`'s three formats: a table for people, JSON (the [`Summary`] as the API
//! returns it) and CSV (one row per day, for spreadsheets).

use std::collections::BTreeMap;
use std::fmt::Write;

use super::report::Summary;

#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    Table,
    Json,
    Csv,
}

pub fn render(summary: &Summary, format: Format) -> String {
    match format {
        Format::Table => table(summary),
        Format::Json => serde_json::to_string_pretty(summary).unwrap_or_default() + "\n",
        Format::Csv => csv(summary),
    }
}

/// The warning every format carries when demo data is in the range.
pub fn synthetic_warning(summary: &Summary) -> Option<String> {
    (summary.synthetic_calls > 0).then(|| {
        format!(
            "SYNTHETIC DATA: {} of these {} calls were made by `ivr demo-data`, not by callers",
            summary.synthetic_calls, summary.calls
        )
    })
}

fn table(s: &Summary) -> String {
    let mut out = format!("111 hotline calls, {} to {} (UTC days)\n", s.from, s.to);
    if let Some(warning) = synthetic_warning(s) {
        let _ = writeln!(out, "!! {warning}");
    }
    let mut line = |label: &str, value: String| {
        let _ = writeln!(out, "{label:<26}{value}");
    };
    line("calls", s.calls.to_string());
    line("languages", pairs(&s.languages));
    line("outcomes", pairs(&s.outcomes));
    line("emergency transfers (102)", s.emergency_transfers.to_string());
    line("operator transfers", format!("{} (answered {})", s.operator_transfers, s.operator_answered));
    line("abandoned in the menu", s.abandoned.to_string());
    line("avg seconds in the menu", format!("{:.1}", s.avg_ivr_seconds));
    line("avg seconds to transfer", format!("{:.1}", s.avg_seconds_to_transfer));
    line("avg seconds to answer", format!("{:.1}", s.avg_seconds_to_answer));
    line("wrong keys / timeouts", format!("{} / {}", s.invalid_keys, s.timeouts));
    line("repeat callers (24 h)", s.repeat_callers.to_string());
    line("topics heard", pairs(&s.topics));
    line("transfer results", pairs(&s.dial_results));
    line("last node before hang-up", pairs(&s.exit_nodes));
    out.push_str("\nday         calls     kk     ru  self_service  operator  emergency  abandoned  failed_transfer\n");
    for d in &s.days {
        let _ = writeln!(
            out,
            "{}  {:>5}  {:>5}  {:>5}  {:>12}  {:>8}  {:>9}  {:>9}  {:>15}",
            d.day, d.calls, d.kk, d.ru, d.self_service, d.operator, d.emergency, d.abandoned, d.failed_transfer
        );
    }
    out
}

fn pairs(map: &BTreeMap<String, i64>) -> String {
    if map.is_empty() {
        return "-".to_owned();
    }
    map.iter().map(|(k, v)| format!("{k} {v}")).collect::<Vec<_>>().join(", ")
}

fn csv(s: &Summary) -> String {
    let mut out = String::new();
    if let Some(warning) = synthetic_warning(s) {
        let _ = writeln!(out, "# {warning}");
    }
    out.push_str(
        "day,calls,kk,ru,self_service,operator,emergency,abandoned,failed_transfer,emergency_transfers,operator_transfers\n",
    );
    for d in &s.days {
        let _ = writeln!(
            out,
            "{},{},{},{},{},{},{},{},{},{},{}",
            d.day,
            d.calls,
            d.kk,
            d.ru,
            d.self_service,
            d.operator,
            d.emergency,
            d.abandoned,
            d.failed_transfer,
            d.emergency_transfers,
            d.operator_transfers
        );
    }
    out
}
