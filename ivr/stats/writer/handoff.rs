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
