//! Where one caller is in the flow. Small on purpose: it travels in the provider's action
//! URLs, so any server instance can answer any webhook and none keeps calls in memory.

use std::fmt;

use super::model::{Language, NodeId};

/// The service's id of a call, for tracing and statistics. It is a keyed hash of the
/// provider's call id (`stats::keys`: a key per day, shared by the instances in the
/// database and mixed with this line's secrets), so a redelivered webhook or a status
/// callback answered by any instance finds the same call, while nobody holding the
/// database, a log or a report alone can compute it from, or turn it back into, the
/// provider's id; or random, when the provider sends none.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct CallId(pub u64);

impl CallId {
    /// A fresh random id.
    pub fn random() -> CallId {
        CallId(rand::random())
    }

    /// The id written as 16 hex digits (its `Display`).
    pub fn parse(text: &str) -> Option<CallId> {
        (text.len() == 16).then(|| u64::from_str_radix(text, 16).ok()).flatten().map(CallId)
    }
}

impl fmt::Display for CallId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:016x}", self.0)
    }
}

/// The guidance topics a caller has heard, as bits indexed like [`Flow::topics`](super::Flow).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct TopicSet(pub u32);

impl TopicSet {
    /// Marks `topic` heard.
    pub fn insert(&mut self, topic: u8) {
        self.0 |= 1 << topic;
    }

    /// Whether `topic` was heard.
    pub fn contains(self, topic: u8) -> bool {
        topic < 32 && self.0 & (1 << topic) != 0
    }

    /// The topics heard, in order.
    pub fn iter(self) -> impl Iterator<Item = u8> {
        (0..32u8).filter(move |t| self.contains(*t))
    }
}

/// Where a call is in the flow and what it has done: all the service keeps of a call,
/// carried in the hook URLs of the documents it answers (covered by the platform's request
/// signature where it signs the URL: Twilio's does, jambonz's signs only the body), never
/// stored. A state edited or replayed decodes to one a caller can safely continue from
/// (`Flow::recover`), never to an error.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct CallState {
    /// The call's id.
    pub call: CallId,
    /// The node the caller is on.
    pub node: NodeId,
    /// `None` until the caller chooses; prompts are then played in the flow's default.
    pub language: Option<Language>,
    /// Wrong keys and silences in a row on the current menu.
    pub failures: u8,
    /// The guidance topics heard.
    pub topics: TopicSet,
    /// The caller reached the operator by not pressing anything (told to the operator).
    pub silent: bool,
    /// How many steps the call has taken. A provider retrying a webhook repeats the same
    /// `seq`, so statistics can tell a duplicate delivery from a caller's new action.
    pub seq: u16,
    /// How many times operators have been rung for this caller since the main menu.
    pub rounds: u8,
    /// The police line did not answer this caller (told to the operator).
    pub police_unreachable: bool,
    /// When the service answered the call, in seconds since 1970 (UTC); `None` when not
    /// known. Carried so that any instance can tell how long the call has lasted.
    pub started: Option<u32>,
    /// The caller's place in the operators' queue, from when they first asked for a person
    /// until they are put through or leave for the menus or the police; `None` otherwise.
    pub queue: Option<QueuePlace>,
}

/// A caller's place in the operators' queue, as it travels in their call's state: whoever
/// answers their next webhook finds their place by it (`operators::queue`), and a caller
/// whose row was lost joins again where they were.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct QueuePlace {
    /// A random number drawn when they joined; links to nothing else.
    pub ticket: i64,
    /// When they joined, in milliseconds since 1970 (UTC): their order in the queue.
    pub joined_ms: i64,
    /// The position they were last told (0: none yet).
    pub told_position: u16,
    /// When they were last told it, in seconds since 1970 (UTC).
    pub told_at: u32,
}
