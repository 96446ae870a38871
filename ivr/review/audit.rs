//! `ivr flow audit`: what a caller goes through, in figures, and the rules those figures
//! must meet.
//!
//! Rules that fail the audit (exit 1):
//! - from every node a caller can press keys on, the emergency transfer is one key press away;
//! - nowhere does a caller spend more than a minute with no key that works (a transfer's
//!   prompts and ringing: during every other prompt the emergency and operator keys work);
//! - the flow's `[limits]`: a caller who presses nothing is ringing a person within
//!   `silent_from_start_seconds` of the start and `silent_from_last_key_seconds` of their
//!   last key press (or of a ring nobody answered), whatever plays in between; every menu
//!   names the emergency and operator keys within `keys_announced_seconds`; nobody listens
//!   longer than `without_key_reminder_seconds` without hearing them named (counted on from
//!   the language menu for a caller who chooses a language there, through the safety notice
//!   and the welcome); the nodes of `node_seconds` (the welcome, the safety notice, the main
//!   menu) play no longer than their limit, every goodbye no longer than `goodbye_seconds`,
//!   however they are heard; no whisper lasts over `whisper_seconds` (see `waits.rs`);
//! - a caller who has chosen no language hears every prompt in both languages.
//!
//! A warning, a failure only with `--strict`: a menu or guidance node that plays more than a
//! minute before the prompt that announces its keys (its last one). The emergency and
//! operator keys work all along, so nobody is stuck; but a caller waits long to learn the
//! rest of their choices, and the recording may be worth splitting.

use std::fmt::Write;
use std::time::Duration;

use crate::flow::{Flow, Language, NodeId, NodeKind, PromptKey, Spoken};

use super::moves::{Move, moves, shared_moves, via_label};
use super::reach::{Arrival, arrivals};
use super::routes::{Route, fewest_presses, quickest};
use super::waits::{From, Waits};
use super::{Durations, playing};

/// The longest a caller may be held with no key that works, or wait before a menu's options.
pub const MINUTE: Duration = Duration::from_secs(60);

/// The quickest listening time to one guidance topic (`None`: unreachable).
#[derive(Clone, Debug)]
pub struct TopicTime {
    /// The topic's name.
    pub topic: String,
    /// The guidance node that plays it.
    pub node: NodeId,
    /// The quickest way there.
    pub route: Option<Route>,
}

/// The listening times of one language.
#[derive(Clone, Debug)]
pub struct LanguageAudit {
    /// The language.
    pub language: Language,
    /// Each guidance topic, in flow order.
    pub topics: Vec<TopicTime>,
}

impl LanguageAudit {
    /// The longest path: the topic a caller waits longest for, taking the quickest route to
    /// each (the first such topic on a tie).
    pub fn longest(&self) -> Option<(&TopicTime, &Route)> {
        let reachable = self.topics.iter().filter_map(|t| t.route.as_ref().map(|r| (t, r)));
        reachable.rev().max_by_key(|(_, route)| route.time)
    }
}

/// The figures of one flow with one prompt library.
#[derive(Clone, Debug)]
pub struct Audit {
    /// One per language.
    pub languages: Vec<LanguageAudit>,
    /// For every node a caller can press keys on: the fewest presses to the emergency transfer.
    pub emergency_presses: Vec<(NodeId, Option<u32>)>,
    /// For every transfer and way it is heard: its prompts and ring time, when no key works.
    pub no_key_works: Vec<(NodeId, Spoken, Duration)>,
    /// For every menu and guidance node and way it is heard: its prompts before the last one.
    pub before_options: Vec<(NodeId, Spoken, Duration)>,
    /// Silent callers, key reminders, goodbyes and whispers, against the flow's limits.
    pub waits: Waits,
    /// Where a caller who has chosen no language hears prompts in one language only: the
    /// node, the language and the prompts.
    pub one_language_before_choice: Vec<(NodeId, Spoken, Vec<PromptKey>)>,
}

/// How a flow fares against one rule.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// It keeps the rule.
    Pass,
    /// It breaks a rule that only advises (a failure when warnings are made to fail).
    Warn,
    /// It breaks the rule (`ivr flow audit` exits 1).
    Fail,
}

/// One rule and how the flow fares.
#[derive(Clone, Debug)]
pub struct Check {
    /// How the flow fares.
    pub outcome: Outcome,
    /// The rule and the figure, in a sentence.
    pub says: String,
}

impl Audit {
    /// Measures `flow` with the recordings' `durations`.
    pub fn of(flow: &Flow, durations: &dyn Durations) -> Audit {
        let moves = moves(flow);
        let shared = shared_moves(flow, &moves);
        let arrivals = arrivals(flow);
        Audit {
            languages: Language::ALL.map(|l| language_audit(flow, &moves, &shared, durations, l)).to_vec(),
            emergency_presses: fewest_presses(flow, &moves, flow.emergency),
            no_key_works: per_place(flow, durations, &arrivals, no_key_works),
            before_options: per_place(flow, durations, &arrivals, before_options),
            waits: Waits::of(flow, durations, &arrivals),
            one_language_before_choice: one_language_before_choice(&arrivals),
        }
    }

    /// The most presses any node needs to reach the emergency transfer; `None` if some
    /// node cannot reach it at all.
    pub fn most_presses_to_emergency(&self) -> Option<u32> {
        self.emergency_presses.iter().map(|(_, presses)| *presses).try_fold(0, |most, p| p.map(|p| most.max(p)))
    }

    /// Every rule, in order. With `strict`, warnings fail too.
    pub fn checks(&self, flow: &Flow, strict: bool) -> Vec<Check> {
        let warn = if strict { Outcome::Fail } else { Outcome::Warn };
        vec![
            self.emergency_check(flow),
            self.no_key_check(flow),
            self.options_check(flow, warn),
            self.silent_check(flow, true),
            self.silent_check(flow, false),
            self.keys_announced_check(flow),
            self.reminder_check(flow),
            self.node_length_check(flow),
            self.goodbye_check(flow),
            self.whisper_check(flow),
            self.both_languages_check(flow),
        ]
    }

    /// A silent caller reaches a person in time: from the start, or from their last key
    /// press (or a ring nobody answered).
    fn silent_check(&self, flow: &Flow, from_start: bool) -> Check {
        let (limit, what) = if from_start {
            (flow.limits.silent_from_start_seconds, "from the start")
        } else {
            (flow.limits.silent_from_last_key_seconds, "of their last key press or a ring nobody answered")
        };
        let walks = self.waits.silent.iter().filter(|w| (w.from == From::Start) == from_start);
        let worst = walks.max_by_key(|w| w.to_person.unwrap_or(Duration::MAX));
        let Some(worst) = worst else {
            return Check { outcome: Outcome::Pass, says: format!("no silent caller to measure {what}") };
        };
        let limit = Duration::from_secs(u64::from(limit));
        let within = worst.to_person.is_some_and(|t| t <= limit);
        let took = worst.to_person.map_or("never".to_owned(), seconds);
        Check {
            outcome: if within { Outcome::Pass } else { Outcome::Fail },
            says: format!(
                "a silent caller is ringing a person within {} {what} (longest: {}, {}, {took})",
                seconds(limit),
                from_name(flow, worst.from),
                worst.spoken
            ),
        }
    }

    fn keys_announced_check(&self, flow: &Flow) -> Check {
        let limit = Duration::from_secs(u64::from(flow.limits.keys_announced_seconds));
        let (emergency, operator) = (flow.emergency_key, flow.operator_key);
        let late: Vec<String> = self
            .waits
            .keys_announced
            .iter()
            .filter(|(_, _, time)| !time.is_some_and(|t| t <= limit))
            .map(|(id, spoken, time)| {
                format!("{} {spoken} {}", flow.node(*id).name, time.map_or("never".to_owned(), seconds))
            })
            .collect();
        let says = format!("every menu names {emergency} and {operator} within {}", seconds(limit));
        if late.is_empty() {
            let longest = self.waits.keys_announced.iter().filter_map(|(_, _, t)| *t).max().unwrap_or_default();
            return Check { outcome: Outcome::Pass, says: format!("{says} (longest: {})", seconds(longest)) };
        }
        Check { outcome: Outcome::Fail, says: format!("{says}; late: {}", late.join(", ")) }
    }

    fn reminder_check(&self, flow: &Flow) -> Check {
        let limit = Duration::from_secs(u64::from(flow.limits.without_key_reminder_seconds));
        let worst = self.waits.silent.iter().max_by_key(|w| w.without_reminder);
        let Some(worst) = worst else {
            return Check { outcome: Outcome::Pass, says: "nothing to listen to".to_owned() };
        };
        Check {
            outcome: if worst.without_reminder <= limit { Outcome::Pass } else { Outcome::Fail },
            says: format!(
                "nobody listens over {} without hearing the keys named (longest: from {}, {}, {})",
                seconds(limit),
                from_name(flow, worst.from),
                worst.spoken,
                seconds(worst.without_reminder)
            ),
        }
    }

    /// The nodes the flow bounds (`limits.node_seconds`) play within their limit.
    fn node_length_check(&self, flow: &Flow) -> Check {
        let limit_of = |id: NodeId| {
            let seconds = flow.limits.node_seconds.iter().find(|(n, _)| *n == id).map_or(0, |(_, s)| *s);
            Duration::from_secs(u64::from(seconds))
        };
        let named = |(id, spoken, time): &(NodeId, Spoken, Duration)| {
            format!("{} {spoken} {} of {}", flow.node(*id).name, seconds(*time), seconds(limit_of(*id)))
        };
        let lengths = &self.waits.node_lengths;
        let long: Vec<String> = lengths.iter().filter(|(id, _, time)| *time > limit_of(*id)).map(named).collect();
        if !long.is_empty() {
            return Check { outcome: Outcome::Fail, says: format!("too long to listen to: {}", long.join(", ")) };
        }
        let mut nodes: Vec<String> = Vec::new();
        for (id, _) in &flow.limits.node_seconds {
            let longest = lengths.iter().filter(|(n, _, _)| n == id).max_by_key(|(_, _, time)| *time);
            nodes.extend(longest.map(named));
        }
        Check { outcome: Outcome::Pass, says: format!("bounded nodes play within their limit ({})", nodes.join(", ")) }
    }

    /// Every goodbye is short, however it is heard: a caller who has just spoken with a
    /// person is not held by a speech.
    fn goodbye_check(&self, flow: &Flow) -> Check {
        let limit = Duration::from_secs(u64::from(flow.limits.goodbye_seconds));
        let Some((id, spoken, longest)) = self.waits.goodbyes.iter().max_by_key(|(_, _, time)| *time) else {
            return Check { outcome: Outcome::Pass, says: "no goodbye".to_owned() };
        };
        Check {
            outcome: if *longest <= limit { Outcome::Pass } else { Outcome::Fail },
            says: format!(
                "every goodbye lasts at most {} (longest: {} {spoken}, {})",
                seconds(limit),
                flow.node(*id).name,
                seconds(*longest)
            ),
        }
    }

    /// Nothing a caller hears before choosing a language is in one language only.
    fn both_languages_check(&self, flow: &Flow) -> Check {
        let says = "before a language is chosen every prompt plays in both languages";
        if self.one_language_before_choice.is_empty() {
            return Check { outcome: Outcome::Pass, says: says.to_owned() };
        }
        let heard: Vec<String> = (self.one_language_before_choice.iter())
            .map(|(id, spoken, prompts)| {
                let prompts: Vec<&str> = prompts.iter().map(PromptKey::as_str).collect();
                format!("{} {spoken} ({})", flow.node(*id).name, prompts.join(", "))
            })
            .collect();
        Check { outcome: Outcome::Fail, says: format!("{says}; in one only: {}", heard.join(", ")) }
    }

    fn whisper_check(&self, flow: &Flow) -> Check {
        let limit = Duration::from_secs(u64::from(flow.limits.whisper_seconds));
        let Some((language, longest)) = self.waits.whisper.iter().max_by_key(|(_, time)| *time) else {
            return Check { outcome: Outcome::Pass, says: "no whisper".to_owned() };
        };
        Check {
            outcome: if *longest <= limit { Outcome::Pass } else { Outcome::Fail },
            says: format!(
                "every whisper lasts at most {} (longest: {language}, {})",
                seconds(limit),
                seconds(*longest)
            ),
        }
    }

    fn emergency_check(&self, flow: &Flow) -> Check {
        let nodes = self.emergency_presses.len();
        let key = flow.emergency_key;
        match self.most_presses_to_emergency() {
            Some(most) if most <= 1 => Check {
                outcome: Outcome::Pass,
                says: format!("emergency transfer (key {key}) 1 press away from all {nodes} nodes that listen"),
            },
            _ => {
                let far = self.emergency_presses.iter().filter(|(_, presses)| !presses.is_some_and(|p| p <= 1));
                let far: Vec<String> = far.map(|(id, presses)| far_from_help(flow, *id, *presses)).collect();
                Check {
                    outcome: Outcome::Fail,
                    says: format!("emergency transfer must be 1 press away; it is not from: {}", far.join(", ")),
                }
            }
        }
    }

    fn no_key_check(&self, flow: &Flow) -> Check {
        let longest = self.no_key_works.iter().max_by_key(|(_, _, time)| *time);
        let Some((node, spoken, time)) = longest else {
            return Check { outcome: Outcome::Pass, says: "no node holds a caller with no key that works".to_owned() };
        };
        let name = &flow.node(*node).name;
        let outcome = if *time > MINUTE { Outcome::Fail } else { Outcome::Pass };
        Check {
            outcome,
            says: format!("at most a minute with no key that works (longest: {name}, {spoken}, {})", seconds(*time)),
        }
    }

    fn options_check(&self, flow: &Flow, warn: Outcome) -> Check {
        let long: Vec<String> = self
            .before_options
            .iter()
            .filter(|(_, _, time)| *time > MINUTE)
            .map(|(node, spoken, time)| format!("{} {spoken} {}", flow.node(*node).name, seconds(*time)))
            .collect();
        if long.is_empty() {
            return Check { outcome: Outcome::Pass, says: "every node announces its keys within a minute".to_owned() };
        }
        Check { outcome: warn, says: format!("over a minute before the keys are announced: {}", long.join(", ")) }
    }

    /// The audit as the table `ivr flow audit` prints.
    pub fn render(&self, flow: &Flow, checks: &[Check]) -> String {
        let mut out = String::new();
        out.push_str("Listening time until each guidance topic starts, for a caller who hears every\n");
        out.push_str("prompt to its end and presses the next key as soon as it ends (a message adds\n");
        out.push_str("its silent wait, a transfer its full ring time); `longest` is the longest of them.\n");
        for audit in &self.languages {
            let _ = writeln!(out, "\n{}", audit.language);
            for topic in &audit.topics {
                let _ = writeln!(out, "  {:<16}{}", topic.topic, timed_route(flow, topic.route.as_ref()));
            }
            if let Some((_, route)) = audit.longest() {
                let _ = writeln!(out, "  {:<16}{}", "longest", timed_route(flow, Some(route)));
            }
        }
        self.render_waits(flow, &mut out);
        out.push_str("\nRules\n");
        for check in checks {
            let mark = match check.outcome {
                Outcome::Pass => "ok  ",
                Outcome::Warn => "warn",
                Outcome::Fail => "FAIL",
            };
            let _ = writeln!(out, "  {mark}  {}", check.says);
        }
        out
    }
}

impl Audit {
    /// The silent caller's waits, the key announcements, the bounded nodes, the goodbyes
    /// and the whispers, as tables. `both`: heard by a caller who has chosen no language.
    fn render_waits(&self, flow: &Flow, out: &mut String) {
        out.push_str("\nA caller who presses nothing more: listening from the start, or from their last\n");
        out.push_str("key on a node (the key and state with the longest wait there) or a ring nobody\n");
        out.push_str("answered, until someone is rung (the transfer's prompt included), and the longest\n");
        let _ =
            writeln!(out, "stretch on the way without hearing {} and {} named.", flow.emergency_key, flow.operator_key);
        let _ = writeln!(out, "  {:<32}{:<6}{:>10}{:>14}", "from", "heard", "to person", "no reminder");
        for walk in &self.waits.silent {
            let to_person = walk.to_person.map_or("never".to_owned(), seconds);
            let (name, spoken) = (from_name(flow, walk.from), walk.spoken.to_string());
            let _ = writeln!(out, "  {name:<32}{spoken:<6}{to_person:>10}{:>14}", seconds(walk.without_reminder));
        }
        let _ = writeln!(
            out,
            "\nMenus (after a guidance part: the menu after it): listening until {} and {} are named",
            flow.emergency_key, flow.operator_key
        );
        for (id, spoken, time) in &self.waits.keys_announced {
            let time = time.map_or("never".to_owned(), seconds);
            let _ = writeln!(out, "  {:<32}{:<6}{time:>10}", flow.node(*id).name, spoken.to_string());
        }
        let lengths = [
            ("Nodes with a length limit (limits.node_seconds)", &self.waits.node_lengths),
            ("Goodbyes (limits.goodbye_seconds)", &self.waits.goodbyes),
        ];
        for (title, rows) in lengths {
            let _ = writeln!(out, "\n{title}");
            for (id, spoken, time) in rows {
                let _ = writeln!(out, "  {:<32}{:<6}{:>10}", flow.node(*id).name, spoken.to_string(), seconds(*time));
            }
        }
        out.push_str("\nThe longest whisper an operator hears, by the operator's language\n");
        for (language, time) in &self.waits.whisper {
            let _ = writeln!(out, "  {:<38}{:>10}", language.code(), seconds(*time));
        }
    }
}

/// `the start`, `1 on language`, `operator unanswered`.
fn from_name(flow: &Flow, from: From) -> String {
    match from {
        From::Start => "the start".to_owned(),
        From::Key(id, key) => format!("{key} on {}", flow.node(id).name),
        From::Ring(id) => format!("{} unanswered", flow.node(id).name),
    }
}

/// `main (2 presses)`, `hold (never)`.
fn far_from_help(flow: &Flow, node: NodeId, presses: Option<u32>) -> String {
    let presses = presses.map_or("never".to_owned(), |p| format!("{p} presses"));
    format!("{} ({presses})", flow.node(node).name)
}

/// Whether every check passed (warnings pass).
pub fn passed(checks: &[Check]) -> bool {
    checks.iter().all(|c| c.outcome != Outcome::Fail)
}

fn language_audit(
    flow: &Flow,
    moves: &[Move],
    shared: &[Move],
    durations: &dyn Durations,
    language: Language,
) -> LanguageAudit {
    let routes = quickest(flow, moves, shared, durations, language);
    // A topic in parts starts with the part reached first.
    let mut topics: Vec<TopicTime> = Vec::new();
    for id in flow.node_ids() {
        let NodeKind::Guidance { topic, .. } = flow.node(id).kind else { continue };
        let time =
            TopicTime { topic: flow.topics[usize::from(topic)].clone(), node: id, route: routes.get(&id).cloned() };
        match topics.iter_mut().find(|t| t.topic == time.topic) {
            Some(known) if quicker(&time, known) => *known = time,
            Some(_) => {}
            None => topics.push(time),
        }
    }
    LanguageAudit { language, topics }
}

fn quicker(a: &TopicTime, b: &TopicTime) -> bool {
    match (&a.route, &b.route) {
        (Some(a), Some(b)) => a.time < b.time,
        (Some(_), None) => true,
        _ => false,
    }
}

/// `figure` for every node and way it is heard, where it applies.
fn per_place(
    flow: &Flow,
    durations: &dyn Durations,
    arrivals: &[Arrival<'_>],
    figure: fn(&Flow, &dyn Durations, NodeId, Spoken) -> Option<Duration>,
) -> Vec<(NodeId, Spoken, Duration)> {
    let mut places: Vec<(NodeId, Spoken)> = arrivals.iter().map(|a| (a.state.node, a.step.spoken)).collect();
    places.sort_by_key(|(id, spoken)| (id.0, *spoken));
    places.dedup();
    places.into_iter().filter_map(|(id, s)| figure(flow, durations, id, s).map(|time| (id, s, time))).collect()
}

/// A transfer's prompts and ring time: the caller can press nothing until it ends.
fn no_key_works(flow: &Flow, durations: &dyn Durations, id: NodeId, spoken: Spoken) -> Option<Duration> {
    let node = flow.node(id);
    let ring = match node.kind {
        NodeKind::EmergencyTransfer { ring_seconds, .. } | NodeKind::OperatorTransfer { ring_seconds, .. } => {
            ring_seconds
        }
        _ => return None,
    };
    Some(playing(durations, spoken, &node.prompts) + Duration::from_secs(u64::from(ring)))
}

/// A menu's or guidance's prompts before the last one, which announces its keys.
fn before_options(flow: &Flow, durations: &dyn Durations, id: NodeId, spoken: Spoken) -> Option<Duration> {
    let node = flow.node(id);
    node.options()?;
    let (_, before) = node.prompts.split_last()?;
    Some(playing(durations, spoken, before))
}

/// Every node where a caller who has chosen no language hears prompts in one language only,
/// with those prompts.
pub(super) fn one_language_before_choice(arrivals: &[Arrival<'_>]) -> Vec<(NodeId, Spoken, Vec<PromptKey>)> {
    let mut found: Vec<(NodeId, Spoken, Vec<PromptKey>)> = Vec::new();
    for arrival in arrivals.iter().filter(|a| a.state.language.is_none() && a.step.spoken != Spoken::Both) {
        let (node, spoken) = (arrival.state.node, arrival.step.spoken);
        let index = found.iter().position(|(id, s, _)| (*id, *s) == (node, spoken)).unwrap_or_else(|| {
            found.push((node, spoken, Vec::new()));
            found.len() - 1
        });
        for key in arrival.step.say.prompts() {
            if !found[index].2.contains(key) {
                found[index].2.push((*key).clone());
            }
        }
    }
    found.retain(|(_, _, prompts)| !prompts.is_empty());
    found
}

/// `66.6 s  language -1-> welcome -silence-> main -1-> definition`, or `unreachable`.
fn timed_route(flow: &Flow, route: Option<&Route>) -> String {
    let Some(route) = route else {
        return "unreachable".to_owned();
    };
    let mut text = format!("{:>8}  {}", seconds(route.time), flow.node(flow.start).name);
    for m in &route.moves {
        let to = m.to.map_or("(end)", |to| flow.node(to).name.as_str());
        let _ = write!(text, " -{}-> {to}", via_label(m.via));
    }
    text
}

/// Seconds with one decimal: `66.6 s`.
pub fn seconds(time: Duration) -> String {
    format!("{:.1} s", time.as_secs_f64())
}
