//! The admin pages in a real browser: headless Chromium driven through chromedriver, over a
//! database seeded with synthetic history. Runs only with `IVR_TEST_BROWSER=1` (CI sets it, and fails without it: `optional.rs`)
//! and then fails plainly if chromedriver is missing. Screenshots go to
//! `target/screenshots/` for a person to look at.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use chrono::Days;
use fantoccini::{Client, ClientBuilder, Locator};
use ivr::access::Role;
use ivr::stats::Summarize;
use ivr::stats::demo::{self, DemoPlan};
use ivr::stats::{DateRange, Store};
use serde_json::json;

use crate::helpers::bundled_prompts;
use crate::reports::{Seeded, today};

const USER: &str = "aigerim";
const PASSWORD: &str = "correct horse battery staple";

#[tokio::test]
async fn an_analyst_reads_the_dashboard_and_the_prompts_in_chromium() {
    if crate::optional::suite("IVR_TEST_BROWSER", "browser suite (headless Chromium)").is_none() {
        return;
    }
    let seeded = Seeded::new().await;
    let calls = seed_history(&seeded).await;
    ivr::access::add_user(&seeded.store, USER, Role::Analyst, PASSWORD, None).await.expect("a user");
    let driver = ChromeDriver::start().await;
    let browser = driver.session().await;
    let base = seeded.app.address.clone();

    sign_in(&browser, &base).await;
    dashboard_shows_the_numbers(&browser, calls).await;
    the_language_choice_is_remembered(&browser).await;
    screenshot(&browser, "dashboard-desktop", 1280).await;
    screenshot(&browser, "dashboard-phone", 390).await;
    browser.set_window_size(1280, 900).await.expect("resized");
    browser.goto(&format!("{base}/admin/prompts")).await.expect("the prompts page");
    let players = browser.find_all(Locator::Css("audio[controls]")).await.expect("audio elements");
    assert_eq!(players.len(), bundled_prompts().keys().count() * 2, "one player per prompt and language");
    let source = players[0].attr("src").await.expect("an attribute").unwrap_or_default();
    assert!(source.starts_with("/prompts/") && source.ends_with(".wav"), "{source}");
    screenshot(&browser, "prompts", 1280).await;
    browser.close().await.expect("the session ends");
}

/// 60 days of synthetic calls ending today; returns how many the last 30 days hold.
async fn seed_history(seeded: &Seeded) -> i64 {
    let plan = DemoPlan { calls: 6000, days: 60, last_day: today(), seed: 111 };
    let (rows, totals) = demo::generate(&seeded.app.flow, &plan);
    seeded.store.load_synthetic(&rows, &totals).await.expect("demo data loads");
    let range = DateRange { from: today() - Days::new(29), to: today() };
    seeded.store.summary(range).await.expect("a summary").calls
}

async fn sign_in(browser: &Client, base: &str) {
    sign_in_as(browser, base, USER, PASSWORD, "form.range").await;
    let url = browser.current_url().await.expect("a URL");
    assert_eq!(url.path(), "/admin", "signing in opens the dashboard");
}

/// Signs `user` in through the Russian login page and waits for `ready` on the page it opens.
pub async fn sign_in_as(browser: &Client, base: &str, user: &str, password: &str, ready: &str) {
    browser.set_window_size(1280, 900).await.expect("resized");
    browser.goto(&format!("{base}/login?lang=ru")).await.expect("the login page");
    browser.find(Locator::Css("input[name=name]")).await.expect("a name field").send_keys(user).await.expect("typed");
    let field = browser.find(Locator::Css("input[name=password]")).await.expect("a password field");
    field.send_keys(password).await.expect("typed");
    browser.find(Locator::Css("form button[type=submit]")).await.expect("a button").click().await.expect("sent");
    wait_for(browser, ready).await;
}

async fn dashboard_shows_the_numbers(browser: &Client, calls: i64) {
    let first = browser.find(Locator::Css(".card .card-value")).await.expect("the totals");
    let shown = first.text().await.expect("text").replace(['\u{a0}', ' '], "");
    assert_eq!(shown, calls.to_string(), "the calls card shows the last 30 days' calls");
    let charts = browser.find_all(Locator::Css("figure svg")).await.expect("charts");
    assert!(charts.len() >= 5, "the dashboard draws its charts: {}", charts.len());
    let warning = browser.find(Locator::Css("p.warning")).await.expect("the synthetic-data note");
    assert!(!warning.text().await.expect("text").is_empty());
}

async fn the_language_choice_is_remembered(browser: &Client) {
    for (code, label) in [("ru", "Звонки по дням"), ("kk", "Күн сайынғы қоңыраулар")] {
        let button = format!("form.language button[value={code}]");
        browser.find(Locator::Css(&button)).await.expect("a language button").click().await.expect("clicked");
        wait_for(browser, &format!("html[lang={code}] form.range")).await;
        assert!(page_text(browser).await.contains(label), "{code}: `{label}` after switching");
        browser.refresh().await.expect("reloaded");
        wait_for(browser, &format!("html[lang={code}] form.range")).await;
        assert!(page_text(browser).await.contains(label), "{code}: `{label}` after a reload");
    }
}

pub async fn page_text(browser: &Client) -> String {
    browser.find(Locator::Css("body")).await.expect("a body").text().await.expect("text")
}

/// Waits (up to 10 s) for an element the next page has.
pub async fn wait_for(browser: &Client, css: &str) {
    browser
        .wait()
        .at_most(Duration::from_secs(10))
        .for_element(Locator::Css(css))
        .await
        .unwrap_or_else(|e| panic!("no `{css}` on the page: {e}"));
}

/// The whole page at `width` CSS pixels, saved as `target/screenshots/{name}.png`.
pub async fn screenshot(browser: &Client, name: &str, width: u32) {
    browser.set_window_size(width, 900).await.expect("resized");
    // The window's height counts its own frame too: the page's height and the frame's.
    let script = "return document.documentElement.scrollHeight + window.outerHeight - window.innerHeight";
    let height = browser.execute(script, vec![]).await.expect("a height");
    let height = height.as_u64().unwrap_or(900).clamp(600, 8000) as u32;
    browser.set_window_size(width, height).await.expect("resized to the page");
    let png = browser.screenshot().await.expect("a screenshot");
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("target/screenshots");
    std::fs::create_dir_all(&dir).expect("a screenshot folder");
    std::fs::write(dir.join(format!("{name}.png")), png).expect("saved");
}

/// A chromedriver of this test's own, on a free port, stopped when dropped.
pub struct ChromeDriver {
    child: Child,
    url: String,
    profile: tempfile::TempDir,
}

impl ChromeDriver {
    pub async fn start() -> ChromeDriver {
        let binary = find_program("chromedriver").unwrap_or_else(|| {
            panic!("IVR_TEST_BROWSER=1 but chromedriver is not on PATH: apt-get install chromium chromium-driver")
        });
        let port = std::net::TcpListener::bind("127.0.0.1:0").and_then(|l| l.local_addr()).expect("a free port").port();
        let child = Command::new(binary)
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("chromedriver starts");
        let driver = ChromeDriver {
            child,
            url: format!("http://127.0.0.1:{port}"),
            profile: tempfile::tempdir().expect("a profile folder"),
        };
        driver.wait_until_ready().await;
        driver
    }

    /// Polls `/status` until chromedriver says it is ready (at most 20 s).
    async fn wait_until_ready(&self) {
        let client = reqwest::Client::new();
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            let status = client.get(format!("{}/status", self.url)).send().await;
            if let Ok(response) = status {
                let body: serde_json::Value = response.json().await.unwrap_or_default();
                if body["value"]["ready"] == true {
                    return;
                }
            }
            assert!(Instant::now() < deadline, "chromedriver at {} did not become ready in 20 s", self.url);
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    pub async fn session(&self) -> Client {
        let mut options = json!({
            "args": [
                "--headless",
                "--no-sandbox",
                "--disable-gpu",
                "--disable-background-networking",
                "--no-first-run",
                "--hide-scrollbars",
                format!("--user-data-dir={}", self.profile.path().display()),
            ]
        });
        if let Some(chromium) = find_program("chromium") {
            options["binary"] = json!(chromium);
        }
        let mut capabilities = serde_json::Map::new();
        capabilities.insert("goog:chromeOptions".to_owned(), options);
        let connector = hyper_util::client::legacy::connect::HttpConnector::new();
        ClientBuilder::new(connector)
            .capabilities(capabilities)
            .connect(&self.url)
            .await
            .unwrap_or_else(|e| panic!("no Chromium session from chromedriver: {e}"))
    }
}

impl Drop for ChromeDriver {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn find_program(name: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path).map(|dir| dir.join(name)).find(|candidate| candidate.is_file())
}
