//! A panic anywhere must not drop a caller. A webhook handler that panics is caught before
//! the connection is lost and the caller is answered, in that platform's dialect, with the
//! start of the line (the language choice, as a new call), where the emergency key works as
//! on every menu: a bug costs the caller their place in the menu, never the police. The
//! panic's message is never logged: it could quote what a caller sent. Routes that are not
//! webhooks, and the process's panic hook, are `crate::http_server::panic`'s.

use std::any::Any;

use axum::body::Body;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use tower_http::catch_panic::{CatchPanicLayer, ResponseForPanic};

use super::jambonz::verbs::Jambonz;
use super::twiml::Twiml;
use crate::flow::CallId;
use crate::state::AppState;

/// What a caught panic on a webhook is answered with.
#[derive(Clone)]
pub enum AfterPanic {
    /// The start of the line in TwiML.
    Twiml(AppState),
    /// The start of the line in jambonz verbs.
    Jambonz(AppState),
}

/// For the TwiML webhooks.
pub fn twiml_layer(state: &AppState) -> CatchPanicLayer<AfterPanic> {
    CatchPanicLayer::custom(AfterPanic::Twiml(state.clone()))
}

/// For the jambonz webhooks.
pub fn jambonz_layer(state: &AppState) -> CatchPanicLayer<AfterPanic> {
    CatchPanicLayer::custom(AfterPanic::Jambonz(state.clone()))
}

impl ResponseForPanic for AfterPanic {
    type ResponseBody = Body;

    fn response_for_panic(&mut self, _: Box<dyn Any + Send + 'static>) -> Response {
        let (state, jambonz) = match &*self {
            AfterPanic::Twiml(state) => (state, false),
            AfterPanic::Jambonz(state) => (state, true),
        };
        tracing::error!("a webhook handler panicked: the caller was answered with the start of the line");
        let roster = state.roster.snapshot();
        let turn = crate::call::begin(&state.flow, CallId::random(), &roster);
        let (public_url, emergency) = (&state.settings.public_url, &state.settings.emergency_number);
        let (body, content_type) = if jambonz {
            (Jambonz { public_url, emergency }.render(&state.flow, &turn), "application/json")
        } else {
            (Twiml { public_url, emergency }.render(&state.flow, &turn), "application/xml")
        };
        (StatusCode::OK, [(header::CONTENT_TYPE, HeaderValue::from_static(content_type))], body).into_response()
    }
}
