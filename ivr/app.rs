//! Start-up and router assembly: what [`crate::state::load`] checked → the database
//! (connecting in the background) → statistics writer and roster refresh → serve; on
//! shutdown, the statistics are drained and the database closed.
//!
//! [`Server::build`] binds the listener first (port 0 in tests) so callers of `build` know
//! the address before serving starts.

use std::net::SocketAddr;
use std::time::Duration;

use axum::Router;
use axum::middleware;
use tokio::net::TcpListener;
use tower_http::trace::TraceLayer;

use crate::access::Guarded;
use crate::db::Db;
use crate::state::{AppState, Loaded};
use crate::stats::{Recorder, WriterHandle};

/// Every route under `/admin` and `/api`, with the roles it admits.
pub fn protected_routes() -> Guarded {
    crate::admin::guarded().merge(crate::reports::guarded())
}

pub fn router(state: AppState) -> Router {
    Router::new()
        .merge(crate::telephony::router(&state.settings))
        .merge(crate::prompts::router())
        .merge(crate::admin::sign_in_router(&state.settings))
        .merge(protected_routes().into_router())
        .merge(crate::service::router())
        .layer(middleware::from_fn(crate::service::metrics::track_webhooks))
        .layer(middleware::from_fn_with_state(state.clone(), crate::access::authenticate))
        .layer(middleware::from_fn(crate::admin::security_headers))
        .layer(TraceLayer::new_for_http())
        .with_state(state)
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
    /// What the router serves from, for whoever stops the service (draining) and tests.
    state: AppState,
}

impl Server {
    pub async fn build(loaded: Loaded) -> anyhow::Result<Server> {
        for warning in loaded.settings.warnings() {
            tracing::warn!("{warning}");
        }
        let listener = TcpListener::bind(loaded.settings.listen).await?;
        let metrics = match loaded.settings.metrics_listen {
            Some(address) => Some(crate::service::metrics::MetricsListener::bind(address).await?),
            None => None,
        };
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
        let router = router(state.clone());
        Ok(Server { listener, router, stats, writer, db, roster_refresh, metrics, metrics_address, state })
    }

    /// The state the requests are served from.
    pub fn state(&self) -> &AppState {
        &self.state
    }

    /// The statistics recorder the webhooks use (tests flush it).
    pub fn stats(&self) -> &Recorder {
        &self.stats
    }

    pub fn local_addr(&self) -> std::io::Result<SocketAddr> {
        self.listener.local_addr()
    }

    /// Where `/metrics` is served, when `IVR_METRICS_LISTEN` is set.
    pub fn metrics_addr(&self) -> Option<SocketAddr> {
        self.metrics_address
    }

    /// Serves until `shutdown` completes, finishes the requests in flight, then drains the
    /// statistics: every record is committed, or spooled if the database is down. Then the
    /// database is closed (on SQLite this folds the write-ahead log into the file).
    pub async fn run_until(self, shutdown: impl Future<Output = ()> + Send + 'static) -> std::io::Result<()> {
        // The peer's address is what the sign-in limits count (`access/client.rs`).
        let service = self.router.into_make_service_with_connect_info::<SocketAddr>();
        let served = axum::serve(self.listener, service).with_graceful_shutdown(shutdown).await;
        self.roster_refresh.abort();
        if let Some(metrics) = self.metrics {
            metrics.abort();
        }
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
