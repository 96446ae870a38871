//! Anonymous call statistics (issue 4), on SQLite always and on PostgreSQL when
//! `IVR_TEST_POSTGRES_URL` is set: each test runs once per database, each on a database of
//! its own. Synchronisation is by `Recorder::flush` and the server's shutdown, never a
//! fixed sleep: what the service does on its own schedule (the spool, the retention purge)
//! is polled for with a deadline (as `support::eventually` does).

mod cli;
pub(crate) mod counting;
mod heard;
mod instances;
mod privacy;
mod resilience;
mod retention;
mod store_suite;
pub(crate) mod support;
