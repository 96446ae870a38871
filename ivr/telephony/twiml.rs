//! Renders flow instructions as TwiML, using only verbs and attributes Twilio documents.
//!
//! Menus are `<Gather input="dtmf" numDigits="1">` around `<Play>`s, so a caller can press a
//! key while a prompt plays, followed by a `<Redirect>` the provider follows when nothing
//! was pressed (not `actionOnEmptyResult`, which not every TwiML provider has). The next
//! call state is encoded into every action URL; nothing is kept on the server.

use std::fmt::Write;

use crate::config::DialTarget;
use crate::flow::{Flow, Instruction, Language, PromptKey, Step};

use super::state_token;

/// The paths the provider is sent to by the documents rendered here.
pub const GATHER_PATH: &str = "/twilio/gather";
pub const NO_INPUT_PATH: &str = "/twilio/no-input";
pub const DIAL_PATH: &str = "/twilio/dial";

pub struct Twiml<'a> {
    pub public_url: &'a str,
    pub emergency: &'a DialTarget,
}

impl Twiml<'_> {
    /// The TwiML document for one step. `operators` are the numbers to ring when the step
    /// transfers to an operator; the caller is never sent to an empty `<Dial>`.
    pub fn render(&self, flow: &Flow, step: &Step<'_>, operators: &[DialTarget]) -> String {
        let mut doc = String::with_capacity(1024);
        doc.push_str(r#"<?xml version="1.0" encoding="UTF-8"?><Response>"#);
        match &step.say {
            Instruction::Gather { prompts, timeout_seconds } => {
                let _ = write!(doc, r#"<Gather input="dtmf" numDigits="1" timeout="{timeout_seconds}" method="POST" action=""#);
                self.action(flow, step, GATHER_PATH, &mut doc);
                doc.push_str(r#"">"#);
                self.plays(step.language, prompts, &mut doc);
                doc.push_str(r#"</Gather><Redirect method="POST">"#);
                self.action(flow, step, NO_INPUT_PATH, &mut doc);
                doc.push_str("</Redirect>");
            }
            Instruction::EmergencyTransfer { prompts, ring_seconds } => {
                self.plays(step.language, prompts, &mut doc);
                self.dial(flow, step, *ring_seconds, std::slice::from_ref(self.emergency), &mut doc);
            }
            Instruction::OperatorTransfer { prompts, ring_seconds, .. } => {
                self.plays(step.language, prompts, &mut doc);
                self.dial(flow, step, *ring_seconds, operators, &mut doc);
            }
            Instruction::Hangup { prompts } => {
                self.plays(step.language, prompts, &mut doc);
                doc.push_str("<Hangup/>");
            }
        }
        doc.push_str("</Response>");
        doc
    }

    /// An absolute action URL carrying the next state, XML-escaped (`&` → `&amp;`).
    fn action(&self, flow: &Flow, step: &Step<'_>, path: &str, doc: &mut String) {
        let mut query = String::with_capacity(64);
        state_token::encode(flow, &step.next, &mut query);
        let _ = write!(doc, "{}{path}?{}", self.public_url, query.replace('&', "&amp;"));
    }

    fn plays(&self, language: Language, prompts: &[&PromptKey], doc: &mut String) {
        for key in prompts {
            let _ = write!(doc, "<Play>{}/prompts/{language}/{key}.wav</Play>", self.public_url);
        }
    }

    fn dial(&self, flow: &Flow, step: &Step<'_>, ring_seconds: u8, targets: &[DialTarget], doc: &mut String) {
        let _ = write!(doc, r#"<Dial timeout="{ring_seconds}" answerOnBridge="true" method="POST" action=""#);
        self.action(flow, step, DIAL_PATH, doc);
        doc.push_str(r#"">"#);
        for target in targets {
            match target {
                DialTarget::Number(number) => {
                    let _ = write!(doc, "<Number>{}</Number>", escape(number));
                }
                DialTarget::Sip(uri) => {
                    let _ = write!(doc, "<Sip>{}</Sip>", escape(uri));
                }
            }
        }
        doc.push_str("</Dial>");
    }
}

/// An empty document: what the provider gets for a status callback.
pub const EMPTY: &str = r#"<?xml version="1.0" encoding="UTF-8"?><Response/>"#;

fn escape(text: &str) -> String {
    text.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('"', "&quot;")
}
