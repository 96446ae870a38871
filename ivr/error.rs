//! The one error type HTTP handlers return. Its response says what the client did wrong in
//! a short plain sentence and never shows internals; the details go to the log.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("{0}")]
    BadRequest(&'static str),
    #[error("signature missing or invalid")]
    Forbidden,
    #[error("not found")]
    NotFound,
    #[error("request body over {0} bytes")]
    PayloadTooLarge(usize),
    #[error("internal error: {0:#}")]
    Internal(#[from] anyhow::Error),
}

impl IntoResponse for Error {
    fn into_response(self) -> Response {
        let status = match &self {
            Error::BadRequest(_) => StatusCode::BAD_REQUEST,
            Error::Forbidden => StatusCode::FORBIDDEN,
            Error::NotFound => StatusCode::NOT_FOUND,
            Error::PayloadTooLarge(_) => StatusCode::PAYLOAD_TOO_LARGE,
            Error::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        };
        let body = match &self {
            Error::Internal(error) => {
                tracing::error!(error = %format!("{error:#}"), "request failed");
                "internal error".to_owned()
            }
            other => other.to_string(),
        };
        (status, body).into_response()
    }
}
