//! The flow's vocabulary (languages, keypad digits, prompt keys, nodes) and its TOML form.
//!
//! The TOML is read into `Raw*` structs that mirror the file, then resolved into a [`Flow`]
//! whose node references are indices, so `step` never looks a name up or meets a dangling
//! reference. Every problem found while resolving is reported with its node and field.

use std::collections::{BTreeMap, HashMap};
use std::fmt;
use std::path::Path;

use serde::Deserialize;

use super::validate::FlowError;

/// The hotline's two languages. Kazakh first: it is the state language and the default.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Language {
    Kk,
    Ru,
}

impl Language {
    pub const ALL: [Language; 2] = [Language::Kk, Language::Ru];

    /// The code used in URLs, folder names and statistics: `kk` or `ru`.
    pub fn code(self) -> &'static str {
        match self {
            Language::Kk => "kk",
            Language::Ru => "ru",
        }
    }

    pub fn from_code(code: &str) -> Option<Language> {
        Language::ALL.into_iter().find(|l| l.code() == code)
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
    pub fn parse(text: &str) -> Option<Digit> {
        match text.as_bytes() {
            [b @ (b'0'..=b'9' | b'*' | b'#')] => Some(Digit(*b)),
            _ => None,
        }
    }

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
            serde::de::Error::custom(format!("`{text}` is not one key of a phone keypad (0-9, *, #)"))
        })
    }
}

/// The name of a recording, the same in every language: `main_menu`, `guidance_evidence`.
/// Lowercase ASCII letters, digits and `_` only, so it is safe in URLs and file names.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct PromptKey(String);

impl PromptKey {
    pub fn parse(text: &str) -> Option<PromptKey> {
        let valid = !text.is_empty()
            && text.len() <= 64
            && text.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_');
        valid.then(|| PromptKey(text.to_owned()))
    }

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
                "`{text}` is not a prompt key (lowercase letters, digits and _, at most 64)"
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
    pub goto: NodeId,
    pub language: Option<Language>,
}

#[derive(Clone, Debug)]
pub enum NodeKind {
    /// Plays its prompts while listening for one key.
    Menu { options: BTreeMap<Digit, Choice> },
    /// A menu whose first prompt is guidance from the memo; hearing it counts the topic.
    Guidance { topic: u8, options: BTreeMap<Digit, Choice> },
    /// Plays its prompts, then moves on by itself; a key pressed meanwhile counts for `next`.
    Message { next: NodeId },
    /// Dials the police (the configured emergency number).
    EmergencyTransfer { ring_seconds: u8, on_failure: NodeId, on_complete: Option<NodeId> },
    /// Dials the hotline's operators.
    OperatorTransfer { ring_seconds: u8, on_failure: NodeId, on_complete: Option<NodeId> },
    /// Plays its prompts and ends the call.
    Hangup,
}

#[derive(Clone, Debug)]
pub struct Node {
    pub name: String,
    pub prompts: Vec<PromptKey>,
    /// What a menu plays again after no input or a wrong key (its own prompts by default).
    pub reprompt: Vec<PromptKey>,
    pub timeout_seconds: u8,
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

    /// The nodes this one can lead to by its own definition (not counting the global keys).
    pub fn successors(&self) -> Vec<NodeId> {
        match &self.kind {
            NodeKind::Menu { options } | NodeKind::Guidance { options, .. } => {
                options.values().map(|c| c.goto).collect()
            }
            NodeKind::Message { next } => vec![*next],
            NodeKind::EmergencyTransfer { on_failure, on_complete, .. }
            | NodeKind::OperatorTransfer { on_failure, on_complete, .. } => {
                std::iter::once(*on_failure).chain(*on_complete).collect()
            }
            NodeKind::Hangup => Vec::new(),
        }
    }
}

/// A loaded, resolved flow. Build it with [`Flow::from_toml`] or [`Flow::load`], then check
/// it with [`Flow::validate`].
#[derive(Clone, Debug)]
pub struct Flow {
    pub start: NodeId,
    pub main_menu: NodeId,
    pub emergency: NodeId,
    pub operator: NodeId,
    pub default_language: Language,
    pub emergency_key: Digit,
    pub operator_key: Digit,
    pub invalid_choice_prompt: PromptKey,
    pub no_input_prompt: PromptKey,
    pub max_failures: u8,
    pub nodes: Vec<Node>,
    pub topics: Vec<String>,
    by_name: HashMap<String, NodeId>,
}

#[derive(Debug, thiserror::Error)]
pub enum FlowLoadError {
    #[error("cannot read the flow file {path}: {source}")]
    Io { path: String, source: std::io::Error },
    #[error("the flow file is not valid:\n{}", list(.0))]
    Invalid(Vec<FlowError>),
}

fn list(errors: &[FlowError]) -> String {
    errors.iter().map(|e| format!("  - {e}")).collect::<Vec<_>>().join("\n")
}

impl Flow {
    pub fn load(path: &Path) -> Result<Flow, FlowLoadError> {
        let text = std::fs::read_to_string(path)
            .map_err(|source| FlowLoadError::Io { path: path.display().to_string(), source })?;
        Flow::from_toml(&text).map_err(FlowLoadError::Invalid)
    }

    pub fn from_toml(text: &str) -> Result<Flow, Vec<FlowError>> {
        let raw: RawFlow = toml::from_str(text).map_err(|e| vec![FlowError::syntax(&e)])?;
        raw.resolve()
    }

    pub fn node(&self, id: NodeId) -> &Node {
        &self.nodes[usize::from(id.0)]
    }

    pub fn node_id(&self, name: &str) -> Option<NodeId> {
        self.by_name.get(name).copied()
    }

    pub fn node_ids(&self) -> impl Iterator<Item = NodeId> + '_ {
        (0..self.nodes.len()).map(|i| NodeId(i as u16))
    }

    /// Every prompt key the flow can play.
    pub fn prompt_keys(&self) -> Vec<&PromptKey> {
        let mut keys: Vec<&PromptKey> = self
            .nodes
            .iter()
            .flat_map(|n| n.prompts.iter().chain(&n.reprompt))
            .chain([&self.invalid_choice_prompt, &self.no_input_prompt])
            .collect();
        keys.sort();
        keys.dedup();
        keys
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawFlow {
    start: String,
    main_menu: String,
    emergency: String,
    operator: String,
    default_language: Language,
    emergency_key: Digit,
    operator_key: Digit,
    invalid_choice_prompt: PromptKey,
    no_input_prompt: PromptKey,
    max_failures: u8,
    timeout_seconds: u8,
    nodes: BTreeMap<String, RawNode>,
}

#[derive(Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
enum RawNode {
    Menu {
        prompts: Vec<PromptKey>,
        #[serde(default)]
        reprompt: Vec<PromptKey>,
        timeout_seconds: Option<u8>,
        #[serde(default)]
        options: BTreeMap<String, RawChoice>,
    },
    Guidance {
        topic: String,
        prompts: Vec<PromptKey>,
        #[serde(default)]
        reprompt: Vec<PromptKey>,
        timeout_seconds: Option<u8>,
        #[serde(default)]
        options: BTreeMap<String, RawChoice>,
    },
    Message {
        prompts: Vec<PromptKey>,
        timeout_seconds: Option<u8>,
        next: String,
    },
    EmergencyTransfer {
        #[serde(default)]
        prompts: Vec<PromptKey>,
        ring_seconds: u8,
        on_failure: String,
        on_complete: Option<String>,
    },
    OperatorTransfer {
        #[serde(default)]
        prompts: Vec<PromptKey>,
        ring_seconds: u8,
        on_failure: String,
        on_complete: Option<String>,
    },
    Hangup {
        #[serde(default)]
        prompts: Vec<PromptKey>,
    },
}

#[derive(Deserialize)]
#[serde(untagged)]
enum RawChoice {
    Goto(String),
    Full { goto: String, language: Option<Language> },
}

/// Turns names into [`NodeId`]s, collecting every reference that does not resolve.
struct Resolver<'a> {
    by_name: &'a HashMap<String, NodeId>,
    errors: Vec<FlowError>,
}

impl Resolver<'_> {
    fn node(&mut self, node: Option<&str>, field: &str, name: &str) -> NodeId {
        self.by_name.get(name).copied().unwrap_or_else(|| {
            self.errors.push(FlowError::new(node, field, format!("`{name}` is not a node of this flow")));
            NodeId(0)
        })
    }

    fn options(&mut self, node: &str, raw: &BTreeMap<String, RawChoice>) -> BTreeMap<Digit, Choice> {
        let mut options = BTreeMap::new();
        for (key, choice) in raw {
            let field = format!("options.\"{key}\"");
            let (goto, language) = match choice {
                RawChoice::Goto(goto) => (goto, None),
                RawChoice::Full { goto, language } => (goto, *language),
            };
            let goto = self.node(Some(node), &field, goto);
            match Digit::parse(key) {
                Some(digit) => {
                    options.insert(digit, Choice { goto, language });
                }
                None => self.errors.push(FlowError::new(
                    Some(node),
                    &field,
                    format!("`{key}` is not one key of a phone keypad (0-9, *, #)"),
                )),
            }
        }
        options
    }
}

impl RawFlow {
    fn resolve(self) -> Result<Flow, Vec<FlowError>> {
        let by_name: HashMap<String, NodeId> =
            self.nodes.keys().enumerate().map(|(i, name)| (name.clone(), NodeId(i as u16))).collect();
        let mut r = Resolver { by_name: &by_name, errors: Vec::new() };
        let start = r.node(None, "start", &self.start);
        let main_menu = r.node(None, "main_menu", &self.main_menu);
        let emergency = r.node(None, "emergency", &self.emergency);
        let operator = r.node(None, "operator", &self.operator);
        let mut topics = Vec::new();
        let mut nodes = Vec::with_capacity(self.nodes.len());
        for (name, raw) in self.nodes {
            nodes.push(resolve_node(&mut r, &mut topics, name, raw, self.timeout_seconds));
        }
        if !r.errors.is_empty() {
            return Err(r.errors);
        }
        Ok(Flow {
            start,
            main_menu,
            emergency,
            operator,
            default_language: self.default_language,
            emergency_key: self.emergency_key,
            operator_key: self.operator_key,
            invalid_choice_prompt: self.invalid_choice_prompt,
            no_input_prompt: self.no_input_prompt,
            max_failures: self.max_failures,
            nodes,
            topics,
            by_name,
        })
    }
}

fn resolve_node(
    r: &mut Resolver<'_>,
    topics: &mut Vec<String>,
    name: String,
    raw: RawNode,
    default_timeout: u8,
) -> Node {
    let at = Some(name.as_str());
    let (prompts, reprompt, timeout, kind) = match raw {
        RawNode::Menu { prompts, reprompt, timeout_seconds, options } => {
            let options = r.options(&name, &options);
            (prompts, reprompt, timeout_seconds, NodeKind::Menu { options })
        }
        RawNode::Guidance { topic, prompts, reprompt, timeout_seconds, options } => {
            let options = r.options(&name, &options);
            let index = topics.len() as u8;
            topics.push(topic);
            (prompts, reprompt, timeout_seconds, NodeKind::Guidance { topic: index, options })
        }
        RawNode::Message { prompts, timeout_seconds, next } => {
            let next = r.node(at, "next", &next);
            (prompts, Vec::new(), timeout_seconds, NodeKind::Message { next })
        }
        RawNode::EmergencyTransfer { prompts, ring_seconds, on_failure, on_complete } => {
            let on_failure = r.node(at, "on_failure", &on_failure);
            let on_complete = on_complete.map(|n| r.node(at, "on_complete", &n));
            (prompts, Vec::new(), None, NodeKind::EmergencyTransfer { ring_seconds, on_failure, on_complete })
        }
        RawNode::OperatorTransfer { prompts, ring_seconds, on_failure, on_complete } => {
            let on_failure = r.node(at, "on_failure", &on_failure);
            let on_complete = on_complete.map(|n| r.node(at, "on_complete", &n));
            (prompts, Vec::new(), None, NodeKind::OperatorTransfer { ring_seconds, on_failure, on_complete })
        }
        RawNode::Hangup { prompts } => (prompts, Vec::new(), None, NodeKind::Hangup),
    };
    let reprompt = if reprompt.is_empty() { prompts.clone() } else { reprompt };
    Node { name, prompts, reprompt, timeout_seconds: timeout.unwrap_or(default_timeout), kind }
}
