//! The gate in front of `/admin`, `/desk` and `/api`, and the table of what each route admits.
//!
//! [`authenticate`] runs before routing, for every request: outside those it
//! does nothing (the caller's webhooks never touch the database); inside, it finds the
//! bearer token or the session cookie in the database and puts the [`Principal`] (and the
//! [`Session`]) into the request, or refuses: 401 for the API, a redirect to the sign-in
//! page for the browser. Unknown paths are refused the same way, so nobody can probe them.
//!
//! A browser is sent to the sign-in page; a request that sent a bearer token, even to an
//! `/admin` or `/desk` path, is a program and gets 401.
//!
//! [`Guarded`] is how every protected route is added: with the roles it admits, checked
//! before the handler runs (403 otherwise), then the CSRF token of a signed-in browser's
//! form (`csrf.rs`; 403), and recorded, so `app::protected_routes` can list every one of
//! them for the test that proves each is guarded.

use axum::Router;
use axum::extract::{Request, State};
use axum::handler::Handler;
use axum::http::{HeaderMap, Method, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{self, MethodRouter};
use chrono::Utc;

use super::csrf;
use super::login::session_cookie;
use super::secret::digest;
use super::store::AccessStore;
use super::{Principal, Role, Session};
use crate::error::{Error, JsonError};
use crate::state::AppState;

/// One protected route: what the route test walks.
#[derive(Clone, Debug)]
pub struct GuardedRoute {
    /// The HTTP method.
    pub method: Method,
    /// As registered, with `{id}` placeholders.
    pub path: &'static str,
    /// The roles the route admits.
    pub roles: &'static [Role],
}

/// A router whose every route states the roles it admits.
#[derive(Default)]
pub struct Guarded {
    router: Router<AppState>,
    routes: Vec<GuardedRoute>,
}

impl Guarded {
    /// No routes yet.
    pub fn new() -> Guarded {
        Guarded::default()
    }

    /// Adds `GET path`, admitting `roles`.
    pub fn get<H: Handler<T, AppState>, T: 'static>(
        self,
        path: &'static str,
        roles: &'static [Role],
        handler: H,
    ) -> Guarded {
        self.route(Method::GET, path, roles, routing::get(handler))
    }

    /// Adds `POST path`, admitting `roles` (and from a browser, its session's CSRF token).
    pub fn post<H: Handler<T, AppState>, T: 'static>(
        self,
        path: &'static str,
        roles: &'static [Role],
        handler: H,
    ) -> Guarded {
        self.route(Method::POST, path, roles, routing::post(handler))
    }

    /// Adds `PUT path`, admitting `roles` (and from a browser, its session's CSRF token).
    pub fn put<H: Handler<T, AppState>, T: 'static>(
        self,
        path: &'static str,
        roles: &'static [Role],
        handler: H,
    ) -> Guarded {
        self.route(Method::PUT, path, roles, routing::put(handler))
    }

    /// Adds `PATCH path`, admitting `roles` (and from a browser, its session's CSRF token).
    pub fn patch<H: Handler<T, AppState>, T: 'static>(
        self,
        path: &'static str,
        roles: &'static [Role],
        handler: H,
    ) -> Guarded {
        self.route(Method::PATCH, path, roles, routing::patch(handler))
    }

    /// Adds `DELETE path`, admitting `roles` (and from a browser, its session's CSRF token).
    pub fn delete<H: Handler<T, AppState>, T: 'static>(
        self,
        path: &'static str,
        roles: &'static [Role],
        handler: H,
    ) -> Guarded {
        self.route(Method::DELETE, path, roles, routing::delete(handler))
    }

    /// Adds `handler` for `method` at `path`, admitting only `roles`.
    fn route(
        mut self,
        method: Method,
        path: &'static str,
        roles: &'static [Role],
        handler: MethodRouter<AppState>,
    ) -> Guarded {
        assert!(is_guarded(path), "{path} is outside /admin, /desk and /api");
        let checked =
            handler.route_layer(middleware::from_fn(move |request: Request, next: Next| require(roles, request, next)));
        self.router = self.router.route(path, checked);
        self.routes.push(GuardedRoute { method, path, roles });
        self
    }

    /// These routes and `other`'s.
    pub fn merge(mut self, other: Guarded) -> Guarded {
        self.router = self.router.merge(other.router);
        self.routes.extend(other.routes);
        self
    }

    /// Every route added, with its roles: what the route test walks.
    pub fn routes(&self) -> &[GuardedRoute] {
        &self.routes
    }

    /// The router, each route behind its check.
    pub fn into_router(self) -> Router<AppState> {
        self.router
    }
}

/// Before a route's handler: its roles, then, for a signed-in browser's form, the CSRF token.
async fn require(roles: &'static [Role], request: Request, next: Next) -> Response {
    let path = request.uri().path().to_owned();
    match request.extensions().get::<Principal>() {
        Some(principal) if roles.contains(&principal.role) => match csrf::checked(request).await {
            Ok(request) => next.run(request).await,
            Err(error) => refuse(&path, error),
        },
        Some(_) => refuse(&path, Error::Forbidden),
        None => refuse(&path, Error::Unauthorized),
    }
}

/// Whether `path` is behind the gate.
pub fn is_guarded(path: &str) -> bool {
    ["/admin", "/desk", "/api"].iter().any(|area| is_in(path, area))
}

/// Whether `path` is `area` or under it.
fn is_in(path: &str, area: &str) -> bool {
    path.strip_prefix(area).is_some_and(|rest| rest.is_empty() || rest.starts_with('/'))
}

/// Whether `path` is a page a browser opens (sent to the sign-in page without a session).
fn is_page(path: &str) -> bool {
    is_in(path, "/admin") || is_in(path, "/desk")
}

/// The middleware: identifies the requester of every `/admin`, `/desk` and `/api` request.
pub async fn authenticate(State(app): State<AppState>, mut request: Request, next: Next) -> Response {
    let path = request.uri().path();
    if !is_guarded(path) {
        return next.run(request).await;
    }
    match identify(&app, request.headers()).await {
        Ok(Some((principal, session))) => {
            request.extensions_mut().insert(principal);
            if let Some(session) = session {
                request.extensions_mut().insert(session);
            }
            next.run(request).await
        }
        Ok(None) if is_page(path) && bearer(request.headers()).is_none() => {
            let next_page = request.uri().path_and_query().map_or(path, |p| p.as_str());
            let to: String = form_urlencoded::Serializer::new(String::new()).append_pair("next", next_page).finish();
            Redirect::to(&format!("{}?{to}", super::LOGIN)).into_response()
        }
        Ok(None) => refuse(path, Error::Unauthorized),
        Err(error) => refuse(path, error),
    }
}

/// An error as JSON for the API, as text for pages.
fn refuse(path: &str, error: Error) -> Response {
    if path.starts_with("/api") { JsonError(error).into_response() } else { error.into_response() }
}

type Identity = (Principal, Option<Session>);

async fn identify(app: &AppState, headers: &HeaderMap) -> Result<Option<Identity>, Error> {
    if let Some(token) = bearer(headers) {
        let Some(token) = app.db.token_by_hash(&digest(token)).await? else { return Ok(None) };
        let principal = Principal { role: token.role, name: token.label, operator_id: token.operator_id };
        return Ok(Some((principal, None)));
    }
    let Some(cookie) = session_cookie(headers) else { return Ok(None) };
    let id_hash = digest(&cookie);
    let Some(row) = app.db.session(&id_hash, Utc::now()).await? else { return Ok(None) };
    let principal = Principal { role: row.user.role, name: row.user.name, operator_id: row.user.operator_id };
    let session = Session { user_id: row.user.id, csrf: row.csrf, language: row.user.language, id_hash };
    Ok(Some((principal, Some(session))))
}

fn bearer(headers: &HeaderMap) -> Option<&str> {
    let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = value.split_once(' ')?;
    scheme.eq_ignore_ascii_case("bearer").then(|| token.trim()).filter(|t| !t.is_empty())
}
