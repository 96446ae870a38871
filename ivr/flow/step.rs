//! `step`: one caller action in, the next instruction out. Pure: no I/O, no clock.
//!
//! The emergency key is looked at before anything else, on every node that listens, so no
//! menu, prompt or failure count can stand between a caller and the police.
//!
//! A caller who has not chosen a language hears every prompt in both ([`Spoken::Both`]), and
//! where the flow would send them to the main menu they are offered the language choice
//! again: nothing they hear is in one language only.

use super::model::{Digit, Flow, Language, NodeId, NodeKind, PromptKey, Spoken};
use super::state::{CallId, CallState, TopicSet};

/// What the caller did, as the provider reported it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Input {
    /// A keypad key.
    Key(Digit),
    /// Something arrived that is not one keypad key.
    UnknownKey,
    /// The menu finished and the caller pressed nothing.
    NoInput,
    /// A transfer ended.
    Dial(DialOutcome),
}

/// How a transfer's dial ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum DialOutcome {
    /// The other side answered; the conversation is over.
    Completed,
    /// The line was busy.
    Busy,
    /// Nobody answered in the ring time.
    NoAnswer,
    /// The dial could not be made.
    Failed,
}

/// What the caller hears or where they are connected next, in no provider's dialect.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum Instruction<'f> {
    /// Play the prompts while listening for one key; after `timeout_seconds` of silence the
    /// provider comes back with [`Input::NoInput`].
    Gather {
        /// What plays, in order.
        prompts: Vec<&'f PromptKey>,
        /// Seconds of silence before no input.
        timeout_seconds: u8,
    },
    /// Play the prompts, then dial the police.
    EmergencyTransfer {
        /// What plays before dialling.
        prompts: Vec<&'f PromptKey>,
        /// How long the police number rings.
        ring_seconds: u8,
    },
    /// Play the prompts, then ring the operators; they are told what the caller heard
    /// (the topics and flags in [`Step::next`]).
    OperatorTransfer {
        /// What plays before ringing.
        prompts: Vec<&'f PromptKey>,
        /// How long the operators ring.
        ring_seconds: u8,
    },
    /// Play the prompts and end the call.
    Hangup {
        /// What plays before the call ends.
        prompts: Vec<&'f PromptKey>,
    },
}

/// Anonymous facts about the call, for statistics. Never a caller identifier.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Event {
    /// A call began.
    CallStarted,
    /// The caller chose a language.
    LanguageChosen(Language),
    /// The call entered a node.
    Entered(NodeId),
    /// A key that the node acts on was pressed.
    KeyPressed {
        /// The node.
        node: NodeId,
        /// The key.
        key: Digit,
    },
    /// A key the menu does not offer.
    InvalidKey {
        /// The menu.
        node: NodeId,
    },
    /// The menu heard nothing.
    NoInput {
        /// The menu.
        node: NodeId,
    },
    /// The caller heard a guidance topic (its index).
    TopicHeard(u8),
    /// The police number is dialled.
    EmergencyTransfer,
    /// Operators are rung.
    OperatorTransfer {
        /// Whether the caller got here by pressing nothing.
        silent: bool,
        /// Which round of ringing, from 1.
        round: u8,
    },
    /// A transfer's dial ended.
    DialEnded {
        /// Whether it was the police transfer.
        emergency: bool,
        /// How it ended.
        outcome: DialOutcome,
    },
    /// The flow ended the call.
    Hangup,
}

/// The flow's answer to one input: what to do, the state to carry, what to record.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Step<'f> {
    /// Where the caller is now; it travels in the next action URLs.
    pub next: CallState,
    /// The language the prompts are played in, or both before the caller chooses.
    pub spoken: Spoken,
    /// What the caller hears or where they are connected.
    pub say: Instruction<'f>,
    /// What to record, in order.
    pub events: Vec<Event>,
}

impl Instruction<'_> {
    /// What plays, in order.
    pub fn prompts(&self) -> &[&PromptKey] {
        match self {
            Instruction::Gather { prompts, .. }
            | Instruction::EmergencyTransfer { prompts, .. }
            | Instruction::OperatorTransfer { prompts, .. }
            | Instruction::Hangup { prompts } => prompts,
        }
    }
}

impl Flow {
    /// A new call, at the start of the flow.
    pub fn begin(&self, call: CallId) -> Step<'_> {
        enter(self, self.recover(call, None), self.start, vec![Event::CallStarted])
    }

    /// What a caller handed back at `state` (a platform re-entering another instance with
    /// the state the last one saved) hears there: `state.node` entered again.
    pub fn resume(&self, state: CallState) -> Step<'_> {
        enter(self, state, state.node, Vec::new())
    }

    /// Where a call whose state cannot be trusted resumes: the main menu in its language,
    /// or the language choice when it has none.
    pub fn recover(&self, call: CallId, language: Option<Language>) -> CallState {
        let node = if language.is_some() { self.main_menu } else { self.start };
        CallState {
            call,
            node,
            language,
            failures: 0,
            topics: TopicSet::default(),
            silent: false,
            seq: 0,
            rounds: 0,
            police_unreachable: false,
            started: None,
            queue: None,
        }
    }
}

/// Moves a caller one step through the flow.
pub fn step<'f>(flow: &'f Flow, state: CallState, input: Input) -> Step<'f> {
    let state = CallState { seq: state.seq.wrapping_add(1), ..state };
    let node = flow.node(state.node);
    match input {
        Input::Key(key) if key == flow.emergency_key => {
            let events = vec![Event::KeyPressed { node: state.node, key }];
            enter(flow, state, flow.emergency, events)
        }
        Input::Key(key) => pressed(flow, state, key),
        Input::UnknownKey => failed(flow, state, Event::InvalidKey { node: state.node }),
        Input::NoInput => match node.kind {
            NodeKind::Message { next } => silent_through(flow, state, next),
            NodeKind::Hold { next, .. } => enter(flow, state, next, Vec::new()),
            NodeKind::OperatorTransfer { .. } => ask_again(flow, state, Vec::new()),
            _ => failed(flow, state, Event::NoInput { node: state.node }),
        },
        Input::Dial(outcome) => dialled(flow, state, outcome),
    }
}

fn pressed(flow: &Flow, state: CallState, key: Digit) -> Step<'_> {
    let node = flow.node(state.node);
    let mut events = vec![Event::KeyPressed { node: state.node, key }];
    if let NodeKind::Message { next } | NodeKind::Hold { next, .. } = node.kind {
        if key == flow.operator_key {
            return enter(flow, state, flow.operator, events);
        }
        // A caller who already knows the menu need not wait for the message (or the
        // messages after it) to end: the key counts for the menu they lead to.
        let ahead = arriving(flow, state, next);
        let next = ahead.node;
        let next_node = flow.node(next);
        return match next_node.kind {
            NodeKind::Message { .. } => pressed(flow, ahead, key),
            _ if next_node.options().is_some() => pressed(flow, ahead, key),
            _ => enter(flow, state, next, events),
        };
    }
    if let NodeKind::OperatorTransfer { on_failure, .. } = node.kind {
        // A caller waiting in the operators' queue: the operator key asks again; any other
        // key opens what they can do meanwhile (advice, the main menu), keeping their place.
        return if key == flow.operator_key {
            ask_again(flow, state, events)
        } else {
            enter(flow, state, on_failure, events)
        };
    }
    let Some(options) = node.options() else {
        // A key for a node that does not listen: the state is stale or forged.
        return resume(flow, state, events);
    };
    if key == flow.operator_key {
        return enter(flow, state, flow.operator, events);
    }
    if Some(key) == flow.repeat_key {
        return repeat(flow, state, events);
    }
    match options.get(&key) {
        Some(choice) => {
            let mut state = state;
            if let Some(language) = choice.language {
                state.language = Some(language);
                events.push(Event::LanguageChosen(language));
            }
            enter(flow, state, choice.goto, events)
        }
        None => {
            events.push(Event::InvalidKey { node: state.node });
            retry(flow, state, &flow.invalid_choice_prompt, events, false)
        }
    }
}

/// The repeat key: the menu plays again from its start. Not a failure, and a topic heard
/// again is not counted again.
fn repeat(flow: &Flow, state: CallState, events: Vec<Event>) -> Step<'_> {
    let node = flow.node(state.node);
    let next = CallState { failures: 0, ..state };
    Step {
        next,
        spoken: Spoken::of(next.language),
        say: Instruction::Gather { prompts: node.prompts.iter().collect(), timeout_seconds: node.timeout_seconds },
        events,
    }
}

/// A wrong key or silence on a node that listens.
fn failed(flow: &Flow, state: CallState, event: Event) -> Step<'_> {
    let node = flow.node(state.node);
    if node.options().is_none() && !matches!(node.kind, NodeKind::Message { .. } | NodeKind::Hold { .. }) {
        return resume(flow, state, Vec::new());
    }
    let silent = matches!(event, Event::NoInput { .. });
    let lead = if silent { &flow.no_input_prompt } else { &flow.invalid_choice_prompt };
    retry(flow, state, lead, vec![event], silent)
}

/// Plays the menu again after a short notice, or, after too many failures in a row, sends
/// the caller to a person: someone who cannot speak or press keys must still reach one.
/// Silence has its own limit per menu (one silence at the language choice rings at once)
/// and its own short reprompt, so a silent caller is not walked through whole menus again.
fn retry<'f>(flow: &'f Flow, state: CallState, lead: &'f PromptKey, events: Vec<Event>, silent: bool) -> Step<'f> {
    let node = flow.node(state.node);
    let failures = state.failures.saturating_add(1);
    let limit = if silent { node.max_silences.min(flow.max_failures) } else { flow.max_failures };
    if failures >= limit {
        return enter(flow, CallState { silent, ..state }, flow.operator, events);
    }
    let prompts = if silent {
        node.silence_reprompt.iter().collect()
    } else {
        std::iter::once(lead).chain(&node.reprompt).collect()
    };
    Step {
        next: CallState { failures, ..state },
        spoken: Spoken::of(state.language),
        say: Instruction::Gather { prompts, timeout_seconds: node.timeout_seconds },
        events,
    }
}

fn dialled(flow: &Flow, state: CallState, outcome: DialOutcome) -> Step<'_> {
    let (emergency, on_failure, on_complete) = match flow.node(state.node).kind {
        NodeKind::EmergencyTransfer { on_failure, on_complete, .. } => (true, on_failure, on_complete),
        NodeKind::OperatorTransfer { max_rounds, on_failure, on_exhausted, on_complete, .. } => {
            let last_round = state.rounds >= max_rounds;
            let unanswered = matches!(outcome, DialOutcome::NoAnswer | DialOutcome::Busy);
            if state.queue.is_some() && unanswered && !last_round {
                // Back to their place in the queue: the next free operator is offered them.
                return ask_again(flow, state, vec![Event::DialEnded { emergency: false, outcome }]);
            }
            (false, if last_round { on_exhausted } else { on_failure }, on_complete)
        }
        _ => return resume(flow, state, Vec::new()),
    };
    let mut state = state;
    if emergency && outcome != DialOutcome::Completed {
        state.police_unreachable = true;
    }
    if outcome == DialOutcome::Completed {
        state.queue = None;
    }
    let events = vec![Event::DialEnded { emergency, outcome }];
    match (outcome, on_complete) {
        (DialOutcome::Completed, Some(done)) => enter(flow, state, done, events),
        (DialOutcome::Completed, None) => Step {
            next: state,
            spoken: Spoken::of(state.language),
            say: Instruction::Hangup { prompts: Vec::new() },
            events: [events, vec![Event::Hangup]].concat(),
        },
        _ => enter(flow, state, on_failure, events),
    }
}

/// A caller waiting in the operators' queue asks for their turn again (after a stretch of
/// waiting, a ring nobody answered, or the operator key): the transfer once more, without
/// its prompts and without a new round. The call core rings whoever the queue offers them,
/// or lets them wait on; it counts a round for each ring.
fn ask_again(flow: &Flow, state: CallState, events: Vec<Event>) -> Step<'_> {
    let NodeKind::OperatorTransfer { ring_seconds, .. } = flow.node(state.node).kind else {
        return resume(flow, state, events);
    };
    let next = CallState { failures: 0, ..state };
    Step {
        next,
        spoken: Spoken::of(next.language),
        say: Instruction::OperatorTransfer { prompts: Vec::new(), ring_seconds },
        events,
    }
}

/// Puts a caller whose state does not fit their input back where the flow recovers calls.
fn resume(flow: &Flow, state: CallState, events: Vec<Event>) -> Step<'_> {
    let recovered = CallState { seq: state.seq, started: state.started, ..flow.recover(state.call, state.language) };
    enter(flow, recovered, recovered.node, events)
}

/// A silence on a message: the caller moves on to the node after it, still silent. On a
/// menu that silence counts as their first, so a caller who has pressed nothing since their
/// last key gets no second chance there: their wait for a person runs from that key, and
/// the message has already made it longer (`ivr flow audit` counts it so).
fn silent_through(flow: &Flow, state: CallState, next: NodeId) -> Step<'_> {
    let mut step = enter(flow, state, next, Vec::new());
    if flow.node(step.next.node).options().is_some() {
        step.next.failures = 1;
    }
    step
}

/// A caller's state on arriving at `to`. The main menu starts the rounds of ringing for an
/// operator again; the main menu of a caller who chose no language is the language choice,
/// for they have no menu in a language yet.
fn arriving(flow: &Flow, state: CallState, to: NodeId) -> CallState {
    let mut next = CallState { node: to, failures: 0, ..state };
    if matches!(flow.node(to).kind, NodeKind::EmergencyTransfer { .. }) {
        // Put through to the police: their place in the operators' queue is given up.
        next.queue = None;
    }
    if to == flow.main_menu {
        next.rounds = 0;
        next.queue = None;
        if state.language.is_none() {
            next.node = flow.start;
        }
    }
    next
}

/// Moves the caller onto `to` (see [`arriving`]) and says what they hear there.
fn enter(flow: &Flow, state: CallState, to: NodeId, mut events: Vec<Event>) -> Step<'_> {
    let mut next = arriving(flow, state, to);
    let to = next.node;
    let node = flow.node(to);
    events.push(Event::Entered(to));
    let mut prompts: Vec<&PromptKey> = node.prompts.iter().collect();
    let say = match node.kind {
        NodeKind::Menu { .. } | NodeKind::Message { .. } => {
            Instruction::Gather { prompts, timeout_seconds: node.timeout_seconds }
        }
        NodeKind::Guidance { topic, .. } => {
            // Once per call: the parts of a topic, or hearing it again, count it once.
            if !next.topics.contains(topic) {
                next.topics.insert(topic);
                events.push(Event::TopicHeard(topic));
            }
            Instruction::Gather { prompts, timeout_seconds: node.timeout_seconds }
        }
        NodeKind::EmergencyTransfer { ring_seconds, .. } => {
            events.push(Event::EmergencyTransfer);
            Instruction::EmergencyTransfer { prompts, ring_seconds }
        }
        NodeKind::Hold { ref guidance, .. } => {
            let round = usize::from(next.rounds.saturating_sub(1));
            prompts.extend(guidance.get(round % guidance.len().max(1)));
            Instruction::Gather { prompts, timeout_seconds: node.timeout_seconds }
        }
        NodeKind::OperatorTransfer { ring_seconds, .. } => {
            next.rounds = next.rounds.saturating_add(1);
            events.push(Event::OperatorTransfer { silent: next.silent, round: next.rounds });
            Instruction::OperatorTransfer { prompts, ring_seconds }
        }
        NodeKind::Hangup => {
            events.push(Event::Hangup);
            Instruction::Hangup { prompts }
        }
    };
    if !matches!(node.kind, NodeKind::OperatorTransfer { .. }) {
        next.silent = false;
    }
    Step { spoken: Spoken::of(next.language), next, say, events }
}
