//! One call over one FastAGI connection: the call core's turns rendered as AGI commands,
//! the replies read back into [`Input`]s, until the call ends.
//!
//! Per turn: `SET VARIABLE IVR_STATE <token>` first, so the dialplan can re-enter another
//! instance at the same place if this connection breaks; then a menu is `STREAM FILE <url>
//! "0123456789*#"` per prompt (any key cuts it) and `WAIT FOR DIGIT <ms>` for the gather
//! timeout; a transfer is the prompts, `EXEC Dial …`, then `GET VARIABLE DIALSTATUS` and
//! `ANSWEREDTIME`; the flow's end is the prompts and `HANGUP`. A conversation started with
//! a state token in `agi_arg_1` continues from it instead of starting the call again.

use std::time::Duration;

use tokio::io::{AsyncRead, AsyncWrite};

use crate::call::{Callee, DialOutcome, Input, Line, Ringing, Turn};
use crate::flow::{CallState, Instruction, Language, PromptKey, Spoken};
use crate::state::AppState;
use crate::telephony::state_token;

use super::codec::{Environment, Reply, command};
use super::dial;
use super::peer::{Ended, Peer};

/// The script path the dialplan calls: `AGI(agi://host:4573/hotline[,<state token>])`.
pub const SCRIPT: &str = "hotline";
/// The channel variable holding the call's state after every turn.
pub const STATE_VARIABLE: &str = "IVR_STATE";
/// Any key cuts a menu's prompt.
const ANY_KEY: &str = "0123456789*#";
/// A prompt plays for at most this long.
const LONGEST_PROMPT: Duration = Duration::from_secs(600);
/// A transfer (ringing and the whole conversation after it) lasts at most this long.
const LONGEST_TRANSFER: Duration = Duration::from_secs(6 * 3600);

/// Holds the call through `stream` until it ends, the peer breaks, or `cut` completes (a
/// drain's end: the connection closes after the state was saved, and the dialplan carries
/// the call on).
pub async fn converse<S: AsyncRead + AsyncWrite>(app: &AppState, stream: S, cut: impl Future<Output = ()>) {
    let mut call = Conversation {
        app,
        peer: Peer::new(stream),
        quick: Duration::from_millis(app.settings.asterisk.timeout_ms),
        state: None,
    };
    let ended = tokio::select! {
        ended = call.run() => ended,
        () = cut => Ended::Drained,
    };
    call.finish(ended).await;
}

struct Conversation<'a, S> {
    app: &'a AppState,
    peer: Peer<S>,
    /// How long a quick command (and the environment) may take.
    quick: Duration,
    /// Where the call is, once known: for recording its end.
    state: Option<CallState>,
}

impl<S: AsyncRead + AsyncWrite> Conversation<'_, S> {
    async fn run(&mut self) -> Ended {
        match self.converse().await {
            Ok(()) => Ended::HungUp,
            Err(ended) => ended,
        }
    }

    async fn converse(&mut self) -> Result<(), Ended> {
        let environment = self.peer.environment(self.quick).await?;
        let script = environment.script.split('?').next().unwrap_or("");
        if script != SCRIPT {
            tracing::warn!(script, "FastAGI request for an unknown script (expected {SCRIPT})");
            return Err(Ended::Broken(super::codec::Broken::Malformed("script path")));
        }
        self.quick_command("ANSWER", &[]).await?;
        let line = Line::on_asterisk(self.app);
        let mut turn = self.first_turn(&line, environment).await?;
        tracing::Span::current().record("call", tracing::field::display(turn.step.next.call));
        loop {
            self.state = Some(turn.step.next);
            self.save_state(&turn.step.next).await?;
            let Some(input) = self.play(&turn).await? else { return Ok(()) };
            turn = line.answer(turn.step.next, input).await;
        }
    }

    /// A new call's first turn, or the turn of a call the dialplan hands back with its state.
    async fn first_turn<'l>(&mut self, line: &Line<'l>, environment: Environment) -> Result<Turn<'l>, Ended> {
        let token = environment.args.first().filter(|token| !token.trim().is_empty());
        let Some(token) = token else {
            let (uniqueid, callerid) = (environment.uniqueid, environment.callerid);
            return Ok(line.incoming(
                "asterisk",
                uniqueid.as_ref().map(|u| u.expose()),
                callerid.as_ref().map(|c| c.expose()),
            ));
        };
        let state = state_token::decode(&self.app.flow, token);
        tracing::info!("call resumed from IVR_STATE");
        let resumed = line.resume(state);
        if matches!(resumed.step.say, Instruction::Gather { .. }) {
            return Ok(resumed);
        }
        // The call was in a transfer when its connection broke: the transfer ran on in
        // Asterisk, and how it ended is still in the channel's variables. A caller waiting
        // in the operators' queue rang nobody since the last dial's end was read (it is
        // cleared then): they ask for their turn again, in their place.
        let input =
            if state.queue.is_some() && !self.dialled().await? { Input::NoInput } else { self.dial_ended().await? };
        Ok(line.answer(state, input).await)
    }

    /// What the caller hears for `turn`, and what they did: `None` once the call is over.
    async fn play(&mut self, turn: &Turn<'_>) -> Result<Option<Input>, Ended> {
        let step = &turn.step;
        match &step.say {
            Instruction::Gather { prompts, timeout_seconds } => {
                self.menu(step.spoken, prompts, *timeout_seconds).await.map(Some)
            }
            Instruction::EmergencyTransfer { prompts, ring_seconds } => {
                self.prompts(step.spoken, prompts, "").await?;
                let target = dial::dial_string(&self.app.settings.asterisk, &self.app.settings.emergency_number);
                let argument = dial::dial_argument(&target.into_iter().collect::<Vec<_>>(), *ring_seconds, &[]);
                self.transfer(argument, None).await.map(Some)
            }
            Instruction::OperatorTransfer { prompts, ring_seconds } => {
                self.prompts(step.spoken, prompts, "").await?;
                let targets = dial::operator_targets(&self.app.settings.asterisk, &turn.callees);
                let argument = dial::dial_argument(&targets, *ring_seconds, &self.whisper(turn));
                let held = Line::on_asterisk(self.app).hold_ring(step.next.queue);
                let input = self.transfer(argument, turn.ringing.as_ref().map(|r| (r, &turn.callees[..]))).await;
                drop(held);
                input.map(Some)
            }
            Instruction::Hangup { prompts } => {
                self.prompts(step.spoken, prompts, "").await?;
                let _ = self.quick_command("HANGUP", &[]).await;
                Ok(None)
            }
        }
    }

    /// A menu: the prompts, any key cutting them, then the gather timeout for a key.
    async fn menu(&mut self, spoken: Spoken, prompts: &[&PromptKey], timeout_seconds: u8) -> Result<Input, Ended> {
        if let Some(key) = self.prompts(spoken, prompts, ANY_KEY).await? {
            return Ok(key);
        }
        let wait = u64::from(timeout_seconds) * 1000;
        let reply = self
            .peer
            .send(&command(&format!("WAIT FOR DIGIT {wait}"), &[]), self.quick + Duration::from_millis(wait))
            .await?;
        match reply {
            Reply::Success { result: 0, .. } => Ok(Input::NoInput),
            Reply::Success { result, .. } if result > 0 => Ok(key_input(result)),
            _ => Err(Ended::HungUp),
        }
    }

    /// Plays `prompts` in order, each in every language it is spoken in (both, in turn,
    /// before a language is chosen); the key that cut one, if `escape` allows keys.
    async fn prompts(&mut self, spoken: Spoken, prompts: &[&PromptKey], escape: &str) -> Result<Option<Input>, Ended> {
        // Collected first: the iterator's closures held across the awaits below would keep
        // the conversation's future from being `Send`.
        let recordings: Vec<(Language, &PromptKey)> = spoken.recordings(prompts.iter().copied()).collect();
        for (language, key) in recordings {
            let url = self.prompt_url(language, key);
            match self.peer.send(&command("STREAM FILE", &[&url, escape]), LONGEST_PROMPT + self.quick).await? {
                Reply::Success { result: 0, .. } => {}
                Reply::Success { result, .. } if result > 0 => return Ok(Some(key_input(result))),
                Reply::Success { .. } => self.still_there(key).await?,
                Reply::Refused(_) => return Err(Ended::HungUp),
            }
        }
        Ok(None)
    }

    /// `STREAM FILE` answers -1 both when the caller hung up and when the prompt could not
    /// be fetched or opened: the channel's status tells which.
    async fn still_there(&mut self, key: &PromptKey) -> Result<(), Ended> {
        if self.peer.hung_up {
            return Err(Ended::HungUp);
        }
        match self.quick_command("CHANNEL STATUS", &[]).await? {
            Reply::Success { result, .. } if result >= 0 => {
                tracing::warn!(%key, "Asterisk could not play a prompt (is the media cache path short enough? asterisk#444)");
                Ok(())
            }
            _ => Err(Ended::HungUp),
        }
    }

    /// Runs `Dial` (or reports a failed transfer when nobody can be dialled) and reads how
    /// it ended; what that says of the operators it rang (`ringing`) is reported, whether the
    /// caller is still there or not.
    async fn transfer(
        &mut self,
        argument: Option<String>,
        rung: Option<(&Ringing, &[Callee])>,
    ) -> Result<Input, Ended> {
        let Some(argument) = argument else {
            return Ok(Input::DialEnded { outcome: crate::flow::DialOutcome::Failed, talked_seconds: None });
        };
        let reply = self.peer.send(&command("EXEC Dial", &[&argument]), LONGEST_TRANSFER).await?;
        let input = self.dial_ended().await?;
        if let (Input::DialEnded { outcome, .. }, Some((ringing, callees))) = (input, rung) {
            // Who answered is known only now, the call over (the whisper runs in the
            // dialplan): the one operator rung, or the one `Dial` says answered.
            let answered_by = match ringing.operators[..] {
                _ if outcome != DialOutcome::Completed => None,
                [only] => Some(only),
                _ => self
                    .variable("DIALEDPEERNUMBER")
                    .await?
                    .and_then(|peer| dial::answered_by(&self.app.settings.asterisk, callees, &peer)),
            };
            Line::on_asterisk(self.app).dial_returned(Some(ringing), outcome, answered_by);
        }
        if matches!(reply, Reply::Success { result: -1, .. }) || self.peer.hung_up {
            // The caller hung up during the transfer: its outcome is recorded, then the end.
            let line = Line::on_asterisk(self.app);
            if let Some(state) = self.state {
                let _ = line.answer(state, input).await;
            }
            return Err(Ended::HungUp);
        }
        Ok(input)
    }

    /// How the last `Dial` ended, from the channel's variables (readable on a dead channel).
    async fn dial_ended(&mut self) -> Result<Input, Ended> {
        let status = self.variable("DIALSTATUS").await?;
        let talked = self.variable("ANSWEREDTIME").await?.and_then(|s| s.trim().parse().ok());
        if status.is_some() {
            // Read once: a call handed back later while waiting in the queue finds no dial.
            self.quick_command("SET VARIABLE", &["DIALSTATUS", ""]).await?;
        }
        Ok(Input::DialEnded { outcome: dial::outcome(status.as_deref()), talked_seconds: talked })
    }

    /// Whether the channel dialled since the last dial's end was read.
    async fn dialled(&mut self) -> Result<bool, Ended> {
        Ok(self.variable("DIALSTATUS").await?.is_some_and(|status| !status.trim().is_empty()))
    }

    async fn variable(&mut self, name: &str) -> Result<Option<String>, Ended> {
        match self.quick_command("GET VARIABLE", &[name]).await? {
            Reply::Success { result: 1, data } => Ok(data),
            _ => Ok(None),
        }
    }

    async fn save_state(&mut self, state: &CallState) -> Result<(), Ended> {
        let mut token = String::with_capacity(96);
        state_token::encode(&self.app.flow, state, &mut token);
        match self.quick_command("SET VARIABLE", &[STATE_VARIABLE, &token]).await? {
            Reply::Success { .. } => Ok(()),
            Reply::Refused(_) => Err(Ended::HungUp),
        }
    }

    async fn quick_command(&mut self, words: &str, args: &[&str]) -> Result<Reply, Ended> {
        self.peer.send(&command(words, args), self.quick).await
    }

    /// The whisper's prompt URLs, in each language the operators rung hear, in order rung.
    fn whisper(&self, turn: &Turn<'_>) -> Vec<String> {
        let mut languages: Vec<Language> = Vec::new();
        for callee in &turn.callees {
            if !languages.contains(&callee.whisper) {
                languages.push(callee.whisper);
            }
        }
        languages
            .into_iter()
            .flat_map(|listener| {
                let whisper = crate::call::WhisperFor { caller: turn.step.next, listener, answering: None };
                let (language, keys) = crate::call::whisper(&self.app.flow, &whisper);
                keys.iter().map(|key| self.prompt_url(language, key)).collect::<Vec<_>>()
            })
            .collect()
    }

    fn prompt_url(&self, language: Language, key: &PromptKey) -> String {
        format!("{}/prompts/{language}/{key}.wav", self.app.settings.public_url)
    }

    /// Records a hang-up; anything else is left to the dialplan's failover, said once.
    async fn finish(self, ended: Ended) {
        match ended {
            Ended::HungUp => {
                if let Some(state) = self.state {
                    Line::on_asterisk(self.app).ended(&state);
                }
            }
            Ended::Broken(broken) => {
                tracing::warn!(%broken, "FastAGI conversation ended; the dialplan's fallback takes the call")
            }
            Ended::Silent => tracing::warn!("Asterisk stopped answering; the FastAGI conversation is closed"),
            Ended::Drained => tracing::info!("drain: a FastAGI conversation is handed back to the dialplan"),
        }
        self.peer.close().await;
    }
}

/// A key's ASCII code, as `STREAM FILE` and `WAIT FOR DIGIT` report it.
fn key_input(code: i64) -> Input {
    let key = u8::try_from(code).ok().map(char::from).map(String::from);
    Input::keys(key.as_deref())
}
