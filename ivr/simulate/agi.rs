//! The simulator's Asterisk: the real FastAGI conversation (`telephony::asterisk`) on one
//! end of an in-memory pipe, the in-process Asterisk peer (`softphone::asterisk`) on the
//! other. After each action the peer plays the menu to its end and says where the call
//! stands, as a [`Reply`]: waiting for a key, a `Dial`, or the end.

use tokio::io::DuplexStream;
use tokio::task::JoinHandle;

use crate::flow::Digit;
use crate::softphone::asterisk::{AgiCall, Channel, environment};
use crate::softphone::{Dialect, Reply};
use crate::state::AppState;

use super::line::LineError;

/// One call held over FastAGI.
pub struct AgiLeg {
    call: AgiCall<DuplexStream>,
    /// The service's side of the conversation, ended with the call.
    conversation: JoinHandle<()>,
}

impl AgiLeg {
    /// A new call to `app`, and where it stands first.
    pub async fn start(app: &AppState) -> Result<(AgiLeg, Reply), LineError> {
        let (ours, theirs) = tokio::io::duplex(64 * 1024);
        let app = app.clone();
        let conversation = tokio::spawn(async move { crate::telephony::asterisk::converse(&app, theirs).await });
        let anonymous = Channel::new("anonymous", "simulated.1");
        let call = AgiCall::start(ours, &environment(&anonymous, None)).await.map_err(broken)?;
        let mut leg = AgiLeg { call, conversation };
        let reply = leg.turn().await?;
        Ok((leg, reply))
    }

    /// The caller presses `key` where the line listens.
    pub async fn press(&mut self, key: Digit) -> Result<Reply, LineError> {
        self.call.press(key.as_char()).await.map_err(broken)?;
        self.turn().await
    }

    /// The caller says nothing until the wait for a key ends.
    pub async fn stay_silent(&mut self) -> Result<Reply, LineError> {
        self.call.wait().await.map_err(broken)?;
        self.turn().await
    }

    /// The `Dial` in progress ends with `status` (a TwiML `DialCallStatus` word).
    pub async fn dial_ends(&mut self, status: &str) -> Result<Reply, LineError> {
        self.call.dial_ends(Dialect::Asterisk.dial_status(status), 60).await.map_err(broken)?;
        self.turn().await
    }

    /// Plays the menu's prompts to their end, then says where the call stands.
    async fn turn(&mut self) -> Result<Reply, LineError> {
        let reply = self.call.turn().await.map_err(broken)?;
        if matches!(reply, Reply::Hangup { .. } | Reply::Empty) {
            self.conversation.abort();
        }
        Ok(reply)
    }
}

fn broken(error: std::io::Error) -> LineError {
    LineError::Document { problem: "the FastAGI conversation broke".into(), document: error.to_string() }
}
