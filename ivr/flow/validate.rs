//! The rules a flow must meet before a caller may enter it.
//!
//! A flow that loads can still strand a caller: a node nobody reaches, a chain of messages
//! that never lets them act, a prompt recorded in one language only, a menu that hides the
//! emergency key behind another meaning. Every broken rule is reported, each with its node
//! and field, so one `ivr check` lists everything to fix.

use std::collections::HashSet;
use std::fmt;

use super::model::{Flow, Language, NodeId, NodeKind, PromptKey};

/// Bounds that keep a caller from waiting too long or being cut off too soon.
const TIMEOUT_SECONDS: std::ops::RangeInclusive<u8> = 2..=30;
/// A message moves on by itself: its pause for a key may be shorter than a menu's.
const MESSAGE_TIMEOUT_SECONDS: std::ops::RangeInclusive<u8> = 1..=30;
const RING_SECONDS: std::ops::RangeInclusive<u8> = 5..=120;
const MAX_FAILURES: std::ops::RangeInclusive<u8> = 1..=10;
const MAX_ROUNDS: std::ops::RangeInclusive<u8> = 1..=10;
/// Bounds of the audit's limits: a flow file may tighten them, never loosen them past these.
const SILENT_FROM_START: std::ops::RangeInclusive<u8> = 10..=60;
const SILENT_FROM_LAST_KEY: std::ops::RangeInclusive<u8> = 15..=90;
const KEYS_ANNOUNCED: std::ops::RangeInclusive<u8> = 3..=20;
const WITHOUT_KEY_REMINDER: std::ops::RangeInclusive<u8> = 10..=60;
const WHISPER: std::ops::RangeInclusive<u8> = 2..=15;
const GOODBYE: std::ops::RangeInclusive<u8> = 2..=30;
/// A node's own prompts: short enough to bound a welcome, long enough for any menu.
const NODE_SECONDS: std::ops::RangeInclusive<u8> = 3..=120;
/// Topics are carried in a 32-bit set in the call state.
const MAX_TOPICS: usize = 32;

/// A topic names the recording `whisper_topic_<topic>` an operator hears, so that name must
/// be a prompt key (64 characters at most).
const MAX_TOPIC_LEN: usize = 64 - "whisper_topic_".len();

/// Whether `topic` can name a whisper recording: lowercase ASCII letters, digits and `_`.
fn is_topic_name(topic: &str) -> bool {
    topic.len() <= MAX_TOPIC_LEN && PromptKey::parse(topic).is_some()
}

/// The longest part of a value an error quotes: a flow file can hold a value of any size,
/// and an error message is read by a person (and may be logged).
const QUOTED_CHARS: usize = 80;

/// `text` in backquotes for an error message: control characters escaped, and cut after
/// [`QUOTED_CHARS`] characters with the length of the whole, so no value is quoted whole.
pub fn quoted(text: &str) -> String {
    let mut shown = String::new();
    for c in text.chars().take(QUOTED_CHARS) {
        if c.is_control() { shown.extend(c.escape_default()) } else { shown.push(c) }
    }
    if text.chars().nth(QUOTED_CHARS).is_some() {
        format!("`{shown}…` ({} bytes)", text.len())
    } else {
        format!("`{shown}`")
    }
}

/// A line of a message, cut after [`QUOTED_CHARS`] × 2 characters.
fn cut_short(line: &str) -> String {
    match line.char_indices().nth(QUOTED_CHARS * 2) {
        Some((at, _)) => format!("{}… ({} bytes)", &line[..at], line.len()),
        None => line.to_owned(),
    }
}

/// One broken rule: where (node and field) and what is wrong.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FlowError {
    /// The node's name, when the rule is about one node.
    pub node: Option<String>,
    /// The field at fault.
    pub field: String,
    /// What is wrong, and what is allowed.
    pub message: String,
}

impl FlowError {
    /// A broken rule of `node`'s `field`.
    pub fn new(node: Option<&str>, field: &str, message: impl Into<String>) -> FlowError {
        FlowError { node: node.map(str::to_owned), field: field.to_owned(), message: message.into() }
    }

    /// A TOML error, with the line, column and snippet `toml` reports (each line cut short:
    /// the snippet is a line of the file, and a line can be any length).
    pub(crate) fn syntax(error: &toml::de::Error) -> FlowError {
        let message = error.to_string().trim_end().lines().map(cut_short).collect::<Vec<_>>().join("\n");
        FlowError { node: None, field: "file".to_owned(), message }
    }
}

impl fmt::Display for FlowError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.node {
            Some(node) => write!(f, "node {}, field {}: {}", quoted(node), quoted(&self.field), self.message),
            None => write!(f, "field {}: {}", quoted(&self.field), self.message),
        }
    }
}

/// What the flow needs to know of the prompt library: which recordings exist.
pub trait PromptCatalog {
    /// Whether a recording of `key` in `language` exists.
    fn has(&self, language: Language, key: &PromptKey) -> bool;
}

impl Flow {
    /// Every rule the flow breaks; empty when a caller can safely enter it.
    pub fn validate(&self, prompts: &dyn PromptCatalog) -> Vec<FlowError> {
        let mut errors = Vec::new();
        self.check_globals(&mut errors);
        self.check_nodes(&mut errors);
        self.check_reachable(&mut errors);
        self.check_message_chains(&mut errors);
        self.check_prompts(prompts, &mut errors);
        errors
    }

    fn name(&self, id: NodeId) -> &str {
        &self.node(id).name
    }

    fn check_globals(&self, errors: &mut Vec<FlowError>) {
        if self.emergency_key == self.operator_key {
            errors.push(FlowError::new(None, "operator_key", "must differ from emergency_key"));
        }
        if self.repeat_key.is_some_and(|k| k == self.emergency_key || k == self.operator_key) {
            errors.push(FlowError::new(None, "repeat_key", "must differ from emergency_key and operator_key"));
        }
        self.check_limits(errors);
        if !MAX_FAILURES.contains(&self.max_failures) {
            errors.push(FlowError::new(None, "max_failures", bounds(&MAX_FAILURES, self.max_failures)));
        }
        let kinds = [
            ("start", self.start, "menu", matches!(self.node(self.start).kind, NodeKind::Menu { .. })),
            ("main_menu", self.main_menu, "menu", matches!(self.node(self.main_menu).kind, NodeKind::Menu { .. })),
            (
                "emergency",
                self.emergency,
                "emergency_transfer",
                matches!(self.node(self.emergency).kind, NodeKind::EmergencyTransfer { .. }),
            ),
            (
                "operator",
                self.operator,
                "operator_transfer",
                matches!(self.node(self.operator).kind, NodeKind::OperatorTransfer { .. }),
            ),
        ];
        for (field, id, kind, ok) in kinds {
            if !ok {
                errors.push(FlowError::new(None, field, format!("{} must be a {kind} node", quoted(self.name(id)))));
            }
        }
        if self.topics.len() > MAX_TOPICS {
            errors.push(FlowError::new(None, "nodes", format!("at most {MAX_TOPICS} guidance topics")));
        }
    }

    fn check_limits(&self, errors: &mut Vec<FlowError>) {
        let limits = &self.limits;
        let bounded = [
            ("limits.silent_from_start_seconds", limits.silent_from_start_seconds, SILENT_FROM_START),
            ("limits.silent_from_last_key_seconds", limits.silent_from_last_key_seconds, SILENT_FROM_LAST_KEY),
            ("limits.keys_announced_seconds", limits.keys_announced_seconds, KEYS_ANNOUNCED),
            ("limits.without_key_reminder_seconds", limits.without_key_reminder_seconds, WITHOUT_KEY_REMINDER),
            ("limits.whisper_seconds", limits.whisper_seconds, WHISPER),
            ("limits.goodbye_seconds", limits.goodbye_seconds, GOODBYE),
        ];
        for (field, value, range) in bounded {
            if !range.contains(&value) {
                errors.push(FlowError::new(None, field, bounds(&range, value)));
            }
        }
        for (id, seconds) in &limits.node_seconds {
            if !NODE_SECONDS.contains(seconds) {
                let field = format!("limits.node_seconds.{}", self.name(*id));
                errors.push(FlowError::new(None, &field, bounds(&NODE_SECONDS, *seconds)));
            }
        }
    }

    fn check_nodes(&self, errors: &mut Vec<FlowError>) {
        for node in &self.nodes {
            let at = Some(node.name.as_str());
            if let Some(options) = node.options() {
                for digit in [Some(self.emergency_key), Some(self.operator_key), self.repeat_key].into_iter().flatten()
                {
                    if options.contains_key(&digit) {
                        let field = format!("options.\"{digit}\"");
                        let what = match digit {
                            d if d == self.emergency_key => "emergency",
                            d if d == self.operator_key => "operator",
                            _ => "repeat",
                        };
                        errors.push(FlowError::new(
                            at,
                            &field,
                            format!("`{digit}` is the {what} key on every menu and cannot mean anything else"),
                        ));
                    }
                }
                if !TIMEOUT_SECONDS.contains(&node.timeout_seconds) {
                    errors.push(FlowError::new(at, "timeout_seconds", bounds(&TIMEOUT_SECONDS, node.timeout_seconds)));
                }
                if !MAX_FAILURES.contains(&node.max_silences) {
                    errors.push(FlowError::new(at, "max_silences", bounds(&MAX_FAILURES, node.max_silences)));
                }
            }
            match &node.kind {
                NodeKind::Guidance { topic, .. } => {
                    let topic = &self.topics[usize::from(*topic)];
                    if !is_topic_name(topic) {
                        let message = format!(
                            "{} is not a topic name: lowercase letters, digits and _, at most {MAX_TOPIC_LEN} \
                             (the operator's whisper plays the recording `whisper_topic_<topic>`)",
                            quoted(topic)
                        );
                        errors.push(FlowError::new(at, "topic", message));
                    }
                }
                NodeKind::Message { .. } | NodeKind::Hold { .. }
                    if !MESSAGE_TIMEOUT_SECONDS.contains(&node.timeout_seconds) =>
                {
                    let message = bounds(&MESSAGE_TIMEOUT_SECONDS, node.timeout_seconds);
                    errors.push(FlowError::new(at, "timeout_seconds", message));
                }
                NodeKind::EmergencyTransfer { ring_seconds, .. } if !RING_SECONDS.contains(ring_seconds) => {
                    errors.push(FlowError::new(at, "ring_seconds", bounds(&RING_SECONDS, *ring_seconds)));
                }
                _ => {}
            }
            self.check_transfer(node, errors);
            let listens = matches!(
                node.kind,
                NodeKind::Menu { .. } | NodeKind::Guidance { .. } | NodeKind::Message { .. } | NodeKind::Hold { .. }
            );
            if listens && node.prompts.is_empty() {
                errors.push(FlowError::new(at, "prompts", "a node that waits for a key must play something"));
            }
        }
    }

    fn check_transfer(&self, node: &super::model::Node, errors: &mut Vec<FlowError>) {
        let at = Some(node.name.as_str());
        match &node.kind {
            NodeKind::OperatorTransfer { ring_seconds, max_rounds, on_failure, on_exhausted, .. } => {
                for (field, id) in [("on_failure", on_failure), ("on_exhausted", on_exhausted)] {
                    if matches!(
                        self.node(*id).kind,
                        NodeKind::OperatorTransfer { .. } | NodeKind::EmergencyTransfer { .. }
                    ) {
                        let message = "must lead somewhere the caller hears why, not straight into another transfer";
                        errors.push(FlowError::new(at, field, message));
                    }
                }
                if !RING_SECONDS.contains(ring_seconds) {
                    errors.push(FlowError::new(at, "ring_seconds", bounds(&RING_SECONDS, *ring_seconds)));
                }
                if !MAX_ROUNDS.contains(max_rounds) {
                    errors.push(FlowError::new(at, "max_rounds", bounds(&MAX_ROUNDS, *max_rounds)));
                }
            }
            NodeKind::Hold { guidance, .. } if guidance.is_empty() => {
                errors.push(FlowError::new(at, "guidance", "a hold plays guidance while the caller waits"));
            }
            _ => {}
        }
    }

    /// Every node must be reachable from the start: through its options, `next`, transfer
    /// outcomes, and the emergency and operator keys that every menu offers.
    fn check_reachable(&self, errors: &mut Vec<FlowError>) {
        let mut seen = vec![false; self.nodes.len()];
        let mut queue = vec![self.start];
        while let Some(id) = queue.pop() {
            if std::mem::replace(&mut seen[usize::from(id.0)], true) {
                continue;
            }
            let node = self.node(id);
            queue.extend(node.successors());
            if node.options().is_some() {
                queue.extend([self.emergency, self.operator]);
            }
        }
        for (node, seen) in self.nodes.iter().zip(seen) {
            if !seen {
                errors.push(FlowError::new(Some(&node.name), "kind", "no path from the start reaches this node"));
            }
        }
    }

    /// A message leads on by itself; a chain of messages must end somewhere a caller can act.
    fn check_message_chains(&self, errors: &mut Vec<FlowError>) {
        for id in self.node_ids() {
            let mut at = id;
            let mut hops = 0;
            while let NodeKind::Message { next } | NodeKind::Hold { next, .. } = self.node(at).kind {
                at = next;
                hops += 1;
                if hops > self.nodes.len() {
                    errors.push(FlowError::new(
                        Some(self.name(id)),
                        "next",
                        "messages lead to each other in a loop: the caller could never act",
                    ));
                    break;
                }
            }
        }
    }

    fn check_prompts(&self, prompts: &dyn PromptCatalog, errors: &mut Vec<FlowError>) {
        let globals =
            [("invalid_choice_prompt", &self.invalid_choice_prompt), ("no_input_prompt", &self.no_input_prompt)]
                .into_iter()
                .chain(self.limits.key_reminders.iter().map(|k| ("limits.key_reminders", k)));
        let in_nodes = self.nodes.iter().flat_map(|n| {
            let name = Some(n.name.as_str());
            let prompts = n.prompts.iter().map(move |k| (name, "prompts", k));
            let guidance = n.guidance().iter().map(move |k| (name, "guidance", k));
            let silence = n.silence_reprompt.iter().map(move |k| (name, "silence_reprompt", k));
            prompts.chain(n.reprompt.iter().map(move |k| (name, "reprompt", k))).chain(silence).chain(guidance)
        });
        let all = globals.map(|(field, key)| (None, field, key)).chain(in_nodes);
        let mut reported = HashSet::new();
        for (node, field, key) in all {
            for language in Language::ALL {
                if !prompts.has(language, key) && reported.insert((node, field, key, language)) {
                    errors.push(FlowError::new(node, field, format!("prompt `{key}` has no {language} recording")));
                }
            }
        }
    }
}

fn bounds(range: &std::ops::RangeInclusive<u8>, value: u8) -> String {
    format!("{value} is outside {}..={}", range.start(), range.end())
}
