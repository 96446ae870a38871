//! Signatures over HTTP, `X-Twilio-Signature` and `Jambonz-Signature`: a signed call goes
//! through every webhook in both dialects; a missing, wrong, tampered or stale one is 403
//! and is logged without anything from the request.

use ivr::softphone::{Caller, Dialect, Event, WebhookDialect};
use ivr::telephony::jambonz::signature::{TOLERANCE_SECONDS, sign as jambonz_sign};

use crate::helpers::{Options, TestApp, caller_fields, captured_logs, in_every_dialect, spawn_app, spawn_app_with};

// Signatures are the webhooks' own: FastAGI has none (it lets in only IVR_AGI_ALLOW).
in_every_dialect!(; webhooks only: signed_calls_go_through_every_webhook);

fn with_token(public_url: &str) -> Options {
    Options { token: Some("12345".into()), public_url: public_url.into(), ..Options::default() }
}

async fn raw_post(app: &crate::helpers::TestApp, path: &str, signature: Option<&str>, body: String) -> u16 {
    let mut request = app
        .client
        .post(format!("{}{path}", app.address))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(body);
    if let Some(signature) = signature {
        request = request.header("x-twilio-signature", signature);
    }
    request.send().await.expect("server answers").status().as_u16()
}

fn form(params: &[(String, String)]) -> String {
    form_urlencoded::Serializer::new(String::new()).extend_pairs(params).finish()
}

async fn signed_calls_go_through_every_webhook(dialect: WebhookDialect) {
    let app = spawn_app_with(Options { dialect: dialect.into(), ..with_token("https://ivr.test") }).await;
    let mut call = app.call().await;
    call.choose_language("2").await.press("9").await.dial_ends("busy").await;
    assert_eq!(call.node(), "police_unreachable");
    call.press("0").await;
    assert_eq!(call.whisper(0).await[0], "ru/whisper_language_ru", "the operator's whisper hook is signed too");
    call.dial_ends("completed").await.hang_up("completed").await;
}

#[tokio::test]
async fn missing_or_wrong_signatures_are_refused() {
    let app = spawn_app_with(with_token("https://ivr.test")).await;
    let params = caller_fields("+77011234567", "CA1");
    assert_eq!(raw_post(&app, "/twilio/voice", None, form(&params)).await, 403);
    assert_eq!(raw_post(&app, "/twilio/voice", Some("0/KCTR6DLpKmkAf8muzZqo1nDgQ="), form(&params)).await, 403);
    assert_eq!(raw_post(&app, "/twilio/voice", Some("not base64!"), form(&params)).await, 403);
    let signed = ivr::telephony::twiml::signature::sign("12345", "https://ivr.test/twilio/voice", &params);
    assert_eq!(raw_post(&app, "/twilio/voice", Some(&signed), form(&params)).await, 200);
    let mut tampered = params.clone();
    tampered[2].1 = "+77000000000".into();
    assert_eq!(raw_post(&app, "/twilio/voice", Some(&signed), form(&tampered)).await, 403, "a changed field");
    let other_token = ivr::telephony::twiml::signature::sign("54321", "https://ivr.test/twilio/voice", &params);
    assert_eq!(raw_post(&app, "/twilio/voice", Some(&other_token), form(&params)).await, 403, "another token");
}

#[tokio::test]
async fn a_repeated_parameter_is_refused_so_a_signed_form_cannot_be_reordered() {
    let app = spawn_app_with(with_token("https://ivr.test")).await;
    let pressed = |first: &str, second: &str| {
        vec![("Digits".to_owned(), first.to_owned()), ("Digits".to_owned(), second.to_owned())]
    };
    let signed = ivr::telephony::twiml::signature::sign(
        "12345",
        "https://ivr.test/twilio/gather?n=main&l=kk",
        &pressed("1", "9"),
    );
    for body in [pressed("1", "9"), pressed("9", "1")] {
        assert_eq!(raw_post(&app, "/twilio/gather?n=main&l=kk", Some(&signed), form(&body)).await, 400, "{body:?}");
    }
    let unsigned = spawn_app().await;
    let response = unsigned
        .client
        .post(format!("{}/twilio/gather?n=main&l=kk", unsigned.address))
        .header("content-type", "application/x-www-form-urlencoded")
        .body("Digits=1&CallStatus=in-progress&Digits=9")
        .send()
        .await
        .expect("an answer");
    assert_eq!(response.status(), 400);
    assert_eq!(response.text().await.expect("a body"), "a form parameter is repeated");
}

#[tokio::test]
async fn the_query_is_part_of_what_is_signed() {
    let app = spawn_app_with(with_token("https://ivr.test")).await;
    let params = vec![("Digits".to_owned(), "1".to_owned())];
    let signed = ivr::telephony::twiml::signature::sign("12345", "https://ivr.test/twilio/gather?n=main&l=kk", &params);
    assert_eq!(raw_post(&app, "/twilio/gather?n=main&l=kk", Some(&signed), form(&params)).await, 200);
    assert_eq!(raw_post(&app, "/twilio/gather?n=main&l=ru", Some(&signed), form(&params)).await, 403);
}

#[tokio::test]
async fn the_url_is_accepted_with_or_without_the_default_port() {
    let app = spawn_app_with(with_token("https://ivr.test")).await;
    let params = caller_fields("+77011234567", "CA1");
    let with_port = ivr::telephony::twiml::signature::sign("12345", "https://ivr.test:443/twilio/voice", &params);
    assert_eq!(raw_post(&app, "/twilio/voice", Some(&with_port), form(&params)).await, 200);
    let other_port = ivr::telephony::twiml::signature::sign("12345", "https://ivr.test:8443/twilio/voice", &params);
    assert_eq!(raw_post(&app, "/twilio/voice", Some(&other_port), form(&params)).await, 403);
}

#[tokio::test]
async fn twilios_documented_vector_is_accepted_over_http() {
    // Twilio's example: token 12345, https://mycompany.com/myapp.php?foo=1&bar=2 and these
    // parameters sign to 0/KCTR6DLpKmkAf8muzZqo1nDgQ=. Served under a prefix, our status
    // webhook at /twilio/status?... signs the same way; here the documented signature itself
    // is checked against the documented URL's parts.
    let params: Vec<(String, String)> = [
        ("CallSid", "CA1234567890ABCDE"),
        ("Caller", "+12349013030"),
        ("Digits", "1234"),
        ("From", "+12349013030"),
        ("To", "+18005551212"),
    ]
    .map(|(n, v)| (n.to_owned(), v.to_owned()))
    .to_vec();
    let check = ivr::telephony::twiml::signature::SignatureCheck::new("12345", "https://mycompany.com");
    assert!(check.verify("/myapp.php?foo=1&bar=2", &params, "0/KCTR6DLpKmkAf8muzZqo1nDgQ="));
    let app = spawn_app_with(with_token("https://mycompany.com")).await;
    let signed =
        ivr::telephony::twiml::signature::sign("12345", "https://mycompany.com/twilio/status?foo=1&bar=2", &params);
    assert_eq!(raw_post(&app, "/twilio/status?foo=1&bar=2", Some(&signed), form(&params)).await, 200);
    assert_eq!(
        raw_post(&app, "/twilio/status?foo=1&bar=2", Some("0/KCTR6DLpKmkAf8muzZqo1nDgQ="), form(&params)).await,
        403
    );
}

const SECRET: &str = "jambonz-webhook-secret";

async fn jambonz_app(secrets: &str) -> TestApp {
    spawn_app_with(Options { dialect: Dialect::Jambonz, token: Some(secrets.into()), ..Options::default() }).await
}

/// POSTs `body` to a jambonz hook with `header` as its `Jambonz-Signature`.
async fn jambonz_post(app: &TestApp, path: &str, header: Option<&str>, body: &str) -> u16 {
    let mut request = app.client.post(format!("{}{path}", app.address)).header("content-type", "application/json");
    if let Some(header) = header {
        request = request.header("jambonz-signature", header);
    }
    request.body(body.to_owned()).send().await.expect("server answers").status().as_u16()
}

fn now() -> i64 {
    chrono::Utc::now().timestamp()
}

fn incoming_body(number: &str) -> String {
    let caller = Caller { number: number.into(), call_sid: "f1e2d3c4-0000-4000-8000-000000000001".into() };
    ivr::softphone::jambonz_body(&caller, Event::Incoming).to_string()
}

#[tokio::test]
async fn jambonz_signatures_missing_wrong_tampered_or_stale_are_refused() {
    let app = jambonz_app(SECRET).await;
    let number = "+77014440987";
    let body = incoming_body(number);
    let signed = jambonz_sign(SECRET, now(), body.as_bytes());
    assert_eq!(jambonz_post(&app, "/jambonz/call", Some(&signed), &body).await, 200);
    assert_eq!(jambonz_post(&app, "/jambonz/call", None, &body).await, 403, "missing");
    let other = jambonz_sign("another-secret", now(), body.as_bytes());
    assert_eq!(jambonz_post(&app, "/jambonz/call", Some(&other), &body).await, 403, "another secret");
    let tampered = body.replace(number, "+77000000000");
    assert_eq!(jambonz_post(&app, "/jambonz/call", Some(&signed), &tampered).await, 403, "a changed field");
    let stale = jambonz_sign(SECRET, now() - TOLERANCE_SECONDS - 5, body.as_bytes());
    assert_eq!(jambonz_post(&app, "/jambonz/call", Some(&stale), &body).await, 403, "older than five minutes");
    let ahead = jambonz_sign(SECRET, now() + TOLERANCE_SECONDS + 5, body.as_bytes());
    assert_eq!(jambonz_post(&app, "/jambonz/call", Some(&ahead), &body).await, 403, "from the future");
    for garbage in ["", "v1=00", "t=1,v1=zz", "t=,v1=", "nonsense"] {
        assert_eq!(jambonz_post(&app, "/jambonz/call", Some(garbage), &body).await, 403, "{garbage:?}");
    }
    for path in
        ["/jambonz/gather?n=main&l=kk", "/jambonz/dial?n=police&l=kk", "/jambonz/whisper?n=operator", "/jambonz/status"]
    {
        assert_eq!(jambonz_post(&app, path, None, &body).await, 403, "{path} unsigned");
        assert_eq!(jambonz_post(&app, path, Some(&jambonz_sign(SECRET, now(), body.as_bytes())), &body).await / 100, 2);
    }
    let logs = captured_logs();
    assert!(logs.contains("refused a jambonz webhook"), "refusals are logged");
    assert!(!logs.contains("77014440987") && !logs.contains("f1e2d3c4-0000"), "without caller data");
}

#[tokio::test]
async fn any_of_several_v1_values_and_a_rotated_secret_are_accepted() {
    let app = jambonz_app("old-secret, new-secret").await;
    let body = incoming_body("+77011234567");
    for secret in ["old-secret", "new-secret"] {
        let header = jambonz_sign(secret, now(), body.as_bytes());
        assert_eq!(jambonz_post(&app, "/jambonz/call", Some(&header), &body).await, 200, "{secret}");
    }
    let good = jambonz_sign("new-secret", now(), body.as_bytes());
    let (stamp, v1) = good.split_once(",v1=").expect("t and v1");
    let several = format!("{stamp},v1={},v1={v1}", "0".repeat(64));
    assert_eq!(jambonz_post(&app, "/jambonz/call", Some(&several), &body).await, 200);
}

#[tokio::test]
async fn node_clients_vectors_are_checked_over_http_and_refused_once_stale() {
    #[derive(serde::Deserialize)]
    struct Vector {
        secret: String,
        body: String,
        header: String,
    }
    let vectors: Vec<Vector> =
        serde_json::from_str(include_str!("../fixtures/jambonz-signatures.json")).expect("the fixture");
    for vector in vectors {
        let app = jambonz_app(&vector.secret).await;
        let stale = jambonz_post(&app, "/jambonz/status", Some(&vector.header), &vector.body).await;
        assert_eq!(stale, 403, "a valid signature from the past cannot be replayed");
        let fresh = jambonz_sign(&vector.secret, now(), vector.body.as_bytes());
        assert_eq!(jambonz_post(&app, "/jambonz/status", Some(&fresh), &vector.body).await, 204);
    }
}
