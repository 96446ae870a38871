//! The admin pages over HTTP, signed in through the real login form: the dashboard's
//! numbers over calls scripted through the webhooks, the prompt library and the flow, the
//! roster forms, and who may open what.

use ivr::access::Role;

use crate::reports::{Seeded, script_calls, today};

pub const PASSWORD: &str = "a long enough password";

/// A browser's cookie jar for one signed-in user, kept by hand (reqwest has no cookie store
/// in this build), with the CSRF token the pages carry.
pub struct Session<'a> {
    pub seeded: &'a Seeded,
    pub client: reqwest::Client,
    pub cookies: Vec<(String, String)>,
}

pub struct Page {
    pub status: u16,
    pub location: String,
    pub body: String,
}

impl<'a> Session<'a> {
    /// Signs `name` in through `GET /login` and its form.
    pub async fn sign_in(seeded: &'a Seeded, name: &str, role: Role, operator_id: Option<i64>) -> Session<'a> {
        ivr::access::add_user(&seeded.store, name, role, PASSWORD, operator_id).await.expect("a user");
        let client = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().expect("client");
        let mut session = Session { seeded, client, cookies: Vec::new() };
        let login = session.get("/login").await;
        let csrf = csrf_of(&login.body);
        let signed_in = session.post("/login", &[("csrf", &csrf), ("name", name), ("password", PASSWORD)]).await;
        assert_eq!(signed_in.status, 303, "signed in: {}", signed_in.body);
        session
    }

    pub async fn get(&mut self, path: &str) -> Page {
        let request = self.client.get(format!("{}{path}", self.seeded.app.address));
        self.send(request).await
    }

    pub async fn post(&mut self, path: &str, form: &[(&str, &str)]) -> Page {
        let body = form_urlencoded::Serializer::new(String::new()).extend_pairs(form).finish();
        let request = self
            .client
            .post(format!("{}{path}", self.seeded.app.address))
            .header("content-type", "application/x-www-form-urlencoded")
            .body(body);
        self.send(request).await
    }

    pub async fn send(&mut self, request: reqwest::RequestBuilder) -> Page {
        let jar: Vec<String> = self.cookies.iter().map(|(n, v)| format!("{n}={v}")).collect();
        let request = if jar.is_empty() { request } else { request.header("cookie", jar.join("; ")) };
        let response = request.send().await.expect("the server answers");
        for set in response.headers().get_all("set-cookie") {
            let pair = set.to_str().unwrap_or("").split(';').next().unwrap_or("");
            if let Some((name, value)) = pair.split_once('=') {
                self.cookies.retain(|(n, _)| n != name);
                self.cookies.push((name.trim().to_owned(), value.trim().to_owned()));
            }
        }
        let location = response.headers().get("location").and_then(|v| v.to_str().ok()).unwrap_or("").to_owned();
        Page { status: response.status().as_u16(), location, body: response.text().await.expect("a body") }
    }

    /// The CSRF token of the last page with a form.
    pub async fn csrf(&mut self, path: &str) -> String {
        csrf_of(&self.get(path).await.body)
    }
}

pub fn csrf_of(html: &str) -> String {
    let at = html.find("name=\"csrf\" value=\"").expect("a form with a CSRF token") + "name=\"csrf\" value=\"".len();
    html[at..].split('"').next().unwrap_or("").to_owned()
}

#[tokio::test]
async fn the_dashboard_shows_the_scripted_calls() {
    let seeded = Seeded::new().await;
    script_calls(&seeded.app).await;
    let mut analyst = Session::sign_in(&seeded, "dana", Role::Analyst, None).await;
    let day = today().format("%Y-%m-%d");
    let page = analyst.get(&format!("/admin?from={day}&to={day}&lang=ru")).await;
    assert_eq!(page.status, 200, "{}", page.body);
    let cards: Vec<&str> =
        page.body.match_indices("class=\"card-value\">").map(|(i, m)| &page.body[i + m.len()..]).collect();
    let value = |i: usize| cards[i].split('<').next().unwrap_or("");
    // Calls, police, operator, abandoned: the four scripted calls.
    assert_eq!([value(0), value(1), value(2), value(3)], ["4", "1", "1", "1"], "{}", page.body);
    let charts = page.body.matches("<svg").count();
    assert!(charts >= 6, "the charts are drawn: {charts}");
    assert!(page.body.contains("id=\"funnel\""), "the hang-up funnel is drawn");
    assert!(page.body.contains("<meter min=\"0\" max=\"1\" value=\"1\""), "one operator transfer, answered");

    let refused = analyst.get("/admin?from=2026-02-01&to=2026-01-01").await;
    assert_eq!(refused.status, 200, "a bad range shows the page with a note");
    assert!(refused.body.contains("role=\"alert\""), "{}", refused.body);
}

#[tokio::test]
async fn the_prompt_and_flow_pages_show_the_library_and_the_menu() {
    let seeded = Seeded::new().await;
    let mut analyst = Session::sign_in(&seeded, "dana", Role::Analyst, None).await;
    let prompts = analyst.get("/admin/prompts").await;
    assert_eq!(prompts.status, 200);
    let library = crate::helpers::bundled_prompts();
    assert_eq!(prompts.body.matches("<audio controls").count(), library.keys().count() * 2);
    assert!(prompts.body.contains("src=\"/prompts/kk/welcome.wav\""), "prompts play from /prompts");
    let welcome = &library.get(ivr::flow::Language::Ru, &ivr::flow::PromptKey::parse("welcome").unwrap()).unwrap();
    assert!(prompts.body.contains(welcome.transcript.lines().next().unwrap_or("")), "transcripts are shown");
    let flow = analyst.get("/admin/flow").await;
    assert_eq!(flow.status, 200);
    assert!(flow.body.contains("safety_plan") && flow.body.contains("language"), "the flow's nodes are drawn");
}

#[tokio::test]
async fn an_admin_manages_the_roster_through_the_forms() {
    let seeded = Seeded::new().await;
    let mut admin = Session::sign_in(&seeded, "asel", Role::Admin, None).await;
    let csrf = admin.csrf("/admin/operators").await;
    let form = |name, target, languages| {
        vec![("csrf", csrf.as_str()), ("name", name), ("target", target), ("languages", languages)]
    };
    let added = admin.post("/admin/operators", &form("Гүлнар", "+77011112233", "kk")).await;
    assert_eq!((added.status, added.location.as_str()), (303, "/admin/operators"));
    let refused = admin.post("/admin/operators", &form("Ерлан", "not a number", "ru")).await;
    assert_eq!(refused.status, 400);
    assert!(
        refused.body.contains("role=\"alert\"") && refused.body.contains("Ерлан"),
        "the reason, and what was typed"
    );
    let forged = admin
        .post("/admin/operators", &[("csrf", "forged"), ("name", "X"), ("target", "+77010000000"), ("languages", "kk")])
        .await;
    assert_eq!(forged.status, 403, "a form without this session's token is refused");
    let page = admin.get("/admin/operators").await;
    assert!(page.body.contains("Гүлнар") && page.body.contains("+77011112233"), "{}", page.body);
    assert!(!page.body.contains("not a number"));
}

#[tokio::test]
async fn pages_are_for_their_roles() {
    let seeded = Seeded::new().await;
    let mut analyst = Session::sign_in(&seeded, "dana", Role::Analyst, None).await;
    for path in ["/admin", "/admin/prompts", "/admin/flow"] {
        assert_eq!(analyst.get(path).await.status, 200, "analyst {path}");
    }
    assert_eq!(analyst.get("/admin/operators").await.status, 403, "analysts do not manage the roster");
    let mut stranger = Session { seeded: &seeded, client: analyst.client.clone(), cookies: Vec::new() };
    let page = stranger.get("/admin").await;
    assert!(page.status == 303 && page.location.starts_with("/login"), "without a session: the login page");
}

#[tokio::test]
async fn every_html_page_carries_the_security_headers() {
    let seeded = Seeded::new().await;
    let admin = Session::sign_in(&seeded, "asel", Role::Admin, None).await;
    let cookies: Vec<String> = admin.cookies.iter().map(|(n, v)| format!("{n}={v}")).collect();
    let protected = ivr::app::protected_routes();
    let pages = protected.routes().iter().filter(|r| r.method == "GET" && r.path.starts_with("/admin"));
    let paths: Vec<String> = pages.map(|r| r.path.replace("{id}", "1")).chain(["/login".to_owned()]).collect();
    assert!(paths.len() >= 5, "{paths:?}");
    let policy = ivr::admin::content_security_policy();
    for path in &paths {
        let response = admin
            .client
            .get(format!("{}{path}", seeded.app.address))
            .header("cookie", cookies.join("; "))
            .send()
            .await
            .expect("an answer");
        let headers = response.headers().clone();
        let html = headers["content-type"].to_str().unwrap().starts_with("text/html");
        assert!(html && response.status() == 200, "{path}: {} {:?}", response.status(), headers["content-type"]);
        assert_eq!(headers["content-security-policy"], policy, "{path}");
        assert_eq!(headers["x-content-type-options"], "nosniff", "{path}");
        assert_eq!(headers["referrer-policy"], "no-referrer", "{path}");
        assert_eq!(headers["x-frame-options"], "DENY", "{path}");
        let body = response.text().await.expect("a page");
        assert!(!body.contains("<script"), "{path}: no script");
    }
    for directive in ["default-src 'none'", "frame-ancestors 'none'", "style-src 'sha256-"] {
        assert!(policy.contains(directive), "{policy}");
    }
    assert!(!policy.contains("script-src") && !policy.contains("unsafe-inline"), "no script at all: {policy}");
}

#[test]
fn the_policy_admits_exactly_the_stylesheet_every_page_inlines() {
    use base64::Engine;
    use sha2::Digest;
    let page = ivr::admin::views::login_page(&ivr::admin::views::LoginView {
        ui: ivr::admin::views::Ui::Kk,
        csrf: "x".to_owned(),
        name: String::new(),
        next: "/admin".to_owned(),
        message: None,
    });
    let inlined = page.split("<style>").nth(1).and_then(|rest| rest.split("</style>").next()).expect("a style");
    let hash = base64::engine::general_purpose::STANDARD.encode(sha2::Sha256::digest(inlined.as_bytes()));
    assert!(ivr::admin::content_security_policy().contains(&format!("'sha256-{hash}'")));
    assert_eq!(page.matches("<style>").count(), 1, "one inlined stylesheet");
}
