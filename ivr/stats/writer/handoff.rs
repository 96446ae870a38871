//! One write against its records' deadline, and the hand-off to the spool when the deadline
//! comes first.
//!
//! A write that has not committed by its records' deadline is not abandoned: its batch is
//! set aside in the spool (the promise is kept) and the write goes on, while the records
//! reaching the channel meanwhile are spooled as their own time runs out. A write that
//! commits late removes its set-aside copy, so a database that is only slow (a machine
//! short of CPU, a lock held for a moment) costs one fsync'd copy, not a rolled-back write,
//! a back-off and a replay. Only a write that fails, or is still running after
//! [`STALLED_WRITE`], counts the database as down.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use tokio::time::{Instant, sleep_until};

use super::Writer;
use crate::stats::record::Record;
use crate::stats::store::{Store, StoreError, Written};

/// A write still running after this long is abandoned (rolled back) and the database
/// counted as down: SQLite's busy timeout, and a bound on a PostgreSQL that stopped answering.
const STALLED_WRITE: Duration = Duration::from_secs(5);

/// What became of a batch handed to the database.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Fate {
    Committed,
    /// Not committed, but set aside in the spool while the write ran.
    Spooled,
    /// Not committed, and only in memory: the caller spools it.
    Refused,
}

impl Writer {
    /// One transaction. `due`: when the batch, held only in memory, must be in the spool if
    /// not committed (`None` for a replayed batch, already there); the write goes on past
    /// it. Abandoned (rolled back) after [`STALLED_WRITE`] or at `until`, and left when
    /// shutdown is asked for meanwhile (the caller spools the batch with the rest, unless
    /// it is already set aside).
    pub(super) async fn write(&mut self, records: &[Record], mut due: Option<Instant>, until: Option<Instant>) -> Fate {
        let Some(store) = self.store.clone() else { return Fate::Refused };
        let started = Instant::now();
        let give_up = until.map_or(started + STALLED_WRITE, |until| until.min(started + STALLED_WRITE));
        let mut set_aside = None;
        let writing = store.write(records);
        tokio::pin!(writing);
        let written = loop {
            let wake = due.unwrap_or(give_up).min(give_up).min(self.record_deadline());
            let waiting = self.stopping.is_none();
            tokio::select! {
                biased;
                written = &mut writing => break Some(written),
                stop = &mut self.stop, if waiting => {
                    self.stopping = Some(stop.unwrap_or_else(|_| Instant::now()));
                    return self.uncommitted(set_aside.as_deref());
                }
                () = sleep_until(wake) => {}
            }
            let now = Instant::now();
            if now >= give_up {
                break None;
            }
            if due.is_some_and(|due| now >= due) {
                due = None;
                set_aside = self.set_aside(records).await;
            }
            if now >= self.record_deadline() {
                self.spool_channel().await;
            }
        };
        self.write_ended(written, started..give_up, set_aside)
    }

    /// What a write `written` in `time` (from its start to when it was to be abandoned)
    /// ended with: committed, its set-aside copy removed; or the database counted as down
    /// (`None`: still running when abandoned).
    fn write_ended(
        &mut self,
        written: Option<Result<Written, StoreError>>,
        time: std::ops::Range<Instant>,
        set_aside: Option<PathBuf>,
    ) -> Fate {
        let reason = match written {
            Some(Ok(_)) => {
                crate::instruments::committed(time.start.elapsed());
                self.back_up();
                if let Some(copy) = set_aside {
                    self.committed_late(&copy, time.start.elapsed());
                }
                return Fate::Committed;
            }
            Some(Err(error)) => error.to_string(),
            None => format!("no commit within {} s", time.end.duration_since(time.start).as_secs_f32()),
        };
        self.down(&reason);
        self.uncommitted(set_aside.as_deref())
    }

    /// A write ended without a commit: its batch is spooled already if it was set aside
    /// (to be replayed), else the caller must spool it.
    fn uncommitted(&self, set_aside: Option<&Path>) -> Fate {
        if set_aside.is_none() {
            return Fate::Refused;
        }
        self.spool.mark_dirty();
        Fate::Spooled
    }

    /// Writes a batch still being written to the spool, for the promise; `None` if the
    /// spool cannot be written (the batch is then spooled again should the write fail).
    async fn set_aside(&self, records: &[Record]) -> Option<PathBuf> {
        let (spool, batch) = (Arc::clone(&self.spool), records.to_vec());
        match tokio::task::spawn_blocking(move || spool.set_aside(&batch)).await {
            Ok(Ok(path)) => Some(path),
            Ok(Err(error)) => {
                tracing::error!(records = records.len(), %error, "the spool cannot be written: a slow write's batch is only in memory");
                None
            }
            Err(error) => {
                tracing::error!(%error, "the spool writer failed");
                None
            }
        }
    }

    /// Spools what the channel holds (its records' time ran out while a write was running).
    async fn spool_channel(&mut self) {
        let records = self.take_channel();
        self.emptied_at = Instant::now();
        let records = self.unexpired(records);
        if !records.is_empty() {
            self.to_spool(records).await;
        }
    }

    /// A write committed after its batch was set aside: the copy goes, and slow commits are
    /// said at most once per [`WARNING_EVERY`](super::warnings::WARNING_EVERY), with how
    /// many there were.
    fn committed_late(&mut self, copy: &Path, took: Duration) {
        if let Err(error) = self.spool.remove(copy) {
            tracing::error!(%error, "cannot remove a committed batch's copy from the spool (it will be replayed, counted once)");
        }
        if let Some(late_commits) = self.slow_warning.occurred(true) {
            let (took_ms, spool) = (took.as_millis(), self.spool.dir().display());
            tracing::warn!(took_ms, late_commits, %spool, "statistics commits are slow: batches are copied to the spool while they commit");
        }
    }

    /// Appends records to the spool (one fsync'd batch), on the blocking pool.
    pub(super) async fn to_spool(&self, records: Vec<Record>) {
        let spool = Arc::clone(&self.spool);
        let count = records.len();
        let written = tokio::task::spawn_blocking(move || spool.append(&records)).await;
        if let Err(error) = written.map_err(std::io::Error::other).and_then(|r| r) {
            tracing::error!(records = count, %error, "statistics lost: the spool cannot be written");
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;
    use std::time::Duration;

    use tokio::time::{Instant, sleep_until};

    use super::Fate;
    use crate::stats::record::Record;
    use crate::stats::writer::fixture::{Bench, config, lines_with, new_calls, release, spooled, stored};

    /// When the write's batch is due in the spool: 150 ms on (200 ms less the margin).
    fn due() -> Instant {
        Instant::now() + Duration::from_millis(150)
    }

    /// Writes `records` while another connection holds the write lock, on a paused clock
    /// from when the channel was last seen empty: 10 ms past the records' deadline, counts
    /// the records in the spool, then lets the clock run and gives the lock back. What
    /// became of the write, and that count.
    async fn write_past_the_deadline(bench: &mut Bench, records: &[Record]) -> (Fate, usize) {
        let lock = bench.lock_writes().await;
        let spool = Arc::clone(&bench.spool);
        tokio::time::pause();
        bench.writer.emptied_at = Instant::now();
        let due = due();
        tokio::join!(bench.writer.write(records, Some(due), None), async {
            sleep_until(due + Duration::from_millis(10)).await;
            let spooled_by_then = spooled(&spool);
            tokio::time::resume();
            release(lock).await;
            spooled_by_then
        })
    }

    /// A write still running at its batch's deadline (the database locked by another
    /// connection) sets the batch aside in the spool by then and goes on; once it commits,
    /// the copy goes and the database counts as up, and "commits are slow" is said once.
    #[tokio::test]
    async fn a_write_past_its_deadline_is_set_aside_and_the_copy_goes_when_it_commits() {
        let mut bench = Bench::connected(config()).await;
        let (logs, _guard) = bench.capture_logs();
        let (fate, set_aside) = write_past_the_deadline(&mut bench, &new_calls(3)).await;
        assert_eq!(set_aside, 3, "in the spool by its deadline, while the write waited");
        assert_eq!(fate, Fate::Committed);
        assert_eq!((stored(&bench.db).await, spooled(&bench.spool)), ((3, 3), 0), "committed, the copy gone");
        assert!(bench.writer.up && !bench.spool.is_dirty(), "up, and nothing to replay");
        assert_eq!(lines_with(&logs, "statistics commits are slow").len(), 1);
        assert!(lines_with(&logs, "late_commits=1").len() == 1 && lines_with(&logs, "unavailable").is_empty());
    }

    /// Records reaching the channel while a write is stalled are spooled as their own time
    /// runs out, beside the set-aside batch, and stay there when the write commits.
    #[tokio::test]
    async fn records_reaching_the_channel_during_a_slow_write_are_spooled_when_their_time_is_up() {
        let mut bench = Bench::connected(config()).await;
        bench.send(&new_calls(2));
        let (fate, spooled_by_then) = write_past_the_deadline(&mut bench, &new_calls(3)).await;
        assert_eq!((fate, spooled_by_then), (Fate::Committed, 5), "the batch and the channel's two");
        assert_eq!((stored(&bench.db).await, spooled(&bench.spool)), ((3, 3), 2), "the two wait for a replay");
        assert!(bench.spool.is_dirty());
    }

    /// A write still running after 5 s is abandoned: the database counts as down, and the
    /// batch, set aside at its deadline, stays in the spool to be replayed.
    #[tokio::test]
    async fn a_write_still_running_after_five_seconds_counts_the_database_down_and_keeps_its_copy() {
        let mut bench = Bench::connected(config()).await;
        let lock = bench.lock_writes().await;
        let records = new_calls(3);
        tokio::time::pause();
        let started = Instant::now();
        let fate = bench.writer.write(&records, Some(due()), None).await;
        let given_up = started.elapsed();
        let five_seconds = Duration::from_secs(5);
        assert!(given_up >= five_seconds && given_up < five_seconds + Duration::from_millis(2), "{given_up:?}");
        assert_eq!(fate, Fate::Spooled);
        assert!(!bench.writer.up && !bench.writer.status.database_up(), "down");
        assert!(bench.spool.is_dirty() && spooled(&bench.spool) == 3, "the copy stays, to be replayed");
        tokio::time::resume();
        release(lock).await;
    }

    /// A write that fails leaves its batch to the caller to spool, and the database
    /// counts as down.
    #[tokio::test]
    async fn a_failed_write_counts_the_database_down_and_leaves_the_batch_to_its_caller() {
        let mut bench = Bench::connected(config()).await;
        bench.db.close().await;
        let fate = bench.writer.write(&new_calls(2), Some(due()), None).await;
        assert_eq!(fate, Fate::Refused);
        assert!(!bench.writer.up && spooled(&bench.spool) == 0);
    }
}
