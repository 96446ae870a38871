//! The one error type HTTP handlers return. Its response says what the client did wrong in
//! a short plain sentence and never shows internals; the details go to the log.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};

/// What went wrong with a request, as the client is told it (see [`Error::status`]).
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A malformed request, in a fixed sentence (400).
    #[error("{0}")]
    BadRequest(&'static str),
    /// No session and no valid bearer token (401).
    #[error("sign in or send a valid bearer token")]
    Unauthorized,
    /// A provider webhook without a valid signature (403).
    #[error("signature missing or invalid")]
    BadSignature,
    /// Signed in, but the role does not admit this route (403).
    #[error("your role does not allow this")]
    Forbidden,
    /// A form without this session's CSRF token (403).
    #[error("the form has expired or did not come from this site; reload the page and try again")]
    BadCsrf,
    /// No such page or route (404).
    #[error("not found")]
    NotFound,
    /// Bad input, in a sentence naming the field and what is allowed (400).
    #[error("{0}")]
    Invalid(String),
    /// What was asked for does not exist, said specifically (404).
    #[error("{0}")]
    Missing(String),
    /// The change clashes with what is stored, such as a duplicate (409).
    #[error("{0}")]
    Conflict(String),
    /// A body over this many bytes (413).
    #[error("request body over {0} bytes")]
    PayloadTooLarge(usize),
    /// The client fell silent in the middle of the request body for the body timeout (408).
    #[error("the request body did not arrive in time")]
    BodyTimedOut,
    /// The database cannot be reached now (503); the client may retry.
    #[error("the database is not available; try again shortly")]
    Unavailable,
    /// A fault of ours: logged in full, answered as a bare 500.
    #[error("internal error: {0:#}")]
    Internal(#[from] anyhow::Error),
}

impl Error {
    /// The HTTP status this error is answered with.
    pub fn status(&self) -> StatusCode {
        match self {
            Error::BadRequest(_) | Error::Invalid(_) => StatusCode::BAD_REQUEST,
            Error::Unauthorized => StatusCode::UNAUTHORIZED,
            Error::BadSignature | Error::Forbidden | Error::BadCsrf => StatusCode::FORBIDDEN,
            Error::NotFound | Error::Missing(_) => StatusCode::NOT_FOUND,
            Error::Conflict(_) => StatusCode::CONFLICT,
            Error::PayloadTooLarge(_) => StatusCode::PAYLOAD_TOO_LARGE,
            Error::BodyTimedOut => StatusCode::REQUEST_TIMEOUT,
            Error::Unavailable => StatusCode::SERVICE_UNAVAILABLE,
            Error::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    /// What the client is told: the sentence, except for internal errors, which are logged
    /// and answered with "internal error" only.
    pub fn public_message(&self) -> String {
        match self {
            Error::Internal(error) => {
                tracing::error!(error = %format!("{error:#}"), "request failed");
                "internal error".to_owned()
            }
            other => other.to_string(),
        }
    }
}

impl IntoResponse for Error {
    fn into_response(self) -> Response {
        (self.status(), self.public_message()).into_response()
    }
}

/// [`Error`] answered as JSON, `{"error": "…"}`, with the same status: what the JSON API's
/// handlers and the gate in front of `/api` answer, so every refusal of theirs has a body a
/// client can parse. A path or method no route has, asked with valid credentials, is
/// answered by axum before either: an empty 404 or 405.
#[derive(Debug)]
pub struct JsonError(pub Error);

impl<E: Into<Error>> From<E> for JsonError {
    fn from(error: E) -> JsonError {
        JsonError(error.into())
    }
}

impl IntoResponse for JsonError {
    fn into_response(self) -> Response {
        let body = serde_json::json!({ "error": self.0.public_message() });
        (self.0.status(), axum::Json(body)).into_response()
    }
}

impl From<crate::db::DbError> for Error {
    /// A database that cannot be reached is "try again shortly"; anything else is a fault.
    fn from(error: crate::db::DbError) -> Error {
        if error.is_unavailable() {
            tracing::warn!(%error, "database unavailable");
            Error::Unavailable
        } else {
            Error::Internal(error.into())
        }
    }
}

impl From<sqlx::Error> for Error {
    fn from(error: sqlx::Error) -> Error {
        crate::db::DbError::from(error).into()
    }
}
