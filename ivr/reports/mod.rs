//! What the reports say and in which formats, for administrators and analysts: the
//! parameters a report takes, checked before anything is read ([`query`]); the summary
//! and daily totals as JSON and CSV, with small counts suppressed, and one anonymous row
//! per call as CSV ([`export`]); and `ivr report` ([`cli`]). The HTTP routes that serve
//! them are in [`crate::api`]. Rows carry no caller identifier: a call's row has none. The
//! one trace of a number in the database is its keyed hash in `recent_callers` (for "called
//! before"), kept 24 hours after its last call; a reader of the database alone cannot tie
//! it to a call's row.

pub mod cli;
pub mod export;
pub mod query;

pub use export::{CALLS_HEADER, DAILY_HEADER};
pub use query::{BadQuery, MAX_DAYS, ReportFormat, ReportQuery};
