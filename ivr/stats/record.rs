//! What the statistics keep about one step of a call: a [`Record`], made on the call path
//! from the flow's events, carried through the channel, the spool file and the database.
//!
//! A record names nodes and topics rather than the flow's indices, so a spool written by
//! one version of the flow still reads correctly after the flow file changes. It holds
//! nothing that could name the caller: no number, no location, no address, and no
//! `CallSid` (the call id is a keyed hash of it, see `keys.rs`). Of what the provider
//! reports it keeps only the keys the menu acts on, how dials and the call ended, and
//! seconds.

use chrono::{DateTime, DurationRound, NaiveDate, TimeDelta, Utc};
use serde::{Deserialize, Serialize};

use super::stored_word;
use crate::call_edge::CallEnd;
use crate::flow::{CallId, DialOutcome, Event, Flow, Language, Node, Step};
use crate::operators::Route;

/// The `seq` of the record that says how a call ended (from the provider's status
/// callback). It is above every step counter (`u16`), so it has its own idempotency key.
pub const END_SEQ: i32 = 1 << 16;

/// One step of one call: the idempotency key `(call, seq)` and what happened.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Record {
    /// The service's call id (a keyed hash of the provider's call id, or random without
    /// one: see `Recorder::call_id`), as the signed 64-bit integer the databases store.
    pub call: i64,
    /// The call state's step counter; a provider's duplicate delivery repeats it.
    pub seq: i32,
    /// The UTC day the step happened: which raw rows retention deletes.
    pub day: NaiveDate,
    /// Only on the call's first record: when it started, to the minute (UTC).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub started_at: Option<DateTime<Utc>>,
    /// Seconds since the call started, by the start its state carries (any instance), or,
    /// on the record of its end, the provider's own count of the call's seconds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub elapsed: Option<i32>,
    /// What happened, in order.
    pub events: Vec<CallEvent>,
}

/// An anonymous fact about a call, named for people reading the database.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "e", rename_all = "snake_case")]
pub enum CallEvent {
    /// The call began.
    Started,
    /// The caller chose a language.
    Language {
        /// `kk` or `ru`.
        code: String,
    },
    /// The call entered a node.
    Entered {
        /// The node's name.
        node: String,
    },
    /// A key the node acts on.
    Key {
        /// The node's name.
        node: String,
        /// The key.
        key: char,
    },
    /// A key the menu does not offer.
    Invalid {
        /// The menu's name.
        node: String,
    },
    /// The menu heard nothing.
    Timeout {
        /// The menu's name.
        node: String,
    },
    /// The caller entered a guidance part of a topic not entered before in the call. The
    /// topic counts as heard once the part has played or the caller moved on from it (see
    /// `CallRow::fold`).
    Topic {
        /// The topic's name.
        topic: String,
        /// How long the part plays, in whole seconds rounded down; `None` on records made
        /// without the prompt library (demo data) or before parts were timed: such a topic
        /// counts as heard.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        part_seconds: Option<u16>,
    },
    /// The police number was dialled.
    Emergency,
    /// Operators were rung.
    Operator {
        /// Whether the caller got there by pressing nothing.
        silent: bool,
        /// Which round of ringing, from 1.
        round: u8,
    },
    /// A transfer's dial ended.
    Dialled {
        /// Whether it was the police transfer.
        emergency: bool,
        /// `completed`, `busy`, `no-answer` or `failed`.
        outcome: String,
    },
    /// Who an operator transfer rang: how many parties, chosen by which rule (stored as its
    /// word: `language`, `any_language`, `language_not_chosen`, `switchboard`, `nobody`).
    /// Never a name or a number.
    Rung {
        /// How many parties were rung.
        operators: u8,
        /// The rule that chose them.
        #[serde(with = "stored_word")]
        route: Route,
    },
    /// An answered operator transfer ended after the caller and the operator talked this
    /// long (the provider's `DialCallDuration`): what tells the ringing time from the talk.
    Talked {
        /// Seconds talked.
        seconds: i32,
    },
    /// The flow ended the call.
    Hangup,
    /// How the call ended, as the platform's status webhook says.
    Ended {
        /// How it ended, stored as its word (`completed`, `busy`, `no-answer`, …).
        #[serde(with = "stored_word")]
        status: CallEnd,
    },
    /// The same number called within the previous 24 hours (see `repeat.rs`).
    RepeatCaller,
    /// The caller joined the operators' queue and waited: nobody was free for them.
    Queued {
        /// Their position on joining (1: next).
        position: i32,
    },
    /// The caller gave up their place in the operators' queue: put through to an operator,
    /// to the police, or gone to the main menu (the busy menu and advice keep the place).
    LeftQueue,
}

/// How long a guidance node's part (`Node::part`) plays in a language, in whole seconds
/// rounded down: the call path looks it up in the prompt library
/// (`PromptLibrary::part_seconds`) for [`Record::of_step`].
pub type PartSeconds<'a> = &'a dyn Fn(&Node, Language) -> Option<u16>;

/// No part lengths, for records made without the prompt library (`ivr demo-data`, tools,
/// benchmarks): every topic entered counts as heard.
pub const UNTIMED: PartSeconds<'static> = &|_, _| None;

impl Record {
    /// The record of one flow step, at `now`. A topic entered carries the length of the
    /// part the step entered (the step's node), in the language the caller chose (the
    /// flow's default before they choose), from `part_seconds`.
    pub fn of_step(
        flow: &Flow,
        step: &Step<'_>,
        now: DateTime<Utc>,
        elapsed: Option<i32>,
        part_seconds: PartSeconds<'_>,
    ) -> Record {
        let language = step.next.language.unwrap_or(flow.default_language);
        let part = || part_seconds(flow.node(step.next.node), language);
        let events: Vec<CallEvent> = step.events.iter().map(|e| CallEvent::of(flow, e, &part)).collect();
        let started = events.contains(&CallEvent::Started);
        Record {
            call: call_key(step.next.call),
            seq: i32::from(step.next.seq),
            day: now.date_naive(),
            started_at: started.then(|| to_minute(now)),
            elapsed,
            events,
        }
    }

    /// The record that a call ended, as its platform said: `end`.
    pub fn ended(call: CallId, end: CallEnd, now: DateTime<Utc>, elapsed: Option<i32>) -> Record {
        Record {
            call: call_key(call),
            seq: END_SEQ,
            day: now.date_naive(),
            started_at: None,
            elapsed,
            events: vec![CallEvent::Ended { status: end }],
        }
    }
}

/// The call id as stored: the same 64 bits, read as a signed integer.
pub fn call_key(call: CallId) -> i64 {
    i64::from_ne_bytes(call.0.to_ne_bytes())
}

/// A stored call id as the service prints it (16 hex digits).
pub fn call_label(key: i64) -> String {
    CallId(u64::from_ne_bytes(key.to_ne_bytes())).to_string()
}

/// `time` truncated to the minute: all the statistics know of when a call started.
pub fn to_minute(time: DateTime<Utc>) -> DateTime<Utc> {
    time.duration_trunc(TimeDelta::minutes(1)).unwrap_or(time)
}

impl CallEvent {
    /// The recorded event of `event`; `part` is the length of the part a topic's event entered.
    fn of(flow: &Flow, event: &Event, part: &dyn Fn() -> Option<u16>) -> CallEvent {
        let node = |id| flow.node(id).name.clone();
        match *event {
            Event::CallStarted => CallEvent::Started,
            Event::LanguageChosen(language) => CallEvent::Language { code: language.code().to_owned() },
            Event::Entered(id) => CallEvent::Entered { node: node(id) },
            Event::KeyPressed { node: id, key } => CallEvent::Key { node: node(id), key: key.as_char() },
            Event::InvalidKey { node: id } => CallEvent::Invalid { node: node(id) },
            Event::NoInput { node: id } => CallEvent::Timeout { node: node(id) },
            Event::TopicHeard(topic) => CallEvent::Topic {
                topic: flow.topics.get(usize::from(topic)).cloned().unwrap_or_else(|| format!("topic_{topic}")),
                part_seconds: part(),
            },
            Event::EmergencyTransfer => CallEvent::Emergency,
            Event::OperatorTransfer { silent, round } => CallEvent::Operator { silent, round },
            Event::DialEnded { emergency, outcome } => {
                CallEvent::Dialled { emergency, outcome: dial_outcome(outcome).to_owned() }
            }
            Event::Hangup => CallEvent::Hangup,
        }
    }
}

fn dial_outcome(outcome: DialOutcome) -> &'static str {
    match outcome {
        DialOutcome::Completed => "completed",
        DialOutcome::Busy => "busy",
        DialOutcome::NoAnswer => "no-answer",
        DialOutcome::Failed => "failed",
    }
}
