//! Whole-service tests through HTTP: one binary, one file per capability, each test on its
//! own server started by `helpers::spawn_app`.

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
mod emergency;
mod fallback;
mod helpers;
mod lifecycle;
mod metrics;
mod operators;
mod optional;
mod prompts;
mod readme;
mod reports;
mod roster;
mod service;
mod signatures;
mod simulate;
mod stats;
