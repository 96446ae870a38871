//! The simulator's Asterisk: the real FastAGI conversation (`telephony::asterisk`) on one
//! end of an in-memory pipe, the in-process Asterisk peer (`softphone::asterisk`) on the
//! other. A turn is what the peer heard up to the next decision: the menu's prompts and
//! the wait for a key, a `Dial`, or the end.

use tokio::io::DuplexStream;
use tokio::task::JoinHandle;

use crate::flow::{DialOutcome, Digit};
use crate::softphone::asterisk::{AgiCall, At, Channel, environment};
use crate::state::AppState;

use super::line::LineError;

/// One call held over FastAGI.
pub struct AgiLeg {
    call: AgiCall<DuplexStream>,
    /// The service's side of the conversation, ended with the call.
    conversation: JoinHandle<()>,
}

/// Where an Asterisk call stands after an action, for the line to turn into a [`Turn`](super::Turn).
pub enum Stand {
    /// The menu's prompts (as `lang/key`) played; the line waits this many seconds for a key.
    Listening(Vec<String>, u32),
    /// The prompts played, then `Dial` with this argument.
    Dialling(Vec<String>, String),
    /// The prompts played and the call ended.
    Ended(Vec<String>),
}

impl AgiLeg {
    /// A new call to `app`, and where it stands first.
    pub async fn start(app: &AppState) -> Result<(AgiLeg, Stand), LineError> {
        let (ours, theirs) = tokio::io::duplex(64 * 1024);
        let app = app.clone();
        let conversation = tokio::spawn(async move { crate::telephony::asterisk::converse(&app, theirs).await });
        let anonymous = Channel::new("anonymous", "simulated.1");
        let call = AgiCall::start(ours, &environment(&anonymous, None)).await.map_err(broken)?;
        let mut leg = AgiLeg { call, conversation };
        let stand = leg.stand(0).await?;
        Ok((leg, stand))
    }

    /// The caller presses `key` where the line listens.
    pub async fn press(&mut self, key: Digit) -> Result<Stand, LineError> {
        let from = self.call.heard.len();
        self.call.press(key.as_char()).await.map_err(broken)?;
        self.stand(from).await
    }

    /// The caller says nothing until the wait for a key ends.
    pub async fn stay_silent(&mut self) -> Result<Stand, LineError> {
        let from = self.call.heard.len();
        self.call.wait().await.map_err(broken)?;
        self.stand(from).await
    }

    /// The `Dial` in progress ends with `outcome`.
    pub async fn dial_ends(&mut self, outcome: DialOutcome) -> Result<Stand, LineError> {
        let status = match outcome {
            DialOutcome::Completed => "ANSWER",
            DialOutcome::Busy => "BUSY",
            DialOutcome::NoAnswer => "NOANSWER",
            DialOutcome::Failed => "CHANUNAVAIL",
        };
        let from = self.call.heard.len();
        self.call.dial_ends(status, 60).await.map_err(broken)?;
        self.stand(from).await
    }

    /// Plays the menu's prompts to their end, then says where the call stands.
    async fn stand(&mut self, from: usize) -> Result<Stand, LineError> {
        self.call.listen().await.map_err(broken)?;
        let heard = self.call.heard[from..].to_vec();
        Ok(match self.call.at.clone() {
            At::WaitForDigit(ms) => Stand::Listening(heard, u32::try_from(ms / 1000).unwrap_or(u32::MAX)),
            At::Dial(argument) => Stand::Dialling(heard, argument),
            At::Prompt(_) | At::HungUp | At::Closed => {
                self.conversation.abort();
                Stand::Ended(heard)
            }
        })
    }
}

fn broken(error: std::io::Error) -> LineError {
    LineError::Document { problem: "the FastAGI conversation broke".into(), document: error.to_string() }
}
