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
use axum::routing::get;
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
        .route("/health", get(|| async { "ok" }))
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
}

impl Server {
    pub async fn build(loaded: Loaded) -> anyhow::Result<Server> {
        for warning in loaded.settings.warnings() {
            tracing::warn!("{warning}");
        }
        let listener = TcpListener::bind(loaded.settings.listen).await?;
        let db = Db::connect_lazy(&loaded.settings.database_url)?;
        // The writer and the roster refresh connect (and migrate, once) in the background:
        // calls are answered at once, with the database up, down or slow.
        let (stats, writer) = crate::stats::start(&loaded.settings, db.clone());
        let every = Duration::from_millis(loaded.settings.roster_refresh_ms);
        let state = AppState::start(loaded, db.clone(), stats.clone());
        let roster_refresh = crate::operators::spawn_refresh(state.roster.clone(), db.clone(), every);
        let router = router(state);
        Ok(Server { listener, router, stats, writer, db, roster_refresh })
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
        // The peer's address is what the sign-in limits count (`access/client.rs`).
        let service = self.router.into_make_service_with_connect_info::<SocketAddr>();
        let served = axum::serve(self.listener, service).with_graceful_shutdown(shutdown).await;
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
