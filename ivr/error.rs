//! The one error type HTTP handlers return. Its response says what the client did wrong in
//! a short plain sentence and never shows internals; the details go to the log.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("{0}")]
    BadRequest(&'static str),
    #[error("sign in or send a valid bearer token")]
    Unauthorized,
    #[error("signature missing or invalid")]
    BadSignature,
    #[error("your role does not allow this")]
    Forbidden,
    #[error("not found")]
    NotFound,
    #[error("request body over {0} bytes")]
    PayloadTooLarge(usize),
    #[error("the database is not available; try again shortly")]
    Unavailable,
    #[error("internal error: {0:#}")]
    Internal(#[from] anyhow::Error),
}

impl IntoResponse for Error {
    fn into_response(self) -> Response {
        let status = match &self {
            Error::BadRequest(_) => StatusCode::BAD_REQUEST,
            Error::Unauthorized => StatusCode::UNAUTHORIZED,
            Error::BadSignature | Error::Forbidden => StatusCode::FORBIDDEN,
            Error::NotFound => StatusCode::NOT_FOUND,
            Error::PayloadTooLarge(_) => StatusCode::PAYLOAD_TOO_LARGE,
            Error::Unavailable => StatusCode::SERVICE_UNAVAILABLE,
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

impl From<crate::stats::StoreError> for Error {
    /// A database that cannot be reached is "try again shortly"; anything else is a fault.
    fn from(error: crate::stats::StoreError) -> Error {
        use crate::stats::StoreError;
        match error {
            StoreError::Database(sqlx::Error::PoolTimedOut | sqlx::Error::Io(_) | sqlx::Error::PoolClosed) => {
                tracing::warn!(%error, "database unavailable");
                Error::Unavailable
            }
            other => Error::Internal(other.into()),
        }
    }
}
