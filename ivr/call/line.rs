//! [`Line`]: the call core bound to the running service. It reads the in-memory roster
//! snapshot (never the database), hands every step's events to the statistics recorder
//! and what it learns of operators to the operators' line reports (neither ever waits), so
//! a dialect's handler is parse → [`Line`] → render.
//!
//! A webhook platform (TwiML, jambonz) cannot dial an Asterisk dial string: on a line built
//! for one ([`Line::new`]), such a roster entry or switchboard is left out of whom a transfer
//! rings, as if it were not available, so a call never gets a document that rings it. A
//! FastAGI call ([`Line::on_asterisk`]) rings it as written.

use std::sync::Arc;

use tracing::Span;

use crate::config::QueueSettings;
use crate::db::Db;
use crate::flow::DialOutcome;
use crate::flow::{CallId, CallState, Flow, Language, Node, PromptKey};
use crate::operators::{Answering, LineReports, LiveRoster, Ringing, Roster};
use crate::prompts::PromptLibrary;
use crate::stats::{CallEvent, Recorder};

use super::{CallEnd, Input, Turn, WhisperFor};

/// What a [`Line`] needs of the running service (its state implements it).
pub trait Service {
    /// The call flow.
    fn flow(&self) -> &Flow;
    /// Where the call's statistics records go.
    fn stats(&self) -> &Recorder;
    /// The prompt recordings: how long a guidance part plays, for the statistics to tell a
    /// topic heard from one hung up on.
    fn prompts(&self) -> &PromptLibrary;
    /// The operators a transfer rings.
    fn roster(&self) -> &LiveRoster;
    /// Where what the line learns of operators goes (answered, call ended, not answered).
    fn line_reports(&self) -> &LineReports;
    /// The operators' queue: the database every instance shares, and its settings.
    fn queue(&self) -> (&Db, QueueSettings);
}

/// One service's phone line, as every dialect's webhooks use it.
#[derive(Clone, Copy)]
pub struct Line<'a> {
    pub(super) flow: &'a Flow,
    stats: &'a Recorder,
    prompts: &'a PromptLibrary,
    roster: &'a LiveRoster,
    reports: &'a LineReports,
    /// The operators' queue's store (`queue.rs`).
    pub(super) queue: &'a Db,
    /// Its settings.
    pub(super) queue_settings: QueueSettings,
    /// Whether the platform dials Asterisk dial strings: only Asterisk does.
    dials_channels: bool,
    /// Whether each request has a span of its own for the line to name the call in (a
    /// webhook's). A FastAGI conversation's span lasts the whole call and names it once
    /// itself: recorded on every turn, the field would repeat in every log line.
    names_call_in_span: bool,
}

impl<'a> Line<'a> {
    /// The line of `service` for a webhook platform's call, borrowed for one request.
    pub fn new(service: &'a impl Service) -> Line<'a> {
        let (queue, queue_settings) = service.queue();
        Line {
            queue,
            queue_settings,
            flow: service.flow(),
            stats: service.stats(),
            prompts: service.prompts(),
            roster: service.roster(),
            reports: service.line_reports(),
            dials_channels: false,
            names_call_in_span: true,
        }
    }

    /// The line of `service` for a call Asterisk holds over FastAGI.
    pub fn on_asterisk(service: &'a impl Service) -> Line<'a> {
        Line { dials_channels: true, names_call_in_span: false, ..Line::new(service) }
    }

    /// Names `call` in the request's span, where the request has one of its own.
    fn name_call(&self, call: CallId) {
        if self.names_call_in_span {
            Span::current().record("call", tracing::field::display(call));
        }
    }

    /// The roster now, as this line's platform can ring it.
    fn roster(&self) -> Arc<Roster> {
        let roster = self.roster.snapshot();
        if self.dials_channels { roster } else { Roster::without_dial_strings(roster) }
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
        self.name_call(call);
        // Debug, not info: at the default level a line per call cost a formatted write to
        // stderr on every incoming call (benches/loopback.sh); the metrics count calls.
        tracing::debug!("call started");
        let started = u32::try_from(chrono::Utc::now().timestamp()).ok();
        let mut turn = super::begin(self.flow, call, &self.roster());
        for (step, _) in &mut turn.passed {
            step.next.started = started;
        }
        turn.step.next.started = started;
        self.recorded(turn)
    }

    /// The caller at `state` did `input`: the next turn, recorded. A step towards operators
    /// asks the operators' queue (`queue.rs`), for at most a moment; nothing else waits.
    pub async fn answer(&self, state: CallState, input: Input) -> Turn<'a> {
        self.name_call(state.call);
        if let Input::DialEnded { outcome, .. } = input {
            tracing::info!(?outcome, "transfer ended");
        }
        let (step, extra) = super::stepped(self.flow, state, input);
        let mut turn = self.settled(step, extra, &self.roster()).await;
        self.tell_queue(&state, matches!(input, Input::DialEnded { .. }), &turn).await;
        if state.queue.is_some() && turn.step.next.queue.is_none() {
            // For the statistics: how a wait ended (`stats/queue.rs`).
            turn.events.push(CallEvent::LeftQueue);
        }
        self.recorded(turn)
    }

    /// A call the platform hands back with its state (Asterisk's failover re-entering this
    /// instance): what the caller hears where the state stands, nothing recorded (the call
    /// and its steps were counted where they happened).
    pub fn resume(&self, state: CallState) -> Turn<'a> {
        self.name_call(state.call);
        let mut step = self.flow.resume(state);
        step.next = state;
        step.events.clear();
        Turn { step, callees: Vec::new(), events: Vec::new(), passed: Vec::new(), ringing: None }
    }

    /// A call held on a connection ended (the caller hung up): how long it lasted, from the
    /// start time its state carries.
    pub fn ended(&self, state: &CallState) {
        let now = chrono::Utc::now().timestamp();
        let duration = state.started.and_then(|started| i32::try_from(now - i64::from(started)).ok());
        self.stats.call_ended_as(state.call, CallEnd::Completed, duration);
    }

    /// The whisper for an operator who answered: that operator is on a call from now, and
    /// the caller has left the operators' queue (told for at most a moment: the operator
    /// waits for the whisper, the caller hears ringing).
    pub async fn whisper(&self, whisper: &WhisperFor) -> (Language, Vec<PromptKey>) {
        self.name_call(whisper.caller.call);
        if let Some(answering) = whisper.answering {
            self.reports.answered(answering);
            if let Some(place) = whisper.caller.queue {
                self.put_through(place, answering.operator).await;
            }
        }
        super::whisper(self.flow, whisper)
    }

    /// A transfer's dial ended with `outcome`: the operators it rang (`ringing`, from the
    /// dial's action URL) are told of it (wrap-up for whoever answered, a ring not answered
    /// for each when nobody did). The caller's next turn is [`Line::answer`]'s.
    pub fn transfer_ended(&self, ringing: Option<&Ringing>, outcome: DialOutcome) {
        if let Some(ringing) = ringing {
            self.reports.transfer_ended(ringing, outcome);
        }
    }

    /// A transfer whose answer the line did not see (a FastAGI `Dial`: the whisper runs in
    /// the PBX) returned with `outcome`, answered by roster operator `answered_by` when the
    /// platform could tell: they answered it and their call is now over (wrap-up follows);
    /// then as [`Line::transfer_ended`].
    pub fn dial_returned(&self, ringing: Option<&Ringing>, outcome: DialOutcome, answered_by: Option<i64>) {
        if let (DialOutcome::Completed, Some(ringing), Some(operator)) = (outcome, ringing, answered_by)
            && ringing.operators.contains(&operator)
        {
            self.reports.answered(Answering { transfer: ringing.transfer, operator });
        }
        self.transfer_ended(ringing, outcome);
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

    /// Hands the turn's steps and events to the statistics (a guidance part entered timed
    /// by its recordings), and draws the ring of a transfer to roster operators; what is
    /// left is what to render.
    fn recorded(&self, mut turn: Turn<'a>) -> Turn<'a> {
        turn.ringing = Ringing::draw(turn.callees.iter().filter_map(|callee| callee.operator).collect());
        let flow = self.flow;
        let part_seconds = |node: &Node, language: Language| self.prompts.part_seconds(node, language);
        for (step, events) in turn.passed.drain(..) {
            self.stats.record_step_with(flow, &step, events, &part_seconds);
        }
        self.stats.record_step_with(flow, &turn.step, std::mem::take(&mut turn.events), &part_seconds);
        turn
    }
}
