//! The menu as a tree: what each node plays and which key leads where.
//!
//! The flow is a graph (guidance returns to the main menu, hold music loops back to the
//! operator), so the tree expands each node once, where it is first reached from the
//! start, and later mentions link back to it. The emergency, operator and repeat keys work
//! on every menu; they are shown once, after the tree, instead of under every menu.

use std::collections::VecDeque;

use askama::Template;

use super::layout::{Chrome, PageContext, Section, render};
use super::text::Text;
use crate::flow::{Flow, Language, NodeId, NodeKind};

/// The flow, with nodes referred to by their position in `nodes`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FlowView {
    pub start: usize,
    pub nodes: Vec<FlowNode>,
    pub emergency_key: char,
    pub emergency: usize,
    pub operator_key: char,
    pub operator: usize,
    /// Plays the current menu again, on every menu; `None` in a flow that names none.
    pub repeat_key: Option<char>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FlowNode {
    pub name: String,
    pub kind: FlowNodeKind,
    /// Prompt keys played on arrival, in order.
    pub prompts: Vec<String>,
    pub links: Vec<FlowLink>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum FlowNodeKind {
    Menu,
    Guidance {
        topic: String,
    },
    Message,
    EmergencyTransfer,
    OperatorTransfer,
    /// Plays one of `guidance` per round, a different one each time.
    Hold {
        guidance: Vec<String>,
    },
    Hangup,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FlowLink {
    pub via: LinkVia,
    pub to: usize,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LinkVia {
    /// A key on a menu, and the caller language it chooses, if any.
    Key {
        key: char,
        language: Option<Language>,
    },
    Next,
    OnFailure,
    OnExhausted,
    OnComplete,
}

impl FlowView {
    pub fn from_flow(flow: &Flow) -> FlowView {
        let ids: Vec<NodeId> = flow.node_ids().collect();
        let index = |id: NodeId| ids.iter().position(|i| *i == id).unwrap_or(0);
        let nodes = ids.iter().map(|id| node(flow, *id, &index)).collect();
        FlowView {
            start: index(flow.start),
            nodes,
            emergency_key: flow.emergency_key.as_char(),
            emergency: index(flow.emergency),
            operator_key: flow.operator_key.as_char(),
            operator: index(flow.operator),
            repeat_key: flow.repeat_key.map(|k| k.as_char()),
        }
    }

    /// Node indices in the order a caller meets them: breadth-first from the start, keys
    /// in order; then what only the emergency and operator keys lead to; then the nodes
    /// nothing leads to. This is the order of the hang-up funnel.
    pub fn call_order(&self) -> Vec<usize> {
        let mut seen = vec![false; self.nodes.len()];
        let mut order = Vec::with_capacity(self.nodes.len());
        for root in [self.start, self.emergency, self.operator].into_iter().chain(0..self.nodes.len()) {
            let mut queue = VecDeque::from([root]);
            while let Some(i) = queue.pop_front() {
                if i < seen.len() && !std::mem::replace(&mut seen[i], true) {
                    order.push(i);
                    queue.extend(self.nodes[i].links.iter().map(|l| l.to));
                }
            }
        }
        order
    }
}

fn node(flow: &Flow, id: NodeId, index: &impl Fn(NodeId) -> usize) -> FlowNode {
    let node = flow.node(id);
    let link = |via, to: NodeId| FlowLink { via, to: index(to) };
    let (kind, links) = match &node.kind {
        NodeKind::Menu { .. } => (FlowNodeKind::Menu, Vec::new()),
        NodeKind::Guidance { topic, .. } => {
            let topic = flow.topics.get(usize::from(*topic)).cloned().unwrap_or_default();
            (FlowNodeKind::Guidance { topic }, Vec::new())
        }
        NodeKind::Message { next } => (FlowNodeKind::Message, vec![link(LinkVia::Next, *next)]),
        NodeKind::EmergencyTransfer { on_failure, on_complete, .. } => {
            let mut links = vec![link(LinkVia::OnFailure, *on_failure)];
            links.extend(on_complete.map(|to| link(LinkVia::OnComplete, to)));
            (FlowNodeKind::EmergencyTransfer, links)
        }
        NodeKind::OperatorTransfer { on_failure, on_exhausted, on_complete, .. } => {
            let mut links = vec![link(LinkVia::OnFailure, *on_failure), link(LinkVia::OnExhausted, *on_exhausted)];
            links.extend(on_complete.map(|to| link(LinkVia::OnComplete, to)));
            (FlowNodeKind::OperatorTransfer, links)
        }
        NodeKind::Hold { guidance, next } => {
            let guidance = guidance.iter().map(|k| k.to_string()).collect();
            (FlowNodeKind::Hold { guidance }, vec![link(LinkVia::Next, *next)])
        }
        NodeKind::Hangup => (FlowNodeKind::Hangup, Vec::new()),
    };
    let keys = node
        .options()
        .into_iter()
        .flatten()
        .map(|(digit, choice)| link(LinkVia::Key { key: digit.as_char(), language: choice.language }, choice.goto));
    FlowNode {
        name: node.name.clone(),
        kind,
        prompts: node.prompts.iter().map(|k| k.to_string()).collect(),
        links: keys.chain(links).collect(),
    }
}

#[derive(Template)]
#[template(path = "flow.html", config = "ivr/admin/views/askama.toml")]
struct FlowPage<'a> {
    chrome: Chrome<'a>,
    t: &'static Text,
    global: Vec<Mark>,
    tree: Vec<Mark>,
    unreachable: Vec<Mark>,
}

/// The tree as a flat walk, for a template that cannot recurse.
enum Mark {
    /// Opens a child list.
    Open,
    Close,
    /// Opens an item; [`Mark::End`] closes it after its children.
    Item(Line),
    End,
    /// A key that leads to no node of its own, and what it does (the repeat key).
    Key(char, &'static str),
}

struct Line {
    anchor: Option<String>,
    key: Option<char>,
    via: Option<String>,
    name: String,
    href: String,
    kind: &'static str,
    emergency: bool,
    details: Vec<String>,
}

pub fn flow_page(page: &PageContext, view: &FlowView) -> String {
    let t = page.ui.text();
    let mut walk = Walk { view, t, seen: vec![false; view.nodes.len()] };
    let mut tree = Vec::new();
    walk.node(view.start, None, &mut tree);
    let mut global = Vec::new();
    for (key, to) in [(view.emergency_key, view.emergency), (view.operator_key, view.operator)] {
        walk.node(to, Some(LinkVia::Key { key, language: None }), &mut global);
    }
    global.extend(view.repeat_key.map(|key| Mark::Key(key, t.repeat_menu)));
    let mut unreachable = Vec::new();
    for i in 0..view.nodes.len() {
        if !walk.seen[i] {
            walk.node(i, None, &mut unreachable);
        }
    }
    render(&FlowPage { chrome: Chrome::signed_in(page, Section::Flow), t, global, tree, unreachable })
}

struct Walk<'a> {
    view: &'a FlowView,
    t: &'static Text,
    seen: Vec<bool>,
}

impl Walk<'_> {
    /// Writes node `index` reached through `via`, and its children the first time.
    fn node(&mut self, index: usize, via: Option<LinkVia>, marks: &mut Vec<Mark>) {
        let Some(node) = self.view.nodes.get(index) else { return };
        let first = !std::mem::replace(&mut self.seen[index], true);
        marks.push(Mark::Item(self.line(index, node, via, first)));
        if first && !node.links.is_empty() {
            marks.push(Mark::Open);
            for link in &node.links {
                self.node(link.to, Some(link.via), marks);
            }
            marks.push(Mark::Close);
        }
        marks.push(Mark::End);
    }

    fn line(&self, index: usize, node: &FlowNode, via: Option<LinkVia>, first: bool) -> Line {
        let t = self.t;
        let (key, via) = match via {
            Some(LinkVia::Key { key, language }) => (Some(key), language.map(|l| t.language_name(l.code()).to_owned())),
            Some(other) => (None, Some(via_label(t, other).to_owned())),
            None => (None, None),
        };
        let details = if first { details(t, node) } else { vec![t.shown_above.to_owned()] };
        Line {
            anchor: first.then(|| format!("node-{index}")),
            key,
            via,
            name: node.name.clone(),
            href: format!("#node-{index}"),
            kind: kind_label(t, &node.kind),
            emergency: node.kind == FlowNodeKind::EmergencyTransfer,
            details,
        }
    }
}

fn details(t: &Text, node: &FlowNode) -> Vec<String> {
    let mut out = Vec::new();
    if let FlowNodeKind::Guidance { topic } = &node.kind {
        out.push(format!("{}: {topic}", t.topic));
    }
    if !node.prompts.is_empty() {
        out.push(format!("{}: {}", t.plays, node.prompts.join(", ")));
    }
    if let FlowNodeKind::Hold { guidance } = &node.kind {
        out.push(format!("{}: {}", t.rotates, guidance.join(", ")));
    }
    out
}

fn via_label(t: &Text, via: LinkVia) -> &'static str {
    match via {
        LinkVia::Key { .. } | LinkVia::Next => t.via_next,
        LinkVia::OnFailure => t.via_failure,
        LinkVia::OnExhausted => t.via_exhausted,
        LinkVia::OnComplete => t.via_complete,
    }
}

fn kind_label(t: &Text, kind: &FlowNodeKind) -> &'static str {
    match kind {
        FlowNodeKind::Menu => t.kind_menu,
        FlowNodeKind::Guidance { .. } => t.kind_guidance,
        FlowNodeKind::Message => t.kind_message,
        FlowNodeKind::EmergencyTransfer => t.kind_emergency,
        FlowNodeKind::OperatorTransfer => t.kind_operator,
        FlowNodeKind::Hold { .. } => t.kind_hold,
        FlowNodeKind::Hangup => t.kind_hangup,
    }
}
