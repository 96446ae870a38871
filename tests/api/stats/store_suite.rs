//! The store suite: generic functions over [`Store`], run on [`Sqlite`] and
//! [`Postgres`] alike, with records made by walking the bundled flow.
//!
//! [`Sqlite`]: ivr::db::Sqlite
//! [`Postgres`]: ivr::db::Postgres

use chrono::{NaiveDate, TimeDelta};
use ivr::call::CallEnd;
use ivr::db::Db;
use ivr::flow::{CallId, DialOutcome, Digit, Flow, Input, step};
use ivr::stats::demo::{self, DemoPlan};
use ivr::stats::{CallRow, DailyTotals, DateRange, Record, Store, TotalRow, UNTIMED, call_key};
use ivr::stats::{Summarize, Summary};
use sqlx::Connection;

use super::support::{Backend, TestDatabase, on_both_databases, today};

on_both_databases!(
    counts_match_the_calls_exactly,
    a_record_stored_twice_counts_once,
    records_in_any_order_make_the_same_row,
    concurrent_writers_keep_the_totals_exact,
    retention_deletes_raw_rows_and_keeps_the_totals,
    synthetic_calls_are_marked_and_counted_apart,
    a_range_reads_only_its_own_days,
);

/// Runs a generic check on the concrete store of `backend`.
macro_rules! with_store {
    ($backend:expr, $check:ident) => {{
        let db = TestDatabase::new(&$backend).await;
        match db.store().await {
            Db::Sqlite(store) => $check(&store).await,
            Db::Postgres(store) => $check(&store).await,
        }
    }};
}

fn flow() -> Flow {
    Flow::load(&std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("flows/hotline.toml")).expect("bundled flow")
}

fn key(k: &str) -> Input {
    Input::Key(Digit::parse(k).expect("a keypad key"))
}

/// The records of a call that starts at 10:00 UTC on `day` and takes `inputs`, ten
/// seconds apart, then ends as its platform says: `ended`.
fn walk(flow: &Flow, call: u64, day: NaiveDate, inputs: &[Input], ended: Option<CallEnd>) -> Vec<Record> {
    let start = day.and_hms_opt(10, 0, 0).expect("a time").and_utc();
    let mut current = flow.begin(CallId(call));
    let mut records = vec![Record::of_step(flow, &current, start, Some(0), UNTIMED)];
    for (i, input) in (1..).zip(inputs) {
        current = step(flow, current.next, *input);
        let at = start + TimeDelta::seconds(10 * i64::from(i));
        records.push(Record::of_step(flow, &current, at, Some(10 * i), UNTIMED));
    }
    let elapsed = 10 * (inputs.len() as i32 + 1);
    records.extend(ended.map(|end| Record::ended(CallId(call), end, start, Some(elapsed))));
    records
}

/// Three calls: Kazakh safety plan; Russian, straight to the police; hung up at once.
fn three_calls(flow: &Flow, day: NaiveDate) -> Vec<Record> {
    let mut records = walk(flow, 1, day, &[key("1"), Input::NoInput, key("2")], Some(CallEnd::Completed));
    let police = [key("2"), key("9"), Input::Dial(DialOutcome::Completed)];
    records.extend(walk(flow, 2, day, &police, Some(CallEnd::Completed)));
    records.extend(walk(flow, 3, day, &[], Some(CallEnd::Canceled)));
    records
}

async fn counts_match_the_calls_exactly(backend: Backend) {
    with_store!(backend, check_counts)
}

async fn check_counts(store: &impl Store) {
    let flow = flow();
    let records = three_calls(&flow, today());
    let written = store.write(&records).await.expect("written");
    assert_eq!((written.new, written.duplicates), (records.len(), 0));
    let s = store.summary(DateRange::new(today(), today()).unwrap()).await.expect("summary");
    assert_eq!(s.calls, 3);
    assert_eq!((s.languages["kk"], s.languages["ru"], s.languages["none"]), (1, 1, 1));
    assert_eq!((s.outcomes["self_service"], s.outcomes["emergency"], s.outcomes["abandoned"]), (1, 1, 1));
    assert_eq!((s.outcomes["operator"], s.outcomes["failed_transfer"]), (0, 0));
    assert_eq!(s.topics.get("safety_plan"), Some(&1));
    assert_eq!((s.emergency_transfers, s.operator_transfers, s.abandoned), (1, 0, 1));
    assert_eq!(s.dial_results.get("police:completed"), Some(&1));
    assert_eq!((s.ended.get("completed"), s.ended.get("canceled")), (Some(&2), Some(&1)));
    assert_eq!(s.weekday_hours.iter().map(|day| day[10]).sum::<i64>(), 3, "all started at 10 UTC");
    assert_eq!((s.avg_ivr_seconds, s.avg_seconds_to_transfer), (Some(23.3), Some(20.0)), "(40 + 20 + 10) / 3 and 20");
    let calls = store.calls(DateRange::new(today(), today()).unwrap()).await.expect("calls");
    let first = calls.iter().find(|c| c.call_id == 1).expect("call 1");
    assert_eq!(first.path, "language:1 safety_notice welcome:2 safety_plan_1");
    assert_eq!((first.exit_node.as_deref(), first.topics.as_str()), (Some("safety_plan_1"), "safety_plan"));
    let police = calls.iter().find(|c| c.call_id == 2).expect("call 2");
    assert_eq!((police.seconds_to_transfer, police.dial_results.as_str()), (Some(20), "police:completed"));
}

async fn a_record_stored_twice_counts_once(backend: Backend) {
    with_store!(backend, check_duplicates)
}

async fn check_duplicates(store: &impl Store) {
    let records = three_calls(&flow(), today());
    store.write(&records).await.expect("written");
    let before = (store.summary(DateRange::new(today(), today()).unwrap()).await.unwrap(), all_calls(store).await);
    let again = store.write(&records).await.expect("written again");
    assert_eq!((again.new, again.duplicates), (0, records.len()));
    let doubled: Vec<Record> = records.iter().chain(&records).cloned().collect();
    let within = store.write(&doubled).await.expect("a batch with its own duplicates");
    assert_eq!(within.new, 0);
    let after = (store.summary(DateRange::new(today(), today()).unwrap()).await.unwrap(), all_calls(store).await);
    assert_eq!(before, after);
}

async fn records_in_any_order_make_the_same_row(backend: Backend) {
    with_store!(backend, check_order)
}

async fn check_order(store: &impl Store) {
    let flow = flow();
    let inputs = [key("1"), key("3"), key("7"), Input::NoInput, Input::Dial(DialOutcome::Busy)];
    let in_order = walk(&flow, 10, today(), &inputs, Some(CallEnd::Completed));
    let reversed = walk(&flow, 11, today(), &inputs, Some(CallEnd::Completed));
    let one_by_one = walk(&flow, 12, today(), &inputs, Some(CallEnd::Completed));
    store.write(&in_order).await.unwrap();
    for record in reversed.iter().rev().chain(&one_by_one) {
        store.write(std::slice::from_ref(record)).await.unwrap();
    }
    let calls = all_calls(store).await;
    for other in &calls[1..] {
        assert_eq!(CallRow { call_id: other.call_id, ..calls[0].clone() }, *other, "the same row whatever the order");
    }
    assert_eq!(calls[0].outcome, "failed_transfer");
    let summary = store.summary(DateRange::new(today(), today()).unwrap()).await.unwrap();
    let counts = (summary.calls, summary.outcomes["failed_transfer"], summary.timeouts, summary.invalid_keys);
    assert_eq!(counts, (3, 3, 3, 3));
    let exits = &summary.exit_nodes;
    assert_eq!((exits.get("operators_busy"), exits.len()), (Some(&3), 1), "only where calls ended: {exits:?}");
}

async fn concurrent_writers_keep_the_totals_exact(backend: Backend) {
    with_store!(backend, check_concurrency)
}

async fn check_concurrency<S: Store>(store: &S) {
    let flow = flow();
    let scripts: [&[Input]; 4] = [
        &[key("1"), key("2"), key("2"), key("5")],
        &[key("2"), key("9"), Input::Dial(DialOutcome::NoAnswer), key("0"), Input::Dial(DialOutcome::Completed)],
        &[key("1"), Input::NoInput, Input::NoInput, Input::NoInput, Input::NoInput],
        &[],
    ];
    let mut records = Vec::new();
    for call in 0..40u64 {
        records.extend(walk(&flow, 100 + call, today(), scripts[call as usize % 4], Some(CallEnd::Completed)));
    }
    // Four writers, each taking every fourth record: the steps of one call race each other.
    let shares: Vec<Vec<Record>> = (0..4).map(|w| records.iter().skip(w).step_by(4).cloned().collect()).collect();
    let writers = shares.iter().map(|share| async move {
        for batch in share.chunks(7) {
            store.write(batch).await.expect("a concurrent write");
        }
    });
    futures_join_all(writers).await;
    let expected = expected_summary(&records);
    let stored = store.summary(DateRange::new(today(), today()).unwrap()).await.unwrap();
    assert_eq!(stored, expected);
    assert_eq!(stored.calls, 40);
}

async fn retention_deletes_raw_rows_and_keeps_the_totals(backend: Backend) {
    with_store!(backend, check_retention)
}

async fn check_retention(store: &impl Store) {
    let flow = flow();
    let old_day = today() - TimeDelta::days(400);
    let recent_day = today() - TimeDelta::days(10);
    store.write(&walk(&flow, 1, old_day, &[key("1"), key("2")], Some(CallEnd::Completed))).await.unwrap();
    store.write(&walk(&flow, 2, recent_day, &[key("2"), key("9")], None)).await.unwrap();
    let everything = DateRange::new(old_day, today()).unwrap();
    let before = store.summary(everything).await.unwrap();
    let purged = ivr::stats::retention::purge(store, today(), 365).await.expect("purged");
    assert_eq!(purged.calls, 1);
    assert!(purged.steps >= 3, "{purged:?}");
    let left: Vec<i64> = store.calls(everything).await.unwrap().iter().map(|c| c.call_id).collect();
    assert_eq!(left, [2], "only the recent call keeps its raw row");
    assert_eq!(store.summary(everything).await.unwrap(), before, "aggregates stay");
    assert_eq!(before.calls, 2);
}

async fn synthetic_calls_are_marked_and_counted_apart(backend: Backend) {
    with_store!(backend, check_synthetic)
}

async fn check_synthetic(store: &impl Store) {
    let plan = DemoPlan { calls: 3000, days: 30, last_day: today() - TimeDelta::days(1), seed: 7 };
    let (calls, totals) = demo::generate(&flow(), &plan);
    store.load_synthetic(&calls, &totals).await.expect("loaded");
    assert_eq!(store.real_calls().await.unwrap(), 0);
    let month = DateRange::new(today() - TimeDelta::days(30), today()).unwrap();
    let summary = store.summary(month).await.unwrap();
    assert!(
        summary.operator_answered > 0 && summary.avg_seconds_to_answer.is_some_and(|s| s > 0.0),
        "answered transfers are timed"
    );
    assert_eq!((summary.calls, summary.synthetic_calls), (3000, 3000));
    assert!(summary.outcomes.values().all(|n| *n > 0), "every outcome occurs: {:?}", summary.outcomes);
    assert_eq!(summary.languages.values().sum::<i64>(), 3000);
    assert!(store.calls(month).await.unwrap().iter().all(|c| c.synthetic));
    store.write(&walk(&flow(), 1, today(), &[key("1")], None)).await.unwrap();
    assert_eq!(store.real_calls().await.unwrap(), 1);
}

async fn a_range_reads_only_its_own_days(backend: Backend) {
    with_store!(backend, check_range)
}

async fn check_range(store: &impl Store) {
    let flow = flow();
    let (monday, tuesday) =
        (NaiveDate::from_ymd_opt(2026, 3, 2).unwrap(), NaiveDate::from_ymd_opt(2026, 3, 3).unwrap());
    store.write(&walk(&flow, 1, monday, &[key("1")], None)).await.unwrap();
    store.write(&walk(&flow, 2, tuesday, &[key("2")], None)).await.unwrap();
    store.write(&walk(&flow, 3, tuesday, &[key("2")], None)).await.unwrap();
    let only_tuesday = store.summary(DateRange::new(tuesday, tuesday).unwrap()).await.unwrap();
    assert_eq!((only_tuesday.calls, only_tuesday.languages["ru"], only_tuesday.days.len()), (2, 2, 1));
    let week = store.summary(DateRange::new(monday, monday + TimeDelta::days(6)).unwrap()).await.unwrap();
    let per_day: Vec<i64> = week.days.iter().map(|d| d.calls).collect();
    assert_eq!(per_day, [1, 2, 0, 0, 0, 0, 0], "one row per day, empty days included");
    assert_eq!((week.weekday_hours[0][10], week.weekday_hours[1][10]), (1, 2));
}

/// The summary the records must add up to, folded in memory.
fn expected_summary(records: &[Record]) -> Summary {
    let mut totals = DailyTotals::default();
    let mut calls: Vec<i64> = records.iter().map(|r| r.call).collect();
    calls.dedup();
    for call in calls {
        let mine: Vec<&Record> = records.iter().filter(|r| r.call == call).collect();
        totals.add_call(&CallRow::fold(call, &mine), 1);
    }
    let rows: Vec<TotalRow> = totals
        .rows()
        .map(|(day, metric, key, value)| TotalRow { day, metric: metric.into(), key: key.into(), value })
        .collect();
    Summary::from_rows(DateRange::new(today(), today()).unwrap(), &rows)
}

async fn all_calls(store: &impl Store) -> Vec<CallRow> {
    let mut calls = store.calls(DateRange::new(today() - TimeDelta::days(500), today()).unwrap()).await.unwrap();
    calls.sort_by_key(|c| c.call_id);
    calls
}

/// Runs futures at once on this task (no extra crate for `join_all`).
async fn futures_join_all<F: Future<Output = ()>>(futures: impl Iterator<Item = F>) {
    let mut set: Vec<std::pin::Pin<Box<F>>> = futures.map(Box::pin).collect();
    std::future::poll_fn(|cx| {
        set.retain_mut(|f| f.as_mut().poll(cx).is_pending());
        if set.is_empty() { std::task::Poll::Ready(()) } else { std::task::Poll::Pending }
    })
    .await
}

#[test]
fn call_ids_are_stored_as_the_same_64_bits() {
    assert_eq!(call_key(CallId(u64::MAX)), -1);
    assert_eq!(ivr::stats::call_label(call_key(CallId(0xabc))), "0000000000000abc");
}

/// The migration that keeps rows in arrival order (20261206000000) on a database written in
/// the layout before it: every row is kept, and records that arrive afterwards for the old
/// calls refold them with what was stored before, exactly as on a database that always had
/// the new layout.
#[tokio::test]
async fn an_upgraded_sqlite_database_keeps_its_rows_and_links_later_records() {
    let flow = flow();
    let police = [key("2"), key("9"), Input::Dial(DialOutcome::Busy), key("0"), Input::Dial(DialOutcome::Completed)];
    let mut records = three_calls(&flow, today());
    records.extend(walk(&flow, 4, today(), &police, Some(CallEnd::Completed)));
    // Every call's last records (the police dial's end, how the call ended...) come later.
    let (before, after): (Vec<Record>, Vec<Record>) = records.iter().cloned().partition(|r| r.seq < 3);
    assert!(!before.is_empty() && !after.is_empty());

    let reference = TestDatabase::new(&Backend::Sqlite).await;
    let reference_store = reference.store().await;
    reference_store.write(&before).await.unwrap();
    reference_store.close().await;

    // The same rows, in a file migrated only up to the layout before.
    let upgraded = TestDatabase::new(&Backend::Sqlite).await;
    let file = upgraded.sqlite_file.as_ref().unwrap();
    let earlier = tempfile::tempdir().unwrap();
    let all = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("migrations/sqlite");
    for entry in std::fs::read_dir(&all).unwrap().map(Result::unwrap) {
        if entry.file_name().to_string_lossy().as_ref() < "20261206000000" {
            std::fs::copy(entry.path(), earlier.path().join(entry.file_name())).unwrap();
        }
    }
    let options = sqlx::sqlite::SqliteConnectOptions::new().filename(file).create_if_missing(true);
    let mut old = sqlx::SqliteConnection::connect_with(&options).await.unwrap();
    sqlx::migrate::Migrator::new(earlier.path()).await.unwrap().run(&mut old).await.unwrap();
    let copy = ["call_steps", "calls", "daily_totals"]
        .map(|table| format!("INSERT INTO {table} SELECT {} FROM reference.{table}", columns(table)));
    let attach = format!("ATTACH DATABASE '{}' AS reference", reference.sqlite_file.as_ref().unwrap().display());
    for sql in std::iter::once(attach).chain(copy) {
        sqlx::query(sqlx::AssertSqlSafe(sql)).execute(&mut old).await.unwrap();
    }
    old.close().await.unwrap();

    let upgraded_store = upgraded.store().await;
    upgraded_store.write(&after).await.unwrap();
    let fresh = TestDatabase::new(&Backend::Sqlite).await;
    let fresh_store = fresh.store().await;
    fresh_store.write(&records).await.unwrap();

    let range = DateRange::new(today(), today()).unwrap();
    assert_eq!(all_calls(&upgraded_store).await, all_calls(&fresh_store).await, "the same calls");
    assert_eq!(upgraded_store.summary(range).await.unwrap(), fresh_store.summary(range).await.unwrap());
    assert_eq!(upgraded_store.summary(range).await.unwrap().calls, 4);
    let again = upgraded_store.write(&records).await.unwrap();
    assert_eq!((again.new, again.duplicates), (0, records.len()), "every record is known once, old or new");
}

/// The columns of `table` in the layout before 20261206000000 (it added `id`).
fn columns(table: &str) -> &'static str {
    match table {
        "call_steps" => "call_id, seq, day, started_at, elapsed, events",
        "calls" => {
            "call_id, day, started_at, synthetic, language, topics, path, exit_node, outcome, invalid_keys, \
             timeouts, emergency_transfers, operator_transfers, operator_answered, dial_results, ivr_seconds, \
             seconds_to_transfer, ended, repeat_caller, operators_rung, operator_rounds, seconds_to_answer"
        }
        _ => "day, metric, key, value",
    }
}
