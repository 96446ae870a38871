//! Requests that are not what a platform sends get a short, clear refusal; a caller's
//! request never gets a 500; and nothing that identifies a caller reaches the logs. The
//! tests that make calls run in both dialects; each dialect's own body format is checked
//! by its own cases.

use ivr::softphone::{Caller, Dialect, Event, WebhookDialect};

use crate::helpers::{captured_logs, in_every_dialect, spawn_app, spawn_in};

// A body's size is an HTTP request's: FastAGI's malformed and silent peers are tested in
// `asterisk.rs`.
in_every_dialect!(
    odd_keys_take_the_invalid_choice_path_in_either_format,
    caller_identifiers_never_reach_the_logs;
    webhooks only: a_body_over_64_kib_is_413_in_either_format
);

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
async fn no_webhook_answers_500_to_anything() {
    let app = spawn_app().await;
    let paths = ["/twilio/voice", "/twilio/gather", "/twilio/no-input", "/twilio/dial", "/twilio/status"];
    let queries = ["", "?n=police&l=kk", "?n=goodbye", "?n=%00&l=%ff", "?c=ffffffffffffffff&n=main&t=ffffffff&f=-1"];
    let bodies = ["", "Digits=", "DialCallStatus=weird", "Digits=9&Digit=1", "=&&", "DialCallStatus=completed"];
    for path in paths {
        for query in queries {
            for body in bodies {
                let (status, twiml) = post_raw(&app, &format!("{path}{query}"), FORM, body.as_bytes().to_vec()).await;
                assert_eq!(status, 200, "{path}{query} {body:?}");
                ivr::softphone::twiml::parse(&twiml).unwrap_or_else(|e| panic!("{path}{query} {body:?}: {e}"));
            }
        }
    }
}

async fn caller_identifiers_never_reach_the_logs(dialect: Dialect) {
    let app = spawn_in(dialect).await;
    let number = "+77019876543";
    let call_sid = "CAfeedfacefeedfacefeedfacefeedface";
    let mut call = app.call_from(number, call_sid).await;
    call.choose_language("2").await.press("3").await.press("7").await.press("*").await;
    call.press("9").await.dial_ends("failed").await.press("0").await;
    call.whisper(0).await;
    call.dial_ends("completed").await.hang_up("completed").await;
    let logs = captured_logs();
    assert!(logs.contains("call started"), "logs are captured");
    // What the platforms send beside: Twilio's account and the caller's place, jambonz's
    // addresses and account, Asterisk's channel name and caller id name.
    let platform = [
        "AC0123456789abcdef0123456789abcdef",
        "ALMATY",
        "050000",
        "203.0.113.7",
        "9351f46a-678c",
        "PJSIP/caller-",
        "Aigerim Serikova",
    ];
    for secret in [number, "77019876543", call_sid].into_iter().chain(platform) {
        assert!(!logs.contains(secret), "`{secret}` was logged");
    }
}

/// A keypad webhook for a caller on the Russian main menu, `pad` bytes bigger.
fn padded_press(dialect: WebhookDialect, pad: usize) -> (String, &'static str, String) {
    let caller = Caller { number: "+77011234567".into(), call_sid: "CA1".into() };
    let path = format!("/{}/gather?n=main&l=ru", dialect.prefix());
    let hook = dialect.webhook(&path, &caller, Event::Pressed("1"), None, 0);
    let body = match dialect {
        WebhookDialect::Twiml => format!("{}&Pad={}", hook.body, "a".repeat(pad)),
        WebhookDialect::Jambonz => format!(r#"{},"pad":"{}"}}"#, hook.body.trim_end_matches('}'), "a".repeat(pad)),
    };
    (path, hook.content_type, body)
}

async fn a_body_over_64_kib_is_413_in_either_format(dialect: WebhookDialect) {
    let app = spawn_in(dialect.into()).await;
    let (path, content_type, body) = padded_press(dialect, 64 * 1024);
    assert_eq!(post_raw(&app, &path, Some(content_type), body.into_bytes()).await.0, 413);
    let (path, content_type, body) = padded_press(dialect, 60 * 1024);
    let (status, document) = post_raw(&app, &path, Some(content_type), body.into_bytes()).await;
    assert_eq!(status, 200, "just under the limit is fine");
    assert!(document.contains("/prompts/ru/guidance_definition.wav"), "{document}");
}

async fn odd_keys_take_the_invalid_choice_path_in_either_format(dialect: Dialect) {
    let app = spawn_in(dialect).await;
    let odd: &[&str] = match dialect {
        Dialect::Twiml | Dialect::Jambonz => &["12", "x", "99", "*#", "\u{0661}", "%", " "],
        // Asterisk reports one DTMF key at a time: the keys a keypad has beyond 0-9, * and #.
        Dialect::Asterisk => &["A", "B", "C", "D"],
    };
    for digits in odd {
        let mut call = app.call_at("main", Some("ru")).await;
        call.press(digits).await;
        assert_eq!(call.hearing(), ["ru/invalid_choice", "ru/keys_reminder", "ru/main_menu"], "{dialect:?} {digits:?}");
    }
}

#[tokio::test]
async fn a_jambonz_body_that_is_not_a_json_object_is_400_with_a_plain_message() {
    let app = spawn_in(Dialect::Jambonz).await;
    let json = Some("application/json");
    let (status, body) = post_raw(&app, "/jambonz/call", FORM, b"call_sid=1".to_vec()).await;
    assert_eq!((status, body.as_str()), (400, "expected a JSON body (application/json)"));
    assert_eq!(post_raw(&app, "/jambonz/call", None, b"{}".to_vec()).await.0, 400);
    for malformed in [&b"{\"call_sid\":"[..], b"[]", b"\"text\"", b"42", b"", &[0xff, 0xfe]] {
        let (status, body) = post_raw(&app, "/jambonz/gather?n=main&l=kk", json, malformed.to_vec()).await;
        assert_eq!((status, body.as_str()), (400, "expected a JSON object"), "{malformed:?}");
    }
}

#[tokio::test]
async fn unknown_jambonz_values_take_the_invalid_choice_path() {
    let app = spawn_in(Dialect::Jambonz).await;
    let json = Some("application/json");
    let bodies = [
        r#"{"reason":"dtmfDetected","digits":5}"#,
        r#"{"reason":"dtmfDetected","digits":["1"]}"#,
        r#"{"reason":"speechDetected","speech":{"alternatives":[{"transcript":"help"}]}}"#,
        r#"{"reason":"error","details":"stt"}"#,
        r#"{"reason":7}"#,
        r#"{"digits":"1"}"#,
        r#"{}"#,
    ];
    for body in bodies {
        let (status, document) = post_raw(&app, "/jambonz/gather?n=main&l=ru", json, body.as_bytes().to_vec()).await;
        assert_eq!(status, 200, "{body}");
        assert!(document.contains("/prompts/ru/invalid_choice.wav"), "{body}: {document}");
    }
    let (_, timeout) = post_raw(&app, "/jambonz/gather?n=main&l=ru", json, br#"{"reason":"timeout"}"#.to_vec()).await;
    assert!(timeout.contains("/prompts/ru/keys_reminder.wav"), "a timeout is silence: {timeout}");
    assert!(!timeout.contains("/prompts/ru/main_menu.wav"), "a first silence hears the short reminder: {timeout}");
}

#[tokio::test]
async fn no_jambonz_hook_answers_500_to_anything() {
    let app = spawn_in(Dialect::Jambonz).await;
    let paths = ["/jambonz/call", "/jambonz/gather", "/jambonz/dial", "/jambonz/whisper", "/jambonz/status"];
    let queries =
        ["", "?n=police&l=kk", "?n=goodbye", "?n=%00&l=%ff", "?c=ffffffffffffffff&n=main&t=ffffffff&f=-1&o=xx"];
    let bodies = [
        "{}",
        r#"{"call_sid":null,"from":5}"#,
        r#"{"dial_call_status":"weird"}"#,
        r#"{"dial_call_status":7}"#,
        r#"{"reason":"dtmfDetected","digits":"9","digits":"1"}"#,
        r#"{"dial_call_status":"completed","call_status":"completed"}"#,
        r#"{"call_status":["completed"],"call_sid":{"a":1}}"#,
    ];
    for path in paths {
        for query in queries {
            for body in bodies {
                let (status, document) =
                    post_raw(&app, &format!("{path}{query}"), Some("application/json"), body.as_bytes().to_vec()).await;
                assert!(status == 200 || (status == 204 && path.ends_with("status")), "{path}{query} {body}: {status}");
                let parsed = match path {
                    "/jambonz/status" => Ok(()),
                    "/jambonz/whisper" => WebhookDialect::Jambonz.parse_whisper(&document).map(drop),
                    _ => WebhookDialect::Jambonz.parse(&document).map(drop),
                };
                parsed.unwrap_or_else(|e| panic!("{path}{query} {body}: {e}"));
            }
        }
    }
}
