//! Routes through the flow's moves: the quickest by listening time, and the fewest key
//! presses to the emergency transfer.
//!
//! The flow is a few dozen nodes, so both are computed by relaxing every move until
//! nothing improves: short, obviously right, and deterministic (ties keep the first route
//! found, in node and keypad order).

use std::collections::{BTreeMap, HashMap};
use std::time::Duration;

use crate::flow::{DialOutcome, Flow, Language, NodeId, NodeKind, PromptKey, Spoken};

use super::moves::{Move, Via, first_heard, is_shared, offers_options};
use super::reach::listens;
use super::{Durations, playing};

/// A way from the start of a call to a node, and how long the caller listens on the way.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Route {
    /// Listening time on the way.
    pub time: Duration,
    /// The moves, in order.
    pub moves: Vec<Move>,
}

/// Where a caller is: a node (by position, for a stable order) and the language chosen so far.
type Place = (usize, Option<Language>);

fn place(node: NodeId, language: Option<Language>) -> Place {
    (usize::from(node.0), language)
}

/// The quickest route to every node a caller of `language` can reach, defined as the
/// listening time of a caller who hears every prompt to its end and presses the next key
/// the moment the last prompt ends. A message adds its silent wait before moving on;
/// a transfer adds its full ring time (nobody answered). A transfer that is answered
/// leads nowhere here: the conversation's length is not the flow's.
pub fn quickest(
    flow: &Flow,
    moves: &[Move],
    shared: &[Move],
    durations: &dyn Durations,
    language: Language,
) -> HashMap<NodeId, Route> {
    let start = Route { time: Duration::ZERO, moves: Vec::new() };
    let answered = first_heard(flow);
    let mut best: BTreeMap<Place, Route> = BTreeMap::from([(place(flow.start, None), start)]);
    let usable: Vec<&Move> = moves.iter().filter(|m| counts_for_listening(flow, shared, m, language)).collect();
    let mut improved = true;
    while improved {
        improved = false;
        let known: Vec<(Place, Route)> = best.iter().map(|(p, r)| (*p, r.clone())).collect();
        for ((node, chosen), route) in known {
            for m in usable.iter().filter(|m| usize::from(m.from.0) == node) {
                let Some(to) = m.to else { continue };
                if m.language_chosen.is_some_and(|c| c != chosen.is_some()) {
                    continue;
                }
                let spoken = Spoken::of(chosen);
                let heard = route.moves.last().map_or(&answered, |last| &last.heard);
                let time = route.time + listening(flow, durations, heard, m, spoken);
                let chosen = m.language.or(chosen);
                if best.get(&place(to, chosen)).is_none_or(|r| time < r.time) {
                    let moves = route.moves.iter().cloned().chain([(*m).clone()]).collect();
                    best.insert(place(to, chosen), Route { time, moves });
                    improved = true;
                }
            }
        }
    }
    by_node(best, flow.start)
}

/// Keeps the quickest route to each node over the languages a caller may have chosen.
fn by_node(best: BTreeMap<Place, Route>, start: NodeId) -> HashMap<NodeId, Route> {
    let mut routes: HashMap<NodeId, Route> = HashMap::new();
    for (_, route) in best {
        let node = route.moves.last().and_then(|m| m.to).unwrap_or(start);
        if routes.get(&node).is_none_or(|r| route.time < r.time) {
            routes.insert(node, route);
        }
    }
    routes
}

/// The moves a caller following the listening-time definition makes: a menu's keys, a
/// message's silent wait or the keys every menu shares, and transfers nobody answered.
fn counts_for_listening(flow: &Flow, shared: &[Move], m: &Move, language: Language) -> bool {
    if m.language.is_some_and(|l| l != language) {
        return false;
    }
    match m.via {
        Via::Key(_) => offers_options(flow, m.from) || is_shared(shared, m),
        Via::Silence => true,
        Via::Failures(_) | Via::Silences(_) => false,
        Via::Dial(outcome) => outcome == DialOutcome::NoAnswer,
    }
}

/// How long a caller who heard `heard` on arriving at `m.from` stays there before `m`.
fn listening(flow: &Flow, durations: &dyn Durations, heard: &[PromptKey], m: &Move, spoken: Spoken) -> Duration {
    let node = flow.node(m.from);
    let prompts = playing(durations, spoken, heard);
    let wait = match (m.via, &node.kind) {
        (Via::Silence, _) => node.timeout_seconds,
        (
            Via::Dial(_),
            NodeKind::EmergencyTransfer { ring_seconds, .. } | NodeKind::OperatorTransfer { ring_seconds, .. },
        ) => *ring_seconds,
        _ => 0,
    };
    prompts + Duration::from_secs(u64::from(wait))
}

/// For every node a caller can press keys on, the fewest presses that reach `target`
/// (`None`: never). Moves nobody presses a key for (silence, failures, transfer outcomes)
/// cost nothing.
pub fn fewest_presses(flow: &Flow, moves: &[Move], target: NodeId) -> Vec<(NodeId, Option<u32>)> {
    let mut presses: HashMap<NodeId, u32> = HashMap::from([(target, 0)]);
    loop {
        let mut improved = false;
        for m in moves {
            let Some(after) = m.to.and_then(|to| presses.get(&to).copied()) else { continue };
            let count = after + u32::from(matches!(m.via, Via::Key(_)));
            if presses.get(&m.from).is_none_or(|&known| count < known) {
                presses.insert(m.from, count);
                improved = true;
            }
        }
        if !improved {
            break;
        }
    }
    flow.node_ids().filter(|&id| listens(flow, id)).map(|id| (id, presses.get(&id).copied())).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::flow::Digit;

    const FLOW: &str = r#"
        start = "menu"
        main_menu = "menu"
        emergency = "police"
        operator = "operator"
        default_language = "kk"
        emergency_key = "9"
        operator_key = "0"
        invalid_choice_prompt = "p"
        no_input_prompt = "p"
        max_failures = 3
        timeout_seconds = 5
        [nodes.menu]
        kind = "menu"
        prompts = ["p"]
        options = { "1" = "info" }
        [nodes.info]
        kind = "guidance"
        topic = "info"
        prompts = ["p", "p"]
        options = { "2" = "menu" }
        [nodes.police]
        kind = "emergency_transfer"
        ring_seconds = 30
        on_failure = "menu"
        [nodes.operator]
        kind = "operator_transfer"
        ring_seconds = 20
        max_rounds = 2
        on_failure = "menu"
        on_exhausted = "menu"
    "#;

    struct TenSeconds;

    impl Durations for TenSeconds {
        fn duration(&self, _: Language, _: &PromptKey) -> Duration {
            Duration::from_secs(10)
        }
    }

    fn flow() -> Flow {
        Flow::from_toml(FLOW).expect("test flow loads")
    }

    #[test]
    fn a_route_adds_the_prompts_of_every_node_left_behind() {
        let flow = flow();
        let moves = super::super::moves::moves(&flow);
        let routes = quickest(&flow, &moves, &[], &TenSeconds, Language::Kk);
        let info = flow.node_id("info").expect("node");
        // Nobody chooses a language in this flow: the menu plays in both, 10 s each.
        assert_eq!(routes[&info].time, Duration::from_secs(20));
        let police = flow.node_id("police").expect("node");
        assert_eq!(routes[&police].moves.len(), 1);
    }

    #[test]
    fn presses_count_only_keys() {
        let flow = flow();
        let (info, police) = (flow.node_id("info").expect("node"), flow.node_id("police").expect("node"));
        let two = Via::Key(Digit::parse("2").expect("key"));
        let mut moves = super::super::moves::moves(&flow);
        assert!(moves.iter().any(|m| m.from == info && m.to == Some(police)), "9 works on guidance");
        // Were 2 (back to the menu) the only way out of `info`, the police would be 2 presses away.
        moves.retain(|m| m.from != info || m.via == two);
        let presses = fewest_presses(&flow, &moves, police);
        assert!(presses.contains(&(info, Some(2))), "{presses:?}");
        let menu = flow.node_id("menu").expect("node");
        assert!(presses.contains(&(menu, Some(1))), "{presses:?}");
    }
}
