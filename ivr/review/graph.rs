//! `ivr flow graph`: the menu as a Graphviz or Mermaid graph, one box per node with its
//! prompt keys, one arrow per way out labelled with the keys that take it.
//!
//! The moves every node shares (the emergency and operator keys, the give-up after too many
//! failures on a menu) would put an arrow from every box to the same two boxes; they are
//! drawn once, from a box of their own, so the graph stays readable. Keys pressed during a
//! message or a hold count for the node after it and are not drawn again. Where a caller
//! with no language goes elsewhere than one with a language (to the language choice rather
//! than the main menu), both arrows are drawn and say so.

use std::fmt::Write;

use crate::flow::{Flow, NodeId, NodeKind};

use super::moves::{Move, Via, is_shared, offers_options, shared_moves, via_label};
use super::reach::KEYPAD;

/// How `ivr flow graph` draws.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    /// Graphviz: `ivr flow graph | dot -Tsvg > flow.svg`.
    Dot,
    /// Mermaid, for Markdown pages that render it.
    Mermaid,
}

/// The box the shared moves start from.
const ANY_LISTENING_NODE: &str = "any menu, guidance or message";
/// The box for "the call ends" after an answered transfer with nowhere to go.
const CALL_ENDS: &str = "call ends";

/// One arrow: the keys or outcomes that take it.
#[derive(Debug, PartialEq, Eq)]
struct Arrow {
    from: String,
    to: String,
    labels: Vec<String>,
    /// Said once after the labels: when this way out is taken.
    note: &'static str,
    style: Style,
}

impl Arrow {
    fn label(&self) -> String {
        self.labels.join(" / ") + self.note
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Style {
    Key,
    /// Nobody pressed anything: a message moving on, a transfer's outcome, failures.
    ByItself,
    Emergency,
}

/// The graph of `flow` from its `moves`.
pub fn graph(flow: &Flow, moves: &[Move], format: Format) -> String {
    let shared = shared_moves(flow, moves);
    let mut arrows = Vec::new();
    for m in moves.iter().filter(|m| drawn(flow, &shared, m)) {
        add(&mut arrows, flow, m, flow.node(m.from).name.clone());
    }
    for node in flow.node_ids().filter(|&id| !offers_options(flow, id)) {
        if let Some(to) = any_key_leads_to(moves, &shared, node) {
            let (from, to) = (flow.node(node).name.clone(), flow.node(to).name.clone());
            arrows.push(Arrow { from, to, labels: vec!["any key".to_owned()], note: "", style: Style::Key });
        }
    }
    for m in &shared {
        add(&mut arrows, flow, m, ANY_LISTENING_NODE.to_owned());
    }
    let mut boxes: Vec<(String, String)> =
        flow.node_ids().map(|id| (flow.node(id).name.clone(), label(flow, id))).collect();
    if !shared.is_empty() {
        boxes.push((ANY_LISTENING_NODE.to_owned(), ANY_LISTENING_NODE.to_owned()));
    }
    if arrows.iter().any(|a| a.to == CALL_ENDS) {
        boxes.push((CALL_ENDS.to_owned(), CALL_ENDS.to_owned()));
    }
    match format {
        Format::Dot => dot(&boxes, &arrows),
        Format::Mermaid => mermaid(&boxes, &arrows),
    }
}

/// Whether a move gets its own arrow from its node.
fn drawn(flow: &Flow, shared: &[Move], m: &Move) -> bool {
    let counts_ahead = !offers_options(flow, m.from) && matches!(m.via, Via::Key(_));
    !is_shared(shared, m) && !counts_ahead
}

/// Where a message or hold sends a caller who presses any key but the shared ones, when
/// every such key leads to the same node (a hold: any key rings the operators again).
fn any_key_leads_to(moves: &[Move], shared: &[Move], node: NodeId) -> Option<NodeId> {
    let own: Vec<&Move> =
        moves.iter().filter(|m| m.from == node && matches!(m.via, Via::Key(_)) && !is_shared(shared, m)).collect();
    let mut keys: Vec<Via> = Vec::new();
    for via in own.iter().map(|m| m.via).chain(shared.iter().map(|m| m.via)) {
        if matches!(via, Via::Key(_)) && !keys.contains(&via) {
            keys.push(via);
        }
    }
    let to = own.first()?.to?;
    (keys.len() == KEYPAD.len() && own.iter().all(|m| m.to == Some(to))).then_some(to)
}

/// Adds `m` to the arrow with the same ends and chosen language, or as a new arrow.
fn add(arrows: &mut Vec<Arrow>, flow: &Flow, m: &Move, from: String) {
    let to = m.to.map_or(CALL_ENDS.to_owned(), |to| flow.node(to).name.clone());
    let mut label = via_label(m.via);
    if let Some(language) = m.language {
        let _ = write!(label, " ({language})");
    }
    let style = match m.via {
        Via::Key(_) if m.to == Some(flow.emergency) => Style::Emergency,
        Via::Key(_) => Style::Key,
        _ => Style::ByItself,
    };
    let note = match m.language_chosen {
        Some(false) => " (no language chosen)",
        Some(true) => " (language chosen)",
        None => last_round(flow, m),
    };
    let same = |a: &&mut Arrow| a.from == from && a.to == to && a.style == style && a.note == note;
    match arrows.iter_mut().find(same).filter(|_| m.language.is_none()) {
        Some(arrow) if arrow.labels.contains(&label) => {}
        Some(arrow) => arrow.labels.push(label),
        None => arrows.push(Arrow { from, to, labels: vec![label], note, style }),
    }
}

/// When a ring goes unanswered for the last time and the caller is sent elsewhere than
/// after the rounds before it.
fn last_round(flow: &Flow, m: &Move) -> &'static str {
    match flow.node(m.from).kind {
        NodeKind::OperatorTransfer { on_failure, on_exhausted, .. }
            if m.to == Some(on_exhausted) && on_exhausted != on_failure && matches!(m.via, Via::Dial(_)) =>
        {
            " (last round)"
        }
        _ => "",
    }
}

/// A node's box: its name, what kind it is, and the prompts it plays.
fn label(flow: &Flow, id: NodeId) -> String {
    let node = flow.node(id);
    let kind = match &node.kind {
        NodeKind::Menu { .. } => "menu".to_owned(),
        NodeKind::Guidance { topic, .. } => format!("guidance: {}", flow.topics[usize::from(*topic)]),
        NodeKind::Message { .. } => format!("message, moves on after {} s", node.timeout_seconds),
        NodeKind::Hold { guidance, .. } => format!("hold, plays one of {} guidance prompts", guidance.len()),
        NodeKind::EmergencyTransfer { ring_seconds, .. } => format!("EMERGENCY transfer, rings {ring_seconds} s"),
        NodeKind::OperatorTransfer { ring_seconds, max_rounds, .. } => {
            format!("operator transfer, rings {ring_seconds} s, up to {max_rounds} rounds")
        }
        NodeKind::Hangup => "hang up".to_owned(),
    };
    let prompts: Vec<&str> = node.prompts.iter().map(|p| p.as_str()).collect();
    format!("{}\n{kind}\n♪ {}", node.name, if prompts.is_empty() { "(none)".to_owned() } else { prompts.join(", ") })
}

fn dot(boxes: &[(String, String)], arrows: &[Arrow]) -> String {
    let mut out = String::from(
        "digraph flow {\n  rankdir=LR;\n  node [shape=box, style=rounded, fontname=\"sans-serif\"];\n  edge [fontname=\"sans-serif\"];\n",
    );
    for (name, label) in boxes {
        let extra = match name.as_str() {
            ANY_LISTENING_NODE => ", shape=note, style=filled, fillcolor=lightyellow",
            CALL_ENDS => ", shape=plaintext",
            _ => "",
        };
        let _ = writeln!(out, "  {} [label={}{extra}];", quoted(name), quoted(label));
    }
    for arrow in arrows {
        let style = match arrow.style {
            Style::Key => "",
            Style::ByItself => ", style=dashed",
            Style::Emergency => ", color=red, fontcolor=red, penwidth=2",
        };
        let _ = writeln!(
            out,
            "  {} -> {} [label={}{style}];",
            quoted(&arrow.from),
            quoted(&arrow.to),
            quoted(&arrow.label())
        );
    }
    out.push_str("}\n");
    out
}

fn quoted(text: &str) -> String {
    format!("\"{}\"", text.replace('\\', "\\\\").replace('"', "\\\"").replace('\n', "\\n"))
}

fn mermaid(boxes: &[(String, String)], arrows: &[Arrow]) -> String {
    let id = |name: &str| format!("n{}", boxes.iter().position(|(n, _)| n == name).unwrap_or(usize::MAX));
    let mut out = String::from("flowchart LR\n");
    for (name, label) in boxes {
        let _ = writeln!(out, "  {}[\"{}\"]", id(name), mermaid_text(label));
    }
    for arrow in arrows {
        let label = mermaid_text(&arrow.label());
        let line = match arrow.style {
            Style::Key => format!("-- \"{label}\" -->"),
            Style::ByItself => format!("-. \"{label}\" .->"),
            Style::Emergency => format!("== \"{label}\" ==>"),
        };
        let _ = writeln!(out, "  {} {line} {}", id(&arrow.from), id(&arrow.to));
    }
    out
}

fn mermaid_text(text: &str) -> String {
    text.replace('"', "#quot;").replace('\n', "<br/>")
}
