//! Warnings whose cause can repeat every few hundred milliseconds ("database unavailable"
//! while it flaps under load, "commits are slow" while the machine is short of CPU) are
//! said at most once per [`WARNING_EVERY`], with how often the cause happened since the last
//! one: the log stays readable, and the count still says how bad it was.

use std::time::Duration;

use tokio::time::Instant;

/// At most one warning of a kind this often.
pub(super) const WARNING_EVERY: Duration = Duration::from_secs(10);

/// A warning said at most once per [`WARNING_EVERY`], with how often its cause
/// happened since it was last said.
#[derive(Debug, Default)]
pub(super) struct Throttled {
    said: Option<Instant>,
    since: u64,
}

impl Throttled {
    /// Counts one occurrence; the count to say when the warning is due and `may_say`.
    pub(super) fn occurred(&mut self, may_say: bool) -> Option<u64> {
        self.since += 1;
        if !may_say || self.said.is_some_and(|at| at.elapsed() < WARNING_EVERY) {
            return None;
        }
        self.said = Some(Instant::now());
        Some(std::mem::take(&mut self.since))
    }
}
