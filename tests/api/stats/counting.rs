//! Scripted calls counted exactly, in every dialect, with the same counts from a TwiML, a
//! jambonz and a FastAGI call on the same path; and a platform that delivers every webhook
//! twice, in both webhook dialects.

use ivr::softphone::{Dialect, WebhookDialect};
use ivr::stats::Summary;
use ivr::stats::{CallRow, Store};

use super::support::{Backend, TestDatabase, around_today, new_call_sid, on_both_databases};
use crate::helpers::{Options, TestApp, spawn_app_with};

on_both_databases!(scripted_calls_are_counted_exactly, every_webhook_delivered_twice_counts_once);

pub async fn spawn_on(db: &TestDatabase, env: &[(&'static str, &str)]) -> TestApp {
    spawn_on_in(db, env, Dialect::Twiml).await
}

/// The service on `db`, called in `dialect`.
pub async fn spawn_on_in(db: &TestDatabase, env: &[(&'static str, &str)], dialect: Dialect) -> TestApp {
    spawn_app_with(Options {
        dialect,
        database_url: Some(db.url.clone()),
        data_dir: Some(db.dir.path().join("data")),
        env: env.iter().map(|(name, value)| (*name, (*value).to_owned())).collect(),
        ..Options::default()
    })
    .await
}

/// Waits until everything recorded is in the database.
pub async fn flushed(app: &TestApp) {
    let report = app.stats.flush().await.expect("statistics are on");
    assert!(report.database_up && !report.spooled, "everything committed: {report:?}");
}

async fn scripted_calls_are_counted_exactly(backend: Backend) {
    let twiml = scripted_calls_counted_in(&backend, Dialect::Twiml).await;
    let same = |c: &CallRow| {
        (c.path.clone(), c.outcome.clone(), c.language.clone(), c.invalid_keys, c.timeouts, c.dial_results.clone())
    };
    for dialect in [Dialect::Jambonz, Dialect::Asterisk] {
        let other = scripted_calls_counted_in(&backend, dialect).await;
        assert_eq!(twiml.0, other.0, "the same totals from TwiML and {dialect:?} calls");
        let rows = |calls: &[CallRow]| calls.iter().map(same).collect::<Vec<_>>();
        assert_eq!(rows(&twiml.1), rows(&other.1), "{dialect:?}");
    }
}

/// Makes the scripted calls in `dialect` on a fresh database, checks the counts, and
/// returns the summary's counts (its averages of seconds zeroed: they measure the test's
/// own pace) and the per-call rows, sorted by path.
async fn scripted_calls_counted_in(backend: &Backend, dialect: Dialect) -> (Summary, Vec<CallRow>) {
    let db = TestDatabase::new(backend).await;
    let app = spawn_on_in(&db, &[], dialect).await;
    let sid = new_call_sid;
    // Kazakh, the safety plan (2 pressed during the welcome), hangs up 3 s into its first
    // part: the topic is not heard, the call is abandoned (the "again" call below hears one).
    app.call_from("+77010000001", &sid()).await.press("1").await.wait().await.press("2").await.hang_up_after(3).await;
    // Russian, the emergency key during the safety notice, the police answer.
    let mut police = app.call_from("+77010000002", &sid()).await;
    police.press("2").await.press("9").await.dial_ends("completed").await.hang_up("completed").await;
    // Kazakh, an operator answers.
    let mut operator = app.call_from("+77010000003", &sid()).await;
    operator.choose_language("1").await.press("0").await.dial_ends("completed").await.hang_up("completed").await;
    // Russian, operators busy, back to the menu, hangs up.
    let mut busy = app.call_from("+77010000004", &sid()).await;
    busy.choose_language("2").await.press("0").await.dial_ends("busy").await.press("2").await;
    busy.hang_up("completed").await;
    // Hangs up during the language choice.
    app.call_from("+77010000005", &sid()).await.hang_up("completed").await;
    // The first caller again: evidence, back to the main menu, a silence, a wrong key, both
    // parts of the evidence guidance (moving on from the first: the topic is heard).
    let mut again = app.call_from("+77010000001", &sid()).await;
    again.choose_language("1").await.press("3").await.press("2").await;
    again.wait().await.press("7").await.press("3").await.press("1").await;
    again.hang_up("completed").await;
    flushed(&app).await;

    let s = db.summary_around_today().await;
    assert_eq!(s.calls, 6, "{s:#?}");
    assert_eq!((s.languages["kk"], s.languages["ru"], s.languages["none"]), (3, 2, 1));
    let outcome = |o: &str| s.outcomes[o];
    assert_eq!(
        [
            outcome("self_service"),
            outcome("emergency"),
            outcome("operator"),
            outcome("failed_transfer"),
            outcome("abandoned")
        ],
        [1, 1, 1, 1, 2]
    );
    assert_eq!((s.topics.get("safety_plan"), s.topics.get("evidence"), s.topics.len()), (None, Some(&1), 1));
    assert_eq!((s.emergency_transfers, s.operator_transfers, s.operator_answered, s.abandoned), (1, 2, 1, 2));
    assert_eq!((s.invalid_keys, s.timeouts, s.repeat_callers), (1, 1, 1));
    assert_eq!(s.ended.get("completed"), Some(&6));
    let dials: Vec<(&str, i64)> = s.dial_results.iter().map(|(k, v)| (k.as_str(), *v)).collect();
    assert_eq!(dials, [("operator:busy", 1), ("operator:completed", 1), ("police:completed", 1)]);
    let exits = |node: &str| s.exit_nodes.get(node).copied().unwrap_or(0);
    assert_eq!(
        [exits("safety_plan_1"), exits("goodbye"), exits("main"), exits("language"), exits("evidence_2")],
        [1, 2, 1, 1, 1]
    );

    let calls = db.store().await.calls(around_today()).await.expect("calls");
    let path = |p: &str| calls.iter().find(|c| c.path == p).unwrap_or_else(|| panic!("no call {p}: {calls:#?}"));
    let police = path("language:2 safety_notice:9 police goodbye");
    assert_eq!((police.outcome.as_str(), police.dial_results.as_str()), ("emergency", "police:completed"));
    assert!(police.seconds_to_transfer.is_some_and(|s| s < 30), "{police:?}");
    let again = path("language:1 safety_notice welcome:3 evidence_1:2 main:- main:7 main:3 evidence_1:1 evidence_2");
    assert_eq!((again.invalid_keys, again.timeouts, again.repeat_caller), (1, 1, true));
    assert!(calls.iter().all(|c| c.started_at.is_some() && c.ended.as_deref() == Some("completed")));
    let mut calls = calls;
    calls.sort_by(|a, b| a.path.cmp(&b.path));
    let counts = Summary { avg_ivr_seconds: None, avg_seconds_to_transfer: None, avg_seconds_to_answer: None, ..s };
    (counts, calls)
}

async fn every_webhook_delivered_twice_counts_once(backend: Backend) {
    // A redelivery is a webhook's: a FastAGI command is answered once, on its connection.
    for dialect in WebhookDialect::ALL {
        delivered_twice_counts_once_in(&backend, dialect.into()).await;
    }
}

async fn delivered_twice_counts_once_in(backend: &Backend, dialect: Dialect) {
    let db = TestDatabase::new(backend).await;
    let app = spawn_on_in(&db, &[], dialect).await;
    let mut twice = app.call_from("+77010000011", &new_call_sid()).await;
    twice.redeliver().await;
    twice.press("1").await.redeliver().await.wait().await.redeliver().await;
    twice.press("7").await.redeliver().await.press("0").await.redeliver().await;
    twice.dial_ends("completed").await.redeliver().await.hang_up("completed").await.redeliver().await;
    let mut once = app.call_from("+77010000012", &new_call_sid()).await;
    once.choose_language("1").await.press("7").await.press("0").await.dial_ends("completed").await;
    // A status that is no end in either dialect's words is answered and records nothing.
    once.status_callback("ringing").await.status_callback("in-progress").await.hang_up("completed").await;
    // A status callback for a call this service never answered links to no answered call:
    // its row has no start (as a call whose first step is still to arrive), counted nowhere.
    app.resume("c=00000000000000ab&n=main&l=kk&f=0&t=0&s=0&q=3").await.hang_up("completed").await;
    flushed(&app).await;

    let s = db.summary_around_today().await;
    assert_eq!((s.calls, s.invalid_keys, s.operator_transfers, s.operator_answered, s.repeat_callers), (2, 2, 2, 2, 0));
    assert_eq!((s.dial_results.get("operator:completed"), s.ended.get("completed")), (Some(&2), Some(&2)));
    let calls = db.store().await.calls(around_today()).await.expect("calls");
    let (calls, unknown): (Vec<CallRow>, Vec<CallRow>) = calls.into_iter().partition(|c| c.started_at.is_some());
    assert_eq!(calls.len(), 2, "one row per answered call: {calls:#?}");
    assert!(unknown.iter().all(|c| c.path.is_empty()), "the unknown call is linked to nothing: {unknown:#?}");
    let same =
        |c: &CallRow| (c.path.clone(), c.outcome.clone(), c.invalid_keys, c.dial_results.clone(), c.ended.clone());
    assert_eq!(same(&calls[0]), same(&calls[1]), "twice delivered = once delivered");
}
