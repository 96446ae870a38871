//! `/api/v1/operators`: the roster over authenticated JSON, for administrators' tools and
//! for operators switching their own availability. The dashboard's roster page does not
//! call it: it posts forms (`admin/operators.rs`) through the same input types.
//!
//! Administrators may do everything; an operator may only `PUT` their own availability
//! (another operator's is 403). Input is checked with the same types as the CLI, so bad input
//! gets the same sentence (400), an unknown id 404 and a duplicate target 409, every error as
//! `{"error": "…"}`. A change asks this instance's roster refresh to reload at once; other
//! instances see it at their next reload.

use axum::Json;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use serde::de::DeserializeOwned;

use crate::access::{Guarded, Principal, Role};
use crate::error::{Error, JsonError};
use crate::operators::{
    AwayReason, NewOperator, OperatorChange, RosterStore, StoredOperator, parse_id, switch_available,
};
use crate::state::AppState;

/// The roster: list (GET) and add (POST).
pub const OPERATORS_PATH: &str = "/api/v1/operators";
/// One operator: read, edit and remove.
pub const OPERATOR_PATH: &str = "/api/v1/operators/{id}";
/// One operator's availability, which that operator may switch themselves.
pub const AVAILABILITY_PATH: &str = "/api/v1/operators/{id}/availability";

/// Admins manage the roster; an operator may also switch their own availability (checked
/// in [`availability`]).
pub fn guarded() -> Guarded {
    const ADMIN: &[Role] = &[Role::Admin];
    Guarded::new()
        .get(OPERATORS_PATH, ADMIN, list)
        .post(OPERATORS_PATH, ADMIN, add)
        .get(OPERATOR_PATH, ADMIN, show)
        .patch(OPERATOR_PATH, ADMIN, update)
        .delete(OPERATOR_PATH, ADMIN, remove)
        .put(AVAILABILITY_PATH, &[Role::Admin, Role::Operator], availability)
}

type Answer<T> = Result<T, JsonError>;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct AddRequest {
    name: String,
    target: String,
    languages: String,
    #[serde(default = "available_by_default")]
    available: bool,
}

fn available_by_default() -> bool {
    true
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct UpdateRequest {
    name: Option<String>,
    target: Option<String>,
    languages: Option<String>,
    available: Option<bool>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct AvailabilityRequest {
    available: bool,
}

async fn list(State(app): State<AppState>) -> Answer<Json<Vec<StoredOperator>>> {
    Ok(Json(app.db.list_operators().await?))
}

async fn add(State(app): State<AppState>, principal: Principal, body: Bytes) -> Answer<Response> {
    let request: AddRequest = parse_body(&body)?;
    let new = NewOperator::parse(&request.name, &request.target, &request.languages, request.available)?
        .dialable_on(&app.settings)?;
    let added = app.db.add_operator(&new).await?;
    app.roster.request_reload();
    tracing::info!(operator = added.id, by = %principal.name, "operator added");
    Ok((StatusCode::CREATED, Json(added)).into_response())
}

async fn show(State(app): State<AppState>, Path(id): Path<String>) -> Answer<Json<StoredOperator>> {
    Ok(Json(app.db.operator(parse_id(&id)?).await?))
}

async fn update(
    State(app): State<AppState>,
    principal: Principal,
    Path(id): Path<String>,
    body: Bytes,
) -> Answer<Json<StoredOperator>> {
    let id = parse_id(&id)?;
    let request: UpdateRequest = parse_body(&body)?;
    let change = OperatorChange::parse(
        request.name.as_deref(),
        request.target.as_deref(),
        request.languages.as_deref(),
        request.available,
    )?
    .dialable_on(&app.settings)?;
    let updated = app.db.update_operator(id, &change).await?;
    app.roster.request_reload();
    tracing::info!(operator = id, by = %principal.name, "operator updated");
    Ok(Json(updated))
}

async fn remove(State(app): State<AppState>, principal: Principal, Path(id): Path<String>) -> Answer<StatusCode> {
    let removed = app.db.remove_operator(parse_id(&id)?).await?;
    app.roster.request_reload();
    tracing::info!(operator = removed.id, by = %principal.name, "operator removed");
    Ok(StatusCode::NO_CONTENT)
}

/// An administrator, or the operator themselves.
async fn availability(
    State(app): State<AppState>,
    principal: Principal,
    Path(id): Path<String>,
    body: Bytes,
) -> Answer<Json<StoredOperator>> {
    let id = parse_id(&id)?;
    if principal.role == Role::Operator && principal.operator_id != Some(id) {
        return Err(Error::Forbidden.into());
    }
    let request: AvailabilityRequest = parse_body(&body)?;
    // The same change as `PUT …/state`: who made them away is recorded.
    let by = if principal.role == Role::Operator { AwayReason::Operator } else { AwayReason::Administrator };
    let updated = switch_available(&app.db, id, request.available, by).await?;
    app.roster.request_reload();
    tracing::info!(operator = id, available = request.available, by = %principal.name, "availability switched");
    Ok(Json(updated))
}

/// The JSON body, or a 400 that says what is wrong with it.
pub(super) fn parse_body<T: DeserializeOwned>(body: &[u8]) -> Result<T, Error> {
    serde_json::from_slice(body)
        .map_err(|e| Error::Invalid(format!("the body is not the JSON this request takes: {e}")))
}
