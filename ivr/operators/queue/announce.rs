//! What a waiting caller hears of their place: their position, in their language, when it
//! has changed and no sooner than [`ANNOUNCE_EVERY`] after the last time, with the keys
//! that still work (9 the police at once; any other key advice and the menu, keeping their
//! place). Between announcements they hear silence while the line waits for a key.
//!
//! Built from recorded fragments like the operator's whisper: a lead-in, the number (one to
//! nine) or "more than nine", and the keys. Nothing here depends on who calls.

use std::sync::LazyLock;

use crate::flow::PromptKey;

/// The least time between two announcements of a caller's position.
pub const ANNOUNCE_EVERY: u32 = 30;

/// Positions said as a number; beyond it, "more than nine".
pub const SAID_UP_TO: u32 = 9;

/// The fragments, parsed once: `'static`, so a turn borrows them like the flow's own.
struct Fragments {
    lead: PromptKey,
    numbers: Vec<PromptKey>,
    many: PromptKey,
    keys: PromptKey,
}

#[allow(clippy::expect_used, reason = "literal keys, each a valid prompt key")]
static FRAGMENTS: LazyLock<Fragments> = LazyLock::new(|| {
    let key = |text: &str| PromptKey::parse(text).expect("queue fragment keys are valid prompt keys");
    Fragments {
        lead: key("queue_position"),
        numbers: (1..=SAID_UP_TO).map(|n| key(&format!("queue_number_{n}"))).collect(),
        many: key("queue_position_many"),
        keys: key("queue_keys"),
    }
});

/// The fragments telling a caller they are `position`th (1: next).
pub fn announcement(position: u32) -> Vec<&'static PromptKey> {
    let fragments = &*FRAGMENTS;
    let number = usize::try_from(position.max(1) - 1).ok().and_then(|i| fragments.numbers.get(i));
    match number {
        Some(number) => vec![&fragments.lead, number, &fragments.keys],
        None => vec![&fragments.many, &fragments.keys],
    }
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
    [&fragments.lead, &fragments.many, &fragments.keys].into_iter().chain(&fragments.numbers).cloned().collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(keys: Vec<&PromptKey>) -> Vec<String> {
        keys.into_iter().map(|k| k.to_string()).collect()
    }

    #[test]
    fn positions_up_to_nine_are_said_as_numbers_beyond_as_many() {
        assert_eq!(names(announcement(1)), ["queue_position", "queue_number_1", "queue_keys"]);
        assert_eq!(names(announcement(9)), ["queue_position", "queue_number_9", "queue_keys"]);
        assert_eq!(names(announcement(10)), ["queue_position_many", "queue_keys"]);
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
        assert_eq!(all.len(), 3 + SAID_UP_TO as usize);
        for position in 1..=12 {
            assert!(announcement(position).into_iter().all(|k| all.contains(k)));
        }
    }
}
