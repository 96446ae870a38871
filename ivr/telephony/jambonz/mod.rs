//! The jambonz dialect: the self-hostable voice platform a hotline in Kazakhstan runs on
//! its own SIP trunk. jambonz POSTs JSON webhooks (`call_sid`, `from`, `to`, `direction`,
//! `call_status`, …) and expects a JSON array of verbs back (`verbs.rs`).
//!
//! The application's call webhook is `POST /jambonz/call` and its call status webhook
//! `POST /jambonz/status`; every other hook is one the documents name: `/jambonz/gather`
//! (a key or a timeout), `/jambonz/dial` (a transfer ended: `dial_call_status`) and
//! `/jambonz/whisper` (an operator's `confirmHook`). Like the TwiML webhooks, each one only
//! checks the signature, parses the body into an [`Input`] and the state in its query, and
//! renders the call core's [`Turn`]. Only requests that cannot be from jambonz are refused:
//! a bad signature (403), a body that is not a JSON object (400), over 64 KiB (413). No
//! body field is ever logged; spans carry our random call id.

mod body;
pub mod signature;
pub mod verbs;
mod words;

use axum::Router;
use axum::extract::{FromRequest, Request, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use tracing::instrument;

use crate::call::{Input, Line, Turn};
use crate::error::Error;
use crate::state::AppState;

use super::{read_body, state_token};
use body::{Field, Fields};
use verbs::{DIAL_PATH, GATHER_PATH, Jambonz, WHISPER_PATH};
use words::WORDS;

/// The application's call webhook and call status webhook, as configured in jambonz.
pub const CALL_PATH: &str = "/jambonz/call";
/// Where jambonz reports a call's status changes (its `call_status_hook`).
pub const STATUS_PATH: &str = "/jambonz/status";

/// The jambonz webhooks: the call hook, keys, dial outcomes, whispers and status.
pub fn router() -> Router<AppState> {
    Router::new()
        .route(CALL_PATH, post(incoming_call))
        .route(GATHER_PATH, post(gathered))
        .route(DIAL_PATH, post(dial_ended))
        .route(WHISPER_PATH, post(whisper))
        .route(STATUS_PATH, post(call_status))
}

/// A verified jambonz request: the fields of its JSON object the service reads, and the
/// query of the hook URL it called.
pub struct Hook {
    body: Fields,
    query: String,
}

impl Hook {
    /// The keys a gather collected: `reason` `dtmfDetected` with `digits`, or `timeout`.
    /// Anything else (another reason, `digits` that are not a string) is a wrong key.
    fn keys(&self) -> Input {
        match self.body.reason.text() {
            Some("timeout") => Input::NoInput,
            Some("dtmfDetected") if matches!(self.body.digits, Field::Absent | Field::Text(_)) => {
                Input::keys(self.body.digits.text())
            }
            _ => Input::UnknownKey,
        }
    }
}

impl FromRequest<AppState> for Hook {
    type Rejection = Error;

    async fn from_request(request: Request, _app: &AppState) -> Result<Hook, Error> {
        let (parts, body) = request.into_parts();
        let bytes =
            read_body(&parts.headers, body, "application/json", "expected a JSON body (application/json)").await?;
        if let Some(check) = &super::signature_checks(&parts)?.jambonz {
            let header = parts.headers.get("jambonz-signature").and_then(|v| v.to_str().ok());
            if let Err(refusal) = check.verify(header, &bytes, chrono::Utc::now().timestamp()) {
                tracing::warn!(path = parts.uri.path(), %refusal, "refused a jambonz webhook");
                return Err(Error::BadSignature);
            }
        }
        let Ok(body) = serde_json::from_slice::<Fields>(&bytes) else {
            return Err(Error::BadRequest("expected a JSON object"));
        };
        Ok(Hook { body, query: parts.uri.query().unwrap_or("").to_owned() })
    }
}

#[instrument(name = "incoming_call", skip_all, fields(call, dialect = "jambonz"))]
async fn incoming_call(State(app): State<AppState>, hook: Hook) -> Response {
    let turn = Line::new(&app).incoming("jambonz", hook.body.call_sid.text(), hook.body.from.text());
    respond(&app, &turn)
}

#[instrument(name = "key_pressed", skip_all, fields(call, dialect = "jambonz"))]
async fn gathered(State(app): State<AppState>, hook: Hook) -> Response {
    advance(&app, &hook, hook.keys()).await
}

/// A transfer ended: how, by its `dial_call_status` ([`WORDS`]). jambonz reports no talk
/// time for the dialled leg, so an answered operator's seconds to answer are not measured
/// on this dialect. The operators it rang are told how it ended.
#[instrument(name = "dial_ended", skip_all, fields(call, dialect = "jambonz"))]
async fn dial_ended(State(app): State<AppState>, hook: Hook) -> Response {
    let outcome = WORDS.dial_outcome(hook.body.dial_call_status.text());
    Line::new(&app).transfer_ended(state_token::decode_ringing(&hook.query).as_ref(), outcome);
    advance(&app, &hook, Input::DialEnded { outcome, talked_seconds: None }).await
}

/// The operator's `confirmHook` (they answered: on a call from now): what the caller heard,
/// never who they are.
#[instrument(name = "whisper", skip_all, fields(call, dialect = "jambonz"))]
async fn whisper(State(app): State<AppState>, hook: Hook) -> Response {
    let (language, keys) = Line::new(&app).whisper(&state_token::decode_whisper(&app.flow, &hook.query)).await;
    json(jambonz(&app).whisper(language, &keys))
}

/// The call status webhook: nothing for the caller to hear. A status that is an end
/// ([`WORDS`]) is recorded; any other (trying, ringing, in progress) is only answered.
#[instrument(name = "call_status", skip_all, fields(dialect = "jambonz"))]
async fn call_status(State(app): State<AppState>, hook: Hook) -> Response {
    let body = &hook.body;
    if let Some(end) = WORDS.call_end(body.call_status.text()) {
        Line::new(&app).status(body.call_sid.text(), end, body.duration.seconds());
    }
    StatusCode::NO_CONTENT.into_response()
}

async fn advance(app: &AppState, hook: &Hook, input: Input) -> Response {
    let turn = Line::new(app).answer(state_token::decode(&app.flow, &hook.query), input).await;
    respond(app, &turn)
}

fn respond(app: &AppState, turn: &Turn<'_>) -> Response {
    json(jambonz(app).render(&app.flow, turn))
}

fn jambonz(app: &AppState) -> Jambonz<'_> {
    Jambonz { public_url: &app.settings.public_url, emergency: &app.settings.emergency_number }
}

fn json(body: String) -> Response {
    (StatusCode::OK, [(header::CONTENT_TYPE, HeaderValue::from_static("application/json"))], body).into_response()
}
