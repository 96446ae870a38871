//! Every long-lived task the process runs, in one place, and the order they stop in.
//!
//! A shutdown must lose no caller and no statistic, and end within the drain period
//! (`IVR_DRAIN_MS`) whatever the database does. That holds only if things stop in order: a
//! listener stopped after the statistics writer would hand records to a closed channel, and
//! the repeat-caller check stopped after the database logged a closed pool. So each module
//! starts its own tasks and registers them here with the stage they stop in, and
//! [`Tasks::drain`] stops them, stage after stage, each stage's tasks side by side:
//!
//! 1. the **listeners** ([`Listener`]: HTTP, and a FastAGI listener registers the same way):
//!    they keep accepting and answering until the drain period is nearly over, so a load
//!    balancer has time to see `/readyz` fail; then they stop accepting, and the
//!    conversations in flight go on until [`DrainPlan::conversations_done`];
//! 2. [`Stage::Producers`]: what records statistics or uses the database beside the calls
//!    (the repeat-caller check sends its last flags; the key and roster refreshes and the
//!    metrics listener end);
//! 3. [`Stage::Statistics`]: the writer commits or spools what it was handed;
//! 4. [`Stage::Database`]: the pools close.
//!
//! **An idle service stops at once.** Idle means no connection open on any listener when
//! the drain starts, kept-alive ones included: nobody is in a conversation with this
//! process, so there is no one to wait for. A load balancer in front that keeps connections
//! to its upstreams (nginx's `keepalive`) holds some while it sends traffic, and the service
//! then drains the whole period as a busy one does; it holds none only after sending nothing
//! for the header timeout (which closes an idle kept-alive connection). A connection that
//! arrives after the exit waits in the socket's queue for the next process under systemd
//! (`deploy/ivr.socket`), or is refused, which nginx takes as a failed upstream and tries on
//! another (`proxy_next_upstream error`): what it meets after any drain.

mod plan;
mod signals;
#[cfg(test)]
mod tests;

use std::pin::Pin;
use std::time::Duration;

use tokio::task::{JoinHandle, JoinSet};
use tokio::time::Instant;

pub use plan::DrainPlan;
pub use signals::shutdown_signals;

/// A task being stopped; done once it has stopped.
pub type Stopping = Pin<Box<dyn Future<Output = ()> + Send>>;

/// A listener whose connections carry callers' conversations: a webhook a request over
/// HTTP, a whole call a connection over FastAGI.
pub trait Listener: Send {
    /// Connections open now, kept-alive idle ones included.
    fn open_connections(&self) -> usize;

    /// Stops accepting; the conversations in flight go on until `by`, then are cut off.
    fn stop(self: Box<Self>, by: Instant) -> Stopping;
}

/// When a registered task stops: after the listeners, in this order.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Stage {
    /// What records statistics or uses the database beside the calls: stopped once no
    /// conversation is left, by [`DrainPlan::producers_done`].
    Producers,
    /// The statistics writer, once nothing records any more: by the deadline.
    Statistics,
    /// The database, once nothing uses it: by the deadline.
    Database,
}

impl Stage {
    const ORDER: [Stage; 3] = [Stage::Producers, Stage::Statistics, Stage::Database];

    fn by(self, plan: &DrainPlan) -> Instant {
        match self {
            Stage::Producers => plan.producers_done,
            Stage::Statistics | Stage::Database => plan.deadline,
        }
    }
}

/// How a registered task is stopped: asked to stop by a deadline, done once it has.
type Stop = Box<dyn FnOnce(Instant) -> Stopping + Send>;

/// Every task the process runs, with how and when each stops. See the module's doc.
#[derive(Default)]
pub struct Tasks {
    listeners: Vec<(&'static str, Box<dyn Listener>)>,
    stops: Vec<(Stage, &'static str, Stop)>,
}

impl Tasks {
    /// No task yet.
    pub fn new() -> Tasks {
        Tasks::default()
    }

    /// A running listener; stopped first.
    pub fn add_listener(&mut self, name: &'static str, listener: impl Listener + 'static) {
        self.listeners.push((name, Box::new(listener)));
    }

    /// A running task stopped in `stage` by `stop(by)`, which asks it to stop by the
    /// stage's deadline and resolves once it has.
    pub fn add<F>(&mut self, stage: Stage, name: &'static str, stop: impl FnOnce(Instant) -> F + Send + 'static)
    where
        F: Future<Output = ()> + Send + 'static,
    {
        self.stops.push((stage, name, Box::new(move |by| Box::pin(stop(by)))));
    }

    /// A running loop that holds nothing worth finishing (a refresh, the metrics listener):
    /// aborted in `stage`.
    pub fn add_loop(&mut self, stage: Stage, name: &'static str, task: JoinHandle<()>) {
        self.add(stage, name, move |_| async move {
            task.abort();
            // Cancelled at its next await: awaited, so nothing of it runs in a later stage.
            let _ = task.await;
        });
    }

    /// No connection is open on any listener.
    pub fn idle(&self) -> bool {
        self.listeners.iter().all(|(_, listener)| listener.open_connections() == 0)
    }

    /// Drains for `period` from now, then stops everything in order (see the module's
    /// doc); at once when idle, and with no time left for the conversations once
    /// `stop_now` completes (a second signal).
    pub async fn drain(self, period: Duration, stop_now: impl Future<Output = ()>) {
        let mut plan = plan_from_now(self.idle(), period);
        let Tasks { listeners, mut stops } = self;
        tokio::select! {
            biased;
            () = tokio::time::sleep_until(plan.stop_accepting) => {}
            () = stop_now => {
                tracing::info!("stopping now");
                plan = DrainPlan::starting(Instant::now(), Duration::ZERO);
            }
        }
        let by = plan.conversations_done;
        all(listeners.into_iter().map(|(name, listener)| (name, listener.stop(by)))).await;
        for stage in Stage::ORDER {
            let (now, later): (Vec<_>, Vec<_>) = stops.into_iter().partition(|(of, ..)| *of == stage);
            stops = later;
            let by = stage.by(&plan);
            all(now.into_iter().map(|(_, name, stop)| (name, stop(by)))).await;
        }
        tracing::info!("stopped");
    }
}

/// The drain's plan from now, said in the log.
fn plan_from_now(idle: bool, period: Duration) -> DrainPlan {
    if idle {
        tracing::info!("no connection open: stopping at once");
        return DrainPlan::idle(Instant::now(), period);
    }
    tracing::info!(drain_ms = period.as_millis(), "draining: calls are answered until the drain period ends");
    DrainPlan::starting(Instant::now(), period)
}

/// Runs the stops side by side; returns once every one is done.
async fn all(stopping: impl Iterator<Item = (&'static str, Stopping)>) {
    let mut running = JoinSet::new();
    for (name, stop) in stopping {
        running.spawn(async move {
            stop.await;
            name
        });
    }
    while let Some(done) = running.join_next().await {
        match done {
            Ok(name) => tracing::debug!(task = name, "stopped"),
            Err(error) => tracing::error!(%error, "a task failed while stopping"),
        }
    }
}
