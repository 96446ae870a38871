//! Statistics benchmarks, for SQLite and (when a server is given) PostgreSQL:
//!
//! - sustained records and events per second through the recorder into the writer and the
//!   database (the recorder waits for room, so this is what the writer keeps up with);
//! - `ivr demo-data`'s generation and load of a synthetic history, and the one-year
//!   summary report over it, summed by the database (target: median under 50 ms on SQLite),
//!   and the admin dashboard page for that year: summary, view model and HTML (target:
//!   median under 80 ms on SQLite);
//! - webhook latency with the statistics writer idle and committing (same router, same
//!   requests, interleaved).
//!
//! `cargo bench --bench stats`. `IVR_BENCH_CALLS` sets the history size (default
//! 1,000,000); `-- --writer-only` stops after the SQLite writer's figure (a quick check); `IVR_BENCH_POSTGRES_URL` (or `IVR_TEST_POSTGRES_URL`) adds PostgreSQL, in a
//! schema of its own that is dropped afterwards.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "a benchmark stops at the first surprise, with the message saying which"
)]

use std::time::{Duration, Instant};

use axum::body::Body;
use axum::http::Request;
use chrono::{TimeDelta, Utc};
use ivr::admin::views::{PageContext, Section, Ui, dashboard_page};
use ivr::app;
use ivr::call::CallEnd;
use ivr::config::Settings;
use ivr::db::Db;
use ivr::flow::{CallId, DialOutcome, Digit, Flow, Input, step};
use ivr::state::{self, AppState};
use ivr::stats::Summarize;
use ivr::stats::demo::{self, DemoPlan};
use ivr::stats::{DateRange, Record, Store, UNTIMED, WriterConfig};
use ivr::telephony::twiml::signature;
use sqlx::Connection;
use tower::ServiceExt;

const WRITER_CALLS: u64 = 50_000;
const REPORT_RUNS: usize = 21;
const TOKEN: &str = "bench-token";
const PUBLIC_URL: &str = "https://ivr.bench";

fn main() {
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build().expect("runtime");
    runtime.block_on(run());
}

async fn run() {
    let flow = Flow::load(std::path::Path::new("flows/hotline.toml")).expect("run from the repository root");
    let calls = std::env::var("IVR_BENCH_CALLS").ok().and_then(|n| n.parse().ok()).unwrap_or(1_000_000);
    let scratch = tempfile::tempdir().expect("a temporary folder");
    let sqlite = |name: &str| format!("sqlite://{}", scratch.path().join(name).display());
    println!("== SQLite (WAL, synchronous=FULL, one writer connection)");
    writer_throughput(&sqlite("writer.sqlite3"), scratch.path(), &flow).await;
    if std::env::args().any(|arg| arg == "--writer-only") {
        return;
    }
    report_speed(&sqlite("history.sqlite3"), &flow, calls).await;
    let postgres = std::env::var("IVR_BENCH_POSTGRES_URL").or_else(|_| std::env::var("IVR_TEST_POSTGRES_URL"));
    if let Ok(server) = postgres.as_deref().map(str::to_owned) {
        println!("\n== PostgreSQL");
        let schema = Schema::create(&server).await;
        writer_throughput(&schema.url, scratch.path(), &flow).await;
        let history = Schema::create(&server).await;
        report_speed(&history.url, &flow, calls).await;
        schema.drop().await;
        history.drop().await;
    }
    println!("\n== Webhook latency, statistics writer idle (off) and committing (on) (SQLite)");
    webhook_latency(&sqlite("webhooks.sqlite3"), scratch.path()).await;
}

/// The records of `calls` calls, walking the flow along a few typical paths.
fn call_records(flow: &Flow, calls: u64) -> Vec<Record> {
    let key = |k: &str| Input::Key(Digit::parse(k).expect("a key"));
    let paths: [Vec<Input>; 4] = [
        vec![key("1"), key("2"), key("2"), key("5"), key("2")],
        vec![key("2"), key("9"), Input::Dial(DialOutcome::Completed)],
        vec![key("1"), Input::NoInput, key("7"), key("3"), key("0"), Input::Dial(DialOutcome::Busy), key("2")],
        vec![],
    ];
    let now = Utc::now();
    let mut records = Vec::new();
    for call in 0..calls {
        let mut current = flow.begin(CallId(call.wrapping_mul(0x9E37_79B9_7F4A_7C15)));
        records.push(Record::of_step(flow, &current, now, Some(0), UNTIMED));
        for (seconds, input) in (5..).step_by(5).zip(&paths[(call % 4) as usize]) {
            current = step(flow, current.next, *input);
            records.push(Record::of_step(flow, &current, now, Some(seconds), UNTIMED));
        }
        records.push(Record::ended(current.next.call, CallEnd::Completed, now, Some(60)));
    }
    records
}

async fn writer_throughput(url: &str, data_dir: &std::path::Path, flow: &Flow) {
    let records = call_records(flow, WRITER_CALLS);
    let events: usize = records.iter().map(|r| r.events.len()).sum();
    let config = WriterConfig {
        batch_size: 512,
        batch_delay: Duration::from_millis(200),
        write_timeout: Duration::from_secs(60),
        retention_days: 365,
    };
    let (recorder, stats_tasks) = ivr::stats::start_with(
        config,
        Db::connect_lazy(url).expect("a URL"),
        8192,
        &data_dir.join(format!("spool-{}", rand::random::<u32>())),
    );
    recorder.flush().await.expect("connected");
    let started = Instant::now();
    for record in records.iter().cloned() {
        recorder.send_waiting(record).await;
    }
    let report = recorder.flush().await.expect("flushed");
    let seconds = started.elapsed().as_secs_f64();
    stats_tasks.drain().await;
    assert!(report.database_up && !report.spooled, "the database took every batch: {report:?}");
    println!(
        "writer: {} calls, {} records, {} events in {seconds:.2} s: {:.0} records/s, {:.0} events/s, {:.0} calls/s",
        WRITER_CALLS,
        records.len(),
        events,
        records.len() as f64 / seconds,
        events as f64 / seconds,
        WRITER_CALLS as f64 / seconds
    );
}

async fn report_speed(url: &str, flow: &Flow, calls: usize) {
    let store = Db::connect(url).await.expect("connects");
    store.ready().await.expect("migrates");
    let last_day = Utc::now().date_naive() - TimeDelta::days(1);
    let plan = DemoPlan { calls, days: 365, last_day, seed: 111 };
    let started = Instant::now();
    let (rows, totals) = demo::generate(flow, &plan);
    let generated = started.elapsed();
    store.load_synthetic(&rows, &totals).await.expect("loaded");
    let loaded = started.elapsed() - generated;
    println!(
        "demo data: {calls} calls over 365 days generated in {:.1} s, loaded in {:.1} s ({:.0} calls/s)",
        generated.as_secs_f64(),
        loaded.as_secs_f64(),
        calls as f64 / loaded.as_secs_f64()
    );
    let year = DateRange::new(last_day - TimeDelta::days(364), last_day).expect("a range");
    let mut times = Vec::with_capacity(REPORT_RUNS);
    for _ in 0..REPORT_RUNS {
        let started = Instant::now();
        let summary = store.summary(year).await.expect("summary");
        times.push(started.elapsed());
        assert_eq!(summary.calls as usize, calls);
    }
    times.sort();
    let ms = |d: Duration| d.as_secs_f64() * 1e3;
    println!(
        "summary report, one year over {calls} calls: median {:.1} ms, max {:.1} ms ({REPORT_RUNS} runs; target 50 ms)",
        ms(times[REPORT_RUNS / 2]),
        ms(times[REPORT_RUNS - 1])
    );
    dashboard_speed(&store, flow, year, calls).await;
}

/// The admin dashboard as `GET /admin` builds it: the summary, the view model and the page.
async fn dashboard_speed(store: &Db, flow: &Flow, year: DateRange, calls: usize) {
    let page = PageContext {
        ui: Ui::Kk,
        csrf: "bench".to_owned(),
        user: "bench".to_owned(),
        path: "/admin".to_owned(),
        sections: Section::ALL.to_vec(),
    };
    let mut times = Vec::with_capacity(REPORT_RUNS);
    let mut bytes = 0;
    for _ in 0..REPORT_RUNS {
        let started = Instant::now();
        let summary = store.summary(year).await.expect("summary");
        let view = ivr::admin::dashboard_view(&summary, flow, year.to, None);
        bytes = dashboard_page(&page, &view).len();
        times.push(started.elapsed());
    }
    times.sort();
    let ms = |d: Duration| d.as_secs_f64() * 1e3;
    println!(
        "dashboard page, one year over {calls} calls: median {:.1} ms, max {:.1} ms ({REPORT_RUNS} runs, {} KiB; target 80 ms)",
        ms(times[REPORT_RUNS / 2]),
        ms(times[REPORT_RUNS - 1]),
        bytes / 1024
    );
}

/// Webhooks of one call step each; CallSids differ so every incoming call is a new call.
fn webhook(i: usize) -> Request<Body> {
    let caller =
        format!("CallSid=CA{i:032x}&AccountSid=AC0123&From=%2B7701{:07}&To=111&CallStatus=ringing", i % 9_999_999);
    let (path, body) = match i % 4 {
        0 => ("/twilio/voice".to_owned(), caller),
        1 => ("/twilio/gather?c=00000000000000aa&n=language&f=0&t=0&s=0&q=0".to_owned(), format!("{caller}&Digits=2")),
        2 => ("/twilio/gather?c=00000000000000aa&n=main&l=ru&f=0&t=0&s=0&q=2".to_owned(), format!("{caller}&Digits=2")),
        _ => (
            "/twilio/gather?c=00000000000000aa&n=safety_plan&l=ru&f=0&t=2&s=0&q=3".to_owned(),
            format!("{caller}&Digits=9"),
        ),
    };
    let params: Vec<(String, String)> = form_urlencoded::parse(body.as_bytes()).into_owned().collect();
    let signature = signature::sign(TOKEN, &format!("{PUBLIC_URL}{path}"), &params);
    Request::post(path)
        .header("content-type", "application/x-www-form-urlencoded")
        .header("x-twilio-signature", signature)
        .body(Body::from(body))
        .expect("request")
}

async fn webhook_latency(url: &str, data_dir: &std::path::Path) {
    let env = [
        ("IVR_PUBLIC_URL", PUBLIC_URL.to_owned()),
        ("IVR_TWILIO_AUTH_TOKEN", TOKEN.to_owned()),
        ("IVR_OPERATOR_NUMBER", "+77170000111".to_owned()),
        ("IVR_DATABASE_URL", url.to_owned()),
        ("IVR_DATA_DIR", data_dir.join("webhook-spool").display().to_string()),
    ];
    let settings =
        Settings::from_lookup(|name| env.iter().find(|(n, _)| *n == name).map(|(_, v)| v.clone())).expect("settings");
    // "off": records reach the channel, as on every webhook, but the writer sleeps through
    // the run (an hour's batch delay, a channel that holds them all), so nothing is
    // committed beside the requests: the webhook's own cost of statistics, alone.
    let idle = WriterConfig { batch_delay: Duration::from_secs(3600), ..WriterConfig::from_settings(&settings) };
    let idle_dir = data_dir.join("webhook-idle");
    let idle_db = Db::connect_lazy(&format!("sqlite://{}", data_dir.join("idle.sqlite3").display())).expect("a URL");
    let (idle_recorder, idle_tasks) = ivr::stats::start_with(idle, idle_db.clone(), 1_000_000, &idle_dir);
    let loaded = || state::load(settings.clone()).expect("bundled flow and prompts");
    let off = app::router(AppState::start(loaded(), idle_db, idle_recorder));
    let db = Db::connect_lazy(url).expect("a URL");
    let (recorder, stats_tasks) = ivr::stats::start(&settings, db.clone());
    let on = app::router(AppState::start(loaded(), db, recorder.clone()));
    recorder.flush().await.expect("connected");
    // Back to back, the writer's work shares the two cores with the requests; at a pace far
    // above the hotline's (1,000 webhooks/s) it has the time it needs between them.
    for (title, pace, per_round) in
        [("back to back", None, 2_000), ("paced, 1000/s", Some(Duration::from_millis(1)), 500)]
    {
        let (mut latency_off, mut latency_on) = (Vec::new(), Vec::new());
        let mut next = 0;
        for _ in 0..20 {
            for (router, latencies) in [(&off, &mut latency_off), (&on, &mut latency_on)] {
                latencies.extend(measure(router, next, per_round, pace).await);
                next += per_round;
            }
        }
        println!("{title}:");
        println!("  {:<12} {:>10} {:>10} {:>10} {:>10}", "statistics", "requests", "p50 µs", "p99 µs", "max µs");
        print_latencies("off", &mut latency_off);
        print_latencies("on", &mut latency_on);
    }
    let report = recorder.flush().await.expect("flushed");
    stats_tasks.drain().await;
    idle_tasks.drain().await;
    println!("(statistics on: every record committed: {})", report.database_up && !report.spooled);
}

/// Latencies of `count` webhooks starting at `first`, sent one after another or at `pace`.
async fn measure(router: &axum::Router, first: usize, count: usize, pace: Option<Duration>) -> Vec<Duration> {
    let mut tick = pace.map(tokio::time::interval);
    let mut latencies = Vec::with_capacity(count);
    for i in first..first + count {
        if let Some(tick) = &mut tick {
            tick.tick().await;
        }
        let request = webhook(i);
        let started = Instant::now();
        let response = router.clone().oneshot(request).await.expect("infallible");
        let _ = axum::body::to_bytes(response.into_body(), usize::MAX).await.expect("body");
        latencies.push(started.elapsed());
    }
    latencies
}

fn print_latencies(name: &str, latencies: &mut [Duration]) {
    latencies.sort();
    let at = |q: f64| latencies[((latencies.len() as f64 * q) as usize).min(latencies.len() - 1)];
    let us = |d: Duration| d.as_secs_f64() * 1e6;
    let (p50, p99, max) = (us(at(0.5)), us(at(0.99)), us(at(1.0)));
    println!("  {name:<12} {:>10} {p50:>10.1} {p99:>10.1} {max:>10.1}", latencies.len());
}

/// A PostgreSQL schema of the benchmark's own.
struct Schema {
    server: String,
    name: String,
    url: String,
}

impl Schema {
    async fn create(server: &str) -> Schema {
        let name = format!("ivr_bench_{:08x}", rand::random::<u32>());
        let mut admin = sqlx::PgConnection::connect(server).await.expect("the PostgreSQL server");
        // An identifier cannot be a bind parameter; the name is made here.
        sqlx::query(sqlx::AssertSqlSafe(format!("CREATE SCHEMA {name}"))).execute(&mut admin).await.expect("schema");
        let separator = if server.contains('?') { '&' } else { '?' };
        let url = format!("{server}{separator}options=-c%20search_path%3D{name}");
        Schema { server: server.to_owned(), name, url }
    }

    async fn drop(self) {
        let mut admin = sqlx::PgConnection::connect(&self.server).await.expect("the PostgreSQL server");
        let sql = sqlx::AssertSqlSafe(format!("DROP SCHEMA {} CASCADE", self.name));
        sqlx::query(sql).execute(&mut admin).await.expect("dropped");
    }
}
