//! Complete calls through the menu, in both languages: topics, repeat and back, silence,
//! wrong keys, and the fallback to an operator.

use ivr::telephony::softphone::{Dialect, Reply};

use crate::helpers::{OPERATOR_NUMBER, Options, in_both_dialects, spawn_app_with, spawn_in};

in_both_dialects!(
    a_call_starts_with_the_bilingual_language_choice,
    the_welcome_leads_to_the_main_menu_in_the_chosen_language,
    every_topic_can_be_heard_repeated_and_left_in_both_languages,
    a_key_pressed_during_the_welcome_counts_for_the_main_menu,
    silence_repeats_the_menu_then_reaches_an_operator_after_three,
    someone_who_cannot_press_keys_reaches_an_operator_from_the_language_choice,
    an_invalid_key_says_so_and_repeats_the_menu_then_reaches_an_operator,
    failures_are_counted_in_a_row_only,
    after_a_topic_silence_replays_only_the_what_next_menu,
    the_operator_key_works_on_every_menu,
    nobody_answering_offers_to_wait_or_go_back,
    without_operators_the_caller_hears_they_are_busy_not_silence,
    a_finished_conversation_ends_with_goodbye,
    a_stale_or_forged_state_lands_on_a_safe_menu,
);

const LANGUAGES: [(&str, &str); 2] = [("1", "kk"), ("2", "ru")];
const TOPICS: [(&str, &str, &str); 5] = [
    ("1", "definition", "guidance_definition"),
    ("2", "safety_plan", "guidance_safety_plan"),
    ("3", "evidence", "guidance_evidence"),
    ("4", "going_to_police", "guidance_police"),
    ("5", "rights", "guidance_rights"),
];

async fn a_call_starts_with_the_bilingual_language_choice(dialect: Dialect) {
    let app = spawn_in(dialect).await;
    let call = app.call().await;
    assert_eq!(call.node(), "language");
    assert_eq!(call.hearing(), ["kk/choose_language"]);
}

async fn the_welcome_leads_to_the_main_menu_in_the_chosen_language(dialect: Dialect) {
    let app = spawn_in(dialect).await;
    for (key, lang) in LANGUAGES {
        let mut call = app.call().await;
        call.press(key).await;
        assert_eq!(call.hearing(), [format!("{lang}/welcome")]);
        call.wait().await;
        assert_eq!(call.node(), "main");
        assert_eq!(call.hearing(), [format!("{lang}/main_menu")]);
    }
}

async fn every_topic_can_be_heard_repeated_and_left_in_both_languages(dialect: Dialect) {
    let app = spawn_in(dialect).await;
    for (lang_key, lang) in LANGUAGES {
        for (key, node, prompt) in TOPICS {
            let mut call = app.call().await;
            call.press(lang_key).await.wait().await.press(key).await;
            assert_eq!(call.node(), node);
            let next = prompt.replace("guidance_", "next_");
            assert_eq!(call.hearing(), [format!("{lang}/{prompt}"), format!("{lang}/{next}")]);

            call.press("1").await;
            assert_eq!(call.hearing(), [format!("{lang}/{prompt}"), format!("{lang}/{next}")], "1 repeats");
            call.press("2").await;
            assert_eq!(call.node(), "main", "2 returns to the main menu");
            assert_eq!(call.hearing(), [format!("{lang}/main_menu")]);
        }
    }
}

async fn a_key_pressed_during_the_welcome_counts_for_the_main_menu(dialect: Dialect) {
    let app = spawn_in(dialect).await;
    let mut call = app.call().await;
    call.press("2").await.press("3").await;
    assert_eq!(call.node(), "evidence");
    assert_eq!(call.hearing()[0], "ru/guidance_evidence");
}

async fn silence_repeats_the_menu_then_reaches_an_operator_after_three(dialect: Dialect) {
    let app = spawn_in(dialect).await;
    let mut call = app.call().await;
    call.press("2").await.wait().await;
    call.wait().await;
    assert_eq!(call.node(), "main");
    assert_eq!(call.hearing(), ["ru/no_input", "ru/main_menu"]);
    call.wait().await;
    assert_eq!(call.hearing(), ["ru/no_input", "ru/main_menu"]);
    call.wait().await;
    assert_eq!(call.node(), "operator");
    assert_eq!(call.ringing(), [OPERATOR_NUMBER]);
    assert_eq!(call.hearing(), ["ru/transfer_operator"]);
}

async fn someone_who_cannot_press_keys_reaches_an_operator_from_the_language_choice(dialect: Dialect) {
    let app = spawn_in(dialect).await;
    let mut call = app.call().await;
    call.wait().await.wait().await.wait().await;
    assert_eq!(call.ringing(), [OPERATOR_NUMBER]);
    assert_eq!(call.hearing(), ["kk/transfer_operator"]);
}

async fn an_invalid_key_says_so_and_repeats_the_menu_then_reaches_an_operator(dialect: Dialect) {
    let app = spawn_in(dialect).await;
    let mut call = app.call().await;
    call.press("1").await.wait().await.press("7").await;
    assert_eq!(call.node(), "main");
    assert_eq!(call.hearing(), ["kk/invalid_choice", "kk/main_menu"]);
    call.press("#").await;
    assert_eq!(call.hearing(), ["kk/invalid_choice", "kk/main_menu"]);
    call.press("8").await;
    assert_eq!(call.ringing(), [OPERATOR_NUMBER]);
}

async fn failures_are_counted_in_a_row_only(dialect: Dialect) {
    let app = spawn_in(dialect).await;
    let mut call = app.call().await;
    call.press("1").await.wait().await;
    call.press("7").await.wait().await;
    call.press("1").await.press("2").await;
    call.press("7").await.wait().await;
    assert_eq!(call.node(), "main", "a valid choice in between resets the count");
}

async fn after_a_topic_silence_replays_only_the_what_next_menu(dialect: Dialect) {
    let app = spawn_in(dialect).await;
    let mut call = app.call().await;
    call.press("1").await.wait().await.press("2").await.wait().await;
    assert_eq!(call.node(), "safety_plan");
    assert_eq!(call.hearing(), ["kk/no_input", "kk/next_safety_plan"]);
}

async fn the_operator_key_works_on_every_menu(dialect: Dialect) {
    let app = spawn_in(dialect).await;
    for node in app.flow.node_ids().map(|id| app.flow.node(id)).filter(|n| n.options().is_some()) {
        let mut call = app.call_at(&node.name, Some("ru"));
        call.press("0").await;
        assert_eq!(call.node(), "operator", "from {}", node.name);
        assert_eq!(call.ringing(), [OPERATOR_NUMBER]);
    }
}

async fn nobody_answering_offers_to_wait_or_go_back(dialect: Dialect) {
    let app = spawn_in(dialect).await;
    for status in ["busy", "no-answer", "failed", "canceled"] {
        let mut call = app.call().await;
        call.press("1").await.wait().await.press("0").await.dial_ends(status).await;
        assert_eq!(call.node(), "operators_busy", "after {status}");
        assert_eq!(call.hearing(), ["kk/operators_busy"]);
        call.press("1").await.wait().await;
        assert_eq!(call.ringing(), [OPERATOR_NUMBER], "1 keeps waiting, then rings again");
        call.dial_ends(status).await.press("2").await;
        assert_eq!(call.node(), "main", "2 goes back to the menu");
    }
}

async fn without_operators_the_caller_hears_they_are_busy_not_silence(dialect: Dialect) {
    let app = spawn_app_with(Options { dialect, operator: None, ..Options::default() }).await;
    let mut call = app.call().await;
    call.press("2").await.press("0").await;
    assert_eq!(call.node(), "operators_busy");
    assert_eq!(call.hearing(), ["ru/operators_busy"]);
}

async fn a_finished_conversation_ends_with_goodbye(dialect: Dialect) {
    let app = spawn_in(dialect).await;
    let mut call = app.call().await;
    call.press("2").await.press("0").await.dial_ends("completed").await;
    assert!(matches!(call.reply, Reply::Hangup { .. }));
    assert_eq!(call.hearing(), ["ru/goodbye"]);
}

async fn a_stale_or_forged_state_lands_on_a_safe_menu(dialect: Dialect) {
    let app = spawn_in(dialect).await;
    let cases = [
        ("n=no_such_node&l=ru", "main", "ru/invalid_choice"),
        ("n=no_such_node", "language", "kk/invalid_choice"),
        ("n=main&l=xx&t=zz&c=nothex", "main", "kk/invalid_choice"),
        ("garbage%%%", "language", "kk/invalid_choice"),
        ("n=police&l=kk", "main", "kk/main_menu"),
        ("n=main&l=ru&f=250", "operator", "ru/transfer_operator"),
    ];
    for (query, node, first) in cases {
        let mut call = app.resume(query);
        call.press("7").await;
        assert_eq!(call.node(), node, "{query}");
        assert_eq!(call.hearing()[0], first, "{query}");
    }
}
