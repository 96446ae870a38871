//! Two instances on one database, as behind a load balancer that sends each webhook of a
//! call to either: the calls are counted once each, their ends and durations linked,
//! whichever instance answered each webhook, a restart in the middle of a call included
//! (issue 14), and the ends a restarted process hears first (issue 25). On PostgreSQL, the
//! deployment that runs several instances, and on SQLite with two instances on one file.

use ivr::softphone::{Caller, Event};
use ivr::stats::{CallRow, Store};

use super::counting::flushed;
use super::support::{Backend, TestDatabase, around_today, new_call_sid, on_both_databases};
use crate::helpers::{Options, TestApp, spawn_app_with};

on_both_databases!(
    alternate_webhooks_on_two_instances_link_every_call,
    seconds_are_counted_from_the_start_the_state_carries,
    a_restarted_process_links_the_first_ends_it_hears_to_their_calls
);

/// What the softphone's status callback says a call lasted (Twilio's `CallDuration`).
const CALL_DURATION: i32 = ivr::softphone::CALL_SECONDS as i32;

/// An instance on `db` with a data folder of its own.
async fn instance(db: &TestDatabase, name: &str) -> TestApp {
    spawn_app_with(options(db, name)).await
}

fn options(db: &TestDatabase, name: &str) -> Options {
    Options { database_url: Some(db.url.clone()), data_dir: Some(db.dir.path().join(name)), ..Options::default() }
}

async fn alternate_webhooks_on_two_instances_link_every_call(backend: Backend) {
    let db = TestDatabase::new(&backend).await;
    let a = instance(&db, "a").await;
    let b = instance(&db, "b").await;

    // Guidance: the incoming call on A, the language on B, the topic on A, the end on B
    // (the call lasted `CALL_DURATION` by its status callback: past the part, so the topic is heard).
    let mut call = a.call_from("+77010000011", &new_call_sid()).await.handed_to(&b);
    call.choose_language("1").await;
    let mut call = call.handed_to(&a);
    call.press("2").await;
    call.handed_to(&b).hang_up("completed").await;

    // The police: the incoming call redelivered to B, the emergency key on A, the dial's
    // end on B, the end on A.
    let mut call = a.call_from("+77010000012", &new_call_sid()).await.handed_to(&b);
    call.redeliver().await;
    let mut call = call.handed_to(&a);
    call.press("2").await.press("9").await;
    let mut call = call.handed_to(&b);
    call.dial_ends("completed").await;
    call.handed_to(&a).hang_up("completed").await;

    // The same number again, on B this time: a repeat caller seen by the other instance.
    b.call_from("+77010000011", &new_call_sid()).await.handed_to(&a).hang_up("completed").await;

    // A restart in the middle of a call: A stops after the incoming call, comes back, and
    // takes the rest of it.
    let call = a.call_from("+77010000013", &new_call_sid()).await.handed_to(&b);
    flushed(&a).await;
    a.stop().await;
    let a = instance(&db, "a").await;
    let mut call = call.handed_to(&a);
    call.choose_language("2").await;
    call.hang_up("completed").await;

    flushed(&a).await;
    flushed(&b).await;
    let calls = db.store().await.calls(around_today()).await.expect("calls");
    assert_eq!(calls.len(), 4, "one row per call, the redelivery counted once: {calls:#?}");
    assert!(calls.iter().all(linked), "every call's start, end and duration are linked: {calls:#?}");
    let find = |what: &str, found: fn(&CallRow) -> bool| {
        let matching: Vec<&CallRow> = calls.iter().filter(|c| found(c)).collect();
        assert_eq!(matching.len(), 1, "one {what} call: {calls:#?}");
        matching[0]
    };
    let guidance = find("guidance", |c| c.language.as_deref() == Some("kk"));
    assert_eq!((guidance.outcome.as_str(), guidance.ivr_seconds), ("self_service", Some(CALL_DURATION)));
    let police = find("police", |c| c.outcome == "emergency");
    assert_eq!((police.language.as_deref(), police.dial_results.as_str()), (Some("ru"), "police:completed"));
    assert!(police.seconds_to_transfer.is_some_and(|s| s < 30), "timed from the start the state carries: {police:?}");
    let again = find("repeat", |c| c.language.is_none());
    assert!(again.repeat_caller, "the second call of a number is a repeat, on either instance: {again:?}");
    assert_eq!(calls.iter().filter(|c| c.repeat_caller).count(), 1);
    let restarted = find("restarted", |c| c.language.as_deref() == Some("ru") && c.outcome != "emergency");
    assert_eq!((restarted.outcome.as_str(), restarted.ivr_seconds), ("abandoned", Some(CALL_DURATION)));

    let s = db.summary_around_today().await;
    assert_eq!((s.calls, s.emergency_transfers, s.repeat_callers), (4, 1, 1), "{s:#?}");
    assert_eq!(s.ended.get("completed"), Some(&4), "{s:#?}");
    a.stop().await;
    b.stop().await;
}

/// Calls started on a process that stops, whose status callbacks reach the next process as
/// soon as it serves (they waited in the socket's queue): each end is keyed by the day's
/// shared key, so it links to its call, whatever the next process has read by then.
async fn a_restarted_process_links_the_first_ends_it_hears_to_their_calls(backend: Backend) {
    const CALLS: usize = 10;
    let db = TestDatabase::new(&backend).await;
    let callers: Vec<Caller> =
        (0..CALLS).map(|n| Caller { number: format!("+770100002{n:02}"), call_sid: new_call_sid() }).collect();
    let first = instance(&db, "a").await;
    for caller in &callers {
        first.call_from(&caller.number, &caller.call_sid).await.choose_language("2").await;
    }
    flushed(&first).await;
    first.stop().await;

    // The next process on the same database and data folder, with nothing waited for here.
    let next = Options { wait_for_keys: false, ..options(&db, "a") };
    let next = spawn_app_with(next).await;
    let status_url = next.hooks().status_url(&next.public_url);
    for caller in &callers {
        let posted = next.send(&next.webhook(&status_url, caller, Event::Status("completed"))).await;
        assert!(matches!(posted.status, 200 | 204), "status callback answered {}", posted.status);
    }
    flushed(&next).await;
    let calls = db.store().await.calls(around_today()).await.expect("calls");
    let ends_alone = calls.iter().filter(|call| call.started_at.is_none()).count();
    assert_eq!(ends_alone, 0, "{ends_alone} of {CALLS} ends made a row of their own, not linked: {calls:#?}");
    assert_eq!(calls.len(), CALLS, "one row per call");
    assert!(calls.iter().all(linked), "every call's start, end and duration are linked: {calls:#?}");
    next.stop().await;
}

/// An instance that never saw a call start times its steps from the start second in the
/// call's URLs: a call that started 100 s ago (by its state) and goes to the police now.
async fn seconds_are_counted_from_the_start_the_state_carries(backend: Backend) {
    let db = TestDatabase::new(&backend).await;
    let app = instance(&db, "a").await;
    let started = chrono::Utc::now().timestamp() - 100;
    let mut call = app.resume(&format!("c=00000000000000cd&n=main&l=ru&f=0&t=0&s=0&q=5&b={started}")).await;
    call.press("9").await;
    flushed(&app).await;
    let calls = db.store().await.calls(around_today()).await.expect("calls");
    let police = calls.iter().find(|c| c.emergency_transfers == 1).expect("the police call's row");
    assert!(police.seconds_to_transfer.is_some_and(|s| (100..110).contains(&s)), "{police:?}");
    assert_eq!(police.ivr_seconds, police.seconds_to_transfer, "in the menus until the transfer");
    app.stop().await;
}

/// The call's first step, its end status and a duration reached its row.
fn linked(call: &CallRow) -> bool {
    call.started_at.is_some() && call.ended.as_deref() == Some("completed") && call.ivr_seconds.is_some()
}
