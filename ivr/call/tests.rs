//! The call core as plain function calls over the bundled flow: no HTTP, no database.

use super::*;
use crate::operators::{Languages, Operator, State};

const BUNDLED: &str = include_str!("../../flows/hotline.toml");

fn flow() -> Flow {
    Flow::from_toml(BUNDLED).expect("bundled flow loads")
}

fn target(text: &str) -> DialTarget {
    DialTarget::parse(text).expect("a valid target")
}

fn operator(id: i64, at: &str, languages: Languages, available: bool) -> Operator {
    let state = if available { State::Available } else { State::Away };
    Operator { id, name: format!("operator {id}"), target: target(at), languages, available, state }
}

fn key(k: &str) -> Input {
    Input::keys(Some(k))
}

fn dial_ended(outcome: DialOutcome, talked_seconds: Option<u32>) -> Input {
    Input::DialEnded { outcome, talked_seconds }
}

/// A caller on the main menu in `language`.
fn on_main(flow: &Flow, language: Language) -> CallState {
    flow.recover(CallId(0xab), Some(language))
}

fn node<'f>(flow: &'f Flow, turn: &Turn<'_>) -> &'f str {
    &flow.node(turn.step.next.node).name
}

fn rung(operators: u8, route: Route) -> CallEvent {
    CallEvent::Rung { operators, route }
}

#[test]
fn an_operator_transfer_rings_the_callers_language_with_the_whisper_in_it() {
    let flow = flow();
    let roster = Roster {
        operators: vec![
            operator(1, "+77170000001", Languages::Kk, true),
            operator(2, "sip:olga@pbx.111.kz", Languages::Ru, true),
            operator(3, "+77170000003", Languages::Both, true),
        ],
        switchboard: Some(target("+77170000111")),
        states_stale: false,
    };
    let turn = answer(&flow, on_main(&flow, Language::Ru), key("0"), &roster);
    assert_eq!(node(&flow, &turn), "operator");
    assert!(matches!(turn.step.say, Instruction::OperatorTransfer { .. }));
    assert_eq!(
        turn.callees,
        [
            Callee { target: target("sip:olga@pbx.111.kz"), whisper: Language::Ru, operator: Some(2) },
            Callee { target: target("+77170000003"), whisper: Language::Ru, operator: Some(3) }
        ]
    );
    assert_eq!(turn.events, [rung(2, Route::Language)]);
    assert!(turn.passed.is_empty());
}

#[test]
fn an_operator_of_another_language_hears_the_whisper_in_their_own() {
    let flow = flow();
    let roster = Roster {
        operators: vec![operator(1, "+77170000001", Languages::Kk, true)],
        switchboard: None,
        states_stale: false,
    };
    let turn = answer(&flow, on_main(&flow, Language::Ru), key("0"), &roster);
    assert_eq!(turn.callees, [Callee { target: target("+77170000001"), whisper: Language::Kk, operator: Some(1) }]);
    assert_eq!(turn.events, [rung(1, Route::AnyLanguage)]);
}

#[test]
fn nobody_available_rings_the_switchboard() {
    let flow = flow();
    let roster = Roster {
        operators: vec![operator(1, "+77170000001", Languages::Both, false)],
        switchboard: Some(target("+77170000111")),
        states_stale: false,
    };
    let turn = answer(&flow, on_main(&flow, Language::Kk), key("0"), &roster);
    assert_eq!(turn.callees, [Callee { target: target("+77170000111"), whisper: Language::Kk, operator: None }]);
    assert_eq!(turn.events, [rung(1, Route::Switchboard)]);
}

#[test]
fn nobody_to_ring_is_a_transfer_nobody_answered_never_an_empty_dial() {
    let flow = flow();
    let turn = answer(&flow, on_main(&flow, Language::Ru), key("0"), &Roster::default());
    assert_eq!(node(&flow, &turn), "operators_busy");
    assert!(matches!(turn.step.say, Instruction::Gather { .. }), "the caller hears the fallback menu");
    assert!(turn.callees.is_empty());
    let [(transfer, transfer_events)] = &turn.passed[..] else { panic!("one step passed: {:?}", turn.passed) };
    assert_eq!(flow.node(transfer.next.node).name, "operator", "the transfer is recorded as its own step");
    assert_eq!(transfer_events, &[rung(0, Route::Nobody)]);
    assert!(transfer.next.seq < turn.step.next.seq, "each step has its own sequence number");
    assert!(
        turn.step.events.contains(&Event::DialEnded { emergency: false, outcome: DialOutcome::Failed }),
        "{:?}",
        turn.step.events
    );
    assert!(turn.events.is_empty());
}

#[test]
fn the_emergency_key_needs_no_roster_and_rings_nobody_from_it() {
    let flow = flow();
    for state in [flow.recover(CallId(1), None), on_main(&flow, Language::Kk), on_main(&flow, Language::Ru)] {
        let turn = answer(&flow, state, key("9"), &Roster::default());
        assert_eq!(node(&flow, &turn), "police");
        assert!(matches!(turn.step.say, Instruction::EmergencyTransfer { .. }));
        assert!(turn.callees.is_empty() && turn.events.is_empty() && turn.passed.is_empty());
    }
}

#[test]
fn an_answered_operator_transfer_records_how_long_it_talked_and_the_police_line_does_not() {
    let flow = flow();
    let roster = Roster { operators: Vec::new(), switchboard: Some(target("+77170000111")), states_stale: false };
    let ringing = answer(&flow, on_main(&flow, Language::Kk), key("0"), &roster).step.next;
    let answered = dial_ended(DialOutcome::Completed, Some(140));
    assert_eq!(answer(&flow, ringing, answered, &roster).events, [CallEvent::Talked { seconds: 140 }]);
    assert!(answer(&flow, ringing, dial_ended(DialOutcome::Completed, None), &roster).events.is_empty());
    assert!(answer(&flow, ringing, dial_ended(DialOutcome::Busy, Some(0)), &roster).events.is_empty());
    let police = answer(&flow, on_main(&flow, Language::Kk), key("9"), &roster).step.next;
    assert!(answer(&flow, police, answered, &roster).events.is_empty());
}

#[test]
fn the_keys_a_gather_collected_become_an_input() {
    assert_eq!(Input::keys(None), Input::NoInput);
    assert_eq!(Input::keys(Some("")), Input::NoInput);
    assert_eq!(Input::keys(Some("7")), Input::Key(Digit::parse("7").expect("a key")));
    for odd in ["12", "x", "\u{0661}", " "] {
        assert_eq!(Input::keys(Some(odd)), Input::UnknownKey, "{odd:?}");
    }
}

#[test]
fn a_dialects_words_are_its_table_and_the_cores_rule_for_any_other() {
    let words = Words {
        dial_statuses: &[("ANSWER", DialOutcome::Completed), ("NOANSWER", DialOutcome::NoAnswer)],
        call_statuses: &[("RINGING", None), ("HUNGUP", Some(CallEnd::Completed))],
    };
    assert_eq!(words.dial_outcome(Some("ANSWER")), DialOutcome::Completed);
    assert_eq!(words.dial_outcome(Some("NOANSWER")), DialOutcome::NoAnswer);
    for unknown in [None, Some(""), Some("answer"), Some("CONGESTION")] {
        assert_eq!(words.dial_outcome(unknown), DialOutcome::Failed, "{unknown:?}: a dial that did not happen");
    }
    assert_eq!(words.call_end(Some("HUNGUP")), Some(CallEnd::Completed));
    for no_end in [None, Some(""), Some("RINGING"), Some("hungup"), Some("UP")] {
        assert_eq!(words.call_end(no_end), None, "{no_end:?}: not an end");
    }
}

#[test]
fn the_whisper_is_in_the_listeners_language_about_the_caller() {
    let flow = flow();
    let roster = Roster { operators: Vec::new(), switchboard: Some(target("+77170000111")), states_stale: false };
    let mut state = on_main(&flow, Language::Ru);
    for k in ["2", "2", "0"] {
        state = answer(&flow, state, key(k), &roster).step.next;
    }
    let (language, prompts) = whisper(&flow, &WhisperFor { caller: state, listener: Language::Kk, answering: None });
    assert_eq!(language, Language::Kk);
    let keys: Vec<&str> = prompts.iter().map(PromptKey::as_str).collect();
    assert_eq!(keys, ["whisper_language_ru", "whisper_chose", "whisper_topic_safety_plan"]);
}

#[test]
fn the_whisper_token_carries_the_listeners_language() {
    use crate::telephony::state_token::{decode_whisper, encode_whisper};
    let flow = flow();
    let mut caller = on_main(&flow, Language::Ru);
    caller.topics.insert(1);
    caller.police_unreachable = true;
    let answering = Some(crate::call::Answering { transfer: 0xabc, operator: 12 });
    for (listener, answering) in Language::ALL.into_iter().zip([None, answering]) {
        let whisper = WhisperFor { caller, listener, answering };
        let mut token = String::new();
        encode_whisper(&flow, &whisper, &mut token);
        assert_eq!(decode_whisper(&flow, &token), whisper, "{token}");
    }
    let without = decode_whisper(&flow, "n=main&l=ru");
    assert_eq!(without.listener, flow.default_language, "a token without one: the flow's default");
}

#[test]
fn the_state_token_carries_when_the_call_started_through_every_step() {
    use crate::telephony::state_token::{decode, encode};
    let flow = flow();
    let started = Some(1_764_590_000);
    let state = CallState { started, ..on_main(&flow, Language::Kk) };
    let mut token = String::new();
    encode(&flow, &state, &mut token);
    assert_eq!(decode(&flow, &token), state, "{token}");
    let next = crate::flow::step(&flow, state, crate::flow::Input::Key(Digit::parse("1").expect("a key")));
    assert_eq!(next.next.started, started, "a step keeps the start");
    let recovered = decode(&flow, "c=00000000000000ab&n=nowhere&q=3&b=1764590000");
    assert_eq!(recovered.started, started, "a state that cannot be trusted keeps its start");
    assert_eq!(decode(&flow, "c=00000000000000ab&n=main&b=soon").started, None);
}
