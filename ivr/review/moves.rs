//! Every way a caller can leave every node, found by asking [`step`] in every state a caller
//! can reach (`reach.rs`) rather than by reading the flow file a second time.
//!
//! The graph and the audit are built from these moves, so they show what the call path
//! really does: if `step` ever stopped honouring the emergency key somewhere, the audit
//! would see it, even though the flow file still names the key.

use std::collections::HashMap;

use crate::flow::{
    CallId, CallState, DialOutcome, Digit, Event, Flow, Input, Instruction, Language, NodeId, PromptKey, Step, step,
};

use super::reach::{arrivals, inputs, listens, states};

/// What the caller (or the far end of a transfer) did to leave a node.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Via {
    /// Pressed this key.
    Key(Digit),
    /// A message ended and the caller pressed nothing: it moves on by itself.
    Silence,
    /// This many wrong keys or silences in a row on a menu.
    Failures(u8),
    /// This many silences in a row on a menu: a silent caller is put through to a person.
    Silences(u8),
    /// A transfer ended this way.
    Dial(DialOutcome),
}

/// One way out of a node.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Move {
    /// The node left.
    pub from: NodeId,
    /// How.
    pub via: Via,
    /// `None` when the call ends.
    pub to: Option<NodeId>,
    /// The language this move chooses, if it chooses one.
    pub language: Option<Language>,
    /// On a node callers reach both with and without a language: `Some(false)` if only a
    /// caller who has chosen none makes this move (from "operators busy", 2 leads them to
    /// the language choice), `Some(true)` if only one who has; `None` for any caller.
    pub language_chosen: Option<bool>,
    /// What the caller hears on arriving, as `step` says it.
    pub heard: Vec<PromptKey>,
}

/// Whether a node is a menu or guidance, which offer their own options.
pub fn offers_options(flow: &Flow, node: NodeId) -> bool {
    flow.node(node).options().is_some()
}

/// What a caller hears when the call is answered.
pub fn first_heard(flow: &Flow) -> Vec<PromptKey> {
    said(&flow.begin(CallId(0)).say)
}

/// Every distinct move a caller can make, from every state a caller can reach, in node order.
pub fn moves(flow: &Flow) -> Vec<Move> {
    let states = states(&arrivals(flow));
    // Each move found, and whether callers with a language and callers with none make it.
    let mut found: Vec<(Move, bool, bool)> = Vec::new();
    let mut index: HashMap<Move, usize> = HashMap::new();
    for node in flow.node_ids() {
        for state in states.iter().filter(|s| s.node == node) {
            for input in inputs(flow, node) {
                let step = step(flow, *state, input);
                let Some(m) = as_move(flow, *state, input, &step) else { continue };
                let at = *index.entry(m.clone()).or_insert_with(|| {
                    found.push((m, false, false));
                    found.len() - 1
                });
                let (_, with, without) = &mut found[at];
                *with |= state.language.is_some();
                *without |= state.language.is_none();
            }
        }
    }
    let reached = |node: NodeId, chosen: bool| states.iter().any(|s| s.node == node && s.language.is_some() == chosen);
    found
        .into_iter()
        .map(|(m, with, without)| {
            let language_chosen = match (with, without) {
                (true, false) if reached(m.from, false) => Some(true),
                (false, true) if reached(m.from, true) => Some(false),
                _ => None,
            };
            Move { language_chosen, ..m }
        })
        .collect()
}

/// The move a step makes, if it leaves the node or ends the call. A wrong key or a silence
/// that only plays the menu again is not a move; one that gives up on the menu is.
fn as_move(flow: &Flow, state: CallState, input: Input, step: &Step<'_>) -> Option<Move> {
    let to = step.events.iter().find_map(|e| match e {
        Event::Entered(to) => Some(*to),
        _ => None,
    });
    let ends = matches!(step.say, Instruction::Hangup { .. });
    if to.is_none() && !ends {
        return None;
    }
    let failed = step.events.iter().any(|e| matches!(e, Event::InvalidKey { .. } | Event::NoInput { .. }));
    let silent = step.events.iter().any(|e| matches!(e, Event::NoInput { .. }));
    let via = match input {
        _ if silent => Via::Silences(flow.node(state.node).max_silences.min(flow.max_failures)),
        _ if failed => Via::Failures(flow.max_failures),
        Input::Key(key) => Via::Key(key),
        Input::Dial(outcome) => Via::Dial(outcome),
        Input::NoInput | Input::UnknownKey => Via::Silence,
    };
    let language = step.next.language.filter(|_| step.next.language != state.language);
    Some(Move { from: state.node, via, to, language, language_chosen: None, heard: said(&step.say) })
}

/// The prompts an instruction plays.
fn said(instruction: &Instruction<'_>) -> Vec<PromptKey> {
    instruction.prompts().iter().map(|&key| key.clone()).collect()
}

/// Moves every node has alike where they can happen: a key every node that listens
/// answers the same way (the emergency and operator keys), the give-up every menu shares
/// after too many failures. The graph draws them once, not from every node.
pub fn shared_moves(flow: &Flow, moves: &[Move]) -> Vec<Move> {
    let menus: Vec<NodeId> = flow.node_ids().filter(|&id| offers_options(flow, id)).collect();
    let listening: Vec<NodeId> = flow.node_ids().filter(|&id| listens(flow, id)).collect();
    let Some(&first) = menus.first() else {
        return Vec::new();
    };
    let same = |a: &Move, b: &Move| {
        a.via == b.via && a.to == b.to && a.language == b.language && a.language_chosen == b.language_chosen
    };
    let everywhere =
        |m: &Move, nodes: &[NodeId]| nodes.iter().all(|&id| moves.iter().any(|o| o.from == id && same(o, m)));
    moves
        .iter()
        .filter(|m| m.from == first)
        .filter(|m| everywhere(m, if matches!(m.via, Via::Key(_)) { &listening } else { &menus }))
        .cloned()
        .collect()
}

/// Whether `candidate` is one of the `shared` moves, from whichever node.
pub fn is_shared(shared: &[Move], candidate: &Move) -> bool {
    shared.iter().any(|s| {
        s.via == candidate.via
            && s.to == candidate.to
            && s.language == candidate.language
            && s.language_chosen == candidate.language_chosen
    })
}

/// How a move reads in a graph or a route: `1`, `silence`, `3 failures`, `no answer`.
pub fn via_label(via: Via) -> String {
    match via {
        Via::Key(key) => key.to_string(),
        Via::Silence => "silence".to_owned(),
        Via::Failures(count) => format!("{count} failures in a row"),
        Via::Silences(1) => "1 silence".to_owned(),
        Via::Silences(count) => format!("{count} silences in a row"),
        Via::Dial(DialOutcome::Completed) => "answered".to_owned(),
        Via::Dial(DialOutcome::Busy) => "busy".to_owned(),
        Via::Dial(DialOutcome::NoAnswer) => "no answer".to_owned(),
        Via::Dial(DialOutcome::Failed) => "failed".to_owned(),
    }
}
