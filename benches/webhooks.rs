//! Webhook handling speed, in-process: the real router (signature checking on, statistics
//! on into a scratch SQLite file) answering a mix of incoming-call, menu and guidance
//! webhooks through `tower::ServiceExt::oneshot`, in both dialects: TwiML forms signed with
//! `X-Twilio-Signature`, jambonz JSON signed with `Jambonz-Signature`.
//!
//! `cargo bench --bench webhooks` prints requests/s and p50/p99/max latency per kind.
//! `cargo bench --bench webhooks -- --bare-server 127.0.0.1:8112` instead serves the bare
//! axum baseline for the loopback comparison in `benches/loopback.sh`: handlers that parse
//! the same body (a form at `/twilio/voice`, JSON at `/jambonz/call`) and return a static
//! document.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "a benchmark stops at the first surprise, with the message saying which"
)]

use std::time::{Duration, Instant};

use axum::body::Body;
use axum::http::Request;
use ivr::app;
use ivr::config::Settings;
use ivr::db::Db;
use ivr::state::{self, AppState};
use ivr::stats::WriterConfig;
use ivr::telephony::jambonz::signature as jambonz_signature;
use ivr::telephony::twiml::signature;
use tower::ServiceExt;

const TOKEN: &str = "bench-token";
const JAMBONZ_SECRET: &str = "bench-jambonz-secret";
const PUBLIC_URL: &str = "https://ivr.bench";
const ROUNDS: usize = 20_000;

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build().expect("runtime");
    match args.iter().position(|a| a == "--bare-server") {
        Some(i) => runtime.block_on(bare_server(args.get(i + 1).map_or("127.0.0.1:8112", String::as_str))),
        None => runtime.block_on(in_process()),
    }
}

/// The requests a platform sends during a call, as (kind, path, body).
fn webhooks() -> Vec<(&'static str, String, String)> {
    let caller =
        "CallSid=CA0123456789abcdef0123456789abcdef&AccountSid=AC0123&From=%2B77011234567&To=111&CallStatus=ringing";
    let jambonz = r#""call_sid":"9f1c2b3a-0d4e-4f5a-8b6c-7d8e9f0a1b2c","direction":"inbound","from":"+77011234567","to":"111","call_id":"a1b2@203.0.113.7","sip_status":200,"sip_reason":"OK","call_status":"in-progress","account_sid":"9351f46a","application_sid":"0dddaabf""#;
    let state = |node: &str, rest: &str| format!("c=00000000000000aa&n={node}{rest}");
    vec![
        ("incoming", "/twilio/voice".to_owned(), caller.to_owned()),
        ("menu", format!("/twilio/gather?{}", state("language", "&f=0&t=0&s=0&q=0")), format!("{caller}&Digits=2")),
        (
            "guidance",
            format!("/twilio/gather?{}", state("main", "&l=ru&f=0&t=0&s=0&q=2")),
            format!("{caller}&Digits=2"),
        ),
        (
            "emergency",
            format!("/twilio/gather?{}", state("safety_plan", "&l=ru&f=0&t=2&s=0&q=3")),
            format!("{caller}&Digits=9"),
        ),
        ("jz incoming", "/jambonz/call".to_owned(), format!("{{{jambonz}}}")),
        (
            "jz menu",
            format!("/jambonz/gather?{}", state("language", "&f=0&t=0&s=0&q=0")),
            format!(r#"{{{jambonz},"reason":"dtmfDetected","digits":"2"}}"#),
        ),
        (
            "jz guidance",
            format!("/jambonz/gather?{}", state("main", "&l=ru&f=0&t=0&s=0&q=2")),
            format!(r#"{{{jambonz},"reason":"dtmfDetected","digits":"2"}}"#),
        ),
        (
            "jz emergency",
            format!("/jambonz/gather?{}", state("safety_plan", "&l=ru&f=0&t=2&s=0&q=3")),
            format!(r#"{{{jambonz},"reason":"dtmfDetected","digits":"9"}}"#),
        ),
    ]
}

/// The request, signed as its platform signs it.
fn signed(path: &str, body: &str) -> Request<Body> {
    let request = Request::post(path);
    let request = if path.starts_with("/jambonz/") {
        let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_secs());
        let header = jambonz_signature::sign(JAMBONZ_SECRET, now as i64, body.as_bytes());
        request.header("content-type", "application/json").header("jambonz-signature", header)
    } else {
        let params: Vec<(String, String)> = form_urlencoded::parse(body.as_bytes()).into_owned().collect();
        let signature = signature::sign(TOKEN, &format!("{PUBLIC_URL}{path}"), &params);
        request.header("content-type", "application/x-www-form-urlencoded").header("x-twilio-signature", signature)
    };
    request.body(Body::from(body.to_owned())).expect("request")
}

async fn in_process() {
    let env = [
        ("IVR_PUBLIC_URL", PUBLIC_URL),
        ("IVR_TWILIO_AUTH_TOKEN", TOKEN),
        ("IVR_JAMBONZ_WEBHOOK_SECRET", JAMBONZ_SECRET),
        ("IVR_OPERATOR_NUMBER", "+77170000111"),
    ];
    let settings = Settings::from_lookup(|name| env.iter().find(|(n, _)| *n == name).map(|(_, v)| (*v).to_owned()))
        .expect("settings");
    let loaded = state::load(settings).expect("bundled flow and prompts (run from the repository root)");
    // Statistics on, as README runs the service: into a scratch SQLite file.
    let scratch = tempfile::tempdir().expect("a scratch folder");
    let db = Db::connect_lazy(&format!("sqlite://{}", scratch.path().join("ivr.sqlite3").display())).expect("a URL");
    let config = WriterConfig::from_settings(&loaded.settings);
    let (stats, stats_tasks) = ivr::stats::start_with(config, db.clone(), loaded.settings.stats_queue, scratch.path());
    let router = app::router(AppState::start(loaded, db, stats));
    println!("webhook handling in-process, signature checking on, {ROUNDS} requests per kind");
    println!("{:<14} {:>12} {:>10} {:>10} {:>10}", "kind", "requests/s", "p50 µs", "p99 µs", "max µs");
    let (mut twiml, mut jambonz) = (Vec::new(), Vec::new());
    for (kind, path, body) in webhooks() {
        let mut latencies = Vec::with_capacity(ROUNDS);
        for _ in 0..ROUNDS {
            let request = signed(&path, &body);
            let started = Instant::now();
            let response = router.clone().oneshot(request).await.expect("infallible");
            let _ = axum::body::to_bytes(response.into_body(), usize::MAX).await.expect("body");
            latencies.push(started.elapsed());
        }
        report(kind, &mut latencies);
        if path.starts_with("/jambonz/") { &mut jambonz } else { &mut twiml }.extend(latencies);
    }
    report("mix", &mut twiml);
    report("jz mix", &mut jambonz);
    stats_tasks.drain().await;
}

fn report(kind: &str, latencies: &mut [Duration]) {
    latencies.sort();
    let at = |q: f64| latencies[((latencies.len() as f64 * q) as usize).min(latencies.len() - 1)].as_secs_f64() * 1e6;
    let total: Duration = latencies.iter().sum();
    let rate = latencies.len() as f64 / total.as_secs_f64();
    println!("{kind:<14} {rate:>12.0} {:>10.1} {:>10.1} {:>10.1}", at(0.5), at(0.99), at(1.0));
}

/// The baseline: parse the same body, answer a fixed document, nothing else.
async fn bare_server(address: &str) {
    const TWIML: &str = r#"<?xml version="1.0" encoding="UTF-8"?><Response><Gather input="dtmf" numDigits="1" timeout="6" method="POST" action="https://ivr.bench/twilio/gather?n=language"><Play>https://ivr.bench/prompts/kk/choose_language.wav</Play></Gather><Redirect method="POST">https://ivr.bench/twilio/no-input?n=language</Redirect></Response>"#;
    async fn handler(
        axum::Form(form): axum::Form<Vec<(String, String)>>,
    ) -> ([(&'static str, &'static str); 1], &'static str) {
        std::hint::black_box(form);
        ([("content-type", "application/xml")], TWIML)
    }
    const JAMBONZ: &str = r#"[{"verb":"gather","input":["digits"],"numDigits":1,"timeout":6,"play":{"url":["https://ivr.bench/prompts/kk/choose_language.wav"]},"actionHook":"https://ivr.bench/jambonz/gather?n=language"}]"#;
    async fn jambonz(
        axum::Json(body): axum::Json<serde_json::Value>,
    ) -> ([(&'static str, &'static str); 1], &'static str) {
        std::hint::black_box(body);
        ([("content-type", "application/json")], JAMBONZ)
    }
    let router = axum::Router::new()
        .route("/twilio/voice", axum::routing::post(handler))
        .route("/jambonz/call", axum::routing::post(jambonz));
    let listener = tokio::net::TcpListener::bind(address).await.expect("bind");
    println!("bare baseline listening on {address}");
    axum::serve(listener, router).await.expect("serve");
}
