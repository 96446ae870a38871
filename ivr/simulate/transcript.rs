//! How a simulated call reads: the same lines on the screen while someone walks the menu
//! and in the transcript of a scripted call, so a golden transcript shows exactly what a
//! person at the keyboard would see.
//!
//! Caller actions start with `>`; what the service does is indented under them. Nothing in
//! it depends on the clock or the call id, so a transcript is reproducible.

use crate::flow::{DialOutcome, Digit};

use super::line::{Callee, Heard, Turn};

/// Something the caller (or, for a transfer's outcome, the far end) did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Action {
    /// Pressed a keypad key.
    Press(Digit),
    /// Pressed nothing until the line stopped listening.
    Silence,
    /// The transfer ended so: answered, busy, no answer, failed.
    DialEnds(DialOutcome),
}

/// The line for a caller's action.
pub fn action(action: Action) -> String {
    match action {
        Action::Press(key) => format!("> {key}"),
        Action::Silence => "> (says nothing)".to_owned(),
        Action::DialEnds(outcome) => format!("> transfer: {}", outcome_name(outcome)),
    }
}

/// How a transfer's outcome is named on screen, in `--keys` and in transcripts.
pub fn outcome_name(outcome: DialOutcome) -> &'static str {
    match outcome {
        DialOutcome::Completed => "answered",
        DialOutcome::Busy => "busy",
        DialOutcome::NoAnswer => "no-answer",
        DialOutcome::Failed => "failed",
    }
}

/// The header and transcript of one prompt, indented.
pub fn prompt(heard: &Heard) -> Vec<String> {
    let header = format!("  ♪ {}/{}", heard.language, heard.key);
    let text = heard.transcript.lines().filter(|l| !l.trim().is_empty()).map(|l| format!("      {}", l.trim()));
    std::iter::once(header).chain(text).collect()
}

/// What follows a turn's prompts: listening, ringing someone, or the end of the call.
pub fn after_prompts(turn: &Turn) -> String {
    match turn {
        Turn::Listen { timeout_seconds, .. } => {
            format!("  … listening for one key ({timeout_seconds} s of silence ends it)")
        }
        Turn::Ring { callee: Callee::Police(number), ring_seconds, .. } => {
            format!("  → police {number} (rings up to {ring_seconds} s)")
        }
        Turn::Ring { callee: Callee::Operators(numbers), ring_seconds, .. } => {
            format!("  → operators: {} (rings up to {ring_seconds} s)", numbers.join(", "))
        }
        Turn::End { .. } => "  ■ the call ends".to_owned(),
    }
}

/// Every line of a turn, as a scripted transcript prints it.
pub fn turn(turn: &Turn) -> Vec<String> {
    let mut lines: Vec<String> = turn.prompts().iter().flat_map(prompt).collect();
    lines.push(after_prompts(turn));
    lines
}
