//! Prometheus metrics, on a listener of their own (`IVR_METRICS_LISTEN`, off by default):
//! what the call path does (webhooks, calls, transfers and how they end), how the
//! statistics are doing (channel, spool, replay, commits, the database), the roster (its
//! age, available operators by language) and sign-in failures.
//!
//! Counters and histograms are recorded where things happen (`crate::instruments`, which
//! names every metric), through the `metrics` crate's global recorder: without
//! `IVR_METRICS_LISTEN` none is installed and recording costs nothing. Gauges are read from
//! the running service when Prometheus scrapes.
//!
//! No label ever holds a caller identifier or free text: every label value comes from a
//! fixed set (a dialect, a route template, a status code, an outcome, a language).

use std::net::SocketAddr;
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use axum::Router;
use axum::extract::{MatchedPath, Request, State};
use axum::http::header;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use metrics::{counter, gauge, histogram};
use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};
use tokio::net::TcpListener;

use crate::flow::Language;
use crate::instruments::{
    CALLS_STARTED, COMMIT_SECONDS, DATABASE_UP, EMERGENCY_OUTCOMES, EMERGENCY_TRANSFERS, LINKED_BY_THIS_PROCESS,
    OPERATOR_OUTCOMES, OPERATOR_TRANSFERS, OPERATORS_AVAILABLE, READY, RECORDS_REPLAYED, ROSTER_AGE, SIGNIN_FAILURES,
    SIGNIN_THROTTLED, SPOOL_BYTES, SPOOL_FAILING, SPOOL_FILES, STATS_QUEUED, SWITCHBOARD, WEBHOOK_SECONDS, WEBHOOKS,
};
use crate::state::AppState;

/// The route prefixes of the telephony dialects: a webhook's first path segment.
const DIALECTS: [&str; 2] = ["twilio", "jambonz"];

const SECONDS_BUCKETS: [f64; 12] = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5];

static HANDLE: OnceLock<PrometheusHandle> = OnceLock::new();
static STARTED: OnceLock<Instant> = OnceLock::new();

/// Installs the process's Prometheus recorder (once; later calls return the same handle).
pub fn install() -> anyhow::Result<&'static PrometheusHandle> {
    if let Some(handle) = HANDLE.get() {
        return Ok(handle);
    }
    let handle = PrometheusBuilder::new()
        .set_buckets_for_metric(Matcher::Full(WEBHOOK_SECONDS.to_owned()), &SECONDS_BUCKETS)?
        .set_buckets_for_metric(Matcher::Full(COMMIT_SECONDS.to_owned()), &SECONDS_BUCKETS)?
        .install_recorder()?;
    describe();
    Ok(HANDLE.get_or_init(|| handle))
}

fn describe() {
    use metrics::{describe_counter, describe_gauge, describe_histogram};
    describe_counter!(WEBHOOKS, "Webhooks answered, by dialect, route and HTTP status");
    describe_histogram!(WEBHOOK_SECONDS, metrics::Unit::Seconds, "Time to answer a webhook");
    describe_counter!(CALLS_STARTED, "Calls answered, by dialect");
    describe_counter!(EMERGENCY_TRANSFERS, "Transfers to the police number");
    describe_counter!(EMERGENCY_OUTCOMES, "How transfers to the police ended");
    describe_counter!(OPERATOR_TRANSFERS, "Transfers to operators, by who was rung");
    describe_counter!(OPERATOR_OUTCOMES, "How transfers to operators ended");
    describe_gauge!(STATS_QUEUED, "Statistics records waiting in the channel");
    describe_gauge!(SPOOL_FILES, "Statistics spool files waiting for the database");
    describe_gauge!(SPOOL_BYTES, metrics::Unit::Bytes, "Bytes in the statistics spool");
    describe_gauge!(SPOOL_FAILING, "1 while the statistics spool cannot be written");
    describe_counter!(RECORDS_REPLAYED, "Statistics records replayed from the spool");
    describe_histogram!(COMMIT_SECONDS, metrics::Unit::Seconds, "Statistics writer commit time");
    describe_counter!(
        LINKED_BY_THIS_PROCESS,
        "Call ids made before the day's shared statistics key was read, by record (start, end): linked by this process only"
    );
    describe_gauge!(DATABASE_UP, "1 while the database takes the statistics writer's writes");
    describe_gauge!(ROSTER_AGE, metrics::Unit::Seconds, "Age of the operator roster snapshot");
    describe_gauge!(OPERATORS_AVAILABLE, "Available operators, by language they take calls in");
    describe_gauge!(SWITCHBOARD, "1 when the switchboard (IVR_OPERATOR_NUMBER) is set");
    describe_gauge!(READY, "1 while /readyz says ready");
    describe_counter!(SIGNIN_FAILURES, "Failed sign-ins to the dashboard");
    describe_counter!(SIGNIN_THROTTLED, "Sign-ins refused for too many recent failures");
}

/// The metrics listener, bound: serve it with [`MetricsListener::spawn`].
pub struct MetricsListener {
    listener: TcpListener,
    handle: &'static PrometheusHandle,
}

impl MetricsListener {
    /// Installs the recorder and binds `address`.
    pub async fn bind(address: SocketAddr) -> anyhow::Result<MetricsListener> {
        let handle = install()?;
        STARTED.get_or_init(Instant::now);
        let listener = TcpListener::bind(address).await?;
        Ok(MetricsListener { listener, handle })
    }

    /// The address the metrics listener is bound to.
    pub fn local_addr(&self) -> std::io::Result<SocketAddr> {
        self.listener.local_addr()
    }

    /// Serves `GET /metrics` until the task is aborted.
    pub fn spawn(self, app: AppState) -> tokio::task::JoinHandle<()> {
        let handle = self.handle;
        tokio::spawn(async move {
            let upkeep = tokio::spawn(async move {
                loop {
                    tokio::time::sleep(Duration::from_secs(5)).await;
                    handle.run_upkeep();
                }
            });
            let router = Router::new().route("/metrics", get(scrape)).with_state(app);
            if let Err(error) = axum::serve(self.listener, router).await {
                tracing::error!(%error, "the metrics listener stopped");
            }
            upkeep.abort();
        })
    }
}

/// Reads the gauges from the running service, then renders every metric.
async fn scrape(State(app): State<AppState>) -> Response {
    let Some(handle) = HANDLE.get() else { return axum::http::StatusCode::NOT_FOUND.into_response() };
    let health = app.stats.health();
    gauge!(DATABASE_UP).set(f64::from(u8::from(health.database_up)));
    gauge!(STATS_QUEUED).set(health.queued as f64);
    let spool = health.spool.unwrap_or_default();
    gauge!(SPOOL_FILES).set(spool.files as f64);
    gauge!(SPOOL_BYTES).set(spool.bytes as f64);
    gauge!(SPOOL_FAILING).set(f64::from(u8::from(health.spool_failing)));
    let roster = app.roster.snapshot();
    let loaded = app.roster.loaded_at().or(STARTED.get().copied()).unwrap_or_else(Instant::now);
    gauge!(ROSTER_AGE).set(loaded.elapsed().as_secs_f64());
    for language in Language::ALL {
        gauge!(OPERATORS_AVAILABLE, "language" => language.code()).set(roster.available_for(language) as f64);
    }
    gauge!(SWITCHBOARD).set(f64::from(u8::from(roster.switchboard.is_some())));
    let ready = super::health::readiness(&app).ready;
    gauge!(READY).set(f64::from(u8::from(ready)));
    let content_type = "text/plain; version=0.0.4; charset=utf-8";
    ([(header::CONTENT_TYPE, content_type)], handle.render()).into_response()
}

/// Counts a webhook and times it, by dialect, route template and status. Other requests
/// (admin pages, prompts, unknown paths) pass untouched. On the routes only when metrics
/// have a listener (`app::router`).
pub async fn track_webhooks(request: Request, next: Next) -> Response {
    let route = request.extensions().get::<MatchedPath>().map(|p| p.as_str().to_owned());
    let dialect = route.as_deref().and_then(dialect_of);
    let Some((dialect, route)) = dialect.zip(route) else { return next.run(request).await };
    let started = Instant::now();
    let response = next.run(request).await;
    let status = response.status().as_u16().to_string();
    counter!(WEBHOOKS, "dialect" => dialect, "route" => route.clone(), "status" => status).increment(1);
    histogram!(WEBHOOK_SECONDS, "dialect" => dialect, "route" => route).record(started.elapsed());
    response
}

fn dialect_of(route: &str) -> Option<&'static str> {
    let first = route.trim_start_matches('/').split('/').next()?;
    DIALECTS.into_iter().find(|d| *d == first)
}
