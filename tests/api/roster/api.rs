//! `/api/v1/operators` with real bearer tokens: an administrator manages the roster and the
//! next caller is rung accordingly at once; bad input gets a JSON sentence and changes
//! nothing; an operator switches their own availability and nobody else's.

use ivr::access::{Role, create_token};
use reqwest::Method;
use serde_json::{Value, json};

use crate::helpers::{OPERATOR_NUMBER, Options, TestApp};
use crate::stats::support::Backend;

use super::{RosterApp, rings_eventually, roster_app};

/// Reloads only when the API asks: what the tests see is the API's own reload.
async fn app_reloading_only_on_change() -> RosterApp {
    let options = Options { env: vec![("IVR_ROSTER_REFRESH_MS", "3600000".to_owned())], ..Options::default() };
    roster_app(&Backend::Sqlite, options).await
}

pub(super) async fn token(roster: &RosterApp, role: Role, operator_id: Option<i64>) -> String {
    create_token(&roster.store, role, "roster test", operator_id).await.expect("a token")
}

/// Sends a request; returns the status and the JSON body (`Null` when there is none).
pub(super) async fn api(
    app: &TestApp,
    method: Method,
    path: &str,
    token: Option<&str>,
    body: Option<&str>,
) -> (u16, Value) {
    let mut request = app.client.request(method, format!("{}{path}", app.address));
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    if let Some(body) = body {
        request = request.header("content-type", "application/json").body(body.to_owned());
    }
    let response = request.send().await.expect("the API answers");
    let status = response.status().as_u16();
    let text = response.text().await.expect("a body");
    (status, serde_json::from_str(&text).unwrap_or(Value::Null))
}

#[tokio::test]
async fn an_administrator_manages_the_roster_and_callers_follow_at_once() {
    let roster = app_reloading_only_on_change().await;
    let admin = token(&roster, Role::Admin, None).await;
    let app = &roster.app;
    let body = r#"{"name": "Айгерим", "target": "+77170000001", "languages": "kk"}"#;
    let (status, added) = api(app, Method::POST, "/api/v1/operators", Some(&admin), Some(body)).await;
    assert_eq!(status, 201, "{added}");
    assert_eq!(
        (&added["name"], &added["target"], &added["available"]),
        (&json!("Айгерим"), &json!("+77170000001"), &json!(true))
    );
    rings_eventually(app, "kk", &["+77170000001"]).await;

    let id = added["id"].as_i64().expect("an id");
    let path = format!("/api/v1/operators/{id}");
    let (status, patched) = api(app, Method::PATCH, &path, Some(&admin), Some(r#"{"languages": "ru"}"#)).await;
    assert_eq!((status, &patched["languages"], &patched["name"]), (200, &json!("ru"), &json!("Айгерим")));
    rings_eventually(app, "ru", &["+77170000001"]).await;
    rings_eventually(app, "kk", &["+77170000001"]).await; // nobody speaks kk: anyone available

    let (status, list) = api(app, Method::GET, "/api/v1/operators", Some(&admin), None).await;
    assert_eq!((status, list.as_array().map(Vec::len)), (200, Some(1)));
    assert_eq!(api(app, Method::GET, &path, Some(&admin), None).await, (200, patched));
    assert_eq!(api(app, Method::DELETE, &path, Some(&admin), None).await.0, 204);
    rings_eventually(app, "ru", &[OPERATOR_NUMBER]).await;
    let (status, error) = api(app, Method::GET, &path, Some(&admin), None).await;
    assert_eq!((status, &error["error"]), (404, &json!(format!("there is no operator with id {id}"))));
}

#[tokio::test]
async fn bad_input_gets_a_clear_json_error_and_changes_nothing() {
    let roster = app_reloading_only_on_change().await;
    let admin = token(&roster, Role::Admin, None).await;
    let kept = roster.add("Айгерим", "+77170000001", "kk", true).await;
    let app = &roster.app;
    let one = format!("/api/v1/operators/{}", kept.id);
    let add = |body: &'static str| (Method::POST, "/api/v1/operators".to_owned(), Some(body));
    let cases = [
        (
            add(r#"{"name": "A", "target": "+77170000002", "languages": "en"}"#),
            400,
            "unknown language `en`: use kk, ru or both",
        ),
        (add(r#"{"name": "A", "target": "8 701", "languages": "kk"}"#), 400, "`8 701` is neither a phone number"),
        (add(r#"{"name": "A", "target": "sip:", "languages": "kk"}"#), 400, "a sip: URI nor an Asterisk dial string"),
        (
            add(r#"{"name": "", "target": "+77170000002", "languages": "kk"}"#),
            400,
            "the name must be 1 to 100 characters",
        ),
        (
            add(r#"{"name": "A", "target": "+77170000001", "languages": "ru"}"#),
            409,
            "another operator is already rung at `+77170000001`",
        ),
        (add(r#"{"name": "A", "target": "+77170000002"}"#), 400, "missing field `languages`"),
        (
            add(r#"{"name": "A", "target": "+77170000002", "languages": "kk", "role": "x"}"#),
            400,
            "unknown field `role`",
        ),
        (add("name=A"), 400, "the body is not the JSON this request takes"),
        ((Method::PATCH, one.clone(), Some("{}")), 400, "nothing to change"),
        ((Method::PATCH, one.clone(), Some(r#"{"target": "12ab"}"#)), 400, "`12ab` is neither"),
        (
            (Method::PATCH, "/api/v1/operators/99".to_owned(), Some(r#"{"name": "Z"}"#)),
            404,
            "there is no operator with id 99",
        ),
        ((Method::DELETE, "/api/v1/operators/99".to_owned(), None), 404, "there is no operator with id 99"),
        ((Method::GET, "/api/v1/operators/abc".to_owned(), None), 400, "`abc` is not an operator id"),
        ((Method::PUT, format!("{one}/availability"), Some(r#"{"available": "no"}"#)), 400, "invalid type"),
    ];
    for ((method, path, body), status, message) in cases {
        let (got, answer) = api(app, method.clone(), &path, Some(&admin), body).await;
        let text = answer["error"].as_str().unwrap_or_default();
        assert_eq!(got, status, "{method} {path} {body:?}: {answer}");
        assert!(text.contains(message), "{method} {path} {body:?} should say {message:?}: {answer}");
    }
    let (_, list) = api(app, Method::GET, "/api/v1/operators", Some(&admin), None).await;
    assert_eq!(list.as_array().map(Vec::len), Some(1), "nothing was added: {list}");
    assert_eq!(list[0]["target"], "+77170000001", "nothing was changed: {list}");
}

#[tokio::test]
async fn an_operator_switches_their_own_availability_but_not_anothers() {
    let roster = app_reloading_only_on_change().await;
    let admin = token(&roster, Role::Admin, None).await;
    let app = &roster.app;
    let mut ids = Vec::new();
    for (name, target) in [("Айгерим", "+77170000001"), ("Динара", "+77170000002")] {
        let body = format!(r#"{{"name": "{name}", "target": "{target}", "languages": "kk"}}"#);
        let (status, added) = api(app, Method::POST, "/api/v1/operators", Some(&admin), Some(&body)).await;
        assert_eq!(status, 201, "{added}");
        ids.push(added["id"].as_i64().expect("an id"));
    }
    let (aigerim, dinara) = (ids[0], ids[1]);
    let own = token(&roster, Role::Operator, Some(aigerim)).await;
    let analyst = token(&roster, Role::Analyst, None).await;
    rings_eventually(app, "kk", &["+77170000001", "+77170000002"]).await;

    let mine = format!("/api/v1/operators/{aigerim}/availability");
    let (status, answer) = api(app, Method::PUT, &mine, Some(&own), Some(r#"{"available": false}"#)).await;
    assert_eq!((status, &answer["available"]), (200, &json!(false)), "{answer}");
    rings_eventually(app, "kk", &["+77170000002"]).await;

    let theirs = format!("/api/v1/operators/{dinara}/availability");
    let (status, answer) = api(app, Method::PUT, &theirs, Some(&own), Some(r#"{"available": false}"#)).await;
    assert_eq!(status, 403, "another operator's availability: {answer}");
    assert!(answer["error"].is_string(), "{answer}");
    let refused = [
        (Method::GET, "/api/v1/operators".to_owned(), Some(own.as_str()), 403),
        (Method::DELETE, format!("/api/v1/operators/{dinara}"), Some(own.as_str()), 403),
        (Method::PUT, theirs.clone(), Some(analyst.as_str()), 403),
        (Method::PUT, theirs.clone(), None, 401),
        (Method::PUT, theirs.clone(), Some("not-a-token"), 401),
    ];
    for (method, path, token, status) in refused {
        let body = (method == Method::PUT).then_some(r#"{"available": false}"#);
        assert_eq!(api(app, method.clone(), &path, token, body).await.0, status, "{method} {path}");
    }
    rings_eventually(app, "kk", &["+77170000002"]).await;
    let (status, _) = api(app, Method::PUT, &mine, Some(&own), Some(r#"{"available": true}"#)).await;
    assert_eq!(status, 200);
    rings_eventually(app, "kk", &["+77170000001", "+77170000002"]).await;
}

#[tokio::test]
async fn a_dial_string_is_refused_while_a_webhook_dialect_is_configured() {
    let options = Options { token: Some("twilio-auth-token".into()), ..Options::default() };
    let roster = roster_app(&Backend::Sqlite, options).await;
    let admin = token(&roster, Role::Admin, None).await;
    let app = &roster.app;
    let desk = r#"{"name": "Пульт", "target": "PJSIP/ops", "languages": "kk"}"#;
    let (status, refused) = api(app, Method::POST, "/api/v1/operators", Some(&admin), Some(desk)).await;
    assert_eq!(status, 400, "{refused}");
    assert_eq!(refused["error"], json!("the target: `PJSIP/ops` is an Asterisk dial string, which TwiML cannot dial"));
    let body = r#"{"name": "Айгерим", "target": "+77170000001", "languages": "kk"}"#;
    let (status, added) = api(app, Method::POST, "/api/v1/operators", Some(&admin), Some(body)).await;
    assert_eq!(status, 201, "{added}");
    let path = format!("/api/v1/operators/{}", added["id"]);
    let (status, refused) = api(app, Method::PATCH, &path, Some(&admin), Some(r#"{"target": "PJSIP/ops"}"#)).await;
    assert_eq!(status, 400, "{refused}");
    assert!(refused["error"].as_str().is_some_and(|e| e.contains("`PJSIP/ops`")), "{refused}");
    let (_, list) = api(app, Method::GET, "/api/v1/operators", Some(&admin), None).await;
    assert_eq!(
        list.as_array().map(|l| l.iter().map(|o| o["target"].clone()).collect()),
        Some(vec![json!("+77170000001")])
    );
}
