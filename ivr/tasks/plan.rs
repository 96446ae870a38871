//! A drain's timeline, from the signal: how long conversations go on, and how much of the
//! period is kept for what comes after them (the producers of statistics, the writer).

use std::time::Duration;

use tokio::time::Instant;

/// The end of a drain is kept for finishing conversations in flight and the statistics: a
/// quarter of the period, between these bounds.
const TAIL_MIN: Duration = Duration::from_millis(500);
const TAIL_MAX: Duration = Duration::from_secs(2);

/// A drain's timeline, from the signal.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct DrainPlan {
    /// Until then every connection is accepted and every conversation answered.
    pub stop_accepting: Instant,
    /// Conversations still in flight then are cut off.
    pub conversations_done: Instant,
    /// The producers of statistics (the repeat-caller check) finish by then.
    pub producers_done: Instant,
    /// The statistics are spooled, and the spool replayed until then; the database is
    /// closed by then, and the process exits.
    pub deadline: Instant,
}

impl DrainPlan {
    /// The plan of a drain of `period` starting `now`. It ends at `now + period` (at
    /// least [`TAIL_MIN`] after `now`, for a period of 0).
    pub fn starting(now: Instant, period: Duration) -> DrainPlan {
        let tail = (period / 4).clamp(TAIL_MIN, TAIL_MAX);
        let deadline = now + period.max(tail);
        let stop_accepting = deadline - tail;
        let conversations_done = stop_accepting + tail / 2;
        DrainPlan { stop_accepting, conversations_done, producers_done: conversations_done + tail / 4, deadline }
    }

    /// The plan of a service with no connection open when the drain starts: nobody to wait
    /// for, so it stops accepting at once and the tail starts now; the statistics still
    /// have until the end of the period, should they have anything left to write.
    pub fn idle(now: Instant, period: Duration) -> DrainPlan {
        let busy = DrainPlan::starting(now, period);
        let from_now = |at: Instant| now + (at - busy.stop_accepting);
        DrainPlan {
            stop_accepting: now,
            conversations_done: from_now(busy.conversations_done),
            producers_done: from_now(busy.producers_done),
            deadline: busy.deadline,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_drain_ends_within_its_period_and_keeps_its_tail_for_the_statistics() {
        let now = Instant::now();
        let plan = DrainPlan::starting(now, Duration::from_secs(10));
        assert_eq!(plan.deadline, now + Duration::from_secs(10));
        assert_eq!(plan.stop_accepting, now + Duration::from_secs(8));
        assert!(plan.stop_accepting < plan.conversations_done);
        assert!(plan.conversations_done < plan.producers_done && plan.producers_done < plan.deadline);
        let short = DrainPlan::starting(now, Duration::from_secs(1));
        assert_eq!(
            (short.stop_accepting, short.deadline),
            (now + Duration::from_millis(500), now + Duration::from_secs(1))
        );
    }

    #[test]
    fn a_drain_of_nothing_still_lets_conversations_in_flight_finish() {
        let now = Instant::now();
        let plan = DrainPlan::starting(now, Duration::ZERO);
        assert_eq!(plan.stop_accepting, now);
        assert_eq!(plan.deadline, now + TAIL_MIN);
        assert!(plan.conversations_done > now);
    }

    #[test]
    fn an_idle_drain_stops_accepting_at_once_and_keeps_the_deadline_for_the_statistics() {
        let now = Instant::now();
        let plan = DrainPlan::idle(now, Duration::from_secs(10));
        assert_eq!(plan.stop_accepting, now);
        assert_eq!(plan.conversations_done, now + Duration::from_secs(1), "half the 2 s tail, from now");
        assert_eq!(plan.producers_done, now + Duration::from_millis(1500));
        assert_eq!(plan.deadline, now + Duration::from_secs(10), "the statistics keep the whole period");
    }
}
