//! The flow rules and the step function, as plain function calls over the bundled flow and
//! variations of it that each break one rule.

use super::*;

const BUNDLED: &str = include_str!("../../flows/hotline.toml");

/// A prompt library that has every key in both languages, except those listed.
struct Catalog(Vec<(Language, &'static str)>);

impl PromptCatalog for Catalog {
    fn has(&self, language: Language, key: &PromptKey) -> bool {
        !self.0.iter().any(|(l, k)| *l == language && *k == key.as_str())
    }
}

fn bundled() -> Flow {
    Flow::from_toml(BUNDLED).expect("bundled flow loads")
}

/// The bundled flow with one piece of text replaced, checked against a full catalog.
fn errors_after(from: &str, to: &str) -> Vec<String> {
    assert!(BUNDLED.contains(from), "the bundled flow has `{from}`");
    let text = BUNDLED.replacen(from, to, 1);
    match Flow::from_toml(&text) {
        Ok(flow) => flow.validate(&Catalog(Vec::new())).iter().map(ToString::to_string).collect(),
        Err(errors) => errors.iter().map(ToString::to_string).collect(),
    }
}

fn assert_reports(errors: &[String], expected: &str) {
    assert!(errors.iter().any(|e| e.contains(expected)), "expected `{expected}` in {errors:#?}");
}

#[test]
fn the_bundled_flow_is_valid() {
    assert_eq!(bundled().validate(&Catalog(Vec::new())), Vec::new());
}

#[test]
fn a_reference_to_a_missing_node_names_node_and_field() {
    let errors = errors_after(r#""3" = "evidence""#, r#""3" = "evidense""#);
    assert_reports(&errors, "node `main`, field `options.\"3\"`: `evidense` is not a node of this flow");
}

#[test]
fn a_node_nobody_reaches_is_reported() {
    let errors = errors_after(r#", "5" = "rights" }"#, " }");
    assert_reports(&errors, "node `rights`, field `kind`: no path from the start reaches this node");
}

#[test]
fn messages_that_lead_to_each_other_forever_are_reported() {
    let errors = errors_after(r#"next = "main""#, r#"next = "welcome""#);
    assert_reports(&errors, "node `welcome`, field `next`: messages lead to each other in a loop");
}

#[test]
fn a_prompt_missing_in_one_language_is_reported_per_language() {
    let flow = bundled();
    let errors = flow.validate(&Catalog(vec![(Language::Ru, "guidance_evidence")]));
    let errors: Vec<String> = errors.iter().map(ToString::to_string).collect();
    assert_eq!(
        errors,
        [
            "node `evidence`, field `prompts`: prompt `guidance_evidence` has no ru recording",
            "node `hold`, field `guidance`: prompt `guidance_evidence` has no ru recording",
        ]
    );
}

#[test]
fn the_emergency_and_operator_keys_cannot_be_menu_options() {
    let errors = errors_after(r#""5" = "rights" }"#, r#""5" = "rights", "9" = "main" }"#);
    assert_reports(&errors, "node `main`, field `options.\"9\"`: `9` is the emergency key on every menu");
    let errors = errors_after(r#""1" = "definition", "2" = "main""#, r#""1" = "definition", "0" = "main""#);
    assert_reports(&errors, "node `definition`, field `options.\"0\"`: `0` is the operator key");
}

#[test]
fn digits_are_single_keypad_keys_and_unique_within_a_menu() {
    let errors = errors_after(r#""5" = "rights" }"#, r#""5" = "rights", "10" = "main" }"#);
    assert_reports(&errors, "node `main`, field `options.\"10\"`: `10` is not one key of a phone keypad");
    let errors = errors_after(r#""5" = "rights" }"#, r#""5" = "rights", "5" = "main" }"#);
    assert_reports(&errors, "duplicate key");
}

#[test]
fn one_emergency_key_distinct_from_the_operator_key() {
    let errors = errors_after(r#"operator_key = "0""#, r#"operator_key = "9""#);
    assert_reports(&errors, "field `operator_key`: must differ from emergency_key");
    let errors = errors_after(r#"emergency_key = "9""#, r#"emergency_key = "99""#);
    assert_reports(&errors, "is not one key of a phone keypad");
}

#[test]
fn timeouts_and_retry_limits_stay_within_bounds() {
    assert_reports(
        &errors_after("timeout_seconds = 6", "timeout_seconds = 90"),
        "field `timeout_seconds`: 90 is outside 2..=30",
    );
    assert_reports(&errors_after("max_failures = 3", "max_failures = 0"), "field `max_failures`: 0 is outside 1..=10");
    assert_reports(
        &errors_after("ring_seconds = 40", "ring_seconds = 1"),
        "node `police`, field `ring_seconds`: 1 is outside 5..=120",
    );
}

#[test]
fn the_named_nodes_have_the_right_kinds() {
    assert_reports(
        &errors_after(r#"emergency = "police""#, r#"emergency = "operator""#),
        "field `emergency`: `operator` must be a emergency_transfer node",
    );
    assert_reports(
        &errors_after(r#"start = "language""#, r#"start = "goodbye""#),
        "field `start`: `goodbye` must be a menu node",
    );
}

#[test]
fn unknown_fields_and_kinds_are_refused_with_their_line() {
    assert_reports(
        &errors_after("[nodes.welcome]\nkind = \"message\"", "[nodes.welcome]\nkind = \"messagee\""),
        "line",
    );
    assert_reports(
        &errors_after("prompts = [\"welcome\"]", "prompts = [\"welcome\"]\npromtps = []"),
        "unknown field `promtps`",
    );
}

#[test]
fn the_emergency_key_is_decided_first_on_every_node() {
    let flow = bundled();
    for id in flow.node_ids() {
        for failures in 0..flow.max_failures {
            let mut state = flow.recover(CallId(7), Some(Language::Ru));
            state.node = id;
            state.failures = failures;
            let step = step(&flow, state, Input::Key(flow.emergency_key));
            assert!(matches!(step.say, Instruction::EmergencyTransfer { .. }), "from {}", flow.node(id).name);
            assert_eq!(step.next.node, flow.emergency);
            assert!(step.events.contains(&Event::EmergencyTransfer));
        }
    }
}

#[test]
fn a_guidance_topic_is_counted_once_heard_and_carried_on() {
    let flow = bundled();
    let main = flow.recover(CallId(1), Some(Language::Kk));
    let heard = step(&flow, main, Input::Key(Digit::parse("3").unwrap()));
    let evidence = flow.topics.iter().position(|t| t == "evidence").unwrap() as u8;
    assert!(heard.next.topics.contains(evidence));
    assert!(heard.events.contains(&Event::TopicHeard(evidence)));
    let back = step(&flow, heard.next, Input::Key(Digit::parse("2").unwrap()));
    assert!(back.next.topics.contains(evidence), "topics stay with the call");
    assert_eq!(back.next.seq, 2, "each step counts");
}

#[test]
fn silence_on_a_message_moves_on_without_counting_a_failure() {
    let flow = bundled();
    let welcome = step(&flow, flow.recover(CallId(1), None), Input::Key(Digit::parse("1").unwrap()));
    assert_eq!(flow.node(welcome.next.node).name, "welcome");
    let main = step(&flow, welcome.next, Input::NoInput);
    assert_eq!(flow.node(main.next.node).name, "main");
    assert_eq!(main.next.failures, 0);
    assert_eq!(main.next.language, Some(Language::Kk));
}

#[test]
fn reaching_an_operator_by_silence_is_told_to_the_operator() {
    let flow = bundled();
    let mut state = flow.recover(CallId(1), Some(Language::Kk));
    let mut last = step(&flow, state, Input::NoInput);
    for _ in 1..flow.max_failures {
        state = last.next;
        last = step(&flow, state, Input::NoInput);
    }
    assert!(matches!(last.say, Instruction::OperatorTransfer { .. }), "{:?}", last.say);
    assert!(last.next.silent);
}

#[test]
fn a_topic_that_cannot_name_a_whisper_recording_is_refused_at_load() {
    for bad in ["Evidence", "evidence plan", "доказательства", "e-vidence", &"e".repeat(51)] {
        let errors = errors_after(r#"topic = "evidence""#, &format!("topic = {bad:?}"));
        assert_reports(&errors, "field `topic`: `");
        assert_reports(&errors, "is not a topic name");
    }
    assert_eq!(errors_after(r#"topic = "evidence""#, &format!("topic = \"{}\"", "e".repeat(50))), Vec::<String>::new());
}

#[test]
fn a_huge_value_is_quoted_cut_short_with_its_length() {
    let huge = "x".repeat(1_000_000);
    let errors = errors_after(r#""3" = "evidence""#, &format!(r#""3" = "{huge}""#));
    assert_reports(&errors, "is not a node of this flow");
    assert!(errors.iter().all(|e| e.len() < 500), "{:?}", errors.iter().map(String::len).collect::<Vec<_>>());
    assert_reports(&errors, "…` (1000000 bytes)");

    let errors = errors_after(r#"topic = "evidence""#, &format!(r#"topic = "{huge}"#));
    assert!(
        errors.iter().all(|e| e.len() < 2_000),
        "a syntax error's snippet is cut too: {:?}",
        errors.iter().map(String::len).collect::<Vec<_>>()
    );

    let errors = errors_after("[nodes.welcome]", &format!("[nodes.welcome{huge}]"));
    assert!(errors.iter().all(|e| e.len() < 2_000), "{:?}", errors.iter().map(String::len).collect::<Vec<_>>());
}

#[test]
fn a_quoted_value_shows_control_characters_escaped() {
    assert_eq!(quoted("a\u{1b}[2Jb\n"), "`a\\u{1b}[2Jb\\n`");
    assert_eq!(quoted(&"я".repeat(100)), format!("`{}…` (200 bytes)", "я".repeat(80)));
}
