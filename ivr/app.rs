//! Start-up and router assembly: settings → flow → prompt library → statistics writer
//! (connecting in the background) → serve; on shutdown, the statistics are drained.
//!
//! [`load`] does every check `ivr check` reports, so the service and the check never
//! disagree. [`Application::build`] binds the listener first (port 0 in tests) so callers
//! of `build` know the address before serving starts.

use std::net::SocketAddr;
use std::ops::Deref;
use std::sync::Arc;

use axum::Router;
use axum::middleware;
use axum::routing::get;
use tokio::net::TcpListener;
use tower_http::trace::TraceLayer;

use crate::access::Guarded;
use crate::config::Settings;
use crate::db::Db;
use crate::flow::{Flow, Language, PromptCatalog};
use crate::operators::{LiveRoster, Roster, all_whisper_prompts};
use crate::prompts::PromptLibrary;
use crate::stats::{Recorder, WriterHandle};
use crate::telephony::jambonz::signature::JambonzSignatureCheck;
use crate::telephony::signature::SignatureCheck;

/// Everything a request needs, loaded once and shared read-only.
pub struct App {
    pub settings: Settings,
    pub flow: Flow,
    pub prompts: PromptLibrary,
    pub signature: Option<SignatureCheck>,
    /// Checks `Jambonz-Signature` when `IVR_JAMBONZ_WEBHOOK_SECRET` is set.
    pub jambonz_signature: Option<JambonzSignatureCheck>,
    pub roster: LiveRoster,
    /// Anonymous statistics; disabled until [`Application::build`] starts the writer.
    pub stats: Recorder,
    /// The database (`IVR_DATABASE_URL`): statistics, roster, users. Opened by
    /// [`Application::build`]; it connects when first used, so the service starts and
    /// answers calls with the database down. Nothing on the call path waits on it. Its
    /// migrations run once, for whichever of the statistics writer and the roster refresh
    /// asks first (`Db::ready`).
    pub db: Option<Db>,
}

impl App {
    /// The database, for the administrators' pages and API (503 when the service runs without one).
    pub fn db(&self) -> Result<&Db, crate::error::Error> {
        self.db.as_ref().ok_or(crate::error::Error::Unavailable)
    }
}

#[derive(Clone)]
pub struct AppState(Arc<App>);

impl AppState {
    pub fn new(app: App) -> AppState {
        AppState(Arc::new(app))
    }
}

impl Deref for AppState {
    type Target = App;
    fn deref(&self) -> &App {
        &self.0
    }
}

/// Loads and validates the flow and the prompt library; every problem is listed.
pub fn load(settings: Settings) -> Result<App, Vec<String>> {
    let flow = Flow::load(&settings.flow_path).map_err(|e| format!("flow {}: {e}", settings.flow_path.display()));
    let prompts = PromptLibrary::load(&settings.prompts_dir)
        .map_err(|errors| errors.iter().map(|e| format!("prompt library: {e}")).collect::<Vec<_>>());
    match (flow, prompts) {
        (Ok(flow), Ok(prompts)) => assemble(settings, flow, prompts),
        (flow, prompts) => Err(flow.err().into_iter().chain(prompts.err().into_iter().flatten()).collect()),
    }
}

/// Checks a loaded flow against a loaded prompt library and puts the service together.
pub fn assemble(settings: Settings, flow: Flow, prompts: PromptLibrary) -> Result<App, Vec<String>> {
    let path = settings.flow_path.display();
    let mut problems: Vec<String> = flow.validate(&prompts).iter().map(|e| format!("flow {path}: {e}")).collect();
    for key in all_whisper_prompts(&flow) {
        for language in Language::ALL.into_iter().filter(|l| !prompts.has(*l, &key)) {
            problems.push(format!("prompt library: operator whisper `{key}` has no {language} recording"));
        }
    }
    if !problems.is_empty() {
        return Err(problems);
    }
    let signature = settings.twilio_auth_token.as_deref().map(|t| SignatureCheck::new(t, &settings.public_url));
    let jambonz_signature = settings.jambonz_webhook_secret.as_deref().map(JambonzSignatureCheck::new);
    let roster = LiveRoster::new(Roster { operators: Vec::new(), switchboard: settings.operator_number.clone() });
    Ok(App { settings, flow, prompts, signature, jambonz_signature, roster, stats: Recorder::disabled(), db: None })
}

/// Every route under `/admin` and `/api`, with the roles it admits.
pub fn protected_routes() -> Guarded {
    crate::admin::guarded()
        .merge(crate::access::guarded())
        .merge(crate::reports::guarded())
        .merge(crate::operators::api::guarded())
}

pub fn router(state: AppState) -> Router {
    Router::new()
        .merge(crate::telephony::router())
        .merge(crate::prompts::router())
        .merge(crate::access::router())
        .merge(protected_routes().into_router())
        .route("/health", get(|| async { "ok" }))
        .layer(middleware::from_fn_with_state(state.clone(), crate::access::authenticate))
        .layer(TraceLayer::new_for_http())
        .with_state(state)
}

/// A bound, ready-to-serve instance of the service.
pub struct Application {
    listener: TcpListener,
    router: Router,
    stats: Recorder,
    writer: WriterHandle,
    db: Db,
    /// Reloads the operator roster from the database; stopped when serving ends.
    roster_refresh: tokio::task::JoinHandle<()>,
}

impl Application {
    pub async fn build(app: App) -> anyhow::Result<Application> {
        for warning in app.settings.warnings() {
            tracing::warn!("{warning}");
        }
        let listener = TcpListener::bind(app.settings.listen).await?;
        let db = Db::connect_lazy(&app.settings.database_url)?;
        // The writer and the roster refresh connect (and migrate, once) in the background:
        // calls are answered at once, with the database up, down or slow.
        let (stats, writer) = crate::stats::start(&app.settings, db.clone());
        let state = AppState::new(App { stats: stats.clone(), db: Some(db.clone()), ..app });
        let every = std::time::Duration::from_millis(state.settings.roster_refresh_ms);
        let roster_refresh = crate::operators::spawn_refresh(state.clone(), db.clone(), every);
        let router = router(state);
        Ok(Application { listener, router, stats, writer, db, roster_refresh })
    }

    /// The statistics recorder the webhooks use (tests flush it).
    pub fn stats(&self) -> &Recorder {
        &self.stats
    }

    pub fn local_addr(&self) -> std::io::Result<SocketAddr> {
        self.listener.local_addr()
    }

    /// Serves until `shutdown` completes, finishes the requests in flight, then drains the
    /// statistics: every record is committed, or spooled if the database is down. Then the
    /// database is closed (on SQLite this folds the write-ahead log into the file).
    pub async fn run_until(self, shutdown: impl Future<Output = ()> + Send + 'static) -> std::io::Result<()> {
        let served = axum::serve(self.listener, self.router).with_graceful_shutdown(shutdown).await;
        self.roster_refresh.abort();
        self.writer.drain().await;
        self.db.close().await;
        served
    }
}

/// Ctrl-C or SIGTERM.
pub async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = terminate => {},
    }
    tracing::info!("shutting down");
}
