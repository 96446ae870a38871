//! What the reports say and in which formats, for administrators and analysts: the
//! parameters a report takes, checked before anything is read ([`query`]); the summary
//! and daily totals as JSON and CSV, with small counts suppressed, and one anonymous row
//! per call as CSV ([`export`]); and `ivr report` ([`cli`]). The HTTP routes that serve
//! them are in [`crate::api`]. Rows carry no caller identifier: there is none in the
//! database.

pub mod cli;
pub mod export;
pub mod query;

pub use export::{CALLS_HEADER, DAILY_HEADER};
pub use query::{BadQuery, MAX_DAYS, ReportFormat, ReportQuery};
