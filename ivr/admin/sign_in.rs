//! The sign-in page, signing out, and the language a user reads the dashboard in: the
//! dashboard's side of signing in. Passwords, the throttle, sessions and cookies are
//! access control's (`access/login.rs`).

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;

use axum::extract::{ConnectInfo, Form, Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::get;
use axum::{Extension, Router};

use super::views::{LoginMessage, LoginView, Ui, login_page, paths};
use crate::access::{
    AccessStore, Failure, Guarded, LOGIN, Refusal, Role, Session, SignInLimits, client_address, login,
};
use crate::config::Settings;
use crate::error::Error;
use crate::state::AppState;

/// `GET`/`POST /login`: open to everyone. The limits on password checks are this router's,
/// shared by every sign-in to this process.
pub fn router(settings: &Settings) -> Router<AppState> {
    let limits = Arc::new(SignInLimits::new(settings.password_checks));
    Router::new().route(LOGIN, get(show).post(sign_in)).layer(Extension(limits))
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
    let (token, cookie) = login::form_token(&app.settings);
    view.csrf = token;
    (status, [(header::SET_COOKIE, cookie)], Html(login_page(&view))).into_response()
}

async fn sign_in(
    State(app): State<AppState>,
    Extension(limits): Extension<Arc<SignInLimits>>,
    peer: Option<Extension<ConnectInfo<SocketAddr>>>,
    headers: HeaderMap,
    Form(form): Form<LoginForm>,
) -> Response {
    let ui = Ui::from_code(&form.lang).unwrap_or_default();
    let next = local(&form.next);
    let view = LoginView { ui, csrf: String::new(), name: form.name.clone(), next: next.clone(), message: None };
    if !login::form_token_matches(&headers, &form.csrf) {
        let message = Some(LoginMessage::FormExpired);
        return login_form(&app, StatusCode::FORBIDDEN, LoginView { message, ..view });
    }
    let peer = peer.map(|Extension(ConnectInfo(address))| address);
    let client = client_address(peer, &headers, &app.settings.trusted_proxies).unwrap_or(IpAddr::from([0, 0, 0, 0]));
    match login::check_password(&app.db, &limits, client, &form.name, form.password).await {
        Ok(user_id) => match login::start_session(&app.db, &app.settings, user_id).await {
            Ok(cookie) => {
                ([(header::SET_COOKIE, cookie)], Redirect::to(&landing(&app, &form.name, next).await)).into_response()
            }
            Err(error) => error.into_response(),
        },
        Err(Failure::Refused(Refusal::TooMany { minutes })) => {
            let message = Some(LoginMessage::TooManyAttempts { minutes });
            login_form(&app, StatusCode::TOO_MANY_REQUESTS, LoginView { message, ..view })
        }
        Err(Failure::Refused(Refusal::Busy)) => {
            let message = Some(LoginMessage::Busy);
            let page = login_form(&app, StatusCode::SERVICE_UNAVAILABLE, LoginView { message, ..view });
            ([(header::RETRY_AFTER, HeaderValue::from_static("1"))], page).into_response()
        }
        Err(Failure::Wrong) => {
            let message = Some(LoginMessage::WrongCredentials);
            login_form(&app, StatusCode::UNAUTHORIZED, LoginView { message, ..view })
        }
        Err(Failure::Error(error)) => error.into_response(),
    }
}

/// The form's CSRF token was checked by the gate (`access/csrf.rs`), as for every form.
async fn sign_out(State(app): State<AppState>, session: Session) -> Result<Response, Error> {
    let gone = login::end_session(&app.db, &app.settings, &session).await?;
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
    app.db.set_language(session.user_id, ui.code()).await?;
    Ok(Redirect::to(&local(&form.next)).into_response())
}

/// Where a user goes after signing in: `next`, except that an operator sent to the
/// dashboard (the default), which is not theirs, opens their desk.
async fn landing(app: &AppState, name: &str, next: String) -> String {
    if next != paths::DASHBOARD {
        return next;
    }
    match app.db.user_by_name(name).await {
        Ok(Some((user, _))) if user.role == Role::Operator => paths::DESK.to_owned(),
        _ => next,
    }
}

/// `next` if it is a page of this site, the dashboard otherwise (no open redirect). Only
/// visible ASCII is followed: the path goes into a `Location` header, where a control
/// character cannot be written (`next=/admin%01` was a 500), and a path this site links to
/// is percent-encoded anyway.
fn local(next: &str) -> String {
    let ok = next.starts_with('/')
        && !next.starts_with("//")
        && !next.contains('\\')
        && next.bytes().all(|b| b.is_ascii_graphic());
    let page = ["/admin", "/desk"]
        .iter()
        .any(|area| next.strip_prefix(area).is_some_and(|rest| rest.is_empty() || rest.starts_with(['/', '?'])));
    if ok && page { next.to_owned() } else { paths::DASHBOARD.to_owned() }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_local_admin_pages_are_followed_after_sign_in() {
        assert_eq!(local("/admin/operators?x=1"), "/admin/operators?x=1");
        assert_eq!(local("/desk"), "/desk");
        let control = ["/admin\u{1}", "/admin\r\nSet-Cookie: x=1", "/admin\u{7f}", "/admin/\u{430}", "/admin x"];
        for outside in
            ["https://evil.example/admin", "//evil.example/admin", "/\\evil", "", "/login", "admin", "/desks"]
                .into_iter()
                .chain(control)
        {
            assert_eq!(local(outside), "/admin", "{outside}");
        }
    }
}
