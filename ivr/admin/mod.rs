//! The administrators' web pages and the sign-in page: thin handlers over the pure
//! renderers in [`views`] and the stores. The roster's JSON API (`/api/v1/operators`) is
//! in [`crate::api`] with the reports'.
//!
//! The roles are not checked here: [`guarded`] states the roles each route admits, and the
//! gate (`access::guard`) checks them, and a form's CSRF token, before any handler runs. A
//! handler reads what the page needs (the statistics, the prompt library, the flow, the
//! roster), fills a view model and renders it; the roster handlers also narrow an
//! operator to their own entry. The view models
//! are filled by pure functions (`dashboard.rs`) so the numbers are tested without a server.

mod dashboard;
mod headers;
mod operators;
mod pages;
mod sign_in;
pub mod views;

use axum::extract::FromRequestParts;
use axum::http::request::Parts;

use crate::access::{Guarded, Principal, Role, Session};
use crate::error::Error;
use crate::state::AppState;
pub use dashboard::{HEATMAP_OFFSET_HOURS, chosen_range, dashboard_view};
pub use headers::{content_security_policy, on_pages as security_headers};
pub use sign_in::router as sign_in_router;
use views::{PageContext, Section, Ui, paths};

/// Who may open the dashboard, prompt and flow pages.
pub const READERS: [Role; 2] = [Role::Admin, Role::Analyst];
/// Who may add, edit and remove operators.
pub const MANAGERS: [Role; 1] = [Role::Admin];

/// Admins and operators open the roster page; an operator sees and switches only their own entry.
const ROSTER_READERS: [Role; 2] = [Role::Admin, Role::Operator];

/// The admin pages, signing out and the language switch, each with the roles it admits.
/// The sign-in page is open to everyone, so it is not here: [`sign_in_router`].
pub fn guarded() -> Guarded {
    Guarded::new()
        .get(paths::DASHBOARD, &READERS, pages::dashboard)
        .get(paths::PROMPTS, &READERS, pages::prompts)
        .get(paths::FLOW, &READERS, pages::flow)
        .get(paths::OPERATORS, &ROSTER_READERS, operators::list)
        .post(paths::OPERATORS, &MANAGERS, operators::add)
        .post("/admin/operators/{id}", &MANAGERS, operators::edit)
        .post("/admin/operators/{id}/remove", &MANAGERS, operators::remove)
        .post("/admin/operators/{id}/availability", &ROSTER_READERS, operators::availability)
        .merge(sign_in::guarded())
}

/// The signed-in person looking at a page, and the frame their pages are drawn in.
pub struct Viewer {
    /// What they may do.
    pub role: Role,
    /// For role `operator`: the roster entry this person is.
    pub operator_id: Option<i64>,
    /// The frame of their pages: language, CSRF token, menu.
    pub page: PageContext,
}

/// The sections a role may open, in menu order.
pub fn sections(role: Role) -> Vec<Section> {
    match role {
        Role::Admin => Section::ALL.to_vec(),
        Role::Analyst => vec![Section::Dashboard, Section::Prompts, Section::Flow],
        Role::Operator => vec![Section::Desk, Section::Operators],
    }
}

impl FromRequestParts<AppState> for Viewer {
    type Rejection = Error;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Viewer, Error> {
        let principal = Principal::from_request_parts(parts, state).await?;
        let session = parts.extensions.get::<Session>();
        let path = parts.uri.path_and_query().map_or_else(|| parts.uri.path().to_owned(), |p| p.as_str().to_owned());
        let page = PageContext {
            ui: session.and_then(|s| Ui::from_code(&s.language)).unwrap_or_default(),
            csrf: session.map(|s| s.csrf.clone()).unwrap_or_default(),
            user: principal.name.clone(),
            path,
            sections: sections(principal.role),
        };
        Ok(Viewer { role: principal.role, operator_id: principal.operator_id, page })
    }
}
