//! Asterisk's side of a FastAGI conversation, in process: the environment it sends, the
//! replies it gives each command, the `HANGUP` it writes when the caller hangs up. Tests
//! and `ivr simulate --dialect asterisk` drive a call through the real FastAGI handler
//! with it, over TCP or an in-memory pipe.
//!
//! [`AgiCall`] answers the commands that need no decision at once (`ANSWER`, `SET
//! VARIABLE`, `GET VARIABLE`, `CHANNEL STATUS`, a prompt played without escape digits) and
//! stops where a caller or the far end decides: a menu prompt a key may cut, the wait for a
//! key, a `Dial`, the service's `HANGUP`, or the connection's end. [`AgiCall::turn`] says
//! where the call stands as the webhook dialects' platforms read a document: a [`Reply`].

use std::collections::HashMap;

use tokio::io::{AsyncBufReadExt, AsyncRead, AsyncWrite, AsyncWriteExt, BufReader, ReadHalf, WriteHalf};

use super::{Reply, Target, Whisper};

/// Where the conversation waits for the caller or the far end.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum At {
    /// A menu prompt is playing; any key cuts it.
    Prompt(String),
    /// `WAIT FOR DIGIT` for this many milliseconds.
    WaitForDigit(u64),
    /// `EXEC Dial` with this argument.
    Dial(String),
    /// The service asked Asterisk to hang up.
    HungUp,
    /// The service closed the connection.
    Closed,
}

/// The caller's identifiers Asterisk puts in the environment: what the service must never keep.
#[derive(Clone, Debug)]
pub struct Channel {
    /// `agi_callerid`.
    pub callerid: String,
    /// `agi_uniqueid`.
    pub uniqueid: String,
    /// `agi_channel`.
    pub name: String,
    /// `agi_calleridname`.
    pub name_shown: String,
    /// `agi_dnid`: the number dialled.
    pub dnid: String,
    /// `agi_rdnis`: the number that redirected the call.
    pub rdnis: String,
}

impl Channel {
    /// A caller `number` on a channel whose unique id is `uniqueid`.
    pub fn new(number: &str, uniqueid: &str) -> Channel {
        Channel {
            callerid: number.into(),
            uniqueid: uniqueid.into(),
            name: format!("PJSIP/caller-{uniqueid}"),
            name_shown: "Aigerim Serikova".into(),
            dnid: "7111".into(),
            rdnis: "+77019876543".into(),
        }
    }
}

impl Default for Channel {
    fn default() -> Channel {
        Channel::new("+77011234567", "1765100000.42")
    }
}

/// The environment block for `channel`, continuing from `state` when the dialplan re-enters.
pub fn environment(channel: &Channel, state: Option<&str>) -> String {
    let mut text = format!(
        "agi_network: yes\nagi_network_script: hotline\nagi_request: agi://127.0.0.1:4573/hotline\n\
         agi_channel: {}\nagi_language: en\nagi_type: PJSIP\nagi_uniqueid: {}\nagi_version: 22.10.1\n\
         agi_callerid: {}\nagi_calleridname: {}\nagi_callingpres: 0\nagi_callingani2: 0\n\
         agi_callington: 0\nagi_callingtns: 0\nagi_dnid: {}\nagi_rdnis: {}\nagi_context: ivr-111\n\
         agi_extension: s\nagi_priority: 2\nagi_enhanced: 0.0\nagi_accountcode: \nagi_threadid: 140245\n",
        channel.name, channel.uniqueid, channel.callerid, channel.name_shown, channel.dnid, channel.rdnis
    );
    if let Some(state) = state {
        text.push_str(&format!("agi_arg_1: {state}\n"));
    }
    text.push('\n');
    text
}

/// One call as Asterisk holds it.
pub struct AgiCall<S> {
    reader: BufReader<ReadHalf<S>>,
    writer: WriteHalf<S>,
    /// Where the conversation waits now.
    pub at: At,
    /// The URL of every prompt played to the caller so far.
    pub played: Vec<String>,
    /// Where the prompts of the turn in progress start in `played`.
    turn_start: usize,
    /// The channel variables the service set (`IVR_STATE`) and those a `Dial` sets.
    pub variables: HashMap<String, String>,
    /// Every command line the service sent, in order.
    pub commands: Vec<String>,
    dead: bool,
}

impl<S: AsyncRead + AsyncWrite> AgiCall<S> {
    /// Sends `environment` on `stream` and answers until the first decision.
    pub async fn start(stream: S, environment: &str) -> std::io::Result<AgiCall<S>> {
        let (reader, writer) = tokio::io::split(stream);
        let mut call = AgiCall {
            reader: BufReader::new(reader),
            writer,
            at: At::Closed,
            played: Vec::new(),
            turn_start: 0,
            variables: HashMap::new(),
            commands: Vec::new(),
            dead: false,
        };
        call.writer.write_all(environment.as_bytes()).await?;
        call.advance().await?;
        Ok(call)
    }

    /// The state token the service saved in `IVR_STATE`.
    pub fn state(&self) -> Option<&str> {
        self.variables.get("IVR_STATE").map(String::as_str)
    }

    /// Listens to the menu playing to its end, then says where the call stands: waiting
    /// for a key, ringing, or over, with every prompt played since the caller's last action
    /// (the service's whole answer to it).
    pub async fn turn(&mut self) -> std::io::Result<Reply> {
        self.listen().await?;
        let prompts = self.played[self.turn_start..].to_vec();
        let state = self.state().unwrap_or_default().to_owned();
        Ok(match &self.at {
            At::Dial(argument) => {
                let (targets, ring_seconds) = dial(argument);
                Reply::Dial { prompts, targets, action: state, ring_seconds }
            }
            At::HungUp => Reply::Hangup { prompts },
            // The connection closed without the service's `HANGUP` (a drain, a failure).
            At::Closed if prompts.is_empty() => Reply::Empty,
            At::Closed => Reply::Hangup { prompts },
            // Once the menu has played, a call that goes on waits for a key.
            At::WaitForDigit(_) | At::Prompt(_) => {
                let ms = if let At::WaitForDigit(ms) = self.at { ms } else { 0 };
                let timeout_seconds = u32::try_from(ms / 1000).unwrap_or(u32::MAX);
                Reply::Gather { prompts, action: state.clone(), no_input: state, timeout_seconds }
            }
        })
    }

    /// The caller presses `key` during a menu prompt or the wait after it.
    pub async fn press(&mut self, key: char) -> std::io::Result<&mut Self> {
        let code = u32::from(key);
        match self.at.clone() {
            At::Prompt(url) => {
                self.played.push(url);
                self.turn_start = self.played.len();
                self.reply(&format!("200 result={code} endpos=8000")).await?;
            }
            At::WaitForDigit(_) => {
                self.turn_start = self.played.len();
                self.reply(&format!("200 result={code}")).await?;
            }
            other => return Err(std::io::Error::other(format!("a key pressed at {other:?}"))),
        }
        self.advance().await?;
        Ok(self)
    }

    /// The caller listens to the menu's prompts to their end.
    pub async fn listen(&mut self) -> std::io::Result<&mut Self> {
        while let At::Prompt(url) = self.at.clone() {
            self.played.push(url);
            self.reply("200 result=0 endpos=32000").await?;
            self.advance().await?;
        }
        Ok(self)
    }

    /// The caller listens to the menu and presses nothing until its timeout.
    pub async fn wait(&mut self) -> std::io::Result<&mut Self> {
        self.listen().await?;
        if matches!(self.at, At::WaitForDigit(_)) {
            self.turn_start = self.played.len();
            self.reply("200 result=0").await?;
            self.advance().await?;
        }
        Ok(self)
    }

    /// Sets a channel variable as Asterisk would (`DIALEDPEERNUMBER` before a `Dial` ends,
    /// say), for the conversation's `GET VARIABLE`.
    pub fn set_variable(&mut self, name: &str, value: &str) -> &mut Self {
        self.variables.insert(name.into(), value.into());
        self
    }

    /// The `Dial` in progress ends with `status` (`ANSWER`, `BUSY`, …) after
    /// `answered_seconds` of conversation.
    pub async fn dial_ends(&mut self, status: &str, answered_seconds: u32) -> std::io::Result<&mut Self> {
        self.variables.insert("DIALSTATUS".into(), status.into());
        let answered = if status == "ANSWER" { answered_seconds.to_string() } else { String::new() };
        self.variables.insert("ANSWEREDTIME".into(), answered);
        self.turn_start = self.played.len();
        self.reply("200 result=0").await?;
        self.advance().await?;
        Ok(self)
    }

    /// The caller hangs up: `HANGUP`, then -1 for the command in flight, and from then on
    /// only what a dead channel allows.
    pub async fn hang_up(&mut self) -> std::io::Result<&mut Self> {
        self.dead = true;
        self.turn_start = self.played.len();
        self.writer.write_all(b"HANGUP\n").await?;
        if !matches!(self.at, At::Closed | At::HungUp) {
            self.reply("200 result=-1").await?;
            self.advance().await?;
        }
        Ok(self)
    }

    /// Waits, answering nothing more, until the service closes the connection.
    pub async fn until_closed(&mut self) {
        let mut line = String::new();
        while self.reader.read_line(&mut line).await.is_ok_and(|n| n > 0) {
            line.clear();
        }
        self.at = At::Closed;
    }

    /// Answers commands that need no decision until one does.
    async fn advance(&mut self) -> std::io::Result<()> {
        loop {
            let mut line = String::new();
            if self.reader.read_line(&mut line).await? == 0 {
                self.at = At::Closed;
                return Ok(());
            }
            let line = line.trim_end().to_owned();
            self.commands.push(line.clone());
            let (words, args) = split_command(&line);
            match (words.as_str(), self.dead) {
                ("GET VARIABLE", _) => {
                    let value = args.first().and_then(|name| self.variables.get(name)).filter(|v| !v.is_empty());
                    let reply = value.map_or("200 result=0".to_owned(), |v| format!("200 result=1 ({v})"));
                    self.reply(&reply).await?;
                }
                ("HANGUP", _) => {
                    self.reply("200 result=1").await?;
                    self.at = At::HungUp;
                    return Ok(());
                }
                (_, true) => self.reply("511 Command Not Permitted on a dead channel or intercept routine").await?,
                ("ANSWER", _) => self.reply("200 result=0").await?,
                ("CHANNEL STATUS", _) => self.reply("200 result=6").await?,
                ("SET VARIABLE", _) => {
                    if let [name, value] = args.as_slice() {
                        self.variables.insert(name.clone(), value.clone());
                    }
                    self.reply("200 result=1").await?;
                }
                ("STREAM FILE", _) if args.get(1).is_none_or(String::is_empty) => {
                    self.played.push(args.first().cloned().unwrap_or_default());
                    self.reply("200 result=0 endpos=16000").await?;
                }
                ("STREAM FILE", _) => {
                    self.at = At::Prompt(args.first().cloned().unwrap_or_default());
                    return Ok(());
                }
                (words, _) if words.starts_with("WAIT FOR DIGIT") => {
                    self.at = At::WaitForDigit(words.rsplit(' ').next().and_then(|ms| ms.parse().ok()).unwrap_or(0));
                    return Ok(());
                }
                ("EXEC Dial", _) => {
                    self.at = At::Dial(args.first().cloned().unwrap_or_default());
                    return Ok(());
                }
                _ => self.reply("510 Invalid or unknown command").await?,
            }
        }
    }

    async fn reply(&mut self, line: &str) -> std::io::Result<()> {
        self.writer.write_all(format!("{line}\n").as_bytes()).await
    }
}

/// A command line as words (the unquoted ones) and its quoted arguments.
pub fn split_command(line: &str) -> (String, Vec<String>) {
    let (words, rest) = line.split_once(" \"").map_or((line, ""), |(w, r)| (w, r));
    let mut args = Vec::new();
    if !rest.is_empty() {
        let (mut current, mut escaped, mut quoted) = (String::new(), false, true);
        for c in rest.chars() {
            match (c, escaped, quoted) {
                (_, true, _) => {
                    current.push(c);
                    escaped = false;
                }
                ('\\', false, _) => escaped = true,
                ('"', false, true) => {
                    args.push(std::mem::take(&mut current));
                    quoted = false;
                }
                ('"', false, false) => quoted = true,
                (_, false, true) => current.push(c),
                _ => {}
            }
        }
    }
    (words.to_owned(), args)
}

/// `Dial`'s argument (`PJSIP/a&PJSIP/b,30,gU(ivr-111-whisper^url&url)`) as who is rung,
/// each told by the whisper's prompts, and for how long.
fn dial(argument: &str) -> (Vec<Target>, u32) {
    let mut parts = argument.splitn(3, ',');
    let targets = parts.next().unwrap_or("");
    let ring_seconds = parts.next().and_then(|s| s.trim().parse().ok()).unwrap_or(0);
    let options = parts.next().unwrap_or("");
    let whisper = options.split_once("U(").and_then(|(_, rest)| rest.rsplit_once(')')).map(|(inside, _)| {
        let urls = inside.split_once('^').map_or("", |(_, urls)| urls);
        Whisper::Prompts(urls.split('&').map(percent_decode).collect())
    });
    let targets = targets
        .split('&')
        .filter(|t| !t.is_empty())
        .map(|address| Target { address: address.to_owned(), whisper: whisper.clone() })
        .collect();
    (targets, ring_seconds)
}

/// A URL as it was before it went into `Dial(…)`, where what would split it is
/// percent-encoded (`%2C` for `,`).
fn percent_decode(text: &str) -> String {
    let mut out = Vec::with_capacity(text.len());
    let mut bytes = text.bytes();
    while let Some(byte) = bytes.next() {
        let hex = |b: Option<u8>| b.and_then(|b| char::from(b).to_digit(16));
        match byte {
            b'%' => {
                let (high, low) = (bytes.next(), bytes.next());
                match (hex(high), hex(low)) {
                    (Some(h), Some(l)) => out.push(u8::try_from(h * 16 + l).unwrap_or(b'%')),
                    _ => out.extend([Some(b'%'), high, low].into_iter().flatten()),
                }
            }
            byte => out.push(byte),
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}
