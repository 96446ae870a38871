//! How long a caller in danger waits, from the real prompt durations: until a caller who
//! presses nothing more is ringing a person, until each menu has named the emergency and
//! operator keys, the longest stretch of listening without hearing them named, how long the
//! nodes the flow bounds play (the welcome, the safety notice, the main menu) and every
//! goodbye, and the longest whisper an operator hears. The flow's `[limits]` bound each.
//!
//! A silent caller's wait counts from their last key press, whatever plays after it (the
//! safety notice, the welcome, menus and their pauses, a reprompt): in every state a caller
//! can reach (`reach.rs`) every key is pressed, then the caller is walked through the real
//! [`step`] with no input, each prompt's duration and each wait for a key added up, until
//! someone is rung. A ring nobody answered starts the count again (the caller was ringing a
//! person until then), and the start of the call is the first such moment.
//!
//! The stretch without a key reminder counts from the same moments, except that a caller who
//! chooses a language on the language menu carries on what they heard since it named the
//! keys: they did not choose what follows (the safety notice, the welcome).
//!
//! Before a language is chosen each prompt plays in Kazakh, then in Russian, and is timed so;
//! the keys count as named when a reminder has played in the first of them.

use std::collections::{BTreeMap, HashMap};
use std::time::Duration;

use crate::flow::{
    CallId, CallState, DialOutcome, Digit, Flow, Input, Instruction, Language, NodeId, NodeKind, PromptKey, Spoken,
    Step, step,
};
use crate::operators::every_whisper;

use super::reach::{Arrival, keys, listens, states, transfers};
use super::{Durations, playing};

/// More steps than any flow needs before a silent caller reaches a person: a walk this long
/// never reaches one.
const MAX_SILENT_STEPS: usize = 64;

/// The ends of a transfer after which a caller is back in the menus.
const UNANSWERED: [DialOutcome; 3] = [DialOutcome::Busy, DialOutcome::NoAnswer, DialOutcome::Failed];

/// Where a silent caller's wait starts.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum From {
    /// The start of the call: no language chosen yet.
    Start,
    /// The caller pressed this key on this node (for a node's figure: the key, and the state
    /// on the node, with the longest wait after it).
    Key(NodeId, Digit),
    /// This transfer rang and nobody answered, or it failed.
    Ring(NodeId),
}

impl From {
    /// The node the wait starts on; `None` for the start of the call.
    pub fn node(self) -> Option<NodeId> {
        match self {
            From::Start => None,
            From::Key(node, _) | From::Ring(node) => Some(node),
        }
    }
}

/// What a caller who presses nothing more goes through from one moment.
#[derive(Clone, Debug, PartialEq)]
pub struct SilentWalk {
    /// When the caller starts pressing nothing.
    pub from: From,
    /// How they hear the prompts on the way: in their language, or in both.
    pub spoken: Spoken,
    /// Listening until someone is rung (the transfer's prompt included); `None` if silence
    /// never leads to a person.
    pub to_person: Option<Duration>,
    /// The longest listening on the way without hearing the emergency and operator keys
    /// named (a key-reminder prompt counts as heard at its end).
    pub without_reminder: Duration,
}

/// The figures `ivr flow audit` checks against the flow's `[limits]`.
#[derive(Clone, Debug, PartialEq)]
pub struct Waits {
    /// The start of the call, then for every node and the way it is heard there, the
    /// longest wait after a key pressed on it, and after each transfer nobody answered.
    pub silent: Vec<SilentWalk>,
    /// For every menu and the ways it is heard: listening from entering it until it has
    /// named the emergency and operator keys; `None` if it never does. For a guidance part,
    /// the menu after it, as played again after a wrong key.
    pub keys_announced: Vec<(NodeId, Spoken, Option<Duration>)>,
    /// For every node the flow bounds (`limits.node_seconds`) and the ways it is heard: how
    /// long its prompts play.
    pub node_lengths: Vec<(NodeId, Spoken, Duration)>,
    /// For every goodbye (a node that hangs up) and the ways it is heard: how long it plays.
    pub goodbyes: Vec<(NodeId, Spoken, Duration)>,
    /// For every language an operator may hear it in: the longest whisper.
    pub whisper: Vec<(Language, Duration)>,
}

impl Waits {
    /// Measures `flow` with the recordings' `durations`, in the states of `arrivals`
    /// (`reach::arrivals`).
    pub fn of(flow: &Flow, durations: &dyn Durations, arrivals: &[Arrival<'_>]) -> Waits {
        let mut silent = vec![walk(flow, durations, From::Start, flow.begin(CallId(0)), Duration::ZERO)];
        silent.extend(longest_each(after_keys(flow, durations, arrivals)));
        silent.extend(longest_each(after_rings(flow, durations, &states(arrivals))));
        let heard = heard_as(arrivals);
        let keys_announced = (heard.iter())
            .filter_map(|&(id, spoken)| menu_prompts(flow, id).map(|prompts| (id, spoken, prompts)))
            .map(|(id, spoken, prompts)| (id, spoken, until_reminder(flow, durations, spoken, prompts)))
            .collect();
        let lengths =
            |(id, spoken): &(NodeId, Spoken)| (*id, *spoken, playing(durations, *spoken, &flow.node(*id).prompts));
        let bounded = |id: &NodeId| flow.limits.node_seconds.iter().any(|(n, _)| n == id);
        let node_lengths = heard.iter().filter(|(id, _)| bounded(id)).map(lengths).collect();
        let hangs_up = |id: &NodeId| matches!(flow.node(*id).kind, NodeKind::Hangup);
        let goodbyes = heard.iter().filter(|(id, _)| hangs_up(id)).map(lengths).collect();
        Waits { silent, keys_announced, node_lengths, goodbyes, whisper: whispers(flow, durations) }
    }
}

/// Every node and way it is heard (in one language or both) that callers meet, in node order.
fn heard_as(arrivals: &[Arrival<'_>]) -> Vec<(NodeId, Spoken)> {
    let mut heard: Vec<(NodeId, Spoken)> = arrivals.iter().map(|a| (a.state.node, a.step.spoken)).collect();
    heard.sort_by_key(|(id, spoken)| (id.0, *spoken));
    heard.dedup();
    heard
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

/// For every state where keys work, every key pressed once the prompts have played, then
/// silence.
fn after_keys(flow: &Flow, durations: &dyn Durations, arrivals: &[Arrival<'_>]) -> Vec<SilentWalk> {
    let mut walker = Walker::new(flow, durations);
    let mut walks = Vec::new();
    for state in states(arrivals).into_iter().filter(|s| listens(flow, s.node)) {
        // Heard on the language menu before choosing: the longest of the ways it plays.
        let heard = arrivals.iter().filter(|a| a.state == state && state.node == flow.start);
        let before_choosing = heard.map(|a| since_reminder(flow, durations, &a.step)).max().unwrap_or_default();
        for input in keys() {
            let Input::Key(key) = input else { continue };
            let pressed = step(flow, state, input);
            let chose = pressed.next.language != state.language;
            let carried = if chose { before_choosing } else { Duration::ZERO };
            walks.push(walker.walk(From::Key(state.node, key), pressed, carried));
        }
    }
    walks
}

/// For every state on a transfer, every way it can go unanswered, then silence.
fn after_rings(flow: &Flow, durations: &dyn Durations, states: &[CallState]) -> Vec<SilentWalk> {
    let mut walker = Walker::new(flow, durations);
    let ringing = states.iter().filter(|s| transfers(flow, s.node));
    ringing
        .flat_map(|state| UNANSWERED.map(|outcome| (state, step(flow, *state, Input::Dial(outcome)))))
        .map(|(state, after)| walker.walk(From::Ring(state.node), after, Duration::ZERO))
        .collect()
}

/// Silent walks, each from what a caller hears first, remembered: many keys in many states
/// lead to the same place (9 to the police from everywhere), and it is walked once.
struct Walker<'a, 'f> {
    flow: &'f Flow,
    durations: &'a dyn Durations,
    known: HashMap<(CallState, Spoken, Instruction<'f>), SilentWalk>,
}

impl<'a, 'f> Walker<'a, 'f> {
    fn new(flow: &'f Flow, durations: &'a dyn Durations) -> Walker<'a, 'f> {
        Walker { flow, durations, known: HashMap::new() }
    }

    /// [`walk`], from `from`.
    fn walk(&mut self, from: From, first: Step<'f>, carried: Duration) -> SilentWalk {
        if carried > Duration::ZERO {
            return walk(self.flow, self.durations, from, first, carried);
        }
        let place = (first.next, first.spoken, first.say.clone());
        let (flow, durations) = (self.flow, self.durations);
        let known = self.known.entry(place).or_insert_with(|| walk(flow, durations, from, first, Duration::ZERO));
        SilentWalk { from, ..known.clone() }
    }
}

/// The longest wait of each node and way of hearing, in node order.
fn longest_each(walks: Vec<SilentWalk>) -> Vec<SilentWalk> {
    let mut longest: BTreeMap<(u16, Spoken), SilentWalk> = BTreeMap::new();
    for walk in walks {
        let Some(node) = walk.from.node() else { continue };
        match longest.get_mut(&(node.0, walk.spoken)) {
            Some(known) => {
                let without_reminder = known.without_reminder.max(walk.without_reminder);
                if walk.to_person.is_none_or(|t| known.to_person.is_some_and(|k| t > k)) {
                    *known = walk;
                }
                known.without_reminder = without_reminder;
            }
            None => {
                longest.insert((node.0, walk.spoken), walk);
            }
        }
    }
    longest.into_values().collect()
}

/// What the caller has heard since the keys were last named, once `step`'s prompts have played.
fn since_reminder(flow: &Flow, durations: &dyn Durations, step: &Step<'_>) -> Duration {
    let Instruction::Gather { prompts, .. } = &step.say else {
        return Duration::ZERO;
    };
    let mut clock = Listening::new(flow, durations, Duration::ZERO);
    clock.play(step.spoken, prompts);
    clock.since_reminder
}

/// Follows a caller who presses nothing from `first` (what they hear next), having heard
/// `carried` since the keys were last named.
fn walk(flow: &Flow, durations: &dyn Durations, from: From, first: Step<'_>, carried: Duration) -> SilentWalk {
    let mut clock = Listening::new(flow, durations, carried);
    let spoken = first.spoken;
    let mut current = first;
    for _ in 0..MAX_SILENT_STEPS {
        match &current.say {
            Instruction::Gather { prompts, timeout_seconds } => {
                clock.play(current.spoken, prompts);
                clock.wait(*timeout_seconds);
            }
            Instruction::OperatorTransfer { prompts, .. } | Instruction::EmergencyTransfer { prompts, .. } => {
                let without_reminder = clock.longest();
                clock.play(current.spoken, prompts);
                return SilentWalk { from, spoken, to_person: Some(clock.elapsed), without_reminder };
            }
            Instruction::Hangup { .. } => break,
        }
        current = step(flow, current.next, Input::NoInput);
    }
    SilentWalk { from, spoken, to_person: None, without_reminder: clock.longest() }
}

/// A caller's listening time, and the stretches between key reminders.
struct Listening<'a> {
    flow: &'a Flow,
    durations: &'a dyn Durations,
    elapsed: Duration,
    since_reminder: Duration,
    longest: Duration,
}

impl<'a> Listening<'a> {
    fn new(flow: &'a Flow, durations: &'a dyn Durations, carried: Duration) -> Listening<'a> {
        Listening { flow, durations, elapsed: Duration::ZERO, since_reminder: carried, longest: Duration::ZERO }
    }

    fn play(&mut self, spoken: Spoken, prompts: &[&PromptKey]) {
        for (language, key) in spoken.recordings(prompts.iter().copied()) {
            let time = self.durations.duration(language, key);
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

/// Listening until the end of the first key reminder among `prompts` (in the first language
/// it plays in).
fn until_reminder(flow: &Flow, durations: &dyn Durations, spoken: Spoken, prompts: &[PromptKey]) -> Option<Duration> {
    let mut elapsed = Duration::ZERO;
    for (language, key) in spoken.recordings(prompts) {
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
