//! Renders flow instructions as TwiML, using only verbs and attributes Twilio documents.
//!
//! Menus are `<Gather input="dtmf" numDigits="1">` around `<Play>`s, so a caller can press a
//! key while a prompt plays, followed by a `<Redirect>` the provider follows when nothing
//! was pressed (not `actionOnEmptyResult`, which not every TwiML provider has). The next
//! call state is encoded into every action URL; nothing is kept on the server.

use std::fmt::Write;

use crate::call::{DialTarget, Ringing, Turn, WhisperFor};
use crate::flow::{CallState, Flow, Instruction, Language, PromptKey, Spoken, Step};

use crate::telephony::fallback::FallbackCall;
use crate::telephony::state_token;

/// The paths the provider is sent to by the documents rendered here.
pub const GATHER_PATH: &str = "/twilio/gather";
/// Where a `<Gather>` that heard nothing goes on.
pub const NO_INPUT_PATH: &str = "/twilio/no-input";
/// Where a `<Dial>` reports how a transfer ended.
pub const DIAL_PATH: &str = "/twilio/dial";
/// Played to an operator who answers, before the caller is connected.
pub const WHISPER_PATH: &str = "/twilio/whisper";

/// Renders a turn as a TwiML document.
pub struct Twiml<'a> {
    /// The service's public base URL: every action and prompt URL starts with it.
    pub public_url: &'a str,
    /// Where the emergency key transfers.
    pub emergency: &'a DialTarget,
}

impl Twiml<'_> {
    /// The TwiML document for one turn: its step, and who to ring when it transfers to
    /// operators (the call core never leaves that empty).
    pub fn render(&self, flow: &Flow, turn: &Turn<'_>) -> String {
        let step = &turn.step;
        let mut doc = String::with_capacity(1024);
        doc.push_str(r#"<?xml version="1.0" encoding="UTF-8"?><Response>"#);
        match &step.say {
            Instruction::Gather { prompts, timeout_seconds } => {
                let _ = write!(
                    doc,
                    r#"<Gather input="dtmf" numDigits="1" timeout="{timeout_seconds}" method="POST" action=""#
                );
                self.action(flow, step, GATHER_PATH, &mut doc);
                doc.push_str(r#"">"#);
                self.plays(step.spoken, prompts, &mut doc);
                doc.push_str(r#"</Gather><Redirect method="POST">"#);
                self.action(flow, step, NO_INPUT_PATH, &mut doc);
                doc.push_str("</Redirect>");
            }
            Instruction::EmergencyTransfer { prompts, ring_seconds } => {
                self.plays(step.spoken, prompts, &mut doc);
                self.dial_open(flow, step, None, *ring_seconds, &mut doc);
                target(self.emergency, None, &mut doc);
                doc.push_str("</Dial>");
            }
            Instruction::OperatorTransfer { prompts, ring_seconds } => {
                self.plays(step.spoken, prompts, &mut doc);
                self.dial_open(flow, step, turn.ringing.as_ref(), *ring_seconds, &mut doc);
                for callee in &turn.callees {
                    let whisper = self.whisper_url(flow, &turn.whisper_for(callee));
                    target(&callee.target, Some(&whisper), &mut doc);
                }
                doc.push_str("</Dial>");
            }
            Instruction::Hangup { prompts } => {
                self.plays(step.spoken, prompts, &mut doc);
                doc.push_str("<Hangup/>");
            }
        }
        doc.push_str("</Response>");
        doc
    }

    /// The whisper played to an operator: the fragments, in the operator's language.
    pub fn whisper(&self, language: Language, prompts: &[&PromptKey]) -> String {
        let mut doc = String::with_capacity(512);
        doc.push_str(r#"<?xml version="1.0" encoding="UTF-8"?><Response>"#);
        self.plays(Spoken::In(language), prompts, &mut doc);
        doc.push_str("</Response>");
        doc
    }

    /// An absolute action URL carrying the next state, XML-escaped.
    fn action(&self, flow: &Flow, step: &Step<'_>, path: &str, doc: &mut String) {
        push_escaped(doc, self.public_url);
        push_escaped(doc, path);
        doc.push('?');
        push_escaped(doc, &query(flow, &step.next));
    }

    fn whisper_url(&self, flow: &Flow, whisper: &WhisperFor) -> String {
        let mut url = format!("{}{WHISPER_PATH}?", self.public_url);
        state_token::encode_whisper(flow, whisper, &mut url);
        url
    }

    /// A `<Play>` per recording: each prompt in every language it is spoken in, in turn.
    fn plays(&self, spoken: Spoken, prompts: &[&PromptKey], doc: &mut String) {
        for (language, key) in spoken.recordings(prompts.iter().copied()) {
            doc.push_str("<Play>");
            push_escaped(doc, self.public_url);
            let _ = write!(doc, "/prompts/{language}/{key}.wav</Play>");
        }
    }

    fn dial_open(&self, flow: &Flow, step: &Step<'_>, ringing: Option<&Ringing>, ring_seconds: u8, doc: &mut String) {
        let _ = write!(doc, r#"<Dial timeout="{ring_seconds}" answerOnBridge="true" method="POST" action=""#);
        self.action(flow, step, DIAL_PATH, doc);
        if let Some(ringing) = ringing {
            let mut ring = String::with_capacity(32);
            state_token::encode_ringing(ringing, &mut ring);
            push_escaped(doc, &ring);
        }
        doc.push_str(r#"">"#);
    }
}

fn query(flow: &Flow, state: &CallState) -> String {
    let mut query = String::with_capacity(64);
    state_token::encode(flow, state, &mut query);
    query
}

/// A `<Number>` or `<Sip>`, with the URL whose TwiML the answering party hears first.
fn target(target: &DialTarget, whisper: Option<&str>, doc: &mut String) {
    let (verb, address) = match target {
        // A roster's Asterisk dial string never gets here (`call::Line` leaves it out for a
        // webhook call); as IVR_EMERGENCY_NUMBER it is refused at start while TwiML is
        // configured, and on a line that is not (FastAGI only) it fails as a number would.
        DialTarget::Number(number) | DialTarget::Channel(number) => ("Number", number),
        DialTarget::Sip(uri) => ("Sip", uri),
    };
    let _ = write!(doc, "<{verb}");
    if let Some(url) = whisper {
        doc.push_str(r#" url=""#);
        push_escaped(doc, url);
        doc.push_str(r#"" method="POST""#);
    }
    doc.push('>');
    push_escaped(doc, address);
    let _ = write!(doc, "</{verb}>");
}

/// The fallback document (see `fallback.rs`): recordings, the switchboard rung, and the
/// recordings after it; a `<Dial>` without an action goes on to the next verb.
pub fn fallback(call: &FallbackCall<'_>) -> String {
    let mut doc = String::with_capacity(1024);
    doc.push_str(r#"<?xml version="1.0" encoding="UTF-8"?><Response>"#);
    push_plays(&call.before, &mut doc);
    let _ = write!(doc, r#"<Dial timeout="{}" answerOnBridge="true">"#, call.ring_seconds);
    target(call.switchboard, None, &mut doc);
    doc.push_str("</Dial>");
    push_plays(&call.after, &mut doc);
    doc.push_str("<Hangup/></Response>");
    doc
}

fn push_plays(urls: &[String], doc: &mut String) {
    for url in urls {
        doc.push_str("<Play>");
        push_escaped(doc, url);
        doc.push_str("</Play>");
    }
}

/// An empty document: what the provider gets for a status callback.
pub const EMPTY: &str = r#"<?xml version="1.0" encoding="UTF-8"?><Response/>"#;

/// `text` as XML character data or a double- or single-quoted attribute value: every value
/// written into a document goes through here (the public URL comes from configuration, and
/// a `&` or `"` in it once made every document malformed).
fn push_escaped(doc: &mut String, text: &str) {
    // Copied a run at a time between the characters to replace (a state token's URL has a
    // few `&`, a prompt's none), not a character at a time.
    let mut rest = text;
    while let Some(at) = rest.bytes().position(|b| matches!(b, b'&' | b'<' | b'>' | b'"' | b'\'')) {
        doc.push_str(&rest[..at]);
        doc.push_str(match rest.as_bytes()[at] {
            b'&' => "&amp;",
            b'<' => "&lt;",
            b'>' => "&gt;",
            b'"' => "&quot;",
            _ => "&apos;",
        });
        rest = &rest[at + 1..];
    }
    doc.push_str(rest);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::call::{Input, answer, begin};
    use crate::flow::CallId;
    use crate::operators::Roster;

    /// Every document of a call that asks for an operator, then goes to the police.
    fn documents(public_url: &str) -> Vec<String> {
        let path = std::path::Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/flows/hotline.toml"));
        let flow = Flow::load(path).expect("the bundled flow");
        let emergency = DialTarget::Number("102".to_owned());
        let switchboard = Some(DialTarget::Number("+77170000111".to_owned()));
        let roster = Roster { operators: Vec::new(), switchboard, states_stale: false };
        let twiml = Twiml { public_url, emergency: &emergency };
        let first = begin(&flow, CallId::random(), &roster);
        let operator = answer(&flow, first.step.next, Input::Key(flow.operator_key), &roster);
        let police = answer(&flow, operator.step.next, Input::Key(flow.emergency_key), &roster);
        [first, operator, police].iter().map(|turn| twiml.render(&flow, turn)).collect()
    }

    #[test]
    fn a_public_url_with_xml_characters_gives_well_formed_documents_that_carry_it_whole() {
        let public_url = "https://ivr.example/a&b'c";
        for doc in documents(public_url) {
            let parsed = roxmltree::Document::parse(&doc).unwrap_or_else(|e| panic!("{e}: {doc}"));
            let urls: Vec<&str> = parsed
                .descendants()
                .flat_map(|n| {
                    let attributes = n.attribute("action").into_iter().chain(n.attribute("url"));
                    attributes.chain(n.text().filter(|t| t.starts_with("http")))
                })
                .collect();
            assert!(!urls.is_empty(), "{doc}");
            assert!(urls.iter().all(|url| url.starts_with(public_url)), "{urls:?}");
        }
    }
}
