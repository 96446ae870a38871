//! The TwiML webhooks. Each decodes what the provider sent, takes one [`step`], and answers
//! with the next TwiML document.
//!
//! A caller is never answered with an error they cannot recover from: a stale state, an
//! unknown key or a missing field becomes a safe step. Only requests that cannot be from
//! the provider are refused: a bad signature (403), a body that is not a form (400), or
//! one over 64 KiB (413). No form field is ever logged; spans carry our random call id.

use axum::Router;
use axum::body::Body;
use axum::extract::{FromRequest, Request, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use tracing::{Span, instrument};

use crate::app::AppState;
use crate::error::Error;
use crate::flow::{DialOutcome, Digit, Event, Input, Instruction, Language, Step, step};
use crate::operators::{Route, whisper_prompts};
use crate::stats::CallEvent;

use super::state_token;
use super::twiml::{self, DIAL_PATH, GATHER_PATH, NO_INPUT_PATH, Twiml, WHISPER_PATH};

/// Larger bodies are not from a telephony provider.
pub const MAX_BODY_BYTES: usize = 64 * 1024;

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

    async fn from_request(request: Request, app: &AppState) -> Result<Webhook, Error> {
        let (parts, body) = request.into_parts();
        let is_form = parts
            .headers
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.trim_start().starts_with("application/x-www-form-urlencoded"));
        if !is_form {
            return Err(Error::BadRequest("expected a form body (application/x-www-form-urlencoded)"));
        }
        let bytes = axum::body::to_bytes(Body::new(body), MAX_BODY_BYTES)
            .await
            .map_err(|_| Error::PayloadTooLarge(MAX_BODY_BYTES))?;
        let params = parse_form(&bytes).ok_or(Error::BadRequest("malformed form body"))?;
        let path_and_query = parts.uri.path_and_query().map_or("/", |p| p.as_str());
        if let Some(check) = &app.signature {
            let signature = parts.headers.get("x-twilio-signature").and_then(|v| v.to_str().ok());
            if !signature.is_some_and(|s| check.verify(path_and_query, &params, s)) {
                tracing::warn!(path = parts.uri.path(), "refused a webhook: signature missing or invalid");
                return Err(Error::BadSignature);
            }
        }
        Ok(Webhook { params, query: parts.uri.query().unwrap_or("").to_owned() })
    }
}

/// The form's pairs, or `None` if it is not UTF-8 or its percent-encoding is broken.
fn parse_form(body: &[u8]) -> Option<Vec<(String, String)>> {
    let text = std::str::from_utf8(body).ok()?;
    let mut params = Vec::new();
    for (pair, (name, value)) in text.split('&').filter(|p| !p.is_empty()).zip(form_urlencoded::parse(body)) {
        let replaced = name.contains('\u{FFFD}') || value.contains('\u{FFFD}');
        if replaced && !pair.contains('\u{FFFD}') {
            return None;
        }
        params.push((name.into_owned(), value.into_owned()));
    }
    Some(params)
}

#[instrument(name = "incoming_call", skip_all, fields(call))]
async fn incoming_call(State(app): State<AppState>, hook: Webhook) -> Response {
    // A keyed hash of CallSid (key in memory only): a retried delivery gets the same id.
    let call = app.stats.call_id(hook.param("CallSid"));
    app.stats.call_started(call, hook.param("From"));
    Span::current().record("call", tracing::field::display(call));
    tracing::info!("call started");
    respond(&app, app.flow.begin(call))
}

#[instrument(name = "key_pressed", skip_all, fields(call))]
async fn key_pressed(State(app): State<AppState>, hook: Webhook) -> Response {
    let input = match hook.param("Digits") {
        None | Some("") => Input::NoInput,
        Some(digits) => Digit::parse(digits).map_or(Input::UnknownKey, Input::Key),
    };
    advance(&app, &hook, input)
}

#[instrument(name = "no_input", skip_all, fields(call))]
async fn no_input(State(app): State<AppState>, hook: Webhook) -> Response {
    advance(&app, &hook, Input::NoInput)
}

#[instrument(name = "dial_ended", skip_all, fields(call))]
async fn dial_ended(State(app): State<AppState>, hook: Webhook) -> Response {
    let status = hook.param("DialCallStatus").unwrap_or("");
    let outcome = match status {
        "completed" | "answered" => DialOutcome::Completed,
        "busy" => DialOutcome::Busy,
        "no-answer" => DialOutcome::NoAnswer,
        _ => DialOutcome::Failed,
    };
    tracing::info!(?outcome, "transfer ended");
    let state = state_token::decode(&app.flow, &hook.query);
    Span::current().record("call", tracing::field::display(state.call));
    let step = step(&app.flow, state, Input::Dial(outcome));
    let talked = talked(&hook, &step);
    respond_with(&app, step, talked)
}

/// How long an answered operator transfer talked (`DialCallDuration`), for the seconds it
/// took to answer; nothing for the police line or an unanswered ring.
fn talked(hook: &Webhook, step: &Step<'_>) -> Vec<CallEvent> {
    let answered =
        step.events.iter().any(|e| matches!(e, Event::DialEnded { emergency: false, outcome: DialOutcome::Completed }));
    let seconds = hook.param("DialCallDuration").and_then(|d| d.trim().parse::<u32>().ok());
    match (answered, seconds) {
        (true, Some(seconds)) => vec![CallEvent::Talked { seconds: i32::try_from(seconds).unwrap_or(i32::MAX) }],
        _ => Vec::new(),
    }
}

/// Played to the operator who answers: what the caller heard, never who they are.
#[instrument(name = "whisper", skip_all, fields(call))]
async fn whisper(State(app): State<AppState>, hook: Webhook) -> Response {
    let caller = state_token::decode(&app.flow, &hook.query);
    Span::current().record("call", tracing::field::display(caller.call));
    let language = form_urlencoded::parse(hook.query.as_bytes())
        .find(|(name, _)| name == "o")
        .and_then(|(_, code)| Language::from_code(&code))
        .unwrap_or(app.flow.default_language);
    let keys = whisper_prompts(&app.flow, &caller);
    xml(twiml(&app).whisper(language, &keys.iter().collect::<Vec<_>>()))
}

/// The provider's call status callback: nothing for the caller to hear. A final status
/// records how the call ended (linked to the call by the keyed hash of its CallSid).
#[instrument(name = "call_status", skip_all)]
async fn call_status(State(app): State<AppState>, hook: Webhook) -> Response {
    if let (Some(call_sid), Some(status)) = (hook.param("CallSid"), hook.param("CallStatus")) {
        app.stats.call_ended(call_sid, status);
    }
    xml(twiml::EMPTY.to_owned())
}

fn advance(app: &AppState, hook: &Webhook, input: Input) -> Response {
    let state = state_token::decode(&app.flow, &hook.query);
    Span::current().record("call", tracing::field::display(state.call));
    respond(app, step(&app.flow, state, input))
}

fn respond(app: &AppState, step: Step<'_>) -> Response {
    respond_with(app, step, Vec::new())
}

/// Renders a step, recording with it `extra` and, for a transfer to operators, who was
/// rung (how many, by which rule). A transfer when nobody can be rung is the same as a
/// transfer nobody answered: the caller hears the fallback, never an empty `<Dial>`.
fn respond_with(app: &AppState, step: Step<'_>, mut extra: Vec<CallEvent>) -> Response {
    let roster = app.roster.snapshot();
    let mut step = step;
    let (mut route, mut rings) = roster.route_for(step.language);
    // Bounded: the flow's rules keep a failed transfer from leading straight to another.
    for _ in 0..3 {
        if !matches!(step.say, Instruction::OperatorTransfer { .. }) || !rings.is_empty() {
            break;
        }
        tracing::warn!("no operator can be rung");
        extra.push(rung(route, 0));
        app.stats.record_step_with(&app.flow, &step, std::mem::take(&mut extra));
        step = crate::flow::step(&app.flow, step.next, Input::Dial(DialOutcome::Failed));
        (route, rings) = roster.route_for(step.language);
    }
    if matches!(step.say, Instruction::OperatorTransfer { .. }) {
        extra.push(rung(route, rings.len()));
    }
    let body = twiml(app).render(&app.flow, &step, &rings);
    app.stats.record_step_with(&app.flow, &step, extra);
    xml(body)
}

fn rung(route: Route, operators: usize) -> CallEvent {
    CallEvent::Rung { operators: u8::try_from(operators).unwrap_or(u8::MAX), route: route.as_str().to_owned() }
}

fn twiml(app: &AppState) -> Twiml<'_> {
    Twiml { public_url: &app.settings.public_url, emergency: &app.settings.emergency_number }
}

fn xml(body: String) -> Response {
    (StatusCode::OK, [(header::CONTENT_TYPE, HeaderValue::from_static("application/xml"))], body).into_response()
}
