//! `ivr check`: exit 0 on the bundled flow and prompts; exit 1 listing every problem.

use std::path::Path;
use std::process::Command;

fn ivr_check(flow: &Path, prompts: &Path, extra: &[(&str, &str)]) -> (bool, String) {
    let output = Command::new(env!("CARGO_BIN_EXE_ivr"))
        .arg("check")
        .env_clear()
        .env("IVR_FLOW", flow)
        .env("IVR_PROMPTS", prompts)
        .envs(extra.iter().copied())
        .output()
        .expect("ivr runs");
    let text = format!("{}{}", String::from_utf8_lossy(&output.stdout), String::from_utf8_lossy(&output.stderr));
    (output.status.success(), text)
}

pub fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap().flatten() {
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), target).unwrap();
        }
    }
}

#[test]
fn the_bundled_flow_and_prompts_pass() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let (ok, text) = ivr_check(&root.join("flows/hotline.toml"), &root.join("prompts"), &[]);
    assert!(ok, "{text}");
    assert!(text.contains("IVR_TWILIO_AUTH_TOKEN is not set"), "warns without a token: {text}");
    let recordings = bundled_recordings(root);
    assert!(
        text.contains(&format!("warning: {recordings} of {recordings} recordings are synthetic placeholders")),
        "counts the placeholders: {text}"
    );
    assert!(text.contains("warning: 2 texts go beyond the memo and await the hotline's approval"), "{text}");
}

/// Every recording of the bundled library: a key per language.
fn bundled_recordings(root: &Path) -> usize {
    ["kk", "ru"]
        .iter()
        .flat_map(|l| std::fs::read_dir(root.join("prompts").join(l)).unwrap().flatten())
        .filter(|e| e.path().extension().is_some_and(|x| x == "wav"))
        .count()
}

#[test]
fn a_studio_recording_is_counted_apart_from_the_placeholders() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let dir = tempfile::tempdir().unwrap();
    copy_dir(&root.join("prompts"), &dir.path().join("prompts"));
    let manifest = dir.path().join("prompts/manifest.toml");
    let text = std::fs::read_to_string(&manifest).unwrap();
    let marked = text.replacen(
        r#"recording = { kk = "synthetic", ru = "synthetic" }"#,
        r#"recording = { kk = "studio", ru = "synthetic" }"#,
        1,
    );
    std::fs::write(&manifest, marked).unwrap();
    let (ok, text) = ivr_check(&root.join("flows/hotline.toml"), &dir.path().join("prompts"), &[]);
    assert!(ok, "{text}");
    let recordings = bundled_recordings(root);
    assert!(text.contains(&format!("warning: {} of {recordings} recordings are synthetic", recordings - 1)), "{text}");
}

#[test]
fn every_problem_is_listed_and_the_exit_code_is_1() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let dir = tempfile::tempdir().unwrap();
    copy_dir(&root.join("prompts"), &dir.path().join("prompts"));
    std::fs::remove_file(dir.path().join("prompts/ru/next_rights.wav")).unwrap();
    std::fs::write(dir.path().join("prompts/kk/main_menu.wav"), b"RIFF not really").unwrap();
    let flow = std::fs::read_to_string(root.join("flows/hotline.toml")).unwrap().replacen(
        r#""3" = "evidence_1""#,
        r#""3" = "evidense""#,
        1,
    );
    std::fs::write(dir.path().join("hotline.toml"), flow).unwrap();

    let bad_env = [("IVR_EMERGENCY_NUMBER", "police!"), ("IVR_LISTEN", "nowhere")];
    let (ok, text) = ivr_check(&dir.path().join("hotline.toml"), &dir.path().join("prompts"), &bad_env);
    assert!(!ok, "{text}");
    assert!(text.contains("IVR_EMERGENCY_NUMBER: `police!`"), "{text}");
    assert!(text.contains("IVR_LISTEN: `nowhere`"), "{text}");

    let (ok, text) = ivr_check(&dir.path().join("hotline.toml"), &dir.path().join("prompts"), &[]);
    assert!(!ok, "{text}");
    for expected in [
        "node `welcome`, field `options.\"3\"`: `evidense` is not a node",
        "ru/next_rights.wav: no recording",
        "kk/main_menu.wav: not a readable WAV file",
    ] {
        assert!(text.contains(expected), "expected `{expected}` in:\n{text}");
    }
}

#[test]
fn a_target_the_configured_dialects_cannot_dial_is_refused_by_name() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let (flow, prompts) = (root.join("flows/hotline.toml"), root.join("prompts"));
    let on_asterisk = [("IVR_AGI_LISTEN", "0.0.0.0:4573"), ("IVR_EMERGENCY_NUMBER", "PJSIP/police")];
    let (ok, text) = ivr_check(&flow, &prompts, &on_asterisk);
    assert!(ok, "a dial string on a line that runs on Asterisk: {text}");

    let with_twiml = [on_asterisk[0], on_asterisk[1], ("IVR_TWILIO_AUTH_TOKEN", "token")];
    let (ok, text) = ivr_check(&flow, &prompts, &with_twiml);
    assert!(
        !ok && text
            .contains("IVR_EMERGENCY_NUMBER: `PJSIP/police` is an Asterisk dial string, which TwiML cannot dial"),
        "{text}"
    );

    let (ok, text) = ivr_check(&flow, &prompts, &[("IVR_AGI_LISTEN", "off"), ("IVR_OPERATOR_NUMBER", "PJSIP/ops")]);
    assert!(!ok && text.contains("IVR_OPERATOR_NUMBER: `PJSIP/ops`"), "{text}");

    let (ok, text) = ivr_check(&flow, &prompts, &[("IVR_AGI_LISTEN", "0.0.0.0:4573")]);
    assert!(!ok && text.contains("Asterisk cannot dial `102` without IVR_ASTERISK_DIAL"), "{text}");
    let through_trunk = [("IVR_AGI_LISTEN", "0.0.0.0:4573"), ("IVR_ASTERISK_DIAL", "PJSIP/{}@kz-trunk")];
    assert!(ivr_check(&flow, &prompts, &through_trunk).0);
}
