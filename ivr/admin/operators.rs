//! The roster page and its forms: administrators add, edit and remove operators and switch
//! anyone's availability; an operator sees only their own entry and switches only that.
//!
//! Input goes through the roster's own parsers (`NewOperator`, `OperatorChange`), the same
//! as the CLI and `/api/v1/operators`. A refused change shows the page again with the
//! reason in the user's language and what they typed (400; 409 for a clash, 404 for an
//! operator who is not there); a change made redirects back (303), so a reload never posts
//! twice. Every change asks the call path's roster snapshot to reload at once.

use axum::extract::{Form, Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};

use super::Viewer;
use super::pages::page;
use super::views::{OperatorDraft, OperatorRow, OperatorsView, operators_page, paths, roster_message};
use crate::access::Role;
use crate::error::Error;
use crate::flow::Language;
use crate::operators::{
    AwayReason, Languages, NewOperator, OperatorChange, RosterError, RosterStore, StoredOperator, parse_id,
    switch_available,
};
use crate::state::AppState;

type Fields = Form<Vec<(String, String)>>;

/// `GET /admin/operators`.
pub async fn list(viewer: Viewer, State(state): State<AppState>) -> Result<Response, Error> {
    show(&viewer, &state, StatusCode::OK, None, OperatorDraft::default()).await
}

/// `POST /admin/operators`: `name`, `target`, `languages`.
pub async fn add(viewer: Viewer, State(state): State<AppState>, Form(fields): Fields) -> Result<Response, Error> {
    let (name, target, languages) = (field(&fields, "name"), field(&fields, "target"), field(&fields, "languages"));
    let added = match NewOperator::parse(name, target, languages, true).and_then(|new| new.dialable_on(&state.settings))
    {
        Ok(new) => state.db.add_operator(&new).await,
        Err(refused) => Err(refused),
    };
    let draft = OperatorDraft {
        name: name.to_owned(),
        target: target.to_owned(),
        languages: Languages::parse(languages).map_or_else(|| Language::ALL.to_vec(), spoken),
    };
    settle(&viewer, &state, added.map(|op| op.id), "operator added", draft).await
}

/// `POST /admin/operators/{id}`: `name`, `target`, `languages`.
pub async fn edit(
    viewer: Viewer,
    State(state): State<AppState>,
    Path(id): Path<String>,
    Form(fields): Fields,
) -> Result<Response, Error> {
    let text = |name| Some(field(&fields, name));
    let change = OperatorChange::parse(text("name"), text("target"), text("languages"), None);
    let updated = match (parse_id(&id), change.and_then(|change| change.dialable_on(&state.settings))) {
        (Ok(id), Ok(change)) => state.db.update_operator(id, &change).await,
        (Err(refused), _) | (_, Err(refused)) => Err(refused),
    };
    settle(&viewer, &state, updated.map(|op| op.id), "operator updated", OperatorDraft::default()).await
}

/// `POST /admin/operators/{id}/remove`.
pub async fn remove(viewer: Viewer, State(state): State<AppState>, Path(id): Path<String>) -> Result<Response, Error> {
    let removed = match parse_id(&id) {
        Ok(id) => state.db.remove_operator(id).await,
        Err(refused) => Err(refused),
    };
    settle(&viewer, &state, removed.map(|op| op.id), "operator removed", OperatorDraft::default()).await
}

/// `POST /admin/operators/{id}/availability`: `available` (`true`/`false`). An operator may
/// switch only their own.
pub async fn availability(
    viewer: Viewer,
    State(state): State<AppState>,
    Path(id): Path<String>,
    Form(fields): Fields,
) -> Result<Response, Error> {
    let available = match field(&fields, "available") {
        "true" => true,
        "false" => false,
        _ => return Err(Error::BadRequest("`available` must be true or false")),
    };
    let id = match parse_id(&id) {
        Ok(id) if viewer.role == Role::Operator && viewer.operator_id != Some(id) => return Err(Error::Forbidden),
        Ok(id) => {
            let by = if viewer.role == Role::Operator { AwayReason::Operator } else { AwayReason::Administrator };
            switch_available(&state.db, id, available, by).await.map(|op| op.id)
        }
        Err(refused) => Err(refused),
    };
    settle(&viewer, &state, id, "availability switched", OperatorDraft::default()).await
}

/// After a change: back to the page (303), or the page again with the reason it was refused.
async fn settle(
    viewer: &Viewer,
    state: &AppState,
    outcome: Result<i64, RosterError>,
    what: &'static str,
    draft: OperatorDraft,
) -> Result<Response, Error> {
    match outcome {
        Ok(id) => {
            state.roster.request_reload();
            tracing::info!(operator = id, by = %viewer.page.user, "{what}");
            Ok(Redirect::to(paths::OPERATORS).into_response())
        }
        Err(refused) => {
            let Some(message) = roster_message(viewer.page.ui, &refused) else { return Err(refused.into()) };
            let status = match refused {
                RosterError::DuplicateTarget(_) => StatusCode::CONFLICT,
                RosterError::UnknownOperator(_) => StatusCode::NOT_FOUND,
                _ => StatusCode::BAD_REQUEST,
            };
            show(viewer, state, status, Some(message.to_owned()), draft).await
        }
    }
}

async fn show(
    viewer: &Viewer,
    state: &AppState,
    status: StatusCode,
    error: Option<String>,
    draft: OperatorDraft,
) -> Result<Response, Error> {
    let stored = state.db.list_operators().await?;
    let manage = viewer.role == Role::Admin;
    let visible = stored.iter().filter(|op| manage || viewer.operator_id == Some(op.id));
    let operators = visible.map(|op| row(op, manage || viewer.operator_id == Some(op.id))).collect();
    let view = OperatorsView { operators, can_manage: manage, error, draft };
    Ok((status, page(operators_page(&viewer.page, &view))).into_response())
}

fn row(op: &StoredOperator, can_toggle: bool) -> OperatorRow {
    OperatorRow {
        id: op.id,
        name: op.name.clone(),
        target: op.target_text().to_owned(),
        languages: spoken(op.languages),
        available: op.available,
        can_toggle,
    }
}

fn spoken(languages: Languages) -> Vec<Language> {
    Language::ALL.into_iter().filter(|l| languages.speaks(*l)).collect()
}

/// A form field's value; empty when the field is missing (the parsers then say what is wrong).
fn field<'a>(fields: &'a [(String, String)], name: &str) -> &'a str {
    fields.iter().find(|(n, _)| n == name).map_or("", |(_, v)| v.as_str())
}
