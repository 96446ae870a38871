//! The accept loop: one task per connection, each holding one of a fixed number of slots.
//!
//! A flood of idle or slow connections must not take every file descriptor: the cap sits
//! below the descriptor limit (raised to its hard maximum at start-up where allowed), a
//! connection beyond it is accepted and closed at once, and the refusals are logged with a
//! count at most once a second. A connection holds its slot only while it sends a request
//! in time: its headers within the header timeout (counted from when it is ready for a
//! request, so the same limit ends an idle kept-alive connection) and its body within the
//! body timeout (a layer of the router).

use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::body::Body;
use axum::extract::ConnectInfo;
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::server::graceful::GracefulShutdown;
use tokio::net::TcpListener;
use tokio::sync::{Semaphore, oneshot};
use tokio::task::JoinHandle;
use tokio::time::Instant;
use tower::ServiceExt;

use crate::config::Settings;

/// Descriptors kept for what is not a connection (the database, the spool, prompt files,
/// logs): a tenth of the limit, at least this many.
const RESERVED_DESCRIPTORS: u64 = 128;
/// Refusals and accept failures are logged at most this often, with a count.
const LOG_EVERY: Duration = Duration::from_secs(1);
/// After an accept failure that is not one connection's (out of descriptors).
const ACCEPT_BACKOFF: Duration = Duration::from_millis(50);

/// What one connection may take of the server.
#[derive(Clone, Copy, Debug)]
pub struct Limits {
    /// Connections held at once; one more is refused at once.
    pub max_connections: usize,
    /// How long a client may take to send a request's headers (and sit idle kept alive).
    pub header_timeout: Duration,
}

impl Limits {
    /// The settings' limits; raises the soft descriptor limit to the hard one where allowed
    /// and, unless `IVR_MAX_CONNECTIONS` says otherwise, caps connections below it.
    pub fn from_settings(settings: &Settings) -> Limits {
        let descriptors = raise_descriptor_limit();
        let reserved = (descriptors / 10).max(RESERVED_DESCRIPTORS);
        let fits = usize::try_from(descriptors.saturating_sub(reserved)).unwrap_or(usize::MAX).max(1);
        let max_connections = match settings.max_connections {
            Some(wanted) if wanted > fits => {
                tracing::warn!(
                    wanted,
                    descriptors,
                    "IVR_MAX_CONNECTIONS is above what the descriptor limit allows: new connections may fail for want of descriptors"
                );
                wanted
            }
            Some(wanted) => wanted,
            None => fits,
        };
        tracing::info!(max_connections, descriptors, "connection limit");
        Limits { max_connections, header_timeout: Duration::from_millis(settings.header_timeout_ms) }
    }
}

/// The soft limit on open descriptors, raised to the hard limit where allowed.
fn raise_descriptor_limit() -> u64 {
    match rlimit::increase_nofile_limit(u64::MAX) {
        Ok(limit) => limit,
        Err(error) => {
            let (soft, _) = rlimit::getrlimit(rlimit::Resource::NOFILE).unwrap_or((1024, 1024));
            tracing::warn!(%error, soft, "cannot raise the descriptor limit");
            soft
        }
    }
}

/// The accept loop, running. Each connection is HTTP/1.1 with keep-alive, and each
/// request carries the client's address (`ConnectInfo`). Registered with
/// `crate::tasks`, which drains it with the service's other listeners.
pub struct Serving {
    stop: oneshot::Sender<()>,
    task: JoinHandle<GracefulShutdown>,
    /// One permit per connection not open: the open ones are the rest of the limit.
    slots: Arc<Semaphore>,
    max_connections: usize,
}

/// Starts accepting connections on `listener` and serving `router` on them.
pub fn spawn(listener: TcpListener, router: Router, limits: Limits) -> Serving {
    let (stop, stopped) = oneshot::channel();
    let slots = Arc::new(Semaphore::new(limits.max_connections));
    let task = tokio::spawn(accept(listener, router, limits, Arc::clone(&slots), stopped));
    Serving { stop, task, slots, max_connections: limits.max_connections }
}

impl crate::tasks::Listener for Serving {
    fn open_connections(&self) -> usize {
        self.max_connections - self.slots.available_permits()
    }

    /// Closes the listener, then waits for the requests in flight until `by` at the latest.
    /// Idle kept-alive connections are closed at once.
    fn stop(self: Box<Self>, by: Instant) -> crate::tasks::Stopping {
        let Serving { stop, task, .. } = *self;
        Box::pin(async move {
            let _ = stop.send(());
            let Ok(connections) = task.await else { return };
            if tokio::time::timeout_at(by, connections.shutdown()).await.is_err() {
                tracing::warn!("requests still in flight at the end of the drain were cut off");
            }
        })
    }
}

async fn accept(
    listener: TcpListener,
    router: Router,
    limits: Limits,
    slots: Arc<Semaphore>,
    mut stop: oneshot::Receiver<()>,
) -> GracefulShutdown {
    let connections = GracefulShutdown::new();
    let mut refusals = Refusals::default();
    loop {
        let accepted = tokio::select! {
            biased;
            _ = &mut stop => break,
            accepted = listener.accept() => accepted,
        };
        let (stream, remote) = match accepted {
            Ok(accepted) => accepted,
            Err(error) if is_one_connections(&error) => continue,
            Err(error) => {
                refusals.failed(&error);
                tokio::time::sleep(ACCEPT_BACKOFF).await;
                continue;
            }
        };
        let Ok(slot) = Arc::clone(&slots).try_acquire_owned() else {
            refusals.over_limit(limits.max_connections);
            drop(stream);
            continue;
        };
        let _ = stream.set_nodelay(true);
        let router = router.clone();
        let service = hyper::service::service_fn(move |mut request: hyper::Request<Incoming>| {
            request.extensions_mut().insert(ConnectInfo(remote));
            router.clone().oneshot(request.map(Body::new))
        });
        let connection = http1::Builder::new()
            .timer(TokioTimer::new())
            .header_read_timeout(limits.header_timeout)
            .serve_connection(TokioIo::new(stream), service);
        let connection = connections.watch(connection);
        tokio::spawn(async move {
            let _ = connection.await;
            drop(slot);
        });
    }
    connections
}

/// Errors that end one incoming connection, not the listener.
pub fn is_one_connections(error: &std::io::Error) -> bool {
    use std::io::ErrorKind::{ConnectionAborted, ConnectionRefused, ConnectionReset};
    matches!(error.kind(), ConnectionAborted | ConnectionRefused | ConnectionReset)
}

/// Says when a line about refusals is due: at most one a second.
#[derive(Default)]
pub struct LogThrottle {
    logged_at: Option<Instant>,
}

impl LogThrottle {
    /// Whether a line may be logged now (and, if so, that one was).
    pub fn due(&mut self) -> bool {
        let due = self.logged_at.is_none_or(|at| at.elapsed() >= LOG_EVERY);
        if due {
            self.logged_at = Some(Instant::now());
        }
        due
    }
}

/// Counts refused and failed accepts between log lines.
#[derive(Default)]
struct Refusals {
    over_limit: u64,
    failed: u64,
    throttle: LogThrottle,
}

impl Refusals {
    fn due(&mut self) -> bool {
        self.throttle.due()
    }

    fn over_limit(&mut self, limit: usize) {
        self.over_limit += 1;
        if self.due() {
            tracing::warn!(
                refused = self.over_limit,
                limit,
                "connection limit reached: new connections closed at once (IVR_MAX_CONNECTIONS)"
            );
            self.over_limit = 0;
        }
    }

    fn failed(&mut self, error: &std::io::Error) {
        self.failed += 1;
        if self.due() {
            tracing::warn!(failed = self.failed, %error, "cannot accept connections");
            self.failed = 0;
        }
    }
}
