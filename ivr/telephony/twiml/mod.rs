//! The TwiML webhooks. Each checks the provider's signature, decodes what it sent into an
//! [`Input`] and the call state, asks the call core ([`Line`]) for the next turn, and
//! answers with it as TwiML.
//!
//! A caller is never answered with an error they cannot recover from: a stale state, an
//! unknown key or a missing field becomes a safe step. Only requests that cannot be from
//! the provider are refused: a bad signature (403), a body that is not a form or repeats a
//! parameter (400), or one over 64 KiB (413). No form field is ever logged; spans carry our random call id.

pub mod signature;
mod verbs;
mod words;

pub use verbs::{Twiml, fallback};

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
use verbs::{DIAL_PATH, GATHER_PATH, NO_INPUT_PATH, WHISPER_PATH};
use words::WORDS;

/// The TwiML webhooks: the incoming call, keys, silence, dial outcomes, whispers and status.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/twilio/voice", post(incoming_call))
        .route(GATHER_PATH, post(key_pressed))
        .route(NO_INPUT_PATH, post(no_input))
        .route(DIAL_PATH, post(dial_ended))
        .route(WHISPER_PATH, post(whisper))
        .route("/twilio/status", post(call_status))
}

/// A verified provider request: its form parameters and the query of the URL it called.
pub struct Webhook {
    params: Vec<(String, String)>,
    query: String,
}

impl Webhook {
    fn param(&self, name: &str) -> Option<&str> {
        self.params.iter().find(|(n, _)| n == name).map(|(_, v)| v.as_str())
    }
}

impl FromRequest<AppState> for Webhook {
    type Rejection = Error;

    async fn from_request(request: Request, _app: &AppState) -> Result<Webhook, Error> {
        let (parts, body) = request.into_parts();
        let form = "application/x-www-form-urlencoded";
        let bytes =
            read_body(&parts.headers, body, form, "expected a form body (application/x-www-form-urlencoded)").await?;
        let params = parse_form(&bytes)?;
        let path_and_query = parts.uri.path_and_query().map_or("/", |p| p.as_str());
        if let Some(check) = &super::signature_checks(&parts)?.twilio {
            let signature = parts.headers.get("x-twilio-signature").and_then(|v| v.to_str().ok());
            if !signature.is_some_and(|s| check.verify(path_and_query, &params, s)) {
                tracing::warn!(path = parts.uri.path(), "refused a webhook: signature missing or invalid");
                return Err(Error::BadSignature);
            }
        }
        Ok(Webhook { params, query: parts.uri.query().unwrap_or("").to_owned() })
    }
}

/// The form's pairs; refused if it is not UTF-8, its percent-encoding is broken, or a name
/// appears twice. A repeated name is never sent by the provider, and its signature cannot
/// tell `Digits=1&Digits=9` from `Digits=9&Digits=1` (it sorts the pairs), so a signed
/// request could be reordered to press another key.
fn parse_form(body: &[u8]) -> Result<Vec<(String, String)>, Error> {
    let text = std::str::from_utf8(body).map_err(|_| Error::BadRequest("malformed form body"))?;
    let mut params: Vec<(String, String)> = Vec::new();
    for (pair, (name, value)) in text.split('&').filter(|p| !p.is_empty()).zip(form_urlencoded::parse(body)) {
        let replaced = name.contains('\u{FFFD}') || value.contains('\u{FFFD}');
        if replaced && !pair.contains('\u{FFFD}') {
            return Err(Error::BadRequest("malformed form body"));
        }
        if params.iter().any(|(seen, _)| *seen == name) {
            return Err(Error::BadRequest("a form parameter is repeated"));
        }
        params.push((name.into_owned(), value.into_owned()));
    }
    Ok(params)
}

#[instrument(name = "incoming_call", skip_all, fields(call))]
async fn incoming_call(State(app): State<AppState>, hook: Webhook) -> Response {
    let turn = Line::new(&app).incoming("twilio", hook.param("CallSid"), hook.param("From"));
    respond(&app, &turn)
}

#[instrument(name = "key_pressed", skip_all, fields(call))]
async fn key_pressed(State(app): State<AppState>, hook: Webhook) -> Response {
    advance(&app, &hook, Input::keys(hook.param("Digits"))).await
}

#[instrument(name = "no_input", skip_all, fields(call))]
async fn no_input(State(app): State<AppState>, hook: Webhook) -> Response {
    advance(&app, &hook, Input::NoInput).await
}

/// A transfer ended: how, by its `DialCallStatus` ([`WORDS`]), and how long an answered
/// one talked (`DialCallDuration`); the operators it rang are told.
#[instrument(name = "dial_ended", skip_all, fields(call))]
async fn dial_ended(State(app): State<AppState>, hook: Webhook) -> Response {
    let talked = hook.param("DialCallDuration").and_then(|d| d.trim().parse::<u32>().ok());
    let outcome = WORDS.dial_outcome(hook.param("DialCallStatus"));
    Line::new(&app).transfer_ended(state_token::decode_ringing(&hook.query).as_ref(), outcome);
    advance(&app, &hook, Input::DialEnded { outcome, talked_seconds: talked }).await
}

/// Played to the operator who answers (who is on a call from now): what the caller heard,
/// never who they are.
#[instrument(name = "whisper", skip_all, fields(call))]
async fn whisper(State(app): State<AppState>, hook: Webhook) -> Response {
    let (language, keys) = Line::new(&app).whisper(&state_token::decode_whisper(&app.flow, &hook.query)).await;
    xml(twiml(&app).whisper(language, &keys.iter().collect::<Vec<_>>()))
}

/// The provider's call status callback: nothing for the caller to hear. A status that is
/// an end ([`WORDS`]) is recorded; any other (ringing, in progress) is only answered.
#[instrument(name = "call_status", skip_all)]
async fn call_status(State(app): State<AppState>, hook: Webhook) -> Response {
    if let Some(end) = WORDS.call_end(hook.param("CallStatus")) {
        let duration = hook.param("CallDuration").and_then(|d| d.trim().parse::<i32>().ok());
        Line::new(&app).status(hook.param("CallSid"), end, duration);
    }
    xml(verbs::EMPTY.to_owned())
}

async fn advance(app: &AppState, hook: &Webhook, input: Input) -> Response {
    let turn = Line::new(app).answer(state_token::decode(&app.flow, &hook.query), input).await;
    respond(app, &turn)
}

fn respond(app: &AppState, turn: &Turn<'_>) -> Response {
    xml(twiml(app).render(&app.flow, turn))
}

fn twiml(app: &AppState) -> Twiml<'_> {
    Twiml { public_url: &app.settings.public_url, emergency: &app.settings.emergency_number }
}

fn xml(body: String) -> Response {
    (StatusCode::OK, [(header::CONTENT_TYPE, HeaderValue::from_static("application/xml"))], body).into_response()
}
