//! The operators' desk (issue 26, item 4) over HTTP, signed in through the real login form:
//! who may open it, the one-press buttons changing the operator's own state (seen through
//! the state API), the live stream of the line with callers put straight into the queue
//! table, and what the desk says when the database does not answer. On SQLite and (with
//! `IVR_TEST_POSTGRES_URL`) PostgreSQL wherever the stores are touched; the real browser
//! is `browser.rs`.

mod browser;

use chrono::{DateTime, TimeDelta, Utc};
use ivr::access::Role;
use ivr::db::Db;
use ivr::operators::{Change, NewOperator, RosterStore, StateStore};
use serde_json::Value;

use crate::dashboard::{Page, Session, csrf_of};
use crate::helpers::Options;
use crate::reports::Seeded;
use crate::stats::support::{Backend, TestDatabase, on_both_databases};

on_both_databases!(
    an_operator_changes_their_own_state_with_one_press_and_nobody_elses,
    the_stream_sends_the_line_with_the_callers_waiting_and_never_a_ticket,
);

/// The service on a fresh database of `backend`, its roster reloaded every 50 ms.
pub async fn desk_app(backend: &Backend) -> (Seeded, TestDatabase) {
    let db = TestDatabase::new(backend).await;
    let env = vec![("IVR_ROSTER_REFRESH_MS", "50".to_owned())];
    let seeded = Seeded::with(Options { database_url: Some(db.url.clone()), env, ..Options::default() }).await;
    (seeded, db)
}

/// Puts an operator on the roster; returns their id.
pub async fn add_operator(store: &Db, name: &str, target: &str) -> i64 {
    let new = NewOperator::parse(name, target, "both", true).expect("a valid operator");
    store.add_operator(&new).await.expect("stored").id
}

/// Puts a caller in the queue, as the call path would: `ticket` is theirs alone. Their call
/// is due back in a minute, or was a minute ago when `hung_up`.
pub async fn queue_caller(store: &Db, ticket: i64, language: Option<&str>, joined: DateTime<Utc>, rung: bool) {
    put_in_queue(store, ticket, language, joined, rung, false).await;
}

async fn put_in_queue(
    store: &Db,
    ticket: i64,
    language: Option<&str>,
    joined: DateTime<Utc>,
    rung: bool,
    hung_up: bool,
) {
    let due = Utc::now() + TimeDelta::seconds(if hung_up { -60 } else { 60 });
    let offered = rung.then(|| Utc::now() + TimeDelta::seconds(30));
    let sql =
        "INSERT INTO queue_callers (ticket, language, joined_at, due_at, offered_until) VALUES ($1, $2, $3, $4, $5)";
    let inserted = match store {
        Db::Sqlite(db) => {
            let query = sqlx::query(sql).bind(ticket).bind(language).bind(joined).bind(due).bind(offered);
            query.execute(db.writer()).await.map(|_| ())
        }
        Db::Postgres(db) => {
            let query = sqlx::query(sql).bind(ticket).bind(language).bind(joined).bind(due).bind(offered);
            query.execute(db.writer()).await.map(|_| ())
        }
    };
    inserted.expect("the caller is queued");
}

/// An operator's state as an administrator reads it through the API.
async fn api_state(seeded: &Seeded, id: i64) -> Value {
    let admin = seeded.token(Role::Admin).await;
    let got = seeded.get(&format!("/api/v1/operators/{id}/state"), Some(&admin)).await;
    assert_eq!(got.status, 200, "{}", got.body);
    serde_json::from_str(&got.body).expect("JSON")
}

async fn press(session: &mut Session<'_>, state: &str) -> Page {
    let csrf = session.csrf("/desk").await;
    session.post("/desk/state", &[("csrf", &csrf), ("state", state)]).await
}

async fn an_operator_changes_their_own_state_with_one_press_and_nobody_elses(backend: Backend) {
    let (seeded, _db) = desk_app(&backend).await;
    let me = add_operator(&seeded.store, "Айгерим", "+77170000001").await;
    let other = add_operator(&seeded.store, "Динара", "+77170000002").await;
    let mut operator = Session::sign_in(&seeded, "aigerim", Role::Operator, Some(me)).await;

    let page = operator.get("/desk").await;
    assert_eq!(page.status, 200, "{}", page.body);
    assert!(page.body.contains("id=\"my-state\""), "my state is shown");
    assert_eq!(buttons(&page.body), ["away"], "available: only Away applies");

    let pressed = press(&mut operator, "away").await;
    assert_eq!((pressed.status, pressed.location.as_str()), (303, "/desk"), "{}", pressed.body);
    let away = api_state(&seeded, me).await;
    assert_eq!((&away["state"], &away["away_reason"]), (&"away".into(), &"operator".into()), "{away}");
    let page = operator.get("/desk").await;
    assert!(page.body.contains("state-away\" id=\"my-state\""), "{}", page.body);
    assert!(page.body.contains("Мұны өзіңіз белгіледіңіз."), "why I am away, in Kazakh by default");
    assert_eq!(buttons(&page.body), ["available"]);

    assert_eq!(press(&mut operator, "available").await.status, 303);
    assert_eq!(api_state(&seeded, me).await["state"], "available");

    // The line puts me in wrap-up after a call: the desk counts it down and ends it early.
    let now = Utc::now();
    seeded.store.change_state(me, Change::Answered { transfer: 7 }, now).await.expect("answered");
    let wrap_up = TimeDelta::seconds(120);
    seeded.store.change_state(me, Change::CallEnded { transfer: 7, wrap_up }, now).await.expect("ended");
    let page = operator.get("/desk").await;
    assert!(page.body.contains("id=\"wrap-up-left\""), "{}", page.body);
    assert!(page.body.contains("секунд қалды"), "seconds left");
    assert_eq!(buttons(&page.body), ["available", "away"], "End wrap-up, and Away");
    assert_eq!(press(&mut operator, "available").await.status, 303);
    let ended = api_state(&seeded, me).await;
    assert_eq!((&ended["state"], &ended["wrap_up_until"]), (&"available".into(), &Value::Null), "{ended}");

    // Only my own: the form names no operator, and another's id in it changes nothing.
    let csrf = operator.csrf("/desk").await;
    let other_id = other.to_string();
    let pressed = operator.post("/desk/state", &[("csrf", &csrf), ("state", "away"), ("id", &other_id)]).await;
    assert_eq!(pressed.status, 303);
    assert_eq!(api_state(&seeded, other).await["state"], "available", "the other operator is untouched");
    assert_eq!(api_state(&seeded, me).await["state"], "away");
    let url = format!("{}/api/v1/operators/{other}/state", seeded.app.address);
    let request = operator.client.put(&url).header(ivr::access::CSRF_HEADER, &csrf).body(r#"{"state": "away"}"#);
    assert_eq!(operator.send(request).await.status, 403, "nor through the API");
    let refused = press(&mut operator, "on_call").await;
    assert_eq!(refused.status, 400, "on a call is the line's to say: {}", refused.body);
}

/// The states the page's buttons set, in order.
fn buttons(html: &str) -> Vec<&str> {
    html.match_indices("name=\"state\" value=\"")
        .map(|(at, m)| html[at + m.len()..].split('"').next().unwrap_or(""))
        .collect()
}

async fn the_stream_sends_the_line_with_the_callers_waiting_and_never_a_ticket(backend: Backend) {
    let (seeded, _db) = desk_app(&backend).await;
    let me = add_operator(&seeded.store, "Айгерим", "+77170000001").await;
    add_operator(&seeded.store, "Динара", "+77170000002").await;
    let mut operator = Session::sign_in(&seeded, "aigerim", Role::Operator, Some(me)).await;
    let mut stream = Stream::open(&mut operator).await;
    let first =
        stream.until("the roster is read", |line| line["operators"].as_array().is_some_and(|o| o.len() == 2)).await;
    assert_eq!(first["reading"], "current", "{first}");

    let tickets = [7_301_928_465_i64, 7_301_928_466, 7_301_928_467, 7_301_928_468];
    let now = Utc::now();
    queue_caller(&seeded.store, tickets[0], Some("kk"), now - TimeDelta::seconds(95), true).await;
    queue_caller(&seeded.store, tickets[1], Some("kk"), now - TimeDelta::seconds(10), false).await;
    queue_caller(&seeded.store, tickets[2], None, now - TimeDelta::seconds(3), false).await;
    // Hung up: past due, not counted.
    put_in_queue(&seeded.store, tickets[3], Some("ru"), now - TimeDelta::seconds(300), false, true).await;
    let line = stream
        .until("two Kazakh callers and one without a language", |line| {
            queue(line, "kk")["waiting"] == 2 && queue(line, "none")["waiting"] == 1
        })
        .await;
    let kk = queue(&line, "kk");
    assert_eq!(kk["ringing"], 1, "{line}");
    assert!(kk["longest_wait_seconds"].as_u64().is_some_and(|s| (95..110).contains(&s)), "{line}");
    assert_eq!(queue(&line, "none")["waiting"], 1, "{line}");
    assert_eq!(queue(&line, "ru")["waiting"], 0, "{line}");

    let press = press(&mut operator, "away").await;
    assert_eq!(press.status, 303);
    stream.until("my state, live", |line| line["operators"][0]["state"] == "away").await;
    for ticket in tickets {
        assert!(!stream.seen.contains(&ticket.to_string()), "no ticket on the desk's stream: {}", stream.seen);
    }
    let page = operator.get("/desk").await;
    for ticket in tickets {
        assert!(!page.body.contains(&ticket.to_string()), "no ticket on the page");
    }
}

fn queue<'a>(line: &'a Value, code: &str) -> &'a Value {
    let queues = line["queues"].as_array().expect("queues");
    queues.iter().find(|q| q["queue"] == code).expect("the queue")
}

/// `GET /desk/events`, read as the browser reads it.
struct Stream {
    response: reqwest::Response,
    /// Everything received so far.
    seen: String,
    /// Where the next event starts in `seen`.
    read: usize,
}

impl Stream {
    async fn open(session: &mut Session<'_>) -> Stream {
        let jar: Vec<String> = session.cookies.iter().map(|(n, v)| format!("{n}={v}")).collect();
        let url = format!("{}/desk/events", session.seeded.app.address);
        let response = session.client.get(url).header("cookie", jar.join("; ")).send().await.expect("a stream");
        assert_eq!(response.status(), 200);
        assert_eq!(response.headers()["content-type"], "text/event-stream");
        assert_eq!(response.headers()["x-accel-buffering"], "no", "a proxy passes each event on as it comes");
        Stream { response, seen: String::new(), read: 0 }
    }

    /// The first `line` event from now on for which `wanted` holds (10 s at most).
    async fn until(&mut self, what: &str, wanted: impl Fn(&Value) -> bool) -> Value {
        let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(10);
        loop {
            while let Some(end) = self.seen[self.read..].find("\n\n") {
                let event = &self.seen[self.read..self.read + end];
                self.read += end + 2;
                if let Some(data) = event.strip_prefix("event: line\ndata: ") {
                    let line: Value = serde_json::from_str(data).expect("JSON");
                    if wanted(&line) {
                        return line;
                    }
                }
            }
            let chunk = tokio::time::timeout_at(deadline, self.response.chunk()).await;
            let chunk = chunk.unwrap_or_else(|_| panic!("no event in 10 s: {what}; got {}", self.seen));
            let chunk = chunk.expect("the stream reads").expect("the stream stays open");
            self.seen.push_str(std::str::from_utf8(&chunk).expect("UTF-8"));
        }
    }
}

#[tokio::test]
async fn the_desk_is_for_operators_and_an_administrator_watches_without_a_state() {
    let seeded = Seeded::new().await;
    let mut analyst = Session::sign_in(&seeded, "dana", Role::Analyst, None).await;
    assert_eq!(analyst.get("/desk").await.status, 403, "analysts read reports, not the line");
    assert_eq!(analyst.get("/desk/events").await.status, 403);
    let mut stranger = Session { seeded: &seeded, client: analyst.client.clone(), cookies: Vec::new() };
    let page = stranger.get("/desk").await;
    assert_eq!((page.status, page.location.as_str()), (303, "/login?next=%2Fdesk"), "signed out: the login page");

    let mut admin = Session::sign_in(&seeded, "asel", Role::Admin, None).await;
    let page = admin.get("/desk").await;
    assert_eq!(page.status, 200);
    assert!(page.body.contains("операторлар тізіміндегі жазбаға байланбаған"), "no state of their own");
    assert!(!page.body.contains("name=\"state\""), "and no buttons");
    let csrf = csrf_of(&page.body);
    let pressed = admin.post("/desk/state", &[("csrf", &csrf), ("state", "away")]).await;
    assert_eq!(pressed.status, 409, "nothing of theirs to change");
    let jar: Vec<String> = admin.cookies.iter().map(|(n, v)| format!("{n}={v}")).collect();
    let request = admin.client.get(format!("{}/desk", seeded.app.address)).header("cookie", jar.join("; "));
    let policy = request.send().await.expect("an answer");
    let policy = policy.headers()["content-security-policy"].to_str().expect("text").to_owned();
    assert_eq!(policy, ivr::desk::desk_policy());
    assert!(policy.starts_with(ivr::admin::content_security_policy()), "the admin pages' policy, and: {policy}");
    assert!(policy.ends_with("connect-src 'self'") && !policy.contains("unsafe-inline"), "{policy}");
}

#[tokio::test]
async fn the_script_is_the_one_the_policy_admits() {
    use base64::Engine;
    use sha2::Digest;
    let hash = base64::engine::general_purpose::STANDARD.encode(sha2::Sha256::digest(ivr::desk::SCRIPT.as_bytes()));
    assert!(ivr::desk::desk_policy().contains(&format!("script-src 'sha256-{hash}'")));
}

#[tokio::test]
async fn with_the_database_failing_the_desk_says_so_and_a_press_is_not_saved() {
    let (seeded, db) = desk_app(&Backend::Sqlite).await;
    let me = add_operator(&seeded.store, "Айгерим", "+77170000001").await;
    let mut operator = Session::sign_in(&seeded, "aigerim", Role::Operator, Some(me)).await;
    let mut stream = Stream::open(&mut operator).await;
    stream.until("the line is read", |line| line["reading"] == "current" && line["operators"][0]["id"] == me).await;
    // The queue and the states cannot be read from now on (sessions still can: the page opens).
    let mut raw = <sqlx::SqliteConnection as sqlx::Connection>::connect(&db.url).await.expect("the file");
    for table in ["queue_callers", "operator_states"] {
        sqlx::query(sqlx::AssertSqlSafe(format!("DROP TABLE {table}"))).execute(&mut raw).await.expect("dropped");
    }
    let line = stream.until("the database is unreachable", |line| line["reading"] == "database_unreachable").await;
    assert_eq!(line["operators"][0]["state"], "available", "the states from memory: {line}");
    let page = operator.get("/desk").await;
    assert_eq!(page.status, 200, "never an error page: {}", page.body);
    assert!(page.body.contains("id=\"unreachable\" role=\"status\">"), "the warning is shown");
    assert!(page.body.contains("state-available\" id=\"my-state\""), "my state from memory");
    let pressed = press(&mut operator, "away").await;
    assert_eq!(pressed.status, 503);
    assert!(pressed.body.contains("Өзгеріс сақталмады"), "the press says it was not saved: {}", pressed.body);
}

#[tokio::test]
async fn an_open_stream_ends_when_the_instance_starts_draining() {
    let (seeded, _db) = desk_app(&Backend::Sqlite).await;
    let me = add_operator(&seeded.store, "Айгерим", "+77170000001").await;
    let mut operator = Session::sign_in(&seeded, "aigerim", Role::Operator, Some(me)).await;
    let mut stream = Stream::open(&mut operator).await;
    stream.until("the line", |line| line["reading"] == "current").await;
    seeded.app.state.as_ref().expect("in this process").start_draining();
    let ended = tokio::time::timeout(std::time::Duration::from_secs(5), async {
        while let Some(chunk) = stream.response.chunk().await.expect("the stream reads") {
            stream.seen.push_str(&String::from_utf8_lossy(&chunk));
        }
    })
    .await;
    assert!(ended.is_ok(), "the stream ended with the drain, not held it: {}", stream.seen);
}
