//! The drain: from the first SIGTERM (or Ctrl-C), `/readyz` fails so a load balancer stops
//! sending new calls, while every webhook that still arrives is answered, for the drain
//! period (`IVR_DRAIN_MS`, 10 s). Only then does the listener close; requests in flight
//! finish, what the statistics channel holds goes to the spool, and the spool is replayed
//! for whatever time is left. The whole shutdown ends within the period, whatever the
//! database does: nothing in it waits on a database known to be down.

use std::time::Duration;

use axum::http::{HeaderValue, header};
use axum::response::Response;
use tokio::time::Instant;

use crate::state::AppState;

/// While draining, every response asks the client to close its connection, so no client
/// still holds a kept-alive connection when the listener closes.
pub fn close_while_draining(app: &AppState, mut response: Response) -> Response {
    if app.is_draining() {
        response.headers_mut().insert(header::CONNECTION, HeaderValue::from_static("close"));
    }
    response
}

/// The end of a drain is kept for finishing requests in flight and the statistics: a
/// quarter of the period, between these bounds.
const TAIL_MIN: Duration = Duration::from_millis(500);
const TAIL_MAX: Duration = Duration::from_secs(2);

/// A drain's timeline, from the signal.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct DrainPlan {
    /// Until then every connection is accepted and every webhook answered.
    pub stop_accepting: Instant,
    /// Requests still in flight then are cut off.
    pub requests_done: Instant,
    /// The statistics are spooled, and the spool replayed until then; the process exits.
    pub deadline: Instant,
}

impl DrainPlan {
    /// The plan of a drain of `period` starting `now`. It ends at `now + period` (at
    /// least [`TAIL_MIN`] after `now`, for a period of 0).
    pub fn starting(now: Instant, period: Duration) -> DrainPlan {
        let tail = (period / 4).clamp(TAIL_MIN, TAIL_MAX);
        let deadline = now + period.max(tail);
        let stop_accepting = deadline - tail;
        DrainPlan { stop_accepting, requests_done: stop_accepting + tail / 2, deadline }
    }
}

/// The first Ctrl-C or SIGTERM starts the drain; a second one cuts it short.
pub fn shutdown_signals() -> (impl Future<Output = ()> + Send, impl Future<Output = ()> + Send) {
    let (count, counted) = tokio::sync::watch::channel(0_u32);
    tokio::spawn(async move {
        let mut signals = Signals::new();
        loop {
            signals.next().await;
            count.send_modify(|n| *n += 1);
        }
    });
    let nth = |n: u32| {
        let mut counted = counted.clone();
        async move {
            let _ = counted.wait_for(|&count| count >= n).await;
        }
    };
    (nth(1), nth(2))
}

/// Ctrl-C and SIGTERM, each as often as they come.
struct Signals {
    #[cfg(unix)]
    terminate: Option<tokio::signal::unix::Signal>,
}

impl Signals {
    fn new() -> Signals {
        #[cfg(unix)]
        {
            let terminate = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate());
            if let Err(error) = &terminate {
                tracing::warn!(%error, "SIGTERM cannot be caught: only Ctrl-C starts the drain");
            }
            Signals { terminate: terminate.ok() }
        }
        #[cfg(not(unix))]
        Signals {}
    }

    async fn next(&mut self) {
        #[cfg(unix)]
        let terminate = async {
            match &mut self.terminate {
                Some(signal) => drop(signal.recv().await),
                None => std::future::pending().await,
            }
        };
        #[cfg(not(unix))]
        let terminate = std::future::pending::<()>();
        tokio::select! {
            _ = tokio::signal::ctrl_c() => tracing::info!("Ctrl-C"),
            () = terminate => tracing::info!("SIGTERM"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_drain_ends_within_its_period_and_keeps_its_tail_for_the_statistics() {
        let now = Instant::now();
        let plan = DrainPlan::starting(now, Duration::from_secs(10));
        assert_eq!(plan.deadline, now + Duration::from_secs(10));
        assert_eq!(plan.stop_accepting, now + Duration::from_secs(8));
        assert!(plan.stop_accepting < plan.requests_done && plan.requests_done < plan.deadline);
        let short = DrainPlan::starting(now, Duration::from_secs(1));
        assert_eq!(
            (short.stop_accepting, short.deadline),
            (now + Duration::from_millis(500), now + Duration::from_secs(1))
        );
    }

    #[test]
    fn a_drain_of_nothing_still_lets_requests_in_flight_finish() {
        let now = Instant::now();
        let plan = DrainPlan::starting(now, Duration::ZERO);
        assert_eq!(plan.stop_accepting, now);
        assert_eq!(plan.deadline, now + TAIL_MIN);
        assert!(plan.requests_done > now);
    }
}
