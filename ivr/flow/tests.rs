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
    assert_reports(&errors, "node `welcome`, field `options.\"3\"`: `evidense` is not a node of this flow");
}

#[test]
fn a_node_nobody_reaches_is_reported() {
    let text = BUNDLED.replace(r#", "5" = "rights_1" }"#, " }");
    let errors = Flow::from_toml(&text).expect("flow loads").validate(&Catalog(Vec::new()));
    let errors: Vec<String> = errors.iter().map(ToString::to_string).collect();
    assert_reports(&errors, "node `rights_1`, field `kind`: no path from the start reaches this node");
}

#[test]
fn messages_that_lead_to_each_other_forever_are_reported() {
    let errors = errors_after(r#"next = "welcome""#, r#"next = "safety_notice""#);
    assert_reports(&errors, "node `safety_notice`, field `next`: messages lead to each other in a loop");
}

#[test]
fn a_prompt_missing_in_one_language_is_reported_per_language() {
    let flow = bundled();
    let errors = flow.validate(&Catalog(vec![(Language::Ru, "guidance_evidence_2")]));
    let errors: Vec<String> = errors.iter().map(ToString::to_string).collect();
    assert_eq!(errors, ["node `evidence_2`, field `prompts`: prompt `guidance_evidence_2` has no ru recording"]);
    let errors = flow.validate(&Catalog(vec![(Language::Kk, "hold_evidence")]));
    let errors: Vec<String> = errors.iter().map(ToString::to_string).collect();
    assert_eq!(errors, ["node `hold`, field `guidance`: prompt `hold_evidence` has no kk recording"]);
}

#[test]
fn the_emergency_and_operator_keys_cannot_be_menu_options() {
    let errors = errors_after(r#""5" = "rights_1" }"#, r#""5" = "rights_1", "9" = "main" }"#);
    assert_reports(&errors, "node `welcome`, field `options.\"9\"`: `9` is the emergency key on every menu");
    let errors = errors_after(r#""1" = "definition", "2" = "main""#, r#""1" = "definition", "0" = "main""#);
    assert_reports(&errors, "node `definition`, field `options.\"0\"`: `0` is the operator key");
}

#[test]
fn digits_are_single_keypad_keys_and_unique_within_a_menu() {
    let errors = errors_after(r#""5" = "rights_1" }"#, r#""5" = "rights_1", "10" = "main" }"#);
    assert_reports(&errors, "node `welcome`, field `options.\"10\"`: `10` is not one key of a phone keypad");
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
        &errors_after("[nodes.safety_notice]\nkind = \"message\"", "[nodes.safety_notice]\nkind = \"messagee\""),
        "line",
    );
    assert_reports(
        &errors_after("prompts = [\"safety_notice\"]", "prompts = [\"safety_notice\"]\npromtps = []"),
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
fn a_guidance_part_is_what_its_reprompt_does_not_repeat() {
    let flow = bundled();
    let node = |name: &str| flow.node(flow.node_id(name).unwrap());
    let part = |name: &str| node(name).part().iter().map(|k| k.as_str().to_owned()).collect::<Vec<_>>();
    assert_eq!(part("evidence_1"), ["guidance_evidence_1"], "not the `next_part` after it");
    assert_eq!(part("definition"), ["guidance_definition"]);
    assert!(part("main").is_empty(), "a menu has no part");
    let text = BUNDLED.replacen(
        "prompts = [\"guidance_evidence_1\", \"next_part\"]\nreprompt = [\"next_part\"]",
        "prompts = [\"guidance_evidence_1\", \"next_part\"]",
        1,
    );
    assert_ne!(text, BUNDLED, "the bundled flow has the evidence part's prompts");
    let flow = Flow::from_toml(&text).unwrap();
    let evidence = flow.node(flow.node_id("evidence_1").unwrap());
    let all: Vec<&str> = evidence.part().iter().map(|k| k.as_str()).collect();
    assert_eq!(all, ["guidance_evidence_1", "next_part"], "no reprompt: all its prompts");
}

#[test]
fn silence_on_a_message_moves_on_and_counts_as_the_first_on_the_menu_after_it() {
    let flow = bundled();
    let notice = step(&flow, flow.recover(CallId(1), None), Input::Key(key("1")));
    assert_eq!(flow.node(notice.next.node).name, "safety_notice", "right after the language choice");
    let welcome = step(&flow, notice.next, Input::NoInput);
    assert_eq!(flow.node(welcome.next.node).name, "welcome");
    assert_eq!(welcome.next.failures, 1, "still silent since the language choice");
    assert_eq!(welcome.next.language, Some(Language::Kk));
    let events = welcome.events.iter().filter(|e| matches!(e, Event::NoInput { .. } | Event::InvalidKey { .. }));
    assert_eq!(events.count(), 0, "a message's silence is not recorded as a menu's");
}

#[test]
fn a_caller_silent_since_choosing_a_language_is_put_through_at_the_first_silence_on_the_menu() {
    // From the key, the safety notice, the welcome and the topics already take most of the
    // 45 s a silent caller may wait: no second chance after them.
    let flow = bundled();
    let notice = step(&flow, flow.recover(CallId(1), None), Input::Key(key("2")));
    let (silences, transfer) = silent_until_transfer(&flow, notice.next);
    assert_eq!(silences, 2, "the notice's silence, then one on the welcome's menu");
    assert!(transfer.next.silent);
    assert_eq!(transfer.next.language, Some(Language::Ru));
    // After the last unanswered round, "operators unavailable" is a message too.
    let unavailable = CallState {
        node: flow.node_id("operators_unavailable").unwrap(),
        ..flow.recover(CallId(1), Some(Language::Kk))
    };
    let (silences, _) = silent_until_transfer(&flow, unavailable);
    assert_eq!(silences, 2, "the message's silence, then one on the main menu");
}

#[test]
fn the_welcome_is_the_main_menu_as_first_heard() {
    let flow = bundled();
    let (welcome, main) = (flow.node(flow.node_id("welcome").unwrap()), flow.node(flow.main_menu));
    assert_eq!(welcome.options(), main.options(), "the same keys as the main menu");
    assert_eq!((&welcome.reprompt, &welcome.silence_reprompt), (&main.reprompt, &main.silence_reprompt));
    assert_eq!((welcome.max_silences, main.max_silences), (2, 2));
    let keys = |node: &Node| node.prompts.iter().map(|k| k.as_str().to_owned()).collect::<Vec<_>>();
    assert_eq!(keys(welcome), ["welcome", "main_menu"], "the welcome names 9 and 0 instead of the key reminder");
    assert_eq!(keys(main), ["keys_reminder", "main_menu"]);
}

#[test]
fn a_key_during_the_safety_notice_counts_for_the_welcomes_menu() {
    let flow = bundled();
    let notice = step(&flow, flow.recover(CallId(1), None), Input::Key(key("2")));
    let evidence = step(&flow, notice.next, Input::Key(key("3")));
    assert_eq!(flow.node(evidence.next.node).name, "evidence_1", "skips the safety notice and the welcome");
    let welcome = step(&flow, notice.next, Input::NoInput);
    let safety_plan = step(&flow, welcome.next, Input::Key(key("2")));
    assert_eq!(flow.node(safety_plan.next.node).name, "safety_plan_1");
}

#[test]
fn before_a_language_is_chosen_every_prompt_is_spoken_in_both_languages() {
    let flow = bundled();
    let start = flow.begin(CallId(1));
    assert_eq!(start.spoken, Spoken::Both);
    let wrong = step(&flow, start.next, Input::Key(key("7")));
    let Instruction::Gather { prompts, .. } = &wrong.say else { panic!("{:?}", wrong.say) };
    assert_eq!(prompts[0].as_str(), "invalid_choice");
    assert_eq!(wrong.spoken, Spoken::Both, "a wrong key at the choice is said in both languages");
    let police = step(&flow, start.next, Input::Key(flow.emergency_key));
    assert_eq!(police.spoken, Spoken::Both);
    let unanswered = step(&flow, police.next, Input::Dial(DialOutcome::NoAnswer));
    assert_eq!(
        (flow.node(unanswered.next.node).name.as_str(), unanswered.spoken),
        ("police_unreachable", Spoken::Both)
    );
    let operator = step(&flow, start.next, Input::NoInput);
    assert!(matches!(operator.say, Instruction::OperatorTransfer { .. }));
    assert_eq!(operator.spoken, Spoken::Both);
    let goodbye = step(&flow, operator.next, Input::Dial(DialOutcome::Completed));
    assert_eq!((matches!(goodbye.say, Instruction::Hangup { .. }), goodbye.spoken), (true, Spoken::Both));
    let chosen = step(&flow, start.next, Input::Key(key("2")));
    assert_eq!(chosen.spoken, Spoken::In(Language::Ru), "once chosen, one language");
}

#[test]
fn a_key_during_operators_unavailable_starts_the_rounds_again_as_the_main_menu_does() {
    // A key during the message counts for the main menu after it; so does the main menu's
    // fresh start, or the next unanswered ring would be the last at once.
    let flow = bundled();
    let unavailable = CallState {
        node: flow.node_id("operators_unavailable").unwrap(),
        rounds: 3,
        ..flow.recover(CallId(1), Some(Language::Kk))
    };
    let definition = step(&flow, unavailable, Input::Key(key("1")));
    assert_eq!(flow.node(definition.next.node).name, "definition");
    assert_eq!(definition.next.rounds, 0);
}

#[test]
fn both_languages_play_each_prompt_in_kazakh_then_in_russian() {
    let (a, b) = (PromptKey::parse("a").unwrap(), PromptKey::parse("b").unwrap());
    let both: Vec<(Language, &str)> = Spoken::Both.recordings([&a, &b]).map(|(l, k)| (l, k.as_str())).collect();
    assert_eq!(both, [(Language::Kk, "a"), (Language::Ru, "a"), (Language::Kk, "b"), (Language::Ru, "b")]);
    let ru: Vec<Language> = Spoken::In(Language::Ru).recordings([&a, &b]).map(|(l, _)| l).collect();
    assert_eq!(ru, [Language::Ru, Language::Ru]);
}

#[test]
fn a_caller_with_no_language_is_offered_the_language_choice_where_others_get_the_main_menu() {
    let flow = bundled();
    let busy = CallState { node: flow.node_id("operators_busy").unwrap(), ..flow.recover(CallId(1), None) };
    let menu = step(&flow, busy, Input::Key(key("2")));
    assert_eq!((menu.next.node, menu.spoken), (flow.start, Spoken::Both), "not the Kazakh main menu");
    let chosen = step(&flow, CallState { language: Some(Language::Ru), ..busy }, Input::Key(key("2")));
    assert_eq!(chosen.next.node, flow.main_menu);
    let unavailable = CallState { rounds: 3, ..busy };
    let unavailable = CallState { node: flow.node_id("operators_unavailable").unwrap(), ..unavailable };
    let again = step(&flow, unavailable, Input::NoInput);
    assert_eq!((again.next.node, again.next.rounds), (flow.start, 0), "the rounds start again, as at the main menu");
    let russian = step(&flow, unavailable, Input::Key(key("2")));
    assert_eq!(flow.node(russian.next.node).name, "safety_notice", "a key during it counts for the language choice");
    assert_eq!(russian.next.language, Some(Language::Ru));
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
    assert_reports(&errors, "node `welcome`, field `options.\"*\"`: `*` is the repeat key on every menu");
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
        &errors_after("goodbye_seconds = 6", "goodbye_seconds = 1"),
        "field `limits.goodbye_seconds`: 1 is outside 2..=30",
    );
    assert_reports(
        &errors_after("node_seconds = { safety_notice = 12,", "node_seconds = { safety_notice = 200,"),
        "field `limits.node_seconds.safety_notice`: 200 is outside 3..=120",
    );
    assert_reports(
        &errors_after("node_seconds = { safety_notice = 12,", "node_seconds = { safety_notic = 12,"),
        "field `limits.node_seconds.safety_notic`: `safety_notic` is not a node of this flow",
    );
    assert_reports(
        &errors_after("max_silences = 2", "max_silences = 0"),
        "node `welcome`, field `max_silences`: 0 is outside 1..=10",
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

/// A caller waiting in the operators' queue: on the transfer, holding a place.
fn queued(flow: &Flow) -> CallState {
    let place = QueuePlace { ticket: 7, joined_ms: 1_000, told_position: 2, told_at: 1 };
    CallState { node: flow.operator, rounds: 1, queue: Some(place), ..flow.recover(CallId(1), Some(Language::Kk)) }
}

#[test]
fn a_caller_waiting_in_the_queue_asks_again_after_silence_or_zero_without_a_new_round() {
    let flow = bundled();
    for input in [Input::NoInput, Input::Key(key("0"))] {
        let again = step(&flow, queued(&flow), input);
        assert_eq!((again.next.node, again.next.rounds, again.next.queue), (flow.operator, 1, queued(&flow).queue));
        assert!(matches!(again.say, Instruction::OperatorTransfer { ref prompts, .. } if prompts.is_empty()));
        assert!(!again.events.iter().any(|e| matches!(e, Event::OperatorTransfer { .. })), "{input:?}");
    }
}

#[test]
fn another_key_while_waiting_opens_the_busy_menu_keeping_the_place_and_nine_gives_it_up() {
    let flow = bundled();
    let menu = step(&flow, queued(&flow), Input::Key(key("1")));
    assert_eq!((flow.node(menu.next.node).name.as_str(), menu.next.queue), ("operators_busy", queued(&flow).queue));
    let main = step(&flow, menu.next, Input::Key(key("2")));
    assert_eq!((main.next.node, main.next.queue), (flow.main_menu, None), "the main menu leaves the queue");
    let police = step(&flow, queued(&flow), Input::Key(key("9")));
    assert!(matches!(police.say, Instruction::EmergencyTransfer { .. }));
    assert_eq!(police.next.queue, None, "put through to the police: the place is given up");
}

#[test]
fn a_ring_not_answered_sends_a_queued_caller_back_to_their_place_until_the_last_round() {
    let flow = bundled();
    for outcome in [DialOutcome::NoAnswer, DialOutcome::Busy] {
        let back = step(&flow, queued(&flow), Input::Dial(outcome));
        assert_eq!((back.next.node, back.next.queue), (flow.operator, queued(&flow).queue), "{outcome:?}");
        assert_eq!(back.events, [Event::DialEnded { emergency: false, outcome }]);
    }
    let last = CallState { rounds: 3, ..queued(&flow) };
    let exhausted = step(&flow, last, Input::Dial(DialOutcome::NoAnswer));
    assert_eq!(flow.node(exhausted.next.node).name, "operators_unavailable");
    let failed = step(&flow, queued(&flow), Input::Dial(DialOutcome::Failed));
    assert_eq!((flow.node(failed.next.node).name.as_str(), failed.next.queue), ("operators_busy", queued(&flow).queue));
    let answered = step(&flow, queued(&flow), Input::Dial(DialOutcome::Completed));
    assert_eq!(answered.next.queue, None, "put through: the place is given up");
}
