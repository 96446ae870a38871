//! The desk in a real browser (headless Chromium through chromedriver, with
//! `IVR_TEST_BROWSER=1`, as `tests/api/browser.rs`): an operator signs in and lands on their
//! desk, presses Away and sees it, a caller put in the queue shows up live, from the
//! server-sent events, without the page being reloaded, and a wrap-up the line starts
//! redraws the desk with its countdown and its End wrap-up button; with the database
//! failing, the desk says so and a press says it was not saved. Screenshots in Kazakh and Russian go
//! to `target/screenshots/desk-*.png` for a person to look at.

use chrono::{TimeDelta, Utc};
use fantoccini::{Client, Locator};
use ivr::access::Role;
use ivr::operators::{Change, StateStore};

use super::{add_operator, desk_app, queue_caller};
use crate::browser::{ChromeDriver, page_text, screenshot, sign_in_as};
use crate::stats::support::Backend;

const USER: &str = "aigerim";
const PASSWORD: &str = "correct horse battery staple";

#[tokio::test]
async fn an_operator_presses_away_and_watches_a_caller_arrive_live_in_chromium() {
    if crate::optional::suite("IVR_TEST_BROWSER", "browser suite (headless Chromium)").is_none() {
        return;
    }
    let (seeded, db) = desk_app(&Backend::Sqlite).await;
    let me = add_operator(&seeded.store, "Айгерим Сапарова", "+77170000001").await;
    add_operator(&seeded.store, "Динара Оспанова", "+77170000002").await;
    add_operator(&seeded.store, "Ерлан Жаксылыков", "+77170000003").await;
    ivr::access::add_user(&seeded.store, USER, Role::Operator, PASSWORD, Some(me)).await.expect("a user");
    let driver = ChromeDriver::start().await;
    let browser = driver.session().await;
    let base = seeded.app.address.clone();

    sign_in(&browser, &base).await;
    shown(&browser, "#live:not([hidden])", None).await;
    screenshot(&browser, "desk-ru-available", 1280).await;

    click(&browser, "form.state-change button").await;
    shown(&browser, "#my-state.state-away", None).await;
    let text = page_text(&browser).await;
    assert!(text.contains("Нет на месте") && text.contains("Так отметили вы сами."), "{text}");
    shown(&browser, "#live:not([hidden])", None).await;

    // The page is not reloaded from here on: a mark left on it stays.
    browser.execute("window.stillHere = true", vec![]).await.expect("marked");
    queue_caller(&seeded.store, 9_100_200_300, Some("kk"), Utc::now() - TimeDelta::seconds(75), false).await;
    queue_caller(&seeded.store, 9_100_200_301, Some("ru"), Utc::now() - TimeDelta::seconds(12), true).await;
    shown(&browser, "#waiting-kk", Some("1")).await;
    shown(&browser, "#waiting-ru", Some("1")).await;
    let still = browser.execute("return window.stillHere === true", vec![]).await.expect("asked");
    assert_eq!(still, serde_json::json!(true), "the numbers came live, without a reload");
    let longest = browser.find(Locator::Css("#longest-kk")).await.expect("a cell").text().await.expect("text");
    assert!(longest.starts_with("1 мин"), "{longest}");
    assert!(!page_text(&browser).await.contains("9100200300"), "no ticket on the page");
    screenshot(&browser, "desk-ru-away-callers", 1280).await;
    screenshot(&browser, "desk-ru-phone", 390).await;

    browser.set_window_size(1280, 900).await.expect("resized");
    click(&browser, "form.language button[value=kk]").await;
    shown(&browser, "html[lang=kk] #my-state.state-away", None).await;
    shown(&browser, "#live:not([hidden])", None).await;
    shown(&browser, "#waiting-kk", Some("1")).await;
    let text = page_text(&browser).await;
    assert!(text.contains("Орнында жоқ") && text.contains("Желі қазір"), "{text}");
    screenshot(&browser, "desk-kk-away-callers", 1280).await;

    click(&browser, "form.state-change button").await;
    shown(&browser, "#my-state.state-available", None).await;
    screenshot(&browser, "desk-kk-available", 1280).await;

    // The line puts me in wrap-up after a call: the desk redraws itself, counting it down.
    shown(&browser, "#live:not([hidden])", None).await;
    let now = Utc::now();
    seeded.store.change_state(me, Change::Answered { transfer: 5 }, now).await.expect("answered");
    let wrap_up = TimeDelta::seconds(90);
    seeded.store.change_state(me, Change::CallEnded { transfer: 5, wrap_up }, now).await.expect("ended");
    shown(&browser, "#my-state.state-wrap_up", None).await;
    let left = browser.find(Locator::Css("#wrap-up-left")).await.expect("seconds left").text().await.expect("text");
    assert!(left.ends_with("секунд қалды"), "{left}");
    screenshot(&browser, "desk-kk-wrap-up", 1280).await;
    let end = browser.find(Locator::Css("form.state-change button")).await.expect("End wrap-up");
    assert_eq!(end.text().await.expect("text"), "Үзілісті аяқтау");
    end.click().await.expect("pressed");
    shown(&browser, "#my-state.state-available", None).await;

    // The database fails (its tables gone, as good as unreachable, while sessions still
    // answer): the desk says so live, and a press says it was not saved.
    let mut raw = <sqlx::SqliteConnection as sqlx::Connection>::connect(&db.url).await.expect("the file");
    for table in ["queue_callers", "operator_states"] {
        sqlx::query(sqlx::AssertSqlSafe(format!("DROP TABLE {table}"))).execute(&mut raw).await.expect("dropped");
    }
    shown(&browser, "#unreachable:not([hidden])", None).await;
    shown(&browser, "#waiting-kk", Some("—")).await;
    click(&browser, "form.state-change button").await;
    shown(&browser, "#not-saved:not([hidden])", None).await;
    screenshot(&browser, "desk-kk-database-down", 1280).await;
    browser.close().await.expect("the session ends");
}

/// Signs in from the Russian login page: an operator lands on their desk.
async fn sign_in(browser: &Client, base: &str) {
    sign_in_as(browser, base, USER, PASSWORD, "#my-state").await;
    assert_eq!(browser.current_url().await.expect("a URL").path(), "/desk", "an operator lands on the desk");
    // The account's language is Kazakh until switched; the desk is read in Russian here.
    click(browser, "form.language button[value=ru]").await;
    shown(browser, "html[lang=ru] #my-state.state-available", None).await;
}

/// Clicks the first element `css` finds.
async fn click(browser: &Client, css: &str) {
    let element = browser.find(Locator::Css(css)).await.unwrap_or_else(|e| panic!("no `{css}`: {e}"));
    element.click().await.unwrap_or_else(|e| panic!("`{css}` cannot be clicked: {e}"));
}

/// Waits (10 s at most) until `css` finds an element, whose text is `expected` if given. The
/// desk may reload itself meanwhile (a press, a change of state): a look that a navigation cut
/// short is tried again.
async fn shown(browser: &Client, css: &str, expected: Option<&str>) {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    loop {
        let text = match browser.find(Locator::Css(css)).await {
            Ok(element) => element.text().await.ok(),
            Err(_) => None,
        };
        if text.as_deref().is_some_and(|text| expected.is_none_or(|expected| text == expected)) {
            return;
        }
        assert!(std::time::Instant::now() < deadline, "{css} still shows {text:?}, not {expected:?}");
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
}
