//! Whole-service tests: one binary, one file per capability. A test of the service starts
//! its own on port 0 (`helpers::spawn_app`) and speaks HTTP to it; the command-line tests
//! run the `ivr` binary of this build, and the store suites use a database alone.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "a test stops at the first surprise, with the message saying which"
)]

mod access;
mod asterisk;
mod bad_requests;
mod browser;
mod call_path;
mod check;
mod dashboard;
mod database;
mod desk;
mod emergency;
mod fallback;
mod helpers;
mod lifecycle;
mod metrics;
mod operators;
mod optional;
mod prompts;
mod queue;
mod readme;
mod reports;
mod roster;
mod service;
mod signatures;
mod simulate;
mod stats;
