//! What a waiting caller hears of their place: their position, in their language, when it
//! has changed and no sooner than [`ANNOUNCE_EVERY`] after the last time, with the keys
//! that still work (9 the police at once; any other key advice and the menu, keeping their
//! place). Between announcements they hear silence while the line waits for a key.
//!
//! Built from recorded fragments like the operator's whisper: a lead-in, the number (one to
//! nine) or "more than nine", the expected wait when the queue's pace tells it, and the keys.
//! Nothing here depends on who calls.
//!
//! The expected wait is honest or not said: the caller's position times the time between
//! rings out of their queue over the last [`PACE_OVER`], said only when at least
//! [`PACE_AT_LEAST`] callers were rung then: "under a minute", else whole minutes rounded up
//! (one to nine), or "more than nine".

use std::sync::LazyLock;

use chrono::TimeDelta;

use crate::flow::PromptKey;

/// The least time between two announcements of a caller's position.
pub const ANNOUNCE_EVERY: u32 = 30;

/// Positions said as a number; beyond it, "more than nine".
pub const SAID_UP_TO: u32 = 9;

/// The time over which a queue's pace is read.
pub const PACE_OVER: TimeDelta = TimeDelta::minutes(15);

/// The fewest rings over [`PACE_OVER`] that tell a pace.
pub const PACE_AT_LEAST: u32 = 3;

/// The fragments, parsed once: `'static`, so a turn borrows them like the flow's own.
struct Fragments {
    lead: PromptKey,
    numbers: Vec<PromptKey>,
    many: PromptKey,
    wait: PromptKey,
    wait_short: PromptKey,
    wait_long: PromptKey,
    keys: PromptKey,
}

#[allow(clippy::expect_used, reason = "literal keys, each a valid prompt key")]
static FRAGMENTS: LazyLock<Fragments> = LazyLock::new(|| {
    let key = |text: &str| PromptKey::parse(text).expect("queue fragment keys are valid prompt keys");
    Fragments {
        lead: key("queue_position"),
        numbers: (1..=SAID_UP_TO).map(|n| key(&format!("queue_number_{n}"))).collect(),
        many: key("queue_position_many"),
        wait: key("queue_wait"),
        wait_short: key("queue_wait_short"),
        wait_long: key("queue_wait_long"),
        keys: key("queue_keys"),
    }
});

/// The fragments telling a caller they are `position`th (1: next), and how long they may
/// expect to wait when that is known.
pub fn announcement(position: u32, expected: Option<TimeDelta>) -> Vec<&'static PromptKey> {
    let fragments = &*FRAGMENTS;
    let said = |n: u32| usize::try_from(n.max(1) - 1).ok().and_then(|i| fragments.numbers.get(i));
    let mut keys = match said(position) {
        Some(number) => vec![&fragments.lead, number],
        None => vec![&fragments.many],
    };
    if let Some(expected) = expected {
        let minutes = u32::try_from((expected.num_seconds() + 59) / 60).unwrap_or(u32::MAX);
        match said(minutes) {
            _ if expected < TimeDelta::minutes(1) => keys.push(&fragments.wait_short),
            Some(number) => keys.extend([&fragments.wait, number]),
            None => keys.push(&fragments.wait_long),
        }
    }
    keys.push(&fragments.keys);
    keys
}

/// The expected wait of a caller `position`th in a queue out of which `rung` callers were
/// rung over the last [`PACE_OVER`]; `None` when too few were to tell.
pub fn expected_wait(position: u32, rung: u32) -> Option<TimeDelta> {
    (rung >= PACE_AT_LEAST)
        .then(|| PACE_OVER * i32::try_from(position).unwrap_or(i32::MAX) / i32::try_from(rung).unwrap_or(i32::MAX))
}

/// Whether a caller now `position`th, last told `told_position` at `told_at` (seconds since
/// 1970; 0: never told), is told again at `now`.
pub fn due(position: u32, told_position: u16, told_at: u32, now: u32) -> bool {
    let changed = u32::from(told_position) != position.min(u32::from(u16::MAX));
    changed && (told_at == 0 || now.saturating_sub(told_at) >= ANNOUNCE_EVERY)
}

/// Every fragment an announcement can use, for validation at start-up.
pub fn all_queue_prompts() -> Vec<PromptKey> {
    let fragments = &*FRAGMENTS;
    [&fragments.lead, &fragments.many, &fragments.wait, &fragments.wait_short, &fragments.wait_long, &fragments.keys]
        .into_iter()
        .chain(&fragments.numbers)
        .cloned()
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(keys: Vec<&PromptKey>) -> Vec<String> {
        keys.into_iter().map(|k| k.to_string()).collect()
    }

    #[test]
    fn positions_up_to_nine_are_said_as_numbers_beyond_as_many() {
        assert_eq!(names(announcement(1, None)), ["queue_position", "queue_number_1", "queue_keys"]);
        assert_eq!(names(announcement(9, None)), ["queue_position", "queue_number_9", "queue_keys"]);
        assert_eq!(names(announcement(10, None)), ["queue_position_many", "queue_keys"]);
    }

    #[test]
    fn the_expected_wait_is_said_in_whole_minutes_rounded_up() {
        let said = |seconds| names(announcement(2, Some(TimeDelta::seconds(seconds))));
        assert_eq!(said(40), ["queue_position", "queue_number_2", "queue_wait_short", "queue_keys"]);
        assert_eq!(said(61), ["queue_position", "queue_number_2", "queue_wait", "queue_number_2", "queue_keys"]);
        assert_eq!(said(600), ["queue_position", "queue_number_2", "queue_wait_long", "queue_keys"]);
    }

    #[test]
    fn the_expected_wait_is_the_position_times_the_pace_or_nothing() {
        assert_eq!(expected_wait(2, 2), None, "two rings in fifteen minutes tell no pace");
        assert_eq!(expected_wait(2, 3), Some(TimeDelta::minutes(10)));
        assert_eq!(expected_wait(1, 30), Some(TimeDelta::seconds(30)));
    }

    #[test]
    fn told_when_changed_and_not_within_thirty_seconds() {
        assert!(due(3, 0, 0, 1_000), "first time");
        assert!(!due(3, 3, 900, 1_000), "unchanged");
        assert!(!due(2, 3, 990, 1_000), "changed ten seconds after the last");
        assert!(due(2, 3, 970, 1_000), "changed thirty seconds after");
    }

    #[test]
    fn every_fragment_is_listed_for_validation() {
        let all = all_queue_prompts();
        assert_eq!(all.len(), 6 + SAID_UP_TO as usize);
        for position in 1..=12 {
            for minutes in [None, Some(0), Some(5), Some(12)] {
                let expected = minutes.map(TimeDelta::minutes);
                assert!(announcement(position, expected).into_iter().all(|k| all.contains(k)));
            }
        }
    }
}
