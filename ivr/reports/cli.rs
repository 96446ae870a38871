//! `ivr report`: the summary of a range of days on the command line, the last 7 by
//! default, in three formats: a table for people, JSON (the summary exactly as
//! `/api/v1/reports/summary` returns it) and CSV (exactly `/api/v1/reports/daily.csv`: one
//! row per day). The range is checked like the API's, so the command and the API refuse
//! the same ranges with the same sentence; an average with nothing to average is a dash,
//! as on the dashboard. Demo data is announced in every format (on standard error for
//! JSON and CSV, so what they print stays machine-readable).

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::io::Write as _;

use chrono::{Days, Utc};

use super::export::{daily_csv, summary_json};
use super::query;
use crate::config::Settings;
use crate::db::cli::{Outcome, with_db};
use crate::stats::DateRange;
use crate::stats::{Summarize, Summary};

/// Days a report covers when no range is given: the last week, today included.
const DEFAULT_DAYS: u64 = 7;

/// `ivr report`: the range and how to print it.
#[derive(clap::Args, Debug)]
pub struct ReportArgs {
    /// First day (UTC), YYYY-MM-DD; default: 6 days before --to.
    #[arg(long)]
    pub from: Option<String>,
    /// Last day (UTC), YYYY-MM-DD, included; default: today.
    #[arg(long)]
    pub to: Option<String>,
    /// How to print: a table to read, JSON, or CSV (one row per day).
    #[arg(long, value_enum, default_value_t = Format::Table)]
    pub format: Format,
}

/// How `ivr report` prints.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    /// Aligned text to read.
    Table,
    /// The summary as the reports API gives it.
    Json,
    /// One row per day, as `/api/v1/reports/daily.csv`.
    Csv,
}

/// Prints the summary of a range.
pub fn report(args: ReportArgs) -> Outcome {
    let range =
        chosen_range(args.from.as_deref(), args.to.as_deref()).map_err(|e| vec![format!("--from/--to: {e}")])?;
    let settings = Settings::from_env()?;
    with_db(&settings, |db| async move {
        let summary = db.summary(range).await.map_err(|e| vec![e.to_string()])?;
        let text = render(&summary, args.format).map_err(|e| vec![format!("writing CSV: {e}")])?;
        // A closed pipe (`| head`) is the reader's choice, not an error.
        let _ = std::io::stdout().lock().write_all(text.as_bytes());
        if let Some(warning) = synthetic_warning(&summary).filter(|_| args.format != Format::Table) {
            eprintln!("warning: {warning}");
        }
        Ok(())
    })
}

/// The range asked for, or the last [`DEFAULT_DAYS`] ending at `--to` (today without it),
/// within the API's limit.
fn chosen_range(from: Option<&str>, to: Option<&str>) -> Result<DateRange, query::BadQuery> {
    let to = to.map_or_else(|| Utc::now().date_naive().to_string(), str::to_owned);
    let from = match from {
        Some(from) => from.to_owned(),
        None => {
            let last = query::range(&to, &to)?.to;
            last.checked_sub_days(Days::new(DEFAULT_DAYS - 1)).unwrap_or(last).to_string()
        }
    };
    query::range(&from, &to)
}

/// The summary in `format`.
pub fn render(summary: &Summary, format: Format) -> Result<String, csv::Error> {
    Ok(match format {
        Format::Table => table(summary),
        Format::Json => serde_json::to_string_pretty(&summary_json(summary, 1)).unwrap_or_default() + "\n",
        Format::Csv => String::from_utf8_lossy(&daily_csv(summary, 1)?).into_owned(),
    })
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
    line("abandoned (not heard out)", s.abandoned.to_string());
    line("avg seconds in the menu", seconds(s.avg_ivr_seconds));
    line("avg seconds to transfer", seconds(s.avg_seconds_to_transfer));
    line("avg seconds to answer", seconds(s.avg_seconds_to_answer));
    line("wrong keys / timeouts", format!("{} / {}", s.invalid_keys, s.timeouts));
    line("repeat callers (24 h)", s.repeat_callers.to_string());
    line("topics heard", pairs(&s.topics));
    line("transfer results", pairs(&s.dial_results));
    line("last node before hang-up", pairs(&s.exit_nodes));
    for (language, q) in s.queue.iter().filter(|(_, q)| q.queued > 0) {
        let waited = format!(
            "{} waited (answered {}, overflowed {}, left {}, abandoned {}; rung by overflow {}), \
             avg {} s, longest {} s, avg position {}",
            q.queued,
            q.answered,
            q.overflowed,
            q.left,
            q.abandoned,
            q.rung_by_overflow,
            seconds(q.avg_seconds),
            q.max_seconds.map_or_else(|| "—".to_owned(), |m| m.to_string()),
            seconds(q.avg_position),
        );
        line(&format!("operators' queue ({language})"), waited);
    }
    line("answered per operator", pairs(&s.answered_by_operator));
    out.push_str(
        "\nday         calls     kk     ru  self_service  operator  emergency  abandoned  failed_transfer  queued  \
         queue_answered  queue_abandoned\n",
    );
    for d in &s.days {
        let _ = writeln!(
            out,
            "{}  {:>5}  {:>5}  {:>5}  {:>12}  {:>8}  {:>9}  {:>9}  {:>15}  {:>6}  {:>14}  {:>15}",
            d.day,
            d.calls,
            d.kk,
            d.ru,
            d.self_service,
            d.operator,
            d.emergency,
            d.abandoned,
            d.failed_transfer,
            d.queued,
            d.queue_answered,
            d.queue_abandoned
        );
    }
    out
}

/// An average, or a dash when nothing was measured, as the dashboard shows it.
fn seconds(average: Option<f64>) -> String {
    average.map_or_else(|| "—".to_owned(), |s| format!("{s:.1}"))
}

fn pairs(map: &BTreeMap<String, i64>) -> String {
    if map.is_empty() {
        return "—".to_owned();
    }
    map.iter().map(|(k, v)| format!("{k} {v}")).collect::<Vec<_>>().join(", ")
}
