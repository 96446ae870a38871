//! The call state carried in action URLs (`?c=…&n=main&l=kk&f=0&t=3&s=0&q=4&r=0&p=0&b=…`), and
//! in a whisper's URL with the operator's language (`&o=ru`). Every dialect uses the same token.
//! A transfer to roster operators adds its ring (`&x=<transfer>.<id>.<id>…`, see
//! [`Ringing`]) to the dial's action URL, and to each whisper's URL with the one operator it
//! is for: never anything about the caller.
//!
//! Decoding never fails: whatever arrives becomes a state a caller can safely continue from
//! (see [`Flow::recover`]). A provider retrying an old URL or someone editing one lands the
//! caller on the main menu of the language carried, or on the language choice.

use std::fmt::Write;

use crate::call::{Answering, Ringing, WhisperFor};
use crate::flow::{CallId, CallState, Flow, Language, TopicSet};

/// Appends the state as a query string (without the leading `?`).
pub fn encode(flow: &Flow, state: &CallState, out: &mut String) {
    let node = &flow.node(state.node).name;
    let _ = write!(out, "c={}&n=", state.call);
    out.extend(form_urlencoded::byte_serialize(node.as_bytes()));
    if let Some(language) = state.language {
        let _ = write!(out, "&l={language}");
    }
    let _ = write!(
        out,
        "&f={}&t={:x}&s={}&q={}&r={}&p={}",
        state.failures,
        state.topics.0,
        u8::from(state.silent),
        state.seq,
        state.rounds,
        u8::from(state.police_unreachable)
    );
    if let Some(started) = state.started {
        let _ = write!(out, "&b={started}");
    }
}

/// Appends a whisper's token: the caller's state, the language the operator hears (`o`)
/// and, for a roster operator, who they are on which transfer (`x`).
pub fn encode_whisper(flow: &Flow, whisper: &WhisperFor, out: &mut String) {
    encode(flow, &whisper.caller, out);
    let _ = write!(out, "&o={}", whisper.listener);
    if let Some(answering) = &whisper.answering {
        out.push_str("&x=");
        answering.encode(out);
    }
}

/// Reads a whisper's token; a missing or unknown operator language is the flow's default,
/// and a missing or malformed `x` answers for nobody.
pub fn decode_whisper(flow: &Flow, query: &str) -> WhisperFor {
    let listener = param(query, "o").and_then(|code| Language::from_code(&code)).unwrap_or(flow.default_language);
    let answering = param(query, "x").and_then(|text| Answering::parse(&text));
    WhisperFor { caller: decode(flow, query), listener, answering }
}

/// Appends a transfer's ring to its dial's action URL (`x`).
pub fn encode_ringing(ringing: &Ringing, out: &mut String) {
    out.push_str("&x=");
    ringing.encode(out);
}

/// Reads the ring from a dial's action URL; `None` when there is none or it is malformed
/// (the switchboard or the police were dialled, or the URL was edited).
pub fn decode_ringing(query: &str) -> Option<Ringing> {
    param(query, "x").and_then(|text| Ringing::parse(&text))
}

fn param(query: &str, wanted: &str) -> Option<String> {
    form_urlencoded::parse(query.as_bytes()).find(|(name, _)| name == wanted).map(|(_, value)| value.into_owned())
}

/// Reads a state from a query string; anything missing or wrong is replaced by a safe value.
pub fn decode(flow: &Flow, query: &str) -> CallState {
    let (mut call, mut node, mut language, mut failures, mut topics, mut silent, mut seq) =
        (None, None, None, 0u8, 0u32, false, 0u16);
    let (mut rounds, mut police_unreachable, mut started) = (0u8, false, None);
    for (name, value) in form_urlencoded::parse(query.as_bytes()) {
        match &*name {
            "c" => call = CallId::parse(&value),
            "n" => node = flow.node_id(&value),
            "l" => language = Language::from_code(&value),
            "f" => failures = value.parse().unwrap_or(0),
            "t" => topics = u32::from_str_radix(&value, 16).unwrap_or(0),
            "s" => silent = &*value == "1",
            "q" => seq = value.parse().unwrap_or(0),
            "r" => rounds = value.parse().unwrap_or(0),
            "p" => police_unreachable = &*value == "1",
            "b" => started = value.parse().ok(),
            _ => {}
        }
    }
    let call = call.unwrap_or_else(CallId::random);
    let Some(node) = node else {
        return CallState { seq, started, ..flow.recover(call, language) };
    };
    let known_topics = if flow.topics.len() >= 32 { u32::MAX } else { (1u32 << flow.topics.len()) - 1 };
    CallState {
        call,
        node,
        language,
        failures: failures.min(flow.max_failures.saturating_sub(1)),
        topics: TopicSet(topics & known_topics),
        silent,
        seq,
        rounds: rounds.min(10),
        police_unreachable,
        started,
    }
}
