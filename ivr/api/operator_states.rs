//! `/api/v1/operators/{id}/state`: an operator's state (available, on a call, in wrap-up,
//! away) over authenticated JSON, for the desk to come and for tools. An operator reads and
//! sets their own (another's is 403); an administrator anyone's. Only `available` and `away`
//! can be set: a call and its wrap-up are the line's to say. Setting `available` ends a
//! wrap-up early and forgets rings not answered; `away` records who made them away
//! (`operator` or `administrator`). A change asks this instance's roster to reload at once;
//! every other instance sees it at its next reload (`IVR_ROSTER_REFRESH_MS`, 1 s).

use axum::Json;
use axum::body::Bytes;
use axum::extract::{Path, State};
use chrono::Utc;
use serde::Deserialize;

use super::operators::parse_body;
use crate::access::{Guarded, Principal, Role};
use crate::error::{Error, JsonError};
use crate::operators::{AwayReason, Change, StateStore, StateView, parse_id};
use crate::state::AppState;

/// One operator's state: read (GET) and set (PUT).
pub const STATE_PATH: &str = "/api/v1/operators/{id}/state";

/// Administrators, and each operator for their own entry (checked in [`own`]).
pub fn guarded() -> Guarded {
    const WHO: &[Role] = &[Role::Admin, Role::Operator];
    Guarded::new().get(STATE_PATH, WHO, show).put(STATE_PATH, WHO, set)
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct StateRequest {
    state: String,
}

async fn show(
    State(app): State<AppState>,
    principal: Principal,
    Path(id): Path<String>,
) -> Result<Json<StateView>, JsonError> {
    let id = own(&principal, &id)?;
    Ok(Json(app.db.operator_state(id).await?.view(id, Utc::now())))
}

async fn set(
    State(app): State<AppState>,
    principal: Principal,
    Path(id): Path<String>,
    body: Bytes,
) -> Result<Json<StateView>, JsonError> {
    let id = own(&principal, &id)?;
    let request: StateRequest = parse_body(&body)?;
    let by = if principal.role == Role::Operator { AwayReason::Operator } else { AwayReason::Administrator };
    let change = requested_change(&request.state, by)?;
    let now = Utc::now();
    let changed = app.db.change_state(id, change, now).await?;
    app.roster.request_reload();
    tracing::info!(operator = id, state = request.state, by = %principal.name, "operator state set");
    Ok(Json(changed.view(id, now)))
}

/// The change `state` asks for: `available` or `away` (made so by `by`).
pub fn requested_change(state: &str, by: AwayReason) -> Result<Change, Error> {
    match state {
        "available" => Ok(Change::MadeAvailable),
        "away" => Ok(Change::MadeAway(by)),
        "on_call" | "wrap_up" => Err(Error::Invalid(format!(
            "`{state}` is set by the line when an operator answers and when the call ends: set available or away"
        ))),
        other => Err(Error::Invalid(format!("unknown state `{other}`: use available or away"))),
    }
}

/// The id in the path, if the principal may see and set that operator's state.
fn own(principal: &Principal, id: &str) -> Result<i64, Error> {
    let id = parse_id(id)?;
    if principal.role == Role::Operator && principal.operator_id != Some(id) {
        return Err(Error::Forbidden);
    }
    Ok(id)
}
