//! The 111 operators a caller can be transferred to: who they are, which languages they
//! speak, whether they are available, and which of them to ring for a caller.
//!
//! The call path reads an in-memory [`Roster`] snapshot and never waits on the database;
//! the snapshot is refreshed from the database in the background (`refresh.rs`). The roster
//! is kept in the database (`store/`), managed with `ivr operators …` (`cli.rs`) and over
//! HTTP (the dashboard's page, in `admin`, and `/api/v1/operators`, in `api`), all of which check their
//! input with the types of `input.rs`.
//!
//! Each operator also has a state (`state.rs`: available, on a call, in wrap-up, away),
//! stored beside the roster (`store/states.rs`), changed by the API, the CLI and the line
//! itself (`reports.rs`: what the platforms report of a transfer, written by a task beside
//! the calls), and read into the same snapshot, so routing never rings an operator who is
//! on a call, in wrap-up or away. The operators' desk reads the line now (`line_now.rs`: the
//! queues and every operator's state), one snapshot per instance like the roster's.

pub mod cli;
mod input;
mod line_now;
pub mod queue;
mod refresh;
mod reports;
mod routing;
pub mod state;
pub mod store;
mod whisper;

use std::fmt;
use std::sync::{Arc, Mutex, RwLock};
use std::time::Instant;

use tokio::sync::Notify;

use crate::call_edge::DialTarget;
use crate::flow::Language;

pub use input::{MAX_NAME_CHARS, NewOperator, OperatorChange, OperatorName, RosterError, parse_id};
pub use line_now::{LineNow, LiveLine, OperatorNow, QueueNow, Reading, empty_queues};
pub use refresh::spawn_refresh;
pub use reports::{Answering, LineReports, LineReportsInbox, Ringing, line_reports, spawn_state_writer};
pub use routing::{MAX_RUNG, Ring, Route};
pub use state::{AwayReason, Change, OperatorState, State, StateView, UNANSWERED_BEFORE_AWAY};
pub use store::{RosterStore, StateStore, StoredOperator, switch_available};
pub use whisper::{all_whisper_prompts, every_whisper, whisper_prompts};

/// The languages an operator takes calls in.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Languages {
    /// Kazakh only.
    Kk,
    /// Russian only.
    Ru,
    /// Kazakh and Russian.
    Both,
}

impl Languages {
    /// `kk`, `ru`, or `both` (also `kk,ru`).
    pub fn parse(text: &str) -> Option<Languages> {
        match text {
            "kk" => Some(Languages::Kk),
            "ru" => Some(Languages::Ru),
            "both" | "kk,ru" | "ru,kk" => Some(Languages::Both),
            _ => None,
        }
    }

    /// Whether an operator with these languages speaks `language`.
    pub fn speaks(self, language: Language) -> bool {
        matches!((self, language), (Languages::Both, _) | (Languages::Kk, Language::Kk) | (Languages::Ru, Language::Ru))
    }

    /// The language an operator who does not speak `caller`'s language hears the whisper in.
    pub fn own(self, caller: Language) -> Language {
        match self {
            Languages::Kk => Language::Kk,
            Languages::Ru => Language::Ru,
            Languages::Both => caller,
        }
    }

    /// `kk`, `ru` or `both`, as stored and typed.
    pub fn code(self) -> &'static str {
        match self {
            Languages::Kk => "kk",
            Languages::Ru => "ru",
            Languages::Both => "both",
        }
    }
}

impl fmt::Display for Languages {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.code())
    }
}

/// One operator on the roster.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Operator {
    /// The roster entry's id.
    pub id: i64,
    /// The name administrators know them by.
    pub name: String,
    /// Where they are rung.
    pub target: DialTarget,
    /// The languages they take calls in.
    pub languages: Languages,
    /// The roster's switch: off is away.
    pub available: bool,
    /// Their state when the snapshot was loaded (away whenever `available` is off).
    pub state: State,
}

/// A snapshot of the roster, as the call path sees it.
#[derive(Clone, Debug, Default)]
pub struct Roster {
    /// Every operator on the roster, available or not.
    pub operators: Vec<Operator>,
    /// Rung when no operator on the roster is available (`IVR_OPERATOR_NUMBER`).
    pub switchboard: Option<DialTarget>,
    /// The last reload failed: the operators' states may be out of date, so routing rings
    /// every available operator as it did before operator states (on a call or not).
    pub states_stale: bool,
}

/// Said loudly at start-up, by `ivr check`, on `/` and by `/readyz` while nobody can be rung.
pub const NOBODY_TO_RING: &str = "NOBODY TO RING: no operator on the roster is available and IVR_OPERATOR_NUMBER \
     (the switchboard) is not set. A caller who asks for an operator hears that operators are busy, and a \
     silent caller goes round between that message and the main menu for ever. Add an operator \
     (`ivr operators add`) or set IVR_OPERATOR_NUMBER";

impl Roster {
    /// Whether a caller asking for an operator rings anyone: an available operator or the switchboard.
    pub fn someone_to_ring(&self) -> bool {
        self.switchboard.is_some() || self.operators.iter().any(|o| o.available)
    }

    /// `roster` without the operators and switchboard rung at an Asterisk dial string,
    /// which a webhook platform cannot dial (the same roster when it has none).
    pub fn without_dial_strings(roster: Arc<Roster>) -> Arc<Roster> {
        let channel = |target: &DialTarget| matches!(target, DialTarget::Channel(_));
        if !roster.operators.iter().any(|o| channel(&o.target)) && !roster.switchboard.as_ref().is_some_and(channel) {
            return roster;
        }
        Arc::new(Roster {
            operators: roster.operators.iter().filter(|o| !channel(&o.target)).cloned().collect(),
            switchboard: roster.switchboard.clone().filter(|target| !channel(target)),
            states_stale: roster.states_stale,
        })
    }

    /// The switchboard alone: whom a caller is rung through to once the queue has nobody
    /// free for them after their language's longest wait.
    pub fn switchboard_only(&self) -> Roster {
        Roster { operators: Vec::new(), switchboard: self.switchboard.clone(), states_stale: self.states_stale }
    }

    /// Available operators who take calls in `language`.
    pub fn available_for(&self, language: Language) -> usize {
        self.operators.iter().filter(|o| o.available && o.languages.speaks(language)).count()
    }
}

/// The roster the call path reads: a snapshot swapped whole when the roster changes, so a
/// transfer never waits on the database or sees a half-updated roster.
#[derive(Debug, Default)]
pub struct LiveRoster {
    current: RwLock<Arc<Roster>>,
    /// Wakes the refresh task after a change made through this instance.
    change: Notify,
    /// When the roster was last loaded from the database; `None` before the first load.
    loaded_at: Mutex<Option<Instant>>,
}

impl LiveRoster {
    /// Starts from `roster` (empty at start-up, until the first load).
    pub fn new(roster: Roster) -> LiveRoster {
        LiveRoster { current: RwLock::new(Arc::new(roster)), change: Notify::new(), loaded_at: Mutex::new(None) }
    }

    /// Asks the refresh task to reload the roster now (the database has just changed).
    /// Returns at once; several requests before the reload make one reload.
    pub fn request_reload(&self) {
        self.change.notify_one();
    }

    async fn change_requested(&self) {
        self.change.notified().await;
    }

    /// The roster as it is now: what one transfer uses throughout.
    pub fn snapshot(&self) -> Arc<Roster> {
        self.current.read().map_or_else(|poisoned| poisoned.into_inner().clone(), |r| r.clone())
    }

    /// Says the states in the snapshot are out of date (the database did not answer):
    /// routing ignores them until the next reload succeeds.
    pub fn mark_states_stale(&self) {
        let mut current = self.current.write().unwrap_or_else(|poisoned| poisoned.into_inner());
        if !current.states_stale {
            *current = Arc::new(Roster { states_stale: true, ..Roster::clone(&current) });
        }
    }

    /// Puts a freshly loaded roster in place and notes when.
    pub fn replace(&self, roster: Roster) {
        match self.current.write() {
            Ok(mut current) => *current = Arc::new(roster),
            Err(poisoned) => *poisoned.into_inner() = Arc::new(roster),
        }
        *self.loaded_at.lock().unwrap_or_else(|p| p.into_inner()) = Some(Instant::now());
    }

    /// When the snapshot was last loaded from the database; `None` before the first load.
    pub fn loaded_at(&self) -> Option<Instant> {
        *self.loaded_at.lock().unwrap_or_else(|p| p.into_inner())
    }
}
