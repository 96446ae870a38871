//! The Asterisk dialect: FastAGI, for the PBXs the region's contact centres already run.
//! The dialplan hands a call over with `AGI(agi://host:4573/hotline)`; Asterisk connects,
//! sends the call's environment, and then answers one command at a time for the whole call
//! (`conversation.rs`). Unlike the webhook dialects, one TCP connection holds one call, so
//! this module owns a listener of its own (`IVR_AGI_LISTEN`, off with `off`) beside the
//! HTTP one.
//!
//! FastAGI has no signature: only the addresses of `IVR_AGI_ALLOW` (loopback by default)
//! are let in, the others closed at accept; connections beyond the cap (the HTTP side's,
//! `IVR_MAX_CONNECTIONS` or the descriptor limit) are closed at once; both are logged at
//! most once a second. A peer that is silent for `IVR_AGI_TIMEOUT_MS` where Asterisk
//! answers at once, or that says what Asterisk never says, ends its conversation with one
//! log line: the dialplan's fallback then takes the call, and nothing panics.
//!
//! On a drain ([`AgiServing::drain_until`]) no new connection is taken, conversations go
//! on until their calls end or the deadline comes; then their connections are closed. The
//! state saved in `IVR_STATE` after every turn lets the dialplan carry each call to another
//! instance at the menu it was on.

mod codec;
mod conversation;
mod dial;
mod peer;

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::TcpListener;
use tokio::sync::{Semaphore, watch};
use tokio::task::JoinHandle;
use tokio::time::Instant;
use tracing::Instrument;

use crate::config::Settings;
use crate::http_server::{LogThrottle, is_one_connections};
use crate::state::AppState;

pub use conversation::{SCRIPT, STATE_VARIABLE};
pub use dial::WHISPER_CONTEXT;

/// After an accept failure that is not one connection's (out of descriptors).
const ACCEPT_BACKOFF: Duration = Duration::from_millis(50);

/// The FastAGI listener, bound and not yet serving.
pub struct AgiListener {
    listener: TcpListener,
    allow: Arc<[ipnet::IpNet]>,
    max_connections: usize,
}

impl AgiListener {
    /// Binds `IVR_AGI_LISTEN`; `None` when it is `off`.
    pub async fn bind(settings: &Settings, max_connections: usize) -> std::io::Result<Option<AgiListener>> {
        let Some(address) = settings.asterisk.listen else { return Ok(None) };
        let listener = TcpListener::bind(address).await?;
        let allow = settings.asterisk.allow.clone().into();
        Ok(Some(AgiListener { listener, allow, max_connections: max_connections.max(1) }))
    }

    /// The address bound (the port, when 0 was asked for).
    pub fn local_addr(&self) -> std::io::Result<SocketAddr> {
        self.listener.local_addr()
    }

    /// Starts taking conversations.
    pub fn spawn(self, app: AppState) -> AgiServing {
        let max_connections = self.max_connections;
        let slots = Arc::new(Semaphore::new(max_connections));
        let (cut, _) = watch::channel(false);
        let (stop, stopped) = watch::channel(false);
        let accepting = Accepting { app, slots: Arc::clone(&slots), cut: cut.clone(), refusals: Refusals::default() };
        let task = tokio::spawn(accepting.run(self, stopped));
        AgiServing { stop, cut, slots, task, max_connections }
    }
}

/// The FastAGI listener, serving. Dropping it closes every conversation's connection.
pub struct AgiServing {
    stop: watch::Sender<bool>,
    cut: watch::Sender<bool>,
    slots: Arc<Semaphore>,
    task: JoinHandle<()>,
    max_connections: usize,
}

/// Drained with the HTTP listener (`crate::tasks`): a FastAGI conversation is a whole call,
/// so one open keeps the service from stopping at once, and one still open when the
/// conversations' time is up is handed back to the dialplan, which carries the caller to
/// another instance with the state it last saved.
impl crate::tasks::Listener for AgiServing {
    fn open_connections(&self) -> usize {
        self.max_connections - self.slots.available_permits()
    }

    fn stop(self: Box<Self>, by: Instant) -> crate::tasks::Stopping {
        Box::pin(self.drain_until(by))
    }
}

impl AgiServing {
    /// Stops taking connections, lets the conversations go on until `deadline`, then closes
    /// the ones left (their calls go on through the dialplan's failover).
    pub async fn drain_until(self, deadline: Instant) {
        let _ = self.stop.send(true);
        let _ = self.task.await;
        let all = u32::try_from(self.max_connections).unwrap_or(u32::MAX);
        if tokio::time::timeout_at(deadline, self.slots.acquire_many(all)).await.is_err() {
            let left = self.max_connections - self.slots.available_permits();
            tracing::info!(left, "drain: FastAGI conversations still open are handed back to the dialplan");
            let _ = self.cut.send(true);
            let _ = tokio::time::timeout(Duration::from_secs(1), self.slots.acquire_many(all)).await;
        }
    }
}

/// Holds one call on `stream` (tests and `ivr simulate` use it with an in-process peer).
pub async fn converse<S: AsyncRead + AsyncWrite>(app: &AppState, stream: S) {
    conversation::converse(app, stream, std::future::pending()).instrument(span()).await;
}

fn span() -> tracing::Span {
    tracing::info_span!("agi_call", call = tracing::field::Empty, dialect = "asterisk")
}

struct Accepting {
    app: AppState,
    slots: Arc<Semaphore>,
    cut: watch::Sender<bool>,
    refusals: Refusals,
}

impl Accepting {
    async fn run(mut self, listener: AgiListener, mut stopped: watch::Receiver<bool>) {
        loop {
            let accepted = tokio::select! {
                biased;
                _ = stopped.wait_for(|stop| *stop) => return,
                accepted = listener.listener.accept() => accepted,
            };
            match accepted {
                Ok((stream, peer)) => self.take(stream, peer, &listener.allow),
                Err(error) if is_one_connections(&error) => {}
                Err(error) => {
                    self.refusals.failed(&error);
                    tokio::time::sleep(ACCEPT_BACKOFF).await;
                }
            }
        }
    }

    fn take(&mut self, stream: tokio::net::TcpStream, peer: SocketAddr, allow: &[ipnet::IpNet]) {
        if !allow.iter().any(|net| net.contains(&peer.ip())) {
            self.refusals.not_allowed(peer);
            return;
        }
        let Ok(slot) = Arc::clone(&self.slots).try_acquire_owned() else {
            self.refusals.over_limit();
            return;
        };
        let _ = stream.set_nodelay(true);
        let app = self.app.clone();
        let mut cut = self.cut.subscribe();
        tokio::spawn(
            async move {
                let cut = async move {
                    let _ = cut.wait_for(|cut| *cut).await;
                };
                conversation::converse(&app, stream, cut).await;
                drop(slot);
            }
            .instrument(span()),
        );
    }
}

/// Counts refused connections between log lines.
#[derive(Default)]
struct Refusals {
    not_allowed: u64,
    over_limit: u64,
    throttle: LogThrottle,
}

impl Refusals {
    fn due(&mut self) -> bool {
        self.throttle.due()
    }

    fn not_allowed(&mut self, peer: SocketAddr) {
        self.not_allowed += 1;
        if self.due() {
            let (refused, address) = (self.not_allowed, peer.ip());
            tracing::warn!(refused, %address, "FastAGI connection from an address not in IVR_AGI_ALLOW closed");
            self.not_allowed = 0;
        }
    }

    fn over_limit(&mut self) {
        self.over_limit += 1;
        if self.due() {
            tracing::warn!(
                refused = self.over_limit,
                "FastAGI connection limit reached: new connections closed at once"
            );
            self.over_limit = 0;
        }
    }

    fn failed(&mut self, error: &std::io::Error) {
        if self.due() {
            tracing::warn!(%error, "cannot accept FastAGI connections");
        }
    }
}
