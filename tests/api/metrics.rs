//! Prometheus metrics, scraped from the real `ivr` binary in a process of its own (the
//! metrics recorder is global to a process, and this test binary runs many services at
//! once): a first run with the database unreachable spools a call and is stopped with
//! SIGTERM; a second run replays the spool, takes scripted calls (TwiML, and one each on
//! jambonz and FastAGI) and sign-ins, and every metric is checked by name, labels and
//! value. Both runs log JSON lines, also checked.

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use ivr::softphone::Dialect;
use ivr::softphone::asterisk::{AgiCall, At, Channel, environment};

use crate::helpers::{PUBLIC_URL, TestApp};

const IVR: &str = env!("CARGO_BIN_EXE_ivr");

/// `ivr` with a clean environment: only the settings given, whatever the developer's shell has.
fn ivr(settings: &[(&str, String)]) -> Command {
    let root = env!("CARGO_MANIFEST_DIR");
    let mut command = Command::new(IVR);
    command
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("IVR_FLOW", format!("{root}/flows/hotline.toml"))
        .env("IVR_PROMPTS", format!("{root}/prompts"))
        .envs(settings.iter().map(|(n, v)| (*n, v.as_str())));
    command
}

/// A running `ivr serve`: its addresses, and every log line it writes.
struct Served {
    child: Child,
    app: TestApp,
    metrics: String,
    /// Where it takes FastAGI conversations, unless the settings turned them off.
    agi: Option<std::net::SocketAddr>,
    logs: mpsc::Receiver<String>,
    lines: Vec<String>,
}

impl Drop for Served {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// `ivr serve` with `settings`, which may override these: FastAGI off, metrics on, JSON logs.
async fn serve(settings: &[(&str, String)], data_dir: &Path) -> Served {
    let mut all = vec![
        ("IVR_LISTEN", "127.0.0.1:0".to_owned()),
        ("IVR_METRICS_LISTEN", "127.0.0.1:0".to_owned()),
        ("IVR_AGI_LISTEN", "off".to_owned()),
        ("IVR_PUBLIC_URL", PUBLIC_URL.to_owned()),
        ("IVR_DATA_DIR", data_dir.display().to_string()),
        ("IVR_LOG_FORMAT", "json".to_owned()),
        ("IVR_ROSTER_REFRESH_MS", "100".to_owned()),
    ];
    all.extend_from_slice(settings);
    let settings = all;
    let mut child = ivr(&settings).arg("serve").stderr(Stdio::piped()).spawn().expect("ivr serve starts");
    let (tx, logs) = mpsc::channel();
    let stderr = BufReader::new(child.stderr.take().expect("stderr"));
    std::thread::spawn(move || {
        for line in stderr.lines().map_while(Result::ok) {
            let _ = tx.send(line);
        }
    });
    let agi_on = settings.iter().rev().find(|(name, _)| *name == "IVR_AGI_LISTEN").is_some_and(|(_, v)| v != "off");
    let (mut service, mut metrics, mut agi, mut lines) = (None, None, None, Vec::new());
    while service.is_none() || metrics.is_none() || (agi_on && agi.is_none()) {
        let line = match logs.recv_timeout(Duration::from_secs(30)) {
            Ok(line) => line,
            Err(error) => panic!("ivr serve did not say where it listens ({error}): {lines:#?}"),
        };
        let event = json_line(&line);
        let address = event["fields"]["address"].as_str().map(|a| format!("http://{a}"));
        match event["fields"]["message"].as_str() {
            Some("111 hotline IVR listening") => service = address,
            Some("FastAGI listening") => agi = event["fields"]["address"].as_str().and_then(|a| a.parse().ok()),
            Some(m) if m.starts_with("metrics listening") => metrics = address,
            _ => {}
        }
        lines.push(line);
    }
    let app = TestApp::attach(service.expect("address"), PUBLIC_URL, data_dir.to_owned());
    Served { child, app, metrics: metrics.expect("address"), agi, logs, lines }
}

/// A log line, which `IVR_LOG_FORMAT=json` makes one JSON object with no escape codes.
fn json_line(line: &str) -> serde_json::Value {
    assert!(!line.contains('\u{1b}'), "a colour code in a JSON log line: {line}");
    let value: serde_json::Value =
        serde_json::from_str(line).unwrap_or_else(|e| panic!("a log line that is not JSON ({e}): {line}"));
    assert!(value.is_object() && value["level"].is_string() && value["fields"].is_object(), "{line}");
    value
}

impl Served {
    /// Every sample, as `name{label="value",…}` (labels sorted) → value.
    async fn scrape(&self) -> BTreeMap<String, f64> {
        let response = self.app.client.get(format!("{}/metrics", self.metrics)).send().await.expect("a scrape");
        assert_eq!(response.status(), 200);
        let content_type = response.headers()["content-type"].to_str().unwrap_or_default().to_owned();
        assert!(content_type.starts_with("text/plain"), "{content_type}");
        parse(&response.text().await.expect("a body"))
    }

    /// Scrapes until `ready` holds (the background tasks have caught up), for 20 s at most.
    async fn scrape_until(&self, what: &str, ready: impl Fn(&BTreeMap<String, f64>) -> bool) -> BTreeMap<String, f64> {
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            let samples = self.scrape().await;
            if ready(&samples) {
                return samples;
            }
            assert!(Instant::now() < deadline, "{what} within 20 s: {samples:#?}");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// Stops it with SIGTERM, as systemd does, and checks every line it logged.
    fn stop(mut self) -> Vec<String> {
        let pid = self.child.id().to_string();
        let killed = Command::new("kill").args(["-TERM", &pid]).status().expect("kill runs");
        assert!(killed.success());
        let deadline = Instant::now() + Duration::from_secs(30);
        let status = loop {
            if let Some(status) = self.child.try_wait().expect("a status") {
                break status;
            }
            assert!(Instant::now() < deadline, "ivr serve stops within 30 s of SIGTERM");
            std::thread::sleep(Duration::from_millis(20));
        };
        assert!(status.success(), "ivr serve exits 0 on SIGTERM: {status}");
        while let Ok(line) = self.logs.recv_timeout(Duration::from_secs(5)) {
            self.lines.push(line);
        }
        for line in &self.lines {
            json_line(line);
        }
        std::mem::take(&mut self.lines)
    }
}

/// The Prometheus text format, one sample per line; label pairs are sorted so a key does
/// not depend on the exporter's order.
fn parse(text: &str) -> BTreeMap<String, f64> {
    let mut samples = BTreeMap::new();
    for line in text.lines().filter(|l| !l.starts_with('#') && !l.trim().is_empty()) {
        let (series, value) = line.rsplit_once(' ').unwrap_or_else(|| panic!("not a sample: {line}"));
        let value: f64 = value.parse().unwrap_or_else(|_| panic!("not a number: {line}"));
        let key = match series.split_once('{') {
            None => series.to_owned(),
            Some((name, labels)) => {
                let mut pairs: Vec<&str> = labels.trim_end_matches('}').split(',').filter(|p| !p.is_empty()).collect();
                pairs.sort_unstable();
                format!("{name}{{{}}}", pairs.join(","))
            }
        };
        samples.insert(key, value);
    }
    samples
}

fn value(samples: &BTreeMap<String, f64>, key: &str) -> f64 {
    *samples.get(key).unwrap_or_else(|| panic!("no sample `{key}` in {samples:#?}"))
}

/// The records spooled, one JSON line each.
fn spooled_records(data_dir: &Path) -> usize {
    let Ok(entries) = std::fs::read_dir(data_dir.join("spool")) else { return 0 };
    let files: Vec<PathBuf> = entries.flatten().map(|e| e.path()).collect();
    files.iter().map(|f| std::fs::read_to_string(f).unwrap_or_default().lines().filter(|l| !l.is_empty()).count()).sum()
}

async fn fail_to_sign_in(app: &TestApp, times: usize) -> Vec<u16> {
    let client = reqwest::Client::new();
    let login = client.get(format!("{}/login", app.address)).send().await.expect("the login page");
    let cookie = login
        .headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find_map(|line| line.split(';').next().filter(|pair| pair.starts_with("ivr_login=")).map(str::to_owned));
    let csrf = crate::dashboard::csrf_of(&login.text().await.expect("a page"));
    let body = form_urlencoded::Serializer::new(String::new())
        .extend_pairs([
            ("csrf", csrf.as_str()),
            ("name", "stranger"),
            ("password", "not the password"),
            ("next", "/admin"),
        ])
        .finish();
    let mut statuses = Vec::new();
    for _ in 0..times {
        let response = client
            .post(format!("{}/login", app.address))
            .header("content-type", "application/x-www-form-urlencoded")
            .header("cookie", cookie.clone().expect("the form's cookie"))
            .body(body.clone())
            .send()
            .await
            .expect("an answer");
        statuses.push(response.status().as_u16());
    }
    statuses
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metrics_count_calls_transfers_statistics_roster_and_sign_ins() {
    let scratch = tempfile::tempdir().expect("a temporary folder");
    let data_dir = scratch.path().join("data");
    let database = scratch.path().join("db").join("ivr.sqlite3");
    let database_url = ("IVR_DATABASE_URL", format!("sqlite://{}", database.display()));

    // First run: the database's folder does not exist, so the call is spooled.
    let first = serve(std::slice::from_ref(&database_url), &data_dir).await;
    first.app.call_from("+77010000001", "CA00000000000000000000000000000a01").await.press("1").await;
    let down = first.scrape_until("the call spooled", |s| s.get("ivr_stats_spool_files") == Some(&1.0)).await;
    assert_eq!(value(&down, "ivr_database_up"), 0.0);
    assert!(value(&down, "ivr_stats_spool_bytes") > 0.0);
    assert_eq!(value(&down, "ivr_ready"), 0.0, "nobody to ring: no roster and no switchboard");
    let process_only = "ivr_stats_linked_by_this_process_total{record=\"start\"}";
    assert_eq!(value(&down, process_only), 1.0, "no shared key without the database: the call's id is this process's");
    tokio::task::block_in_place(|| first.stop());
    let spooled = spooled_records(&data_dir);
    assert!(spooled >= 2, "the call's steps are spooled: {spooled}");

    // Between the runs: the database comes back, with one Kazakh-speaking operator.
    std::fs::create_dir_all(database.parent().expect("a folder")).expect("the database folder");
    let added = ivr(std::slice::from_ref(&database_url))
        .args(["operators", "add", "--name", "Айгерим", "--target", "+77172000001", "--languages", "kk"])
        .output()
        .expect("ivr operators add runs");
    assert!(added.status.success(), "{}", String::from_utf8_lossy(&added.stderr));

    // This run takes FastAGI conversations too.
    let with_asterisk = [
        database_url.clone(),
        ("IVR_AGI_LISTEN", "127.0.0.1:0".to_owned()),
        ("IVR_ASTERISK_DIAL", "PJSIP/{}@kz-trunk".to_owned()),
    ];
    let second = serve(&with_asterisk, &data_dir).await;
    let app = &second.app;
    let kazakh_operator = "ivr_operators_available{language=\"kk\"}";
    second.scrape_until("the roster loaded", |s| s.get(kazakh_operator) == Some(&1.0)).await;
    // Kazakh: an operator who speaks it answers.
    let mut kazakh = app.call_from("+77010000002", "CA00000000000000000000000000000a02").await;
    kazakh.press("1").await.press("0").await.dial_ends("completed").await.hang_up("completed").await;
    // Russian: the police line does not answer; then only the Kazakh operator is rung, busy.
    let mut russian = app.call_from("+77010000003", "CA00000000000000000000000000000a03").await;
    russian.press("2").await.press("9").await.dial_ends("no-answer").await;
    russian.press("0").await.dial_ends("busy").await;
    // No language chosen: `0` at the language choice rings whoever is free, under its own label.
    let mut undecided = app.call_from("+77010000004", "CA00000000000000000000000000000a04").await;
    undecided.press("0").await;
    // One call on each of the other dialects, hung up at the language choice.
    let mut jambonz = TestApp::attach(app.address.clone(), PUBLIC_URL, data_dir.clone());
    jambonz.dialect = Dialect::Jambonz;
    jambonz.call_from("+77010000005", "0f0c4a52-0000-4000-8000-000000000a05").await.hang_up("completed").await;
    let agi = tokio::net::TcpStream::connect(second.agi.expect("FastAGI listens")).await.expect("connects");
    let channel = Channel::new("+77010000006", "1765000000.6");
    let mut asterisk = AgiCall::start(agi, &environment(&channel, None)).await.expect("a conversation");
    assert!(matches!(asterisk.at, At::Prompt(_)), "{:?}", asterisk.at);
    asterisk.hang_up().await.expect("hung up");
    let not_a_form = app.client.post(format!("{}/twilio/voice", app.address)).body("{}").send().await.expect("sent");
    assert_eq!(not_a_form.status(), 400);
    assert_eq!(fail_to_sign_in(app, 6).await, [401, 401, 401, 401, 401, 429]);

    let samples = second
        .scrape_until("the spool replayed, the roster loaded, the records committed", |s| {
            // Records this instance answers before its writer has connected are spooled too,
            // and then replayed in the same commit as the first run's: wait for the spool to
            // be empty and replayed, not for a number of commits.
            s.get("ivr_stats_spool_files") == Some(&0.0)
                && s.get("ivr_stats_channel_depth") == Some(&0.0)
                && s.get("ivr_stats_records_replayed_total").is_some_and(|n| *n >= spooled as f64)
                && s.get("ivr_stats_commit_duration_seconds_count").is_some_and(|n| *n >= 1.0)
        })
        .await;
    let expected = [
        ("ivr_calls_started_total{dialect=\"twilio\"}", 3.0),
        ("ivr_calls_started_total{dialect=\"jambonz\"}", 1.0),
        ("ivr_calls_started_total{dialect=\"asterisk\"}", 1.0),
        ("ivr_webhooks_total{dialect=\"twilio\",route=\"/twilio/voice\",status=\"200\"}", 3.0),
        ("ivr_webhooks_total{dialect=\"twilio\",route=\"/twilio/voice\",status=\"400\"}", 1.0),
        ("ivr_webhooks_total{dialect=\"twilio\",route=\"/twilio/gather\",status=\"200\"}", 6.0),
        ("ivr_webhooks_total{dialect=\"twilio\",route=\"/twilio/dial\",status=\"200\"}", 3.0),
        ("ivr_webhooks_total{dialect=\"twilio\",route=\"/twilio/status\",status=\"200\"}", 1.0),
        ("ivr_webhook_duration_seconds_count{dialect=\"twilio\",route=\"/twilio/voice\"}", 4.0),
        ("ivr_emergency_transfers_total", 1.0),
        ("ivr_emergency_transfer_outcomes_total{outcome=\"no-answer\"}", 1.0),
        ("ivr_operator_transfers_total{route=\"language\"}", 1.0),
        ("ivr_operator_transfers_total{route=\"any_language\"}", 1.0),
        ("ivr_operator_transfers_total{route=\"language_not_chosen\"}", 1.0),
        // The Russian caller back in the queue after the busy ring: nobody else to ring.
        ("ivr_operator_transfers_total{route=\"nobody\"}", 1.0),
        ("ivr_operator_transfer_outcomes_total{outcome=\"completed\"}", 1.0),
        ("ivr_operator_transfer_outcomes_total{outcome=\"busy\"}", 1.0),
        ("ivr_stats_spool_bytes", 0.0),
        ("ivr_stats_spool_failing", 0.0),
        ("ivr_database_up", 1.0),
        (kazakh_operator, 1.0),
        ("ivr_operators_available{language=\"ru\"}", 0.0),
        ("ivr_switchboard_configured", 0.0),
        ("ivr_ready", 1.0),
        ("ivr_signin_failures_total", 5.0),
        ("ivr_signin_throttled_total", 1.0),
    ];
    for (key, want) in expected {
        assert_eq!(value(&samples, key), want, "{key}");
    }
    // The first run's spooled records, and any of this run's answered before its writer
    // connected: never fewer than the first run left.
    let replayed = value(&samples, "ivr_stats_records_replayed_total");
    assert!(replayed >= spooled as f64 && replayed <= spooled as f64 + 20.0, "replayed {replayed}, spooled {spooled}");
    assert!(value(&samples, "ivr_roster_snapshot_age_seconds") < 5.0, "the roster reloads every 100 ms");
    let buckets = samples.keys().filter(|k| k.starts_with("ivr_webhook_duration_seconds_bucket")).count();
    assert!(buckets > 10, "webhook latency is a histogram with buckets, not a summary");
    let process_only: Vec<&String> =
        samples.keys().filter(|k| k.starts_with("ivr_stats_linked_by_this_process")).collect();
    assert!(process_only.is_empty(), "the keys are read before calls are accepted: {process_only:?}");
    for key in samples.keys() {
        for secret in ["7701000000", "CA000000", "0f0c4a52", "1765000000", "Айгерим", "7717200000", "stranger"] {
            assert!(!key.contains(secret), "a caller's or anyone's identifier in a label: {key}");
        }
    }
    let lines = tokio::task::block_in_place(|| second.stop());
    assert!(lines.iter().any(|l| l.contains("statistics spool replayed")), "{lines:#?}");
}
