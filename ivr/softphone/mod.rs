//! The platform's side of every dialect: the webhooks a telephony platform sends and how it
//! reads the documents this service answers, and Asterisk's side of a FastAGI conversation
//! (`asterisk`). Tests and `ivr simulate` drive a call with it the same way whatever the
//! dialect: what the platform is asked to do next is a [`Reply`] in each, so one whole-call
//! test runs against TwiML, jambonz and Asterisk alike.

pub mod asterisk;
pub mod jambonz;
pub mod twiml;

use serde_json::json;

use crate::telephony::jambonz::signature as jambonz_signature;
use crate::telephony::twiml::signature as twilio_signature;

/// The platforms this service speaks to.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum Dialect {
    /// TwiML (Twilio, SignalWire, Telnyx): form webhooks, XML documents.
    Twiml,
    /// jambonz: JSON webhooks, JSON arrays of verbs.
    Jambonz,
    /// Asterisk over FastAGI: one TCP connection per call, one command at a time.
    Asterisk,
}

/// The dialects whose platform calls webhooks and reads documents: what only they have
/// (hook URLs, signatures, documents) is theirs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum WebhookDialect {
    /// TwiML: form webhooks, XML documents.
    Twiml,
    /// jambonz: JSON webhooks, JSON arrays of verbs.
    Jambonz,
}

impl From<WebhookDialect> for Dialect {
    fn from(dialect: WebhookDialect) -> Dialect {
        match dialect {
            WebhookDialect::Twiml => Dialect::Twiml,
            WebhookDialect::Jambonz => Dialect::Jambonz,
        }
    }
}

/// What the service asks the platform to do next: a document's verbs, or the AGI commands
/// up to the next decision. The webhook dialects report what happened to the hook URL in
/// `action` (or `no_input`); Asterisk reports it over the same connection, and both hold
/// the state token it saved in `IVR_STATE`, the state the call goes on from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Reply {
    /// Play the prompts while listening for a key; report the key to `action`, or report
    /// silence to `no_input` after `timeout_seconds` (jambonz: the same hook, `reason: timeout`).
    Gather {
        /// The prompt URLs played, in order.
        prompts: Vec<String>,
        /// Where the key pressed is reported.
        action: String,
        /// Where silence is reported.
        no_input: String,
        /// How long silence lasts before it is reported.
        timeout_seconds: u32,
    },
    /// Play the prompts, ring the targets, then report the outcome to `action`.
    Dial {
        /// The prompt URLs played before ringing.
        prompts: Vec<String>,
        /// Who is rung, all at once.
        targets: Vec<Target>,
        /// Where the outcome is reported.
        action: String,
        /// How long they ring before the dial gives up.
        ring_seconds: u32,
    },
    /// Play the prompts and end the call.
    Hangup {
        /// The prompt URLs played before hanging up.
        prompts: Vec<String>,
    },
    /// Nothing to do (a status callback's answer).
    Empty,
}

/// One party a dial rings, with the URL whose document is played to them on answer.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Target {
    /// The number or SIP address rung.
    pub address: String,
    /// What they hear on answer, before the caller is connected, if anything.
    pub whisper: Option<Whisper>,
}

/// How a party who answers is told about the caller.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Whisper {
    /// The URL whose document (prompts only) the platform fetches and plays: the webhook
    /// dialects.
    Hook(String),
    /// These prompt URLs, played by the dialplan's whisper subroutine: Asterisk.
    Prompts(Vec<String>),
}

impl Reply {
    /// The prompt URLs the caller hears, in order.
    pub fn prompts(&self) -> &[String] {
        match self {
            Reply::Gather { prompts, .. } | Reply::Dial { prompts, .. } | Reply::Hangup { prompts } => prompts,
            Reply::Empty => &[],
        }
    }
}

/// What the platform reports to a webhook.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Event<'a> {
    /// A new call (the application's call webhook).
    Incoming,
    /// The caller pressed these keys during a gather.
    Pressed(&'a str),
    /// The gather timed out with nothing pressed.
    Silence,
    /// A dial ended with this call status (`completed`, `busy`, `no-answer`, `failed`, …).
    DialEnded(&'a str),
    /// An operator answered: the platform fetches the whisper.
    Answered,
    /// The call status webhook, with this status, of a call that lasted [`CALL_SECONDS`].
    Status(&'a str),
    /// The call status webhook, with this status, of a call that lasted these seconds.
    StatusAfter(&'a str, u32),
}

/// How long a call lasted by its status webhook ([`Event::Status`]): past every guidance
/// part of the bundled prompts, so a call that entered one heard it.
pub const CALL_SECONDS: u32 = 42;

impl<'a> Event<'a> {
    /// A status webhook's call status and the seconds the call lasted; `None` for any other.
    fn call_status(self) -> Option<(&'a str, u32)> {
        match self {
            Event::Status(status) => Some((status, CALL_SECONDS)),
            Event::StatusAfter(status, seconds) => Some((status, seconds)),
            _ => None,
        }
    }
}

/// The caller's identifiers, sent with every webhook: what the service must never keep.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Caller {
    /// The caller's phone number.
    pub number: String,
    /// The platform's id of the call.
    pub call_sid: String,
}

/// One HTTP request from the platform, signed when a secret is given.
#[derive(Clone, Debug)]
pub struct Webhook {
    /// The absolute URL, under the service's public URL.
    pub url: String,
    /// The body's media type: a form (TwiML) or JSON (jambonz).
    pub content_type: &'static str,
    /// The request body.
    pub body: String,
    /// The signature header's name and value.
    pub signature: Option<(&'static str, String)>,
}

impl Dialect {
    /// Every dialect, to run a test in each.
    pub const ALL: [Dialect; 3] = [Dialect::Twiml, Dialect::Jambonz, Dialect::Asterisk];

    /// The webhook dialect this is; `None` for Asterisk, which calls no webhooks.
    pub fn webhooks(self) -> Option<WebhookDialect> {
        match self {
            Dialect::Twiml => Some(WebhookDialect::Twiml),
            Dialect::Jambonz => Some(WebhookDialect::Jambonz),
            Dialect::Asterisk => None,
        }
    }

    /// How this dialect's platform reports a dial that ended as TwiML's `DialCallStatus`
    /// `status` says (`completed`, `busy`, `no-answer`, `failed`, `canceled`): jambonz in
    /// the same words, Asterisk in its `DIALSTATUS`. Any other word is taken as the
    /// platform's own and passes unchanged (an Asterisk `CONGESTION`, nothing at all).
    pub fn dial_status(self, status: &str) -> &str {
        match (self, status) {
            (Dialect::Asterisk, "completed") => "ANSWER",
            (Dialect::Asterisk, "busy") => "BUSY",
            (Dialect::Asterisk, "no-answer") => "NOANSWER",
            (Dialect::Asterisk, "failed") => "CHANUNAVAIL",
            (Dialect::Asterisk, "canceled") => "CANCEL",
            _ => status,
        }
    }

    /// Every word this dialect's platform reports a dial nobody answered with, in its own
    /// words, and what else may come instead: nothing at all, or a word of a later version.
    pub fn unanswered_dial_statuses(self) -> &'static [&'static str] {
        match self {
            Dialect::Twiml | Dialect::Jambonz => &["busy", "no-answer", "failed", "canceled", "", "something-new"],
            Dialect::Asterisk => &[
                "BUSY",
                "NOANSWER",
                "CHANUNAVAIL",
                "CONGESTION",
                "CANCEL",
                "DONTCALL",
                "TORTURE",
                "INVALIDARGS",
                "",
                "SOMETHING-NEW",
            ],
        }
    }
}

impl WebhookDialect {
    /// Both webhook dialects.
    pub const ALL: [WebhookDialect; 2] = [WebhookDialect::Twiml, WebhookDialect::Jambonz];

    /// The first segment of the dialect's webhook paths.
    pub fn prefix(self) -> &'static str {
        match self {
            WebhookDialect::Twiml => "twilio",
            WebhookDialect::Jambonz => "jambonz",
        }
    }

    /// The setting holding the secret the platform signs its webhooks with.
    pub fn secret_setting(self) -> &'static str {
        match self {
            WebhookDialect::Twiml => "IVR_TWILIO_AUTH_TOKEN",
            WebhookDialect::Jambonz => "IVR_JAMBONZ_WEBHOOK_SECRET",
        }
    }

    /// The URL the platform calls for a new call.
    pub fn incoming_url(self, public_url: &str) -> String {
        match self {
            WebhookDialect::Twiml => format!("{public_url}/twilio/voice"),
            WebhookDialect::Jambonz => format!("{public_url}/jambonz/call"),
        }
    }

    /// The call status webhook's URL.
    pub fn status_url(self, public_url: &str) -> String {
        format!("{public_url}/{}/status", self.prefix())
    }

    /// The menu a call is on, as if `query` (a state token) had come back in its hook URLs.
    pub fn listening(self, public_url: &str, query: &str) -> Reply {
        let action = format!("{public_url}/{}/gather?{query}", self.prefix());
        let no_input = match self {
            WebhookDialect::Twiml => format!("{public_url}/twilio/no-input?{query}"),
            WebhookDialect::Jambonz => action.clone(),
        };
        Reply::Gather { prompts: Vec::new(), action, no_input, timeout_seconds: 5 }
    }

    /// Reads a document the service answered.
    pub fn parse(self, doc: &str) -> Result<Reply, String> {
        match self {
            WebhookDialect::Twiml => twiml::parse(doc),
            WebhookDialect::Jambonz if doc.is_empty() => Ok(Reply::Empty),
            WebhookDialect::Jambonz => jambonz::parse(doc),
        }
    }

    /// Reads a whisper document: the prompts an operator hears.
    pub fn parse_whisper(self, doc: &str) -> Result<Vec<String>, String> {
        match self {
            WebhookDialect::Twiml => twiml::parse_whisper(doc),
            WebhookDialect::Jambonz => jambonz::parse_whisper(doc),
        }
    }

    /// The request the platform sends to `url` to report `event` on `caller`'s call, signed
    /// with `secret` (the Twilio auth token, or the jambonz webhook secret) when given.
    /// `now` is the unix time jambonz stamps its signature with.
    pub fn webhook(self, url: &str, caller: &Caller, event: Event<'_>, secret: Option<&str>, now: i64) -> Webhook {
        match self {
            WebhookDialect::Twiml => {
                let params = twilio_params(caller, event);
                let body = form_urlencoded::Serializer::new(String::new()).extend_pairs(&params).finish();
                let signature = secret.map(|token| ("x-twilio-signature", twilio_signature::sign(token, url, &params)));
                Webhook { url: url.to_owned(), content_type: "application/x-www-form-urlencoded", body, signature }
            }
            WebhookDialect::Jambonz => {
                let body = jambonz_body(caller, event).to_string();
                let signature =
                    secret.map(|secret| ("jambonz-signature", jambonz_signature::sign(secret, now, body.as_bytes())));
                Webhook { url: url.to_owned(), content_type: "application/json", body, signature }
            }
        }
    }
}

/// The form fields Twilio sends about a call, and those of the event.
pub fn twilio_params(caller: &Caller, event: Event<'_>) -> Vec<(String, String)> {
    let number = caller.number.as_str();
    let status = match (event, event.call_status()) {
        (_, Some((status, _))) => status,
        (Event::Incoming, None) => "ringing",
        _ => "in-progress",
    };
    let lasted = event.call_status().map(|(_, seconds)| seconds.to_string()).unwrap_or_default();
    let mut params = vec![
        ("AccountSid", "AC0123456789abcdef0123456789abcdef"),
        ("CallSid", caller.call_sid.as_str()),
        ("From", number),
        ("Caller", number),
        ("To", "+7111"),
        ("Called", "+7111"),
        ("FromCity", "ALMATY"),
        ("FromState", "ALMATY"),
        ("FromZip", "050000"),
        ("FromCountry", "KZ"),
        ("CallStatus", status),
        ("Direction", "inbound"),
        ("ApiVersion", "2010-04-01"),
    ];
    match event {
        Event::Pressed(digits) => params.extend([("Digits", digits), ("FinishedOnKey", "")]),
        Event::DialEnded(status) => params.extend([("DialCallStatus", status), ("DialCallDuration", "0")]),
        Event::Status(_) | Event::StatusAfter(..) => {
            params.extend([("CallDuration", lasted.as_str()), ("Timestamp", "Sat, 28 Nov 2026 10:00:00 +0000")])
        }
        Event::Incoming | Event::Silence | Event::Answered => {}
    }
    params.into_iter().map(|(n, v)| (n.to_owned(), v.to_owned())).collect()
}

/// The JSON body jambonz sends (its `CallInfo`, snake-cased, plus the event's results), as
/// documented for the call webhook, a gather's and a dial's `actionHook`, a target's
/// `confirmHook` and the call status webhook.
pub fn jambonz_body(caller: &Caller, event: Event<'_>) -> serde_json::Value {
    let (direction, call_status, sip_status, sip_reason) = match (event, event.call_status()) {
        (_, Some((status, _))) => ("inbound", status, 200, "OK"),
        (Event::Incoming, None) => ("inbound", "trying", 100, "Trying"),
        (Event::Answered, None) => ("outbound", "in-progress", 200, "OK"),
        _ => ("inbound", "in-progress", 200, "OK"),
    };
    let mut body = json!({
        "call_sid": caller.call_sid,
        "direction": direction,
        "from": caller.number,
        "to": "111",
        "call_id": format!("{}@203.0.113.7", caller.call_sid),
        "sip_status": sip_status,
        "sip_reason": sip_reason,
        "call_status": call_status,
        "account_sid": "9351f46a-678c-43f5-b8a6-d4eb58d131af",
        "trace_id": "00000000000000000000000000000000",
        "application_sid": "0dddaabf-0a30-43e3-84e8-426873b1a78b",
        "fs_sip_address": "10.0.0.11:5070",
        "originating_sip_ip": "203.0.113.7",
        "originating_sip_trunk_name": "kz-trunk",
    });
    let results = match event {
        Event::Pressed(digits) => json!({"reason": "dtmfDetected", "digits": digits}),
        Event::Silence => json!({"reason": "timeout"}),
        Event::DialEnded(status) => json!({
            "dial_call_status": status,
            "dial_sip_status": dial_sip_status(status),
            "dial_call_sid": "5f0e7d3c-1b2a-4c5d-9e8f-7a6b5c4d3e2f",
        }),
        Event::Answered => {
            json!({"parent_call_sid": caller.call_sid, "call_sid": "5f0e7d3c-1b2a-4c5d-9e8f-7a6b5c4d3e2f"})
        }
        Event::Status(_) | Event::StatusAfter(..) => json!({"duration": event.call_status().map(|(_, s)| s)}),
        Event::Incoming => json!({}),
    };
    if let (Some(body), serde_json::Value::Object(results)) = (body.as_object_mut(), results) {
        body.extend(results);
    }
    body
}

/// The SIP final response jambonz reports beside a dial's status.
fn dial_sip_status(status: &str) -> u16 {
    match status {
        "completed" => 200,
        "busy" => 486,
        "no-answer" => 487,
        _ => 503,
    }
}
