//! Requests that are not what a provider sends get a short, clear refusal; a caller's
//! request never gets a 500; and nothing that identifies a caller reaches the logs.

use crate::helpers::{captured_logs, spawn_app};

async fn post_raw(
    app: &crate::helpers::TestApp,
    path: &str,
    content_type: Option<&str>,
    body: Vec<u8>,
) -> (u16, String) {
    let mut request = app.client.post(format!("{}{path}", app.address)).body(body);
    if let Some(content_type) = content_type {
        request = request.header("content-type", content_type);
    }
    let response = request.send().await.expect("server answers");
    (response.status().as_u16(), response.text().await.expect("body"))
}

const FORM: Option<&str> = Some("application/x-www-form-urlencoded");

#[tokio::test]
async fn a_body_that_is_not_a_form_is_400_with_a_plain_message() {
    let app = spawn_app().await;
    let (status, body) = post_raw(&app, "/twilio/voice", Some("application/json"), b"{}".to_vec()).await;
    assert_eq!(status, 400);
    assert!(body.contains("form"), "{body}");
    let (status, _) = post_raw(&app, "/twilio/voice", None, b"From=1".to_vec()).await;
    assert_eq!(status, 400);
    let (status, body) = post_raw(&app, "/twilio/gather?n=main", FORM, vec![b'D', b'=', 0xff, 0xfe]).await;
    assert_eq!((status, body.as_str()), (400, "malformed form body"));
    let (status, _) = post_raw(&app, "/twilio/gather?n=main", FORM, b"Digits=%ff%fe".to_vec()).await;
    assert_eq!(status, 400);
}

#[tokio::test]
async fn a_body_over_64_kib_is_413() {
    let app = spawn_app().await;
    let body = format!("Digits=1&Pad={}", "a".repeat(64 * 1024));
    let (status, _) = post_raw(&app, "/twilio/gather?n=main&l=kk", FORM, body.into_bytes()).await;
    assert_eq!(status, 413);
    let body = format!("Digits=1&Pad={}", "a".repeat(60 * 1024));
    let (status, _) = post_raw(&app, "/twilio/gather?n=main&l=kk", FORM, body.into_bytes()).await;
    assert_eq!(status, 200, "just under the limit is fine");
}

#[tokio::test]
async fn odd_digits_take_the_invalid_choice_path() {
    let app = spawn_app().await;
    for digits in ["12", "x", "99", "*#", "\u{0661}", "%", " "] {
        let body = form_urlencoded::Serializer::new(String::new()).append_pair("Digits", digits).finish();
        let (status, twiml) = post_raw(&app, "/twilio/gather?n=main&l=ru", FORM, body.into_bytes()).await;
        assert_eq!(status, 200, "{digits:?}");
        assert!(twiml.contains("/prompts/ru/invalid_choice.wav"), "{digits:?}: {twiml}");
    }
}

#[tokio::test]
async fn no_webhook_answers_500_to_anything() {
    let app = spawn_app().await;
    let paths = ["/twilio/voice", "/twilio/gather", "/twilio/no-input", "/twilio/dial", "/twilio/status"];
    let queries = ["", "?n=police&l=kk", "?n=goodbye", "?n=%00&l=%ff", "?c=ffffffffffffffff&n=main&t=ffffffff&f=-1"];
    let bodies = ["", "Digits=", "DialCallStatus=weird", "Digits=9&Digits=1", "=&=&&", "DialCallStatus=completed"];
    for path in paths {
        for query in queries {
            for body in bodies {
                let (status, twiml) = post_raw(&app, &format!("{path}{query}"), FORM, body.as_bytes().to_vec()).await;
                assert_eq!(status, 200, "{path}{query} {body:?}");
                ivr::telephony::softphone::twiml::parse(&twiml)
                    .unwrap_or_else(|e| panic!("{path}{query} {body:?}: {e}"));
            }
        }
    }
}

#[tokio::test]
async fn caller_identifiers_never_reach_the_logs() {
    let app = spawn_app().await;
    let number = "+77019876543";
    let call_sid = "CAfeedfacefeedfacefeedfacefeedface";
    let mut call = app.call_from(number, call_sid).await;
    call.press("2").await.wait().await.press("3").await.press("7").await.wait().await;
    call.press("9").await.dial_ends("failed").await.press("0").await.dial_ends("completed").await;
    let logs = captured_logs();
    assert!(logs.contains("call started"), "logs are captured");
    for secret in [number, "77019876543", call_sid, "AC0123456789abcdef0123456789abcdef", "ALMATY", "050000"] {
        assert!(!logs.contains(secret), "`{secret}` was logged");
    }
}
