//! The voice backend of Kazakhstan's 111 helpline for family, women's and children's
//! rights. See README.md for what it does and its "Layout" section for where each part
//! lives: a pure [`flow::step`], wrapped by the call core ([`call`]), between a provider
//! dialect ([`telephony`]) and the prompt library.
//!
//! Every public item is documented: `missing_docs` in Cargo.toml's `[lints]`, and CI
//! denies warnings.

/// Every binary built on this library (`ivr`, the tests, the benchmarks and their bare
/// baseline) allocates through mimalloc: a webhook allocates and frees a few hundred small
/// blocks, and glibc's allocator was about a sixth of the service's CPU under load
/// (BENCHMARKS.md, "Stop 20"). SQLite's own C allocations still go through glibc.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

pub mod access;
pub mod admin;
pub mod api;
pub mod app;
pub mod call;
pub mod call_edge;
pub mod config;
pub mod db;
pub mod desk;
pub mod error;
pub mod flow;
pub mod http_server;
pub mod instruments;
pub mod logging;
pub mod monitoring;
pub mod operators;
pub mod prompts;
pub mod reports;
pub mod review;
pub mod simulate;
pub mod softphone;
pub mod state;
pub mod stats;
pub mod tasks;
pub mod telephony;
