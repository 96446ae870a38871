//! The call core: everything about a call that is the same whatever platform carries it.
//!
//! A dialect (`telephony::twiml`, `telephony::jambonz`, Asterisk next) only checks its
//! platform's signature, translates a request into an [`Input`] plus the decoded
//! [`CallState`], and renders the [`Turn`] it gets back. What crosses that edge is in the
//! core's words, never a platform's: a key or silence, how a transfer's dial ended
//! ([`DialOutcome`], in [`Input::DialEnded`]), how the call ended ([`CallEnd`], for
//! [`Line::status`]) and whom to ring ([`Callee`]s, each with a [`DialTarget`]). Each dialect
//! keeps its platform's status words in one table, its [`Words`], and the core decides what a
//! word no table knows means. `DialOutcome` is the flow's own (its step takes it); `CallEnd`
//! and `DialTarget` are defined in `crate::call_edge`, so that the floors below the core
//! (settings, roster, statistics) can hold them; dialects name all three from here.
//!
//! Between the dialects and the flow sits [`answer`]: the flow's step, who to ring for an
//! operator transfer and with which whisper, the re-step when nobody can be rung (the caller
//! hears that operators are busy, never an empty dial), and the statistics events the flow
//! does not know of (who was rung, how long an answered transfer talked). [`answer`] is pure
//! and tested without HTTP; [`Line`] binds it to the running service (the roster snapshot,
//! the statistics, and the operators' states: a transfer's [`Ringing`] drawn for its
//! webhook URLs, and what its whisper and its dial's end say of the operators rung).

mod line;
mod queue;
#[cfg(test)]
mod tests;
mod words;

use crate::flow::{CallId, CallState, Digit, Event, Flow, Instruction, Language, PromptKey, Step, step};
use crate::operators::{Roster, Route, whisper_prompts};

pub use crate::operators::{Answering, Ringing};
use crate::stats::CallEvent;

pub use crate::call_edge::{CallEnd, DialTarget};
pub use crate::flow::DialOutcome;
pub use line::{Line, Service};
pub use words::Words;

/// What a platform reported about a call, in no platform's words.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Input {
    /// One keypad key.
    Key(Digit),
    /// Something arrived that is not one keypad key.
    UnknownKey,
    /// The menu finished and the caller pressed nothing.
    NoInput,
    /// A transfer ended; an answered one talked `talked_seconds`, when the platform says.
    DialEnded {
        /// How the transfer ended (answered, no answer, busy or failed), translated from the
        /// platform's words by its dialect's [`Words`].
        outcome: DialOutcome,
        /// Seconds the caller and the operator talked, when the platform says.
        talked_seconds: Option<u32>,
    },
}

impl Input {
    /// The keys a gather collected: none is silence, one key is that key, anything else
    /// (several keys, a letter, a digit of another script) is a wrong key.
    pub fn keys(digits: Option<&str>) -> Input {
        match digits {
            None | Some("") => Input::NoInput,
            Some(digits) => Digit::parse(digits).map_or(Input::UnknownKey, Input::Key),
        }
    }
}

/// One party to ring for an operator transfer, and the language of their whisper.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Callee {
    /// The number or SIP address to ring.
    pub target: DialTarget,
    /// The language the operator hears the whisper in.
    pub whisper: Language,
    /// The roster entry rung; `None` for the switchboard.
    pub operator: Option<i64>,
}

/// The flow's steps for one request, and what the service adds beside them.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Turn<'f> {
    /// What the caller hears now; [`Step::next`] travels in the rendered hook URLs.
    pub step: Step<'f>,
    /// Who to ring when `step` transfers to operators: never empty for such a step.
    pub callees: Vec<Callee>,
    /// What to record of `step` beside the flow's own events (who was rung, how long an
    /// answered transfer talked).
    pub events: Vec<CallEvent>,
    /// Steps taken before `step` in this same request, each with its own extra events: a
    /// transfer nobody could be rung for, recorded before the fallback the caller hears.
    pub passed: Vec<(Step<'f>, Vec<CallEvent>)>,
    /// The ring of a transfer to roster operators, drawn by [`Line`]: it travels in the
    /// dial's action URL and, one operator each, in the whisper URLs. `None` otherwise.
    pub ringing: Option<Ringing>,
}

impl Turn<'_> {
    /// Whom the whisper of `callee` is for, on this turn's transfer.
    pub fn whisper_for(&self, callee: &Callee) -> WhisperFor {
        let answering = self.ringing.as_ref().zip(callee.operator).map(|(ringing, id)| ringing.answering(id));
        WhisperFor { caller: self.step.next, listener: callee.whisper, answering }
    }
}

/// Whom a whisper is for: the caller it describes and the language the operator hears.
/// Travels in the whisper hook's state token.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct WhisperFor {
    /// The caller's state when the operator was rung.
    pub caller: CallState,
    /// The language of the operator hearing the whisper.
    pub listener: Language,
    /// The operator it is for and the transfer ringing them: fetched, they answered.
    pub answering: Option<Answering>,
}

/// A new call: the start of the flow.
pub fn begin<'f>(flow: &'f Flow, call: CallId, roster: &Roster) -> Turn<'f> {
    settle(flow, flow.begin(call), roster, Vec::new())
}

/// The caller did something (or a transfer ended): the next turn, ringing whoever the
/// roster has available (the routing the operators' queue falls back to, see `queue.rs`).
pub fn answer<'f>(flow: &'f Flow, state: CallState, input: Input, roster: &Roster) -> Turn<'f> {
    let (next, extra) = stepped(flow, state, input);
    settle(flow, next, roster, extra)
}

/// The flow's step for `input`, and what to record beside its events.
fn stepped(flow: &Flow, state: CallState, input: Input) -> (Step<'_>, Vec<CallEvent>) {
    let (flow_input, talked) = match input {
        Input::Key(key) => (crate::flow::Input::Key(key), None),
        Input::UnknownKey => (crate::flow::Input::UnknownKey, None),
        Input::NoInput => (crate::flow::Input::NoInput, None),
        Input::DialEnded { outcome, talked_seconds } => (crate::flow::Input::Dial(outcome), talked_seconds),
    };
    let next = step(flow, state, flow_input);
    let extra = talked_after_answer(&next, talked);
    (next, extra)
}

/// Counts a round of ringing on a step that rings operators: the flow counts one when the
/// caller reaches the transfer, and none when a caller waiting in the queue asks again, so a
/// ring after waiting counts its own.
fn counted_round(step: &mut Step<'_>) {
    if !step.events.iter().any(|e| matches!(e, Event::OperatorTransfer { .. })) {
        step.next.rounds = step.next.rounds.saturating_add(1);
        step.events.push(Event::OperatorTransfer { silent: step.next.silent, round: step.next.rounds });
    }
}

/// The whisper an operator hears before the caller is connected: the fragments, in the
/// operator's language. Never anything that identifies the caller.
pub fn whisper(flow: &Flow, whisper: &WhisperFor) -> (Language, Vec<PromptKey>) {
    (whisper.listener, whisper_prompts(flow, &whisper.caller))
}

/// How long an answered operator transfer talked, for the seconds it took to answer;
/// nothing for the police line or an unanswered ring.
fn talked_after_answer(step: &Step<'_>, seconds: Option<u32>) -> Vec<CallEvent> {
    let answered =
        step.events.iter().any(|e| matches!(e, Event::DialEnded { emergency: false, outcome: DialOutcome::Completed }));
    match (answered, seconds) {
        (true, Some(seconds)) => vec![CallEvent::Talked { seconds: i32::try_from(seconds).unwrap_or(i32::MAX) }],
        _ => Vec::new(),
    }
}

/// Finds who to ring for a transfer to operators. When nobody can be rung, that is the
/// same as a transfer nobody answered: the flow is stepped on with a failed dial, so the
/// caller hears the fallback.
fn settle<'f>(flow: &'f Flow, first: Step<'f>, roster: &Roster, mut events: Vec<CallEvent>) -> Turn<'f> {
    let mut passed = Vec::new();
    let mut step = first;
    // Bounded: the flow's rules keep a failed transfer from leading straight to another.
    for _ in 0..3 {
        if !matches!(step.say, Instruction::OperatorTransfer { .. }) {
            break;
        }
        let (route, rings) = roster.route_for(step.next.language, flow.default_language);
        events.push(rung(route, rings.len()));
        if !rings.is_empty() {
            counted_round(&mut step);
            let callees = rings
                .into_iter()
                .map(|r| Callee { target: r.target.clone(), whisper: r.whisper, operator: r.operator })
                .collect();
            return Turn { step, callees, events, passed, ringing: None };
        }
        tracing::warn!("no operator can be rung");
        let next = crate::flow::step(flow, step.next, crate::flow::Input::Dial(DialOutcome::Failed));
        passed.push((std::mem::replace(&mut step, next), std::mem::take(&mut events)));
    }
    Turn { step, callees: Vec::new(), events, passed, ringing: None }
}

fn rung(route: Route, operators: usize) -> CallEvent {
    CallEvent::Rung { operators: u8::try_from(operators).unwrap_or(u8::MAX), route }
}
