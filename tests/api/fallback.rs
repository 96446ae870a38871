//! `ivr fallback`: the documents a platform plays when the service does not answer. They
//! tell the police number in Kazakh and Russian, ring the switchboard, tell the number
//! again, and point at nothing of this service's own.

use std::path::Path;
use std::process::Command;

use crate::helpers::keep_jambonz_document;

const PROMPTS_URL: &str = "https://assets.example/111&a'b";
const SWITCHBOARD: &str = "+77170000111";

fn ivr_fallback(out: &Path, prompts_url: &str, extra: &[(&str, &str)]) -> (bool, String) {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let output = Command::new(env!("CARGO_BIN_EXE_ivr"))
        .args(["fallback", "--prompts-url", prompts_url, "--out"])
        .arg(out)
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
