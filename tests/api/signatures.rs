//! `X-Twilio-Signature` over HTTP: accepted when right, 403 when missing or wrong.

use crate::helpers::{Options, caller_fields, spawn_app_with};

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

#[tokio::test]
async fn signed_calls_go_through_every_webhook() {
    let app = spawn_app_with(with_token("https://ivr.test")).await;
    let mut call = app.call().await;
    call.press("2").await.wait().await.press("9").await.dial_ends("busy").await;
    assert_eq!(call.node(), "police_unreachable");
}

#[tokio::test]
async fn missing_or_wrong_signatures_are_refused() {
    let app = spawn_app_with(with_token("https://ivr.test")).await;
    let params = caller_fields("+77011234567", "CA1");
    assert_eq!(raw_post(&app, "/twilio/voice", None, form(&params)).await, 403);
    assert_eq!(raw_post(&app, "/twilio/voice", Some("0/KCTR6DLpKmkAf8muzZqo1nDgQ="), form(&params)).await, 403);
    assert_eq!(raw_post(&app, "/twilio/voice", Some("not base64!"), form(&params)).await, 403);
    let signed = ivr::telephony::signature::sign("12345", "https://ivr.test/twilio/voice", &params);
    assert_eq!(raw_post(&app, "/twilio/voice", Some(&signed), form(&params)).await, 200);
    let mut tampered = params.clone();
    tampered[2].1 = "+77000000000".into();
    assert_eq!(raw_post(&app, "/twilio/voice", Some(&signed), form(&tampered)).await, 403, "a changed field");
    let other_token = ivr::telephony::signature::sign("54321", "https://ivr.test/twilio/voice", &params);
    assert_eq!(raw_post(&app, "/twilio/voice", Some(&other_token), form(&params)).await, 403, "another token");
}

#[tokio::test]
async fn the_query_is_part_of_what_is_signed() {
    let app = spawn_app_with(with_token("https://ivr.test")).await;
    let params = vec![("Digits".to_owned(), "1".to_owned())];
    let signed = ivr::telephony::signature::sign("12345", "https://ivr.test/twilio/gather?n=main&l=kk", &params);
    assert_eq!(raw_post(&app, "/twilio/gather?n=main&l=kk", Some(&signed), form(&params)).await, 200);
    assert_eq!(raw_post(&app, "/twilio/gather?n=main&l=ru", Some(&signed), form(&params)).await, 403);
}

#[tokio::test]
async fn the_url_is_accepted_with_or_without_the_default_port() {
    let app = spawn_app_with(with_token("https://ivr.test")).await;
    let params = caller_fields("+77011234567", "CA1");
    let with_port = ivr::telephony::signature::sign("12345", "https://ivr.test:443/twilio/voice", &params);
    assert_eq!(raw_post(&app, "/twilio/voice", Some(&with_port), form(&params)).await, 200);
    let other_port = ivr::telephony::signature::sign("12345", "https://ivr.test:8443/twilio/voice", &params);
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
    let check = ivr::telephony::signature::SignatureCheck::new("12345", "https://mycompany.com");
    assert!(check.verify("/myapp.php?foo=1&bar=2", &params, "0/KCTR6DLpKmkAf8muzZqo1nDgQ="));
    let app = spawn_app_with(with_token("https://mycompany.com")).await;
    let signed = ivr::telephony::signature::sign("12345", "https://mycompany.com/twilio/status?foo=1&bar=2", &params);
    assert_eq!(raw_post(&app, "/twilio/status?foo=1&bar=2", Some(&signed), form(&params)).await, 200);
    assert_eq!(
        raw_post(&app, "/twilio/status?foo=1&bar=2", Some("0/KCTR6DLpKmkAf8muzZqo1nDgQ="), form(&params)).await,
        403
    );
}
