//! `spawn_app` starts the real service on port 0; `Call` plays the telephony provider,
//! following the TwiML it gets back exactly as a provider would.

use std::collections::HashMap;
use std::io::Write;
use std::path::PathBuf;
use std::sync::{Arc, Mutex, OnceLock};

use ivr::app::{self, Application};
use ivr::config::Settings;
use ivr::flow::Flow;
use ivr::prompts::PromptLibrary;
use ivr::stats::Recorder;
use ivr::telephony::signature;
use ivr::telephony::softphone::{self, Reply};

/// The base URL the pretend provider believes it calls; requests go to the test server.
pub const PUBLIC_URL: &str = "https://ivr.test";
pub const OPERATOR_NUMBER: &str = "+77170000111";

pub struct TestApp {
    pub address: String,
    pub client: reqwest::Client,
    pub public_url: String,
    pub token: Option<String>,
    pub flow: Flow,
    /// The running service's statistics recorder: `flush` it before reading the database.
    pub stats: Recorder,
    pub data_dir: PathBuf,
    server: Server,
}

/// The spawned server, and what stops it the way SIGTERM does.
struct Server {
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    task: Option<tokio::task::JoinHandle<std::io::Result<()>>>,
    /// The fresh database and data folder made for this test, deleted with it.
    _scratch: Option<Arc<tempfile::TempDir>>,
}

/// What a test may change about the service it starts.
pub struct Options {
    pub token: Option<String>,
    pub operator: Option<String>,
    pub public_url: String,
    /// `None`: a fresh SQLite file in a temporary folder.
    pub database_url: Option<String>,
    /// `None`: a fresh temporary folder (the statistics spool goes here).
    pub data_dir: Option<PathBuf>,
    /// More settings, such as `("IVR_STATS_BATCH_MS", "60000")`.
    pub env: Vec<(&'static str, String)>,
}

impl Default for Options {
    fn default() -> Options {
        Options {
            token: None,
            operator: Some(OPERATOR_NUMBER.to_owned()),
            public_url: PUBLIC_URL.to_owned(),
            database_url: None,
            data_dir: None,
            env: Vec::new(),
        }
    }
}

pub async fn spawn_app() -> TestApp {
    spawn_app_with(Options::default()).await
}

pub async fn spawn_app_with(options: Options) -> TestApp {
    capture_logs();
    let root = env!("CARGO_MANIFEST_DIR");
    let mut env = HashMap::from([
        ("IVR_LISTEN", "127.0.0.1:0".to_owned()),
        ("IVR_PUBLIC_URL", options.public_url.clone()),
        ("IVR_FLOW", format!("{root}/flows/hotline.toml")),
        ("IVR_PROMPTS", format!("{root}/prompts")),
    ]);
    if let Some(token) = &options.token {
        env.insert("IVR_TWILIO_AUTH_TOKEN", token.clone());
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
    let app = app::assemble(settings, flow.clone(), bundled_prompts().clone()).expect("bundled flow is valid");
    let application = Application::build(app).await.expect("server binds");
    let address = format!("http://{}", application.local_addr().expect("bound"));
    let stats = application.stats().clone();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let task = tokio::spawn(application.run_until(async move {
        let _ = stopped.await;
    }));
    let server = Server { stop: Some(stop), task: Some(task), _scratch: Some(scratch) };
    TestApp {
        address,
        client: reqwest::Client::new(),
        public_url: options.public_url,
        token: options.token,
        flow,
        stats,
        data_dir,
        server,
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

/// The form fields a provider sends about a caller: everything the service must never keep.
pub fn caller_fields(number: &str, call_sid: &str) -> Vec<(String, String)> {
    [
        ("AccountSid", "AC0123456789abcdef0123456789abcdef"),
        ("CallSid", call_sid),
        ("From", number),
        ("Caller", number),
        ("To", "+7111"),
        ("Called", "+7111"),
        ("FromCity", "ALMATY"),
        ("FromState", "ALMATY"),
        ("FromZip", "050000"),
        ("FromCountry", "KZ"),
        ("CallStatus", "in-progress"),
        ("Direction", "inbound"),
        ("ApiVersion", "2010-04-01"),
    ]
    .map(|(n, v)| (n.to_owned(), v.to_owned()))
    .to_vec()
}

pub struct Posted {
    pub status: u16,
    pub body: String,
}

impl TestApp {
    /// Stops the service as SIGTERM does, and returns once it has drained its statistics.
    pub async fn stop(mut self) {
        if let Some(stop) = self.server.stop.take() {
            let _ = stop.send(());
        }
        if let Some(task) = self.server.task.take() {
            task.await.expect("the server task ends").expect("the server stops cleanly");
        }
    }

    /// POSTs a form to a public URL (as rendered in TwiML), signed when the app has a token.
    pub async fn post(&self, public: &str, params: &[(String, String)]) -> Posted {
        let local = public.replacen(&self.public_url, &self.address, 1);
        let mut request = self.client.post(&local).header("content-type", "application/x-www-form-urlencoded");
        if let Some(token) = &self.token {
            request = request.header("x-twilio-signature", signature::sign(token, public, params));
        }
        let body = form_urlencoded::Serializer::new(String::new()).extend_pairs(params).finish();
        let response = request.body(body).send().await.expect("request reaches the server");
        Posted { status: response.status().as_u16(), body: response.text().await.expect("body") }
    }

    /// A new incoming call from `number`.
    pub async fn call_from(&self, number: &str, call_sid: &str) -> Call<'_> {
        let fields = caller_fields(number, call_sid);
        let url = format!("{}/twilio/voice", self.public_url);
        let posted = self.post(&url, &fields).await;
        let mut call = Call::answered(self, fields.clone(), posted);
        call.last = Some((url, fields));
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

    /// A call whose provider comes back with `state` as the query of a menu's action URL.
    pub fn resume(&self, state: &str) -> Call<'_> {
        let action = format!("{}/twilio/gather?{state}", self.public_url);
        let reply = Reply::Gather { prompts: Vec::new(), action, no_input: String::new(), timeout_seconds: 5 };
        let fields = caller_fields("+77011234567", "CA00000000000000000000000000000002");
        Call { app: self, fields, reply, heard: Vec::new(), last: None }
    }
}

/// One call in progress, as the provider sees it.
pub struct Call<'a> {
    app: &'a TestApp,
    fields: Vec<(String, String)>,
    pub reply: Reply,
    /// Every prompt played so far, as `lang/key`.
    pub heard: Vec<String>,
    /// The last webhook sent, for a provider's duplicate delivery.
    last: Option<(String, Vec<(String, String)>)>,
}

impl<'a> Call<'a> {
    fn answered(app: &'a TestApp, fields: Vec<(String, String)>, posted: Posted) -> Call<'a> {
        let mut call = Call { app, fields, reply: Reply::Empty, heard: Vec::new(), last: None };
        call.follow(posted);
        call
    }

    fn follow(&mut self, posted: Posted) {
        assert_eq!(posted.status, 200, "webhook answered {}: {}", posted.status, posted.body);
        self.reply = softphone::parse(&posted.body).unwrap_or_else(|e| panic!("bad TwiML ({e}): {}", posted.body));
        let prefix = format!("{}/prompts/", self.app.public_url);
        for url in self.reply.prompts() {
            let prompt = url.strip_prefix(&prefix).and_then(|p| p.strip_suffix(".wav")).expect("absolute prompt URL");
            self.heard.push(prompt.to_owned());
        }
    }

    async fn post(&mut self, url: String, extra: &[(&str, &str)]) -> &mut Self {
        let mut params = self.fields.clone();
        params.extend(extra.iter().map(|(n, v)| ((*n).to_owned(), (*v).to_owned())));
        let posted = self.app.post(&url, &params).await;
        self.follow(posted);
        self.last = Some((url, params));
        self
    }

    /// The provider delivers the last webhook again (a retry); the reply must not change.
    pub async fn redeliver(&mut self) -> &mut Self {
        let (url, params) = self.last.clone().expect("a webhook was sent");
        let before = self.reply.clone();
        let posted = self.app.post(&url, &params).await;
        self.follow(posted);
        assert_eq!(self.reply, before, "a redelivered webhook is answered the same");
        self
    }

    /// The call ends: the provider's status callback with a final `CallStatus`.
    pub async fn hang_up(&mut self, status: &str) -> &mut Self {
        let mut params = self.fields.clone();
        params.retain(|(name, _)| name != "CallStatus");
        params.extend(
            [("CallStatus", status), ("CallDuration", "42"), ("Timestamp", "Sat, 28 Nov 2026 10:00:00 +0000")]
                .map(|(n, v)| (n.to_owned(), v.to_owned())),
        );
        let url = format!("{}/twilio/status", self.app.public_url);
        let posted = self.app.post(&url, &params).await;
        assert_eq!(posted.status, 200, "status callback answered {}: {}", posted.status, posted.body);
        self.last = Some((url, params));
        self.reply = Reply::Empty;
        self
    }

    /// The caller presses `key` while the current menu plays.
    pub async fn press(&mut self, key: &str) -> &mut Self {
        let Reply::Gather { action, .. } = &self.reply else {
            panic!("pressed {key} but nothing listens: {:?}", self.reply)
        };
        let action = action.clone();
        self.post(action, &[("Digits", key), ("FinishedOnKey", "")]).await
    }

    /// The caller says nothing until the menu times out.
    pub async fn wait(&mut self) -> &mut Self {
        let Reply::Gather { no_input, .. } = &self.reply else {
            panic!("waited but nothing listens: {:?}", self.reply)
        };
        let no_input = no_input.clone();
        self.post(no_input, &[]).await
    }

    /// The transfer in progress ends with `status` (a `DialCallStatus`).
    pub async fn dial_ends(&mut self, status: &str) -> &mut Self {
        let Reply::Dial { action, .. } = &self.reply else { panic!("no transfer in progress: {:?}", self.reply) };
        let action = action.clone();
        self.post(action, &[("DialCallStatus", status), ("DialCallDuration", "0")]).await
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

/// Everything the service logs in this test binary, at every level.
pub fn captured_logs() -> String {
    String::from_utf8_lossy(&LOGS.get_or_init(Default::default).lock().expect("log buffer")).into_owned()
}

static LOGS: OnceLock<Arc<Mutex<Vec<u8>>>> = OnceLock::new();

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

fn capture_logs() {
    static INIT: OnceLock<()> = OnceLock::new();
    INIT.get_or_init(|| {
        let buffer = LogBuffer(LOGS.get_or_init(Default::default).clone());
        let _ = tracing_subscriber::fmt()
            .with_max_level(tracing::Level::TRACE)
            .with_ansi(false)
            .with_writer(move || buffer.clone())
            .try_init();
    });
}
