//! How long a caller in danger waits, per language, from the real prompt durations: until a
//! caller who presses nothing is ringing a person, until each menu has named the emergency
//! and operator keys, the longest stretch of listening without hearing them named, how long
//! the nodes the flow bounds play (the welcome, the safety notice, the main menu), and the
//! longest whisper an operator hears. The flow's `[limits]` bound each figure.
//!
//! A silent caller is walked through the real [`step`] with no input, node by node, adding
//! each prompt's duration and each menu's wait for a key, until the operators are rung. One
//! more walk starts at the start and chooses a language just as the language menu ends: what
//! plays between the choice and the main menu (the safety notice, the welcome) counts from
//! the language menu's last naming of the keys.

use std::time::Duration;

use crate::flow::{CallId, Digit, Flow, Input, Instruction, Language, NodeId, NodeKind, PromptKey, Step, step};
use crate::operators::every_whisper;

use super::Durations;

/// More steps than any flow needs before a silent caller reaches a person: a walk this long
/// never reaches one.
const MAX_SILENT_STEPS: usize = 64;

/// Where a measurement starts: the start of the call, or entering a node.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum From {
    /// The start of the call: no language chosen yet, the prompts in the flow's default.
    Start,
    /// The start of the call, this key chosen as the language menu ends, then silence.
    Chose(Digit),
    /// This node, in the language of the walk.
    Node(NodeId),
}

/// What a caller who presses nothing goes through from one place.
#[derive(Clone, Debug, PartialEq)]
pub struct SilentWalk {
    /// Where the caller starts pressing nothing.
    pub from: From,
    /// The language they hear.
    pub language: Language,
    /// Listening until the operators are rung (their transfer prompt included); `None` if
    /// silence never leads to a person.
    pub to_person: Option<Duration>,
    /// The longest listening on the way without hearing the emergency and operator keys
    /// named (a key-reminder prompt counts as heard at its end).
    pub without_reminder: Duration,
}

/// The figures `ivr flow audit` checks against the flow's `[limits]`.
#[derive(Clone, Debug, PartialEq)]
pub struct Waits {
    /// One per starting place and language.
    pub silent: Vec<SilentWalk>,
    /// For every menu and language: listening from entering it until it has named the
    /// emergency and operator keys; `None` if it never does. For a guidance part, the menu
    /// after it, as played again after a wrong key.
    pub keys_announced: Vec<(NodeId, Language, Option<Duration>)>,
    /// For every node the flow bounds (`limits.node_seconds`) and language: how long its
    /// prompts play.
    pub node_lengths: Vec<(NodeId, Language, Duration)>,
    /// For every language an operator may hear it in: the longest whisper.
    pub whisper: Vec<(Language, Duration)>,
}

impl Waits {
    /// Measures `flow` with the recordings' `durations`.
    pub fn of(flow: &Flow, durations: &dyn Durations) -> Waits {
        let mut silent = Vec::new();
        let start = flow.begin(CallId(0));
        silent.extend(choosing_a_language(flow, durations, &start));
        silent.push(walk(flow, durations, From::Start, start));
        for id in flow.node_ids().filter(|id| measured_from(flow, *id)) {
            for language in Language::ALL {
                let walks = arrivals(flow, id, language).into_iter().map(|s| walk(flow, durations, From::Node(id), s));
                if let Some(worst) = walks.reduce(worse) {
                    silent.push(worst);
                }
            }
        }
        let keys_announced = flow
            .node_ids()
            .filter_map(|id| menu_prompts(flow, id).map(|prompts| (id, prompts)))
            .flat_map(|(id, prompts)| Language::ALL.map(|l| (id, l, prompts)))
            .map(|(id, language, prompts)| (id, language, until_reminder(flow, durations, language, prompts.iter())))
            .collect();
        let node_lengths = (flow.limits.node_seconds.iter())
            .flat_map(|(id, _)| Language::ALL.map(|l| (*id, l)))
            .map(|(id, l)| (id, l, flow.node(id).prompts.iter().map(|k| durations.duration(l, k)).sum()))
            .collect();
        Waits { silent, keys_announced, node_lengths, whisper: whispers(flow, durations) }
    }
}

/// What a node plays as a menu: a menu's prompts; a hold's (keys work there too: any key
/// rings the operators now, 9 the police); after a guidance part, its reprompt (the menu
/// after the part). `None` for a node that offers no choice.
fn menu_prompts(flow: &Flow, id: NodeId) -> Option<&[PromptKey]> {
    let node = flow.node(id);
    match node.kind {
        NodeKind::Menu { .. } | NodeKind::Hold { .. } => Some(&node.prompts),
        NodeKind::Guidance { .. } => Some(&node.reprompt),
        _ => None,
    }
}

/// For each language the start menu offers: a caller who hears the whole menu, chooses that
/// language as it ends, then presses nothing more.
fn choosing_a_language(flow: &Flow, durations: &dyn Durations, start: &Step<'_>) -> Vec<SilentWalk> {
    let Instruction::Gather { prompts, .. } = &start.say else {
        return Vec::new();
    };
    let keys = flow.node(flow.start).options().into_iter().flatten();
    let choices = keys.filter(|(_, choice)| choice.language.is_some());
    choices
        .map(|(key, _)| {
            let mut clock = Listening::new(flow, durations, start.language);
            clock.play(prompts);
            let chosen = step(flow, start.next, Input::Key(*key));
            clock.language = chosen.language;
            walk_on(From::Chose(*key), clock, chosen)
        })
        .collect()
}

/// Where a silent caller's wait is measured from: every node a caller listens on, except
/// the start (measured as the start of the call).
fn measured_from(flow: &Flow, id: NodeId) -> bool {
    id != flow.start
        && matches!(
            flow.node(id).kind,
            NodeKind::Menu { .. } | NodeKind::Guidance { .. } | NodeKind::Message { .. } | NodeKind::Hold { .. }
        )
}

/// Whether the limit on waits after the start applies from this node: a menu, guidance or
/// a wait between rings. A message only passes on to where the caller chooses, and so does
/// a language just chosen; their time counts in the stretch without a key reminder and is
/// shown.
pub fn limited(flow: &Flow, from: From) -> bool {
    match from {
        From::Start => true,
        From::Chose(_) => false,
        From::Node(id) => !matches!(flow.node(id).kind, NodeKind::Message { .. }),
    }
}

/// Entering `id` in `language`: once, or for a wait between rings once per piece of
/// guidance it can play.
fn arrivals(flow: &Flow, id: NodeId, language: Language) -> Vec<Step<'_>> {
    let rounds = match &flow.node(id).kind {
        NodeKind::Hold { guidance, .. } => 1..=u8::try_from(guidance.len()).unwrap_or(u8::MAX).max(1),
        _ => 1..=1,
    };
    rounds.map(|round| flow.arrive(CallId(0), Some(language), id, round)).collect()
}

fn worse(a: SilentWalk, b: SilentWalk) -> SilentWalk {
    let to_person = match (a.to_person, b.to_person) {
        (Some(a), Some(b)) => Some(a.max(b)),
        _ => None,
    };
    SilentWalk { to_person, without_reminder: a.without_reminder.max(b.without_reminder), ..a }
}

/// Follows a caller who presses nothing from `first` (what they hear on arriving).
fn walk(flow: &Flow, durations: &dyn Durations, from: From, first: Step<'_>) -> SilentWalk {
    walk_on(from, Listening::new(flow, durations, first.language), first)
}

/// Follows a caller who presses nothing from `first`, with what they have heard before.
fn walk_on(from: From, mut clock: Listening<'_>, first: Step<'_>) -> SilentWalk {
    let (flow, language) = (clock.flow, first.language);
    let mut current = first;
    for _ in 0..MAX_SILENT_STEPS {
        match &current.say {
            Instruction::Gather { prompts, timeout_seconds } => {
                clock.play(prompts);
                clock.wait(*timeout_seconds);
            }
            Instruction::OperatorTransfer { prompts, .. } => {
                let without_reminder = clock.longest();
                clock.play(prompts);
                return SilentWalk { from, language, to_person: Some(clock.elapsed), without_reminder };
            }
            Instruction::EmergencyTransfer { .. } | Instruction::Hangup { .. } => break,
        }
        current = step(flow, current.next, Input::NoInput);
    }
    SilentWalk { from, language, to_person: None, without_reminder: clock.longest() }
}

/// A caller's listening time, and the stretches between key reminders.
struct Listening<'a> {
    flow: &'a Flow,
    durations: &'a dyn Durations,
    language: Language,
    elapsed: Duration,
    since_reminder: Duration,
    longest: Duration,
}

impl<'a> Listening<'a> {
    fn new(flow: &'a Flow, durations: &'a dyn Durations, language: Language) -> Listening<'a> {
        Listening {
            flow,
            durations,
            language,
            elapsed: Duration::ZERO,
            since_reminder: Duration::ZERO,
            longest: Duration::ZERO,
        }
    }

    fn play(&mut self, prompts: &[&PromptKey]) {
        for key in prompts {
            let time = self.durations.duration(self.language, key);
            self.elapsed += time;
            self.since_reminder += time;
            if is_reminder(self.flow, key) {
                self.longest = self.longest.max(self.since_reminder);
                self.since_reminder = Duration::ZERO;
            }
        }
    }

    fn wait(&mut self, seconds: u8) {
        let time = Duration::from_secs(u64::from(seconds));
        self.elapsed += time;
        self.since_reminder += time;
    }

    fn longest(&self) -> Duration {
        self.longest.max(self.since_reminder)
    }
}

fn is_reminder(flow: &Flow, key: &PromptKey) -> bool {
    flow.limits.key_reminders.contains(key)
}

/// Listening until the end of the first key reminder among `prompts`.
fn until_reminder<'k>(
    flow: &Flow,
    durations: &dyn Durations,
    language: Language,
    prompts: impl Iterator<Item = &'k PromptKey>,
) -> Option<Duration> {
    let mut elapsed = Duration::ZERO;
    for key in prompts {
        elapsed += durations.duration(language, key);
        if is_reminder(flow, key) {
            return Some(elapsed);
        }
    }
    None
}

/// The longest whisper, in each language an operator may hear it in.
fn whispers(flow: &Flow, durations: &dyn Durations) -> Vec<(Language, Duration)> {
    let all = every_whisper(flow);
    Language::ALL
        .map(|listener| {
            let longest = all.iter().map(|keys| keys.iter().map(|k| durations.duration(listener, k)).sum()).max();
            (listener, longest.unwrap_or_default())
        })
        .to_vec()
}
