//! `GET /desk` and its buttons (`POST /desk/state`). The page reads the line from the
//! instance's snapshot and the operator's own state from the database (for why they are
//! away and when a wrap-up ends); when the database does not answer, it shows the state
//! the roster holds in memory and says so. A press changes the operator's own state through
//! the store, by the same rule as `PUT /api/v1/operators/{id}/state`; one that cannot be
//! saved shows the page again saying so (503), never an error page of its own.

use std::time::Duration;

use axum::extract::{Form, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{Html, IntoResponse, Redirect, Response};
use chrono::{DateTime, Utc};

use super::paths;
use super::text::Words;
use super::view::{DeskView, Me, MyState, desk_page, desk_policy};
use crate::access::Role;
use crate::admin::Viewer;
use crate::api::operator_states::requested_change;
use crate::operators::{AwayReason, LineNow, Reading, RosterError, StateStore};
use crate::state::AppState;

/// A read or write of the operator's own state that takes longer is given up: the page
/// answers from memory, or says the press was not saved.
const DATABASE_TIMEOUT: Duration = Duration::from_secs(3);

/// `GET /desk`.
pub async fn show(viewer: Viewer, State(app): State<AppState>) -> Response {
    desk(&viewer, &app, StatusCode::OK, None).await
}

/// `POST /desk/state`: `state` (`available` or `away`). Changes only the signed-in
/// operator's own state; `available` also ends a wrap-up early.
pub async fn set_state(
    viewer: Viewer,
    State(app): State<AppState>,
    Form(fields): Form<Vec<(String, String)>>,
) -> Response {
    let Some(id) = viewer.operator_id else {
        // An account without a roster entry has no state to change: the page says so.
        return desk(&viewer, &app, StatusCode::CONFLICT, None).await;
    };
    let wanted = fields.iter().find(|(name, _)| name == "state").map_or("", |(_, value)| value.as_str());
    let by = if viewer.role == Role::Operator { AwayReason::Operator } else { AwayReason::Administrator };
    let change = match requested_change(wanted, by) {
        Ok(change) => change,
        Err(refused) => return refused.into_response(),
    };
    let changed = tokio::time::timeout(DATABASE_TIMEOUT, app.db.change_state(id, change, Utc::now())).await;
    match changed {
        Ok(Ok(_)) => {
            app.roster.request_reload();
            tracing::info!(operator = id, state = wanted, by = %viewer.page.user, "operator state set at the desk");
            Redirect::to(paths::DESK).into_response()
        }
        Ok(Err(RosterError::UnknownOperator(_))) => desk(&viewer, &app, StatusCode::NOT_FOUND, None).await,
        Ok(Err(error)) => {
            tracing::warn!(operator = id, %error, "a state set at the desk was not saved");
            not_saved(&viewer, &app).await
        }
        Err(_) => {
            tracing::warn!(operator = id, "a state set at the desk was not saved: the database did not answer in time");
            not_saved(&viewer, &app).await
        }
    }
}

async fn not_saved(viewer: &Viewer, app: &AppState) -> Response {
    let words = Words::of(viewer.page.ui);
    let mut page = desk(viewer, app, StatusCode::SERVICE_UNAVAILABLE, Some(words.not_saved)).await;
    page.headers_mut().insert(header::RETRY_AFTER, HeaderValue::from_static("5"));
    page
}

/// The page, with `status` and, if a press failed, why.
async fn desk(viewer: &Viewer, app: &AppState, status: StatusCode, problem: Option<&'static str>) -> Response {
    let mut line = app.line.now();
    let me = me(viewer, app, &mut line).await;
    let view = DeskView {
        me,
        line,
        problem,
        away_after: app.settings.away_after_unanswered,
        events: paths::EVENTS,
        action: paths::STATE,
    };
    let headers = [
        (header::CACHE_CONTROL, HeaderValue::from_static("no-store")),
        (header::CONTENT_SECURITY_POLICY, HeaderValue::from_static(desk_policy())),
    ];
    (status, headers, Html(desk_page(&viewer.page, &view))).into_response()
}

/// The viewer's own state: from the database, or from the roster in memory when it does not
/// answer (and then the line says the database is unreachable).
async fn me(viewer: &Viewer, app: &AppState, line: &mut LineNow) -> Me {
    let Some(id) = viewer.operator_id else { return Me::NotLinked };
    let now = Utc::now();
    match tokio::time::timeout(DATABASE_TIMEOUT, app.db.operator_state(id)).await {
        Ok(Ok(stored)) => {
            let view = stored.view(id, now);
            let wrap_up_left = view.wrap_up_until.map(|until| seconds_until(until, now));
            Me::Operator(MyState { id, state: view.state, away_reason: view.away_reason, wrap_up_left })
        }
        Ok(Err(RosterError::UnknownOperator(_))) => Me::NotOnRoster,
        Ok(Err(_)) | Err(_) => {
            line.reading = Reading::DatabaseUnreachable;
            match line.operators.iter().find(|o| o.id == id) {
                Some(o) => Me::Operator(MyState { id, state: o.state, away_reason: None, wrap_up_left: None }),
                None => Me::NotOnRoster,
            }
        }
    }
}

/// Whole seconds from `now` to `until`, rounded up.
fn seconds_until(until: DateTime<Utc>, now: DateTime<Utc>) -> u64 {
    u64::try_from(((until - now).num_milliseconds() + 999) / 1000).unwrap_or(0)
}
