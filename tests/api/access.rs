//! Access control over HTTP: signing in and out, the session cookie's flags, CSRF on every
//! form, the sign-in throttle, bearer tokens by role, and every protected route walked from
//! the router's own table; then `ivr users` / `ivr tokens` from the command line, and the
//! access store on SQLite and PostgreSQL.

mod cli;
mod flood;
mod routes;
mod store;

use std::pin::Pin;
use std::task::Poll;

use ivr::access::Role;

use crate::dashboard::{PASSWORD, Session};
use crate::helpers::{Options, PUBLIC_URL};
use crate::reports::Seeded;

/// Posts the sign-in form as a browser would; the raw response, to read its headers.
async fn sign_in_raw(seeded: &Seeded, name: &str, password: &str) -> reqwest::Response {
    sign_in_via(seeded, &[], "/admin/flow", name, password).await
}

/// [`sign_in_raw`] with more headers on the form's post (such as a proxy's `X-Forwarded-For`).
async fn sign_in_via(
    seeded: &Seeded,
    headers: &[(&str, &str)],
    next: &str,
    name: &str,
    password: &str,
) -> reqwest::Response {
    let client = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().expect("client");
    let login = client.get(format!("{}/login", seeded.app.address)).send().await.expect("the login page");
    let form_cookie = set_cookie(&login, "ivr_login").expect("the form's cookie");
    let csrf = crate::dashboard::csrf_of(&login.text().await.expect("a page"));
    let body = form_urlencoded::Serializer::new(String::new())
        .extend_pairs([("csrf", csrf.as_str()), ("name", name), ("password", password), ("next", next)])
        .finish();
    let mut post = client.post(format!("{}/login", seeded.app.address));
    for (name, value) in headers {
        post = post.header(*name, *value);
    }
    post.header("content-type", "application/x-www-form-urlencoded")
        .header("cookie", format!("ivr_login={}", cookie_value(&form_cookie)))
        .body(body)
        .send()
        .await
        .expect("the server answers")
}

/// The whole `Set-Cookie` line for `name`.
fn set_cookie(response: &reqwest::Response, name: &str) -> Option<String> {
    let lines = response.headers().get_all("set-cookie").iter().filter_map(|v| v.to_str().ok());
    lines.map(str::to_owned).find(|line| line.starts_with(&format!("{name}=")))
}

fn cookie_value(line: &str) -> &str {
    line.split(';').next().and_then(|pair| pair.split_once('=')).map_or("", |(_, v)| v)
}

#[tokio::test]
async fn signing_in_opens_the_page_asked_for_with_a_strict_http_only_cookie() {
    let seeded = Seeded::new().await;
    ivr::access::add_user(&seeded.store, "asel", Role::Admin, PASSWORD, None).await.expect("a user");
    let response = sign_in_raw(&seeded, "asel", PASSWORD).await;
    assert_eq!(response.status(), 303);
    assert_eq!(response.headers()["location"], "/admin/flow", "back to the page asked for");
    let cookie = set_cookie(&response, "ivr_session").expect("a session cookie");
    for flag in ["HttpOnly", "SameSite=Strict", "Path=/", "Secure"] {
        assert!(cookie.contains(flag), "{flag} in {cookie}");
    }
    assert_eq!(cookie_value(&cookie).len(), 43, "32 random bytes");
    assert!(PUBLIC_URL.starts_with("https://"), "Secure because the service is reached over https");

    let plain = Seeded::with(Options { public_url: "http://ivr.local".to_owned(), ..Options::default() }).await;
    ivr::access::add_user(&plain.store, "asel", Role::Admin, PASSWORD, None).await.expect("a user");
    let cookie = set_cookie(&sign_in_raw(&plain, "asel", PASSWORD).await, "ivr_session").expect("a cookie");
    assert!(cookie.contains("HttpOnly") && !cookie.contains("Secure"), "no Secure over plain http: {cookie}");
}

#[tokio::test]
async fn a_next_page_with_a_control_character_opens_the_dashboard() {
    let seeded = Seeded::new().await;
    ivr::access::add_user(&seeded.store, "asel", Role::Admin, PASSWORD, None).await.expect("a user");
    let page = seeded.app.client.get(format!("{}/login?next=/admin%01", seeded.app.address)).send().await.unwrap();
    assert_eq!(page.status(), 200);
    let response = sign_in_via(&seeded, &[], "/admin\u{1}", "asel", PASSWORD).await;
    assert_eq!(response.status(), 303, "not a 500");
    assert_eq!(response.headers()["location"], "/admin");
}

#[tokio::test]
async fn a_wrong_password_or_an_unknown_name_is_refused_alike() {
    let seeded = Seeded::new().await;
    ivr::access::add_user(&seeded.store, "asel", Role::Admin, PASSWORD, None).await.expect("a user");
    for (name, password) in [("asel", "not the password"), ("nobody", PASSWORD)] {
        let response = sign_in_raw(&seeded, name, password).await;
        assert_eq!(response.status(), 401, "{name}");
        assert!(set_cookie(&response, "ivr_session").is_none(), "no session for {name}");
        let page = response.text().await.expect("a page");
        assert!(page.contains("role=\"alert\"") && page.contains(name), "the reason, and the name kept: {page}");
    }
}

#[tokio::test]
async fn five_failures_lock_the_name_even_against_the_right_password_from_the_client_that_failed() {
    let seeded = Seeded::new().await;
    ivr::access::add_user(&seeded.store, "asel", Role::Admin, PASSWORD, None).await.expect("a user");
    for attempt in 1..=5 {
        assert_eq!(sign_in_raw(&seeded, "asel", "guess").await.status(), 401, "attempt {attempt}");
    }
    let locked = sign_in_raw(&seeded, "asel", PASSWORD).await;
    assert_eq!(locked.status(), 429);
    assert!(set_cookie(&locked, "ivr_session").is_none());
    let page = locked.text().await.expect("a page");
    assert!(page.contains("15"), "says how many minutes are left: {page}");
    ivr::access::add_user(&seeded.store, "dana", Role::Analyst, PASSWORD, None).await.expect("a user");
    assert_eq!(sign_in_raw(&seeded, "dana", PASSWORD).await.status(), 303, "other names are not locked");
}

#[tokio::test]
async fn guesses_sent_all_at_once_get_no_more_tries_than_the_limit() {
    // Enough password checks at once that none is refused as busy (see `flood.rs` for that).
    let seeded =
        Seeded::with(Options { env: vec![("IVR_PASSWORD_CHECKS", "16".to_owned())], ..Options::default() }).await;
    ivr::access::add_user(&seeded.store, "asel", Role::Admin, PASSWORD, None).await.expect("a user");
    let guesses: Vec<String> = (0..12).map(|i| format!("guess number {i}")).collect();
    let attempts = guesses.iter().map(|guess| sign_in_raw(&seeded, "asel", guess)).collect();
    let statuses = statuses_at_once(attempts).await;
    let checked = statuses.iter().filter(|status| **status == 401).count();
    let refused = statuses.iter().filter(|status| **status == 429).count();
    assert_eq!((checked, refused), (5, 7), "five passwords checked, the rest refused unchecked: {statuses:?}");
}

/// Runs the sign-ins at once on this task; their statuses, in the order they answered.
async fn statuses_at_once<F: Future<Output = reqwest::Response>>(attempts: Vec<F>) -> Vec<u16> {
    let mut pending: Vec<Pin<Box<F>>> = attempts.into_iter().map(Box::pin).collect();
    let mut statuses = Vec::new();
    std::future::poll_fn(|cx| {
        pending.retain_mut(|attempt| match attempt.as_mut().poll(cx) {
            Poll::Ready(response) => {
                statuses.push(response.status().as_u16());
                false
            }
            Poll::Pending => true,
        });
        if pending.is_empty() { Poll::Ready(()) } else { Poll::Pending }
    })
    .await;
    statuses
}

#[tokio::test]
async fn forms_without_the_session_token_change_nothing() {
    let seeded = Seeded::new().await;
    let mut admin = Session::sign_in(&seeded, "asel", Role::Admin, None).await;
    for csrf in ["", "forged"] {
        let added = admin
            .post("/admin/operators", &[("csrf", csrf), ("name", "X"), ("target", "+77010000001"), ("languages", "kk")])
            .await;
        assert_eq!(added.status, 403, "csrf `{csrf}`");
        let language = admin.post("/admin/language", &[("csrf", csrf), ("lang", "ru"), ("next", "/admin")]).await;
        assert_eq!(language.status, 403);
        assert_eq!(admin.post("/admin/logout", &[("csrf", csrf)]).await.status, 403);
    }
    let roster = admin.get("/admin/operators").await;
    assert!(!roster.body.contains("+77010000001"), "nothing was added");
    assert_eq!(admin.get("/admin").await.status, 200, "still signed in");

    let stranger = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().expect("client");
    let body = "csrf=&name=asel&password=a+long+enough+password";
    let forged = stranger
        .post(format!("{}/login", seeded.app.address))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(body)
        .send()
        .await
        .expect("answers");
    assert_eq!(forged.status(), 403, "a sign-in form from another site is refused");
}

#[tokio::test]
async fn the_language_is_remembered_and_signing_out_ends_the_session() {
    let seeded = Seeded::new().await;
    let mut analyst = Session::sign_in(&seeded, "dana", Role::Analyst, None).await;
    let csrf = analyst.csrf("/admin/flow").await;
    let chosen = analyst.post("/admin/language", &[("csrf", &csrf), ("lang", "ru"), ("next", "/admin/flow")]).await;
    assert_eq!((chosen.status, chosen.location.as_str()), (303, "/admin/flow"));
    assert!(analyst.get("/admin/flow").await.body.contains("<html lang=\"ru\""), "the choice is kept");
    let cookies = analyst.cookies.clone();

    let out = analyst.post("/admin/logout", &[("csrf", &csrf)]).await;
    assert_eq!(out.status, 303);
    assert!(out.location.starts_with("/login"), "{}", out.location);
    let mut replay = Session { seeded: &seeded, client: analyst.client.clone(), cookies };
    let page = replay.get("/admin").await;
    assert!(page.status == 303 && page.location.starts_with("/login"), "the old cookie opens nothing");
}

#[tokio::test]
async fn tokens_open_the_api_for_their_role_until_revoked() {
    let seeded = Seeded::new().await;
    let analyst = seeded.token(Role::Analyst).await;
    let day = crate::reports::today().format("%Y-%m-%d");
    let summary = format!("/api/v1/reports/summary?from={day}&to={day}");
    assert_eq!(seeded.get(&summary, Some(&analyst)).await.status, 200);
    assert_eq!(seeded.get("/api/v1/operators", Some(&analyst)).await.status, 403, "analysts read reports only");
    let refused = seeded.get(&summary, Some("not-a-token")).await;
    assert_eq!(refused.status, 401);
    assert!(refused.content_type.starts_with("application/json"), "the API answers JSON: {refused:?}");
    assert_eq!(seeded.get("/admin", Some("not-a-token")).await.status, 401, "a program is not sent to sign in");
    let tokens = ivr::access::AccessStore::list_tokens(&seeded.store).await.expect("tokens");
    ivr::access::AccessStore::revoke_token(&seeded.store, tokens[0].id).await.expect("revoked");
    assert_eq!(seeded.get(&summary, Some(&analyst)).await.status, 401, "a revoked token opens nothing");
}
