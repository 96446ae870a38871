//! The Asterisk dialect's own: the FastAGI protocol through its listener, with an
//! in-process Asterisk peer (`ivr::softphone::asterisk`): the commands of a turn, a key
//! cutting a prompt, the `Dial` argument, `HANGUP` and a dead channel, malformed lines, a
//! silent peer, a refused address, the connection cap, a call re-entered from `IVR_STATE`
//! and the drain. The call path itself (menus, the emergency key with every `DIALSTATUS`,
//! operators and their whisper, the busy menu, hang-ups and statistics) runs over FastAGI
//! with the other dialects' tests (`in_every_dialect!`).

use std::time::Duration;

use ivr::softphone::asterisk::{AgiCall, At, Channel, environment};
use ivr::stats::Store;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::helpers::{Options, TestApp, captured_logs, spawn_app_with};
use crate::stats::counting::{flushed, spawn_on};
use crate::stats::support::{Backend, TestDatabase, around_today};

type Call = AgiCall<TcpStream>;

async fn spawn(env: &[(&'static str, &str)]) -> TestApp {
    let env = env.iter().map(|(name, value)| (*name, (*value).to_owned())).collect();
    spawn_app_with(Options { env, ..Options::default() }).await
}

async fn connect(app: &TestApp) -> TcpStream {
    TcpStream::connect(app.agi.expect("FastAGI listens")).await.expect("connects")
}

async fn call(app: &TestApp) -> Call {
    call_on(app, &Channel::default(), None).await
}

async fn call_on(app: &TestApp, channel: &Channel, state: Option<&str>) -> Call {
    AgiCall::start(connect(app).await, &environment(channel, state)).await.expect("a conversation")
}

/// What the caller heard from the `from`th prompt on, as `lang/key`.
fn heard_since(call: &Call, from: usize) -> Vec<String> {
    let name = |url: &String| url.trim_start_matches("https://ivr.test/prompts/").trim_end_matches(".wav").to_owned();
    call.played[from..].iter().map(name).collect()
}

/// Reads until the service closes the connection; what it wrote.
async fn closed_after(mut stream: TcpStream) -> String {
    let mut text = String::new();
    let read = tokio::time::timeout(Duration::from_secs(10), stream.read_to_string(&mut text)).await;
    assert!(read.is_ok(), "the service closes the connection");
    text
}

#[tokio::test]
async fn a_call_answers_saves_its_state_and_plays_the_language_choice_any_key_cutting_it() {
    let app = spawn(&[]).await;
    let mut call = call(&app).await;
    assert_eq!(call.commands[0], "ANSWER");
    assert!(call.commands[1].starts_with("SET VARIABLE \"IVR_STATE\" \"c="), "{:?}", call.commands);
    assert!(call.state().is_some_and(|s| s.contains("n=language")));
    assert_eq!(call.at, At::Prompt("https://ivr.test/prompts/kk/choose_language.wav".into()));
    assert!(call.commands[2].ends_with("\"0123456789*#\""), "any key cuts a menu prompt");
    call.listen().await.unwrap();
    // Before a language is chosen, every prompt in Kazakh, then in Russian.
    let both = |key: &str| [format!("kk/{key}"), format!("ru/{key}")];
    let heard: Vec<String> =
        ["choose_language", "police_operator_keys", "language_stay_on_line"].iter().flat_map(|k| both(k)).collect();
    assert_eq!(heard_since(&call, 0), heard);
    assert_eq!(call.at, At::WaitForDigit(5000), "the flow's gather timeout, in ms");
    call.press('2').await.unwrap();
    assert_eq!(call.at, At::Prompt("https://ivr.test/prompts/ru/safety_notice.wav".into()));
    assert!(call.state().is_some_and(|s| s.contains("n=safety_notice") && s.contains("l=ru")));
}

#[tokio::test]
async fn a_transfer_is_one_dial_through_the_template_that_goes_on_after_the_far_end_hangs_up() {
    let app = spawn(&[]).await;
    let mut call = call(&app).await;
    call.press('1').await.unwrap().press('9').await.unwrap();
    let At::Dial(argument) = &call.at else { panic!("dialling: {:?}", call.at) };
    assert!(argument.starts_with("PJSIP/102@kz-trunk,") && argument.ends_with(",g"), "{argument}");
    let mut call = self::call(&app).await;
    call.press('1').await.unwrap().press('0').await.unwrap();
    let At::Dial(argument) = call.at.clone() else { panic!("dialling: {:?}", call.at) };
    let (targets, rest) = argument.split_once(',').unwrap();
    assert_eq!(targets, "PJSIP/+77170000111@kz-trunk", "the switchboard, through IVR_ASTERISK_DIAL");
    assert!(rest.contains(",gU(ivr-111-whisper^https://ivr.test/prompts/kk/"), "{rest}");
}

#[tokio::test]
async fn a_call_handed_back_with_its_state_goes_on_at_the_same_menu() {
    let app = spawn(&[]).await;
    let mut first = call(&app).await;
    first.press('2').await.unwrap().wait().await.unwrap().press('3').await.unwrap();
    let at = first.played.len();
    first.listen().await.unwrap();
    let menu = heard_since(&first, at);
    assert_eq!(menu, ["ru/guidance_evidence_1", "ru/next_part"]);
    let state = first.state().expect("a state").to_owned();
    drop(first);
    let mut second = call_on(&app, &Channel::default(), Some(&state)).await;
    second.listen().await.unwrap();
    assert_eq!(heard_since(&second, 0), menu, "the same menu, not the start");
    assert_eq!(second.state(), Some(state.as_str()));
    assert!(captured_logs().contains("call resumed from IVR_STATE"));
}

#[tokio::test]
async fn a_call_whose_connection_broke_during_a_transfer_goes_on_with_the_dials_outcome() {
    let app = spawn(&[]).await;
    let mut first = call(&app).await;
    first.press('1').await.unwrap().press('9').await.unwrap();
    let state = first.state().expect("a state").to_owned();
    drop(first);
    // The new peer holds no DIALSTATUS: the transfer is taken as failed.
    let mut second = call_on(&app, &Channel::default(), Some(&state)).await;
    assert!(second.commands.iter().any(|c| c == "GET VARIABLE \"DIALSTATUS\""), "{:?}", second.commands);
    second.listen().await.unwrap();
    assert_eq!(
        heard_since(&second, 0),
        ["kk/police_unreachable", "kk/police_number"],
        "no DIALSTATUS: a failed transfer"
    );
}

#[tokio::test]
async fn a_hang_up_ends_the_conversation_and_is_recorded_with_its_duration() {
    let db = TestDatabase::new(&Backend::Sqlite).await;
    let app = spawn_on(&db, &[]).await;
    let mut call = call_on(&app, &Channel::new("+77015550001", "1765100001.7"), None).await;
    call.press('1').await.unwrap().hang_up().await.unwrap();
    assert_eq!(call.at, At::Closed, "the service closes the connection");
    let mut police = call_on(&app, &Channel::new("+77015550002", "1765100001.8"), None).await;
    police.press('1').await.unwrap().press('9').await.unwrap().hang_up().await.unwrap();
    assert!(
        police.commands.iter().any(|c| c == "GET VARIABLE \"DIALSTATUS\""),
        "the outcome is read on a dead channel"
    );
    flushed(&app).await;
    let calls = db.store().await.calls(around_today()).await.expect("calls");
    assert_eq!(calls.len(), 2, "{calls:#?}");
    assert!(calls.iter().all(|c| c.ended.as_deref() == Some("completed")), "{calls:#?}");
}

#[tokio::test]
async fn what_is_not_asterisk_is_closed_with_a_clear_log_line_and_no_panic() {
    let app = spawn(&[]).await;
    let mut stream = connect(&app).await;
    stream.write_all(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n").await.unwrap();
    assert_eq!(closed_after(stream).await, "", "nothing sent to a peer that is not Asterisk");
    let mut stream = connect(&app).await;
    stream.write_all(environment(&Channel::default(), None).as_bytes()).await.unwrap();
    stream.write_all(b"hello there\n").await.unwrap();
    assert_eq!(closed_after(stream).await, "ANSWER\n", "a reply Asterisk never gives ends the conversation");
    let logs = captured_logs();
    assert!(logs.contains("malformed environment from the peer"), "{logs}");
    assert!(logs.contains("malformed reply from the peer"), "{logs}");
    let unknown =
        environment(&Channel::default(), None).replace("agi_network_script: hotline", "agi_network_script: other");
    let mut stream = connect(&app).await;
    stream.write_all(unknown.as_bytes()).await.unwrap();
    assert_eq!(closed_after(stream).await, "", "another script path is not this service's");
}

#[tokio::test]
async fn a_peer_that_stops_answering_is_closed_after_the_timeout() {
    let app = spawn(&[("IVR_AGI_TIMEOUT_MS", "200")]).await;
    let silent = connect(&app).await;
    assert_eq!(closed_after(silent).await, "", "no environment");
    let mut stream = connect(&app).await;
    stream.write_all(environment(&Channel::default(), None).as_bytes()).await.unwrap();
    assert_eq!(closed_after(stream).await, "ANSWER\n", "no reply");
    assert!(captured_logs().contains("Asterisk stopped answering"));
}

#[tokio::test]
async fn an_address_outside_the_allow_list_is_refused_at_accept() {
    let app = spawn(&[("IVR_AGI_ALLOW", "10.0.0.0/8, 192.0.2.7")]).await;
    let mut stream = connect(&app).await;
    let _ = stream.write_all(environment(&Channel::default(), None).as_bytes()).await;
    assert_eq!(closed_after(stream).await, "");
    assert!(captured_logs().contains("FastAGI connection from an address not in IVR_AGI_ALLOW closed"));
}

#[tokio::test]
async fn connections_beyond_the_cap_are_closed_at_once() {
    let app = spawn(&[("IVR_MAX_CONNECTIONS", "2")]).await;
    let first = call(&app).await;
    let second = call(&app).await;
    assert_eq!((&first.at, &second.at), (&At::Prompt(first_prompt()), &At::Prompt(first_prompt())));
    assert_eq!(closed_after(connect(&app).await).await, "", "the third is closed at once");
    assert!(captured_logs().contains("FastAGI connection limit reached"));
    let mut first = first;
    first.hang_up().await.unwrap();
    // The slot is given back as the first conversation ends (just after it closes): the
    // next one is taken.
    let mut next = None;
    for _ in 0..200 {
        let stream = connect(&app).await;
        let call = AgiCall::start(stream, &environment(&Channel::default(), None)).await;
        if let Some(call) = call.ok().filter(|call| call.at != At::Closed) {
            next = Some(call);
            break;
        }
        tokio::task::yield_now().await;
    }
    assert!(next.is_some(), "a slot came free");
}

fn first_prompt() -> String {
    "https://ivr.test/prompts/kk/choose_language.wav".into()
}

#[tokio::test]
async fn a_drain_lets_a_conversation_go_on_then_hands_it_back_to_the_dialplan() {
    let app = spawn(&[("IVR_DRAIN_MS", "1500")]).await;
    let mut call = call(&app).await;
    app.send_shutdown_signal();
    call.press('1').await.unwrap();
    assert!(matches!(call.at, At::Prompt(_)), "still answered while draining: {:?}", call.at);
    if let Ok(stream) = TcpStream::connect(app.agi.unwrap()).await {
        assert_eq!(closed_after(stream).await, "", "no new conversation while draining");
    }
    let closed = tokio::time::timeout(Duration::from_secs(10), call.until_closed()).await;
    assert!(closed.is_ok(), "the drain's end closes the connection");
    assert!(call.state().is_some_and(|s| s.contains("n=safety_notice")), "the dialplan re-enters with this state");
    app.stop().await;
}
