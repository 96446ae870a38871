//! The names of the Prometheus metrics and the counters recorded where things happen
//! (the call path, the statistics writer, sign-in), through the `metrics` crate's global
//! recorder: without `IVR_METRICS_LISTEN` none is installed and recording costs nothing.
//!
//! Its own module, importing nothing of the service but the pure flow, so that every floor
//! may record (statistics, accounts) while the listener that serves them
//! (`monitoring::metrics`) stands above them all.
//!
//! No label ever holds a caller identifier or free text: every label value comes from a
//! fixed set (a dialect, a route template, a status code, an outcome, a language).

use std::time::Duration;

use metrics::{counter, histogram};

use crate::flow::{DialOutcome, Event, Step};

/// Webhooks answered, by `dialect`, `route` (the route's template) and `status`.
pub const WEBHOOKS: &str = "ivr_webhooks_total";
/// How long webhooks took to answer, by `dialect` and `route`.
pub const WEBHOOK_SECONDS: &str = "ivr_webhook_duration_seconds";
/// Calls answered, by `dialect`: `twilio` and `jambonz` (an incoming-call webhook that
/// started a call), `asterisk` (a FastAGI conversation that started one).
pub const CALLS_STARTED: &str = "ivr_calls_started_total";
/// Transfers to the police begun.
pub const EMERGENCY_TRANSFERS: &str = "ivr_emergency_transfers_total";
/// How transfers to the police ended, by `outcome`.
pub const EMERGENCY_OUTCOMES: &str = "ivr_emergency_transfer_outcomes_total";
/// Transfers to operators, by `route`: the rule that chose who was rung (`language`,
/// `any_language`, `language_not_chosen`, `switchboard`, `nobody`: `operators::Route`).
pub const OPERATOR_TRANSFERS: &str = "ivr_operator_transfers_total";
/// How transfers to operators ended, by `outcome`.
pub const OPERATOR_OUTCOMES: &str = "ivr_operator_transfer_outcomes_total";
/// Records waiting in the statistics channel for the writer.
pub const STATS_QUEUED: &str = "ivr_stats_channel_depth";
/// Files in the statistics spool, waiting to be replayed into the database.
pub const SPOOL_FILES: &str = "ivr_stats_spool_files";
/// Bytes in the statistics spool.
pub const SPOOL_BYTES: &str = "ivr_stats_spool_bytes";
/// 1 while the last append to the spool failed: statistics are being lost.
pub const SPOOL_FAILING: &str = "ivr_stats_spool_failing";
/// Records replayed from the spool into the database.
pub const RECORDS_REPLAYED: &str = "ivr_stats_records_replayed_total";
/// How long the statistics writer's commits take.
pub const COMMIT_SECONDS: &str = "ivr_stats_commit_duration_seconds";
/// Statistics ids made under a key of this process only (the day's shared key not read
/// yet), by `record`: `start` (a new call's id), `end` (a status callback's). Another
/// instance, or this one after a restart, cannot link them to the rest of their call.
pub const LINKED_BY_THIS_PROCESS: &str = "ivr_stats_linked_by_this_process_total";
/// 1 while the database took the statistics writer's last attempt.
pub const DATABASE_UP: &str = "ivr_database_up";
/// Seconds since the roster was loaded from the database (since start-up, before the first load).
pub const ROSTER_AGE: &str = "ivr_roster_snapshot_age_seconds";
/// Available operators who take calls in `language`.
pub const OPERATORS_AVAILABLE: &str = "ivr_operators_available";
/// 1 when `IVR_OPERATOR_NUMBER` (the switchboard) is set.
pub const SWITCHBOARD: &str = "ivr_switchboard_configured";
/// 1 while `/readyz` says ready.
pub const READY: &str = "ivr_ready";
/// Sign-ins refused for a wrong name or password.
pub const SIGNIN_FAILURES: &str = "ivr_signin_failures_total";
/// Sign-ins refused because their name had too many recent failures.
pub const SIGNIN_THROTTLED: &str = "ivr_signin_throttled_total";

/// Counts what one flow step did: transfers begun and ended. `rung` names
/// the rule that chose who was rung for each transfer to operators (`Route::as_str`: a
/// closed set, so the label's values are bounded). Called for every step the webhooks take.
pub fn step(step: &Step<'_>, rung: impl IntoIterator<Item = &'static str>) {
    for event in &step.events {
        match event {
            Event::EmergencyTransfer => counter!(EMERGENCY_TRANSFERS).increment(1),
            Event::DialEnded { emergency: true, outcome } => {
                counter!(EMERGENCY_OUTCOMES, "outcome" => outcome_label(*outcome)).increment(1);
            }
            Event::DialEnded { emergency: false, outcome } => {
                counter!(OPERATOR_OUTCOMES, "outcome" => outcome_label(*outcome)).increment(1);
            }
            _ => {}
        }
    }
    for route in rung {
        counter!(OPERATOR_TRANSFERS, "route" => route).increment(1);
    }
}

/// A call started on `dialect` (`twilio`, `jambonz`, `asterisk`).
pub fn call_started(dialect: &'static str) {
    counter!(CALLS_STARTED, "dialect" => dialect).increment(1);
}

fn outcome_label(outcome: DialOutcome) -> &'static str {
    match outcome {
        DialOutcome::Completed => "completed",
        DialOutcome::Busy => "busy",
        DialOutcome::NoAnswer => "no-answer",
        DialOutcome::Failed => "failed",
    }
}

/// One commit of the statistics writer.
pub fn committed(took: Duration) {
    histogram!(COMMIT_SECONDS).record(took);
}

/// Records replayed from the spool into the database.
pub fn replayed(records: usize) {
    counter!(RECORDS_REPLAYED).increment(records as u64);
}

/// A call's id (`record`: `start` or `end`) made under a key of this process only.
pub fn linked_by_this_process(record: &'static str) {
    counter!(LINKED_BY_THIS_PROCESS, "record" => record).increment(1);
}

/// A failed sign-in (wrong name or password).
pub fn signin_failed() {
    counter!(SIGNIN_FAILURES).increment(1);
}

/// A sign-in refused for too many recent failures.
pub fn signin_throttled() {
    counter!(SIGNIN_THROTTLED).increment(1);
}
