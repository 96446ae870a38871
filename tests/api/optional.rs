//! Suites that need what a bare `cargo test` does not have: a PostgreSQL server
//! (`IVR_TEST_POSTGRES_URL`) or a browser (`IVR_TEST_BROWSER=1`). Without it, their tests
//! pass without running, and the run says so once per suite on the terminal (past the test
//! harness's capture, so it is seen beside the summary). With `CI` set they FAIL instead:
//! CI must never count a suite as passed that did not run.

use std::collections::BTreeSet;
use std::io::Write;
use std::sync::Mutex;

/// The value of `variable` when `suite` can run; `None` (said once) when it cannot.
/// Panics when `CI` is set and `variable` is not.
pub fn suite(variable: &'static str, suite: &'static str) -> Option<String> {
    if let Some(value) = std::env::var(variable).ok().filter(|v| !v.trim().is_empty()) {
        return Some(value);
    }
    if std::env::var("CI").is_ok_and(|v| !v.trim().is_empty()) {
        panic!("CI is set but {variable} is not: the {suite} would pass without running");
    }
    static SAID: Mutex<BTreeSet<&str>> = Mutex::new(BTreeSet::new());
    if SAID.lock().map(|mut said| said.insert(variable)).unwrap_or(false) {
        let line = format!("\nSKIPPED: the {suite} does not run (set {variable}); its tests count as passed\n");
        let _ = std::io::stderr().write_all(line.as_bytes());
    }
    None
}
