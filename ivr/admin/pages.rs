//! The read-only pages: dashboard, prompt library and flow. The gate has checked the role
//! before a handler runs (`admin::guarded` names the roles); a handler reads what it needs,
//! fills a view model and returns the rendered page; everything a
//! page shows is decided in `views/` and `dashboard.rs`.

use axum::extract::{Query, State};
use axum::http::header;
use axum::response::{Html, IntoResponse, Response};
use chrono::Utc;

use super::Viewer;
use super::dashboard::{chosen_range, dashboard_view};
use super::views::{FlowView, PromptsView, dashboard_page, flow_page, prompts_page};
use crate::error::Error;
use crate::state::AppState;
use crate::stats::Summarize;

/// `GET /admin?from=YYYY-MM-DD&to=YYYY-MM-DD`; the last 30 days without them.
pub async fn dashboard(
    viewer: Viewer,
    State(state): State<AppState>,
    Query(pairs): Query<Vec<(String, String)>>,
) -> Result<Response, Error> {
    let param = |name: &str| pairs.iter().find(|(n, _)| n == name).map(|(_, v)| v.as_str());
    let today = Utc::now().date_naive();
    let (range, problem) = chosen_range(param("from"), param("to"), today);
    let summary = state.db.summary(range).await?;
    let view = dashboard_view(&summary, &state.flow, today, problem);
    Ok(page(dashboard_page(&viewer.page, &view)))
}

/// `GET /admin/prompts`: every prompt of the library, playable, with its transcript.
pub async fn prompts(viewer: Viewer, State(state): State<AppState>) -> Result<Response, Error> {
    Ok(page(prompts_page(&viewer.page, &PromptsView::from_library(&state.prompts))))
}

/// `GET /admin/flow`: the menu as a tree.
pub async fn flow(viewer: Viewer, State(state): State<AppState>) -> Result<Response, Error> {
    Ok(page(flow_page(&viewer.page, &FlowView::from_flow(&state.flow))))
}

/// A page is about this user's session and the line's statistics: never cached.
pub fn page(html: String) -> Response {
    ([(header::CACHE_CONTROL, "no-store")], Html(html)).into_response()
}
