//! The HTTP side of the drain (`crate::tasks` runs it): from the first SIGTERM (or Ctrl-C),
//! `/readyz` fails so a load balancer stops sending new calls, while every webhook that
//! still arrives is answered until the listener closes, each response asking its client to
//! close the connection.

use axum::http::{HeaderValue, header};
use axum::response::Response;

use crate::state::AppState;

/// While draining, every response asks the client to close its connection, so no client
/// still holds a kept-alive connection when the listener closes.
pub fn close_while_draining(app: &AppState, mut response: Response) -> Response {
    if app.is_draining() {
        response.headers_mut().insert(header::CONNECTION, HeaderValue::from_static("close"));
    }
    response
}
