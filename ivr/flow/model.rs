//! The flow's vocabulary: languages, keypad digits, prompt keys, and the nodes a caller
//! moves through. Node references are indices ([`NodeId`]), resolved once when the file is
//! read (see `file.rs`), so `step` never looks a name up or meets a dangling reference.

use std::collections::{BTreeMap, HashMap};
use std::fmt;

use serde::Deserialize;

use super::validate::quoted;

/// The hotline's two languages. Kazakh first: it is the state language and the default.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Language {
    /// Kazakh.
    Kk,
    /// Russian.
    Ru,
}

impl Language {
    /// Both, Kazakh first.
    pub const ALL: [Language; 2] = [Language::Kk, Language::Ru];

    /// The code used in URLs, folder names and statistics: `kk` or `ru`.
    pub fn code(self) -> &'static str {
        match self {
            Language::Kk => "kk",
            Language::Ru => "ru",
        }
    }

    /// The language whose code is `code`.
    pub fn from_code(code: &str) -> Option<Language> {
        Language::ALL.into_iter().find(|l| l.code() == code)
    }
}

/// The languages a caller hears prompts in: their own, or both while they have chosen none.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Spoken {
    /// The language the caller chose.
    In(Language),
    /// No language chosen yet: each prompt in Kazakh, then in Russian, each recording in its
    /// own voice, so nobody hears a word only in a language they may not understand.
    Both,
}

impl Spoken {
    /// How a caller who chose `language` (`None`: not yet) hears prompts.
    pub fn of(language: Option<Language>) -> Spoken {
        language.map_or(Spoken::Both, Spoken::In)
    }

    /// The recordings of one prompt, in the order they play.
    pub fn languages(self) -> &'static [Language] {
        match self {
            Spoken::In(Language::Kk) => &[Language::Kk],
            Spoken::In(Language::Ru) => &[Language::Ru],
            Spoken::Both => &Language::ALL,
        }
    }

    /// The recordings `prompts` play as, in order: each prompt in each of [`languages`](Self::languages).
    pub fn recordings<'k>(
        self,
        prompts: impl IntoIterator<Item = &'k PromptKey>,
    ) -> impl Iterator<Item = (Language, &'k PromptKey)> {
        prompts.into_iter().flat_map(move |key| self.languages().iter().map(move |language| (*language, key)))
    }
}

impl fmt::Display for Spoken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Spoken::In(language) => language.fmt(f),
            Spoken::Both => f.write_str("both"),
        }
    }
}

impl fmt::Display for Language {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.code())
    }
}

/// One key of a phone keypad: `0`-`9`, `*` or `#`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Digit(u8);

impl Digit {
    /// One keypad character, or `None`.
    pub fn parse(text: &str) -> Option<Digit> {
        match text.as_bytes() {
            [b @ (b'0'..=b'9' | b'*' | b'#')] => Some(Digit(*b)),
            _ => None,
        }
    }

    /// The key's character.
    pub fn as_char(self) -> char {
        char::from(self.0)
    }
}

impl fmt::Display for Digit {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.as_char())
    }
}

impl<'de> Deserialize<'de> for Digit {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = String::deserialize(d)?;
        Digit::parse(&text).ok_or_else(|| {
            serde::de::Error::custom(format!("{} is not one key of a phone keypad (0-9, *, #)", quoted(&text)))
        })
    }
}

/// The name of a recording, the same in every language: `main_menu`, `guidance_evidence`.
/// Lowercase ASCII letters, digits and `_` only, so it is safe in URLs and file names.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct PromptKey(String);

impl PromptKey {
    /// `text` if it is a usable key.
    pub fn parse(text: &str) -> Option<PromptKey> {
        let valid = !text.is_empty()
            && text.len() <= 64
            && text.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_');
        valid.then(|| PromptKey(text.to_owned()))
    }

    /// The key as written.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for PromptKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl<'de> Deserialize<'de> for PromptKey {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = String::deserialize(d)?;
        PromptKey::parse(&text).ok_or_else(|| {
            serde::de::Error::custom(format!(
                "{} is not a prompt key (lowercase letters, digits and _, at most 64)",
                quoted(&text)
            ))
        })
    }
}

/// A guidance topic a caller can hear (`safety_plan`), counted in the anonymous statistics.
pub type Topic = str;

/// A node's position in [`Flow::nodes`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct NodeId(pub(crate) u16);

/// Where a key press on a menu leads, and the language it chooses, if any.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Choice {
    /// The node the key leads to.
    pub goto: NodeId,
    /// The language the key chooses (on the language menu).
    pub language: Option<Language>,
}

/// What a node does besides playing its prompts.
#[derive(Clone, Debug)]
pub enum NodeKind {
    /// Plays its prompts while listening for one key.
    Menu {
        /// What each key does.
        options: BTreeMap<Digit, Choice>,
    },
    /// A menu whose first prompt is guidance from the memo; hearing it counts the topic.
    /// A long topic is split into parts, several guidance nodes with one topic.
    Guidance {
        /// The topic's index in [`Flow::topics`].
        topic: u8,
        /// What each key does.
        options: BTreeMap<Digit, Choice>,
    },
    /// Plays its prompts, then moves on by itself; a key pressed meanwhile counts for `next`.
    Message {
        /// Where the call goes after it.
        next: NodeId,
    },
    /// Dials the police (the configured emergency number).
    EmergencyTransfer {
        /// How long the police number rings.
        ring_seconds: u8,
        /// Where an unanswered or failed dial goes.
        on_failure: NodeId,
        /// Where the call goes after an answered transfer ends (`None`: it ends).
        on_complete: Option<NodeId>,
    },
    /// Dials the hotline's operators. A caller may wait through `max_rounds` rings; when
    /// the last one goes unanswered they go to `on_exhausted` rather than `on_failure`.
    OperatorTransfer {
        /// How long each round rings.
        ring_seconds: u8,
        /// Rounds of ringing a caller may wait through.
        max_rounds: u8,
        /// Where an unanswered round goes while rounds remain.
        on_failure: NodeId,
        /// Where the last unanswered round goes.
        on_exhausted: NodeId,
        /// Where the call goes after an answered transfer ends (`None`: it ends).
        on_complete: Option<NodeId>,
    },
    /// Between two rings for an operator: its prompts, then one piece of `guidance`, a
    /// different one each round, then `next`. Keys work as on a message.
    Hold {
        /// The guidance pieces, one per round.
        guidance: Vec<PromptKey>,
        /// Where the call goes after (the next ring).
        next: NodeId,
    },
    /// Plays its prompts and ends the call.
    Hangup,
}

/// One place in the flow.
#[derive(Clone, Debug)]
pub struct Node {
    /// Its name in the flow file, unique.
    pub name: String,
    /// What it plays on entry, in order.
    pub prompts: Vec<PromptKey>,
    /// What a menu plays again after no input or a wrong key (its own prompts by default).
    pub reprompt: Vec<PromptKey>,
    /// What a menu plays after a silence that does not yet send the caller to an operator:
    /// by default the flow's no-input notice and `reprompt`; a short "press 0, or stay on
    /// the line" where repeating the whole menu would keep a silent caller from a person.
    pub silence_reprompt: Vec<PromptKey>,
    /// Silences in a row (counted with wrong keys) after which the caller is put through to
    /// an operator; 1 rings at the first silence.
    pub max_silences: u8,
    /// Seconds of silence after its prompts before no input counts.
    pub timeout_seconds: u8,
    /// What it does.
    pub kind: NodeKind,
}

impl Node {
    /// The digit options of a node that listens for keys.
    pub fn options(&self) -> Option<&BTreeMap<Digit, Choice>> {
        match &self.kind {
            NodeKind::Menu { options } | NodeKind::Guidance { options, .. } => Some(options),
            _ => None,
        }
    }

    /// The guidance a hold node rotates through; empty for other nodes.
    pub fn guidance(&self) -> &[PromptKey] {
        match &self.kind {
            NodeKind::Hold { guidance, .. } => guidance,
            _ => &[],
        }
    }

    /// A guidance node's part: the prompts on entry that its reprompt does not repeat (the
    /// text itself, not the "press 1 for the next part" after it), or all of them where the
    /// reprompt repeats them all. The statistics count the topic heard once it has played
    /// (see `CallRow::fold`). Empty for other nodes.
    pub fn part(&self) -> Vec<&PromptKey> {
        if !matches!(self.kind, NodeKind::Guidance { .. }) {
            return Vec::new();
        }
        let own: Vec<&PromptKey> = self.prompts.iter().filter(|key| !self.reprompt.contains(key)).collect();
        if own.is_empty() { self.prompts.iter().collect() } else { own }
    }

    /// The nodes this one can lead to by its own definition (not counting the global keys).
    pub fn successors(&self) -> Vec<NodeId> {
        match &self.kind {
            NodeKind::Menu { options } | NodeKind::Guidance { options, .. } => {
                options.values().map(|c| c.goto).collect()
            }
            NodeKind::Message { next } | NodeKind::Hold { next, .. } => vec![*next],
            NodeKind::EmergencyTransfer { on_failure, on_complete, .. } => {
                std::iter::once(*on_failure).chain(*on_complete).collect()
            }
            NodeKind::OperatorTransfer { on_failure, on_exhausted, on_complete, .. } => {
                [*on_failure, *on_exhausted].into_iter().chain(*on_complete).collect()
            }
            NodeKind::Hangup => Vec::new(),
        }
    }
}

/// What a caller may be kept waiting, in seconds, checked by `ivr flow audit` against the
/// real prompt durations. They live in the flow file beside the menus they bound.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Limits {
    /// From the start of the call until a caller who never presses a key is ringing a person.
    pub silent_from_start_seconds: u8,
    /// From a caller's last key press (or a ring nobody answered) until, silent since, they
    /// are ringing a person, whatever plays in between.
    pub silent_from_last_key_seconds: u8,
    /// From entering a menu until it has named the emergency and the operator key.
    pub keys_announced_seconds: u8,
    /// The longest a caller listens without hearing the emergency and operator keys named.
    pub without_key_reminder_seconds: u8,
    /// The longest whisper an operator hears before the caller is connected.
    pub whisper_seconds: u8,
    /// The longest goodbye (what a node that hangs up plays), however it is heard.
    pub goodbye_seconds: u8,
    /// The prompts that name the emergency and the operator key (at their end at the latest).
    pub key_reminders: Vec<PromptKey>,
    /// Nodes whose prompts may play at most this many seconds in every language: a welcome
    /// or a notice everyone hears is kept short, so help is announced early.
    pub node_seconds: Vec<(NodeId, u8)>,
}

/// A loaded, resolved flow. Build it with [`Flow::from_toml`] or [`Flow::load`], then check
/// it with [`Flow::validate`].
#[derive(Clone, Debug)]
pub struct Flow {
    /// Where every call starts (the language menu).
    pub start: NodeId,
    /// The menu of topics.
    pub main_menu: NodeId,
    /// The police transfer the emergency key leads to.
    pub emergency: NodeId,
    /// The operator transfer the operator key leads to.
    pub operator: NodeId,
    /// The language of an operator's whisper when neither the caller nor the operator
    /// decides it (no language chosen, an operator who speaks both). A caller who has not
    /// chosen hears every prompt in both languages ([`Spoken::Both`]).
    pub default_language: Language,
    /// Transfers to the police from every menu, during every prompt.
    pub emergency_key: Digit,
    /// Transfers to an operator from every menu.
    pub operator_key: Digit,
    /// Plays the current menu again, on every menu; reserved like the two keys above.
    /// `None` in a flow that names none.
    pub repeat_key: Option<Digit>,
    /// Played after a wrong key.
    pub invalid_choice_prompt: PromptKey,
    /// Played after a silence.
    pub no_input_prompt: PromptKey,
    /// Wrong keys and silences in a row after which the caller is put through to an operator.
    pub max_failures: u8,
    /// What `ivr flow audit` holds the flow to.
    pub limits: Limits,
    /// Every node; a [`NodeId`] is a position here.
    pub nodes: Vec<Node>,
    /// The guidance topics, in order; a guidance node's `topic` is a position here.
    pub topics: Vec<String>,
    pub(super) by_name: HashMap<String, NodeId>,
}

impl Flow {
    /// The node `id` names.
    pub fn node(&self, id: NodeId) -> &Node {
        &self.nodes[usize::from(id.0)]
    }

    /// The node named `name`.
    pub fn node_id(&self, name: &str) -> Option<NodeId> {
        self.by_name.get(name).copied()
    }

    /// Every node's id, in file order.
    pub fn node_ids(&self) -> impl Iterator<Item = NodeId> + '_ {
        (0..self.nodes.len()).map(|i| NodeId(i as u16))
    }

    /// Every prompt key the flow can play.
    pub fn prompt_keys(&self) -> Vec<&PromptKey> {
        let mut keys: Vec<&PromptKey> = self
            .nodes
            .iter()
            .flat_map(|n| n.prompts.iter().chain(&n.reprompt).chain(&n.silence_reprompt).chain(n.guidance()))
            .chain([&self.invalid_choice_prompt, &self.no_input_prompt])
            .chain(&self.limits.key_reminders)
            .collect();
        keys.sort();
        keys.dedup();
        keys
    }
}
