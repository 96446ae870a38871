//! Start-up and router assembly: what [`crate::state::load`] checked → the database
//! (connecting in the background) → statistics writer and roster refresh → serve; on
//! shutdown, a drain (see [`crate::http_server`]): the statistics are spooled or committed and
//! the database closed.
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
use crate::http_server::{BodyTimeoutLayer, DrainPlan, Limits};
use crate::state::{AppState, Loaded};
use crate::stats::{Recorder, WriterHandle};

/// Every route under `/admin` and `/api`, with the roles it admits.
pub fn protected_routes() -> Guarded {
    crate::admin::guarded().merge(crate::api::guarded())
}

/// The whole HTTP service: webhooks of both dialects, prompts, admin pages, the reports
/// API, health checks, with the body timeout and the panic and trace layers.
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

/// A bound, ready-to-serve instance of the service.
pub struct Server {
    listener: TcpListener,
    router: Router,
    stats: Recorder,
    writer: WriterHandle,
    db: Db,
    /// Reloads the operator roster from the database; stopped when serving ends.
    roster_refresh: tokio::task::JoinHandle<()>,
    /// Serves `/metrics` when `IVR_METRICS_LISTEN` is set; stopped when serving ends.
    metrics: Option<tokio::task::JoinHandle<()>>,
    metrics_address: Option<SocketAddr>,
    /// The FastAGI listener (`IVR_AGI_LISTEN`), drained beside the HTTP one.
    agi: Option<crate::telephony::asterisk::AgiServing>,
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
        // The writer and the roster refresh connect (and migrate, once) in the background:
        // calls are answered at once, with the database up, down or slow.
        let (stats, writer) = crate::stats::start(&loaded.settings, db.clone());
        let every = Duration::from_millis(loaded.settings.roster_refresh_ms);
        let state = AppState::start(loaded, db.clone(), stats.clone());
        let roster_refresh = crate::operators::spawn_refresh(state.roster.clone(), db.clone(), every);
        let metrics_address = metrics.as_ref().map(|m| m.local_addr()).transpose()?;
        if let Some(address) = metrics_address {
            tracing::info!(%address, "metrics listening: GET /metrics");
        }
        let metrics = metrics.map(|m| m.spawn(state.clone()));
        if let Some(address) = agi_address {
            tracing::info!(%address, "FastAGI listening: AGI(agi://…/hotline)");
        }
        let agi = agi.map(|a| a.spawn(state.clone()));
        let router = router(state.clone());
        Ok(Server {
            listener,
            router,
            stats,
            writer,
            db,
            roster_refresh,
            metrics,
            metrics_address,
            agi,
            agi_address,
            state,
            limits,
            drain_period,
        })
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

    /// Serves until `drain` completes, then drains (`crate::http_server` tells why): `/readyz`
    /// fails at once and webhooks are answered until the drain period ends (or `stop_now`
    /// completes); then the listener closes, requests in flight finish, what the
    /// statistics channel holds is spooled, the spool is replayed with the time left, and
    /// the database is closed (on SQLite this folds the write-ahead log into the file).
    pub async fn run(
        self,
        drain: impl Future<Output = ()> + Send + 'static,
        stop_now: impl Future<Output = ()> + Send + 'static,
    ) -> std::io::Result<()> {
        let serving = crate::http_server::spawn(self.listener, self.router, self.limits);
        drain.await;
        self.state.start_draining();
        let mut plan = DrainPlan::starting(Instant::now(), self.drain_period);
        let agi = self.agi.map(|agi| tokio::spawn(agi.drain_until(plan.requests_done)));
        tracing::info!(
            drain_ms = self.drain_period.as_millis(),
            "draining: /readyz fails, webhooks are still answered"
        );
        tokio::select! {
            () = tokio::time::sleep_until(plan.stop_accepting) => {}
            () = stop_now => {
                tracing::info!("stopping now");
                plan = DrainPlan::starting(Instant::now(), Duration::ZERO);
            }
        }
        serving.stop(plan.requests_done).await;
        if let Some(mut agi) = agi {
            // Cut short with the requests (`stop_now`): aborting it closes the conversations.
            if tokio::time::timeout_at(plan.requests_done, &mut agi).await.is_err() {
                agi.abort();
            }
        }
        self.roster_refresh.abort();
        if let Some(metrics) = self.metrics {
            metrics.abort();
        }
        self.writer.drain_by(plan.deadline).await;
        // Closing waits for connections in use: never past the deadline.
        if tokio::time::timeout_at(plan.deadline, self.db.close()).await.is_err() {
            tracing::warn!("the database did not close by the end of the drain");
        }
        tracing::info!("stopped");
        Ok(())
    }
}
