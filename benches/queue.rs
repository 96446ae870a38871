//! The operators' queue under load (issue 26): 1,000 callers waiting for 50 operators,
//! against the real `ivr serve` in a process of its own. What it answers: how long a free
//! operator waits for their phone to ring, how fast the waiting callers' asks are answered,
//! and how much database work each waiting caller costs.
//!
//! `cargo bench --bench queue [-- CALLERS [OPERATORS [SECONDS]]] [--postgres URL]
//! [--count-statements]` (1,000 callers, 50 operators, 110 s by default). The service is
//! this build's `ivr` (the release profile under `cargo bench`), run as README's `cargo run`
//! runs it: default log level, statistics on into `ivr.sqlite3` in its working folder (a
//! scratch folder holding links to the bundled flow and prompts), the queue's defaults
//! (`longest_free`, 5 s stretches of waiting, 120 s longest wait) and 30 s of wrap-up; only
//! its address is a free loopback port, and FastAGI is off (a TwiML line). `--postgres URL` (a server's URL, without a
//! database) creates a database of its own there, runs on it and drops it: how several
//! instances share the queue. `--count-statements` logs sqlx's statements (`IVR_LOG`
//! `sqlx::query=debug`) and counts them, by their first word, over the measured window:
//! the database's work counted rather than inferred, at the cost of a log line per
//! statement (so the other figures of such a run are not the default configuration's).
//!
//! This process is the platform, TwiML over HTTP on loopback, and the operators' phones.
//! The operators are added with `ivr operators add`: a fifth speak both languages, the
//! rest Kazakh or Russian in turn. A caller asks for an operator with `0` on the main menu
//! (their call resumes there, Kazakh and Russian in turn: the menus before are measured
//! elsewhere), then, whenever the service answers a `<Gather>`, stays silent for its
//! timeout and follows its `<Redirect>` (each stretch of waiting ends in an ask for their
//! turn), as a platform would but for the prompts' own length, which is not waited for.
//! The callers join spread over one stretch of waiting, so their asks are spread evenly;
//! one who is put through is replaced by a new caller at the back, so the queue stays
//! full. A caller rung has the operator answer after [`RING`] (the whisper's URL fetched),
//! talk 1 to 6 s, and hang up (the dial's action, `completed` with its `DialCallDuration`,
//! then the call's status callback). The operator is free again 30 s after the dial's end
//! was sent (the service stamps the wrap-up when it reads that report, a moment later, so
//! the free → ring figure is high by that moment); the next `<Dial>` ringing them, when its
//! document arrives, ends their wait. Any ring of an operator who is not free by that
//! reckoning (being rung for another caller, on a call, in wrap-up), a `<Dial>` of more or
//! other than one operator, or a webhook not answered 200 is counted and printed.
//!
//! The run stops before the first callers' longest wait (120 s) would send them to the
//! busy menu: that is another regime, with its own document every stretch.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "a benchmark stops at the first surprise, with the message saying which"
)]

#[path = "support/process.rs"]
mod process;
#[path = "queue/service.rs"]
mod service;

use std::collections::{BTreeMap, HashMap};
use std::rc::Rc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use ivr::softphone::{Caller, Event, Reply, WebhookDialect, Whisper, twilio_params};
use tokio::sync::Mutex;

use service::{Postgres, Service, ticks_per_second};

const IVR: &str = env!("CARGO_BIN_EXE_ivr");
/// How long an operator's phone rings before they answer.
const RING: Duration = Duration::from_millis(500);
/// IVR_WRAP_UP_SECONDS's default.
const WRAP_UP: Duration = Duration::from_secs(30);
/// IVR_QUEUE_WAIT_SECONDS's default: the callers join spread over one stretch.
const STRETCH: Duration = Duration::from_secs(5);

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let mut numbers = args.iter().filter_map(|a| a.parse::<u64>().ok());
    let callers = numbers.next().unwrap_or(1_000);
    let operators = numbers.next().unwrap_or(50);
    let seconds = numbers.next().unwrap_or(110);
    let postgres = args.iter().position(|a| a == "--postgres").map(|i| args[i + 1].clone());
    let count_statements = args.iter().any(|a| a == "--count-statements");
    rlimit::increase_nofile_limit(u64::MAX).expect("the descriptor limit");

    let scratch = tempfile::tempdir().expect("a scratch folder");
    let database = postgres.as_deref().map(Postgres::create);
    let url = database.as_ref().map_or_else(|| "sqlite://ivr.sqlite3".to_owned(), |d| d.url.clone());
    let service = Service::start(scratch.path(), &url, count_statements);
    println!("ivr serve ({IVR}), pid {}, database {}", service.child.id(), url.split('/').next_back().unwrap_or(""));
    let targets = service.add_operators(operators);
    // The roster is reloaded every second (IVR_ROSTER_REFRESH_MS): every instance has it.
    std::thread::sleep(Duration::from_millis(2_500));
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("runtime");
    let plan = Plan { callers, seconds, targets };
    runtime.block_on(measure(&service, &plan, database.as_ref()));
    if count_statements {
        service.count_statements();
    }
    service.stop();
    if let Some(database) = database {
        database.drop_it();
    }
}

/// What the run does.
struct Plan {
    callers: u64,
    seconds: u64,
    targets: Vec<String>,
}

/// An operator's phone, as this process reckons it.
#[derive(Clone, Copy, Debug)]
enum Phone {
    /// Free, since this moment if they were on a call before (`None`: since the start).
    Free(Option<Instant>),
    Ringing,
    Talking,
    /// Free from this moment.
    WrapUp(Instant),
}

/// What the callers share: the operators' phones and what was measured.
struct Line {
    http: reqwest::Client,
    base: String,
    phones: Mutex<HashMap<String, Phone>>,
    free_to_ring: Mutex<Vec<Duration>>,
    /// When each ask was answered, and how long it took.
    asks: Mutex<Vec<(Instant, Duration)>>,
    problems: Mutex<BTreeMap<String, u64>>,
    /// The nodes waiting callers were answered on, and how often.
    nodes: Mutex<BTreeMap<String, u64>>,
    waiting: AtomicU64,
    put_through: AtomicU64,
    stopping: AtomicBool,
    sids: AtomicU64,
}

impl Line {
    async fn problem(&self, what: String) {
        *self.problems.lock().await.entry(what).or_default() += 1;
    }

    /// Posts `event` to `url` for `caller`'s call; the document and the time it took, or
    /// `None` (counted as a problem) when it was not answered 200.
    async fn post(
        &self,
        url: &str,
        caller: &Caller,
        event: Event<'_>,
        talked: Option<u64>,
    ) -> Option<(String, Duration)> {
        let mut params = twilio_params(caller, event);
        if let Some(seconds) = talked {
            for (name, value) in &mut params {
                if name == "DialCallDuration" {
                    *value = seconds.to_string();
                }
            }
        }
        let body = form_urlencoded::Serializer::new(String::new()).extend_pairs(&params).finish();
        let started = Instant::now();
        let sent = self.http.post(url).header("content-type", "application/x-www-form-urlencoded").body(body).send();
        let response = match sent.await {
            Ok(response) => response,
            Err(error) => {
                self.problem(format!("request failed: {error}")).await;
                return None;
            }
        };
        let status = response.status().as_u16();
        let text = response.text().await.unwrap_or_default();
        let took = started.elapsed();
        if status != 200 {
            let route = url.split('?').next().unwrap_or(url).rsplit('/').next().unwrap_or("");
            self.problem(format!("{route} answered {status}")).await;
            return None;
        }
        Some((text, took))
    }
}

async fn measure(service: &Service, plan: &Plan, database: Option<&Postgres>) {
    let http = reqwest::Client::builder().pool_max_idle_per_host(usize::MAX).build().expect("a client");
    let line = Rc::new(Line {
        http,
        base: format!("http://{}", service.http),
        phones: Mutex::new(plan.targets.iter().map(|t| (t.clone(), Phone::Free(None))).collect()),
        free_to_ring: Mutex::new(Vec::new()),
        asks: Mutex::new(Vec::new()),
        problems: Mutex::new(BTreeMap::new()),
        nodes: Mutex::new(BTreeMap::new()),
        waiting: AtomicU64::new(0),
        put_through: AtomicU64::new(0),
        stopping: AtomicBool::new(false),
        sids: AtomicU64::new(0),
    });
    let started = Instant::now();
    let local = tokio::task::LocalSet::new();
    local
        .run_until(async {
            let spacing = STRETCH / u32::try_from(plan.callers.max(1)).unwrap_or(u32::MAX);
            for n in 0..plan.callers {
                tokio::task::spawn_local(caller(line.clone(), n % 2 == 0));
                tokio::time::sleep_until((started + spacing * u32::try_from(n + 1).unwrap_or(u32::MAX)).into()).await;
            }
            // The measured window: from one stretch after the last caller joined (every
            // caller has asked once) to the end.
            tokio::time::sleep(STRETCH).await;
            let window = Window::open(service, database, &line);
            tokio::time::sleep_until((started + Duration::from_secs(plan.seconds)).into()).await;
            let window = window.close(service, database);
            line.stopping.store(true, Ordering::Relaxed);
            // Calls in progress end within a stretch, a ring and a talk.
            tokio::time::sleep(STRETCH + RING + Duration::from_secs(7)).await;
            report(&line, &window, plan, started).await;
        })
        .await;
}

/// The service and the line between the window's two ends.
struct Window {
    from: Instant,
    to: Instant,
    cpu_ticks: u64,
    rss_kib: i64,
    commits: Option<i64>,
    /// Callers waiting, sampled each second through the window.
    waiting: Vec<u64>,
    log_from: u64,
    log_to: u64,
}

impl Window {
    fn open(service: &Service, database: Option<&Postgres>, line: &Rc<Line>) -> Window {
        let sampled = line.clone();
        let samples = Rc::new(std::cell::RefCell::new(Vec::new()));
        let into = samples.clone();
        tokio::task::spawn_local(async move {
            while !sampled.stopping.load(Ordering::Relaxed) {
                into.borrow_mut().push(sampled.waiting.load(Ordering::Relaxed));
                tokio::time::sleep(Duration::from_secs(1)).await;
            }
        });
        SAMPLES.with(|s| *s.borrow_mut() = Some(samples));
        Window {
            from: Instant::now(),
            to: Instant::now(),
            cpu_ticks: service.cpu_ticks(),
            rss_kib: service.rss_kib(),
            commits: database.map(Postgres::commits),
            waiting: Vec::new(),
            log_from: service.log_len(),
            log_to: 0,
        }
    }

    fn close(mut self, service: &Service, database: Option<&Postgres>) -> Window {
        self.to = Instant::now();
        self.cpu_ticks = service.cpu_ticks() - self.cpu_ticks;
        self.rss_kib = service.rss_kib();
        self.commits = database.map(Postgres::commits).zip(self.commits).map(|(after, before)| after - before);
        self.waiting = SAMPLES.with(|s| s.borrow().as_ref().map(|v| v.borrow().clone()).unwrap_or_default());
        self.log_to = service.log_len();
        LOG_WINDOW.with(|w| w.set((self.log_from, self.log_to)));
        self
    }

    fn minutes(&self) -> f64 {
        (self.to - self.from).as_secs_f64() / 60.0
    }

    fn mean_waiting(&self) -> f64 {
        self.waiting.iter().sum::<u64>() as f64 / self.waiting.len().max(1) as f64
    }
}

type Samples = Rc<std::cell::RefCell<Vec<u64>>>;

thread_local! {
    static SAMPLES: std::cell::RefCell<Option<Samples>> = const { std::cell::RefCell::new(None) };
    static LOG_WINDOW: std::cell::Cell<(u64, u64)> = const { std::cell::Cell::new((0, 0)) };
}

async fn report(line: &Line, window: &Window, plan: &Plan, started: Instant) {
    let asks = line.asks.lock().await;
    let in_window: Vec<Duration> =
        asks.iter().filter(|(at, _)| (window.from..window.to).contains(at)).map(|(_, took)| *took).collect();
    let seconds = (window.to - window.from).as_secs_f64();
    let rate = in_window.len() as f64 / seconds;
    let waiting = window.mean_waiting();
    println!(
        "{} callers for {} operators, {:.0} s; measured from {:.1} s to {:.1} s",
        plan.callers,
        plan.targets.len(),
        plan.seconds,
        (window.from - started).as_secs_f64(),
        (window.to - started).as_secs_f64()
    );
    println!(
        "waiting callers (mean of each second): {waiting:.0}; put through in all: {}",
        line.put_through.load(Ordering::Relaxed)
    );
    println!("asks answered: {:.1}/s; an ask's webhook: {}", rate, Percentiles::of(in_window.clone()));
    let free_to_ring = line.free_to_ring.lock().await.clone();
    println!("free → ring: {} (n = {})", Percentiles::of(free_to_ring.clone()), free_to_ring.len());
    let cpu = window.cpu_ticks as f64 / ticks_per_second();
    println!(
        "the service: CPU {:.1} % of one core ({:.0} µs per ask), RSS {} KiB at the end",
        cpu / seconds * 100.0,
        cpu / in_window.len().max(1) as f64 * 1e6,
        window.rss_kib
    );
    if let Some(commits) = window.commits {
        let per_minute = commits as f64 / window.minutes();
        println!(
            "PostgreSQL transactions committed: {commits} ({:.0} a minute, {:.2} per ask, {:.1} per waiting caller per minute)",
            per_minute,
            commits as f64 / in_window.len().max(1) as f64,
            per_minute / waiting.max(1.0)
        );
    }
    println!("asks per waiting caller per minute: {:.1}", rate * 60.0 / waiting.max(1.0));
    println!("nodes the waiting were answered on: {:?}", line.nodes.lock().await);
    let problems = line.problems.lock().await;
    println!("problems: {}", if problems.is_empty() { "none".to_owned() } else { format!("{problems:?}") });
    STATEMENT_CONTEXT.with(|c| c.set((in_window.len() as u64, seconds, waiting)));
}

thread_local! {
    /// Asks in the window, its seconds and the mean of callers waiting, for the count.
    static STATEMENT_CONTEXT: std::cell::Cell<(u64, f64, f64)> = const { std::cell::Cell::new((0, 0.0, 0.0)) };
}

/// One caller: asks for an operator on the main menu and waits, silent, until rung; then
/// the operator answers, talks and hangs up. Replaced by a new caller when put through.
async fn caller(line: Rc<Line>, kazakh: bool) {
    let sid = line.sids.fetch_add(1, Ordering::Relaxed);
    let caller = Caller { number: format!("+7701{:07}", sid % 10_000_000), call_sid: format!("CA{sid:032x}") };
    let language = if kazakh { "kk" } else { "ru" };
    let state = format!("c={:016x}&n=main&f=0&t=0&s=0&l={language}", rand::random::<u64>());
    let Some((document, _)) =
        line.post(&format!("{}/twilio/gather?{state}", line.base), &caller, Event::Pressed("0"), None).await
    else {
        return;
    };
    let mut reply = parse(&line, &document).await;
    line.waiting.fetch_add(1, Ordering::Relaxed);
    loop {
        match reply {
            Some(Reply::Gather { no_input, timeout_seconds, action, .. }) => {
                *line.nodes.lock().await.entry(node(&action)).or_default() += 1;
                tokio::time::sleep(Duration::from_secs(timeout_seconds.into())).await;
                if line.stopping.load(Ordering::Relaxed) {
                    line.waiting.fetch_sub(1, Ordering::Relaxed);
                    return;
                }
                let Some((document, took)) = line.post(&no_input, &caller, Event::Silence, None).await else {
                    line.waiting.fetch_sub(1, Ordering::Relaxed);
                    return;
                };
                line.asks.lock().await.push((Instant::now(), took));
                reply = parse(&line, &document).await;
            }
            Some(Reply::Dial { targets, action, .. }) => {
                line.waiting.fetch_sub(1, Ordering::Relaxed);
                put_through(&line, &caller, &targets, &action).await;
                if !line.stopping.load(Ordering::Relaxed) {
                    tokio::task::spawn_local(Box::pin(caller_again(line.clone(), kazakh)));
                }
                return;
            }
            other => {
                line.waiting.fetch_sub(1, Ordering::Relaxed);
                line.problem(format!("a waiting caller was answered {other:?}")).await;
                return;
            }
        }
    }
}

/// A new caller in the place of one put through (a function of its own: `caller` cannot
/// spawn itself directly).
async fn caller_again(line: Rc<Line>, kazakh: bool) {
    Box::pin(caller(line, kazakh)).await;
}

/// The operator rung answers, talks 1 to 6 s and hangs up; the caller's call ends.
async fn put_through(line: &Line, caller: &Caller, targets: &[ivr::softphone::Target], action: &str) {
    let rung_at = Instant::now();
    if targets.len() != 1 {
        line.problem(format!("a dial of {} operators", targets.len())).await;
    }
    let Some(target) = targets.first() else { return };
    {
        let mut phones = line.phones.lock().await;
        let Some(phone) = phones.get_mut(&target.address) else {
            drop(phones);
            line.problem(format!("a dial of {}, not an operator", target.address)).await;
            return;
        };
        match *phone {
            Phone::Free(Some(since)) | Phone::WrapUp(since) if since <= rung_at => {
                line.free_to_ring.lock().await.push(rung_at - since);
            }
            Phone::Free(_) => {}
            Phone::WrapUp(_) => line.problem("an operator rung in their wrap-up".to_owned()).await,
            Phone::Ringing => line.problem("an operator rung for two callers at once".to_owned()).await,
            Phone::Talking => line.problem("an operator rung while on a call".to_owned()).await,
        }
        *phone = Phone::Ringing;
    }
    tokio::time::sleep(RING).await;
    if let Some(Whisper::Hook(url)) = &target.whisper {
        line.post(url, caller, Event::Answered, None).await;
    } else {
        line.problem("a ring without a whisper hook".to_owned()).await;
    }
    line.phones.lock().await.insert(target.address.clone(), Phone::Talking);
    line.put_through.fetch_add(1, Ordering::Relaxed);
    let talk = rand::random_range(1..=6);
    tokio::time::sleep(Duration::from_secs(talk)).await;
    let ended = Instant::now();
    line.phones.lock().await.insert(target.address.clone(), Phone::WrapUp(ended + WRAP_UP));
    line.post(action, caller, Event::DialEnded("completed"), Some(talk)).await;
    let status = format!("{}/twilio/status", line.base);
    line.post(&status, caller, Event::StatusAfter("completed", u32::try_from(talk).unwrap_or(0) + 40), None).await;
}

async fn parse(line: &Line, document: &str) -> Option<Reply> {
    match WebhookDialect::Twiml.parse(document) {
        Ok(reply) => Some(reply),
        Err(error) => {
            line.problem(format!("a document not read: {error}")).await;
            None
        }
    }
}

/// The node in a hook URL's state.
fn node(url: &str) -> String {
    let query = url.split_once('?').map_or("", |(_, q)| q);
    form_urlencoded::parse(query.as_bytes()).find(|(n, _)| n == "n").map(|(_, v)| v.into_owned()).unwrap_or_default()
}

struct Percentiles(Vec<Duration>);

impl Percentiles {
    fn of(mut durations: Vec<Duration>) -> Percentiles {
        durations.sort_unstable();
        Percentiles(durations)
    }

    fn at(&self, q: f64) -> f64 {
        if self.0.is_empty() {
            return f64::NAN;
        }
        let index = ((self.0.len() as f64 * q).ceil() as usize).clamp(1, self.0.len()) - 1;
        self.0[index].as_secs_f64() * 1000.0
    }
}

impl std::fmt::Display for Percentiles {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "p50 {:.2} ms, p99 {:.2} ms, max {:.2} ms", self.at(0.5), self.at(0.99), self.at(1.0))
    }
}
