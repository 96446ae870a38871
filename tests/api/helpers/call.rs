//! `Call`: one call played by the platform of the app's dialect, following what the service
//! answers exactly as the platform would: the webhooks and documents of TwiML and jambonz,
//! or a FastAGI conversation over a real TCP connection to the app's `agi` address, as
//! Asterisk holds it. Either way, what the platform is asked to do next is a [`Reply`].

use std::time::{Duration, Instant};

use ivr::softphone::asterisk::{AgiCall, At, Channel, environment};
use ivr::softphone::{Caller, Dialect, Event, Reply, Webhook, WebhookDialect, Whisper};
use tokio::net::TcpStream;

use super::{Posted, TestApp, keep_jambonz_document, without_start};

impl TestApp {
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

    /// The webhook dialect the app is called in; a test of webhooks on Asterisk is a mistake.
    pub fn hooks(&self) -> WebhookDialect {
        self.dialect.webhooks().expect("a webhook dialect: Asterisk calls no webhooks")
    }

    /// The webhook the platform sends to `url` for `event` on `caller`'s call, signed when
    /// the app checks signatures.
    pub fn webhook(&self, url: &str, caller: &Caller, event: Event<'_>) -> Webhook {
        self.hooks().webhook(url, caller, event, self.token.as_deref(), chrono::Utc::now().timestamp())
    }

    /// A new incoming call from `number`, whose platform calls it `call_sid` (Asterisk:
    /// the channel's unique id).
    pub async fn call_from(&self, number: &str, call_sid: &str) -> Call<'_> {
        let placed = Instant::now();
        let caller = Caller { number: number.to_owned(), call_sid: call_sid.to_owned() };
        let Some(hooks) = self.dialect.webhooks() else {
            return self.over_agi(&Channel::new(number, call_sid), None).await;
        };
        let hook = self.webhook(&hooks.incoming_url(&self.public_url), &caller, Event::Incoming);
        let posted = self.send(&hook).await;
        let leg = Leg::Webhooks { hooks, caller, last: Some(hook) };
        let mut call = Call { app: self, leg, reply: Reply::Empty, heard: Vec::new(), placed };
        call.follow(posted);
        call
    }

    pub async fn call(&self) -> Call<'_> {
        self.call_from("+77011234567", "CA00000000000000000000000000000001").await
    }

    /// A call already on `node`, in `language`, as if its action URL had come back.
    pub async fn call_at(&self, node: &str, language: Option<&str>) -> Call<'_> {
        let mut state = format!("c=00000000000000ab&n={node}&f=0&t=0&s=0");
        if let Some(language) = language {
            state.push_str(&format!("&l={language}"));
        }
        self.resume(&state).await
    }

    /// A call whose platform comes back with `state`: as the query of a menu's action URL,
    /// or (Asterisk) as the state the dialplan re-enters with when a connection broke.
    pub async fn resume(&self, state: &str) -> Call<'_> {
        let Some(hooks) = self.dialect.webhooks() else {
            return self.over_agi(&Channel::new("+77011234567", "1765100000.2"), Some(state)).await;
        };
        let reply = hooks.listening(&self.public_url, state);
        let caller = Caller { number: "+77011234567".into(), call_sid: "CA00000000000000000000000000000002".into() };
        Call {
            app: self,
            leg: Leg::Webhooks { hooks, caller, last: None },
            reply,
            heard: Vec::new(),
            placed: Instant::now(),
        }
    }

    /// A call over FastAGI from `channel`, continuing from `state` when given.
    async fn over_agi(&self, channel: &Channel, state: Option<&str>) -> Call<'_> {
        let stream =
            TcpStream::connect(self.agi.expect("the app takes FastAGI conversations")).await.expect("connects");
        let agi = AgiCall::start(stream, &environment(channel, state)).await.expect("a FastAGI conversation");
        let leg = Leg::Agi(Box::new(agi));
        let mut call = Call { app: self, leg, reply: Reply::Empty, heard: Vec::new(), placed: Instant::now() };
        call.turn().await;
        call
    }
}

/// One call in progress, as the platform sees it.
pub struct Call<'a> {
    app: &'a TestApp,
    leg: Leg,
    pub reply: Reply,
    /// Every prompt played so far, as `lang/key`.
    pub heard: Vec<String>,
    /// When the test placed the call: what [`Call::hang_up_after`] counts from.
    placed: Instant,
}

/// How the platform reaches the service for this call.
enum Leg {
    /// Webhooks, each answered by a document; the last one sent, for a duplicate delivery.
    Webhooks { hooks: WebhookDialect, caller: Caller, last: Option<Webhook> },
    /// One FastAGI conversation for the whole call.
    Agi(Box<AgiCall<TcpStream>>),
}

impl Call<'_> {
    /// The platform sends this call's next webhooks to `app`: another instance behind the
    /// same load balancer, or the same instance restarted.
    pub fn handed_to(self, app: &TestApp) -> Call<'_> {
        assert!(
            matches!(self.leg, Leg::Webhooks { .. }),
            "a FastAGI call is re-entered by the dialplan, not handed over"
        );
        Call { app, leg: self.leg, reply: self.reply, heard: self.heard, placed: self.placed }
    }

    fn follow(&mut self, posted: Posted) {
        assert_eq!(posted.status, 200, "webhook answered {}: {}", posted.status, posted.body);
        let dialect = self.app.hooks();
        self.reply =
            dialect.parse(&posted.body).unwrap_or_else(|e| panic!("bad {dialect:?} document ({e}): {}", posted.body));
        self.hear();
    }

    /// The prompts of the reply, heard.
    fn hear(&mut self) {
        let prompts: Vec<String> = self.reply.prompts().iter().map(|url| self.prompt(url)).collect();
        self.heard.extend(prompts);
    }

    /// Asterisk plays the service's answer up to its next decision.
    async fn turn(&mut self) -> &mut Self {
        let Leg::Agi(agi) = &mut self.leg else { panic!("not a FastAGI call") };
        self.reply = agi.turn().await.expect("the FastAGI conversation goes on");
        self.hear();
        self
    }

    /// `lang/key` of one of the service's prompt URLs.
    fn prompt(&self, url: &str) -> String {
        let prefix = format!("{}/prompts/", self.app.public_url);
        url.strip_prefix(&prefix).and_then(|p| p.strip_suffix(".wav")).expect("absolute prompt URL").to_owned()
    }

    async fn post(&mut self, url: String, event: Event<'_>) -> &mut Self {
        let Leg::Webhooks { caller, .. } = &self.leg else { panic!("a webhook on a FastAGI call") };
        let hook = self.app.webhook(&url, caller, event);
        let posted = self.app.send(&hook).await;
        self.follow(posted);
        if let Leg::Webhooks { last, .. } = &mut self.leg {
            *last = Some(hook);
        }
        self
    }

    /// The FastAGI conversation, on Asterisk.
    fn agi(&mut self) -> Option<&mut AgiCall<TcpStream>> {
        match &mut self.leg {
            Leg::Agi(agi) => Some(agi),
            Leg::Webhooks { .. } => None,
        }
    }

    /// Over FastAGI: the PBX sets a channel variable the conversation may read (a webhook
    /// call has none: the test asked for the wrong dialect).
    pub fn pbx_sets(&mut self, name: &str, value: &str) -> &mut Self {
        self.agi().expect("a FastAGI call").set_variable(name, value);
        self
    }

    /// The platform delivers the last webhook again (a retry); the reply must not change.
    pub async fn redeliver(&mut self) -> &mut Self {
        let Leg::Webhooks { last, .. } = &self.leg else { panic!("only a webhook is delivered again") };
        let hook = last.clone().expect("a webhook was sent");
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

    /// The call ends: the platform's status callback with a final call status; on
    /// Asterisk, the caller hangs up (Asterisk reports no status: the service records the
    /// end as completed), and this returns once the service has recorded it and closed.
    pub async fn hang_up(&mut self, status: &str) -> &mut Self {
        if let Some(agi) = self.agi() {
            assert_eq!(status, "completed", "a FastAGI call ends as the caller hanging up");
            if !matches!(agi.at, At::HungUp | At::Closed) {
                agi.hang_up().await.expect("the hang-up is sent");
            }
            agi.until_closed().await;
            self.reply = Reply::Empty;
            return self;
        }
        self.status_callback(status).await
    }

    /// The caller hangs up `seconds` into the call (counted from when the test placed it):
    /// the status callback says the call lasted that long; on Asterisk, which reports no
    /// length, the caller hangs up once that much time has passed, and the service counts
    /// the call's seconds by its own clock in whole seconds (so one more or one less).
    pub async fn hang_up_after(&mut self, seconds: u32) -> &mut Self {
        if self.agi().is_some() {
            tokio::time::sleep_until((self.placed + Duration::from_secs(seconds.into())).into()).await;
            return self.hang_up("completed").await;
        }
        self.status_event(Event::StatusAfter("completed", seconds)).await
    }

    /// The platform's status callback with `status`, final or not (`ringing`, `in-progress`).
    pub async fn status_callback(&mut self, status: &str) -> &mut Self {
        self.status_event(Event::Status(status)).await
    }

    /// The platform's status webhook reporting `event`.
    async fn status_event(&mut self, event: Event<'_>) -> &mut Self {
        let Leg::Webhooks { hooks, caller, last } = &mut self.leg else { panic!("a status callback on FastAGI") };
        let hook = self.app.webhook(&hooks.status_url(&self.app.public_url), caller, event);
        let posted = self.app.send(&hook).await;
        assert!(matches!(posted.status, 200 | 204), "status callback answered {}: {}", posted.status, posted.body);
        *last = Some(hook);
        self.reply = Reply::Empty;
        self
    }

    /// The caller presses `key` while the current menu plays (on Asterisk, one key: after
    /// the menu has played, as the webhook platforms report a key).
    pub async fn press(&mut self, key: &str) -> &mut Self {
        let Reply::Gather { action, .. } = &self.reply else {
            panic!("pressed {key} but nothing listens: {:?}", self.reply)
        };
        let action = action.clone();
        if let Some(agi) = self.agi() {
            let keys: Vec<char> = key.chars().collect();
            let [key] = keys.as_slice() else { panic!("Asterisk reports one key at a time: {key:?}") };
            agi.press(*key).await.expect("the key is sent");
            return self.turn().await;
        }
        self.post(action, Event::Pressed(key)).await
    }

    /// The caller chooses a language (`1` Kazakh, `2` Russian) and listens on, pressing
    /// nothing, through what plays before the first menu (the safety notice) to the main
    /// menu as first heard (the welcome and the topics).
    pub async fn choose_language(&mut self, key: &str) -> &mut Self {
        self.press(key).await;
        let app = self.app;
        let flow = &app.flow;
        for _ in 0..flow.nodes.len() {
            let here = flow.node_id(&self.node()).expect("the call is on a node of the flow");
            if !matches!(flow.node(here).kind, ivr::flow::NodeKind::Message { .. }) {
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
        if let Some(agi) = self.agi() {
            agi.wait().await.expect("the silence is reported");
            return self.turn().await;
        }
        self.post(no_input, Event::Silence).await
    }

    /// The transfer in progress ends with `status`: TwiML's `DialCallStatus` word, said in
    /// the dialect's words (jambonz's `dial_call_status`, Asterisk's `DIALSTATUS`), or a
    /// word of the dialect's own (see [`Dialect::dial_status`]).
    pub async fn dial_ends(&mut self, status: &str) -> &mut Self {
        let Reply::Dial { action, .. } = &self.reply else { panic!("no transfer in progress: {:?}", self.reply) };
        let action = action.clone();
        let status = self.app.dialect.dial_status(status).to_owned();
        if let Some(agi) = self.agi() {
            agi.dial_ends(&status, 0).await.expect("the dial's end is reported");
            return self.turn().await;
        }
        self.post(action, Event::DialEnded(&status)).await
    }

    /// What the `index`-th party rung hears when they answer, as `lang/key`.
    pub async fn whisper(&self, index: usize) -> Vec<String> {
        let Reply::Dial { targets, .. } = &self.reply else { panic!("not a transfer: {:?}", self.reply) };
        let urls = match targets[index].whisper.as_ref().expect("operators are whispered to") {
            Whisper::Prompts(urls) => urls.clone(),
            Whisper::Hook(url) => {
                let Leg::Webhooks { caller, .. } = &self.leg else { panic!("a whisper hook on FastAGI") };
                let posted = self.app.send(&self.app.webhook(url, caller, Event::Answered)).await;
                assert_eq!(posted.status, 200, "whisper answered {}: {}", posted.status, posted.body);
                self.app.hooks().parse_whisper(&posted.body).expect("a whisper is only prompts")
            }
        };
        urls.iter().map(|url| self.prompt(url)).collect()
    }

    /// The node the call is on now, read from its state: in its action URL's query, or
    /// (Asterisk) in `IVR_STATE`.
    pub fn node(&self) -> String {
        let state = match &self.reply {
            Reply::Gather { action, .. } | Reply::Dial { action, .. } => action,
            other => panic!("the call is over: {other:?}"),
        };
        let query = state.split_once('?').map_or(state.as_str(), |(_, q)| q);
        form_urlencoded::parse(query.as_bytes())
            .find(|(n, _)| n == "n")
            .map(|(_, v)| v.into_owned())
            .unwrap_or_default()
    }

    /// The prompts of the current reply, as `lang/key`.
    pub fn hearing(&self) -> Vec<String> {
        self.heard[self.heard.len() - self.reply.prompts().len()..].to_vec()
    }

    /// Whether the call is listening for a key (a menu, or a stretch of waiting).
    pub fn listening(&self) -> bool {
        matches!(self.reply, Reply::Gather { .. })
    }

    /// The numbers or SIP addresses being rung, if the call is being transferred (on
    /// Asterisk, as `IVR_ASTERISK_DIAL` made its dial strings of them).
    pub fn ringing(&self) -> Vec<String> {
        let Reply::Dial { targets, .. } = &self.reply else { return Vec::new() };
        let template = self.app.state.as_ref().and_then(|state| state.settings.asterisk.dial.clone());
        let address = |dial: &str| match (&self.leg, &template) {
            (Leg::Agi(_), Some(template)) => template.address_in(dial).unwrap_or(dial).to_owned(),
            _ => dial.to_owned(),
        };
        targets.iter().map(|t| address(&t.address)).collect()
    }
}
