//! `spawn_app` starts the real service on port 0; `Call` (`call.rs`) plays the telephony
//! platform in the app's dialect (TwiML, jambonz, or Asterisk over FastAGI), following what
//! the service answers exactly as the platform would. Whole-call tests take a [`Dialect`]
//! and run once per dialect (`in_every_dialect!`): one driver, not a copy per dialect.
//! Every jambonz document a test receives is written to [`jambonz_documents_dir`] for CI to
//! run jambonz's own validator over.

mod call;

pub use call::Call;

use std::collections::HashMap;
use std::io::Write;
use std::path::PathBuf;
use std::sync::{Arc, Mutex, OnceLock};

use ivr::app;
use ivr::config::Settings;
use ivr::flow::Flow;
use ivr::prompts::PromptLibrary;
use ivr::softphone::{self, Caller, Dialect, Event, Reply};
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
    /// The webhook dialect's signing secret (`IVR_TWILIO_AUTH_TOKEN` or
    /// `IVR_JAMBONZ_WEBHOOK_SECRET`).
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

/// Runs each named `async fn(Dialect)` as three tests, `twiml::name`, `jambonz::name` and
/// `asterisk::name` (over FastAGI). The names after `webhooks only:` run as the first two
/// only: each such test says why it is no concern of FastAGI's.
macro_rules! in_every_dialect {
    ($($name:ident),* $(,)?) => {
        $crate::helpers::in_every_dialect!($($name),*; webhooks only:);
    };
    ($($name:ident),* ; webhooks only: $($hook:ident),* $(,)?) => {
        mod twiml {
            $(
                #[tokio::test]
                async fn $name() {
                    super::$name(ivr::softphone::Dialect::Twiml).await
                }
            )*
            $(
                #[tokio::test]
                async fn $hook() {
                    super::$hook(ivr::softphone::WebhookDialect::Twiml).await
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
            $(
                #[tokio::test]
                async fn $hook() {
                    super::$hook(ivr::softphone::WebhookDialect::Jambonz).await
                }
            )*
        }
        mod asterisk {
            $(
                #[tokio::test]
                async fn $name() {
                    super::$name(ivr::softphone::Dialect::Asterisk).await
                }
            )*
        }
    };
}
pub(crate) use in_every_dialect;

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
        let hooks = options.dialect.webhooks().expect("FastAGI has no signature: no token to set");
        env.insert(hooks.secret_setting(), token.clone());
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
pub fn without_start(reply: &Reply) -> String {
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
