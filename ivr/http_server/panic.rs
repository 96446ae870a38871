//! A panic anywhere must not drop a caller. A handler that panics is caught before the
//! connection is lost; on a platform's webhooks the caller is answered, in that platform's
//! dialect, with the start of the line (`crate::telephony::panic`), where the emergency key
//! works as on every menu: a bug costs the caller their place in the menu, never the police.
//! Other routes get a 500 that says nothing of the cause (here). The panic's message is never
//! logged, here or by the process's panic hook ([`install_hook`]): it could quote what a
//! caller sent.

use std::any::Any;

use axum::body::Body;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use tower_http::catch_panic::{CatchPanicLayer, ResponseForPanic};

/// For every route that is not a webhook (the webhooks answer in their dialect:
/// `crate::telephony::panic`): a 500 that says nothing of the cause.
pub fn other_layer() -> CatchPanicLayer<Internal> {
    CatchPanicLayer::custom(Internal)
}

/// A caught panic answered with a 500.
#[derive(Clone, Copy)]
pub struct Internal;

impl ResponseForPanic for Internal {
    type ResponseBody = Body;

    fn response_for_panic(&mut self, _: Box<dyn Any + Send + 'static>) -> Response {
        tracing::error!("a request handler panicked");
        (StatusCode::INTERNAL_SERVER_ERROR, "internal error\n").into_response()
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
        assert!(logs.contains("ivr/http_server/panic.rs:"), "with its location: {logs}");
        assert!(!logs.contains("+77011234567") && !logs.contains("CA0123"), "never its message: {logs}");
    }
}
