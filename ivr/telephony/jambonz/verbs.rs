//! Renders a [`Turn`] as a jambonz application document: a JSON array of verbs, using only
//! verbs and properties of jambonz's own specification (`@jambonz/verb-specifications`,
//! which CI runs over every document the tests produce).
//!
//! A menu is one `gather` (`input: ["digits"]`, `numDigits: 1`) with a nested `play` of the
//! prompts: jambonz listens for a key while the prompts play, starts `timeout` once they
//! end, and calls the `actionHook` with `reason: "dtmfDetected"` and the `digits`, or
//! `reason: "timeout"`. A transfer is `dial` with `answerOnBridge` (the caller hears
//! ringing until someone answers), and every operator target has a `confirmHook` whose
//! `play` the operator hears before being connected. The call state travels in the hook
//! URLs' query, exactly as with TwiML: nothing is kept on the server.

use serde::Serialize;

use crate::call::{Callee, DialTarget, Ringing, Turn};
use crate::flow::{CallState, Flow, Instruction, Language, PromptKey, Spoken};
use crate::telephony::fallback::FallbackCall;
use crate::telephony::state_token;

/// The hooks the documents rendered here send jambonz to.
pub const GATHER_PATH: &str = "/jambonz/gather";
/// Where jambonz reports how a transfer ended (the dial verb's `actionHook`).
pub const DIAL_PATH: &str = "/jambonz/dial";
/// The operator's `confirmHook`: what they hear before the caller is connected.
pub const WHISPER_PATH: &str = "/jambonz/whisper";

#[derive(Serialize)]
#[serde(tag = "verb", rename_all = "lowercase", rename_all_fields = "camelCase")]
enum Verb {
    Gather {
        input: [&'static str; 1],
        num_digits: u8,
        timeout: u8,
        /// None for a stretch of silence (a caller waiting in the operators' queue with
        /// nothing to be told): jambonz's `play` requires a URL.
        #[serde(skip_serializing_if = "Option::is_none")]
        play: Option<Play>,
        action_hook: String,
    },
    Play(Play),
    Dial {
        target: Vec<Target>,
        answer_on_bridge: bool,
        timeout: u8,
        /// None in the fallback document: the next verb follows the dial.
        #[serde(skip_serializing_if = "Option::is_none")]
        action_hook: Option<String>,
    },
    Hangup {},
}

#[derive(Serialize)]
struct Play {
    url: Vec<String>,
}

#[derive(Serialize)]
#[serde(tag = "type", rename_all = "lowercase", rename_all_fields = "camelCase")]
enum Target {
    Phone {
        number: String,
        #[serde(skip_serializing_if = "Option::is_none")]
        confirm_hook: Option<String>,
    },
    Sip {
        sip_uri: String,
        #[serde(skip_serializing_if = "Option::is_none")]
        confirm_hook: Option<String>,
    },
}

/// Renders a turn as jambonz verbs (JSON).
pub struct Jambonz<'a> {
    /// The service's public base URL: every hook and prompt URL starts with it.
    pub public_url: &'a str,
    /// Where the emergency key transfers.
    pub emergency: &'a DialTarget,
}

impl Jambonz<'_> {
    /// The document for one turn.
    pub fn render(&self, flow: &Flow, turn: &Turn<'_>) -> String {
        let step = &turn.step;
        let spoken = step.spoken;
        let mut verbs = Vec::with_capacity(3);
        match &step.say {
            Instruction::Gather { prompts, timeout_seconds } => verbs.push(Verb::Gather {
                input: ["digits"],
                num_digits: 1,
                timeout: *timeout_seconds,
                play: (!prompts.is_empty()).then(|| self.play(spoken, prompts)),
                action_hook: self.hook(flow, GATHER_PATH, &step.next),
            }),
            Instruction::EmergencyTransfer { prompts, ring_seconds } => {
                self.plays(spoken, prompts, &mut verbs);
                let target = vec![target(self.emergency, None)];
                verbs.push(self.dial(flow, &step.next, None, target, *ring_seconds));
            }
            Instruction::OperatorTransfer { prompts, ring_seconds } => {
                self.plays(spoken, prompts, &mut verbs);
                let target = turn.callees.iter().map(|c| self.operator(flow, turn, c)).collect();
                verbs.push(self.dial(flow, &step.next, turn.ringing.as_ref(), target, *ring_seconds));
            }
            Instruction::Hangup { prompts } => {
                self.plays(spoken, prompts, &mut verbs);
                verbs.push(Verb::Hangup {});
            }
        }
        json(&verbs)
    }

    /// What an operator hears before the caller is connected: the fragments, in their language.
    pub fn whisper(&self, language: Language, prompts: &[PromptKey]) -> String {
        let mut verbs = Vec::with_capacity(1);
        self.plays(Spoken::In(language), &prompts.iter().collect::<Vec<_>>(), &mut verbs);
        json(&verbs)
    }

    fn dial(
        &self,
        flow: &Flow,
        next: &CallState,
        ringing: Option<&Ringing>,
        target: Vec<Target>,
        ring_seconds: u8,
    ) -> Verb {
        let mut action_hook = self.hook(flow, DIAL_PATH, next);
        if let Some(ringing) = ringing {
            state_token::encode_ringing(ringing, &mut action_hook);
        }
        Verb::Dial { target, answer_on_bridge: true, timeout: ring_seconds, action_hook: Some(action_hook) }
    }

    fn operator(&self, flow: &Flow, turn: &Turn<'_>, callee: &Callee) -> Target {
        let mut hook = format!("{}{WHISPER_PATH}?", self.public_url);
        state_token::encode_whisper(flow, &turn.whisper_for(callee), &mut hook);
        target(&callee.target, Some(hook))
    }

    /// An absolute hook URL carrying the next state.
    fn hook(&self, flow: &Flow, path: &str, next: &CallState) -> String {
        let mut url = format!("{}{path}?", self.public_url);
        state_token::encode(flow, next, &mut url);
        url
    }

    /// A URL per recording: each prompt in every language it is spoken in, in turn.
    fn play(&self, spoken: Spoken, prompts: &[&PromptKey]) -> Play {
        let recordings = spoken.recordings(prompts.iter().copied());
        Play {
            url: recordings
                .map(|(language, key)| format!("{}/prompts/{language}/{key}.wav", self.public_url))
                .collect(),
        }
    }

    /// A `play` of the prompts, if there are any (jambonz requires a URL).
    fn plays(&self, spoken: Spoken, prompts: &[&PromptKey], verbs: &mut Vec<Verb>) {
        if !prompts.is_empty() {
            verbs.push(Verb::Play(self.play(spoken, prompts)));
        }
    }
}

/// The fallback document (see `fallback.rs`): recordings, the switchboard rung, and the
/// recordings after it, with no hook at all.
pub fn fallback(call: &FallbackCall<'_>) -> String {
    let target = vec![target(call.switchboard, None)];
    json(&[
        Verb::Play(Play { url: call.before.clone() }),
        Verb::Dial { target, answer_on_bridge: true, timeout: call.ring_seconds, action_hook: None },
        Verb::Play(Play { url: call.after.clone() }),
        Verb::Hangup {},
    ])
}

/// A phone number the SIP trunk routes, or a SIP address.
fn target(target: &DialTarget, confirm_hook: Option<String>) -> Target {
    match target {
        // Never a roster's, and refused as IVR_EMERGENCY_NUMBER while jambonz is configured,
        // as in the TwiML dialect.
        DialTarget::Number(number) | DialTarget::Channel(number) => {
            Target::Phone { number: number.clone(), confirm_hook }
        }
        DialTarget::Sip(uri) => Target::Sip { sip_uri: uri.clone(), confirm_hook },
    }
}

/// A menu's document is about 700 bytes: written into room for it, not grown from 128.
fn json(verbs: &[Verb]) -> String {
    let mut document = Vec::with_capacity(1024);
    match serde_json::to_writer(&mut document, verbs) {
        Ok(()) => String::from_utf8(document).unwrap_or_else(|_| "[]".to_owned()),
        Err(_) => "[]".to_owned(),
    }
}
