//! `GET /prompts/{lang}/{key}.wav`, from memory. Only known languages and keys are served:
//! the request is looked up in the library, never turned into a path.

use axum::Router;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;

use super::PromptLibrary;
use crate::error::Error;
use crate::flow::{Language, PromptKey};

/// Recordings change only with a deployment, and the ETag tells a cache when they did.
const CACHE_CONTROL: &str = "public, max-age=86400";

/// What serving prompts needs of the service's state.
pub trait Served {
    /// The library prompts are served from.
    fn prompt_library(&self) -> &PromptLibrary;
}

/// `GET /prompts/{lang}/{key}.wav`, cacheable with an ETag.
pub fn router<S: Served + Clone + Send + Sync + 'static>() -> Router<S> {
    Router::new().route("/prompts/{lang}/{file}", get(prompt::<S>))
}

async fn prompt<S: Served>(
    State(app): State<S>,
    Path((lang, file)): Path<(String, String)>,
    headers: HeaderMap,
) -> Result<Response, Error> {
    let language = Language::from_code(&lang).ok_or(Error::NotFound)?;
    let key = file.strip_suffix(".wav").and_then(PromptKey::parse).ok_or(Error::NotFound)?;
    let prompt = app.prompt_library().get(language, &key).ok_or(Error::NotFound)?;
    let etag = HeaderValue::from_str(&prompt.etag).map_err(|e| Error::Internal(e.into()))?;
    let cache = [(header::ETAG, etag), (header::CACHE_CONTROL, HeaderValue::from_static(CACHE_CONTROL))];
    if matches_etag(&headers, &prompt.etag) {
        return Ok((StatusCode::NOT_MODIFIED, cache).into_response());
    }
    let content_type = (header::CONTENT_TYPE, HeaderValue::from_static("audio/wav"));
    Ok((cache, [content_type], prompt.wav.clone()).into_response())
}

/// `If-None-Match` holding our ETag, in a list or as `*`.
fn matches_etag(headers: &HeaderMap, etag: &str) -> bool {
    headers
        .get_all(header::IF_NONE_MATCH)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .map(|tag| tag.trim().trim_start_matches("W/"))
        .any(|tag| tag == etag || tag == "*")
}
