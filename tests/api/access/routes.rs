//! Every route under `/admin` and `/api`, walked from the router's own table
//! (`ivr::app::protected_routes`, which is what the router is built from): without
//! credentials, with each role it does not admit, and with one it does.

use std::collections::HashMap;

use ivr::access::Role;
use reqwest::Method;

use crate::dashboard::Session;
use crate::reports::Seeded;

struct Answer {
    status: u16,
    location: String,
}

async fn send(seeded: &Seeded, method: &Method, path: &str, token: Option<&str>, cookies: &str) -> Answer {
    let client = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().expect("client");
    let mut request = client.request(method.clone(), format!("{}{path}", seeded.app.address));
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    if !cookies.is_empty() {
        request = request.header("cookie", cookies);
    }
    let response = request.send().await.expect("the server answers");
    let location = response.headers().get("location").and_then(|v| v.to_str().ok()).unwrap_or("").to_owned();
    Answer { status: response.status().as_u16(), location }
}

fn refused_to_a_stranger(path: &str, answer: &Answer) -> bool {
    if path.starts_with("/api") {
        answer.status == 401
    } else {
        answer.status == 303 && answer.location.starts_with("/login?next=")
    }
}

#[tokio::test]
async fn every_protected_route_refuses_strangers_and_the_roles_it_does_not_admit() {
    let seeded = Seeded::new().await;
    let mut tokens = HashMap::new();
    for role in Role::ALL {
        tokens.insert(role, seeded.token(role).await);
    }
    let mut admin = Session::sign_in(&seeded, "asel", Role::Admin, None).await;
    let csrf = admin.csrf("/admin/flow").await;
    let cookies: Vec<String> = admin.cookies.iter().map(|(n, v)| format!("{n}={v}")).collect();
    let cookies = cookies.join("; ");
    let protected = ivr::app::protected_routes();
    let mut routes = protected.routes().to_vec();
    // Signing out last: it ends the session the other routes are opened with.
    routes.sort_by_key(|route| route.path == ivr::admin::views::paths::LOGOUT);
    assert!(routes.len() >= 19, "the table lists every page, form and API route: {}", routes.len());
    for route in &routes {
        let path = route.path.replace("{id}", "1");
        let what = format!("{} {path}", route.method);
        let stranger = send(&seeded, &route.method, &path, None, "").await;
        assert!(refused_to_a_stranger(&path, &stranger), "{what} without credentials: {}", stranger.status);
        for role in Role::ALL.into_iter().filter(|role| !route.roles.contains(role)) {
            let answer = send(&seeded, &route.method, &path, Some(&tokens[&role]), "").await;
            assert_eq!(answer.status, 403, "{what} as {role:?}");
        }
        let admitted = if path.starts_with("/api") {
            send(&seeded, &route.method, &path, Some(&tokens[&Role::Admin]), "").await
        } else if route.method == Method::GET {
            send(&seeded, &route.method, &path, None, &cookies).await
        } else {
            let form = admin.post(&path, &[("csrf", &csrf)]).await;
            Answer { status: form.status, location: form.location }
        };
        let refused = matches!(admitted.status, 401 | 403) || admitted.location.starts_with("/login?next=");
        assert!(!refused, "{what} as admin: {}", admitted.status);
    }
}

#[tokio::test]
async fn paths_no_route_has_are_refused_before_they_are_looked_up() {
    let seeded = Seeded::new().await;
    for path in ["/admin/nothing-here", "/admin/", "/api", "/api/v1/nothing-here", "/api/v2/reports/summary"] {
        let answer = send(&seeded, &Method::GET, path, None, "").await;
        assert!(refused_to_a_stranger(path, &answer), "{path}: {}", answer.status);
    }
}

#[tokio::test]
async fn everything_a_signed_in_browser_sends_that_changes_something_needs_its_csrf_token() {
    let seeded = Seeded::new().await;
    let mut admin = Session::sign_in(&seeded, "asel", Role::Admin, None).await;
    let csrf = admin.csrf("/admin/flow").await;
    let protected = ivr::app::protected_routes();
    let writes: Vec<_> = protected.routes().iter().filter(|route| route.method != Method::GET).collect();
    assert!(writes.len() >= 10, "every form and API write: {}", writes.len());
    for route in writes {
        assert!(route.roles.contains(&Role::Admin), "only the token can refuse an admin here");
        let url = format!("{}{}", seeded.app.address, route.path.replace("{id}", "1"));
        let what = format!("{} {}", route.method, route.path);
        for form in ["", "csrf=", "csrf=forged&name=x"] {
            let request = admin.client.request(route.method.clone(), &url).header("content-type", FORM).body(form);
            let refused = admin.send(request).await;
            assert_eq!(refused.status, 403, "{what} with `{form}`");
            assert!(refused.body.contains("the form has expired"), "{what}: {}", refused.body);
        }
        let request = admin.client.request(route.method.clone(), &url).header(ivr::access::CSRF_HEADER, "forged");
        assert_eq!(admin.send(request).await.status, 403, "{what} with a forged header");
    }
    let availability = format!("{}/api/v1/operators/1/availability", seeded.app.address);
    let request = admin.client.put(&availability).header(ivr::access::CSRF_HEADER, &csrf).body("{}");
    assert_ne!(admin.send(request).await.status, 403, "a script sends the token in the header");
    assert_eq!(admin.get("/admin").await.status, 200, "still signed in: the forged sign-out did nothing");
}

const FORM: &str = "application/x-www-form-urlencoded";
