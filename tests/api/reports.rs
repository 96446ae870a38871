//! The reports API over HTTP: each report's numbers against calls scripted through the real
//! webhooks, the CSVs' shape and quoting, `min_count` suppression, every refused parameter,
//! and who may read reports.

use chrono::{Days, NaiveDate, Utc};
use ivr::access::Role;
use ivr::db::Db;
use ivr::reports::{CALLS_HEADER, DAILY_HEADER};
use serde_json::Value;

use crate::helpers::{Options, TestApp, spawn_app_with};

/// A service on a database of its own, and that database, to seed and to make credentials in.
pub struct Seeded {
    pub app: TestApp,
    pub store: Db,
    _dir: tempfile::TempDir,
}

impl Seeded {
    pub async fn new() -> Seeded {
        Seeded::with(Options::default()).await
    }

    /// A service started with `options`, on their database or else a fresh SQLite one.
    pub async fn with(options: Options) -> Seeded {
        let dir = tempfile::tempdir().expect("a temporary folder");
        let url = options
            .database_url
            .clone()
            .unwrap_or_else(|| format!("sqlite://{}", dir.path().join("ivr.sqlite3").display()));
        let app = spawn_app_with(Options { database_url: Some(url.clone()), ..options }).await;
        // Opened while the service may still be making the file: both are safe at once.
        let store = Db::connect(&url).await.expect("the test database");
        store.ready().await.expect("migrated");
        Seeded { app, store, _dir: dir }
    }

    /// A bearer token of `role`, made the way `ivr tokens create` makes one.
    pub async fn token(&self, role: Role) -> String {
        // An operator's token names their roster entry; any id will do here.
        let operator_id = (role == Role::Operator).then_some(1);
        ivr::access::create_token(&self.store, role, "reports test", operator_id).await.expect("a token")
    }

    /// GETs `path` with `token`, if any: status, content type, content disposition, body.
    pub async fn get(&self, path: &str, token: Option<&str>) -> Got {
        let mut request = self.app.client.get(format!("{}{path}", self.app.address));
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        let response = request.send().await.expect("the server answers");
        let header = |name| response.headers().get(name).and_then(|v| v.to_str().ok()).unwrap_or("").to_owned();
        Got {
            status: response.status().as_u16(),
            content_type: header("content-type"),
            disposition: header("content-disposition"),
            body: response.text().await.expect("a body"),
        }
    }
}

#[derive(Debug)]
pub struct Got {
    pub status: u16,
    pub content_type: String,
    pub disposition: String,
    pub body: String,
}

pub fn today() -> NaiveDate {
    Utc::now().date_naive()
}

/// `from=yesterday&to=tomorrow`: today's calls, whatever the clock says at midnight.
fn around_today() -> String {
    let day = |d: NaiveDate| d.format("%Y-%m-%d").to_string();
    let (from, to) = (today() - Days::new(1), today() + Days::new(1));
    format!("from={}&to={}", day(from), day(to))
}

/// Four calls: Kazakh guidance on two topics (the safety plan's first part left by a key,
/// the evidence part heard to its end: the status callback says the call lasted 42 s);
/// Russian to the police; Kazakh to an operator who answers; a hang-up during the language
/// choice. Returns once they are committed.
pub async fn script_calls(app: &TestApp) {
    let mut guidance = app.call_from("+77010000001", "CA00000000000000000000000000000a01").await;
    guidance.choose_language("1").await.press("2").await.press("2").await.press("3").await;
    guidance.hang_up("completed").await;
    let mut police = app.call_from("+77010000002", "CA00000000000000000000000000000a02").await;
    police.press("2").await.press("9").await.dial_ends("completed").await.hang_up("completed").await;
    let mut operator = app.call_from("+77010000003", "CA00000000000000000000000000000a03").await;
    operator.choose_language("1").await.press("0").await.dial_ends("completed").await.hang_up("completed").await;
    app.call_from("+77010000004", "CA00000000000000000000000000000a04").await.hang_up("completed").await;
    let report = app.stats.flush().await.expect("statistics are on");
    assert!(report.database_up && !report.spooled, "everything committed: {report:?}");
}

#[tokio::test]
async fn the_summary_counts_the_scripted_calls() {
    let seeded = Seeded::new().await;
    script_calls(&seeded.app).await;
    let token = seeded.token(Role::Analyst).await;
    let got = seeded.get(&format!("/api/v1/reports/summary?{}", around_today()), Some(&token)).await;
    assert_eq!(got.status, 200, "{got:?}");
    assert!(got.content_type.starts_with("application/json"), "{got:?}");
    let s: Value = serde_json::from_str(&got.body).expect("JSON");
    assert_eq!(s["calls"], 4);
    assert_eq!(
        (&s["languages"]["kk"], &s["languages"]["ru"], &s["languages"]["none"]),
        (&2.into(), &1.into(), &1.into())
    );
    let outcomes = &s["outcomes"];
    assert_eq!(
        [&outcomes["self_service"], &outcomes["emergency"], &outcomes["operator"], &outcomes["abandoned"]],
        [&Value::from(1); 4]
    );
    assert_eq!((&s["topics"]["safety_plan"], &s["topics"]["evidence"]), (&1.into(), &1.into()));
    assert_eq!(
        (&s["emergency_transfers"], &s["operator_transfers"], &s["abandoned"]),
        (&1.into(), &1.into(), &1.into())
    );
    assert!(s["avg_ivr_seconds"].is_number(), "{s}");
    assert_eq!(s["days"].as_array().map(Vec::len), Some(3));
}

#[tokio::test]
async fn daily_csv_has_a_row_for_every_day_of_the_range() {
    let seeded = Seeded::new().await;
    script_calls(&seeded.app).await;
    let token = seeded.token(Role::Admin).await;
    let got = seeded.get(&format!("/api/v1/reports/daily.csv?{}", around_today()), Some(&token)).await;
    assert_eq!(got.status, 200, "{got:?}");
    assert_eq!(got.content_type, "text/csv; charset=utf-8");
    assert!(got.disposition.starts_with("attachment; filename=\"ivr-daily-"), "{got:?}");
    let lines: Vec<&str> = got.body.lines().collect();
    assert_eq!(lines[0], DAILY_HEADER.join(","));
    let day = |d: NaiveDate| d.format("%Y-%m-%d").to_string();
    // Nobody waited in the operators' queue: its counts 0, its seconds empty.
    let no_queue = "0,0,0,0,0,,";
    assert_eq!(lines[1], format!("{},0,0,0,0,0,0,0,0,0,0,0,{no_queue}", day(today() - Days::new(1))));
    assert_eq!(lines[2], format!("{},4,0,2,1,1,1,1,1,0,1,1,{no_queue}", day(today())));
    assert_eq!(lines[3], format!("{},0,0,0,0,0,0,0,0,0,0,0,{no_queue}", day(today() + Days::new(1))));
    assert_eq!(lines.len(), 4);

    let shared = seeded.get(&format!("/api/v1/reports/daily.csv?{}&min_count=2", around_today()), Some(&token)).await;
    assert_eq!(
        shared.body.lines().nth(2),
        Some(format!("{},4,<2,2,<2,<2,<2,<2,<2,<2,<2,<2,<2,<2,<2,<2,<2,,", day(today())).as_str())
    );
}

#[tokio::test]
async fn calls_csv_has_one_quoted_row_per_call_and_no_caller_identifier() {
    let seeded = Seeded::new().await;
    script_calls(&seeded.app).await;
    let token = seeded.token(Role::Analyst).await;
    let got = seeded.get(&format!("/api/v1/reports/calls.csv?{}", around_today()), Some(&token)).await;
    assert_eq!(got.status, 200, "{got:?}");
    assert_eq!(got.content_type, "text/csv; charset=utf-8");
    assert!(got.disposition.starts_with("attachment; filename=\"ivr-calls-"), "{got:?}");
    let mut reader = csv::Reader::from_reader(got.body.as_bytes());
    assert_eq!(reader.headers().expect("a header").iter().collect::<Vec<_>>(), CALLS_HEADER);
    let rows: Vec<csv::StringRecord> = reader.records().map(|r| r.expect("a well-formed row")).collect();
    assert_eq!(rows.len(), 4, "{}", got.body);
    let column = |name: &str| CALLS_HEADER.iter().position(|c| *c == name).expect("a column");
    let guidance = rows.iter().find(|r| &r[column("topics")] == "safety_plan,evidence").expect("the guidance call");
    assert_eq!((&guidance[column("language")], &guidance[column("outcome")]), ("kk", "self_service"));
    assert!(got.body.contains(",\"safety_plan,evidence\","), "a comma in a cell is quoted: {}", got.body);
    for secret in ["+7701000000", "CA00000000000000000000000000000a0"] {
        assert!(!got.body.contains(secret), "no caller identifier in the export");
    }

    let shared = seeded.get(&format!("/api/v1/reports/calls.csv?{}&min_count=5", around_today()), Some(&token)).await;
    assert_eq!(shared.status, 400);
    assert!(shared.body.contains("one row per call"), "{shared:?}");
}

#[tokio::test]
async fn min_count_suppresses_small_counts_in_the_summary() {
    let seeded = Seeded::new().await;
    script_calls(&seeded.app).await;
    let token = seeded.token(Role::Analyst).await;
    let got = seeded.get(&format!("/api/v1/reports/summary?{}&min_count=2", around_today()), Some(&token)).await;
    let s: Value = serde_json::from_str(&got.body).expect("JSON");
    assert_eq!((&s["calls"], &s["languages"]["kk"]), (&4.into(), &2.into()));
    assert_eq!(
        (&s["languages"]["ru"], &s["emergency_transfers"], &s["topics"]["evidence"]),
        (&"<2".into(), &"<2".into(), &"<2".into())
    );
    let csv =
        seeded.get(&format!("/api/v1/reports/summary?{}&min_count=2&format=csv", around_today()), Some(&token)).await;
    assert_eq!(csv.content_type, "text/csv; charset=utf-8");
    assert!(csv.body.starts_with("metric,key,value\n") && csv.body.contains("\nlanguages,ru,<2\n"), "{csv:?}");
}

#[tokio::test]
async fn bad_parameters_get_a_400_that_says_what_is_wrong() {
    let seeded = Seeded::new().await;
    let token = seeded.token(Role::Admin).await;
    for (query, says) in [
        ("summary?from=2026-01-01", "from=YYYY-MM-DD&to=YYYY-MM-DD"),
        ("summary?from=2026-02-01&to=2026-01-01", "reversed"),
        ("summary?from=01.01.2026&to=2026-01-31", "`01.01.2026` is not a date"),
        ("daily.csv?from=2026-01-01&to=2026-02-30", "`2026-02-30` is not a date"),
        ("daily.csv?from=2000-01-01&to=2026-01-01", "at most 3660"),
        ("summary?from=2026-01-01&to=2026-01-31&format=xml", "unknown format `xml`"),
        ("daily.csv?from=2026-01-01&to=2026-01-31&format=json", "comes as csv"),
        ("summary?from=2026-01-01&to=2026-01-31&min_count=0", "min_count"),
        ("daily.csv?from=2026-01-01&to=2026-01-31&min_count=abc", "`abc`"),
        ("calls.csv?from=2026-01-01&to=2026-01-31&min_count=-1", "`-1`"),
        ("calls.csv?from=2026-01-01&to=2026-01-31&min_count=3", "one row per call"),
        ("summary?from=2026-01-01&to=2026-01-31&lang=kk", "unknown parameter `lang`"),
    ] {
        let got = seeded.get(&format!("/api/v1/reports/{query}"), Some(&token)).await;
        assert_eq!(got.status, 400, "{query}: {got:?}");
        assert!(got.body.contains(says), "{query}: {}", got.body);
    }
}

#[tokio::test]
async fn analysts_and_admins_read_reports_operators_and_strangers_do_not() {
    let seeded = Seeded::new().await;
    let range = around_today();
    for report in ["summary", "daily.csv", "calls.csv"] {
        let path = format!("/api/v1/reports/{report}?{range}");
        for role in [Role::Admin, Role::Analyst] {
            let token = seeded.token(role).await;
            assert_eq!(seeded.get(&path, Some(&token)).await.status, 200, "{role:?} {report}");
        }
        let operator = seeded.token(Role::Operator).await;
        assert_eq!(seeded.get(&path, Some(&operator)).await.status, 403, "operator {report}");
        assert_eq!(seeded.get(&path, None).await.status, 401, "no credentials {report}");
        assert_eq!(seeded.get(&path, Some("not-a-token")).await.status, 401, "a made-up token {report}");
    }
}
