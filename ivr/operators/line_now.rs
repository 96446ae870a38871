//! The line now, as the operators' desk shows it: callers waiting in each queue and how long
//! the first of them has waited, and the state of every operator. One snapshot per instance
//! ([`LiveLine`]), filled every second by one task (`desk/refresh.rs`) and read by every
//! desk page and every live stream at once, so a hundred open desks cost the database
//! nothing more than one.
//!
//! It lives here, beside the roster snapshot, because the service's shared state holds it
//! (`state.rs`); what fills it and what shows it are the desk's (`crate::desk`). Nothing in
//! it is about a caller: counts and times of waiting only, never a ticket.

use std::sync::atomic::{AtomicBool, Ordering};

use tokio::sync::watch;

use super::State;
use crate::flow::Language;

/// One queue: the callers of one language, or those who chose none.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct QueueNow {
    /// `kk`, `ru`, or `none` for callers who chose no language.
    pub queue: &'static str,
    /// Callers waiting for a person (those being rung included).
    pub waiting: u32,
    /// Of them, being rung now.
    pub ringing: u32,
    /// How long the one waiting longest has waited, in seconds (`None`: nobody waits).
    pub longest_wait_seconds: Option<u64>,
}

impl QueueNow {
    /// An empty queue of `language` (`None`: no language chosen).
    pub fn empty(language: Option<Language>) -> QueueNow {
        QueueNow { queue: language.map_or("none", Language::code), waiting: 0, ringing: 0, longest_wait_seconds: None }
    }
}

/// One operator on the roster, as the desk shows them: a name and a state, nothing more.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct OperatorNow {
    /// The roster entry.
    pub id: i64,
    /// The name administrators know them by.
    pub name: String,
    /// Their state as this instance's roster last loaded it.
    pub state: State,
}

/// What the database said when the line was last read.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Reading {
    /// Nothing read yet (the service has just started).
    NotYet,
    /// Read: the queues are current.
    Current,
    /// The database did not answer: the queues are unknown, the operators' states are the
    /// last loaded (the line still rings operators from memory).
    DatabaseUnreachable,
}

/// The line at one moment.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct LineNow {
    /// Whether the queues could be read (and the states are current).
    pub reading: Reading,
    /// Kazakh, Russian, no language: always the three, empty when nobody waits; empty
    /// counts too when the queues could not be read (see `reading`).
    pub queues: Vec<QueueNow>,
    /// Every operator on the roster, by id.
    pub operators: Vec<OperatorNow>,
    /// The roster's states could not be reloaded: routing rings every available operator
    /// whatever their state until they can.
    pub states_stale: bool,
}

impl LineNow {
    /// Before the first reading.
    pub fn not_yet() -> LineNow {
        LineNow { reading: Reading::NotYet, queues: empty_queues(), operators: Vec::new(), states_stale: false }
    }

    /// How many operators are in `state`.
    pub fn count(&self, state: State) -> usize {
        self.operators.iter().filter(|o| o.state == state).count()
    }
}

/// The three queues, empty: Kazakh, Russian, no language.
pub fn empty_queues() -> Vec<QueueNow> {
    [Some(Language::Kk), Some(Language::Ru), None].into_iter().map(QueueNow::empty).collect()
}

/// The line now, shared by the task that reads it and everyone who shows it.
#[derive(Debug)]
pub struct LiveLine {
    current: watch::Sender<LineNow>,
    /// Set when the instance starts draining: the live streams end, so an open desk does
    /// not hold the drain for its whole period.
    closed: AtomicBool,
}

impl Default for LiveLine {
    fn default() -> LiveLine {
        LiveLine { current: watch::Sender::new(LineNow::not_yet()), closed: AtomicBool::new(false) }
    }
}

impl LiveLine {
    /// The line as last read.
    pub fn now(&self) -> LineNow {
        self.current.borrow().clone()
    }

    /// Puts a new reading in place; wakes the subscribers only when it differs.
    pub fn publish(&self, line: LineNow) {
        self.current.send_if_modified(|current| {
            let changed = *current != line;
            *current = line;
            changed
        });
    }

    /// A receiver woken at each change (and when the line closes).
    pub fn subscribe(&self) -> watch::Receiver<LineNow> {
        self.current.subscribe()
    }

    /// Ends every live stream (the instance is draining): they see [`LiveLine::is_closed`].
    pub fn close(&self) {
        self.closed.store(true, Ordering::SeqCst);
        self.current.send_modify(|_| {});
    }

    /// Whether the instance is draining and streams should end.
    pub fn is_closed(&self) -> bool {
        self.closed.load(Ordering::SeqCst)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_reading_that_changes_nothing_wakes_nobody() {
        let line = LiveLine::default();
        let mut seen = line.subscribe();
        seen.mark_unchanged();
        line.publish(LineNow::not_yet());
        assert!(!seen.has_changed().unwrap_or(true), "the same line: no wake");
        let mut waiting = LineNow::not_yet();
        waiting.queues[0].waiting = 1;
        line.publish(waiting);
        assert!(seen.has_changed().unwrap_or(false));
        assert_eq!(seen.borrow_and_update().queues[0].waiting, 1);
        line.close();
        assert!(seen.has_changed().unwrap_or(false) && line.is_closed(), "closing wakes every stream");
    }
}
