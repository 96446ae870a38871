//! The telephony platform, in-process: POSTs the webhooks of one dialect (TwiML or jambonz)
//! to the real router and follows the documents it answers, read by [`softphone`] as the
//! platform reads them; or, for Asterisk, holds a FastAGI conversation with the real
//! handler (`agi.rs`).
//!
//! Nothing here knows the flow. What the caller hears is whatever `<Play>` URLs the service
//! sends, fetched from the service like a provider fetches them; where they are sent is
//! whatever `<Dial>` rings. A simulator that walked the flow file itself could agree with
//! the file and still disagree with the service.

use std::time::Duration;

use axum::Router;
use axum::body::{Body, Bytes};
use axum::http::{Method, Request, StatusCode, header};
use tower::ServiceExt;

use crate::app::router;
use crate::db::Db;
use crate::flow::{DialOutcome, Digit, Language, PromptKey};
use crate::softphone::{self, Caller, Dialect, Event, Reply, WebhookDialect};
use crate::state::{AppState, Loaded};
use crate::stats::{StatsTasks, WriterConfig};

use super::agi::AgiLeg;

/// A platform's call id; the service must never keep or log it.
const CALL_SID: &str = "CA5111111111111111111111111111111";

/// What the service did that a platform could not follow: a bug the simulator shows.
#[derive(Debug, thiserror::Error)]
pub enum LineError {
    /// A webhook was not answered with 200.
    #[error("the service answered {status} to {path}: {body}")]
    Refused {
        /// The webhook's path.
        path: String,
        /// The status answered.
        status: StatusCode,
        /// The body answered.
        body: String,
    },
    /// A document the platform cannot read.
    #[error("the service sent a document the platform cannot follow ({problem}): {document}")]
    Document {
        /// What is wrong with it.
        problem: String,
        /// The document.
        document: String,
    },
    /// A URL that does not lead back to the service.
    #[error("the service sent a URL outside {public_url}: {url}")]
    Elsewhere {
        /// The service's public URL.
        public_url: String,
        /// The URL sent.
        url: String,
    },
    /// A URL that cannot be requested.
    #[error("the service sent a URL no request can be made to: {0}")]
    BadUrl(String),
    /// A prompt URL that names no recording.
    #[error("the service sent a prompt URL that is not one of its recordings: {0}")]
    UnknownPrompt(String),
    /// An action the current turn does not allow (what, and why).
    #[error("{0} is not possible now: {1}")]
    NotNow(&'static str, &'static str),
}

/// One recording the caller hears, as fetched from the service.
#[derive(Clone, Debug)]
pub struct Heard {
    /// The language it is in.
    pub language: Language,
    /// Which prompt.
    pub key: PromptKey,
    /// Its words.
    pub transcript: String,
    /// How long it plays.
    pub duration: Duration,
    /// The WAV bytes, to play.
    pub wav: Bytes,
}

/// Who a `<Dial>` rings.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Callee {
    /// The configured emergency number.
    Police(String),
    /// Operators, all at once (their addresses).
    Operators(Vec<String>),
}

/// What the caller goes through next.
#[derive(Clone, Debug)]
pub enum Turn {
    /// The prompts play while the line listens for one key; after `timeout_seconds` of
    /// silence once they end, the provider reports no input.
    Listen {
        /// What plays.
        prompts: Vec<Heard>,
        /// Seconds of silence before no input is reported.
        timeout_seconds: u32,
    },
    /// The prompts play, then `callee` rings for up to `ring_seconds`.
    Ring {
        /// What plays before ringing.
        prompts: Vec<Heard>,
        /// Who is rung.
        callee: Callee,
        /// How long they ring.
        ring_seconds: u32,
    },
    /// The prompts play and the call ends.
    End {
        /// What plays before the call ends.
        prompts: Vec<Heard>,
    },
}

impl Turn {
    /// What plays in this turn, in order.
    pub fn prompts(&self) -> &[Heard] {
        match self {
            Turn::Listen { prompts, .. } | Turn::Ring { prompts, .. } | Turn::End { prompts } => prompts,
        }
    }
}

/// The service, reached in-process as a provider reaches it over HTTP (or Asterisk over FastAGI).
pub struct Line {
    router: Router,
    app: AppState,
    dialect: Dialect,
    /// Keeps the scratch statistics' tasks (the writer among them) running while the line is up.
    _stats: StatsTasks,
}

/// One call on the line: what the service last asked the platform to do (a TwiML or jambonz
/// document, or an Asterisk turn), and the FastAGI call when it is on Asterisk.
pub struct Call<'l> {
    line: &'l Line,
    reply: Reply,
    agi: Option<AgiLeg>,
}

impl Line {
    /// The whole service on `loaded`, called in `dialect`. Its statistics are recorded as
    /// they would be, into a scratch in-memory database that goes with the line, since
    /// simulated calls are not calls; its spool folder is a fresh one, never the service's.
    /// Call it within a Tokio runtime (it starts the statistics writer).
    pub fn new(loaded: Loaded, dialect: Dialect) -> Line {
        #[allow(clippy::expect_used, reason = "a literal SQLite URL: it always parses")]
        let db = Db::connect_lazy("sqlite::memory:").expect("an in-memory SQLite URL");
        let scratch =
            std::env::temp_dir().join(format!("ivr-simulate-{}-{:x}", std::process::id(), rand::random::<u64>()));
        let config = WriterConfig::from_settings(&loaded.settings);
        let (stats, stats_tasks) = crate::stats::start_with(config, db.clone(), loaded.settings.stats_queue, &scratch);
        let app = AppState::start(loaded, db, stats);
        Line { router: router(app.clone()), app, dialect, _stats: stats_tasks }
    }

    /// The service's settings, flow and prompts.
    pub fn app(&self) -> &Loaded {
        self.app.loaded()
    }

    /// A new incoming call, and what the caller hears first.
    pub async fn call(&self) -> Result<(Call<'_>, Turn), LineError> {
        let Some(hooks) = self.dialect.webhooks() else {
            let (agi, reply) = AgiLeg::start(&self.app).await?;
            let call = Call { line: self, reply, agi: Some(agi) };
            let turn = call.turn().await?;
            return Ok((call, turn));
        };
        let url = hooks.incoming_url(&self.app.settings.public_url);
        let mut call = Call { line: self, reply: Reply::Empty, agi: None };
        let turn = call.post(&url, Event::Incoming).await?;
        Ok((call, turn))
    }

    /// The number or address an Asterisk dial string rings, as the settings name it.
    fn address(&self, dial: &str) -> String {
        let template = self.app.settings.asterisk.dial.as_ref();
        template.and_then(|t| t.address_in(dial)).unwrap_or(dial).to_owned()
    }

    async fn send(&self, request: Request<Body>) -> Result<Bytes, LineError> {
        let path = request.uri().to_string();
        let response = self.router.clone().oneshot(request).await.unwrap_or_else(|never| match never {});
        let status = response.status();
        let body = axum::body::to_bytes(response.into_body(), usize::MAX).await.unwrap_or_default();
        if status != StatusCode::OK {
            return Err(LineError::Refused { path, status, body: String::from_utf8_lossy(&body).into_owned() });
        }
        Ok(body)
    }

    /// The path and query of one of the service's own absolute URLs.
    fn local<'u>(&self, url: &'u str) -> Result<&'u str, LineError> {
        let public_url = &self.app.settings.public_url;
        url.strip_prefix(public_url.as_str())
            .filter(|rest| rest.starts_with('/'))
            .ok_or_else(|| LineError::Elsewhere { public_url: public_url.clone(), url: url.to_owned() })
    }

    /// Fetches one `<Play>` URL and finds its transcript.
    async fn fetch(&self, url: &str) -> Result<Heard, LineError> {
        let path = self.local(url)?;
        let unknown = || LineError::UnknownPrompt(url.to_owned());
        let (language, file) = path.strip_prefix("/prompts/").and_then(|p| p.split_once('/')).ok_or_else(unknown)?;
        let language = Language::from_code(language).ok_or_else(unknown)?;
        let key = file.strip_suffix(".wav").and_then(PromptKey::parse).ok_or_else(unknown)?;
        let prompt = self.app.prompts.get(language, &key).ok_or_else(unknown)?;
        let request = Request::get(path).body(Body::empty()).map_err(|_| LineError::BadUrl(url.to_owned()))?;
        let wav = self.send(request).await?;
        Ok(Heard { language, key, transcript: prompt.transcript.clone(), duration: prompt.duration, wav })
    }

    fn callee(&self, targets: &[softphone::Target]) -> Callee {
        let emergency = self.app.settings.emergency_number.as_str();
        let address = |target: &softphone::Target| match self.dialect {
            Dialect::Asterisk => self.address(&target.address),
            Dialect::Twiml | Dialect::Jambonz => target.address.clone(),
        };
        let addresses: Vec<String> = targets.iter().map(address).collect();
        match addresses.as_slice() {
            [only] if only == emergency => Callee::Police(only.clone()),
            _ => Callee::Operators(addresses),
        }
    }
}

impl Call<'_> {
    /// The caller presses `key` while the prompts play or the line listens.
    pub async fn press(&mut self, key: Digit) -> Result<Turn, LineError> {
        if let Some(agi) = &mut self.agi {
            self.reply = agi.press(key).await?;
            return self.turn().await;
        }
        let Reply::Gather { action, .. } = &self.reply else {
            return Err(LineError::NotNow("pressing a key", self.situation()));
        };
        let action = action.clone();
        self.post(&action, Event::Pressed(&key.to_string())).await
    }

    /// The caller says nothing until the line stops listening.
    pub async fn stay_silent(&mut self) -> Result<Turn, LineError> {
        if let Some(agi) = &mut self.agi {
            self.reply = agi.stay_silent().await?;
            return self.turn().await;
        }
        let Reply::Gather { no_input, .. } = &self.reply else {
            return Err(LineError::NotNow("staying silent", self.situation()));
        };
        let no_input = no_input.clone();
        self.post(&no_input, Event::Silence).await
    }

    /// The transfer being rung ends with `outcome`.
    pub async fn dial_ends(&mut self, outcome: DialOutcome) -> Result<Turn, LineError> {
        if let Some(agi) = &mut self.agi {
            self.reply = agi.dial_ends(dial_call_status(outcome)).await?;
            return self.turn().await;
        }
        let Reply::Dial { action, .. } = &self.reply else {
            return Err(LineError::NotNow("ending a transfer", self.situation()));
        };
        let action = action.clone();
        self.post(&action, Event::DialEnded(dial_call_status(outcome))).await
    }

    fn situation(&self) -> &'static str {
        match self.reply {
            Reply::Gather { .. } => "the line is listening for a key",
            Reply::Dial { .. } => "the call is being transferred",
            Reply::Hangup { .. } | Reply::Empty => "the call has ended",
        }
    }

    /// POSTs a webhook as the platform does, signed when the service checks signatures.
    async fn post(&mut self, url: &str, event: Event<'_>) -> Result<Turn, LineError> {
        let line = self.line;
        let settings = &line.app.settings;
        let dialect = line.dialect.webhooks().ok_or(LineError::NotNow("a webhook", "the call is on Asterisk"))?;
        let secret = match dialect {
            WebhookDialect::Twiml => settings.twilio_auth_token.as_deref(),
            WebhookDialect::Jambonz => settings.jambonz_webhook_secret.as_deref(),
        };
        let caller = Caller { number: "anonymous".to_owned(), call_sid: CALL_SID.to_owned() };
        let hook = dialect.webhook(url, &caller, event, secret, chrono::Utc::now().timestamp());
        let mut request = Request::builder()
            .method(Method::POST)
            .uri(line.local(url)?)
            .header(header::CONTENT_TYPE, hook.content_type);
        if let Some((name, value)) = hook.signature {
            request = request.header(name, value);
        }
        let request = request.body(Body::from(hook.body)).map_err(|_| LineError::BadUrl(url.to_owned()))?;
        let document = line.send(request).await?;
        let document = String::from_utf8_lossy(&document).into_owned();
        self.reply = dialect.parse(&document).map_err(|problem| LineError::Document { problem, document })?;
        self.turn().await
    }

    async fn turn(&self) -> Result<Turn, LineError> {
        let mut prompts = Vec::with_capacity(self.reply.prompts().len());
        for url in self.reply.prompts() {
            prompts.push(self.line.fetch(url).await?);
        }
        Ok(match &self.reply {
            Reply::Gather { timeout_seconds, .. } => Turn::Listen { prompts, timeout_seconds: *timeout_seconds },
            Reply::Dial { targets, ring_seconds, .. } => {
                Turn::Ring { prompts, callee: self.line.callee(targets), ring_seconds: *ring_seconds }
            }
            Reply::Hangup { .. } | Reply::Empty => Turn::End { prompts },
        })
    }
}

/// The `DialCallStatus` a provider reports for each outcome (TwiML's words, which
/// [`Dialect::dial_status`] says in each dialect's).
fn dial_call_status(outcome: DialOutcome) -> &'static str {
    match outcome {
        DialOutcome::Completed => "completed",
        DialOutcome::Busy => "busy",
        DialOutcome::NoAnswer => "no-answer",
        DialOutcome::Failed => "failed",
    }
}
