//! Platform dialects: how a telephony platform's webhooks become call-core [`Input`]s and
//! how the call core's [`Turn`]s become the platform's documents. TwiML (Twilio,
//! SignalWire, Telnyx: `webhook.rs`, `twiml.rs`) and jambonz (`jambonz/`) are served by one
//! process at once, so a hotline can move from one platform to the other; Asterisk is the
//! next leaf. Every dialect carries the same state token (`state_token.rs`) in its URLs.
//!
//! [`Input`]: crate::call::Input
//! [`Turn`]: crate::call::Turn

pub mod jambonz;
pub mod signature;
pub mod softphone;
pub mod state_token;
pub mod twiml;
mod webhook;

use axum::Router;
use axum::body::{Body, Bytes};
use axum::http::{HeaderMap, header};

use crate::error::Error;
use crate::state::AppState;

/// Larger webhook bodies are not from a telephony platform (413).
pub const MAX_BODY_BYTES: usize = 64 * 1024;

/// Every dialect's webhooks.
pub fn router() -> Router<AppState> {
    webhook::router().merge(jambonz::router())
}

/// A webhook's body: 400 with `refusal` unless it is of `content_type`, 413 over
/// [`MAX_BODY_BYTES`]. Read before anything else is looked at.
async fn read_body(headers: &HeaderMap, body: Body, content_type: &str, refusal: &'static str) -> Result<Bytes, Error> {
    let declared = headers.get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok());
    if !declared.is_some_and(|v| v.trim_start().starts_with(content_type)) {
        return Err(Error::BadRequest(refusal));
    }
    axum::body::to_bytes(body, MAX_BODY_BYTES).await.map_err(|_| Error::PayloadTooLarge(MAX_BODY_BYTES))
}
