//! Transfers to operators: who is rung, what they hear first, and a caller who is never
//! left in silence or dropped while everyone is busy.

use ivr::softphone::{Dialect, Reply, Whisper};

use crate::helpers::{Call, OPERATOR_NUMBER, in_every_dialect, spawn_in};

in_every_dialect!(
    the_operator_hears_the_language_how_the_caller_came_and_what_they_heard,
    the_operator_is_told_when_the_caller_stayed_silent_and_heard_nothing,
    a_caller_who_pressed_keys_then_stayed_silent_is_told_as_silent,
    the_operator_is_told_when_the_police_line_failed,
    the_whisper_carries_no_caller_identifier,
    waiting_callers_hear_memo_guidance_between_rings_then_the_menu,
    the_emergency_key_works_while_waiting_for_an_operator,
    going_back_to_the_menu_starts_the_rounds_again,
);

/// What the operator who answers `call`'s transfer hears, as `lang/key`.
async fn whisper(call: &Call<'_>) -> Vec<String> {
    call.whisper(0).await
}

async fn the_operator_hears_the_language_how_the_caller_came_and_what_they_heard(dialect: Dialect) {
    let app = spawn_in(dialect).await;
    let mut call = app.call().await;
    call.press("2").await.press("2").await.press("0").await;
    assert_eq!(call.ringing(), [OPERATOR_NUMBER]);
    assert_eq!(
        whisper(&call).await,
        ["ru/whisper_language_ru", "ru/whisper_chose", "ru/whisper_topic_safety_plan"],
        "one topic is named"
    );
    let mut call = app.call().await;
    call.press("2").await.press("2").await.press("2").await.press("4").await.press("0").await;
    assert_eq!(
        whisper(&call).await,
        ["ru/whisper_language_ru", "ru/whisper_chose", "ru/whisper_heard_many"],
        "several topics are one short phrase"
    );
}

async fn the_operator_is_told_when_the_caller_stayed_silent_and_heard_nothing(dialect: Dialect) {
    let app = spawn_in(dialect).await;
    let mut call = app.call().await;
    call.choose_language("1").await.wait().await;
    assert_eq!(call.ringing(), [OPERATOR_NUMBER], "silent since choosing: one silence on the menu");
    assert_eq!(whisper(&call).await, ["kk/whisper_language_kk", "kk/whisper_silent", "kk/whisper_heard_nothing"]);
}

async fn a_caller_who_pressed_keys_then_stayed_silent_is_told_as_silent(dialect: Dialect) {
    let app = spawn_in(dialect).await;
    let mut call = app.call().await;
    call.choose_language("2").await.press("1").await.wait().await;
    assert_eq!(call.ringing(), [OPERATOR_NUMBER]);
    assert_eq!(whisper(&call).await, ["ru/whisper_language_ru", "ru/whisper_silent", "ru/whisper_topic_definition"]);
}

async fn the_operator_is_told_when_the_police_line_failed(dialect: Dialect) {
    let app = spawn_in(dialect).await;
    let mut call = app.call().await;
    call.press("1").await.press("9").await.dial_ends("no-answer").await.press("0").await;
    assert_eq!(
        whisper(&call).await,
        ["kk/whisper_language_kk", "kk/whisper_police_unreachable", "kk/whisper_heard_nothing"]
    );
    let mut call = app.call().await;
    call.press("2").await.press("9").await.dial_ends("busy").await.wait().await;
    assert_eq!(
        whisper(&call).await,
        ["ru/whisper_language_ru", "ru/whisper_police_unreachable_silent", "ru/whisper_heard_nothing"],
        "silence after the police line failed"
    );
}

async fn the_whisper_carries_no_caller_identifier(dialect: Dialect) {
    let app = spawn_in(dialect).await;
    let mut call = app.call_from("+77015550123", "CAbeefbeefbeefbeefbeefbeefbeefbeef").await;
    call.press("2").await.press("0").await;
    let Reply::Dial { targets, action, .. } = &call.reply else { panic!() };
    let whisper = match targets[0].whisper.clone().unwrap() {
        Whisper::Hook(url) => vec![url],
        Whisper::Prompts(urls) => urls,
    };
    // The action is the hook URL, or on Asterisk the state saved in IVR_STATE.
    for url in whisper.into_iter().chain([action.clone()]) {
        assert!(!url.contains("77015550123") && !url.contains("CAbeef"), "{url}");
    }
}

async fn waiting_callers_hear_memo_guidance_between_rings_then_the_menu(dialect: Dialect) {
    let app = spawn_in(dialect).await;
    let mut call = app.call().await;
    call.press("2").await.press("0").await.dial_ends("no-answer").await;
    assert_eq!(call.hearing(), ["ru/operators_busy", "ru/operators_busy_options"]);
    call.press("1").await;
    assert_eq!(call.hearing(), ["ru/hold_intro", "ru/hold_safe_place"], "first wait: a safe place");
    call.wait().await;
    assert_eq!(call.ringing(), [OPERATOR_NUMBER], "then the operators are rung again");
    call.dial_ends("busy").await.press("1").await;
    assert_eq!(call.hearing(), ["ru/hold_intro", "ru/hold_evidence"], "second wait: keeping evidence");
    call.press("5").await;
    assert_eq!(call.ringing(), [OPERATOR_NUMBER], "a key during the wait rings at once");
    call.dial_ends("failed").await;
    assert_eq!(call.hearing(), ["ru/operators_unavailable"], "after the last round");
    call.wait().await;
    assert_eq!(call.node(), "main");
}

async fn the_emergency_key_works_while_waiting_for_an_operator(dialect: Dialect) {
    let app = spawn_in(dialect).await;
    let mut call = app.call().await;
    call.press("1").await.press("0").await.dial_ends("busy").await;
    call.press("9").await;
    assert_eq!(call.ringing(), ["102"], "on the busy menu");
    let mut call = app.call().await;
    call.press("1").await.press("0").await.dial_ends("busy").await.press("1").await;
    call.press("9").await;
    assert_eq!(call.ringing(), ["102"], "during the guidance between rings");
}

async fn going_back_to_the_menu_starts_the_rounds_again(dialect: Dialect) {
    let app = spawn_in(dialect).await;
    let mut call = app.call().await;
    call.press("1").await.press("0").await.dial_ends("busy").await.press("1").await.wait().await;
    call.dial_ends("busy").await.press("2").await;
    assert_eq!(call.node(), "main");
    call.press("0").await.dial_ends("busy").await;
    assert_eq!(call.node(), "operators_busy", "a fresh first round, not the exhausted message");
}
