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
    let errors = errors_after(r#""3" = "evidence_1""#, r#""3" = "evidense""#);
    assert_reports(&errors, "node `main`, field `options.\"3\"`: `evidense` is not a node of this flow");
}

#[test]
fn a_node_nobody_reaches_is_reported() {
    let errors = errors_after(r#", "5" = "rights_1" }"#, " }");
    assert_reports(&errors, "node `rights_1`, field `kind`: no path from the start reaches this node");
}

#[test]
fn messages_that_lead_to_each_other_forever_are_reported() {
    let errors = errors_after(r#"next = "main""#, r#"next = "welcome""#);
    assert_reports(&errors, "node `welcome`, field `next`: messages lead to each other in a loop");
}

#[test]
fn a_prompt_missing_in_one_language_is_reported_per_language() {
    let flow = bundled();
    let errors = flow.validate(&Catalog(vec![(Language::Ru, "guidance_evidence_2")]));
    let errors: Vec<String> = errors.iter().map(ToString::to_string).collect();
    assert_eq!(
        errors,
        [
            "node `evidence_2`, field `prompts`: prompt `guidance_evidence_2` has no ru recording",
            "node `hold`, field `guidance`: prompt `guidance_evidence_2` has no ru recording",
        ]
    );
}

#[test]
fn the_emergency_and_operator_keys_cannot_be_menu_options() {
    let errors = errors_after(r#""5" = "rights_1" }"#, r#""5" = "rights_1", "9" = "main" }"#);
    assert_reports(&errors, "node `main`, field `options.\"9\"`: `9` is the emergency key on every menu");
    let errors = errors_after(r#""1" = "definition", "2" = "main""#, r#""1" = "definition", "0" = "main""#);
    assert_reports(&errors, "node `definition`, field `options.\"0\"`: `0` is the operator key");
}

#[test]
fn digits_are_single_keypad_keys_and_unique_within_a_menu() {
    let errors = errors_after(r#""5" = "rights_1" }"#, r#""5" = "rights_1", "10" = "main" }"#);
    assert_reports(&errors, "node `main`, field `options.\"10\"`: `10` is not one key of a phone keypad");
    let errors = errors_after(r#""5" = "rights_1" }"#, r#""5" = "rights_1", "5" = "main" }"#);
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
        &errors_after("timeout_seconds = 5", "timeout_seconds = 90"),
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
    let heard = step(&flow, main, Input::Key(key("3")));
    let evidence = flow.topics.iter().position(|t| t == "evidence").unwrap() as u8;
    assert!(heard.next.topics.contains(evidence));
    assert!(heard.events.contains(&Event::TopicHeard(evidence)));
    let back = step(&flow, heard.next, Input::Key(key("2")));
    assert!(back.next.topics.contains(evidence), "topics stay with the call");
    assert_eq!(back.next.seq, 2, "each step counts");
}

#[test]
fn silence_on_a_message_moves_on_without_counting_a_failure() {
    let flow = bundled();
    let notice = step(&flow, flow.recover(CallId(1), None), Input::Key(key("1")));
    assert_eq!(flow.node(notice.next.node).name, "safety_notice", "right after the language choice");
    let welcome = step(&flow, notice.next, Input::NoInput);
    assert_eq!(flow.node(welcome.next.node).name, "welcome");
    let main = step(&flow, welcome.next, Input::NoInput);
    assert_eq!(flow.node(main.next.node).name, "main");
    assert_eq!(main.next.failures, 0);
    assert_eq!(main.next.language, Some(Language::Kk));
}

#[test]
fn a_key_during_the_welcome_or_the_safety_notice_counts_for_the_main_menu() {
    let flow = bundled();
    let welcome = step(&flow, flow.recover(CallId(1), None), Input::Key(key("2")));
    let evidence = step(&flow, welcome.next, Input::Key(key("3")));
    assert_eq!(flow.node(evidence.next.node).name, "evidence_1", "skips the safety notice too");
    let notice = step(&flow, welcome.next, Input::NoInput);
    let safety_plan = step(&flow, notice.next, Input::Key(key("2")));
    assert_eq!(flow.node(safety_plan.next.node).name, "safety_plan_1");
}

fn key(text: &str) -> Digit {
    Digit::parse(text).unwrap()
}

fn silent_until_transfer(flow: &Flow, mut state: CallState) -> (usize, Step<'_>) {
    for silences in 1..=10 {
        let next = step(flow, state, Input::NoInput);
        if matches!(next.say, Instruction::OperatorTransfer { .. }) {
            return (silences, next);
        }
        state = next.next;
    }
    panic!("silence never reaches an operator")
}

#[test]
fn one_silence_at_the_language_choice_rings_an_operator_with_no_language_chosen() {
    let flow = bundled();
    let (silences, transfer) = silent_until_transfer(&flow, flow.begin(CallId(1)).next);
    assert_eq!(silences, 1);
    assert!(transfer.next.silent, "the operator is told the caller stayed silent");
    assert_eq!(transfer.next.language, None, "never taken for a Kazakh speaker");
}

#[test]
fn a_silent_caller_is_put_through_from_every_menu() {
    let flow = bundled();
    for (node, silences) in [("main", 2), ("operators_busy", 1), ("police_unreachable", 1), ("safety_plan_3", 1)] {
        let state = CallState { node: flow.node_id(node).unwrap(), ..flow.recover(CallId(1), Some(Language::Ru)) };
        let (taken, transfer) = silent_until_transfer(&flow, state);
        assert_eq!(taken, silences, "silences at {node}");
        assert!(transfer.next.silent, "at {node}");
    }
    let main = CallState { node: flow.main_menu, ..flow.recover(CallId(1), Some(Language::Ru)) };
    let reminder = step(&flow, main, Input::NoInput);
    let Instruction::Gather { prompts, .. } = &reminder.say else { panic!("{:?}", reminder.say) };
    assert_eq!(prompts.iter().map(|k| k.as_str()).collect::<Vec<_>>(), ["keys_reminder"], "not the whole menu again");
}

#[test]
fn the_repeat_key_plays_the_menu_again_without_a_failure_or_a_second_count() {
    let flow = bundled();
    let main = flow.recover(CallId(1), Some(Language::Kk));
    let wrong = step(&flow, main, Input::Key(key("7")));
    let again = step(&flow, wrong.next, Input::Key(key("*")));
    assert_eq!(again.next.node, flow.main_menu);
    assert_eq!(again.next.failures, 0);
    let Instruction::Gather { prompts, .. } = &again.say else { panic!("{:?}", again.say) };
    assert_eq!(prompts.iter().map(|k| k.as_str()).collect::<Vec<_>>(), ["keys_reminder", "main_menu"]);
    let part = step(&flow, again.next, Input::Key(key("2")));
    let repeated = step(&flow, part.next, Input::Key(key("*")));
    assert_eq!(flow.node(repeated.next.node).name, "safety_plan_1");
    assert!(!repeated.events.iter().any(|e| matches!(e, Event::TopicHeard(_))));
}

#[test]
fn the_repeat_key_is_reserved_on_every_menu() {
    let errors = errors_after(r#""5" = "rights_1" }"#, r#""5" = "rights_1", "*" = "main" }"#);
    assert_reports(&errors, "node `main`, field `options.\"*\"`: `*` is the repeat key on every menu");
    let errors = errors_after(r#"repeat_key = "*""#, r#"repeat_key = "0""#);
    assert_reports(&errors, "field `repeat_key`: must differ from emergency_key and operator_key");
}

#[test]
fn the_parts_of_a_topic_count_it_once_per_call() {
    let flow = bundled();
    let main = flow.recover(CallId(1), Some(Language::Ru));
    let mut state = step(&flow, main, Input::Key(key("2")));
    let safety_plan = flow.topics.iter().position(|t| t == "safety_plan").unwrap() as u8;
    assert!(state.events.contains(&Event::TopicHeard(safety_plan)));
    for part in 2..=6 {
        state = step(&flow, state.next, Input::Key(key("1")));
        assert_eq!(flow.node(state.next.node).name, format!("safety_plan_{part}"));
        assert!(!state.events.iter().any(|e| matches!(e, Event::TopicHeard(_))), "part {part} is not counted again");
    }
    let first = step(&flow, state.next, Input::Key(key("1")));
    assert_eq!(flow.node(first.next.node).name, "safety_plan_1", "after the last part, 1 starts again");
}

#[test]
fn the_limits_stay_within_their_bounds() {
    assert_reports(
        &errors_after("silent_from_start_seconds = 30", "silent_from_start_seconds = 90"),
        "field `limits.silent_from_start_seconds`: 90 is outside 10..=60",
    );
    assert_reports(
        &errors_after("whisper_seconds = 6", "whisper_seconds = 0"),
        "field `limits.whisper_seconds`: 0 is outside 2..=15",
    );
    assert_reports(
        &errors_after("node_seconds = { welcome = 8,", "node_seconds = { welcome = 200,"),
        "field `limits.node_seconds.welcome`: 200 is outside 3..=120",
    );
    assert_reports(
        &errors_after("node_seconds = { welcome = 8,", "node_seconds = { welcom = 8,"),
        "field `limits.node_seconds.welcom`: `welcom` is not a node of this flow",
    );
    assert_reports(
        &errors_after("max_silences = 2", "max_silences = 0"),
        "node `main`, field `max_silences`: 0 is outside 1..=10",
    );
}

#[test]
fn a_topic_that_cannot_name_a_whisper_recording_is_refused_at_load() {
    for bad in ["Evidence", "evidence plan", "доказательства", "e-vidence", &"e".repeat(51)] {
        let errors = errors_after(r#"topic = "definition""#, &format!("topic = {bad:?}"));
        assert_reports(&errors, "field `topic`: `");
        assert_reports(&errors, "is not a topic name");
    }
    assert_eq!(
        errors_after(r#"topic = "definition""#, &format!("topic = \"{}\"", "e".repeat(50))),
        Vec::<String>::new()
    );
}

#[test]
fn a_huge_value_is_quoted_cut_short_with_its_length() {
    let huge = "x".repeat(1_000_000);
    let errors = errors_after(r#""3" = "evidence_1""#, &format!(r#""3" = "{huge}""#));
    assert_reports(&errors, "is not a node of this flow");
    assert!(errors.iter().all(|e| e.len() < 500), "{:?}", errors.iter().map(String::len).collect::<Vec<_>>());
    assert_reports(&errors, "…` (1000000 bytes)");

    let errors = errors_after(r#"topic = "definition""#, &format!(r#"topic = "{huge}"#));
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
