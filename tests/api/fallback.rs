//! `ivr fallback`: the documents a platform plays when the service does not answer. They
//! tell the police number in Kazakh and Russian, ring the switchboard, tell the number
//! again, and point at nothing of this service's own.

use std::path::Path;
use std::process::Command;

use crate::helpers::keep_jambonz_document;

const PROMPTS_URL: &str = "https://assets.example/111&a'b";
const SWITCHBOARD: &str = "+77170000111";

fn ivr_fallback(out: &Path, prompts_url: &str, extra: &[(&str, &str)]) -> (bool, String) {
    run_fallback(&["--prompts-url".as_ref(), prompts_url.as_ref(), "--out".as_ref(), out.as_os_str()], extra)
}

/// `ivr fallback ARGS` with the bundled flow and prompts and nothing else of this shell's
/// environment: whether it succeeded, and what it printed.
fn run_fallback(args: &[&std::ffi::OsStr], extra: &[(&str, &str)]) -> (bool, String) {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let output = Command::new(env!("CARGO_BIN_EXE_ivr"))
        .arg("fallback")
        .args(args)
        .env_clear()
        .env("IVR_FLOW", root.join("flows/hotline.toml"))
        .env("IVR_PROMPTS", root.join("prompts"))
        .env("IVR_PUBLIC_URL", "https://ivr.example.kz")
        .envs(extra.iter().copied())
        .output()
        .expect("ivr runs");
    let text = format!("{}{}", String::from_utf8_lossy(&output.stdout), String::from_utf8_lossy(&output.stderr));
    (output.status.success(), text)
}

/// The recordings a document plays, in order, as paths under `prompts/`.
fn played(urls: &[&str]) -> Vec<String> {
    urls.iter()
        .map(|url| url.strip_prefix(PROMPTS_URL).unwrap_or_else(|| panic!("served elsewhere: {url}")).to_owned())
        .collect()
}

const BEFORE: [&str; 4] =
    ["/kk/police_number.wav", "/ru/police_number.wav", "/kk/transfer_operator.wav", "/ru/transfer_operator.wav"];
const AFTER: [&str; 2] = ["/kk/police_number.wav", "/ru/police_number.wav"];

#[test]
fn the_twiml_fallback_tells_the_police_number_and_rings_the_switchboard() {
    let out = tempfile::tempdir().expect("a folder");
    let (ok, text) = ivr_fallback(out.path(), PROMPTS_URL, &[("IVR_OPERATOR_NUMBER", SWITCHBOARD)]);
    assert!(ok, "{text}");
    let doc = std::fs::read_to_string(out.path().join("twiml.xml")).expect("twiml.xml");
    let parsed = roxmltree::Document::parse(&doc).unwrap_or_else(|e| panic!("well-formed TwiML: {e}: {doc}"));
    let verbs: Vec<_> = parsed.root_element().children().filter(|n| n.is_element()).collect();
    let names: Vec<&str> = verbs.iter().map(|n| n.tag_name().name()).collect();
    assert_eq!(names, ["Play", "Play", "Play", "Play", "Dial", "Play", "Play", "Hangup"], "{doc}");
    let urls: Vec<&str> = verbs.iter().filter(|n| n.has_tag_name("Play")).filter_map(|n| n.text()).collect();
    let expected: Vec<&str> = BEFORE.iter().chain(&AFTER).copied().collect();
    assert_eq!(played(&urls), expected, "the URL is carried whole through the escaping: {doc}");
    let dial = verbs[4];
    assert_eq!(dial.attribute("action"), None, "no webhook: the next verb follows");
    let number = dial.children().find(|n| n.has_tag_name("Number")).and_then(|n| n.text());
    assert_eq!(number, Some(SWITCHBOARD));
    assert!(!doc.contains("ivr.example.kz"), "nothing points at the service that is down: {doc}");
    for path in expected {
        let wav = out.path().join(format!("prompts{path}"));
        assert!(std::fs::metadata(&wav).is_ok_and(|m| m.len() > 44), "{} is written beside it", wav.display());
    }
}

#[test]
fn the_jambonz_fallback_is_the_same_call_in_verbs() {
    let out = tempfile::tempdir().expect("a folder");
    let (ok, text) =
        ivr_fallback(out.path(), PROMPTS_URL, &[("IVR_OPERATOR_NUMBER", "sip:switchboard@pbx.example.kz")]);
    assert!(ok, "{text}");
    let doc = std::fs::read_to_string(out.path().join("jambonz.json")).expect("jambonz.json");
    keep_jambonz_document(&doc);
    let verbs: serde_json::Value = serde_json::from_str(&doc).expect("JSON");
    let names: Vec<&str> = verbs.as_array().expect("an array").iter().filter_map(|v| v["verb"].as_str()).collect();
    assert_eq!(names, ["play", "dial", "play", "hangup"], "{doc}");
    let urls =
        |at: usize| verbs[at]["url"].as_array().expect("urls").iter().filter_map(|u| u.as_str()).collect::<Vec<_>>();
    assert_eq!(played(&urls(0)), BEFORE);
    assert_eq!(played(&urls(2)), AFTER);
    assert_eq!(verbs[1]["target"][0]["type"], "sip");
    assert_eq!(verbs[1]["target"][0]["sipUri"], "sip:switchboard@pbx.example.kz");
    assert!(verbs[1].get("actionHook").is_none(), "no webhook: {doc}");
    assert!(!doc.contains("ivr.example.kz"), "nothing points at the service that is down: {doc}");
}

#[test]
fn a_fallback_without_a_switchboard_or_served_by_the_service_itself_is_refused() {
    let out = tempfile::tempdir().expect("a folder");
    let (ok, text) = ivr_fallback(out.path(), PROMPTS_URL, &[]);
    assert!(!ok && text.contains("IVR_OPERATOR_NUMBER is not set"), "{text}");
    let own = "https://ivr.example.kz/prompts";
    let (ok, text) = ivr_fallback(out.path(), own, &[("IVR_OPERATOR_NUMBER", SWITCHBOARD)]);
    assert!(!ok && text.contains("the fallback must not depend on it"), "{text}");
    let (ok, text) = ivr_fallback(out.path(), "https://assets.example/a b", &[("IVR_OPERATOR_NUMBER", SWITCHBOARD)]);
    assert!(!ok && text.contains("--prompts-url has a character"), "{text}");
    assert!(!out.path().join("twiml.xml").exists(), "nothing written");
}

fn ivr_fallback_asterisk(out: &Path, extra: &[(&str, &str)]) -> (bool, String) {
    run_fallback(&["--dialect".as_ref(), "asterisk".as_ref(), out.as_os_str()], extra)
}

/// The files a dialplan line names, `${IVR_SOUNDS}/kk/police_number`, as `kk/police_number`.
fn sounds(line: &str) -> Vec<String> {
    line.split("${IVR_SOUNDS}/").skip(1).map(|rest| rest.split(['&', ',']).next().unwrap_or("").to_owned()).collect()
}

#[test]
fn the_asterisk_fallback_reads_the_emergency_key_over_the_police_number_and_rings_the_switchboard() {
    let out = tempfile::tempdir().expect("a folder");
    // No switchboard number and no prompts URL: the PBX's own routes and files are used.
    let (ok, text) = ivr_fallback_asterisk(out.path(), &[]);
    assert!(ok, "{text}");
    let plan = std::fs::read_to_string(out.path().join("ivr-111-fallback.conf")).expect("the dialplan");
    let steps: Vec<&str> = plan.lines().filter(|l| l.starts_with("exten =>") || l.starts_with(" same =>")).collect();
    assert!(plan.contains("\n[ivr-111-fallback]\n") && steps[0] == "exten => s,1,Answer()", "{plan}");
    let apps: Vec<&str> =
        steps.iter().map(|l| l.split(',').nth(if l.starts_with("exten") { 2 } else { 1 }).unwrap_or("")).collect();
    let apps: Vec<&str> = apps.iter().map(|a| a.split('(').next().unwrap_or("")).collect();
    assert_eq!(
        apps,
        ["Answer", "Read", "GotoIf", "Read", "GotoIf", "Dial", "GotoIf", "Read", "GotoIf", "Hangup", "Dial", "GotoIf"],
        "{plan}"
    );
    let reads: Vec<Vec<String>> = steps.iter().filter(|l| l.contains("Read(")).map(|l| sounds(l)).collect();
    assert_eq!(
        reads,
        [
            vec!["kk/police_number", "ru/police_number", "kk/keys_reminder", "ru/keys_reminder"],
            vec!["kk/transfer_operator", "ru/transfer_operator"],
            vec!["kk/police_number", "ru/police_number"],
        ],
        "the police number in both languages first, and again at the end: {plan}"
    );
    let after_each_read: Vec<&str> =
        steps.iter().zip(&steps[1..]).filter(|(l, _)| l.contains("Read(")).map(|(_, next)| *next).collect();
    assert!(
        after_each_read.iter().all(|l| l.contains(r#"$["${IVR_KEY}" = "9"]?police"#)),
        "9 dials the police during every recording: {plan}"
    );
    assert!(plan.contains(" same => n(police),Dial(${IVR_POLICE},60)"), "{plan}");
    assert!(plan.contains(" same => n,Dial(${IVR_SWITCHBOARD},30)"), "{plan}");
    assert!(!plan.contains("http") && !plan.contains("ivr.example.kz"), "nothing of the service: {plan}");
    for file in reads.concat() {
        let wav = out.path().join(format!("sounds/{file}.wav"));
        let spec = hound::WavReader::open(&wav).unwrap_or_else(|e| panic!("{}: {e}", wav.display())).spec();
        assert_eq!(
            (spec.sample_rate, spec.channels, spec.bits_per_sample, spec.sample_format),
            (8000, 1, 16, hound::SampleFormat::Int),
            "{} is what Asterisk plays without converting",
            wav.display()
        );
    }
    assert!(!out.path().join("twiml.xml").exists() && !out.path().join("prompts").exists(), "only Asterisk's");
}

#[test]
fn an_asterisk_fallback_refuses_a_recording_it_cannot_play_as_it_is() {
    let prompts = tempfile::tempdir().expect("a folder");
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    for language in ["kk", "ru"] {
        std::fs::create_dir_all(prompts.path().join(language)).expect("a folder");
        for key in ["police_number", "keys_reminder", "transfer_operator"] {
            let from = root.join(format!("prompts/{language}/{key}.wav"));
            std::fs::copy(from, prompts.path().join(format!("{language}/{key}.wav"))).expect("a copy");
        }
    }
    let spec = hound::WavSpec {
        channels: 1,
        sample_rate: 16_000,
        bits_per_sample: 16,
        sample_format: hound::SampleFormat::Int,
    };
    let wide = prompts.path().join("ru/keys_reminder.wav");
    let mut writer = hound::WavWriter::create(&wide, spec).expect("a WAV");
    for n in 0..16_000 {
        writer.write_sample(((f64::from(n) / 10.0).sin() * 8000.0) as i16).expect("a sample");
    }
    writer.finalize().expect("written");
    let out = tempfile::tempdir().expect("a folder");
    let prompts_dir = prompts.path().to_str().expect("a path");
    let (ok, text) = ivr_fallback_asterisk(out.path(), &[("IVR_PROMPTS", prompts_dir)]);
    assert!(!ok && text.contains("ru/keys_reminder.wav") && text.contains("16000 Hz"), "{text}");
    assert!(!out.path().join("ivr-111-fallback.conf").exists(), "no dialplan naming a file it could not play");
}

#[test]
fn the_hosted_fallbacks_still_need_their_prompts_url() {
    let out = tempfile::tempdir().expect("a folder");
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let output = Command::new(env!("CARGO_BIN_EXE_ivr"))
        .args(["fallback", "--dialect", "twiml"])
        .arg(out.path())
        .env_clear()
        .env("IVR_FLOW", root.join("flows/hotline.toml"))
        .env("IVR_PROMPTS", root.join("prompts"))
        .env("IVR_OPERATOR_NUMBER", SWITCHBOARD)
        .output()
        .expect("ivr runs");
    let text = String::from_utf8_lossy(&output.stderr);
    assert!(!output.status.success() && text.contains("--prompts-url is needed"), "{text}");
    assert!(std::fs::read_dir(out.path()).expect("the folder").next().is_none(), "nothing written");
}
