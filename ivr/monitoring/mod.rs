//! What the engineer who keeps the line up sees of a running instance, apart from calls:
//! whether it is alive and ready (`/healthz`, `/readyz`), its Prometheus metrics on a
//! listener of their own, and the front page that says what this service is and how to point
//! a telephony provider at it. Its logs (text or JSON lines) are set up by `crate::logging`,
//! below the settings that read their format.
//!
//! None of it is on the call path: readiness is reported, never enforced, so a call is
//! answered whatever `/readyz` says.

mod health;
mod home;
pub mod metrics;

use axum::Router;
use axum::routing::get;

use crate::state::AppState;

/// `/`, `/healthz` and `/readyz`, beside the webhooks and the admin pages.
pub fn router() -> Router<AppState> {
    Router::new().route("/", get(home::page)).route("/healthz", get(health::alive)).route("/readyz", get(health::ready))
}
