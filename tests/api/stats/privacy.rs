//! No caller identifier anywhere the statistics go: the database, the spool, the logs.
//! Calls are made with distinctive numbers and CallSids, through every webhook and over
//! FastAGI (with every identifying field of Asterisk's environment), with the database
//! first down (so the spool is written) and then up; then every byte is searched.

use ivr::softphone::asterisk::{AgiCall, Channel, environment};

use super::counting::{flushed, spawn_on};
use super::support::{Backend, TestDatabase, contains, new_call_sid, on_both_databases};
use crate::helpers::{TestApp, captured_json_logs, captured_logs};

on_both_databases!(no_number_call_sid_or_location_is_stored_spooled_or_logged);

const NUMBERS: [&str; 3] = ["+77019990101", "+77019990202", "+77019990303"];

/// Everything the provider sent that identifies a caller (see `helpers::caller_fields`).
fn secrets(call_sids: &[String]) -> Vec<String> {
    let mut secrets: Vec<String> = NUMBERS.iter().map(|n| (*n).to_owned()).collect();
    secrets.extend(NUMBERS.iter().map(|n| n.trim_start_matches('+').to_owned()));
    secrets.extend(call_sids.iter().cloned());
    secrets.extend(call_sids.iter().flat_map(|sid| {
        let channel = channel(NUMBERS[0], sid);
        [channel.uniqueid, channel.name, channel.name_shown, channel.dnid, channel.rdnis]
    }));
    secrets.extend(["AC0123456789abcdef0123456789abcdef", "ALMATY", "050000", "+7111", "127.0.0.1"].map(String::from));
    secrets
}

/// The Asterisk channel of a caller: every `agi_*` field that identifies them, distinct.
fn channel(number: &str, call_sid: &str) -> Channel {
    let digits: String = call_sid.chars().filter(char::is_ascii_digit).take(9).collect();
    Channel {
        name_shown: format!("Caller Name {digits}"),
        dnid: format!("7111{digits}"),
        rdnis: format!("+7702{digits}"),
        ..Channel::new(number, &format!("1765{digits}.{}", digits.len()))
    }
}

/// The same caller over FastAGI: the same keys, hanging up at the end.
async fn calls_over_agi(app: &TestApp, number: &str, call_sid: &str) {
    let stream = tokio::net::TcpStream::connect(app.agi.expect("FastAGI listens")).await.expect("connects");
    let mut call = AgiCall::start(stream, &environment(&channel(number, call_sid), None)).await.expect("a call");
    call.press('1').await.unwrap().press('2').await.unwrap().press('9').await.unwrap();
    call.dial_ends("NOANSWER", 0).await.unwrap().press('0').await.unwrap().dial_ends("ANSWER", 30).await.unwrap();
    call.hang_up().await.unwrap();
}

fn assert_none_in(place: &str, bytes: &[u8], secrets: &[String]) {
    for secret in secrets {
        assert!(!contains(bytes, secret), "`{secret}` found in {place}");
    }
}

async fn calls(app: &TestApp, number: &str, call_sid: &str) {
    let mut call = app.call_from(number, call_sid).await;
    call.redeliver().await.choose_language("1").await.press("2").await.redeliver().await;
    call.press("9").await.dial_ends("no-answer").await.press("0").await.dial_ends("completed").await;
    call.hang_up("completed").await.redeliver().await;
}

/// Whether `secret` is in the logs. A secret made of digits (a zip code) counts only as a
/// whole number: the logs of every test in this binary are captured at TRACE, and a timing
/// such as `elapsed=1.050000ms` holds the digits of `050000` without holding a zip code.
fn leaked_in_logs(logs: &str, secret: &str) -> bool {
    if !secret.bytes().all(|b| b.is_ascii_digit()) {
        return logs.contains(secret);
    }
    logs.match_indices(secret).any(|(at, _)| {
        let before = logs[..at].chars().next_back();
        let after = logs[at + secret.len()..].chars().next();
        !before.is_some_and(|c| c.is_ascii_digit() || c == '.') && !after.is_some_and(|c| c.is_ascii_digit())
    })
}

fn spool_bytes(app: &TestApp) -> Vec<u8> {
    let entries = std::fs::read_dir(app.data_dir.join("spool")).expect("a spool folder");
    entries.flatten().flat_map(|e| std::fs::read(e.path()).unwrap_or_default()).collect()
}

async fn no_number_call_sid_or_location_is_stored_spooled_or_logged(backend: Backend) {
    let sids: Vec<String> = NUMBERS.iter().map(|_| new_call_sid()).collect();
    let secrets = secrets(&sids);
    let db = TestDatabase::unreachable(&backend);
    let app = spawn_on(&db, &[]).await;
    calls(&app, NUMBERS[0], &sids[0]).await;
    calls(&app, NUMBERS[1], &sids[1]).await;
    calls_over_agi(&app, NUMBERS[0], &sids[0]).await;
    let report = app.stats.flush().await.expect("statistics on");
    assert!(report.spooled, "{report:?}");
    let spooled = spool_bytes(&app);
    assert!(contains(&spooled, "safety_plan"), "the spool holds the calls' events");
    assert_none_in("the spool", &spooled, &secrets);

    db.bring_up().await;
    calls(&app, NUMBERS[2], &sids[2]).await;
    calls_over_agi(&app, NUMBERS[2], &sids[2]).await;
    flushed(&app).await;
    app.stop().await;
    let stored = db.contents().await;
    assert!(contains(&stored, "safety_plan"), "the database holds the calls");
    assert_eq!(db.summary_around_today().await.calls, 5);
    assert_none_in("the database", &stored, &secrets);
    for (format, logs) in [("text", captured_logs()), ("JSON", captured_json_logs())] {
        assert!(logs.contains("call started"), "the {format} logs were captured");
        for secret in &secrets[..secrets.len() - 1] {
            assert!(!leaked_in_logs(&logs, secret), "`{secret}` found in the {format} logs");
        }
    }
}
