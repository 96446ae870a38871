//! Renders flow instructions as TwiML, using only verbs and attributes Twilio documents.
//!
//! Menus are `<Gather input="dtmf" numDigits="1">` around `<Play>`s, so a caller can press a
//! key while a prompt plays, followed by a `<Redirect>` the provider follows when nothing
//! was pressed (not `actionOnEmptyResult`, which not every TwiML provider has). The next
//! call state is encoded into every action URL; nothing is kept on the server.

use std::fmt::Write;

use crate::call::{Turn, WhisperFor};
use crate::config::DialTarget;
use crate::flow::{CallState, Flow, Instruction, Language, PromptKey, Step};

use super::state_token;

/// The paths the provider is sent to by the documents rendered here.
pub const GATHER_PATH: &str = "/twilio/gather";
pub const NO_INPUT_PATH: &str = "/twilio/no-input";
pub const DIAL_PATH: &str = "/twilio/dial";
/// Played to an operator who answers, before the caller is connected.
pub const WHISPER_PATH: &str = "/twilio/whisper";

pub struct Twiml<'a> {
    pub public_url: &'a str,
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
                self.plays(step.language, prompts, &mut doc);
                doc.push_str(r#"</Gather><Redirect method="POST">"#);
                self.action(flow, step, NO_INPUT_PATH, &mut doc);
                doc.push_str("</Redirect>");
            }
            Instruction::EmergencyTransfer { prompts, ring_seconds } => {
                self.plays(step.language, prompts, &mut doc);
                self.dial_open(flow, step, *ring_seconds, &mut doc);
                target(self.emergency, None, &mut doc);
                doc.push_str("</Dial>");
            }
            Instruction::OperatorTransfer { prompts, ring_seconds } => {
                self.plays(step.language, prompts, &mut doc);
                self.dial_open(flow, step, *ring_seconds, &mut doc);
                for callee in &turn.callees {
                    let whisper = self.whisper_url(flow, &step.next, callee.whisper);
                    target(&callee.target, Some(&whisper), &mut doc);
                }
                doc.push_str("</Dial>");
            }
            Instruction::Hangup { prompts } => {
                self.plays(step.language, prompts, &mut doc);
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
        self.plays(language, prompts, &mut doc);
        doc.push_str("</Response>");
        doc
    }

    /// An absolute action URL carrying the next state, XML-escaped (`&` → `&amp;`).
    fn action(&self, flow: &Flow, step: &Step<'_>, path: &str, doc: &mut String) {
        let _ = write!(doc, "{}{path}?{}", self.public_url, query(flow, &step.next).replace('&', "&amp;"));
    }

    fn whisper_url(&self, flow: &Flow, caller: &CallState, listener: Language) -> String {
        let mut url = format!("{}{WHISPER_PATH}?", self.public_url);
        state_token::encode_whisper(flow, &WhisperFor { caller: *caller, listener }, &mut url);
        url
    }

    fn plays(&self, language: Language, prompts: &[&PromptKey], doc: &mut String) {
        for key in prompts {
            let _ = write!(doc, "<Play>{}/prompts/{language}/{key}.wav</Play>", self.public_url);
        }
    }

    fn dial_open(&self, flow: &Flow, step: &Step<'_>, ring_seconds: u8, doc: &mut String) {
        let _ = write!(doc, r#"<Dial timeout="{ring_seconds}" answerOnBridge="true" method="POST" action=""#);
        self.action(flow, step, DIAL_PATH, doc);
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
        DialTarget::Number(number) => ("Number", number),
        DialTarget::Sip(uri) => ("Sip", uri),
    };
    let _ = write!(doc, "<{verb}");
    if let Some(url) = whisper {
        let _ = write!(doc, r#" url="{}" method="POST""#, escape(url));
    }
    let _ = write!(doc, ">{}</{verb}>", escape(address));
}

/// An empty document: what the provider gets for a status callback.
pub const EMPTY: &str = r#"<?xml version="1.0" encoding="UTF-8"?><Response/>"#;

fn escape(text: &str) -> String {
    text.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('"', "&quot;")
}
