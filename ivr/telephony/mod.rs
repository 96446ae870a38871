//! Platform dialects: how a telephony platform's webhooks become the call core's types and
//! how the call core's [`Turn`]s become the platform's documents. Each dialect translates
//! its platform's words at its own edge (keys into an [`Input`], how a dial or a call ended
//! by its `words.rs` table), so none of them reaches the core. One folder per dialect:
//! TwiML (Twilio, SignalWire, Telnyx: `twiml/`) and jambonz (`jambonz/`), served by one
//! process at once, so a hotline can move from one platform to the other; Asterisk is the
//! next leaf. Beside them, what they share: the state token every dialect carries in its
//! URLs (`state_token.rs`), the answer to a handler that panicked (`panic.rs`) and the
//! static documents a platform plays when the service is unreachable (`fallback.rs`). The
//! platform's side of each dialect, for tests and the simulator, is `crate::softphone`.
//!
//! [`Input`]: crate::call::Input
//! [`Turn`]: crate::call::Turn

pub mod asterisk;
pub mod fallback;
pub mod jambonz;
pub mod panic;
pub mod state_token;
pub mod twiml;

use std::sync::Arc;

use axum::body::{Body, Bytes};
use axum::http::request::Parts;
use axum::http::{HeaderMap, header};
use axum::{Extension, Router};

use crate::error::Error;
use crate::state::AppState;
use jambonz::signature::JambonzSignatureCheck;
use twiml::signature::SignatureCheck;

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
    twiml::router()
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
        if crate::http_server::timed_out(&error) { Error::BodyTimedOut } else { Error::PayloadTooLarge(MAX_BODY_BYTES) }
    })
}
