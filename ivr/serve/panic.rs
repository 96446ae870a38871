//! A panic anywhere must not drop a caller. A handler that panics is caught before the
//! connection is lost; on a platform's webhooks the caller is answered, in that platform's
//! dialect, with the start of the line (the language choice, as a new call), where the
//! emergency key works as on every menu: a bug costs the caller their place in the menu,
//! never the police. Other routes get a 500 that says nothing of the cause. The panic's
//! message is never logged, here or by the process's panic hook ([`install_hook`]): it
//! could quote what a caller sent.

use std::any::Any;

use axum::body::Body;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use tower_http::catch_panic::{CatchPanicLayer, ResponseForPanic};

use crate::flow::CallId;
use crate::state::AppState;
use crate::telephony::jambonz::verbs::Jambonz;
use crate::telephony::twiml::Twiml;

/// What a caught panic is answered with.
#[derive(Clone)]
pub enum AfterPanic {
    /// The start of the line in TwiML.
    Twiml(AppState),
    /// The start of the line in jambonz verbs.
    Jambonz(AppState),
    /// A 500.
    Internal,
}

/// For the TwiML webhooks.
pub fn twiml_layer(state: &AppState) -> CatchPanicLayer<AfterPanic> {
    CatchPanicLayer::custom(AfterPanic::Twiml(state.clone()))
}

/// For the jambonz webhooks.
pub fn jambonz_layer(state: &AppState) -> CatchPanicLayer<AfterPanic> {
    CatchPanicLayer::custom(AfterPanic::Jambonz(state.clone()))
}

/// For everything else.
pub fn other_layer() -> CatchPanicLayer<AfterPanic> {
    CatchPanicLayer::custom(AfterPanic::Internal)
}

impl ResponseForPanic for AfterPanic {
    type ResponseBody = Body;

    fn response_for_panic(&mut self, _: Box<dyn Any + Send + 'static>) -> Response {
        let (state, jambonz) = match &*self {
            AfterPanic::Twiml(state) => (state, false),
            AfterPanic::Jambonz(state) => (state, true),
            AfterPanic::Internal => {
                tracing::error!("a request handler panicked");
                return (StatusCode::INTERNAL_SERVER_ERROR, "internal error\n").into_response();
            }
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

/// Replaces the default panic hook, which prints the panic's message to stderr (a message
/// may quote a caller's number or `CallSid`), with one that logs only where the panic
/// happened: a file and line of this program's source, never data.
pub fn install_hook() {
    std::panic::set_hook(Box::new(|info| {
        let location = info.location().map(|at| format!("{}:{}", at.file(), at.line()));
        let thread = std::thread::current();
        tracing::error!(
            location = location.as_deref().unwrap_or("unknown"),
            thread = thread.name().unwrap_or("unnamed"),
            "a thread panicked (its message is not logged: it could quote what a caller sent)"
        );
    }));
}

#[cfg(test)]
mod tests {
    use std::io::Write;
    use std::sync::{Arc, Mutex};

    #[derive(Clone, Default)]
    struct Buffer(Arc<Mutex<Vec<u8>>>);

    impl Write for Buffer {
        fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
            self.0.lock().expect("buffer").extend_from_slice(bytes);
            Ok(bytes.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    #[test]
    fn a_panic_is_logged_with_its_location_and_without_its_message() {
        let buffer = Buffer::default();
        let writer = buffer.clone();
        let subscriber = tracing_subscriber::fmt().with_writer(move || writer.clone()).with_ansi(false).finish();
        let previous = std::panic::take_hook();
        super::install_hook();
        let caught = tracing::subscriber::with_default(subscriber, || {
            std::panic::catch_unwind(|| panic!("caller +77011234567, CallSid CA0123456789abcdef"))
        });
        // The test harness's own hook again, for the other tests' failures.
        std::panic::set_hook(previous);
        assert!(caught.is_err(), "it panicked");
        let logs = String::from_utf8(buffer.0.lock().expect("buffer").clone()).expect("text");
        assert!(logs.contains("a thread panicked"), "the panic is logged: {logs}");
        assert!(logs.contains("ivr/serve/panic.rs:"), "with its location: {logs}");
        assert!(!logs.contains("+77011234567") && !logs.contains("CA0123"), "never its message: {logs}");
    }
}
