//! Signing in and out, and the language a user reads the dashboard in.
//!
//! The session cookie holds 32 random bytes; the database holds only their SHA-256, with
//! the session's CSRF token and expiry. It is HttpOnly, SameSite=Strict, and Secure when
//! the service is reached over https. The sign-in form itself carries a CSRF token too (a
//! double-submit cookie), so another site cannot sign a browser in as someone else.
//! Failed sign-ins are counted per name in the database, shared by every instance: after
//! [`MAX_FAILURES`] in [`WINDOW_MINUTES`], the name is refused until the window has passed.
//! Each attempt is counted before its password is checked, in one atomic step, so a burst
//! of parallel guesses gets no more tries than a patient one.

use axum::extract::{Form, Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::get;
use axum::{Router, http};
use chrono::{DateTime, TimeDelta, Utc};
use cookie::{Cookie, SameSite};

use super::secret::{digest, new_secret, same, verify_password};
use super::store::AccessStore;
use super::{Guarded, Role, Session};
use crate::admin::views::{LoginMessage, LoginView, Ui, login_page, paths};
use crate::app::AppState;
use crate::error::Error;

pub const SESSION_COOKIE: &str = "ivr_session";
/// The sign-in form's own CSRF cookie, before there is a session.
const LOGIN_COOKIE: &str = "ivr_login";
pub const LOGIN: &str = paths::LOGIN;
const SESSION_HOURS: i64 = 12;
pub const MAX_FAILURES: usize = 5;
pub const WINDOW_MINUTES: i64 = 15;

/// `GET`/`POST /login`: open to everyone.
pub fn router() -> Router<AppState> {
    Router::new().route(LOGIN, get(show).post(sign_in))
}

/// Sign-out and the language switch: any signed-in role.
pub fn guarded() -> Guarded {
    Guarded::new().post(paths::LOGOUT, &Role::ALL, sign_out).post(paths::LANGUAGE, &Role::ALL, choose_language)
}

#[derive(serde::Deserialize, Default)]
struct LoginQuery {
    lang: Option<String>,
    next: Option<String>,
    /// Present after signing out: the page says so.
    signed_out: Option<String>,
}

#[derive(serde::Deserialize)]
struct LoginForm {
    #[serde(default)]
    name: String,
    #[serde(default)]
    password: String,
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    next: String,
    #[serde(default)]
    lang: String,
}

async fn show(State(app): State<AppState>, Query(query): Query<LoginQuery>) -> Response {
    let ui = query.lang.as_deref().and_then(Ui::from_code).unwrap_or_default();
    let message = query.signed_out.is_some().then_some(LoginMessage::SignedOut);
    let next = local(query.next.as_deref().unwrap_or_default());
    login_form(&app, StatusCode::OK, LoginView { ui, csrf: String::new(), name: String::new(), next, message })
}

/// The sign-in page with a fresh form token, in a cookie and in the form.
fn login_form(app: &AppState, status: StatusCode, mut view: LoginView) -> Response {
    view.csrf = new_secret();
    let cookie = build_cookie(app, LOGIN_COOKIE, view.csrf.clone(), TimeDelta::hours(1));
    (status, [(header::SET_COOKIE, cookie)], Html(login_page(&view))).into_response()
}

async fn sign_in(State(app): State<AppState>, headers: HeaderMap, Form(form): Form<LoginForm>) -> Response {
    let ui = Ui::from_code(&form.lang).unwrap_or_default();
    let next = local(&form.next);
    let view = LoginView { ui, csrf: String::new(), name: form.name.clone(), next: next.clone(), message: None };
    let form_token = cookie_value(&headers, LOGIN_COOKIE).unwrap_or_default();
    if form.csrf.is_empty() || !same(&form.csrf, &form_token) {
        let message = Some(LoginMessage::FormExpired);
        return login_form(&app, StatusCode::FORBIDDEN, LoginView { message, ..view });
    }
    match check_password(&app, &form.name, form.password).await {
        Ok(user_id) => match start_session(&app, user_id).await {
            Ok(cookie) => ([(header::SET_COOKIE, cookie)], Redirect::to(&next)).into_response(),
            Err(error) => error.into_response(),
        },
        Err(Error::TooManyAttempts(minutes)) => {
            let message = Some(LoginMessage::TooManyAttempts { minutes });
            login_form(&app, StatusCode::TOO_MANY_REQUESTS, LoginView { message, ..view })
        }
        Err(Error::Unauthorized) => {
            let message = Some(LoginMessage::WrongCredentials);
            login_form(&app, StatusCode::UNAUTHORIZED, LoginView { message, ..view })
        }
        Err(error) => error.into_response(),
    }
}

/// The user's id if the name and password match and the name is not throttled.
async fn check_password(app: &AppState, name: &str, password: String) -> Result<i64, Error> {
    let db = app.db()?;
    let now = Utc::now();
    let since = now - TimeDelta::minutes(WINDOW_MINUTES);
    // Counted as a failure before the password is checked, so that attempts sent all at
    // once cannot each see room under the limit; a success clears the name.
    if let Some(oldest) = db.claim_login_attempt(name, now, since, MAX_FAILURES).await? {
        return Err(Error::TooManyAttempts(minutes_until(oldest, now)));
    }
    let (user, hash) = db.user_by_name(name).await?.unzip();
    match (verify_password(password, hash).await, user) {
        (true, Some(user)) => {
            db.clear_login_failures(name).await?;
            Ok(user.id)
        }
        _ => {
            tracing::info!("a failed sign-in");
            Err(Error::Unauthorized)
        }
    }
}

/// When the oldest failure that counts leaves the window, in whole minutes (at least 1).
fn minutes_until(oldest: DateTime<Utc>, now: DateTime<Utc>) -> u32 {
    let left = oldest + TimeDelta::minutes(WINDOW_MINUTES) - now;
    u32::try_from((left.num_seconds() + 59) / 60).unwrap_or(1).max(1)
}

async fn start_session(app: &AppState, user_id: i64) -> Result<HeaderValue, Error> {
    let cookie = new_secret();
    let expires = Utc::now() + TimeDelta::hours(SESSION_HOURS);
    app.db()?.add_session(&digest(&cookie), user_id, &new_secret(), expires).await?;
    Ok(build_cookie(app, SESSION_COOKIE, cookie, TimeDelta::hours(SESSION_HOURS)))
}

/// The form's CSRF token was checked by the gate (`csrf.rs`), as for every form.
async fn sign_out(State(app): State<AppState>, session: Session) -> Result<Response, Error> {
    app.db()?.remove_session(&session.id_hash).await?;
    let gone = build_cookie(&app, SESSION_COOKIE, String::new(), TimeDelta::zero());
    Ok(([(header::SET_COOKIE, gone)], Redirect::to(&format!("{LOGIN}?signed_out=1"))).into_response())
}

#[derive(serde::Deserialize)]
struct LanguageForm {
    #[serde(default)]
    lang: String,
    #[serde(default)]
    next: String,
}

async fn choose_language(
    State(app): State<AppState>,
    session: Session,
    Form(form): Form<LanguageForm>,
) -> Result<Response, Error> {
    let ui = Ui::from_code(&form.lang).ok_or(Error::BadRequest("lang must be kk or ru"))?;
    app.db()?.set_language(session.user_id, ui.code()).await?;
    Ok(Redirect::to(&local(&form.next)).into_response())
}

/// `next` if it is a path on this site, the dashboard otherwise (no open redirect).
fn local(next: &str) -> String {
    let ok = next.starts_with('/') && !next.starts_with("//") && !next.contains('\\') && !next.contains(['\r', '\n']);
    if ok && next.starts_with("/admin") { next.to_owned() } else { paths::DASHBOARD.to_owned() }
}

fn build_cookie(app: &AppState, name: &'static str, value: String, max_age: TimeDelta) -> HeaderValue {
    let secure = app.settings.public_url.starts_with("https://");
    let cookie = Cookie::build((name, value))
        .http_only(true)
        .same_site(SameSite::Strict)
        .secure(secure)
        .path("/")
        .max_age(cookie::time::Duration::seconds(max_age.num_seconds()))
        .build();
    HeaderValue::from_str(&cookie.to_string()).unwrap_or_else(|_| HeaderValue::from_static(""))
}

fn cookie_value(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get_all(http::header::COOKIE)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(Cookie::split_parse)
        .flatten()
        .find(|cookie| cookie.name() == name)
        .map(|cookie| cookie.value().to_owned())
}

/// The session cookie's value, if the browser sent one.
pub fn session_cookie(headers: &HeaderMap) -> Option<String> {
    cookie_value(headers, SESSION_COOKIE).filter(|v| !v.is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_local_admin_pages_are_followed_after_sign_in() {
        assert_eq!(local("/admin/operators?x=1"), "/admin/operators?x=1");
        for outside in ["https://evil.example/admin", "//evil.example/admin", "/\\evil", "", "/login", "admin"] {
            assert_eq!(local(outside), "/admin", "{outside}");
        }
    }

    #[test]
    fn the_throttle_says_how_long_is_left() {
        let now = Utc::now();
        assert_eq!(minutes_until(now - TimeDelta::minutes(1), now), 14);
        assert_eq!(minutes_until(now - TimeDelta::seconds(WINDOW_MINUTES * 60 - 5), now), 1);
    }
}
