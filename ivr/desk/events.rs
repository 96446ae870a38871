//! `GET /desk/events`: the line now as server-sent events, one `line` event (JSON) at once
//! and another whenever the instance's snapshot changes, a comment every 15 s meanwhile so
//! proxies keep the connection. A stream only waits on the shared snapshot: it never reads
//! the database itself, so a thousand open desks are one query a second. It ends when the
//! instance starts draining; the browser then connects again, to an instance that serves.

use std::convert::Infallible;
use std::time::Duration;

use axum::extract::State;
use axum::http::{HeaderName, HeaderValue};
use axum::response::IntoResponse;
use axum::response::sse::{Event, KeepAlive, Sse};

use crate::state::AppState;

/// At least this often something is sent, so a quiet line does not look like a dead one.
const KEEP_ALIVE: Duration = Duration::from_secs(15);

/// Asks a proxy in front (nginx) to pass each event on as it comes, not when its buffer fills
/// (`deploy/nginx-ivr.conf` also turns buffering off for this path).
const NO_PROXY_BUFFERING: (HeaderName, HeaderValue) =
    (HeaderName::from_static("x-accel-buffering"), HeaderValue::from_static("no"));

/// The stream: the line now, then each change, until the instance drains.
pub async fn events(State(app): State<AppState>) -> impl IntoResponse {
    let line = app.line.clone();
    let changes = line.subscribe();
    let stream = futures_util::stream::unfold((changes, true), move |(mut changes, first)| {
        let line = line.clone();
        async move {
            if !first && changes.changed().await.is_err() {
                return None;
            }
            if line.is_closed() {
                return None;
            }
            let now = changes.borrow_and_update().clone();
            let event = Event::default().event("line").json_data(&now).ok()?;
            Some((Ok::<Event, Infallible>(event), (changes, false)))
        }
    });
    ([NO_PROXY_BUFFERING], Sse::new(stream).keep_alive(KeepAlive::new().interval(KEEP_ALIVE)))
}
