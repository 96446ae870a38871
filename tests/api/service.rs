//! Health, readiness and the front page: what a load balancer, an alert and a person
//! opening the service's address see. Readiness is reported, never a gate: every test that
//! makes the instance not ready also checks that a call is still answered.

use serde_json::Value;

use crate::helpers::{OPERATOR_NUMBER, Options, PUBLIC_URL, TestApp, spawn_app, spawn_app_with};
use crate::stats::counting::spawn_on;
use crate::stats::support::{Backend, TestDatabase};

async fn get(app: &TestApp, path: &str) -> (u16, String) {
    let response = app.client.get(format!("{}{path}", app.address)).send().await.expect("the service answers");
    (response.status().as_u16(), response.text().await.expect("a body"))
}

async fn readiness(app: &TestApp) -> (u16, Value) {
    let (status, body) = get(app, "/readyz").await;
    (status, serde_json::from_str(&body).unwrap_or_else(|e| panic!("/readyz is not JSON ({e}): {body}")))
}

/// The check called `name` in a `/readyz` body: whether it is ok, and its sentence.
fn check(body: &Value, name: &str) -> (bool, String) {
    let checks = body["checks"].as_array().expect("a list of checks");
    let found = checks.iter().find(|c| c["name"] == name).unwrap_or_else(|| panic!("no `{name}` check: {body}"));
    (found["ok"].as_bool().expect("ok is a boolean"), found["detail"].as_str().expect("a detail").to_owned())
}

async fn a_call_is_answered(app: &TestApp) {
    let call = app.call().await;
    assert!(!call.hearing().is_empty(), "the caller hears the language menu");
}

#[tokio::test]
async fn healthz_answers_while_the_process_runs() {
    let app = spawn_app().await;
    let (status, body) = get(&app, "/healthz").await;
    assert_eq!(status, 200);
    assert_eq!(serde_json::from_str::<Value>(&body).expect("JSON"), serde_json::json!({ "alive": true }));
}

#[tokio::test]
async fn ready_with_flow_database_and_someone_to_ring() {
    let app = spawn_app().await;
    app.stats.flush().await.expect("statistics on");
    let (status, body) = readiness(&app).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["ready"], true);
    for name in ["flow_and_prompts", "database", "not_draining", "someone_to_ring"] {
        assert!(check(&body, name).0, "{name}: {body}");
    }
    assert_eq!(check(&body, "database").1, "reachable");
    assert!(check(&body, "someone_to_ring").1.contains("switchboard set"), "{body}");
}

#[tokio::test]
async fn nobody_to_ring_is_not_ready_and_says_why_yet_calls_are_answered() {
    let app = spawn_app_with(Options { operator: None, ..Options::default() }).await;
    let (status, body) = readiness(&app).await;
    assert_eq!(status, 503, "{body}");
    assert_eq!(body["ready"], false);
    let (ok, detail) = check(&body, "someone_to_ring");
    assert!(!ok);
    assert_eq!(detail, ivr::operators::NOBODY_TO_RING);
    assert!(detail.contains("silent caller") && detail.contains("IVR_OPERATOR_NUMBER"), "{detail}");
    assert!(check(&body, "flow_and_prompts").0 && check(&body, "not_draining").0, "only the roster fails: {body}");
    a_call_is_answered(&app).await;
    let (status, page) = get(&app, "/").await;
    assert_eq!(status, 200);
    assert!(page.contains("NOBODY TO RING"), "the front page says it loudly");
}

#[tokio::test]
async fn draining_fails_readiness_at_once_and_calls_are_still_answered() {
    let app = spawn_app().await;
    assert_eq!(readiness(&app).await.0, 200);
    app.state.as_ref().expect("in this process").start_draining();
    let (status, body) = readiness(&app).await;
    assert_eq!(status, 503, "{body}");
    let (ok, detail) = check(&body, "not_draining");
    assert!(!ok && detail.contains("shutting down"), "{body}");
    a_call_is_answered(&app).await;
}

#[tokio::test]
async fn an_unreachable_database_with_a_small_spool_is_still_ready() {
    let db = TestDatabase::unreachable(&Backend::Sqlite);
    let app = spawn_on(&db, &[]).await;
    app.call().await.press("1").await;
    let report = app.stats.flush().await.expect("statistics on");
    assert!(report.spooled && !report.database_up, "{report:?}");
    let (status, body) = readiness(&app).await;
    assert_eq!(status, 200, "{body}");
    let (ok, detail) = check(&body, "database");
    assert!(ok && detail.starts_with("not reachable now: statistics are spooled"), "{detail}");
    assert!(!detail.contains("0 bytes in 0 files"), "the spool's size is told: {detail}");
}

#[tokio::test]
async fn the_front_page_says_what_this_is_in_kazakh_and_russian_without_caller_data() {
    let app = spawn_app().await;
    app.call_from("+77019998877", "CA0000000000000000000000000000f00d").await.press("1").await;
    let (status, page) = get(&app, "/").await;
    assert_eq!(status, 200);
    assert!(page.contains(r#"lang="kk""#) && page.contains(r#"lang="ru""#), "both languages");
    assert!(page.contains("111 желісінің") && page.contains("линии 111"), "says what the service is");
    for path in ["/admin", "/twilio/voice", "/twilio/status", "/jambonz/call", "/jambonz/status"] {
        let url = format!("{PUBLIC_URL}{path}");
        assert!(page.contains(&url), "{url} is on the page");
    }
    assert!(page.contains("Дайын") && page.contains("Готов"), "ready, in both languages");
    assert!(!page.contains("NOBODY TO RING"), "someone can be rung");
    for secret in ["77019998877", "f00d", OPERATOR_NUMBER] {
        assert!(!page.contains(secret), "`{secret}` is on the front page");
    }
}
