//! `ivr migrate`, `ivr report` and `ivr demo-data` as an administrator runs them: clear
//! errors for bad input, nothing half-written, synthetic data always announced; the report
//! covers the last week by default, refuses the ranges the API refuses, prints what the
//! API returns, and shows a dash where there is nothing to average, as the dashboard does.

use std::process::{Command, Output};

use chrono::TimeDelta;

use super::support::{Backend, TestDatabase, on_both_databases, today};

on_both_databases!(
    demo_data_is_reported_as_synthetic,
    bad_input_is_refused_before_anything_is_written,
    the_report_covers_the_last_week_by_default_and_agrees_with_the_dashboard,
);

fn ivr(db: &TestDatabase, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_ivr"))
        .args(args)
        .env_clear()
        .env("IVR_DATABASE_URL", &db.url)
        .env("IVR_FLOW", std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("flows/hotline.toml"))
        .output()
        .expect("ivr runs")
}

fn text(output: &Output) -> String {
    format!("{}{}", String::from_utf8_lossy(&output.stdout), String::from_utf8_lossy(&output.stderr))
}

fn last_days(days: i64) -> (String, String) {
    ((today() - TimeDelta::days(days)).to_string(), today().to_string())
}

async fn demo_data_is_reported_as_synthetic(backend: Backend) {
    let db = TestDatabase::new(&backend).await;
    let migrated = ivr(&db, &["migrate"]);
    assert!(migrated.status.success(), "{}", text(&migrated));
    assert!(!text(&migrated).contains(&db.url), "the URL (it may hold a password) is not printed");
    let loaded = ivr(&db, &["demo-data", "--calls", "2000", "--days", "14"]);
    assert!(loaded.status.success(), "{}", text(&loaded));
    assert!(text(&loaded).contains("SYNTHETIC"), "{}", text(&loaded));

    let (from, to) = last_days(20);
    let json = ivr(&db, &["report", "--from", &from, "--to", &to, "--format", "json"]);
    assert!(json.status.success(), "{}", text(&json));
    let summary: serde_json::Value = serde_json::from_slice(&json.stdout).expect("JSON");
    assert_eq!((summary["calls"].as_i64(), summary["synthetic_calls"].as_i64()), (Some(2000), Some(2000)));
    for field in ["languages", "outcomes", "topics", "emergency_transfers", "operator_transfers", "abandoned"] {
        assert!(!summary[field].is_null(), "{field} in {summary}");
    }
    assert_eq!(summary["days"].as_array().map(Vec::len), Some(21));
    assert!(String::from_utf8_lossy(&json.stderr).contains("SYNTHETIC"), "JSON readers are warned on stderr");
    let table = text(&ivr(&db, &["report", "--from", &from, "--to", &to]));
    assert!(table.contains("!! SYNTHETIC DATA: 2000 of these 2000 calls"), "{table}");
    let output = ivr(&db, &["report", "--from", &from, "--to", &to, "--format", "csv"]);
    let csv = String::from_utf8_lossy(&output.stdout).into_owned();
    assert!(csv.starts_with(&ivr::reports::DAILY_HEADER.join(",")), "the API's daily.csv: {csv}");
    assert!(String::from_utf8_lossy(&output.stderr).contains("SYNTHETIC"), "CSV readers are warned on stderr");
    let days: Vec<&str> = csv.lines().skip(1).collect();
    assert_eq!(days.len(), 21, "one row per day: {csv}");
    let synthetic: i64 = days.iter().map(|d| d.split(',').nth(2).unwrap().parse::<i64>().unwrap()).sum();
    assert_eq!(synthetic, 2000, "the synthetic_calls column counts every demo call: {csv}");
    if let Some(file) = &db.sqlite_file {
        let wal = format!("{}-wal", file.display());
        assert!(!std::path::Path::new(&wal).exists(), "each command closed the database: no {wal} left");
    }
}

async fn bad_input_is_refused_before_anything_is_written(backend: Backend) {
    let db = TestDatabase::new(&backend).await;
    for (args, expected) in [
        (vec!["report", "--from", "2026-02-30", "--to", "2026-03-01"], "`2026-02-30` is not a date"),
        (vec!["report", "--from", "2026-03-02", "--to", "2026-03-01"], "reversed"),
        (vec!["report", "--from", "0001-01-01", "--to", "9999-12-31"], "a report covers at most 3660"),
        (vec!["report", "--to", "2026-03-01x"], "`2026-03-01x` is not a date"),
        (vec!["report", "--from", "2026-03-01", "--to", "2026-03-02", "--format", "xml"], "invalid value"),
        (vec!["demo-data", "--calls", "0", "--days", "10"], "--calls: 0 is not from 1"),
        (vec!["demo-data", "--calls", "10", "--days", "99999"], "--days: 99999 is not from 1"),
    ] {
        let output = ivr(&db, &args);
        assert!(!output.status.success(), "{args:?} must fail");
        assert!(text(&output).contains(expected), "{args:?}: {}", text(&output));
    }
    // A database with real calls gets no demo data.
    let store = db.store().await;
    let flow = ivr::flow::Flow::load(&std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("flows/hotline.toml"))
        .expect("bundled flow");
    let begun = flow.begin(ivr::flow::CallId(7));
    let record = ivr::stats::Record::of_step(&flow, &begun, chrono::Utc::now(), Some(0), ivr::stats::UNTIMED);
    ivr::stats::Store::write(&store, &[record]).await.expect("a real call");
    let refused = ivr(&db, &["demo-data", "--calls", "100", "--days", "3"]);
    assert!(!refused.status.success() && text(&refused).contains("holds 1 real calls"), "{}", text(&refused));
    assert!(text(&refused).contains("IVR_DATABASE_URL=sqlite://demo.sqlite3"), "{}", text(&refused));
    let ignored = std::fs::read_to_string(std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join(".gitignore")).unwrap();
    assert!(ignored.lines().any(|l| l == "/demo.sqlite3*"), "the suggested file is never committed");
    let (from, to) = last_days(5);
    let summary =
        ivr::stats::Summarize::summary(&store, ivr::stats::DateRange::parse(&from, &to).unwrap()).await.unwrap();
    assert_eq!((summary.calls, summary.synthetic_calls), (1, 0), "nothing was added");
}

async fn the_report_covers_the_last_week_by_default_and_agrees_with_the_dashboard(backend: Backend) {
    let db = TestDatabase::new(&backend).await;
    let table = ivr(&db, &["report"]);
    assert!(table.status.success(), "{}", text(&table));
    let from = today() - TimeDelta::days(6);
    assert!(text(&table).contains(&format!("{from} to {}", today())), "the last 7 days: {}", text(&table));
    let days = text(&table).lines().filter(|l| l.starts_with("20")).count();
    assert_eq!(days, 7, "{}", text(&table));
    // No calls: nothing to average. The dashboard shows a dash; so does the report, and JSON says null.
    let menu = text(&table).lines().find(|l| l.starts_with("avg seconds in the menu")).unwrap_or_default().to_owned();
    assert!(menu.ends_with('—'), "a dash, not 0.0: {menu}");
    let json = ivr(&db, &["report", "--format", "json"]);
    let summary: serde_json::Value = serde_json::from_slice(&json.stdout).expect("JSON");
    assert!(summary["avg_ivr_seconds"].is_null() && summary["avg_seconds_to_answer"].is_null(), "{summary}");
    assert_eq!(summary["days"].as_array().map(Vec::len), Some(7));
}
