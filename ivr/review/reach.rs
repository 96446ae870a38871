//! Every call state a caller can reach from the start, and what they hear arriving in it:
//! found by asking [`step`](crate::flow::step) about every key, silence and transfer outcome in every state
//! already found, until no new state appears. The graph and the audit start from these, so
//! they measure the states the service really puts callers in (a caller with no language
//! at "operators busy" included), not states made up for the purpose.
//!
//! A state is kept without what changes neither where a caller goes nor what they hear: the
//! call id, the step counter, the start time, and what only the operator's whisper tells
//! (the topics heard, a silent caller, a police line that failed them), which the audit
//! times over every case on its own. Rounds of ringing for an operator beyond the last are
//! kept as the last: every further unanswered ring is the last one too.

use std::collections::{HashSet, VecDeque};

use crate::flow::{
    CallId, CallState, DialOutcome, Digit, Flow, Input, Instruction, NodeId, NodeKind, Spoken, Step, TopicSet,
};

/// Every key of a phone keypad.
pub const KEYPAD: [&str; 12] = ["1", "2", "3", "4", "5", "6", "7", "8", "9", "0", "*", "#"];

/// The transfer outcomes a provider reports.
pub const DIAL_OUTCOMES: [DialOutcome; 4] =
    [DialOutcome::Completed, DialOutcome::Busy, DialOutcome::NoAnswer, DialOutcome::Failed];

/// One way a caller arrives in a state: the state and what they hear there.
#[derive(Clone, Debug)]
pub struct Arrival<'f> {
    /// Where the caller is, reduced (see the module's comment).
    pub state: CallState,
    /// The step that brought them: what they hear, in which language.
    pub step: Step<'f>,
}

/// Every distinct way of arriving in every state a caller can reach, the start first.
pub fn arrivals(flow: &Flow) -> Vec<Arrival<'_>> {
    let mut found: Vec<Arrival<'_>> = Vec::new();
    let mut heard: HashSet<(CallState, Spoken, Instruction<'_>)> = HashSet::new();
    let mut explored: HashSet<CallState> = HashSet::new();
    let mut queue = VecDeque::from([flow.begin(CallId(0))]);
    while let Some(step) = queue.pop_front() {
        let state = reduced(flow, step.next);
        if explored.insert(state) {
            queue.extend(inputs(flow, state.node).into_iter().map(|input| crate::flow::step(flow, state, input)));
        }
        if heard.insert((state, step.spoken, step.say.clone())) {
            found.push(Arrival { state, step });
        }
    }
    found
}

/// Every distinct state a caller can be in, in the order first reached.
pub fn states(arrivals: &[Arrival<'_>]) -> Vec<CallState> {
    let mut seen = HashSet::new();
    arrivals.iter().map(|a| a.state).filter(|s| seen.insert(*s)).collect()
}

fn reduced(flow: &Flow, state: CallState) -> CallState {
    let last_round = (flow.nodes.iter())
        .filter_map(|n| match n.kind {
            NodeKind::OperatorTransfer { max_rounds, .. } => Some(max_rounds),
            _ => None,
        })
        .max()
        .unwrap_or(0);
    CallState {
        rounds: state.rounds.min(last_round),
        call: CallId(0),
        seq: 0,
        topics: TopicSet::default(),
        started: None,
        silent: false,
        police_unreachable: false,
        ..state
    }
}

/// Whether a caller can press keys on a node: everything but a transfer or a hang-up
/// plays its prompts inside a `<Gather>`.
pub fn listens(flow: &Flow, node: NodeId) -> bool {
    !matches!(
        flow.node(node).kind,
        NodeKind::EmergencyTransfer { .. } | NodeKind::OperatorTransfer { .. } | NodeKind::Hangup
    )
}

/// Whether a node dials someone.
pub fn transfers(flow: &Flow, node: NodeId) -> bool {
    matches!(flow.node(node).kind, NodeKind::EmergencyTransfer { .. } | NodeKind::OperatorTransfer { .. })
}

/// The keys of a keypad, as inputs.
pub fn keys() -> impl Iterator<Item = Input> {
    KEYPAD.iter().filter_map(|k| Digit::parse(k)).map(Input::Key)
}

/// What can happen on a node: keys and silence where the line listens, outcomes where it rings.
pub fn inputs(flow: &Flow, node: NodeId) -> Vec<Input> {
    if listens(flow, node) {
        keys().chain([Input::NoInput]).collect()
    } else if transfers(flow, node) {
        DIAL_OUTCOMES.map(Input::Dial).to_vec()
    } else {
        Vec::new()
    }
}
