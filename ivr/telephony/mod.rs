//! Platform dialects: how a telephony platform's webhooks become call-core [`Input`]s and
//! how the call core's [`Turn`]s become the platform's documents. TwiML (Twilio,
//! SignalWire, Telnyx: `webhook.rs`, `twiml.rs`) and jambonz (`jambonz/`) are served by one
//! process at once, so a hotline can move from one platform to the other; Asterisk is the
//! next leaf. Every dialect carries the same state token (`state_token.rs`) in its URLs.
//!
//! [`Input`]: crate::call::Input
//! [`Turn`]: crate::call::Turn

pub mod fallback;
pub mod jambonz;
pub mod panic;
pub mod signature;
pub mod softphone;
pub mod state_token;
pub mod twiml;
mod webhook;

use std::sync::Arc;

use axum::body::{Body, Bytes};
use axum::http::request::Parts;
use axum::http::{HeaderMap, header};
use axum::{Extension, Router};

use crate::error::Error;
use crate::state::AppState;
use jambonz::signature::JambonzSignatureCheck;
use signature::SignatureCheck;

/// Larger webhook bodies are not from a telephony platform (413).
pub const MAX_BODY_BYTES: usize = 64 * 1024;

/// Every dialect's webhooks, checking the signatures the settings configure; a handler that
/// panics is answered in its dialect with the start of the line, where the emergency key
/// works (`panic.rs`).
pub fn router(state: &AppState) -> Router<AppState> {
    use panic::{jambonz_layer, twiml_layer};
    let settings = &state.settings;
    let checks = SignatureChecks {
        twilio: settings.twilio_auth_token.as_deref().map(|t| SignatureCheck::new(t, &settings.public_url)),
        jambonz: settings.jambonz_webhook_secret.as_deref().map(JambonzSignatureCheck::new),
    };
    webhook::router()
        .layer(twiml_layer(state))
        .merge(jambonz::router().layer(jambonz_layer(state)))
        .layer(Extension(Arc::new(checks)))
}

/// Each platform's signature check, made once from the settings; one whose secret is
/// unset is off (and said at start-up).
struct SignatureChecks {
    twilio: Option<SignatureCheck>,
    jambonz: Option<JambonzSignatureCheck>,
}

/// The checks [`router`] put on every webhook request. Without them (a route mounted some
/// other way) nothing is let through unchecked: the request is refused as unsigned.
fn signature_checks(parts: &Parts) -> Result<&SignatureChecks, Error> {
    parts.extensions.get::<Arc<SignatureChecks>>().map(|checks| &**checks).ok_or(Error::BadSignature)
}

/// A webhook's body: 400 with `refusal` unless it is of `content_type`, 413 over
/// [`MAX_BODY_BYTES`]. Read before anything else is looked at.
async fn read_body(headers: &HeaderMap, body: Body, content_type: &str, refusal: &'static str) -> Result<Bytes, Error> {
    let declared = headers.get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok());
    if !declared.is_some_and(|v| v.trim_start().starts_with(content_type)) {
        return Err(Error::BadRequest(refusal));
    }
    axum::body::to_bytes(body, MAX_BODY_BYTES).await.map_err(|error| {
        if crate::serve::timed_out(&error) { Error::BodyTimedOut } else { Error::PayloadTooLarge(MAX_BODY_BYTES) }
    })
}
