//! Nothing lost, nothing counted twice, no caller held: the database down at start-up, a
//! restart with a full spool, a shutdown with records still in the writer's hands, a
//! database that blocks every write, and the promise that a record the database has not
//! committed is in the spool within 200 ms of being answered.

use std::path::Path;
use std::time::{Duration, Instant};

use ivr::softphone::Reply;
use sqlx::Connection;

use super::counting::{flushed, spawn_on};
use super::support::{Backend, TestDatabase, new_call_sid, on_both_databases};
use crate::helpers::{TestApp, captured_logs};

on_both_databases!(
    calls_made_while_the_database_is_down_are_stored_once_when_it_is_back,
    the_spool_survives_a_restart,
    shutdown_drains_every_record,
    the_call_path_is_the_same_without_a_database,
    a_blocked_database_spools_and_never_holds_a_caller,
    an_answered_record_the_database_does_not_take_is_spooled_within_200_ms,
    a_shutdown_with_a_stalled_database_and_a_backlog_ends_within_the_drain_period,
    a_write_that_commits_late_is_set_aside_meanwhile_not_abandoned,
);

mod sqlite_only {
    #[tokio::test]
    async fn writability_is_told_by_a_write_not_a_read() {
        super::writability_is_told_by_a_write_not_a_read().await
    }

    #[tokio::test]
    async fn an_overflow_episode_is_one_warning_and_a_count() {
        super::an_overflow_episode_is_one_warning_and_a_count().await
    }
}

/// Three calls, one of them to the police; returns what the provider was told at each step.
async fn three_calls(app: &TestApp) -> Vec<String> {
    let mut replies = Vec::new();
    let mut call = app.call_from("+77012220001", &new_call_sid()).await;
    replies.push(normalized(&call.reply));
    call.press("1").await;
    replies.push(normalized(&call.reply));
    call.press("9").await;
    assert_eq!(call.ringing(), ["102"], "the emergency transfer works");
    replies.push(normalized(&call.reply));
    call.dial_ends("busy").await;
    replies.push(normalized(&call.reply));
    call.press("0").await.hang_up("completed").await;
    replies.push(normalized(&call.reply));
    let mut call = app.call_from("+77012220002", &new_call_sid()).await;
    // The police topic, its part heard to the end (the status callback says 42 s).
    call.choose_language("2").await.press("4").await.hang_up("completed").await;
    replies.push(normalized(&call.reply));
    app.call_from("+77012220003", &new_call_sid()).await.hang_up("completed").await;
    replies
}

/// A reply with the call id (a keyed hash that differs per process) blanked out.
fn normalized(reply: &Reply) -> String {
    let text = format!("{reply:?}");
    let mut out = String::with_capacity(text.len());
    let mut rest = text.as_str();
    while let Some(at) = rest.find("c=") {
        out.push_str(&rest[..at + 2]);
        rest = &rest[at + 2..];
        let id_len = rest.bytes().take_while(u8::is_ascii_hexdigit).count();
        out.push_str("<call>");
        rest = &rest[id_len..];
    }
    out + rest
}

fn spool_files(data_dir: &Path) -> Vec<std::path::PathBuf> {
    std::fs::read_dir(data_dir.join("spool"))
        .map(|entries| {
            entries.flatten().map(|e| e.path()).filter(|p| p.metadata().is_ok_and(|m| m.len() > 0)).collect()
        })
        .unwrap_or_default()
}

async fn calls_made_while_the_database_is_down_are_stored_once_when_it_is_back(backend: Backend) {
    let db = TestDatabase::unreachable(&backend);
    let app = spawn_on(&db, &[]).await;
    three_calls(&app).await;
    let report = app.stats.flush().await.expect("statistics on");
    assert!(!report.database_up && report.spooled, "{report:?}");
    assert!(!spool_files(&app.data_dir).is_empty(), "the records are in the spool");

    db.bring_up().await;
    flushed(&app).await;
    assert_eq!(db.summary_around_today().await.calls, 3);
    assert!(spool_files(&app.data_dir).is_empty(), "the spool is gone once replayed");
    flushed(&app).await;
    let summary = db.summary_around_today().await;
    assert_eq!((summary.calls, summary.emergency_transfers, summary.topics.get("police")), (3, 1, Some(&1)));
}

async fn the_spool_survives_a_restart(backend: Backend) {
    let db = TestDatabase::unreachable(&backend);
    let first = spawn_on(&db, &[]).await;
    three_calls(&first).await;
    let data_dir = first.data_dir.clone();
    first.stop().await;
    assert!(!spool_files(&data_dir).is_empty(), "stopped with the database down: spooled");

    db.bring_up().await;
    let second = spawn_on(&db, &[]).await;
    flushed(&second).await;
    assert_eq!(db.summary_around_today().await.calls, 3);
    second.stop().await;
    assert_eq!(db.summary_around_today().await.calls, 3, "replayed exactly once");
}

async fn shutdown_drains_every_record(backend: Backend) {
    let db = TestDatabase::new(&backend).await;
    // The writer would hold its batch for five minutes: only the drain can commit it.
    let tuning = [("IVR_STATS_BATCH_MS", "300000"), ("IVR_STATS_TIMEOUT_MS", "600000"), ("IVR_DRAIN_MS", "2000")];
    let app = spawn_on(&db, &tuning).await;
    three_calls(&app).await;
    assert_eq!(db.summary_around_today().await.calls, 0, "nothing committed yet");
    let data_dir = app.data_dir.clone();
    let stopping = std::time::Instant::now();
    app.stop().await;
    assert!(stopping.elapsed() < Duration::from_millis(2500), "stopped in {:?}", stopping.elapsed());
    let summary = db.summary_around_today().await;
    assert_eq!((summary.calls, summary.ended.get("completed")), (3, Some(&3)));
    assert!(spool_files(&data_dir).is_empty(), "committed, not spooled");
}

async fn the_call_path_is_the_same_without_a_database(backend: Backend) {
    let up = TestDatabase::new(&backend).await;
    let down = TestDatabase::unreachable(&backend);
    let with_database = three_calls(&spawn_on(&up, &[]).await).await;
    let without = three_calls(&spawn_on(&down, &[]).await).await;
    assert_eq!(with_database, without);
    assert!(with_database.iter().any(|r| r.contains("102")), "{with_database:#?}");
}

/// Holds the database's write lock until dropped.
enum Blocker {
    Sqlite(sqlx::SqliteConnection),
    Postgres(sqlx::PgConnection),
}

impl Blocker {
    async fn block(db: &TestDatabase, backend: &Backend) -> Blocker {
        db.store().await;
        match backend {
            Backend::Sqlite => {
                let mut conn = sqlx::SqliteConnection::connect(&db.url).await.expect("connects");
                sqlx::query("BEGIN EXCLUSIVE").execute(&mut conn).await.expect("locked");
                Blocker::Sqlite(conn)
            }
            Backend::Postgres(_) => {
                let mut conn = sqlx::PgConnection::connect(&db.url).await.expect("connects");
                sqlx::query("BEGIN").execute(&mut conn).await.expect("begins");
                sqlx::query("LOCK TABLE call_steps IN ACCESS EXCLUSIVE MODE").execute(&mut conn).await.expect("locked");
                Blocker::Postgres(conn)
            }
        }
    }

    async fn release(self) {
        match self {
            Blocker::Sqlite(mut conn) => drop(sqlx::query("ROLLBACK").execute(&mut conn).await.expect("unlocked")),
            Blocker::Postgres(mut conn) => drop(sqlx::query("ROLLBACK").execute(&mut conn).await.expect("unlocked")),
        }
    }
}

async fn a_blocked_database_spools_and_never_holds_a_caller(backend: Backend) {
    let db = TestDatabase::new(&backend).await;
    let blocker = Blocker::block(&db, &backend).await;
    let tuning = [("IVR_STATS_TIMEOUT_MS", "300"), ("IVR_STATS_QUEUE", "2"), ("IVR_STATS_BATCH_MS", "1")];
    let app = spawn_on(&db, &tuning).await;
    let started = std::time::Instant::now();
    for _ in 0..4 {
        three_calls(&app).await;
    }
    let report = app.stats.flush().await.expect("statistics on");
    assert!(report.spooled, "writes time out and go to the spool: {report:?}");
    assert!(started.elapsed().as_secs() < 30, "callers were not held");

    blocker.release().await;
    flushed(&app).await;
    let summary = db.summary_around_today().await;
    assert_eq!((summary.calls, summary.emergency_transfers), (12, 4));
}

/// Lines in the spool files (each a record).
fn spooled_records(data_dir: &Path) -> usize {
    spool_files(data_dir).iter().map(|f| std::fs::read_to_string(f).map_or(0, |t| t.lines().count())).sum()
}

/// A service at the defaults (the writer's promise is IVR_STATS_TIMEOUT_MS = 200 ms), its
/// database then locked, and one call answered: once its record is in the spool (or 5 s
/// passed), the service, the lock and how long after the answer the record was spooled.
async fn one_call_on_a_locked_database(db: &TestDatabase, backend: &Backend) -> (TestApp, Blocker, Duration) {
    let app = spawn_on(db, &[]).await;
    flushed(&app).await;
    let blocker = Blocker::block(db, backend).await;
    app.call_from("+77012220001", &new_call_sid()).await;
    let answered = Instant::now();
    while spooled_records(&app.data_dir) == 0 && answered.elapsed() < Duration::from_secs(5) {
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    (app, blocker, answered.elapsed())
}

async fn an_answered_record_the_database_does_not_take_is_spooled_within_200_ms(backend: Backend) {
    let db = TestDatabase::new(&backend).await;
    let (app, blocker, took) = one_call_on_a_locked_database(&db, &backend).await;
    eprintln!("an answered record reached the spool {} ms after its webhook was answered", took.as_millis());
    assert_eq!(spooled_records(&app.data_dir), 1, "the record is in the spool");
    // 200 ms is the promise; the slack is for a test machine busy with other work.
    assert!(took < Duration::from_millis(1000), "spooled after {took:?}, not within 200 ms");

    blocker.release().await;
    flushed(&app).await;
    assert_eq!(db.summary_around_today().await.calls, 1);
}

/// A database that is slow, not down (here a lock held for half a second; under load, a
/// writer short of CPU): the batch is in the spool within its 200 ms, the write goes on and
/// commits once the lock is gone, and its copy leaves the spool without a replay. The
/// database is never called unavailable. Before, the write was rolled back at 200 ms, the
/// database said to be down, and the batch replayed after a back-off.
async fn a_write_that_commits_late_is_set_aside_meanwhile_not_abandoned(backend: Backend) {
    let db = TestDatabase::new(&backend).await;
    let (app, blocker, _) = one_call_on_a_locked_database(&db, &backend).await;
    assert_eq!(spooled_records(&app.data_dir), 1, "set aside in the spool while the write waits");
    assert!(app.stats.health().database_up, "a write still running is not a database down");
    blocker.release().await;

    // No flush: a flush replays the spool, and this copy must go without one.
    let waiting = Instant::now();
    while (db.summary_around_today().await.calls, spooled_records(&app.data_dir)) != (1, 0) {
        assert!(waiting.elapsed() < Duration::from_secs(4), "the late write did not commit and clean up");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let spool = app.data_dir.join("spool").display().to_string();
    let logs = captured_logs();
    let ours: Vec<&str> = logs.lines().filter(|line| line.contains(&spool)).collect();
    assert!(!ours.iter().any(|line| line.contains("unavailable")), "never called unavailable: {ours:#?}");
    assert!(ours.iter().any(|line| line.contains("statistics commits are slow")), "said to be slow: {ours:#?}");
    assert!(app.stats.health().database_up);
    flushed(&app).await;
    assert_eq!(db.summary_around_today().await.calls, 1, "counted once");
}

async fn a_shutdown_with_a_stalled_database_and_a_backlog_ends_within_the_drain_period(backend: Backend) {
    let db = TestDatabase::new(&backend).await;
    // Records wait in the channel (a backlog the writer has not taken), and the database
    // would be given a minute: only the drain deadline can end the shutdown in time.
    let tuning = [("IVR_STATS_BATCH_MS", "30000"), ("IVR_STATS_TIMEOUT_MS", "60000"), ("IVR_DRAIN_MS", "1000")];
    let app = spawn_on(&db, &tuning).await;
    flushed(&app).await;
    let blocker = Blocker::block(&db, &backend).await;
    for _ in 0..3 {
        three_calls(&app).await;
    }
    let data_dir = app.data_dir.clone();
    let stopping = Instant::now();
    app.stop().await;
    let took = stopping.elapsed();
    assert!(took < Duration::from_millis(1500), "a 1 s drain took {took:?}");
    assert!(spooled_records(&data_dir) > 0, "the channel went to the spool");

    blocker.release().await;
    let next = spawn_on(&db, &[]).await;
    flushed(&next).await;
    let summary = db.summary_around_today().await;
    assert_eq!((summary.calls, summary.emergency_transfers), (9, 3), "replayed by the next start, once");
}

async fn writability_is_told_by_a_write_not_a_read() {
    let db = TestDatabase::new(&Backend::Sqlite).await;
    let store = db.store().await;
    store.ping().await.expect("writable");
    let blocker = Blocker::block(&db, &Backend::Sqlite).await;
    let mut reader = sqlx::SqliteConnection::connect(&db.url).await.expect("connects");
    sqlx::query("SELECT 1").execute(&mut reader).await.expect("a read still works while another process writes");
    let probe = tokio::time::timeout(Duration::from_secs(2), store.ping()).await;
    assert!(!matches!(probe, Ok(Ok(()))), "the write lock is held elsewhere: not writable");
    blocker.release().await;
    store.ping().await.expect("writable again");
}

/// A burst far beyond the channel (it holds 2 records; the writer takes them only when
/// asked to flush) spools most records: one warning says so, not one per record, and once
/// no record has overflowed for a second, one line says how many records it spooled.
async fn an_overflow_episode_is_one_warning_and_a_count() {
    let db = TestDatabase::new(&Backend::Sqlite).await;
    let tuning = [("IVR_STATS_QUEUE", "2"), ("IVR_STATS_BATCH_MS", "30000"), ("IVR_STATS_TIMEOUT_MS", "60000")];
    let app = spawn_on(&db, &tuning).await;
    flushed(&app).await;
    for _ in 0..4 {
        three_calls(&app).await;
    }
    // Every overflowing record is on its way to the spool when its webhook is answered; the
    // repeat callers' flags follow within the repeat check's tick (200 ms): the count is
    // taken once it held for longer than that.
    let mut spooled = 0;
    let waiting = Instant::now();
    while waiting.elapsed() < Duration::from_secs(5) {
        tokio::time::sleep(Duration::from_millis(300)).await;
        let now = spooled_records(&app.data_dir);
        if now > 0 && now == spooled {
            break;
        }
        spooled = now;
    }
    assert!(spooled > 20, "the burst overflowed the channel: {spooled} records spooled");
    let spool = app.data_dir.join("spool").display().to_string();
    let ours = |line: &&str| line.contains(&spool);
    let over =
        |logs: &str| logs.lines().filter(ours).find(|l| l.contains("statistics overflow over")).map(str::to_owned);
    // The writer looks whether the episode is over on every wake; a flush wakes it.
    let waiting = Instant::now();
    while over(&captured_logs()).is_none() && waiting.elapsed() < Duration::from_secs(10) {
        flushed(&app).await;
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let logs = captured_logs();
    let warnings: Vec<&str> = logs.lines().filter(ours).filter(|l| l.contains("WARN")).collect();
    assert_eq!(warnings.len(), 1, "one warning for the episode: {warnings:#?}");
    assert!(warnings[0].contains("statistics channel full or closed"), "{}", warnings[0]);
    let over = over(&logs).expect("the episode's end is logged");
    assert!(over.contains(&format!("records={spooled}")), "the count of spooled records ({spooled}): {over}");
    assert_eq!(db.summary_around_today().await.calls, 12, "every call counted once");
}
