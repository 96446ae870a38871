//! The call state carried in action URLs (`?c=…&n=main&l=kk&f=0&t=3&s=0&q=4&r=0&p=0&b=…`, and
//! `&w=…` while the caller holds a place in the operators' queue), and
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
use crate::flow::{CallId, CallState, Flow, Language, QueuePlace, TopicSet};

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
    if let Some(place) = &state.queue {
        let _ = write!(out, "&w={:x}.{}.{}.{}", place.ticket, place.joined_ms, place.told_position, place.told_at);
    }
}

/// A place in the operators' queue (`w=<ticket in hex>.<joined, ms>.<position told>.<told at>`);
/// `None` when malformed, so an edited URL joins the queue afresh rather than failing.
fn queue_place(text: &str) -> Option<QueuePlace> {
    let mut parts = text.split('.');
    let ticket = i64::from_str_radix(parts.next()?, 16).ok().filter(|t| *t > 0)?;
    let joined_ms = parts.next()?.parse().ok()?;
    let told_position = parts.next()?.parse().ok()?;
    let told_at = parts.next()?.parse().ok()?;
    parts.next().is_none().then_some(QueuePlace { ticket, joined_ms, told_position, told_at })
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
    let (mut rounds, mut police_unreachable, mut started, mut queue) = (0u8, false, None, None);
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
            "w" => queue = queue_place(&value),
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
        queue,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn flow() -> Flow {
        Flow::from_toml(include_str!("../../flows/hotline.toml")).expect("the bundled flow")
    }

    #[test]
    fn a_place_in_the_queue_travels_with_the_state() {
        let flow = flow();
        let place = QueuePlace { ticket: 0x7fff_0000_1234, joined_ms: 1_765_000_000_123, told_position: 3, told_at: 9 };
        let state = CallState { node: flow.operator, queue: Some(place), ..flow.recover(CallId(5), None) };
        let mut token = String::new();
        encode(&flow, &state, &mut token);
        assert!(token.ends_with("&w=7fff00001234.1765000000123.3.9"), "{token}");
        assert_eq!(decode(&flow, &token), state);
    }

    #[test]
    fn an_edited_place_is_dropped_not_an_error() {
        let flow = flow();
        for bad in ["w=zz.1.0.0", "w=0.1.0.0", "w=5.1.0", "w=5.1.0.0.9", "w=-5.1.0.0"] {
            let state = decode(&flow, &format!("c=00000000000000ab&n=operator&{bad}"));
            assert_eq!((state.node, state.queue), (flow.operator, None), "{bad}");
        }
    }
}
