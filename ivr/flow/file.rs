//! The flow file (`flows/hotline.toml`): read into `Raw*` structs that mirror it, then
//! resolved into a [`Flow`]. Every name that does not resolve is reported with its node and
//! field, all at once, so one `ivr check` lists everything to fix.

use std::collections::{BTreeMap, HashMap};
use std::path::Path;

use serde::Deserialize;

use super::model::{Choice, Digit, Flow, Language, Limits, Node, NodeId, NodeKind, PromptKey};
use super::validate::{FlowError, quoted};

/// Why the flow file could not be used.
#[derive(Debug, thiserror::Error)]
pub enum FlowLoadError {
    /// The file could not be read.
    #[error("cannot read the flow file {path}: {source}")]
    Io {
        /// The flow file.
        path: String,
        /// What the system said.
        source: std::io::Error,
    },
    /// Every rule the file breaks.
    #[error("the flow file is not valid:\n{}", list(.0))]
    Invalid(Vec<FlowError>),
}

fn list(errors: &[FlowError]) -> String {
    errors.iter().map(|e| format!("  - {e}")).collect::<Vec<_>>().join("\n")
}

impl Flow {
    /// Reads and resolves the flow file at `path` (not yet validated against the prompts).
    pub fn load(path: &Path) -> Result<Flow, FlowLoadError> {
        let text = std::fs::read_to_string(path)
            .map_err(|source| FlowLoadError::Io { path: path.display().to_string(), source })?;
        Flow::from_toml(&text).map_err(FlowLoadError::Invalid)
    }

    /// Parses and resolves a flow from TOML: node names become ids, every rule is checked.
    pub fn from_toml(text: &str) -> Result<Flow, Vec<FlowError>> {
        let raw: RawFlow = toml::from_str(text).map_err(|e| vec![FlowError::syntax(&e)])?;
        raw.resolve()
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
    repeat_key: Option<Digit>,
    invalid_choice_prompt: PromptKey,
    no_input_prompt: PromptKey,
    max_failures: u8,
    timeout_seconds: u8,
    #[serde(default)]
    limits: RawLimits,
    nodes: BTreeMap<String, RawNode>,
}

/// Absent, the limits are the hotline's own (`flows/hotline.toml`) with no key reminders
/// named, so the audit finds no menu naming its keys.
#[derive(Deserialize)]
#[serde(deny_unknown_fields, default)]
struct RawLimits {
    silent_from_start_seconds: u8,
    silent_from_last_key_seconds: u8,
    keys_announced_seconds: u8,
    without_key_reminder_seconds: u8,
    whisper_seconds: u8,
    goodbye_seconds: u8,
    key_reminders: Vec<PromptKey>,
    node_seconds: BTreeMap<String, u8>,
}

impl Default for RawLimits {
    fn default() -> RawLimits {
        RawLimits {
            silent_from_start_seconds: 30,
            silent_from_last_key_seconds: 45,
            keys_announced_seconds: 8,
            without_key_reminder_seconds: 30,
            whisper_seconds: 6,
            goodbye_seconds: 6,
            key_reminders: Vec::new(),
            node_seconds: BTreeMap::new(),
        }
    }
}

/// How a menu treats silence; absent fields take the flow's defaults.
#[derive(Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawSilence {
    max_silences: Option<u8>,
    #[serde(default)]
    silence_reprompt: Vec<PromptKey>,
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
        max_silences: Option<u8>,
        #[serde(default)]
        silence_reprompt: Vec<PromptKey>,
    },
    Guidance {
        topic: String,
        prompts: Vec<PromptKey>,
        #[serde(default)]
        reprompt: Vec<PromptKey>,
        timeout_seconds: Option<u8>,
        #[serde(default)]
        options: BTreeMap<String, RawChoice>,
        max_silences: Option<u8>,
        #[serde(default)]
        silence_reprompt: Vec<PromptKey>,
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
        max_rounds: u8,
        on_failure: String,
        on_exhausted: String,
        on_complete: Option<String>,
    },
    Hold {
        prompts: Vec<PromptKey>,
        guidance: Vec<PromptKey>,
        timeout_seconds: Option<u8>,
        next: String,
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
            self.errors.push(FlowError::new(node, field, format!("{} is not a node of this flow", quoted(name))));
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
                    format!("{} is not one key of a phone keypad (0-9, *, #)", quoted(key)),
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
        let node_seconds: Vec<(NodeId, u8)> = (self.limits.node_seconds.iter())
            .map(|(name, seconds)| (r.node(None, &format!("limits.node_seconds.{name}"), name), *seconds))
            .collect();
        let mut topics = Vec::new();
        let mut nodes = Vec::with_capacity(self.nodes.len());
        for (name, raw) in self.nodes {
            let defaults = Defaults {
                timeout_seconds: self.timeout_seconds,
                max_failures: self.max_failures,
                no_input_prompt: &self.no_input_prompt,
            };
            nodes.push(resolve_node(&mut r, &mut topics, name, raw, &defaults));
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
            repeat_key: self.repeat_key,
            invalid_choice_prompt: self.invalid_choice_prompt,
            no_input_prompt: self.no_input_prompt,
            max_failures: self.max_failures,
            limits: Limits {
                silent_from_start_seconds: self.limits.silent_from_start_seconds,
                silent_from_last_key_seconds: self.limits.silent_from_last_key_seconds,
                keys_announced_seconds: self.limits.keys_announced_seconds,
                without_key_reminder_seconds: self.limits.without_key_reminder_seconds,
                whisper_seconds: self.limits.whisper_seconds,
                goodbye_seconds: self.limits.goodbye_seconds,
                key_reminders: self.limits.key_reminders,
                node_seconds,
            },
            nodes,
            topics,
            by_name,
        })
    }
}

/// What a node takes from the flow when its own definition is silent.
struct Defaults<'a> {
    timeout_seconds: u8,
    max_failures: u8,
    no_input_prompt: &'a PromptKey,
}

fn resolve_node(
    r: &mut Resolver<'_>,
    topics: &mut Vec<String>,
    name: String,
    raw: RawNode,
    defaults: &Defaults<'_>,
) -> Node {
    let at = Some(name.as_str());
    let mut silence = RawSilence::default();
    let (prompts, reprompt, timeout, kind) = match raw {
        RawNode::Menu { prompts, reprompt, timeout_seconds, options, max_silences, silence_reprompt } => {
            let options = r.options(&name, &options);
            silence = RawSilence { max_silences, silence_reprompt };
            (prompts, reprompt, timeout_seconds, NodeKind::Menu { options })
        }
        RawNode::Guidance { topic, prompts, reprompt, timeout_seconds, options, max_silences, silence_reprompt } => {
            let options = r.options(&name, &options);
            silence = RawSilence { max_silences, silence_reprompt };
            // The parts of one topic share its index: hearing any part counts the topic.
            let index = topics.iter().position(|t| *t == topic).unwrap_or_else(|| {
                topics.push(topic);
                topics.len() - 1
            });
            (prompts, reprompt, timeout_seconds, NodeKind::Guidance { topic: index as u8, options })
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
        RawNode::OperatorTransfer { prompts, ring_seconds, max_rounds, on_failure, on_exhausted, on_complete } => {
            let on_failure = r.node(at, "on_failure", &on_failure);
            let on_exhausted = r.node(at, "on_exhausted", &on_exhausted);
            let on_complete = on_complete.map(|n| r.node(at, "on_complete", &n));
            let kind = NodeKind::OperatorTransfer { ring_seconds, max_rounds, on_failure, on_exhausted, on_complete };
            (prompts, Vec::new(), None, kind)
        }
        RawNode::Hold { prompts, guidance, timeout_seconds, next } => {
            let next = r.node(at, "next", &next);
            (prompts, Vec::new(), timeout_seconds, NodeKind::Hold { guidance, next })
        }
        RawNode::Hangup { prompts } => (prompts, Vec::new(), None, NodeKind::Hangup),
    };
    let reprompt = if reprompt.is_empty() { prompts.clone() } else { reprompt };
    let listens = matches!(kind, NodeKind::Menu { .. } | NodeKind::Guidance { .. });
    let silence_reprompt = if !listens || !silence.silence_reprompt.is_empty() {
        silence.silence_reprompt
    } else {
        std::iter::once(defaults.no_input_prompt.clone()).chain(reprompt.iter().cloned()).collect()
    };
    Node {
        name,
        prompts,
        reprompt,
        silence_reprompt,
        max_silences: silence.max_silences.unwrap_or(defaults.max_failures),
        timeout_seconds: timeout.unwrap_or(defaults.timeout_seconds),
        kind,
    }
}
