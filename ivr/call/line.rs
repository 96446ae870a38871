//! [`Line`]: the call core bound to the running service. It reads the in-memory roster
//! snapshot (never the database) and hands every step's events to the statistics
//! recorder (which never waits), so a dialect's handler is parse → [`Line`] → render.

use tracing::Span;

use crate::flow::{CallState, Flow, Language, PromptKey};
use crate::operators::LiveRoster;
use crate::stats::Recorder;

use super::{CallEnd, Input, Turn, WhisperFor};

/// What a [`Line`] needs of the running service (its state implements it).
pub trait Service {
    /// The call flow.
    fn flow(&self) -> &Flow;
    /// Where the call's statistics records go.
    fn stats(&self) -> &Recorder;
    /// The operators a transfer rings.
    fn roster(&self) -> &LiveRoster;
}

/// One service's phone line, as every dialect's webhooks use it.
#[derive(Clone, Copy)]
pub struct Line<'a> {
    flow: &'a Flow,
    stats: &'a Recorder,
    roster: &'a LiveRoster,
}

impl<'a> Line<'a> {
    /// The line of `service`, borrowed for one request.
    pub fn new(service: &'a impl Service) -> Line<'a> {
        Line { flow: service.flow(), stats: service.stats(), roster: service.roster() }
    }

    /// A call arrived. `platform_call_id` (CallSid, call_sid) becomes our call id by a keyed
    /// hash shared by every instance, so a retried delivery gets the same id wherever it
    /// lands; `from` only tells a repeat caller (hashed in memory, never kept). Neither is
    /// logged. The start time travels in the call's state, for every later webhook.
    /// `dialect` labels the call in the metrics (`twilio`, `jambonz`, `asterisk`).
    pub fn incoming(&self, dialect: &'static str, platform_call_id: Option<&str>, from: Option<&str>) -> Turn<'a> {
        crate::instruments::call_started(dialect);
        let call = self.stats.call_id(platform_call_id);
        self.stats.call_started(call, from);
        Span::current().record("call", tracing::field::display(call));
        // Debug, not info: at the default level a line per call cost a formatted write to
        // stderr on every incoming call (benches/loopback.sh); the metrics count calls.
        tracing::debug!("call started");
        let started = u32::try_from(chrono::Utc::now().timestamp()).ok();
        let mut turn = super::begin(self.flow, call, &self.roster.snapshot());
        for (step, _) in &mut turn.passed {
            step.next.started = started;
        }
        turn.step.next.started = started;
        self.recorded(turn)
    }

    /// The caller at `state` did `input`: the next turn, recorded.
    pub fn answer(&self, state: CallState, input: Input) -> Turn<'a> {
        Span::current().record("call", tracing::field::display(state.call));
        if let Input::DialEnded { outcome, .. } = input {
            tracing::info!(?outcome, "transfer ended");
        }
        self.recorded(super::answer(self.flow, state, input, &self.roster.snapshot()))
    }

    /// A call the platform hands back with its state (Asterisk's failover re-entering this
    /// instance): what the caller hears where the state stands, nothing recorded (the call
    /// and its steps were counted where they happened).
    pub fn resume(&self, state: CallState) -> Turn<'a> {
        Span::current().record("call", tracing::field::display(state.call));
        let mut step = self.flow.resume(state);
        step.next = state;
        step.events.clear();
        Turn { step, callees: Vec::new(), events: Vec::new(), passed: Vec::new() }
    }

    /// A call held on a connection ended (the caller hung up): how long it lasted, from the
    /// start time its state carries.
    pub fn ended(&self, state: &CallState) {
        let now = chrono::Utc::now().timestamp();
        let duration = state.started.and_then(|started| i32::try_from(now - i64::from(started)).ok());
        self.stats.call_ended_as(state.call, CallEnd::Completed, duration);
    }

    /// The whisper for an operator who answered.
    pub fn whisper(&self, whisper: &WhisperFor) -> (Language, Vec<PromptKey>) {
        Span::current().record("call", tracing::field::display(whisper.caller.call));
        super::whisper(self.flow, whisper)
    }

    /// The platform's call status webhook said the call ended: records how (`end`) and how
    /// long it lasted (`duration`, the platform's own count of seconds), linked to the call
    /// by the keyed hash of its platform call id. A status that is no end never gets here:
    /// the dialect's [`Words`](super::Words) make it nothing.
    pub fn status(&self, platform_call_id: Option<&str>, end: CallEnd, duration: Option<i32>) {
        if let Some(call) = platform_call_id {
            self.stats.call_ended(call, end, duration);
        }
    }

    /// Hands the turn's steps and events to the statistics; what is left is what to render.
    fn recorded(&self, mut turn: Turn<'a>) -> Turn<'a> {
        let flow = self.flow;
        for (step, events) in turn.passed.drain(..) {
            self.stats.record_step_with(flow, &step, events);
        }
        self.stats.record_step_with(flow, &turn.step, std::mem::take(&mut turn.events));
        turn
    }
}
