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

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use tokio::time::advance;

    use super::Throttled;

    /// The first occurrence is said at once; those within the next 10 s are only counted,
    /// and the first one 10 s on is said with all of them, itself included.
    #[tokio::test(start_paused = true)]
    async fn a_warning_is_said_at_most_once_per_ten_seconds_with_the_count_since() {
        let mut warning = Throttled::default();
        assert_eq!(warning.occurred(true), Some(1), "the first is said at once");
        for _ in 0..4 {
            advance(Duration::from_secs(2)).await;
            assert_eq!(warning.occurred(true), None, "within 10 s: counted, not said");
        }
        advance(Duration::from_millis(1999)).await;
        assert_eq!(warning.occurred(true), None, "9.999 s on: not yet");
        advance(Duration::from_millis(1)).await;
        assert_eq!(warning.occurred(true), Some(6), "10 s on: the five held back and itself");
        assert_eq!(warning.occurred(true), None, "and the next 10 s start");
    }

    /// An occurrence its caller holds back is not said but counted, even when the warning
    /// is due: the next one said includes it.
    #[tokio::test(start_paused = true)]
    async fn an_occurrence_held_back_is_counted_in_the_next_warning() {
        let mut warning = Throttled::default();
        assert_eq!(warning.occurred(false), None);
        assert_eq!(warning.occurred(false), None);
        assert_eq!(warning.occurred(true), Some(3));
    }
}
