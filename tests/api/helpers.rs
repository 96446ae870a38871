//! `spawn_app` starts the real service on port 0; `Call` plays the telephony provider,
//! following the TwiML it gets back exactly as a provider would.

use std::collections::HashMap;
use std::io::Write;
use std::sync::{Arc, Mutex, OnceLock};

use ivr::app::{self, Application};
use ivr::config::Settings;
use ivr::flow::Flow;
use ivr::prompts::PromptLibrary;
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
}

/// What a test may change about the service it starts.
pub struct Options {
    pub token: Option<String>,
    pub operator: Option<String>,
    pub public_url: String,
}

impl Default for Options {
    fn default() -> Options {
        Options { token: None, operator: Some(OPERATOR_NUMBER.to_owned()), public_url: PUBLIC_URL.to_owned() }
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
    let settings = Settings::from_lookup(|name| env.get(name).cloned()).expect("test settings are valid");
    let flow = Flow::load(&settings.flow_path).expect("bundled flow loads");
    let app = app::assemble(settings, flow.clone(), bundled_prompts().clone()).expect("bundled flow is valid");
    let application = Application::build(app).await.expect("server binds");
    let address = format!("http://{}", application.local_addr().expect("bound"));
    tokio::spawn(application.run_until(std::future::pending()));
    TestApp { address, client: reqwest::Client::new(), public_url: options.public_url, token: options.token, flow }
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
        let posted = self.post(&format!("{}/twilio/voice", self.public_url), &fields).await;
        Call::answered(self, fields, posted)
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
        Call { app: self, fields: caller_fields("+77011234567", "CA00000000000000000000000000000002"), reply, heard: Vec::new() }
    }
}

/// One call in progress, as the provider sees it.
pub struct Call<'a> {
    app: &'a TestApp,
    fields: Vec<(String, String)>,
    pub reply: Reply,
    /// Every prompt played so far, as `lang/key`.
    pub heard: Vec<String>,
}

impl<'a> Call<'a> {
    fn answered(app: &'a TestApp, fields: Vec<(String, String)>, posted: Posted) -> Call<'a> {
        let mut call = Call { app, fields, reply: Reply::Empty, heard: Vec::new() };
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
        self
    }

    /// The caller presses `key` while the current menu plays.
    pub async fn press(&mut self, key: &str) -> &mut Self {
        let Reply::Gather { action, .. } = &self.reply else { panic!("pressed {key} but nothing listens: {:?}", self.reply) };
        let action = action.clone();
        self.post(action, &[("Digits", key), ("FinishedOnKey", "")]).await
    }

    /// The caller says nothing until the menu times out.
    pub async fn wait(&mut self) -> &mut Self {
        let Reply::Gather { no_input, .. } = &self.reply else { panic!("waited but nothing listens: {:?}", self.reply) };
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
        form_urlencoded::parse(query.as_bytes()).find(|(n, _)| n == "n").map(|(_, v)| v.into_owned()).unwrap_or_default()
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
