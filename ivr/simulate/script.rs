//! `ivr simulate --keys "1,2,-,9,no-answer"`: a call made of a script, printed as a
//! transcript, for documentation and for the golden tests.
//!
//! A script is a comma-separated list of tokens, one per thing that happens:
//! - a keypad key (`0`-`9`, `*`, `#`): the caller presses it once the prompts have played;
//! - `-` (or `_`): the caller says nothing until the line stops listening;
//! - `answered`, `busy`, `no-answer`, `failed`: how the transfer being rung ends.
//!
//! The caller hangs up when the script ends. A token that cannot happen at its point of the
//! call (a key while a transfer rings, anything after the call ended) is an error, so a
//! script that no longer fits the flow fails loudly.

use crate::flow::{DialOutcome, Digit, Language};

use super::SimulateError;
use super::line::{Call, LineError, Turn};
use super::transcript::{self, Action, outcome_name};

const OUTCOMES: [DialOutcome; 4] =
    [DialOutcome::Completed, DialOutcome::Busy, DialOutcome::NoAnswer, DialOutcome::Failed];

/// Reads a script; every token must be known.
pub fn parse(script: &str) -> Result<Vec<Action>, SimulateError> {
    script.split(',').map(str::trim).filter(|t| !t.is_empty()).map(parse_token).collect()
}

fn parse_token(token: &str) -> Result<Action, SimulateError> {
    if token == "-" || token == "_" {
        return Ok(Action::Silence);
    }
    if let Some(key) = Digit::parse(token) {
        return Ok(Action::Press(key));
    }
    OUTCOMES
        .into_iter()
        .find(|&o| outcome_name(o) == token.to_ascii_lowercase())
        .map(Action::DialEnds)
        .ok_or_else(|| SimulateError::Token(token.to_owned()))
}

/// The token that stands for an action in a script.
pub fn token(action: Action) -> String {
    match action {
        Action::Press(key) => key.to_string(),
        Action::Silence => "-".to_owned(),
        Action::DialEnds(outcome) => outcome_name(outcome).to_owned(),
    }
}

/// Does one action on the call and returns what the caller goes through next.
pub async fn act(call: &mut Call<'_>, action: Action) -> Result<Turn, LineError> {
    match action {
        Action::Press(key) => call.press(key).await,
        Action::Silence => call.stay_silent().await,
        Action::DialEnds(outcome) => call.dial_ends(outcome).await,
    }
}

/// Places a call, follows `script` and returns the transcript. With `language`, its key is
/// pressed on the language menu at once and the menu is left out of the transcript.
pub async fn transcript(
    line: &super::Line,
    language: Option<Language>,
    script: &[Action],
) -> Result<String, SimulateError> {
    let (mut call, mut turn) = line.call().await?;
    let mut lines = vec!["call answered".to_owned()];
    if let Some(language) = language {
        let key = super::language_key(&line.app().flow, language)?;
        lines.push(format!("> {key} (--lang {language}: the language menu is skipped)"));
        turn = call.press(key).await?;
    }
    lines.extend(transcript::turn(&turn));
    for (index, &action) in script.iter().enumerate() {
        lines.push(transcript::action(action));
        turn = act(&mut call, action).await.map_err(|error| SimulateError::Script {
            step: index + 1,
            token: token(action),
            reason: error.to_string(),
            transcript: lines.join("\n"),
        })?;
        lines.extend(transcript::turn(&turn));
    }
    if !matches!(turn, Turn::End { .. }) {
        lines.push("> (hangs up: the script ends)".to_owned());
    }
    Ok(lines.join("\n") + "\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_keys_silences_and_outcomes() {
        let script = parse(" 1, 2 ,-,_,*,#,no-answer,Busy ").expect("valid script");
        let tokens: Vec<String> = script.into_iter().map(token).collect();
        assert_eq!(tokens, ["1", "2", "-", "-", "*", "#", "no-answer", "busy"]);
    }

    #[test]
    fn refuses_what_no_caller_can_do() {
        for bad in ["12", "a", "hello", "no answer"] {
            assert!(matches!(parse(bad), Err(SimulateError::Token(t)) if t == bad), "{bad}");
        }
    }
}
