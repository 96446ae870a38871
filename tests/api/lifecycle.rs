//! A process's life: a shutdown that drains instead of dropping callers (and stops at once
//! when nobody is connected), the socket systemd passes (so a restart refuses nobody), the
//! limits a flood of connections meets, and a panic answered with the emergency key.

use std::os::fd::OwnedFd;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use axum::body::Body;
use axum::routing::post;
use ivr::config::Settings;
use ivr::db::Db;
use ivr::flow::{CallId, Flow};
use ivr::softphone::{self, Reply};
use ivr::state::AppState;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tower::ServiceExt;

use crate::helpers::{
    Options, PUBLIC_URL, bundled_prompts, caller_fields, capture_this_tests_logs, captured_logs, spawn_app,
    spawn_app_with,
};

fn with_env(env: &[(&'static str, &str)]) -> Options {
    Options { env: env.iter().map(|(name, value)| (*name, (*value).to_owned())).collect(), ..Options::default() }
}

/// A new call's first webhook, on `client`'s connections; the HTTP status.
async fn incoming_call(client: &reqwest::Client, address: &str, n: usize) -> Result<u16, reqwest::Error> {
    let fields = caller_fields("+77012220001", &format!("CA{n:032x}"));
    let body = form_urlencoded::Serializer::new(String::new()).extend_pairs(&fields).finish();
    let response = client
        .post(format!("{address}/twilio/voice"))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(body)
        .send()
        .await?;
    let status = response.status().as_u16();
    response.text().await?;
    Ok(status)
}

#[tokio::test]
async fn a_shutdown_keeps_answering_webhooks_for_the_drain_period_and_readyz_fails_at_once() {
    let app = spawn_app_with(with_env(&[("IVR_DRAIN_MS", "2000")])).await;
    let readyz =
        || async { app.client.get(format!("{}/readyz", app.address)).send().await.expect("answered").status() };
    assert_eq!(readyz().await, 200);
    let mut call = app.call().await;

    let signalled = Instant::now();
    app.send_shutdown_signal();
    while readyz().await != 503 {
        assert!(signalled.elapsed() < Duration::from_millis(500), "/readyz still ready after the signal");
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    // The call in progress goes on, and new connections are still accepted, until the
    // drain period (2 s, of which the last 0.5 s finishes what is in flight) ends.
    call.press("1").await;
    let mut answered = 0;
    while signalled.elapsed() < Duration::from_millis(1300) {
        let fresh = reqwest::Client::new();
        assert_eq!(incoming_call(&fresh, &app.address, answered).await.expect("a new connection is answered"), 200);
        assert_eq!(incoming_call(&app.client, &app.address, answered).await.expect("answered"), 200);
        answered += 1;
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    call.wait().await;
    drop(call);
    assert!(answered > 5, "webhooks answered during the drain: {answered}");
    app.stop().await;
    // A drain that waited on anything else (the kept-alive connection, the call) would run
    // far past its period; 1.5 s of margin is for a machine busy with the rest of the suite.
    assert!(signalled.elapsed() < Duration::from_millis(3500), "a 2 s drain took {:?}", signalled.elapsed());
}

/// A service nobody holds a connection to has nobody to wait for (issue 25); one connection
/// open, even a kept-alive one between requests, and it drains the whole period.
#[tokio::test]
async fn an_idle_service_stops_at_once_and_one_with_a_connection_open_drains() {
    let idle = spawn_app_with(with_env(&[("IVR_DRAIN_MS", "3000")])).await;
    let signalled = Instant::now();
    idle.stop().await;
    assert!(signalled.elapsed() < Duration::from_millis(1000), "an idle service took {:?}", signalled.elapsed());

    let busy = spawn_app_with(with_env(&[("IVR_DRAIN_MS", "3000")])).await;
    let mut kept = TcpStream::connect(host_port(&busy.address)).await.expect("connects");
    kept.write_all(b"GET /readyz HTTP/1.1\r\nHost: ivr.test\r\n\r\n").await.expect("sent");
    let mut buffer = [0_u8; 1024];
    let n = kept.read(&mut buffer).await.expect("a response");
    assert!(String::from_utf8_lossy(&buffer[..n]).starts_with("HTTP/1.1 200"), "answered, kept alive");
    let signalled = Instant::now();
    busy.stop().await;
    // Accepting until the last 0.75 s of the 3 s (its tail), then the idle connection closes.
    assert!(signalled.elapsed() >= Duration::from_millis(2200), "a busy service drains: {:?}", signalled.elapsed());
}

/// The repeat-caller check stops before the database closes (issue 25): nothing checks a
/// caller against a closed pool, not even one handed to the recorder as the pool closes.
#[tokio::test]
async fn a_shutdown_stops_the_repeat_caller_check_before_the_database_closes() {
    let (_capturing, logs) = capture_this_tests_logs();
    let app = spawn_app().await;
    let stats = app.stats.clone();
    app.call().await;
    app.stop().await;
    // A webhook's caller still in hand when the pool closes.
    stats.call_started(CallId(7), Some("+77010000077"));
    assert_eq!(stats.flush().await, None, "the writer has stopped");
    let logs = logs();
    assert!(logs.contains("statistics drained"), "this test's shutdown is in its logs: {logs}");
    assert!(!logs.contains("cannot check repeat callers") && !logs.contains("closed pool"), "{logs}");
}

/// `ivr serve` started the way systemd starts it for `ivr.socket`: the listening socket as
/// descriptor 3, `LISTEN_FDS=1`, `LISTEN_PID` its own pid.
fn start_socket_activated(socket: &std::net::TcpListener, dir: &std::path::Path) -> Child {
    let root = env!("CARGO_MANIFEST_DIR");
    let passed: OwnedFd = socket.try_clone().expect("the socket").into();
    Command::new("sh")
        .arg("-c")
        .arg(r#"exec 3<&0 0</dev/null; LISTEN_PID=$$ LISTEN_FDS=1 exec "$0" serve"#)
        .arg(env!("CARGO_BIN_EXE_ivr"))
        .stdin(Stdio::from(passed))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        // An address nobody can bind here: serving at all proves the passed socket is used.
        .env("IVR_LISTEN", "192.0.2.1:8111")
        .env("IVR_PUBLIC_URL", PUBLIC_URL)
        .env("IVR_FLOW", format!("{root}/flows/hotline.toml"))
        .env("IVR_PROMPTS", format!("{root}/prompts"))
        .env("IVR_DATABASE_URL", format!("sqlite://{}", dir.join("stats.sqlite3").display()))
        .env("IVR_DATA_DIR", dir.join("data"))
        .env("IVR_DRAIN_MS", "1000")
        .env("IVR_AGI_LISTEN", "off")
        .env("IVR_LOG", "warn")
        .spawn()
        .expect("ivr starts")
}

#[tokio::test]
async fn a_restart_on_the_socket_systemd_passes_refuses_no_webhook() {
    let dir = tempfile::tempdir().expect("a temporary folder");
    let socket = std::net::TcpListener::bind("127.0.0.1:0").expect("binds");
    let address = format!("http://{}", socket.local_addr().expect("bound"));
    let client = reqwest::Client::new();
    let mut first = start_socket_activated(&socket, dir.path());
    // Connections wait in the socket's queue until the service accepts them: no retry needed.
    assert_eq!(incoming_call(&client, &address, 0).await.expect("answered"), 200);

    let load = {
        let (client, address) = (client.clone(), address.clone());
        tokio::spawn(async move {
            let (mut answered, mut failed) = (0, Vec::new());
            let started = Instant::now();
            while started.elapsed() < Duration::from_secs(4) {
                match incoming_call(&client, &address, answered + failed.len() + 1).await {
                    Ok(200) => answered += 1,
                    other => failed.push(format!("{other:?}")),
                }
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
            (answered, failed)
        })
    };
    tokio::time::sleep(Duration::from_millis(500)).await;
    let terminated = Command::new("kill").args(["-TERM", &first.id().to_string()]).status().expect("kill runs");
    assert!(terminated.success());
    let exit = tokio::task::spawn_blocking(move || first.wait()).await.expect("waited").expect("exited");
    assert!(exit.success(), "the first process exits cleanly after its drain: {exit:?}");
    let mut second = start_socket_activated(&socket, dir.path());

    let (answered, failed) = load.await.expect("the load ran");
    Command::new("kill").args(["-TERM", &second.id().to_string()]).status().expect("kill runs");
    tokio::task::spawn_blocking(move || second.wait()).await.expect("waited").expect("exited");
    assert!(failed.is_empty(), "webhooks failed across the restart: {failed:?}");
    assert!(answered > 20, "answered across the restart: {answered}");
}

/// Reads until the server closes the connection; `None` if it is still open after `wait`.
async fn closed_within(stream: &mut TcpStream, wait: Duration) -> Option<Vec<u8>> {
    let mut received = Vec::new();
    let mut buffer = [0_u8; 4096];
    let deadline = tokio::time::Instant::now() + wait;
    loop {
        match tokio::time::timeout_at(deadline, stream.read(&mut buffer)).await {
            Err(_) => return None,
            Ok(Ok(0) | Err(_)) => return Some(received),
            Ok(Ok(n)) => received.extend_from_slice(&buffer[..n]),
        }
    }
}

fn host_port(address: &str) -> &str {
    address.trim_start_matches("http://")
}

#[tokio::test]
async fn a_client_that_does_not_finish_its_headers_is_cut_off() {
    let app = spawn_app_with(with_env(&[("IVR_HEADER_TIMEOUT_MS", "300")])).await;
    let mut slow = TcpStream::connect(host_port(&app.address)).await.expect("connects");
    slow.write_all(b"POST /twilio/voice HTTP/1.1\r\nHost: ivr.test\r\n").await.expect("sent");
    assert!(closed_within(&mut slow, Duration::from_secs(3)).await.is_some(), "a slow client keeps its connection");
}

#[tokio::test]
async fn a_client_that_falls_silent_in_its_body_is_answered_408_within_the_body_timeout() {
    let app = spawn_app_with(with_env(&[("IVR_BODY_TIMEOUT_MS", "300")])).await;
    let mut slow = TcpStream::connect(host_port(&app.address)).await.expect("connects");
    let head = "POST /twilio/voice HTTP/1.1\r\nHost: ivr.test\r\n\
                Content-Type: application/x-www-form-urlencoded\r\nContent-Length: 100\r\n\r\nCallSid=CA";
    slow.write_all(head.as_bytes()).await.expect("sent");
    let started = Instant::now();
    let answer = closed_within(&mut slow, Duration::from_secs(5)).await.expect("the connection ends");
    let answer = String::from_utf8_lossy(&answer);
    assert!(answer.starts_with("HTTP/1.1 408"), "a stalled body is a timeout, not a lost caller: {answer}");
    assert!(started.elapsed() >= Duration::from_millis(250), "not before the timeout: {:?}", started.elapsed());
}

#[tokio::test]
async fn an_idle_kept_alive_connection_is_closed() {
    let app = spawn_app_with(with_env(&[("IVR_HEADER_TIMEOUT_MS", "300")])).await;
    let mut idle = TcpStream::connect(host_port(&app.address)).await.expect("connects");
    idle.write_all(b"GET /readyz HTTP/1.1\r\nHost: ivr.test\r\n\r\n").await.expect("sent");
    let mut buffer = [0_u8; 1024];
    let n = idle.read(&mut buffer).await.expect("a response");
    assert!(String::from_utf8_lossy(&buffer[..n]).starts_with("HTTP/1.1 200"), "answered, kept alive");
    assert!(closed_within(&mut idle, Duration::from_secs(3)).await.is_some(), "an idle connection is kept for ever");
}

#[tokio::test]
async fn beyond_the_connection_limit_new_connections_are_closed_at_once_and_logged() {
    let app = spawn_app_with(with_env(&[("IVR_MAX_CONNECTIONS", "4")])).await;
    let mut held = Vec::new();
    for _ in 0..4 {
        held.push(TcpStream::connect(host_port(&app.address)).await.expect("connects"));
    }
    let mut refused = TcpStream::connect(host_port(&app.address)).await.expect("the kernel accepts");
    let closed = closed_within(&mut refused, Duration::from_secs(2)).await;
    assert_eq!(closed, Some(Vec::new()), "a fifth connection is closed at once, unanswered");
    assert!(captured_logs().contains("connection limit reached"), "the refusal is logged");

    drop(held);
    let started = Instant::now();
    loop {
        match incoming_call(&reqwest::Client::new(), &app.address, 1).await {
            Ok(200) => break,
            other => assert!(started.elapsed() < Duration::from_secs(2), "slots freed: {other:?}"),
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test]
async fn a_real_call_is_answered_while_5000_idle_and_slow_connections_are_held() {
    let app = spawn_app().await;
    let mut held = Vec::new();
    for n in 0..5000 {
        let mut stream = TcpStream::connect(host_port(&app.address)).await.expect("connects");
        if n % 2 == 0 {
            stream.write_all(b"POST /twilio/voice HTTP/1.1\r\n").await.expect("a slow start");
        }
        held.push(stream);
    }
    let client = reqwest::Client::new();
    let started = Instant::now();
    assert_eq!(incoming_call(&client, &app.address, 1).await.expect("answered"), 200);
    eprintln!("a real call answered in {:?} with 5,000 connections held", started.elapsed());
    drop(held);
}

async fn a_handler_with_a_bug() -> &'static str {
    panic!("a bug in a handler")
}

/// What a route of the service's that panics answers, behind the service's panic layers.
async fn answer_to_a_panic(path: &str) -> (u16, String) {
    let dir = tempfile::tempdir().expect("a temporary folder");
    let root = env!("CARGO_MANIFEST_DIR");
    let env = [
        ("IVR_PUBLIC_URL", PUBLIC_URL.to_owned()),
        ("IVR_FLOW", format!("{root}/flows/hotline.toml")),
        ("IVR_DATABASE_URL", format!("sqlite://{}", dir.path().join("stats.sqlite3").display())),
        ("IVR_DATA_DIR", dir.path().join("data").display().to_string()),
    ];
    let settings =
        Settings::from_lookup(|name| env.iter().find(|(n, _)| *n == name).map(|(_, v)| v.clone())).expect("settings");
    let flow = Flow::load(&settings.flow_path).expect("the flow");
    let db = Db::connect_lazy(&settings.database_url).expect("a database URL");
    let (recorder, stats_tasks) = ivr::stats::start(&settings, db.clone());
    let loaded = ivr::state::assemble(settings, flow, bundled_prompts().clone()).expect("assembled");
    let state = AppState::start(loaded, db, recorder);
    let layer = match path {
        "/jambonz/gather" => ivr::telephony::panic::jambonz_layer(&state),
        _ => ivr::telephony::panic::twiml_layer(&state),
    };
    let buggy = axum::Router::new().route(path, post(a_handler_with_a_bug)).layer(layer);
    let request = axum::http::Request::post(path).body(Body::empty()).expect("a request");
    let response = buggy.oneshot(request).await.expect("answered");
    let status = response.status().as_u16();
    let body = axum::body::to_bytes(response.into_body(), 1 << 20).await.expect("a body");
    stats_tasks.drain().await;
    (status, String::from_utf8_lossy(&body).into_owned())
}

#[tokio::test]
async fn a_panicking_webhook_answers_the_caller_with_the_emergency_key() {
    let (status, document) = answer_to_a_panic("/twilio/gather").await;
    assert_eq!(status, 200, "a panic is neither a dropped connection nor a 500");
    let Reply::Gather { action, .. } = softphone::twiml::parse(&document).expect("TwiML") else {
        panic!("the caller is not listened to: {document}")
    };
    let app = spawn_app().await;
    let mut call = app.resume(action.split_once('?').map_or("", |(_, query)| query)).await;
    call.press("9").await;
    assert_eq!(call.ringing(), ["102"], "9 reaches the police from the answer to a panic");

    let (status, document) = answer_to_a_panic("/jambonz/gather").await;
    assert_eq!(status, 200);
    let reply = softphone::jambonz::parse(&document).expect("jambonz verbs");
    assert!(matches!(reply, Reply::Gather { .. }), "the caller is listened to on jambonz too: {document}");
}
