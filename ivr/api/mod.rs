//! The JSON API under `/api/v1`, for the hotline's own tools and scripts (a bearer token,
//! or a signed-in browser's session; the dashboard's pages use no script and post forms):
//! the operator roster ([`operators`]), operators' states ([`operator_states`]) and the
//! reports ([`reports`]). Handlers are thin:
//! input is checked with the same types as the CLI, the roles each route admits are stated
//! in its [`Guarded`] table and checked by the gate (`access::guard`) before any handler
//! runs, and every error they or the gate answer is `{"error": "…"}` without internals (a
//! path or method no route has, with valid credentials, is axum's empty 404 or 405).

pub mod operator_states;
pub mod operators;
pub mod reports;

use crate::access::Guarded;

/// Every route of the API, with the roles it admits.
pub fn guarded() -> Guarded {
    operators::guarded().merge(operator_states::guarded()).merge(reports::guarded())
}
