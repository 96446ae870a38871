//! Start-up and router assembly: what [`crate::state::load`] checked → the database
//! (connecting in the background) → statistics writer, roster and desk refreshes → the day's shared
//! statistics keys read (a moment at most) → serve; on shutdown, a drain: every task
//! started here is registered with [`crate::tasks`], which stops them in order (the
//! listener, what produces statistics, the writer, the database).
//!
//! [`Server::build`] binds the listener first (port 0 in tests) so callers of `build` know
//! the address before serving starts.

use std::net::SocketAddr;
use std::time::Duration;

use axum::Router;
use axum::middleware;
use tokio::net::TcpListener;
use tokio::time::Instant;
use tower::util::MapResponseLayer;
use tower_http::trace::TraceLayer;

use crate::access::Guarded;
use crate::db::Db;
use crate::http_server::{BodyTimeoutLayer, Limits};
use crate::state::{AppState, Loaded};
use crate::stats::{FirstTry, Recorder, StatsTasks};
use crate::tasks::{Stage, Tasks};

/// Every route under `/admin`, `/desk` and `/api`, with the roles it admits.
pub fn protected_routes() -> Guarded {
    crate::admin::guarded().merge(crate::desk::guarded()).merge(crate::api::guarded())
}

/// The whole HTTP service: webhooks of both dialects, prompts, admin pages, the operators'
/// desk, the reports API, health checks, with the body timeout and the panic and trace layers.
///
/// The middleware that needs no route wraps the routes once, from outside: added with
/// `Router::layer` to the routes themselves, it was stacked on every route, and a webhook
/// spent about 10 µs of CPU in it (a third of a jambonz webhook; `benches/loopback.sh`).
/// Only the metrics, which name the matched route, stay on the routes, and only when they
/// have a listener (`IVR_METRICS_LISTEN`): without one they recorded nothing, yet cost each
/// webhook the middleware's boxing. What only changes a response (security headers,
/// `Connection: close` while draining) is a plain map, not an axum `from_fn`, which boxes
/// the rest of the stack and its future on every request.
///
/// The trace layer (a span and events per request, all at debug) is added only when the log
/// filter lets its debug through (`IVR_LOG=debug`, `…,tower_http=debug`): at the default
/// filter it logged nothing but a second line for a 5xx, which `Error` and the panic layer
/// already log, and cost about 0.8 µs of every webhook.
pub fn router(state: AppState) -> Router {
    let body_timeout = Duration::from_millis(state.settings.body_timeout_ms);
    let routes = Router::new()
        .merge(crate::telephony::router(&state))
        .merge(crate::prompts::router())
        .merge(crate::admin::sign_in_router(&state.settings))
        .merge(protected_routes().into_router())
        .merge(crate::monitoring::router());
    let routes = if state.settings.metrics_listen.is_some() {
        routes.layer(middleware::from_fn(crate::monitoring::metrics::track_webhooks))
    } else {
        routes
    };
    let routes = routes.with_state(state.clone());
    let router = Router::new()
        .fallback_service(routes)
        .layer(middleware::from_fn_with_state(state.clone(), crate::access::authenticate))
        .layer(MapResponseLayer::new(crate::admin::security_headers))
        .layer(MapResponseLayer::new(move |response| crate::http_server::close_while_draining(&state, response)))
        .layer(crate::http_server::panic::other_layer())
        .layer(BodyTimeoutLayer::new(body_timeout));
    if tracing::enabled!(target: "tower_http::trace", tracing::Level::DEBUG) {
        router.layer(TraceLayer::new_for_http())
    } else {
        router
    }
}

/// How long start-up waits for the day's shared statistics keys before accepting calls (see
/// [`Server::run`]): a database that answers gives them in milliseconds; one that does not
/// costs a caller queued during a restart this much at most, once.
const KEYS_BEFORE_ACCEPTING: Duration = Duration::from_secs(1);

/// A bound, ready-to-serve instance of the service.
pub struct Server {
    listener: TcpListener,
    router: Router,
    stats: Recorder,
    /// Every task beside the HTTP listener (the statistics', the roster refresh, the
    /// metrics listener) and the database, stopped in order when serving ends.
    tasks: Tasks,
    metrics_address: Option<SocketAddr>,
    /// The FastAGI listener (`IVR_AGI_LISTEN`), bound: it serves, and is drained, beside the
    /// HTTP one.
    agi: Option<crate::telephony::asterisk::AgiListener>,
    agi_address: Option<SocketAddr>,
    /// What the router serves from, for whoever stops the service (draining) and tests.
    state: AppState,
    limits: Limits,
    drain_period: Duration,
}

impl Server {
    /// Binds the listener (or takes systemd's socket), opens the database lazily, starts the
    /// statistics writer and the roster refresh: everything `ivr serve` runs.
    pub async fn build(loaded: Loaded) -> anyhow::Result<Server> {
        for warning in loaded.settings.warnings() {
            tracing::warn!("{warning}");
        }
        let listener = crate::http_server::listen(loaded.settings.listen).await?;
        let limits = Limits::from_settings(&loaded.settings);
        let drain_period = Duration::from_millis(loaded.settings.drain_ms);
        let metrics = match loaded.settings.metrics_listen {
            Some(address) => Some(crate::monitoring::metrics::MetricsListener::bind(address).await?),
            None => None,
        };
        let agi = crate::telephony::asterisk::AgiListener::bind(&loaded.settings, limits.max_connections).await?;
        let agi_address = agi.as_ref().map(|a| a.local_addr()).transpose()?;
        let db = Db::connect_lazy(&loaded.settings.database_url)?;
        let mut tasks = Tasks::new();
        // The writer and the roster refresh connect (and migrate, once) in the background:
        // calls are answered at once, with the database up, down or slow.
        let (stats, stats_tasks) = crate::stats::start(&loaded.settings, db.clone());
        add_statistics(&mut tasks, stats_tasks);
        let every = Duration::from_millis(loaded.settings.roster_refresh_ms);
        let state = AppState::start(loaded, db.clone(), stats.clone());
        let roster_refresh = crate::operators::spawn_refresh(state.roster.clone(), db.clone(), every);
        tasks.add_loop(Stage::Producers, "roster refresh", roster_refresh);
        // The desk's line, as often as the roster and at least every second.
        let desk_every = every.min(Duration::from_secs(1));
        let desk_refresh = crate::desk::spawn_refresh(state.line.clone(), state.roster.clone(), db.clone(), desk_every);
        tasks.add_loop(Stage::Producers, "desk line refresh", desk_refresh);
        if let Some(inbox) = state.take_line_reports_inbox() {
            let writer = crate::operators::spawn_state_writer(db.clone(), state.roster.clone(), inbox);
            tasks.add_loop(Stage::Producers, "operator state writer", writer);
        }
        let metrics_address = metrics.as_ref().map(|m| m.local_addr()).transpose()?;
        if let Some((metrics, address)) = metrics.zip(metrics_address) {
            tracing::info!(%address, "metrics listening: GET /metrics");
            tasks.add_loop(Stage::Producers, "metrics listener", metrics.spawn(state.clone()));
        }
        tasks.add(Stage::Database, "database", move |by| close_database(db, by));
        if let Some(address) = agi_address {
            tracing::info!(%address, "FastAGI listening: AGI(agi://…/hotline)");
        }
        let router = router(state.clone());
        Ok(Server { listener, router, stats, tasks, metrics_address, agi, agi_address, state, limits, drain_period })
    }

    /// The state the requests are served from.
    pub fn state(&self) -> &AppState {
        &self.state
    }

    /// The statistics recorder the webhooks use (tests flush it).
    pub fn stats(&self) -> &Recorder {
        &self.stats
    }

    /// The address the listener is bound to (the port, when 0 was asked for).
    pub fn local_addr(&self) -> std::io::Result<SocketAddr> {
        self.listener.local_addr()
    }

    /// Where `/metrics` is served, when `IVR_METRICS_LISTEN` is set.
    pub fn metrics_addr(&self) -> Option<SocketAddr> {
        self.metrics_address
    }

    /// Where FastAGI conversations are taken, unless `IVR_AGI_LISTEN` is `off`.
    pub fn agi_addr(&self) -> Option<SocketAddr> {
        self.agi_address
    }

    /// Serves until `shutdown` completes, then drains for the drain period (see [`Server::run`]).
    pub async fn run_until(self, shutdown: impl Future<Output = ()> + Send + 'static) -> std::io::Result<()> {
        self.run(shutdown, std::future::pending()).await
    }

    /// Reads the day's shared statistics keys ([`KEYS_BEFORE_ACCEPTING`] at most: the
    /// connections wait in the socket's queue meanwhile), then serves until `drain`
    /// completes; then drains ([`crate::tasks`] tells how and in what order): `/readyz`
    /// fails at once and webhooks are answered until the drain period ends (or `stop_now`
    /// completes), unless no connection is open, when the service stops at once.
    pub async fn run(
        mut self,
        drain: impl Future<Output = ()> + Send + 'static,
        stop_now: impl Future<Output = ()> + Send + 'static,
    ) -> std::io::Result<()> {
        read_keys_first(&self.stats).await;
        let serving = crate::http_server::spawn(self.listener, self.router, self.limits);
        self.tasks.add_listener("http", serving);
        if let Some(agi) = self.agi {
            self.tasks.add_listener("fastagi", agi.spawn(self.state.clone()));
        }
        drain.await;
        self.state.start_draining();
        self.tasks.drain(self.drain_period, stop_now).await;
        Ok(())
    }
}

/// The statistics' tasks, each in its stage: what produces records (the repeat-caller
/// check's flags) and the key refresh once the conversations are over, the writer after them.
fn add_statistics(tasks: &mut Tasks, stats: StatsTasks) {
    let StatsTasks { repeat_check, key_refresh, writer } = stats;
    tasks.add(Stage::Producers, "repeat-caller check", move |by| repeat_check.stop(by));
    tasks.add(Stage::Producers, "statistics key refresh", move |_| key_refresh.stop());
    tasks.add(Stage::Statistics, "statistics writer", move |by| writer.drain_by(by));
}

/// Closes the database (on SQLite this folds the write-ahead log into the file). Closing
/// waits for connections in use: never past `by`.
async fn close_database(db: Db, by: Instant) {
    if tokio::time::timeout_at(by, db.close()).await.is_err() {
        tracing::warn!("the database did not close by the end of the drain");
    }
}

/// Waits for the first try to read the day's shared statistics keys, so that the calls
/// the last process started are linked to their ends (issue 25): a webhook answered before
/// would key its call with a key of this process only. Bounded, and said when it fails:
/// calls are answered with the database down.
async fn read_keys_first(stats: &Recorder) {
    match stats.first_key_try(KEYS_BEFORE_ACCEPTING).await {
        FirstTry::Read => tracing::debug!("shared statistics keys read: accepting calls"),
        FirstTry::Failed => {
            tracing::info!(
                "accepting calls without the shared statistics keys: linked by this process only until read"
            );
        }
        FirstTry::NotYet => tracing::warn!(
            wait_ms = KEYS_BEFORE_ACCEPTING.as_millis(),
            "the shared statistics keys are not read yet: accepting calls, linked by this process only until they are"
        ),
    }
}
