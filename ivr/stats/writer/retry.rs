//! Whether the database takes writes, as the writer sees it.
//!
//! Connecting and migrating run on a task of their own, so the writer spools meanwhile
//! instead of waiting. After a failure the database is left alone for a back-off that
//! starts at [`RETRY_FIRST`] and doubles up to [`RETRY_MAX`], and a success starts it again:
//! a database that is down is not asked every tick, and one that is back is used at the
//! next try. Whether it is back is told by a write, never a read: after the back-off the
//! next batch is simply tried again (a flush, which a test or tool waits on, probes at once).

use std::sync::atomic::Ordering;
use std::time::Duration;

use futures_util::FutureExt;
use tokio::time::{Instant, timeout};

use super::Writer;

/// The back-off after a first failure.
const RETRY_FIRST: Duration = Duration::from_millis(500);
/// The longest back-off.
const RETRY_MAX: Duration = Duration::from_secs(10);
/// Connecting includes migrating, which waits for other instances migrating the same database.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

/// When the database is tried again: a back-off doubling with each failure.
#[derive(Debug)]
pub(super) struct Backoff {
    retry_at: Instant,
    /// What the next failure waits.
    delay: Duration,
}

impl Backoff {
    /// Due at once, at the first step.
    pub(super) fn new() -> Backoff {
        Backoff { retry_at: Instant::now(), delay: RETRY_FIRST }
    }

    /// When the next try is due.
    pub(super) fn retry_at(&self) -> Instant {
        self.retry_at
    }

    /// Whether the next try is due.
    pub(super) fn due(&self) -> bool {
        Instant::now() >= self.retry_at
    }

    /// Whether it is at its first step: no failure since the last success.
    pub(super) fn at_first_step(&self) -> bool {
        self.delay == RETRY_FIRST
    }

    /// A failure: the next try waits the current step, and the next failure twice as long,
    /// up to [`RETRY_MAX`].
    pub(super) fn failed(&mut self) {
        self.retry_at = Instant::now() + self.delay;
        self.delay = (self.delay * 2).min(RETRY_MAX);
    }

    /// A success: the next failure waits the first step again.
    pub(super) fn succeeded(&mut self) {
        self.delay = RETRY_FIRST;
    }

    /// Work stopped short (a replay): the next try waits at least the first step, and no
    /// less than a back-off already under way.
    pub(super) fn defer(&mut self) {
        self.retry_at = self.retry_at.max(Instant::now() + RETRY_FIRST);
    }
}

impl Writer {
    /// Whether a write may be tried now: the database is migrated and either took the last
    /// write or its back-off has passed. Starts connecting again when that is due.
    pub(super) fn may_write(&mut self) -> bool {
        if self.store.is_none() {
            self.poll_connect();
        }
        self.store.is_some() && (self.up || self.backoff.due())
    }

    /// Starts connecting and migrating on a task of its own, if none is running.
    pub(super) fn connect(&mut self) {
        if self.connecting.is_none() {
            let database = self.database.clone();
            self.connecting = Some(tokio::spawn(async move {
                match timeout(CONNECT_TIMEOUT, database.ready()).await {
                    Ok(result) => result.map_err(|error| error.to_string()),
                    Err(_) => Err("no answer within the connect timeout".to_owned()),
                }
            }));
        }
    }

    /// Takes the connecting task's result if it is done; starts another when its back-off passed.
    pub(super) fn poll_connect(&mut self) {
        match &self.connecting {
            Some(task) if task.is_finished() => {}
            Some(_) => return,
            None => {
                if self.backoff.due() {
                    self.connect();
                }
                return;
            }
        }
        let Some(task) = self.connecting.take() else { return };
        self.connected(task.now_or_never());
    }

    /// What the connecting task ended with (`None`: it did not end).
    pub(super) fn connected(&mut self, ended: Option<Result<Result<(), String>, tokio::task::JoinError>>) -> bool {
        match ended {
            Some(Ok(Ok(()))) => {
                tracing::info!(database = self.database.kind(), "statistics database ready");
                self.store = Some(self.database.clone());
                self.purge_at = Some(Instant::now());
                self.back_up();
                true
            }
            Some(Ok(Err(reason))) => self.fail(&reason),
            Some(Err(error)) => self.fail(&error.to_string()),
            None => self.fail("the connection was abandoned"),
        }
    }

    /// Whether the database can be written to now, asked of it at once (for a flush):
    /// waits for the connection, or writes a probe (never just a read: SQLite answers a
    /// `SELECT` while another process holds the write lock).
    pub(super) async fn probe(&mut self) -> bool {
        let Some(store) = &self.store else {
            self.connect();
            let Some(task) = self.connecting.take() else { return false };
            let ended = task.await;
            return self.connected(Some(ended));
        };
        if self.up {
            return true;
        }
        match timeout(self.config.write_timeout, store.ping()).await {
            Ok(Ok(())) => {
                self.back_up();
                true
            }
            Ok(Err(error)) => self.fail(&error.to_string()),
            Err(_) => self.fail("no answer within the write timeout"),
        }
    }

    fn fail(&mut self, reason: &str) -> bool {
        self.down(reason);
        false
    }

    /// The database took a write.
    pub(super) fn back_up(&mut self) {
        if !self.up && !self.backoff.at_first_step() {
            tracing::info!("statistics database writable again");
        }
        self.up = true;
        self.status.database_up.store(true, Ordering::Relaxed);
        self.backoff.succeeded();
        if self.purge_at.is_some_and(|at| at <= Instant::now()) {
            self.purge();
        }
    }

    /// The database did not take a write. Said at most once per
    /// [`WARNING_EVERY`](super::warnings::WARNING_EVERY) (a database that keeps missing the
    /// deadline under load would otherwise be a warning every few hundred milliseconds),
    /// with how many failures there were since it was last said, and only on the first
    /// failure after a success: an outage is one warning, not one per back-off.
    pub(super) fn down(&mut self, reason: &str) {
        if let Some(failures) = self.down_warning.occurred(self.up || self.backoff.at_first_step()) {
            let spool = self.spool.dir().display();
            tracing::warn!(%reason, failures, %spool, "statistics database unavailable: spooling");
        }
        self.up = false;
        self.status.database_up.store(false, Ordering::Relaxed);
        self.backoff.failed();
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use tokio::time::{Instant, advance};

    use super::{Backoff, RETRY_FIRST};
    use crate::stats::writer::fixture::{Bench, config};

    /// What is left of the back-off.
    fn wait(backoff: &Backoff) -> Duration {
        backoff.retry_at().saturating_duration_since(Instant::now())
    }

    /// 0.5 s after a first failure, twice as long after each next one, never more than
    /// 10 s; after a success, 0.5 s again.
    #[tokio::test(start_paused = true)]
    async fn the_back_off_doubles_from_half_a_second_to_ten_and_a_success_starts_it_again() {
        let mut backoff = Backoff::new();
        assert!(backoff.due() && backoff.at_first_step(), "a new one is due at once");
        let waits: Vec<Duration> = (0..7)
            .map(|_| {
                backoff.failed();
                wait(&backoff)
            })
            .collect();
        let seconds = [0.5, 1.0, 2.0, 4.0, 8.0, 10.0, 10.0].map(Duration::from_secs_f64);
        assert_eq!(waits, seconds);
        assert!(!backoff.at_first_step());
        backoff.succeeded();
        assert!(backoff.at_first_step());
        backoff.failed();
        assert_eq!(wait(&backoff), RETRY_FIRST);
    }

    /// A retry is due exactly when its wait is over.
    #[tokio::test(start_paused = true)]
    async fn a_retry_is_due_when_its_wait_is_over() {
        let mut backoff = Backoff::new();
        backoff.failed();
        advance(Duration::from_millis(499)).await;
        assert!(!backoff.due());
        advance(Duration::from_millis(1)).await;
        assert!(backoff.due());
    }

    /// A replay stopped short waits the first step, without counting as a failure, and
    /// never cuts a longer back-off short.
    #[tokio::test(start_paused = true)]
    async fn deferring_waits_the_first_step_and_never_shortens_a_back_off() {
        let mut backoff = Backoff::new();
        backoff.defer();
        assert_eq!(wait(&backoff), RETRY_FIRST);
        assert!(backoff.at_first_step(), "not a failure");
        for _ in 0..3 {
            backoff.failed();
        }
        backoff.defer();
        assert_eq!(wait(&backoff), Duration::from_secs(2));
    }

    /// A failed write counts the database down (readiness says so) and no write is tried
    /// until its back-off has passed; a success says it is up again and resets the back-off.
    #[tokio::test]
    async fn after_a_failure_no_write_is_tried_until_the_back_off_has_passed() {
        let mut bench = Bench::connected(config()).await;
        tokio::time::pause();
        let writer = &mut bench.writer;
        assert!(writer.may_write() && writer.status.database_up());
        writer.down("refused");
        assert!(!writer.may_write() && !writer.status.database_up());
        advance(Duration::from_millis(499)).await;
        assert!(!writer.may_write());
        advance(Duration::from_millis(1)).await;
        assert!(writer.may_write(), "tried again after 0.5 s");
        writer.down("refused again");
        advance(Duration::from_millis(999)).await;
        assert!(!writer.may_write(), "the second failure waits 1 s");
        advance(Duration::from_millis(1)).await;
        assert!(writer.may_write());
        writer.back_up();
        assert!(writer.status.database_up() && writer.backoff.at_first_step());
    }

    /// A database that cannot be reached is not connected to again before the back-off
    /// has passed, and is connected to again once it has.
    #[tokio::test]
    async fn a_failed_connection_is_tried_again_after_the_back_off() {
        let mut bench = Bench::unreachable(config());
        assert!(!bench.writer.probe().await, "the file cannot be made");
        tokio::time::pause();
        assert!(!bench.writer.may_write());
        assert!(bench.writer.connecting.is_none(), "not yet");
        advance(RETRY_FIRST).await;
        assert!(!bench.writer.may_write());
        assert!(bench.writer.connecting.is_some(), "connecting again");
    }
}
