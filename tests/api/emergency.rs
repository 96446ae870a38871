//! The emergency key: from every menu, during every prompt, in both languages, and what a
//! caller hears when the police line does not answer.

use ivr::softphone::{Dialect, Reply};

use crate::helpers::{OPERATOR_NUMBER, in_every_dialect, spawn_in};

in_every_dialect!(
    the_emergency_key_dials_102_from_every_menu_in_both_languages,
    the_emergency_key_works_on_the_first_prompt_and_after_failures,
    a_failed_police_transfer_speaks_the_number_and_offers_both_ways_again,
    silence_after_a_failed_police_transfer_rings_an_operator_at_once,
    the_police_transfer_uses_the_configured_number_and_comes_back,
);

/// Every node a caller can press a key on, from the loaded flow.
fn listening_nodes(flow: &ivr::flow::Flow) -> Vec<String> {
    flow.node_ids()
        .map(|id| flow.node(id))
        .filter(|n| n.options().is_some() || matches!(n.kind, ivr::flow::NodeKind::Message { .. }))
        .map(|n| n.name.clone())
        .collect()
}

async fn the_emergency_key_dials_102_from_every_menu_in_both_languages(dialect: Dialect) {
    let app = spawn_in(dialect).await;
    let nodes = listening_nodes(&app.flow);
    assert!(nodes.len() >= 10, "the bundled flow has many menus: {nodes:?}");
    for node in &nodes {
        for language in [None, Some("kk"), Some("ru")] {
            let mut call = app.call_at(node, language).await;
            call.press("9").await;
            assert_eq!(call.ringing(), ["102"], "from {node} ({language:?})");
            // A caller who chose no language hears it in Kazakh, then in Russian.
            let heard: Vec<String> =
                language.map_or(vec!["kk", "ru"], |l| vec![l]).iter().map(|l| format!("{l}/transfer_police")).collect();
            assert_eq!(call.hearing(), heard, "from {node} ({language:?})");
        }
    }
}

async fn the_emergency_key_works_on_the_first_prompt_and_after_failures(dialect: Dialect) {
    let app = spawn_in(dialect).await;
    let mut call = app.call().await;
    call.press("9").await;
    assert_eq!(call.ringing(), ["102"], "during the language choice");

    // 7 during the safety notice counts for the menu after it: the first failure there.
    let mut call = app.call().await;
    call.press("2").await.press("7").await.press("8").await;
    call.press("9").await;
    assert_eq!(call.ringing(), ["102"], "after two failures in a row");
}

async fn a_failed_police_transfer_speaks_the_number_and_offers_both_ways_again(dialect: Dialect) {
    let app = spawn_in(dialect).await;
    for status in dialect.unanswered_dial_statuses() {
        for (lang_key, lang) in [("1", "kk"), ("2", "ru")] {
            let mut call = app.call().await;
            call.press(lang_key).await.press("9").await.dial_ends(status).await;
            assert_eq!(call.node(), "police_unreachable", "{status:?}");
            assert_eq!(call.hearing(), [format!("{lang}/police_unreachable"), format!("{lang}/police_number")]);
            call.press("9").await;
            assert_eq!(call.ringing(), ["102"], "9 tries the police again");
            call.dial_ends(status).await.press("0").await;
            assert_eq!(call.ringing(), [OPERATOR_NUMBER], "0 reaches an operator");
        }
    }
}

async fn silence_after_a_failed_police_transfer_rings_an_operator_at_once(dialect: Dialect) {
    let app = spawn_in(dialect).await;
    let mut call = app.call().await;
    call.press("1").await.press("9").await.dial_ends("no-answer").await;
    call.wait().await;
    assert_eq!(call.ringing(), [OPERATOR_NUMBER], "one silence, not the menu again");
    assert_eq!(call.hearing(), ["kk/transfer_operator"]);
}

async fn the_police_transfer_uses_the_configured_number_and_comes_back(dialect: Dialect) {
    let app = spawn_in(dialect).await;
    let mut call = app.call().await;
    call.press("9").await;
    let Reply::Dial { action, ring_seconds, .. } = &call.reply else { panic!() };
    if let Some(hooks) = dialect.webhooks() {
        let dial = format!("https://ivr.test/{}/dial?", hooks.prefix());
        assert!(action.starts_with(&dial), "{action}");
    }
    assert!(*ring_seconds >= 20);
    assert_eq!(call.node(), "police");
}
