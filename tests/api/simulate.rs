//! The caller simulator and the flow review tools, on the bundled flow and prompts.
//!
//! Scripted calls are compared with golden transcripts in `tests/golden/`; after a deliberate
//! change to the flow or the scripts, regenerate them with
//! `IVR_UPDATE_GOLDEN=1 cargo test --test api simulate` and review the diff.

use std::collections::VecDeque;
use std::path::PathBuf;
use std::time::Duration;

use ivr::config::Settings;
use ivr::flow::{Flow, Language, NodeKind, PromptKey, Spoken};
use ivr::review::{self, Audit, Durations, Format, Outcome};
use ivr::simulate::{Caller, Heard, Keys, Line, Pressed, Screen, SimulateError, Speaker, parse_script, transcript};
use ivr::softphone::{Dialect, WebhookDialect};
use ivr::state::{self, Loaded};

use crate::helpers::{OPERATOR_NUMBER, bundled_prompts};

/// The bundled service, as `ivr simulate` loads it, with an operator number to ring.
fn app(token: Option<&str>) -> Loaded {
    let root = env!("CARGO_MANIFEST_DIR");
    let mut env = vec![
        ("IVR_FLOW", format!("{root}/flows/hotline.toml")),
        ("IVR_PROMPTS", format!("{root}/prompts")),
        ("IVR_OPERATOR_NUMBER", OPERATOR_NUMBER.to_owned()),
        ("IVR_ASTERISK_DIAL", "PJSIP/{}@kz-trunk".to_owned()),
    ];
    env.extend(token.map(|t| ("IVR_TWILIO_AUTH_TOKEN", t.to_owned())));
    env.extend(token.map(|t| ("IVR_JAMBONZ_WEBHOOK_SECRET", t.to_owned())));
    let lookup = |name: &str| env.iter().find(|(n, _)| *n == name).map(|(_, v)| v.clone());
    let settings = Settings::from_lookup(lookup).expect("test settings are valid");
    let flow = Flow::load(&settings.flow_path).expect("bundled flow loads");
    state::assemble(settings, flow, bundled_prompts().clone()).expect("bundled flow is valid")
}

async fn scripted(language: Option<Language>, keys: &str) -> Result<String, SimulateError> {
    scripted_in(Dialect::Twiml, language, keys).await
}

async fn scripted_in(dialect: Dialect, language: Option<Language>, keys: &str) -> Result<String, SimulateError> {
    let line = Line::new(app(None), dialect);
    transcript(&line, language, &parse_script(keys)?).await
}

/// Compares with `tests/golden/{name}.txt`, or rewrites it when `IVR_UPDATE_GOLDEN=1`.
fn assert_golden(name: &str, actual: &str) {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/golden").join(format!("{name}.txt"));
    if std::env::var("IVR_UPDATE_GOLDEN").is_ok_and(|v| v == "1") {
        std::fs::write(&path, actual).expect("golden file is writable");
        return;
    }
    let expected = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("{}: {e}; run with IVR_UPDATE_GOLDEN=1 to create it", path.display()));
    assert!(expected == actual, "{name}: transcript differs from {}:\n{actual}", path.display());
}

#[tokio::test]
async fn scripted_calls_match_the_golden_transcripts() {
    let cases = [
        ("kk_safety_plan_police_unanswered_operators_busy", None, "1,-,2,1,2,9,no-answer,0,busy"),
        ("kk_silent_caller_reaches_an_operator", None, "-,answered"),
        ("ru_evidence_then_operator_answers", Some(Language::Ru), "3,0,answered"),
        ("ru_wrong_key_then_police_answers", None, "2,-,5,7,9,answered"),
        ("ru_silent_after_choosing_reaches_an_operator_at_the_first_silence_on_the_menu", None, "2,-,-,answered"),
        ("ru_silent_at_the_main_menu_reaches_an_operator", None, "2,-,3,2,-,-,answered"),
        ("ru_silent_after_the_police_failed_reaches_an_operator", None, "2,9,no-answer,-,answered"),
        ("kk_silent_after_a_guidance_part_reaches_an_operator", None, "1,-,2,1,-,answered"),
        ("kk_silent_at_operators_busy_rings_again", None, "1,-,0,busy,-,busy,1,-,answered"),
        ("no_language_wrong_key_at_the_choice_hears_both_then_russian", None, "7,2,0,answered"),
        ("no_language_police_unanswered_operators_busy_in_both_languages", None, "9,no-answer,-,busy,1,-,answered"),
        ("no_language_operators_busy_back_to_the_language_choice", None, "0,busy,2,2,0,no-answer"),
    ];
    for (name, language, keys) in cases {
        let text = scripted(language, keys).await.unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_golden(name, &text);
        let jambonz = scripted_in(Dialect::Jambonz, language, keys).await.unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(jambonz, text, "{name}: the same call through jambonz (`ivr simulate --dialect jambonz`)");
        let asterisk = scripted_in(Dialect::Asterisk, language, keys).await.unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(asterisk, text, "{name}: the same call over FastAGI (`ivr simulate --dialect asterisk`)");
    }
}

#[tokio::test]
async fn a_transcript_shows_prompts_keys_and_transfers_plainly() {
    let text = scripted(Some(Language::Ru), "9,busy").await.expect("script fits the flow");
    assert!(text.contains("> 2 (--lang ru"), "{text}");
    assert!(!text.contains("♪ kk/choose_language"), "--lang skips the language menu:\n{text}");
    assert!(text.contains("  ♪ ru/transfer_police\n"), "{text}");
    assert!(text.contains("  → police 102 (rings up to"), "{text}");
    assert!(text.contains("> transfer: busy\n  ♪ ru/police_unreachable"), "{text}");
    let operator = scripted(None, "1,0").await.expect("script fits the flow");
    assert!(operator.contains(&format!("  → operators: {OPERATOR_NUMBER}")), "{operator}");
}

#[tokio::test]
async fn a_script_that_does_not_fit_the_call_fails_at_its_step() {
    let ringing = scripted(None, "9,2").await.expect_err("a key while the police ring");
    assert!(matches!(&ringing, SimulateError::Script { step: 2, token, .. } if token == "2"), "{ringing}");
    let told = ringing.to_string();
    let (_, transcript) = told.split_once("the call until then:\n").expect("the call so far is told");
    assert!(transcript.starts_with("call answered\n"), "{told}");
    assert!(transcript.contains("→ police 102") && transcript.ends_with("> 2"), "up to the failing step:\n{told}");
    let ended = scripted(None, "9,answered,1").await.expect_err("a key after the call ended");
    assert!(ended.to_string().contains("step 3") && ended.to_string().contains("ended"), "{ended}");
    assert!(matches!(parse_script("1,hello"), Err(SimulateError::Token(t)) if t == "hello"));
}

#[tokio::test]
async fn the_simulator_signs_its_webhooks_like_the_provider() {
    for dialect in WebhookDialect::ALL {
        let line = Line::new(app(Some("simulator-test-token")), dialect.into());
        let text =
            transcript(&line, None, &parse_script("1,-,1").expect("script")).await.expect("signed webhooks pass");
        assert!(text.contains("♪ kk/guidance_definition"), "{dialect:?}: {text}");
    }
}

/// Keys a test presses: one entry per look at the keyboard; `q` when the list runs out.
struct ScriptedKeys(VecDeque<Option<Pressed>>);

impl Keys for ScriptedKeys {
    fn next(&mut self, _within: Duration) -> std::io::Result<Option<Pressed>> {
        Ok(self.0.pop_front().unwrap_or(Some(Pressed::HangUp)))
    }
}

/// A speaker whose every prompt plays for three looks at the keyboard.
#[derive(Default)]
struct CountingSpeaker {
    started: Vec<String>,
    left: std::cell::Cell<u32>,
    stopped: u32,
}

impl Speaker for CountingSpeaker {
    fn start(&mut self, heard: &Heard) {
        self.started.push(format!("{}/{}", heard.language, heard.key));
        self.left.set(3);
    }

    fn playing(&self) -> bool {
        let left = self.left.get();
        self.left.set(left.saturating_sub(1));
        left > 0
    }

    fn stop(&mut self) {
        self.stopped += 1;
        self.left.set(0);
    }
}

fn walk(keys: Vec<Option<Pressed>>) -> (String, CountingSpeaker) {
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("runtime");
    let line = {
        let _in_runtime = runtime.enter();
        Line::new(app(None), Dialect::Twiml)
    };
    let (mut keys, mut speaker, mut screen) =
        (ScriptedKeys(keys.into()), CountingSpeaker::default(), Screen::new(Vec::new()));
    let mut caller = Caller { keys: &mut keys, speaker: &mut speaker, screen: &mut screen };
    caller.walk(&line, &runtime, None).expect("the walk ends normally");
    (String::from_utf8(screen.into_inner()).expect("UTF-8").replace("\r\n", "\n"), speaker)
}

#[test]
fn a_key_interrupts_the_prompt_playing() {
    // One look at the keyboard finds nothing, the next finds 2; then the safety notice plays out.
    let (screen, speaker) = walk(vec![None, Some(Pressed::Char('2')), None, None, None]);
    assert_eq!(speaker.started, ["kk/choose_language", "ru/safety_notice"]);
    assert_eq!(speaker.stopped, 1, "the language menu stopped at the key");
    assert!(screen.contains("    (interrupted)\n> 2\n  ♪ ru/safety_notice"), "{screen}");
    assert!(screen.ends_with("> (hangs up)\n"), "{screen}");
}

#[test]
fn say_nothing_and_transfer_outcomes_come_from_the_keyboard() {
    // Russian, silence through the safety notice, 9 during the welcome, the police prompt
    // plays out, `x` means nothing, `n` no answer.
    let keys = [Some('2'), Some('n'), Some('9'), None, None, None, Some('x'), Some('n')];
    let (screen, speaker) = walk(keys.map(|k| k.map(Pressed::Char)).to_vec());
    assert!(screen.contains("> (says nothing)\n  ♪ ru/welcome"), "{screen}");
    assert!(screen.contains("how does the transfer end?"), "{screen}");
    assert!(screen.contains("> transfer: no-answer\n  ♪ ru/police_unreachable"), "{screen}");
    assert!(speaker.started.contains(&"ru/transfer_police".to_owned()));
}

fn seconds_of(language: Language, keys: &[&str]) -> Duration {
    keys.iter().map(|k| bundled_prompts().duration(language, &PromptKey::parse(k).expect("key"))).sum()
}

#[test]
fn topic_listening_times_are_the_prompts_on_the_way() {
    let flow = app(None).flow;
    let audit = Audit::of(&flow, bundled_prompts());
    let wait =
        |node: &str| Duration::from_secs(u64::from(flow.node(flow.node_id(node).expect("node")).timeout_seconds));
    let choice = ["choose_language", "police_operator_keys", "language_stay_on_line"];
    for language in &audit.languages {
        // Before the choice the language menu plays in both languages; the welcome and the
        // topics are one menu.
        let expected = seconds_of(Language::Kk, &choice)
            + seconds_of(Language::Ru, &choice)
            + seconds_of(language.language, &["safety_notice", "welcome", "main_menu"])
            + wait("safety_notice");
        assert_eq!(language.topics.len(), flow.topics.len());
        for topic in &language.topics {
            let route = topic.route.as_ref().unwrap_or_else(|| panic!("{} unreachable", topic.topic));
            assert_eq!(route.time, expected, "{} in {}", topic.topic, language.language);
        }
        assert_eq!(language.longest().map(|(_, route)| route.time), Some(expected));
    }
}

#[test]
fn the_emergency_transfer_is_one_press_from_every_node_that_listens() {
    let flow = app(None).flow;
    let audit = Audit::of(&flow, bundled_prompts());
    let transfers_or_hangups = |kind: &NodeKind| {
        matches!(kind, NodeKind::EmergencyTransfer { .. } | NodeKind::OperatorTransfer { .. } | NodeKind::Hangup)
    };
    let listening = flow.nodes.iter().filter(|n| !transfers_or_hangups(&n.kind)).count();
    assert_eq!(audit.emergency_presses.len(), listening);
    assert!(audit.emergency_presses.iter().all(|(_, presses)| *presses == Some(1)), "{:?}", audit.emergency_presses);
    assert_eq!(audit.most_presses_to_emergency(), Some(1));
    assert!(review::passed(&audit.checks(&flow, false)));
}

#[test]
fn the_audit_fails_when_a_caller_could_be_kept_from_help() {
    let flow = app(None).flow;
    let mut audit = Audit::of(&flow, bundled_prompts());
    audit.emergency_presses[0].1 = Some(2);
    let checks = audit.checks(&flow, false);
    assert_eq!(checks[0].outcome, Outcome::Fail, "{}", checks[0].says);
    assert!(checks[0].says.contains(&format!("{} (2 presses)", flow.node(audit.emergency_presses[0].0).name)));
    assert!(!review::passed(&checks));

    let text = std::fs::read_to_string(&app(None).settings.flow_path).expect("bundled flow");
    let long_ring = Flow::from_toml(&text.replacen("ring_seconds = 40", "ring_seconds = 90", 1)).expect("flow loads");
    let checks = Audit::of(&long_ring, bundled_prompts()).checks(&long_ring, false);
    assert!(checks.iter().any(|c| c.outcome == Outcome::Fail && c.says.contains("no key that works")), "{checks:?}");
}

#[test]
fn the_graph_draws_every_node_and_every_way_out() {
    let flow = app(None).flow;
    let dot = review::draw(&flow, Format::Dot);
    let edge = |from: &str, to: &str, label: &str| {
        let start = format!("  \"{from}\" -> \"{to}\" [label=\"");
        dot.lines()
            .any(|l| l.starts_with(&start) && l[start.len()..].split('"').next().is_some_and(|s| s.contains(label)))
    };
    for node in &flow.nodes {
        assert!(dot.contains(&format!("  \"{}\" [label=\"{}\\n", node.name, node.name)), "box for {}", node.name);
        for (key, choice) in node.options().into_iter().flatten() {
            assert!(edge(&node.name, &flow.node(choice.goto).name, &key.to_string()), "{} {key}:\n{dot}", node.name);
        }
        for next in node.successors() {
            assert!(dot.contains(&format!("  \"{}\" -> \"{}\"", node.name, flow.node(next).name)), "{}", node.name);
        }
    }
    let police = &flow.node(flow.emergency).name;
    let to_police = dot.lines().filter(|l| l.contains(&format!("-> \"{police}\" [label=\"{}\"", flow.emergency_key)));
    assert_eq!(to_police.count(), 1, "the emergency key is drawn once:\n{dot}");
    let mermaid = review::draw(&flow, Format::Mermaid);
    assert!(flow.nodes.iter().all(|n| mermaid.contains(&format!("[\"{}<br/>", n.name))), "{mermaid}");
    assert_eq!(
        mermaid.lines().filter(|l| l.contains("-->") || l.contains("==>") || l.contains(".->")).count(),
        dot.matches(" -> ").count()
    );
}

#[test]
fn the_commands_run_without_a_sound_device_or_a_terminal() {
    let ivr = |args: &[&str]| {
        let root = env!("CARGO_MANIFEST_DIR");
        let output = std::process::Command::new(env!("CARGO_BIN_EXE_ivr"))
            .args(args)
            .current_dir(root)
            .env("IVR_FLOW", format!("{root}/flows/hotline.toml"))
            .env("IVR_PROMPTS", format!("{root}/prompts"))
            .env("IVR_LOG", "info")
            .stdin(std::process::Stdio::null())
            .output()
            .expect("the ivr binary runs");
        (output.status.code(), String::from_utf8_lossy(&output.stdout).into_owned())
    };
    let (code, out) = ivr(&["simulate", "--lang", "kk", "--keys", "9,answered"]);
    assert_eq!(code, Some(0), "{out}");
    assert!(
        out.starts_with("call answered\n") && out.contains("→ police 102") && out.ends_with("the call ends\n"),
        "{out}"
    );
    let (code, out) = ivr(&["flow", "audit"]);
    assert_eq!(code, Some(0), "{out}");
    assert!(out.contains("ok    emergency transfer"), "{out}");
    let (code, out) = ivr(&["flow", "graph", "--format", "mermaid"]);
    assert_eq!((code, out.starts_with("flowchart LR\n")), (Some(0), true), "{out}");
    let (code, _) = ivr(&["simulate"]);
    assert_eq!(code, Some(1), "at the keyboard without a terminal: a plain error, not a panic");
}

/// `ivr flow audit` on a copy of the bundled flow with `from` replaced by `to`.
fn audit_with(from: &str, to: &str) -> (Option<i32>, String) {
    let root = env!("CARGO_MANIFEST_DIR");
    let text = std::fs::read_to_string(format!("{root}/flows/hotline.toml")).expect("bundled flow");
    assert!(text.contains(from), "the bundled flow has `{from}`");
    let dir = tempfile::tempdir().expect("temp dir");
    let flow = dir.path().join("hotline.toml");
    std::fs::write(&flow, text.replacen(from, to, 1)).expect("flow written");
    let output = std::process::Command::new(env!("CARGO_BIN_EXE_ivr"))
        .args(["flow", "audit"])
        .env("IVR_FLOW", &flow)
        .env("IVR_PROMPTS", format!("{root}/prompts"))
        .output()
        .expect("the ivr binary runs");
    (
        output.status.code(),
        format!("{}{}", String::from_utf8_lossy(&output.stdout), String::from_utf8_lossy(&output.stderr)),
    )
}

#[test]
fn the_audit_exits_1_when_a_limit_of_the_flow_file_is_exceeded() {
    let (code, out) = audit_with("silent_from_start_seconds = 30", "silent_from_start_seconds = 10");
    assert_eq!(code, Some(1), "{out}");
    assert!(out.contains("FAIL  a silent caller is ringing a person within 10.0 s from the start"), "{out}");
    let (code, out) = audit_with("whisper_seconds = 6", "whisper_seconds = 2");
    assert_eq!(code, Some(1), "{out}");
    assert!(out.contains("FAIL  every whisper lasts at most 2.0 s"), "{out}");
    let (code, out) = audit_with("keys_announced_seconds = 8", "keys_announced_seconds = 3");
    assert_eq!(code, Some(1), "{out}");
    assert!(out.contains("FAIL  every menu names 9 and 0 within 3.0 s; late: "), "{out}");
    assert!(out.contains(", language both 7."), "before the choice, in both languages: {out}");
    let (code, out) = audit_with("without_key_reminder_seconds = 30", "without_key_reminder_seconds = 10");
    assert_eq!(code, Some(1), "{out}");
    assert!(out.contains("FAIL  nobody listens over 10.0 s without hearing the keys named"), "{out}");
    let (code, out) = audit_with(
        "[nodes.main]\nkind = \"menu\"\nprompts = [\"keys_reminder\", \"main_menu\"]\nmax_silences = 2",
        "[nodes.main]\nkind = \"menu\"\nprompts = [\"keys_reminder\", \"main_menu\"]\nmax_silences = 3",
    );
    assert_eq!(code, Some(1), "a third silence at the main menu is too long to wait: {out}");
    assert!(out.contains("FAIL  a silent caller is ringing a person within 45.0 s of their last key press"), "{out}");
}

#[test]
fn the_audit_exits_1_when_the_welcome_the_notice_or_the_main_menu_is_too_long() {
    for (limit, node) in [("welcome = 22", "welcome"), ("safety_notice = 12", "safety_notice"), ("main = 20", "main")] {
        let (code, out) = audit_with(limit, &format!("{node} = 3"));
        assert_eq!(code, Some(1), "{out}");
        assert!(out.contains(&format!("FAIL  too long to listen to: {node} kk ")), "{out}");
        assert!(out.contains(&format!("{node} ru ")) && out.contains(" of 3.0 s"), "both languages: {out}");
    }
    let (code, out) =
        audit_with(r#"prompts = ["welcome", "main_menu"]"#, r#"prompts = ["welcome", "main_menu", "main_menu"]"#);
    assert_eq!(code, Some(1), "{out}");
    assert!(out.contains("FAIL  too long to listen to: welcome kk"), "{out}");
}

#[test]
fn the_audit_counts_the_notice_and_the_welcome_from_the_language_menus_last_naming_of_the_keys() {
    // A caller who chooses Kazakh as the language menu ends hears the stay-on-line prompt
    // (in both languages), the notice, its pause and the welcome before 9 and 0 are named again.
    let flow = app(None).flow;
    let audit = Audit::of(&flow, bundled_prompts());
    let chose = |language: Language| {
        let chose = |w: &&review::SilentWalk| w.from.node() == Some(flow.start) && w.spoken == Spoken::In(language);
        audit.waits.silent.iter().find(chose).expect("the choice is measured")
    };
    let stretch = seconds_of(Language::Kk, &["language_stay_on_line"])
        + seconds_of(Language::Ru, &["language_stay_on_line"])
        + seconds_of(Language::Kk, &["safety_notice", "welcome"])
        + Duration::from_secs(1);
    assert_eq!(chose(Language::Kk).without_reminder, stretch);
    assert!(matches!(chose(Language::Ru).from, review::From::Key(_, key) if key.to_string() == "2"));
    // A notice as long as the main menu and itself breaks the 30 s rule.
    let (code, out) = audit_with(r#"prompts = ["safety_notice"]"#, r#"prompts = ["safety_notice", "main_menu"]"#);
    assert_eq!(code, Some(1), "{out}");
    assert!(out.contains("FAIL  nobody listens over 30.0 s without hearing the keys named (longest: from "), "{out}");
    assert!(out.contains(" on language, "), "counted on from the language menu: {out}");
}

#[test]
fn the_menu_after_a_guidance_part_names_9_and_0_within_8_seconds() {
    let (code, out) =
        audit_with(r#"reprompt = ["next_evidence"]"#, r#"reprompt = ["guidance_evidence_2", "next_evidence"]"#);
    assert_eq!(code, Some(1), "{out}");
    assert!(out.contains("FAIL  every menu names 9 and 0 within 8.0 s; late: evidence_2 kk"), "{out}");
}

#[test]
fn the_wait_between_two_rings_names_9_and_0_within_8_seconds() {
    // Keys work during the hold (any key rings the operators now), so it is held to the
    // menus' rule: advice played before the keys are named makes it late.
    let (code, out) = audit_with(r#"prompts = ["hold_intro"]"#, r#"prompts = ["guidance_evidence_2", "hold_intro"]"#);
    assert_eq!(code, Some(1), "{out}");
    assert!(out.contains("FAIL  every menu names 9 and 0 within 8.0 s; late: hold kk"), "{out}");
}

#[test]
fn the_bundled_flow_keeps_every_limit_with_the_real_recordings() {
    let flow = app(None).flow;
    let audit = Audit::of(&flow, bundled_prompts());
    let limit = |seconds: u8| Duration::from_secs(u64::from(seconds));
    let start = audit.waits.silent.iter().find(|w| w.from == review::From::Start).expect("the start is measured");
    assert!(start.to_person.is_some_and(|t| t <= limit(flow.limits.silent_from_start_seconds)), "{start:?}");
    let later = audit.waits.silent.iter().filter(|w| w.from != review::From::Start);
    for walk in later {
        let within = walk.to_person.is_some_and(|t| t <= limit(flow.limits.silent_from_last_key_seconds));
        assert!(within, "{walk:?}");
    }
    assert!(audit.waits.goodbyes.iter().all(|(_, _, t)| *t <= limit(flow.limits.goodbye_seconds)));
    assert!(audit.one_language_before_choice.is_empty(), "{:?}", audit.one_language_before_choice);
    assert!(audit.waits.silent.iter().all(|w| w.without_reminder <= limit(flow.limits.without_key_reminder_seconds)));
    assert!(
        audit
            .waits
            .keys_announced
            .iter()
            .all(|(_, _, t)| t.is_some_and(|t| t <= limit(flow.limits.keys_announced_seconds)))
    );
    assert!(audit.waits.whisper.iter().all(|(_, t)| *t <= limit(flow.limits.whisper_seconds)));
    assert!(review::passed(&audit.checks(&flow, true)), "strict audit passes");
}
