//! The operators' queue in the statistics (issue 26, item 6): a caller who waited and was
//! answered, one who hung up while waiting and one who went back to the main menu, as the call rows, the summary, the exports
//! and the per-operator count of calls answered show them, on both databases; and still
//! nothing that identifies a caller in what the statistics keep.

use ivr::reports::{CALLS_HEADER, DAILY_HEADER};
use ivr::stats::{CallRow, Store, Summarize, metric};
use serde_json::Value;

use crate::helpers::{Call, Options, TestApp};
use crate::stats::support::{Backend, around_today, eventually, new_call_sid, on_both_databases};

use super::roster_app;

on_both_databases!(a_wait_answered_and_a_wait_abandoned_are_counted_per_language_and_operator);

const KAZAKH: &str = "+77170000001";

/// A caller from `number` who chooses Kazakh and asks for an operator: a whole call, from
/// its start, with a call id of its own.
async fn asks<'a>(app: &'a TestApp, number: &str) -> Call<'a> {
    let mut call = app.call_from(number, &new_call_sid()).await;
    call.press("1").await.press("0").await;
    call
}

/// Lets the waiting caller's stretches of waiting pass until they are rung, 10 s at most.
async fn rung_after_waiting(call: &mut Call<'_>) {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while call.ringing().is_empty() {
        assert!(std::time::Instant::now() < deadline, "still waiting after 10 s");
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        call.wait().await;
    }
}

async fn a_wait_answered_and_a_wait_abandoned_are_counted_per_language_and_operator(backend: Backend) {
    let env = vec![("IVR_QUEUE_STRATEGY", "longest_free".to_owned()), ("IVR_WRAP_UP_SECONDS", "0".to_owned())];
    let roster = roster_app(&backend, Options { env, ..Options::default() }).await;
    roster.add("Айгерим", KAZAKH, "kk", true).await;
    let state = roster.app.state.clone().expect("the service's state");
    eventually("the roster is loaded", || async { state.roster.snapshot().operators.len() == 1 }).await;
    let app = &roster.app;

    let mut first = asks(app, "+77015550101").await;
    assert_eq!(first.ringing(), [KAZAKH], "a free operator is rung at once: no wait");
    first.whisper(0).await;
    let mut second = asks(app, "+77015550102").await;
    let mut third = asks(app, "+77015550103").await;
    assert!(second.ringing().is_empty() && third.ringing().is_empty(), "both wait");
    let mut fourth = asks(app, "+77015550104").await;
    fourth.press("5").await.press("2").await;
    assert_eq!(fourth.node(), "main", "the busy menu's 2: the main menu, which leaves the queue");
    fourth.hang_up("completed").await;
    third.hang_up("completed").await;
    first.dial_ends("completed").await.hang_up("completed").await;
    rung_after_waiting(&mut second).await;
    second.whisper(0).await;
    second.dial_ends("completed").await.hang_up("completed").await;
    app.stats.flush().await.expect("statistics are on");

    let rows = roster.store.calls(around_today()).await.expect("the calls");
    let waits: Vec<(Option<i32>, Option<&str>)> =
        rows.iter().map(|r: &CallRow| (r.queue_position, r.queue_outcome.as_deref())).collect();
    let expected = [(None, None), (Some(1), Some("answered")), (Some(2), Some("abandoned")), (Some(3), Some("left"))];
    for expected in expected {
        assert!(waits.contains(&expected), "{expected:?} in {waits:?}");
    }
    assert!(rows.iter().all(|r| r.queue_position.is_none() || r.queue_seconds.is_some_and(|s| s >= 0)));

    let range = around_today();
    eventually("both answers are counted for the operator", || async {
        let summary = roster.store.summary(range).await.expect("the summary");
        summary.answered_by_operator.get("Айгерим") == Some(&2)
    })
    .await;
    let summary = roster.store.summary(range).await.expect("the summary");
    let kk = &summary.queue["kk"];
    assert_eq!((kk.queued, kk.answered, kk.abandoned, kk.overflowed, kk.left), (3, 1, 1, 0, 1));
    assert_eq!(kk.positions.get("1").zip(kk.positions.get("3")), Some((&1, &1)));
    assert!(kk.avg_seconds.is_some() && kk.max_seconds.is_some(), "{kk:?}");
    assert_eq!(kk.avg_position, Some(2.0));
    assert_eq!(summary.queue["ru"].queued, 0);
    let today = summary.days.iter().map(|d| (d.queued, d.queue_answered, d.queue_abandoned)).max();
    assert_eq!(today, Some((3, 1, 1)), "per day");
    let totals = roster.store.total_rows(range).await.expect("the totals");
    let total = |m: &str, k: &str| totals.iter().filter(|t| t.metric == m && t.key == k).map(|t| t.value).sum::<i64>();
    assert_eq!((total(metric::QUEUE_CALLS, "kk"), total(metric::QUEUE_OUTCOME, "kk:answered")), (3, 1));

    let json = ivr::reports::export::summary_json(&summary, 1);
    assert_eq!(
        (&json["queue"]["kk"]["queued"], &json["answered_by_operator"]["Айгерим"]),
        (&Value::from(3), &2.into())
    );
    let daily = String::from_utf8(ivr::reports::export::daily_csv(&summary, 1).expect("daily.csv")).expect("text");
    let queued = DAILY_HEADER.iter().position(|c| *c == "queued").expect("a queued column");
    assert!(daily.lines().skip(1).any(|l| l.split(',').nth(queued) == Some("3")), "{daily}");
    let calls = String::from_utf8(ivr::reports::export::calls_csv(&rows).expect("calls.csv")).expect("text");
    let outcome = CALLS_HEADER.iter().position(|c| *c == "queue_outcome").expect("a queue_outcome column");
    assert!(calls.lines().any(|l| l.split(',').nth(outcome) == Some("abandoned")), "{calls}");

    let kept = serde_json::to_string(&rows).expect("rows as JSON") + &json.to_string() + &daily + &calls;
    for secret in ["77170000001", "7701555010"] {
        assert!(!kept.contains(secret), "`{secret}` in the statistics");
    }
}
