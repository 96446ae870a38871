//! Retention through the running service: the writer deletes raw rows older than
//! `IVR_RETENTION_DAYS` when it connects, and the daily aggregates stay.

use chrono::TimeDelta;
use ivr::flow::{CallId, Digit, Input, step};
use ivr::stats::Summarize;
use ivr::stats::{DateRange, Record, Store, UNTIMED};

use super::counting::{flushed, spawn_on};
use super::support::{Backend, TestDatabase, eventually, on_both_databases, today};

on_both_databases!(raw_rows_past_retention_are_deleted_and_totals_stay);

/// A call that chose Kazakh `days_ago` days ago.
fn old_call(flow: &ivr::flow::Flow, id: u64, days_ago: i64) -> Vec<Record> {
    let at = (today() - TimeDelta::days(days_ago)).and_hms_opt(9, 30, 0).expect("a time").and_utc();
    let begun = flow.begin(CallId(id));
    let chose = step(flow, begun.next, Input::Key(Digit::parse("1").expect("a key")));
    vec![Record::of_step(flow, &begun, at, Some(0), UNTIMED), Record::of_step(flow, &chose, at, Some(5), UNTIMED)]
}

async fn raw_rows_past_retention_are_deleted_and_totals_stay(backend: Backend) {
    let db = TestDatabase::new(&backend).await;
    let store = db.store().await;
    let flow = ivr::flow::Flow::load(&std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("flows/hotline.toml"))
        .expect("bundled flow");
    store.write(&[old_call(&flow, 1, 45), old_call(&flow, 2, 20)].concat()).await.expect("seeded");
    let two_months = DateRange::new(today() - TimeDelta::days(60), today()).expect("a range");
    let before = store.summary(two_months).await.expect("summary");
    assert_eq!(before.calls, 2);

    let app = spawn_on(&db, &[("IVR_RETENTION_DAYS", "30")]).await;
    flushed(&app).await;
    let ids = || async { store.calls(two_months).await.expect("calls").iter().map(|c| c.call_id).collect::<Vec<_>>() };
    eventually("the purge at connection deletes the 45-day-old call", || async { ids().await == [2] }).await;
    assert_eq!(store.summary(two_months).await.expect("summary"), before, "the aggregates stay");
    // A record of a purged day, replayed late, must not come back as a row.
    app.stats.send_waiting(old_call(&flow, 3, 45).remove(0)).await;
    flushed(&app).await;
    assert_eq!(store.calls(two_months).await.expect("calls").len(), 1);
}
