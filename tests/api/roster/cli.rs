//! `ivr operators …` as an administrator runs it: every kind of bad input exits 1 with a
//! sentence that says what is wrong and changes nothing; good input is picked up by a
//! running service without a restart.

use std::process::{Command, Output};

use crate::helpers::Options;
use crate::stats::support::{Backend, TestDatabase, on_both_databases};

use super::{rings_eventually, roster_app};

on_both_databases!(bad_input_exits_1_with_a_clear_message_and_changes_nothing, the_roster_is_managed_end_to_end);

fn ivr(url: &str, args: &[&str]) -> Output {
    ivr_with(url, &[], args)
}

/// `ivr operators` with these settings beside the database's.
fn ivr_with(url: &str, env: &[(&str, &str)], args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_ivr"))
        .arg("operators")
        .args(args)
        .env_clear()
        .env("IVR_DATABASE_URL", url)
        .env("IVR_LOG", "warn")
        .envs(env.iter().copied())
        .output()
        .expect("ivr runs")
}

fn text(output: &Output) -> String {
    format!("{}{}", String::from_utf8_lossy(&output.stdout), String::from_utf8_lossy(&output.stderr))
}

fn succeeds(url: &str, args: &[&str]) -> String {
    let output = ivr(url, args);
    assert!(output.status.success(), "ivr operators {args:?}: {}", text(&output));
    String::from_utf8_lossy(&output.stdout).into_owned()
}

fn roster_json(url: &str) -> serde_json::Value {
    serde_json::from_str(&succeeds(url, &["list", "--format", "json"])).expect("list --format json is JSON")
}

async fn bad_input_exits_1_with_a_clear_message_and_changes_nothing(backend: Backend) {
    let db = TestDatabase::new(&backend).await;
    let url = db.url.as_str();
    succeeds(url, &["add", "--name", "Айгерим", "--target", "+77170000001", "--languages", "kk"]);
    let before = roster_json(url);
    let long_name = "я".repeat(101);
    let cases: [(&[&str], &str); 12] = [
        (
            &["add", "--name", "A", "--target", "+77170000009", "--languages", "en"],
            "unknown language `en`: use kk, ru or both",
        ),
        (
            &["add", "--name", "A", "--target", "8 701 555", "--languages", "kk"],
            "`8 701 555` is neither a phone number",
        ),
        (&["add", "--name", "A", "--target", "+7717000000012345", "--languages", "kk"], "is neither a phone number"),
        (&["add", "--name", "A", "--target", "sip:", "--languages", "kk"], "`sip:` is neither a phone number"),
        (
            &["add", "--name", "A", "--target", "sip:a b@pbx", "--languages", "kk"],
            "a sip: URI nor an Asterisk dial string",
        ),
        (
            &["add", "--name", &long_name, "--target", "+77170000009", "--languages", "kk"],
            "the name must be 1 to 100 characters (got 101)",
        ),
        (
            &["add", "--name", "Б", "--target", "+77170000001", "--languages", "ru"],
            "another operator is already rung at `+77170000001`",
        ),
        (&["update", "99", "--name", "Z"], "there is no operator with id 99"),
        (&["update", "1"], "nothing to change"),
        (&["remove", "one"], "`one` is not an operator id"),
        (&["available", "99"], "there is no operator with id 99"),
        (&["unavailable", "-3"], "`-3` is not an operator id"),
    ];
    for (args, message) in cases {
        let output = ivr(url, args);
        assert_eq!(output.status.code(), Some(1), "ivr operators {args:?}: {}", text(&output));
        assert!(text(&output).contains(message), "ivr operators {args:?} should say {message:?}: {}", text(&output));
    }
    let output = ivr(url, &["update", "1", "--target", "+77170000001x"]);
    assert_eq!(output.status.code(), Some(1), "{}", text(&output));
    assert_eq!(roster_json(url), before, "nothing was written");
}

async fn the_roster_is_managed_end_to_end(backend: Backend) {
    let roster = roster_app(&backend, Options::default()).await;
    let url = roster.db.url.as_str();
    let added = succeeds(url, &["add", "--name", "Ольга", "--target", "+77170000002", "--languages", "ru"]);
    assert!(added.starts_with("ok: added operator 1 (Ольга"), "{added}");
    succeeds(
        url,
        &["add", "--name", "Динара", "--target", "sip:dinara@pbx.111.kz", "--languages", "both", "--unavailable"],
    );
    rings_eventually(&roster.app, "kk", &["+77170000002"]).await;

    succeeds(url, &["available", "2"]);
    succeeds(url, &["update", "1", "--languages", "kk", "--name", "Ольга Ким"]);
    rings_eventually(&roster.app, "ru", &["sip:dinara@pbx.111.kz"]).await;
    rings_eventually(&roster.app, "kk", &["+77170000002", "sip:dinara@pbx.111.kz"]).await;

    let table = succeeds(url, &["list"]);
    assert!(table.contains("Ольга Ким") && table.contains("sip:dinara@pbx.111.kz"), "{table}");
    let json = roster_json(url);
    assert_eq!(json[0]["languages"], "kk");
    assert_eq!(json[1]["available"], true);

    succeeds(url, &["unavailable", "2"]);
    succeeds(url, &["remove", "1"]);
    rings_eventually(&roster.app, "kk", &[crate::helpers::OPERATOR_NUMBER]).await;
    assert_eq!(roster_json(url).as_array().map(Vec::len), Some(1));
}

#[tokio::test]
async fn a_dial_string_is_refused_where_a_configured_dialect_cannot_dial_it() {
    let db = TestDatabase::new(&Backend::Sqlite).await;
    let url = db.url.as_str();
    let desk = ["add", "--name", "Пульт", "--target", "PJSIP/ops", "--languages", "kk"];
    let cases: [(&[(&str, &str)], &str); 3] = [
        (
            &[("IVR_TWILIO_AUTH_TOKEN", "t")],
            "the target: `PJSIP/ops` is an Asterisk dial string, which TwiML cannot dial",
        ),
        (&[("IVR_JAMBONZ_WEBHOOK_SECRET", "s")], "`PJSIP/ops` is an Asterisk dial string, which jambonz cannot dial"),
        (&[("IVR_AGI_LISTEN", "off")], "`PJSIP/ops` is an Asterisk dial string, but IVR_AGI_LISTEN is off"),
    ];
    for (env, message) in cases {
        let output = ivr_with(url, env, &desk);
        assert_eq!(output.status.code(), Some(1), "{env:?}: {}", text(&output));
        assert!(text(&output).contains(message), "{env:?} should say {message:?}: {}", text(&output));
    }
    succeeds(url, &["add", "--name", "Айгерим", "--target", "+77170000001", "--languages", "kk"]);
    let output = ivr_with(url, &[("IVR_TWILIO_AUTH_TOKEN", "t")], &["update", "1", "--target", "PJSIP/ops"]);
    assert_eq!(output.status.code(), Some(1), "{}", text(&output));
    let targets: Vec<String> = roster_json(url).as_array().unwrap().iter().map(|o| o["target"].to_string()).collect();
    assert_eq!(targets, ["\"+77170000001\""], "nothing refused was written");

    let on_asterisk = [("IVR_AGI_LISTEN", "127.0.0.1:4573"), ("IVR_ASTERISK_DIAL", "PJSIP/{}@kz-trunk")];
    let output = ivr_with(url, &on_asterisk, &desk);
    assert!(output.status.success(), "a FastAGI-only line keeps a dial string: {}", text(&output));
    assert_eq!(roster_json(url)[1]["target"], "PJSIP/ops");
}
