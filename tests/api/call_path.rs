//! Complete calls through the menu, in both languages: topics in parts, repeat and back,
//! silence, wrong keys, and the fallback to an operator.

use ivr::softphone::{Dialect, Reply};

use crate::helpers::{OPERATOR_NUMBER, Options, in_every_dialect, spawn_app_with, spawn_in};

in_every_dialect!(
    a_call_starts_with_the_bilingual_language_choice_that_says_silence_reaches_a_person,
    a_caller_who_chose_no_language_hears_both_languages_after_a_wrong_key_or_a_failed_transfer,
    the_safety_notice_leads_to_the_welcome_and_the_topics_in_the_chosen_language,
    a_caller_silent_since_choosing_a_language_reaches_an_operator_at_the_first_silence,
    every_topic_steps_through_its_parts_and_can_be_left_in_both_languages,
    a_key_pressed_during_the_welcome_or_the_safety_notice_counts_for_the_main_menu,
    a_silent_caller_at_the_main_menu_hears_one_short_reminder_then_reaches_an_operator,
    someone_who_cannot_press_keys_reaches_an_operator_after_one_silence_at_the_language_choice,
    silence_after_a_guidance_part_rings_an_operator,
    the_repeat_key_plays_the_current_menu_again,
    an_invalid_key_says_so_and_repeats_the_menu_then_reaches_an_operator,
    failures_are_counted_in_a_row_only,
    the_operator_key_works_on_every_menu,
    nobody_answering_offers_to_wait_or_go_back,
    without_operators_the_caller_hears_they_are_busy_not_silence,
    a_finished_conversation_ends_with_goodbye,
    a_stale_or_forged_state_lands_on_a_safe_menu,
);

const LANGUAGES: [(&str, &str); 2] = [("1", "kk"), ("2", "ru")];
/// The main-menu key, the topic's parts, and what follows its last part.
const TOPICS: [(&str, &str, usize); 5] =
    [("1", "definition", 1), ("2", "safety_plan", 6), ("3", "evidence", 2), ("4", "police", 2), ("5", "rights", 2)];

async fn a_call_starts_with_the_bilingual_language_choice_that_says_silence_reaches_a_person(dialect: Dialect) {
    let app = spawn_in(dialect).await;
    let call = app.call().await;
    assert_eq!(call.node(), "language");
    assert_eq!(call.hearing(), in_both(&["choose_language", "police_operator_keys", "language_stay_on_line"]));
}

/// Each prompt in Kazakh, then in Russian, as a caller who chose no language hears them.
fn in_both(keys: &[&str]) -> Vec<String> {
    keys.iter().flat_map(|key| ["kk", "ru"].map(|lang| format!("{lang}/{key}"))).collect()
}

async fn a_caller_who_chose_no_language_hears_both_languages_after_a_wrong_key_or_a_failed_transfer(dialect: Dialect) {
    // A Russian speaker who presses a wrong key at the choice, then 0, and nobody answers.
    let app = spawn_in(dialect).await;
    let mut call = app.call().await;
    call.press("7").await;
    assert_eq!(call.node(), "language");
    let choice = ["choose_language", "police_operator_keys", "language_stay_on_line"];
    assert_eq!(call.hearing(), in_both(&[&["invalid_choice"][..], &choice].concat()));
    call.press("0").await;
    assert_eq!(call.hearing(), in_both(&["transfer_operator"]));
    call.dial_ends("busy").await;
    assert_eq!(call.hearing(), in_both(&["operators_busy", "operators_busy_options"]));
    call.press("2").await;
    assert_eq!(call.node(), "language", "2 offers the language choice again, not the Kazakh main menu");
    assert_eq!(call.hearing(), in_both(&choice));
    call.press("9").await.dial_ends("no-answer").await;
    assert_eq!(call.hearing(), in_both(&["police_unreachable", "police_number"]));
    call.press("0").await.dial_ends("completed").await;
    assert!(matches!(call.reply, Reply::Hangup { .. }));
    assert_eq!(call.hearing(), in_both(&["goodbye"]));
}

async fn the_safety_notice_leads_to_the_welcome_and_the_topics_in_the_chosen_language(dialect: Dialect) {
    let app = spawn_in(dialect).await;
    for (key, lang) in LANGUAGES {
        let mut call = app.call().await;
        call.press(key).await;
        assert_eq!(call.node(), "safety_notice", "the safety notice right after the language choice");
        assert_eq!(call.hearing(), [format!("{lang}/safety_notice")]);
        call.wait().await;
        assert_eq!(call.node(), "welcome", "the main menu as first heard");
        assert_eq!(call.hearing(), [format!("{lang}/welcome"), format!("{lang}/main_menu")]);
        call.press("7").await;
        assert_eq!(
            call.hearing(),
            [format!("{lang}/invalid_choice"), format!("{lang}/keys_reminder"), format!("{lang}/main_menu")]
        );
    }
}

async fn a_caller_silent_since_choosing_a_language_reaches_an_operator_at_the_first_silence(dialect: Dialect) {
    let app = spawn_in(dialect).await;
    let mut call = app.call().await;
    call.choose_language("2").await.wait().await;
    assert_eq!(call.node(), "operator", "no second chance after the notice, the welcome and the topics");
    assert_eq!(call.ringing(), [OPERATOR_NUMBER]);
    assert_eq!(call.hearing(), ["ru/transfer_operator"]);
}

async fn every_topic_steps_through_its_parts_and_can_be_left_in_both_languages(dialect: Dialect) {
    let app = spawn_in(dialect).await;
    for (lang_key, lang) in LANGUAGES {
        for (key, topic, parts) in TOPICS {
            let mut call = app.call().await;
            call.choose_language(lang_key).await.press(key).await;
            for part in 1..=parts {
                let (node, prompt) = if parts == 1 {
                    (topic.to_owned(), format!("guidance_{topic}"))
                } else {
                    (format!("{topic}_{part}"), format!("guidance_{topic}_{part}"))
                };
                let next = if part == parts { format!("next_{topic}") } else { "next_part".to_owned() };
                assert_eq!(call.node(), node);
                assert_eq!(call.hearing(), [format!("{lang}/{prompt}"), format!("{lang}/{next}")], "{node}");
                call.press("1").await;
            }
            let first = if parts == 1 { format!("guidance_{topic}") } else { format!("guidance_{topic}_1") };
            assert_eq!(call.hearing()[0], format!("{lang}/{first}"), "after the last part, 1 starts the topic again");
            call.press("2").await;
            assert_eq!(call.node(), "main", "2 returns to the main menu");
        }
    }
}

async fn a_key_pressed_during_the_welcome_or_the_safety_notice_counts_for_the_main_menu(dialect: Dialect) {
    let app = spawn_in(dialect).await;
    let mut call = app.call().await;
    call.press("2").await.press("3").await;
    assert_eq!(call.node(), "evidence_1");
    assert_eq!(call.hearing()[0], "ru/guidance_evidence_1");
    let mut call = app.call().await;
    call.press("1").await.wait().await.press("5").await;
    assert_eq!(call.node(), "rights_1");
}

async fn a_silent_caller_at_the_main_menu_hears_one_short_reminder_then_reaches_an_operator(dialect: Dialect) {
    let app = spawn_in(dialect).await;
    let mut call = app.call().await;
    call.choose_language("2").await.press("3").await.press("2").await;
    assert_eq!(call.node(), "main");
    call.wait().await;
    assert_eq!(call.hearing(), ["ru/keys_reminder"], "9, 0 or stay on the line: not the whole menu again");
    call.wait().await;
    assert_eq!(call.node(), "operator");
    assert_eq!(call.ringing(), [OPERATOR_NUMBER]);
    assert_eq!(call.hearing(), ["ru/transfer_operator"]);
}

async fn someone_who_cannot_press_keys_reaches_an_operator_after_one_silence_at_the_language_choice(dialect: Dialect) {
    let app = spawn_in(dialect).await;
    let mut call = app.call().await;
    call.wait().await;
    assert_eq!(call.ringing(), [OPERATOR_NUMBER]);
    assert_eq!(call.hearing(), in_both(&["transfer_operator"]));
}

async fn silence_after_a_guidance_part_rings_an_operator(dialect: Dialect) {
    let app = spawn_in(dialect).await;
    let mut call = app.call().await;
    call.choose_language("1").await.press("2").await.press("1").await;
    assert_eq!(call.node(), "safety_plan_2");
    call.wait().await;
    assert_eq!(call.ringing(), [OPERATOR_NUMBER]);
}

async fn the_repeat_key_plays_the_current_menu_again(dialect: Dialect) {
    let app = spawn_in(dialect).await;
    let mut call = app.call().await;
    call.choose_language("2").await.press("*").await;
    assert_eq!(call.node(), "welcome");
    assert_eq!(call.hearing(), ["ru/welcome", "ru/main_menu"]);
    call.press("4").await.press("*").await;
    assert_eq!(call.node(), "police_1");
    assert_eq!(call.hearing(), ["ru/guidance_police_1", "ru/next_part"]);
}

async fn an_invalid_key_says_so_and_repeats_the_menu_then_reaches_an_operator(dialect: Dialect) {
    let app = spawn_in(dialect).await;
    // 7 during the safety notice: the first failure on the welcome's menu (a silence
    // through the notice would have been the first).
    let mut call = app.call().await;
    call.press("1").await.press("7").await;
    assert_eq!(call.node(), "welcome");
    assert_eq!(call.hearing(), ["kk/invalid_choice", "kk/keys_reminder", "kk/main_menu"]);
    call.press("#").await;
    assert_eq!(call.hearing(), ["kk/invalid_choice", "kk/keys_reminder", "kk/main_menu"]);
    call.press("8").await;
    assert_eq!(call.ringing(), [OPERATOR_NUMBER]);
}

async fn failures_are_counted_in_a_row_only(dialect: Dialect) {
    let app = spawn_in(dialect).await;
    let mut call = app.call().await;
    call.choose_language("1").await;
    call.press("7").await;
    call.press("1").await.press("2").await;
    call.press("7").await;
    assert_eq!(call.node(), "main", "a valid choice in between resets the count");
}

async fn the_operator_key_works_on_every_menu(dialect: Dialect) {
    let app = spawn_in(dialect).await;
    for node in app.flow.node_ids().map(|id| app.flow.node(id)).filter(|n| n.options().is_some()) {
        let mut call = app.call_at(&node.name, Some("ru")).await;
        call.press("0").await;
        assert_eq!(call.node(), "operator", "from {}", node.name);
        assert_eq!(call.ringing(), [OPERATOR_NUMBER]);
    }
}

async fn nobody_answering_offers_to_wait_or_go_back(dialect: Dialect) {
    let app = spawn_in(dialect).await;
    for status in ["busy", "no-answer", "failed", "canceled"] {
        let mut call = app.call().await;
        call.choose_language("1").await.press("0").await.dial_ends(status).await;
        assert_eq!(call.node(), "operators_busy", "after {status}");
        assert_eq!(call.hearing(), ["kk/operators_busy", "kk/operators_busy_options"]);
        call.wait().await;
        assert_eq!(call.ringing(), [OPERATOR_NUMBER], "silence keeps waiting: the operators are rung again at once");
        call.dial_ends(status).await.press("1").await.wait().await;
        assert_eq!(call.ringing(), [OPERATOR_NUMBER], "1 hears advice, then rings again");
        call.dial_ends(status).await;
        assert_eq!(call.hearing(), ["kk/operators_unavailable"], "after the third round");
        call.wait().await;
        assert_eq!(call.node(), "main");
        call.press("0").await.dial_ends(status).await.press("2").await;
        assert_eq!(call.node(), "main", "2 goes back to the menu");
    }
}

async fn without_operators_the_caller_hears_they_are_busy_not_silence(dialect: Dialect) {
    let app = spawn_app_with(Options { dialect, operator: None, ..Options::default() }).await;
    let mut call = app.call().await;
    call.press("2").await.press("0").await;
    assert_eq!(call.node(), "operators_busy");
    assert_eq!(call.hearing(), ["ru/operators_busy", "ru/operators_busy_options"]);
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
        ("n=police&l=kk", "main", "kk/keys_reminder"),
        ("n=main&l=ru&f=250", "operator", "ru/transfer_operator"),
    ];
    for (query, mut node, mut first) in cases {
        if dialect == Dialect::Asterisk && query == "n=police&l=kk" {
            // Re-entered at a transfer, the dialplan's state says a Dial was running when
            // the connection broke: how it ended is read first (no DIALSTATUS, a failure).
            (node, first) = ("police_unreachable", "kk/invalid_choice");
        }
        let mut call = app.resume(query).await;
        call.press("7").await;
        assert_eq!(call.node(), node, "{query}");
        assert_eq!(call.hearing()[0], first, "{query}");
    }
}
