//! `spawn_app` starts the real service on port 0; `Call` plays the telephony platform in
//! the app's dialect (TwiML or jambonz), following the documents it gets back exactly as
//! the platform would. Whole-call tests take a [`Dialect`] and run once per dialect
//! (`in_both_dialects!`): one driver, not a copy per dialect. Every jambonz document a test
//! receives is written to [`jambonz_documents_dir`] for CI to run jambonz's own validator over.

use std::collections::HashMap;
use std::io::Write;
use std::path::PathBuf;
use std::sync::{Arc, Mutex, OnceLock};

use ivr::app;
use ivr::config::Settings;
use ivr::flow::{Flow, NodeKind};
use ivr::prompts::PromptLibrary;
use ivr::softphone::{self, Caller, Dialect, Event, Reply, Webhook};
use ivr::stats::Recorder;
use sqlx::Connection;

/// The base URL the pretend provider believes it calls; requests go to the test server.
pub const PUBLIC_URL: &str = "https://ivr.test";
pub const OPERATOR_NUMBER: &str = "+77170000111";

pub struct TestApp {
    pub address: String,
    pub client: reqwest::Client,
    pub public_url: String,
    /// The dialect `call`s speak.
    pub dialect: Dialect,
    /// The dialect's signing secret: the Twilio auth token or the jambonz webhook secret.
    pub token: Option<String>,
    pub flow: Flow,
    /// The running service's statistics recorder: `flush` it before reading the database.
    pub stats: Recorder,
    pub data_dir: PathBuf,
    /// The running service's shared state (a test may start its draining); `None` for a
    /// service in another process.
    pub state: Option<ivr::state::AppState>,
    /// Where the service takes FastAGI conversations (`IVR_AGI_LISTEN`), when it does.
    pub agi: Option<std::net::SocketAddr>,
    server: Server,
}

/// The spawned server, and what stops it the way SIGTERM does.
struct Server {
    stop: Mutex<Option<tokio::sync::oneshot::Sender<()>>>,
    task: Option<tokio::task::JoinHandle<std::io::Result<()>>>,
    /// The fresh database and data folder made for this test, deleted with it.
    _scratch: Option<Arc<tempfile::TempDir>>,
}

/// What a test may change about the service it starts.
pub struct Options {
    pub dialect: Dialect,
    /// The dialect's signing secret (`IVR_TWILIO_AUTH_TOKEN` or `IVR_JAMBONZ_WEBHOOK_SECRET`).
    pub token: Option<String>,
    pub operator: Option<String>,
    pub public_url: String,
    /// `None`: a fresh SQLite file in a temporary folder.
    pub database_url: Option<String>,
    /// `None`: a fresh temporary folder (the statistics spool goes here).
    pub data_dir: Option<PathBuf>,
    /// More settings, such as `("IVR_STATS_BATCH_MS", "60000")`.
    pub env: Vec<(&'static str, String)>,
    /// Whether the test waits (5 s at most) for the server to have read the shared linking
    /// keys beyond the moment the server waits itself before accepting; `false` for a test
    /// of what the platform meets at start-up, as in production.
    pub wait_for_keys: bool,
}

impl Default for Options {
    fn default() -> Options {
        Options {
            dialect: Dialect::Twiml,
            token: None,
            operator: Some(OPERATOR_NUMBER.to_owned()),
            public_url: PUBLIC_URL.to_owned(),
            database_url: None,
            data_dir: None,
            env: Vec::new(),
            wait_for_keys: true,
        }
    }
}

pub async fn spawn_app() -> TestApp {
    spawn_app_with(Options::default()).await
}

/// The service, called in `dialect`.
pub async fn spawn_in(dialect: Dialect) -> TestApp {
    spawn_app_with(Options { dialect, ..Options::default() }).await
}

/// Runs each named `async fn(Dialect)` as two tests, `twiml::name` and `jambonz::name`.
macro_rules! in_both_dialects {
    ($($name:ident),* $(,)?) => {
        mod twiml {
            $(
                #[tokio::test]
                async fn $name() {
                    super::$name(ivr::softphone::Dialect::Twiml).await
                }
            )*
        }
        mod jambonz {
            $(
                #[tokio::test]
                async fn $name() {
                    super::$name(ivr::softphone::Dialect::Jambonz).await
                }
            )*
        }
    };
}
pub(crate) use in_both_dialects;

pub async fn spawn_app_with(options: Options) -> TestApp {
    capture_logs();
    let root = env!("CARGO_MANIFEST_DIR");
    let mut env = HashMap::from([
        ("IVR_LISTEN", "127.0.0.1:0".to_owned()),
        ("IVR_AGI_LISTEN", "127.0.0.1:0".to_owned()),
        ("IVR_ASTERISK_DIAL", "PJSIP/{}@kz-trunk".to_owned()),
        // The same on every instance of a test's line, as on a real one.
        ("IVR_LINE_SECRET", "test-line-secret".to_owned()),
        ("IVR_PUBLIC_URL", options.public_url.clone()),
        ("IVR_FLOW", format!("{root}/flows/hotline.toml")),
        ("IVR_PROMPTS", format!("{root}/prompts")),
        // A test stops its server when it is done with it: no drain period to sit out.
        ("IVR_DRAIN_MS", "0".to_owned()),
    ]);
    if let Some(token) = &options.token {
        let name = match options.dialect {
            Dialect::Twiml => "IVR_TWILIO_AUTH_TOKEN",
            Dialect::Jambonz => "IVR_JAMBONZ_WEBHOOK_SECRET",
        };
        env.insert(name, token.clone());
    }
    if let Some(operator) = &options.operator {
        env.insert("IVR_OPERATOR_NUMBER", operator.clone());
    }
    let scratch = Arc::new(tempfile::tempdir().expect("a temporary folder"));
    let database_url = options
        .database_url
        .clone()
        .unwrap_or_else(|| format!("sqlite://{}", scratch.path().join("stats.sqlite3").display()));
    let data_dir = options.data_dir.clone().unwrap_or_else(|| scratch.path().join("data"));
    env.insert("IVR_DATABASE_URL", database_url.clone());
    env.insert("IVR_DATA_DIR", data_dir.display().to_string());
    env.extend(options.env.iter().cloned());
    let settings = Settings::from_lookup(|name| env.get(name).cloned()).expect("test settings are valid");
    let flow = Flow::load(&settings.flow_path).expect("bundled flow loads");
    let loaded =
        ivr::state::assemble(settings, flow.clone(), bundled_prompts().clone()).expect("bundled flow is valid");
    let server = app::Server::build(loaded).await.expect("server binds");
    let address = format!("http://{}", server.local_addr().expect("bound"));
    let stats = server.stats().clone();
    if options.wait_for_keys {
        keys_loaded(&stats, &database_url).await;
    }
    let state = server.state().clone();
    let agi = server.agi_addr();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let task = tokio::spawn(server.run_until(async move {
        let _ = stopped.await;
    }));
    let server = Server { stop: Mutex::new(Some(stop)), task: Some(task), _scratch: Some(scratch) };
    TestApp {
        address,
        client: reqwest::Client::new(),
        public_url: options.public_url,
        dialect: options.dialect,
        token: options.token,
        flow,
        stats,
        data_dir,
        state: Some(state),
        agi,
        server,
    }
}

/// A reply as text without the call's start second (`&b=…` in its URLs): a redelivered
/// incoming-call webhook is answered a second later, perhaps, and says so.
fn without_start(reply: &Reply) -> String {
    let text = format!("{reply:?}");
    let mut out = String::with_capacity(text.len());
    let mut rest = text.as_str();
    while let Some(at) = rest.find("&b=") {
        out.push_str(&rest[..at]);
        rest = rest[at + 3..].trim_start_matches(|c: char| c.is_ascii_digit());
    }
    out.push_str(rest);
    out
}

/// When the test's database can be reached, waits (up to 5 s) until the server has read the
/// shared linking keys from it, so that every webhook of the test is linked by them (before
/// that, a call is linked by a key of this process only: see `ivr/stats/keys.rs`). A
/// database that cannot be reached, or is locked for writing from the start, leaves the
/// server on its own keys, as in production.
async fn keys_loaded(stats: &ivr::stats::Recorder, database_url: &str) {
    let reachable = match database_url.strip_prefix("sqlite://") {
        Some(file) => std::path::Path::new(file).parent().is_some_and(std::path::Path::exists),
        None => sqlx::PgConnection::connect(database_url).await.is_ok(),
    };
    for _ in 0..(if reachable { 500 } else { 0 }) {
        if stats.keys_shared() {
            return;
        }
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
}

/// The bundled prompt library, read once for the whole test binary.
pub fn bundled_prompts() -> &'static PromptLibrary {
    static PROMPTS: OnceLock<PromptLibrary> = OnceLock::new();
    PROMPTS.get_or_init(|| {
        PromptLibrary::load(&std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("prompts"))
            .expect("bundled prompt library is valid")
    })
}

/// The form fields Twilio sends about a caller: everything the service must never keep.
pub fn caller_fields(number: &str, call_sid: &str) -> Vec<(String, String)> {
    softphone::twilio_params(&caller(number, call_sid), Event::Silence)
}

fn caller(number: &str, call_sid: &str) -> Caller {
    Caller { number: number.to_owned(), call_sid: call_sid.to_owned() }
}

/// Where the tests leave every jambonz document the service answered, for `.ci/run` to
/// validate with `@jambonz/verb-specifications` (`IVR_TEST_JAMBONZ_DOCUMENTS` to move it).
pub fn jambonz_documents_dir() -> PathBuf {
    std::env::var_os("IVR_TEST_JAMBONZ_DOCUMENTS")
        .map_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("target/jambonz-documents"), PathBuf::from)
}

/// Keeps one copy of each distinct jambonz document, named by its content.
pub fn keep_jambonz_document(body: &str) {
    use sha2::Digest;
    if body.is_empty() {
        return;
    }
    let dir = jambonz_documents_dir();
    let name = hex::encode(&sha2::Sha256::digest(body.as_bytes())[..12]);
    std::fs::create_dir_all(&dir).expect("the jambonz documents folder");
    let path = dir.join(format!("{name}.json"));
    if !path.exists() {
        std::fs::write(path, body).expect("a jambonz document is written");
    }
}

pub struct Posted {
    pub status: u16,
    pub body: String,
}

impl TestApp {
    /// A service already running in another process at `address` (`http://…`), which
    /// believes it is reached at `public_url`. Its statistics cannot be flushed from here:
    /// `stats` is a recorder of this process's own, on a scratch database, that nothing uses.
    pub fn attach(address: String, public_url: &str, data_dir: PathBuf) -> TestApp {
        let scratch = data_dir.join("unused-by-this-process").display().to_string();
        let settings =
            Settings::from_lookup(|name| (name == "IVR_DATA_DIR").then(|| scratch.clone())).expect("defaults");
        let db = ivr::db::Db::connect_lazy("sqlite::memory:").expect("an in-memory SQLite URL");
        let (stats, _stats_tasks) = ivr::stats::start(&settings, db);
        TestApp {
            address,
            client: reqwest::Client::new(),
            public_url: public_url.to_owned(),
            dialect: Dialect::Twiml,
            token: None,
            flow: Flow::load(&std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("flows/hotline.toml"))
                .expect("bundled flow loads"),
            stats,
            data_dir,
            state: None,
            agi: None,
            server: Server { stop: Mutex::new(None), task: None, _scratch: None },
        }
    }

    /// What SIGTERM does: the service starts draining (see `stop` to wait for its end).
    pub fn send_shutdown_signal(&self) {
        if let Some(stop) = self.server.stop.lock().expect("the stop signal").take() {
            let _ = stop.send(());
        }
    }

    /// Stops the service as SIGTERM does, and returns once it has drained (the drain period
    /// is 0 unless the test set `IVR_DRAIN_MS`) and spooled or committed its statistics.
    pub async fn stop(mut self) {
        self.send_shutdown_signal();
        if let Some(task) = self.server.task.take() {
            task.await.expect("the server task ends").expect("the server stops cleanly");
        }
    }

    /// Sends a platform's webhook (signed as built) and reads the answer.
    pub async fn send(&self, hook: &Webhook) -> Posted {
        let local = hook.url.replacen(&self.public_url, &self.address, 1);
        let mut request = self.client.post(&local).header("content-type", hook.content_type);
        if let Some((name, value)) = &hook.signature {
            request = request.header(*name, value);
        }
        let response = request.body(hook.body.clone()).send().await.expect("request reaches the server");
        let posted = Posted { status: response.status().as_u16(), body: response.text().await.expect("body") };
        if self.dialect == Dialect::Jambonz && posted.status == 200 {
            keep_jambonz_document(&posted.body);
        }
        posted
    }

    /// The webhook the platform sends to `url` for `event` on `caller`'s call, signed when
    /// the app checks signatures.
    pub fn webhook(&self, url: &str, caller: &Caller, event: Event<'_>) -> Webhook {
        self.dialect.webhook(url, caller, event, self.token.as_deref(), chrono::Utc::now().timestamp())
    }

    /// A new incoming call from `number`.
    pub async fn call_from(&self, number: &str, call_sid: &str) -> Call<'_> {
        let caller = caller(number, call_sid);
        let hook = self.webhook(&self.dialect.incoming_url(&self.public_url), &caller, Event::Incoming);
        let posted = self.send(&hook).await;
        let mut call = Call { app: self, caller, reply: Reply::Empty, heard: Vec::new(), last: Some(hook) };
        call.follow(posted);
        call
    }

    pub async fn call(&self) -> Call<'_> {
        self.call_from("+77011234567", "CA00000000000000000000000000000001").await
    }

    /// A call already on `node`, in `language`, as if its action URL had come back.
    pub fn call_at(&self, node: &str, language: Option<&str>) -> Call<'_> {
        let mut state = format!("c=00000000000000ab&n={node}&f=0&t=0&s=0");
        if let Some(language) = language {
            state.push_str(&format!("&l={language}"));
        }
        self.resume(&state)
    }

    /// A call whose platform comes back with `state` as the query of a menu's action URL.
    pub fn resume(&self, state: &str) -> Call<'_> {
        let reply = self.dialect.listening(&self.public_url, state);
        let caller = caller("+77011234567", "CA00000000000000000000000000000002");
        Call { app: self, caller, reply, heard: Vec::new(), last: None }
    }
}

/// One call in progress, as the platform sees it.
pub struct Call<'a> {
    app: &'a TestApp,
    caller: Caller,
    pub reply: Reply,
    /// Every prompt played so far, as `lang/key`.
    pub heard: Vec<String>,
    /// The last webhook sent, for a platform's duplicate delivery.
    last: Option<Webhook>,
}

impl Call<'_> {
    /// The platform sends this call's next webhooks to `app`: another instance behind the
    /// same load balancer, or the same instance restarted.
    pub fn handed_to(self, app: &TestApp) -> Call<'_> {
        Call { app, caller: self.caller, reply: self.reply, heard: self.heard, last: self.last }
    }

    fn follow(&mut self, posted: Posted) {
        assert_eq!(posted.status, 200, "webhook answered {}: {}", posted.status, posted.body);
        self.reply = self
            .app
            .dialect
            .parse(&posted.body)
            .unwrap_or_else(|e| panic!("bad {:?} document ({e}): {}", self.app.dialect, posted.body));
        let prompts: Vec<String> = self.reply.prompts().iter().map(|url| self.prompt(url)).collect();
        self.heard.extend(prompts);
    }

    /// `lang/key` of one of the service's prompt URLs.
    fn prompt(&self, url: &str) -> String {
        let prefix = format!("{}/prompts/", self.app.public_url);
        url.strip_prefix(&prefix).and_then(|p| p.strip_suffix(".wav")).expect("absolute prompt URL").to_owned()
    }

    async fn post(&mut self, url: String, event: Event<'_>) -> &mut Self {
        let hook = self.app.webhook(&url, &self.caller, event);
        let posted = self.app.send(&hook).await;
        self.follow(posted);
        self.last = Some(hook);
        self
    }

    /// The platform delivers the last webhook again (a retry); the reply must not change.
    pub async fn redeliver(&mut self) -> &mut Self {
        let hook = self.last.clone().expect("a webhook was sent");
        let before = self.reply.clone();
        let posted = self.app.send(&hook).await;
        if hook.url.ends_with("/status") {
            assert!(matches!(posted.status, 200 | 204), "status callback answered {}", posted.status);
            return self;
        }
        self.follow(posted);
        assert_eq!(
            without_start(&self.reply),
            without_start(&before),
            "a redelivered webhook is answered the same (but for the second an incoming call started)"
        );
        self
    }

    /// The call ends: the platform's status callback with a final call status.
    pub async fn hang_up(&mut self, status: &str) -> &mut Self {
        self.status_callback(status).await
    }

    /// The platform's status callback with `status`, final or not (`ringing`, `in-progress`).
    pub async fn status_callback(&mut self, status: &str) -> &mut Self {
        let hook =
            self.app.webhook(&self.app.dialect.status_url(&self.app.public_url), &self.caller, Event::Status(status));
        let posted = self.app.send(&hook).await;
        assert!(matches!(posted.status, 200 | 204), "status callback answered {}: {}", posted.status, posted.body);
        self.last = Some(hook);
        self.reply = Reply::Empty;
        self
    }

    /// The caller presses `key` while the current menu plays.
    pub async fn press(&mut self, key: &str) -> &mut Self {
        let Reply::Gather { action, .. } = &self.reply else {
            panic!("pressed {key} but nothing listens: {:?}", self.reply)
        };
        let action = action.clone();
        self.post(action, Event::Pressed(key)).await
    }

    /// The caller chooses a language (`1` Kazakh, `2` Russian) and listens on, pressing
    /// nothing, through what plays before the first menu (the safety notice) to the main
    /// menu as first heard (the welcome and the topics).
    pub async fn choose_language(&mut self, key: &str) -> &mut Self {
        self.press(key).await;
        for _ in 0..self.app.flow.nodes.len() {
            let here = self.app.flow.node_id(&self.node()).expect("the call is on a node of the flow");
            if !matches!(self.app.flow.node(here).kind, NodeKind::Message { .. }) {
                return self;
            }
            self.wait().await;
        }
        panic!("choosing a language never led to a menu: {:?}", self.reply)
    }

    /// The caller says nothing until the menu times out.
    pub async fn wait(&mut self) -> &mut Self {
        let Reply::Gather { no_input, .. } = &self.reply else {
            panic!("waited but nothing listens: {:?}", self.reply)
        };
        let no_input = no_input.clone();
        self.post(no_input, Event::Silence).await
    }

    /// The transfer in progress ends with `status` (Twilio's `DialCallStatus`, jambonz's
    /// `dial_call_status`).
    pub async fn dial_ends(&mut self, status: &str) -> &mut Self {
        let Reply::Dial { action, .. } = &self.reply else { panic!("no transfer in progress: {:?}", self.reply) };
        let action = action.clone();
        self.post(action, Event::DialEnded(status)).await
    }

    /// What the `index`-th party rung hears when they answer, as `lang/key`.
    pub async fn whisper(&self, index: usize) -> Vec<String> {
        let Reply::Dial { targets, .. } = &self.reply else { panic!("not a transfer: {:?}", self.reply) };
        let url = targets[index].whisper.as_ref().expect("operators are whispered to");
        let posted = self.app.send(&self.app.webhook(url, &self.caller, Event::Answered)).await;
        assert_eq!(posted.status, 200, "whisper answered {}: {}", posted.status, posted.body);
        let prompts = self.app.dialect.parse_whisper(&posted.body).expect("a whisper is only prompts");
        prompts.iter().map(|url| self.prompt(url)).collect()
    }

    /// The node the call is on now, read from the state in its action URL.
    pub fn node(&self) -> String {
        let url = match &self.reply {
            Reply::Gather { action, .. } | Reply::Dial { action, .. } => action,
            other => panic!("the call is over: {other:?}"),
        };
        let query = url.split_once('?').map_or("", |(_, q)| q);
        form_urlencoded::parse(query.as_bytes())
            .find(|(n, _)| n == "n")
            .map(|(_, v)| v.into_owned())
            .unwrap_or_default()
    }

    /// The prompts of the current reply, as `lang/key`.
    pub fn hearing(&self) -> Vec<String> {
        self.heard[self.heard.len() - self.reply.prompts().len()..].to_vec()
    }

    /// The numbers or SIP addresses being rung, if the call is being transferred.
    pub fn ringing(&self) -> Vec<String> {
        match &self.reply {
            Reply::Dial { targets, .. } => targets.iter().map(|t| t.address.clone()).collect(),
            _ => Vec::new(),
        }
    }
}

/// What the service logs on this thread from now until the guard is dropped, as text: the
/// logs of this test alone, since a `#[tokio::test]` runs its server's tasks on its own
/// thread (all but the blocking pool's).
pub fn capture_this_tests_logs() -> (tracing::subscriber::DefaultGuard, impl Fn() -> String) {
    let buffer = LogBuffer(Arc::default());
    let captured = Arc::clone(&buffer.0);
    let subscriber = tracing_subscriber::fmt()
        .with_writer(move || buffer.clone())
        .with_ansi(false)
        .with_max_level(tracing::Level::TRACE)
        .finish();
    let text = move || String::from_utf8_lossy(&captured.lock().expect("log buffer")).into_owned();
    (tracing::subscriber::set_default(subscriber), text)
}

/// Everything the service logs in this test binary, at every level, as text.
pub fn captured_logs() -> String {
    String::from_utf8_lossy(&LOGS.get_or_init(Default::default).lock().expect("log buffer")).into_owned()
}

/// The same, as `IVR_LOG_FORMAT=json` writes it: one JSON object per line.
pub fn captured_json_logs() -> String {
    String::from_utf8_lossy(&JSON_LOGS.get_or_init(Default::default).lock().expect("log buffer")).into_owned()
}

static LOGS: OnceLock<Arc<Mutex<Vec<u8>>>> = OnceLock::new();
static JSON_LOGS: OnceLock<Arc<Mutex<Vec<u8>>>> = OnceLock::new();

#[derive(Clone)]
struct LogBuffer(Arc<Mutex<Vec<u8>>>);

impl Write for LogBuffer {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        self.0.lock().expect("log buffer").extend_from_slice(bytes);
        Ok(bytes.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// Logs every event twice, through the service's own text and JSON layers.
fn capture_logs() {
    use ivr::logging::{LogFormat, layer};
    use tracing_subscriber::layer::SubscriberExt;
    use tracing_subscriber::util::SubscriberInitExt;
    static INIT: OnceLock<()> = OnceLock::new();
    INIT.get_or_init(|| {
        let text = LogBuffer(LOGS.get_or_init(Default::default).clone());
        let json = LogBuffer(JSON_LOGS.get_or_init(Default::default).clone());
        let _ = tracing_subscriber::registry()
            .with(vec![
                layer(LogFormat::Text, move || text.clone(), false),
                layer(LogFormat::Json, move || json.clone(), false),
            ])
            .with(tracing_subscriber::filter::LevelFilter::TRACE)
            .try_init();
    });
}
