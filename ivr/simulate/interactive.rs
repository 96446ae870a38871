//! `ivr simulate` at the keyboard: hear each prompt, read its transcript, press keys as on a
//! phone. A key pressed while a prompt plays interrupts it (barge-in), as `<Gather>` does;
//! prompts before a transfer or a hang-up cannot be interrupted, as on a real line. After
//! the prompts the line listens for the menu's real timeout, or `n`/Space says nothing at
//! once. When a transfer rings, the person at the keyboard decides how it ends, so every
//! fallback can be walked.

use std::io::Write;
use std::time::{Duration, Instant};

use tokio::runtime::Runtime;

use crate::flow::{DialOutcome, Digit, Language};

use super::SimulateError;
use super::keypad::{Keys, Pressed, Screen};
use super::line::{Heard, Line, Turn};
use super::script::act;
use super::speaker::{Speaker, TICK};
use super::transcript::{self, Action};

/// Shown before the call is answered.
pub const KEY_HELP: &str = "keys: 0-9 * # as on the keypad · n or Space: say nothing · q or Esc: hang up";

/// What happens after a turn.
enum Next {
    Act(Action),
    HangUp,
    Ended,
}

/// The person at the keyboard: their keys, their ears, their screen.
pub struct Caller<'a, W: Write> {
    /// Where their key presses come from.
    pub keys: &'a mut dyn Keys,
    /// What plays the prompts to them.
    pub speaker: &'a mut dyn Speaker,
    /// Where transcripts are shown.
    pub screen: &'a mut Screen<W>,
}

impl<W: Write> Caller<'_, W> {
    /// Places a call and lets the caller walk it until they hang up or it ends.
    pub fn walk(&mut self, line: &Line, runtime: &Runtime, language: Option<Language>) -> Result<(), SimulateError> {
        let (mut call, mut turn) = runtime.block_on(line.call())?;
        self.screen.show(["call answered"])?;
        if let Some(language) = language {
            let key = super::language_key(&line.app().flow, language)?;
            self.screen.show([format!("> {key} (--lang {language}: the language menu is skipped)")])?;
            turn = runtime.block_on(call.press(key))?;
        }
        loop {
            let action = match self.through(&turn)? {
                Next::Act(action) => action,
                Next::HangUp => return Ok(self.screen.show(["> (hangs up)"])?),
                Next::Ended => return Ok(()),
            };
            self.screen.show([transcript::action(action)])?;
            turn = runtime.block_on(act(&mut call, action))?;
        }
    }

    fn through(&mut self, turn: &Turn) -> Result<Next, SimulateError> {
        let Turn::Listen { timeout_seconds, .. } = turn else {
            return self.uninterruptible(turn);
        };
        if let Some(next) = self.play_listening(turn.prompts())? {
            return Ok(next);
        }
        self.screen.show([transcript::after_prompts(turn)])?;
        self.wait(Duration::from_secs(u64::from(*timeout_seconds)))
    }

    /// A transfer or a hang-up: its prompts play to the end, then it rings or ends.
    fn uninterruptible(&mut self, turn: &Turn) -> Result<Next, SimulateError> {
        if self.play_through(turn.prompts())? {
            return Ok(Next::HangUp);
        }
        self.screen.show([transcript::after_prompts(turn)])?;
        match turn {
            Turn::Ring { .. } => self.transfer_outcome(),
            _ => Ok(Next::Ended),
        }
    }

    /// Plays prompts while the line listens; a key stops the prompt and counts at once.
    fn play_listening(&mut self, prompts: &[Heard]) -> Result<Option<Next>, SimulateError> {
        for heard in prompts {
            self.screen.show(transcript::prompt(heard))?;
            self.speaker.start(heard);
            while self.speaker.playing() {
                if let Some(next) = self.caller_key(TICK)? {
                    self.speaker.stop();
                    self.screen.show(["    (interrupted)"])?;
                    return Ok(Some(next));
                }
            }
        }
        Ok(None)
    }

    /// The line listens for `timeout` after the prompts; silence is no input.
    fn wait(&mut self, timeout: Duration) -> Result<Next, SimulateError> {
        let deadline = Instant::now() + timeout;
        while let Some(left) = deadline.checked_duration_since(Instant::now()).filter(|left| !left.is_zero()) {
            if let Some(next) = self.caller_key(left.min(TICK))? {
                return Ok(next);
            }
        }
        Ok(Next::Act(Action::Silence))
    }

    /// Plays prompts no key can interrupt; `true` if the caller hung up meanwhile.
    fn play_through(&mut self, prompts: &[Heard]) -> Result<bool, SimulateError> {
        for heard in prompts {
            self.screen.show(transcript::prompt(heard))?;
            self.speaker.start(heard);
            while self.speaker.playing() {
                if self.keys.next(TICK)? == Some(Pressed::HangUp) {
                    self.speaker.stop();
                    return Ok(true);
                }
            }
        }
        Ok(false)
    }

    /// A key that means something while the line listens, if one is pressed within `within`.
    fn caller_key(&mut self, within: Duration) -> Result<Option<Next>, SimulateError> {
        Ok(match self.keys.next(within)? {
            Some(Pressed::HangUp) => Some(Next::HangUp),
            Some(Pressed::Char('n' | ' ')) => Some(Next::Act(Action::Silence)),
            Some(Pressed::Char(c)) => Digit::parse(c.encode_utf8(&mut [0; 4])).map(|key| Next::Act(Action::Press(key))),
            None => None,
        })
    }

    /// Asks how the transfer being rung ends.
    fn transfer_outcome(&mut self) -> Result<Next, SimulateError> {
        self.screen.show(["  how does the transfer end? a answered · b busy · n no answer · f failed"])?;
        loop {
            let outcome = match self.keys.next(Duration::from_secs(1))? {
                Some(Pressed::HangUp) => return Ok(Next::HangUp),
                Some(Pressed::Char('a')) => DialOutcome::Completed,
                Some(Pressed::Char('b')) => DialOutcome::Busy,
                Some(Pressed::Char('n')) => DialOutcome::NoAnswer,
                Some(Pressed::Char('f')) => DialOutcome::Failed,
                _ => continue,
            };
            return Ok(Next::Act(Action::DialEnds(outcome)));
        }
    }
}
