//! The operators' queue on real calls (issue 26, items 1 and 2): callers are connected in
//! order of arrival, one caller per operator; an operator on a call or in wrap-up is not
//! rung; a ring not answered moves on to the next free operator; a waiting caller hears
//! their position, can still press 9 for the police at once, and keeps their place while
//! they hear advice; after the language's longest wait an operator of the other language
//! takes them; two instances on one database share the queue, and a caller handed from one
//! instance to the other keeps their place.
//!
//! A waiting caller asks again each time their stretch of waiting ends (`Call::wait`), so
//! tests move time on by waiting, never by sleeping.

use ivr::operators::{RosterStore, State, StateStore};
use ivr::softphone::Dialect;

use crate::helpers::{Call, Options, TestApp, in_every_dialect};
use crate::stats::support::{Backend, eventually};

use super::{RosterApp, roster_app};

const KAZAKH: &str = "+77170000001";
const KAZAKH_2: &str = "+77170000002";
const RUSSIAN: &str = "+77170000003";

in_every_dialect!(
    two_callers_and_one_operator_are_connected_in_arrival_order,
    a_ring_not_answered_moves_on_to_the_next_free_operator,
    a_waiting_caller_hears_their_position_and_nine_still_rings_the_police_at_once,
    a_waiting_caller_who_hears_advice_keeps_their_place,
    after_the_longest_wait_an_operator_of_the_other_language_takes_the_caller,
    the_expected_wait_is_said_once_the_queue_has_a_pace,
);

/// The service on a fresh SQLite database with `operators` (target, languages) on its
/// roster, ringing the operator free longest and with no wrap-up unless `env` says
/// otherwise.
async fn line(dialect: Dialect, operators: &[(&str, &str)], env: Vec<(&'static str, String)>) -> RosterApp {
    let mut env = env;
    if !env.iter().any(|(name, _)| *name == "IVR_WRAP_UP_SECONDS") {
        env.push(("IVR_WRAP_UP_SECONDS", "0".to_owned()));
    }
    if !env.iter().any(|(name, _)| *name == "IVR_QUEUE_STRATEGY") {
        env.push(("IVR_QUEUE_STRATEGY", "longest_free".to_owned()));
    }
    let roster = roster_app(&Backend::Sqlite, Options { dialect, env, ..Options::default() }).await;
    for (i, (target, languages)) in operators.iter().enumerate() {
        roster.add(&format!("operator {i}"), target, languages, true).await;
    }
    let everyone = operators.len();
    let state = roster.app.state.clone().expect("the service's state");
    eventually("the roster is loaded", || async { state.roster.snapshot().operators.len() == everyone }).await;
    roster
}

/// A Kazakh caller who asks for an operator from the main menu.
async fn asks(app: &TestApp) -> Call<'_> {
    let mut call = app.call_at("main", Some("kk")).await;
    call.press("0").await;
    call
}

/// Whether the caller is waiting in the queue: on the transfer's node, listening for a key.
fn waiting(call: &Call<'_>) -> bool {
    call.ringing().is_empty() && call.node() == "operator" && call.listening()
}

/// Lets the waiting caller's stretches of waiting pass (each one a moment here) until they
/// are rung, for 10 s at most.
async fn rung_after_waiting(call: &mut Call<'_>) -> Vec<String> {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while call.ringing().is_empty() {
        assert!(waiting(call), "neither rung nor waiting: {:?}", call.hearing());
        assert!(std::time::Instant::now() < deadline, "still waiting after 10 s");
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        call.wait().await;
    }
    call.ringing()
}

async fn two_callers_and_one_operator_are_connected_in_arrival_order(dialect: Dialect) {
    let roster = line(dialect, &[(KAZAKH, "kk")], Vec::new()).await;
    let app = &roster.app;
    let mut first = asks(app).await;
    assert_eq!(first.ringing(), [KAZAKH], "a free operator is rung at once");
    let mut second = asks(app).await;
    assert!(waiting(&second), "one caller per operator: the second waits");
    assert!(second.hearing().contains(&"kk/queue_number_1".to_owned()), "next: {:?}", second.hearing());
    first.whisper(0).await;
    second.wait().await;
    assert!(waiting(&second), "the operator is on the first caller's call");
    let mut third = asks(app).await;
    assert!(waiting(&third));
    first.dial_ends("completed").await;
    let id = roster.store.list_operators().await.expect("the roster")[0].id;
    eventually("the operator is free again", || async {
        roster.store.operator_state(id).await.is_ok_and(|s| s.at(chrono::Utc::now()) == State::Available)
    })
    .await;
    // No wrap-up here: the third caller asks first, but the second arrived first.
    for _ in 0..5 {
        third.wait().await;
        assert!(waiting(&third), "the third caller is never rung before the second");
    }
    assert_eq!(rung_after_waiting(&mut second).await, [KAZAKH]);
    third.wait().await;
    assert!(waiting(&third), "the operator is being rung for the second caller");
}

async fn a_ring_not_answered_moves_on_to_the_next_free_operator(dialect: Dialect) {
    let roster = line(dialect, &[(KAZAKH, "kk"), (KAZAKH_2, "kk")], Vec::new()).await;
    let mut call = asks(&roster.app).await;
    let first = call.ringing();
    assert_eq!(first.len(), 1, "the longest free operator alone is rung: {first:?}");
    call.dial_ends("no-answer").await;
    let next = rung_after_waiting(&mut call).await;
    assert_eq!(next.len(), 1);
    assert_ne!(next, first, "the operator who did not answer is now the most recently free");
}

async fn a_waiting_caller_hears_their_position_and_nine_still_rings_the_police_at_once(dialect: Dialect) {
    let roster = line(dialect, &[(KAZAKH, "kk")], Vec::new()).await;
    let app = &roster.app;
    let mut on_call = asks(app).await;
    on_call.whisper(0).await;
    let mut second = asks(app).await;
    let mut third = asks(app).await;
    assert!(second.hearing().ends_with(&["kk/queue_number_1".to_owned(), "kk/queue_keys".to_owned()]));
    assert!(third.hearing().ends_with(&["kk/queue_number_2".to_owned(), "kk/queue_keys".to_owned()]));
    second.wait().await;
    assert!(!second.hearing().iter().any(|p| p.contains("queue_")), "told once until it changes");
    third.press("9").await;
    assert_eq!(third.ringing(), ["102"], "the police at once, from the queue");
    on_call.dial_ends("completed").await;
    assert_eq!(rung_after_waiting(&mut second).await, [KAZAKH]);
}

async fn a_waiting_caller_who_hears_advice_keeps_their_place(dialect: Dialect) {
    let roster = line(dialect, &[(KAZAKH, "kk")], Vec::new()).await;
    let app = &roster.app;
    let mut on_call = asks(app).await;
    on_call.whisper(0).await;
    let mut second = asks(app).await;
    let mut third = asks(app).await;
    second.press("1").await; // what they can do meanwhile
    assert_eq!(second.node(), "operators_busy");
    second.press("1").await; // advice, then back to their place
    assert_eq!(second.node(), "hold");
    second.wait().await;
    assert!(waiting(&second), "back in the queue: {:?}", second.hearing());
    on_call.dial_ends("completed").await;
    third.wait().await;
    assert!(waiting(&third), "the second caller's place was kept");
    assert_eq!(rung_after_waiting(&mut second).await, [KAZAKH]);
}

async fn after_the_longest_wait_an_operator_of_the_other_language_takes_the_caller(dialect: Dialect) {
    let longest = vec![("IVR_QUEUE_LONGEST_WAIT_SECONDS", "1".to_owned())];
    let roster = line(dialect, &[(KAZAKH, "kk"), (RUSSIAN, "ru")], longest).await;
    let app = &roster.app;
    let on_call = asks(app).await;
    assert_eq!(on_call.ringing(), [KAZAKH]);
    on_call.whisper(0).await;
    let mut waits = asks(app).await;
    assert!(waiting(&waits), "a Russian operator is free, but the longest wait has not passed");
    assert_eq!(rung_after_waiting(&mut waits).await, [RUSSIAN]);
}

/// Over FastAGI the line learns who answered only when the dial returns, the call over: the
/// one operator rung is then in wrap-up, and not rung for the caller waiting meanwhile.
#[tokio::test]
async fn over_fastagi_the_operator_who_answered_is_in_wrap_up_when_the_dial_returns() {
    let wrap_up = vec![("IVR_WRAP_UP_SECONDS", "60".to_owned())];
    let roster = line(Dialect::Asterisk, &[(KAZAKH, "kk")], wrap_up).await;
    let app = &roster.app;
    let mut first = asks(app).await;
    assert_eq!(first.ringing(), [KAZAKH]);
    let mut second = asks(app).await;
    assert!(waiting(&second));
    first.dial_ends("completed").await;
    let id = roster.store.list_operators().await.expect("the roster")[0].id;
    eventually("the operator who answered is in wrap-up", || async {
        roster.store.operator_state(id).await.is_ok_and(|s| s.at(chrono::Utc::now()) == State::WrapUp)
    })
    .await;
    for _ in 0..5 {
        second.wait().await;
        assert!(waiting(&second), "not rung in wrap-up");
    }
}

async fn the_expected_wait_is_said_once_the_queue_has_a_pace(dialect: Dialect) {
    let roster = line(dialect, &[(KAZAKH, "kk"), (KAZAKH_2, "kk")], Vec::new()).await;
    let app = &roster.app;
    let mut first = asks(app).await;
    first.whisper(0).await;
    let second = asks(app).await;
    second.whisper(0).await;
    let third = asks(app).await;
    assert!(waiting(&third));
    assert!(!third.hearing().iter().any(|p| p.contains("queue_wait")), "two rings tell no pace: {:?}", third.hearing());
    // A third ring: three callers rung out of the queue in the last 15 minutes, a pace of one
    // every 5 minutes, so the next caller, first in line, expects 5 minutes.
    first.dial_ends("completed").await;
    let mut third = third;
    rung_after_waiting(&mut third).await;
    let fourth = asks(app).await;
    assert!(waiting(&fourth));
    let heard = fourth.hearing();
    assert!(
        heard.ends_with(&["kk/queue_wait".to_owned(), "kk/queue_number_5".to_owned(), "kk/queue_keys".to_owned()]),
        "{heard:?}"
    );
}

/// Over FastAGI, ringing every free operator: `Dial` names who answered (`DIALEDPEERNUMBER`),
/// and that operator, not the other, is in wrap-up when it returns.
#[tokio::test]
async fn over_fastagi_ringing_all_the_operator_dial_names_is_the_one_who_answered() {
    let env = vec![("IVR_WRAP_UP_SECONDS", "60".to_owned()), ("IVR_QUEUE_STRATEGY", "ring_all".to_owned())];
    let roster = line(Dialect::Asterisk, &[(KAZAKH, "kk"), (KAZAKH_2, "kk")], env).await;
    let mut call = asks(&roster.app).await;
    assert_eq!(call.ringing(), [KAZAKH, KAZAKH_2]);
    call.pbx_sets("DIALEDPEERNUMBER", &format!("{KAZAKH_2}@kz-trunk")).dial_ends("completed").await;
    let ids: Vec<i64> = roster.store.list_operators().await.expect("the roster").iter().map(|o| o.id).collect();
    let store = &roster.store;
    eventually("the operator Dial named is in wrap-up", || async {
        store.operator_state(ids[1]).await.is_ok_and(|s| s.at(chrono::Utc::now()) == State::WrapUp)
    })
    .await;
    let other = store.operator_state(ids[0]).await.expect("a state").at(chrono::Utc::now());
    assert_eq!(other, State::Available, "the other one rang, no more");
}
