//! Stopping the writer: [`WriterHandle`], and the drain the task ends with.
//!
//! At shutdown the channel goes to the spool first (one fsync'd append: nothing answered
//! is lost however the rest goes); the spool is then replayed only for as long as the
//! shutdown deadline allows, and only into a database that took the last write: an old
//! backlog, or a database known to be down, is the next start's job.

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::oneshot;
use tokio::task::JoinHandle;
use tokio::time::Instant;

use super::Writer;

/// How long [`WriterHandle::drain`] (tools and benchmarks) may replay the spool.
const TOOL_DRAIN: Duration = Duration::from_secs(60);

/// Stops the writer: the drain returns once everything is committed or spooled.
pub struct WriterHandle {
    pub(super) stop: oneshot::Sender<Instant>,
    pub(super) task: JoinHandle<()>,
}

impl WriterHandle {
    /// Stops the writer, replaying the spool for up to a minute (tools and benchmarks).
    pub async fn drain(self) {
        self.drain_by(Instant::now() + TOOL_DRAIN).await;
    }

    /// Stops the writer: the channel goes to the spool at once, then the spool is replayed
    /// into the database until `deadline` at the latest.
    pub async fn drain_by(self, deadline: Instant) {
        let _ = self.stop.send(deadline);
        if let Err(error) = self.task.await {
            tracing::error!(%error, "the statistics writer failed");
        }
    }
}

impl Writer {
    /// What the channel still holds goes to the spool first (one fsync'd append), then the
    /// spool is replayed for as long as the deadline allows; the rest is the next start's.
    pub(super) async fn drain(mut self) {
        let deadline = self.stopping.unwrap_or_else(Instant::now);
        let spooled = self.spool_closed_channel().await;
        self.finish_connecting(deadline).await;
        // Never waits on a database known to be down; a working one gets until the deadline.
        if self.up && self.spool.is_dirty() && Instant::now() < deadline {
            self.replay(Some(deadline)).await;
        }
        if let Some(purge) = self.purging.take() {
            purge.abort(); // rolled back; it runs again at the next start
        }
        let report = self.reply_to_flushes();
        tracing::info!(records = spooled, database_up = self.up, spooled = report.spooled, "statistics drained");
    }

    /// Closes the channel, spools what it holds and waits for the overflow's appends;
    /// how many records the channel held.
    async fn spool_closed_channel(&mut self) -> usize {
        self.rx.close();
        let records = self.take_channel();
        let records = self.unexpired(records);
        let spooled = records.len();
        self.to_spool(records).await;
        let overflow = Arc::clone(&self.overflow);
        let _ = tokio::task::spawn_blocking(move || overflow.wait_idle()).await;
        self.overflow.settle(true);
        spooled
    }

    /// A connection still under way (a service stopped soon after it started, a slow
    /// migration) gets until `deadline` to finish, so what was spooled can still be
    /// committed; one that has not finished by then is abandoned, and the spool is the next
    /// start's. Without a connection under way, nothing is started.
    async fn finish_connecting(&mut self, deadline: Instant) {
        let Some(mut connecting) = self.connecting.take() else { return };
        match tokio::time::timeout_at(deadline, &mut connecting).await {
            Ok(ended) => {
                self.connected(Some(ended));
            }
            Err(_) => connecting.abort(),
        }
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use tokio::sync::oneshot;
    use tokio::time::Instant;

    use crate::stats::recorder::{FlushReport, Message};
    use crate::stats::writer::WriterConfig;
    use crate::stats::writer::fixture::{Bench, config, new_calls, spooled, stored};

    /// A writer that would not wake for five minutes on its own.
    fn sleepy() -> WriterConfig {
        WriterConfig { batch_delay: Duration::from_secs(300), write_timeout: Duration::from_secs(600), ..config() }
    }

    /// At a drain, what the channel holds and what the spool holds both reach a working
    /// database before the deadline, and a flush request waiting is answered.
    #[tokio::test]
    async fn a_drain_commits_the_channel_and_the_spool_into_a_working_database() {
        let mut bench = Bench::connected(sleepy()).await;
        bench.spool.append(&new_calls(2)).unwrap();
        let (reply, mut answer) = oneshot::channel();
        bench.send(&new_calls(3));
        bench.tx.try_send(Message::Flush(reply)).unwrap();
        bench.writer.stopping = Some(Instant::now() + Duration::from_secs(60));
        let (db, spool) = (bench.db.clone(), bench.spool.clone());
        bench.writer.drain().await;
        assert_eq!((stored(&db).await, spooled(&spool)), ((5, 5), 0));
        assert_eq!(answer.try_recv().expect("answered"), FlushReport { database_up: true, spooled: false });
    }

    /// With the database unreachable, a drain spools what the channel holds and ends at
    /// once, without waiting for the database.
    #[tokio::test]
    async fn a_drain_with_the_database_down_spools_the_channel_and_ends_at_once() {
        let bench = Bench::unreachable(sleepy());
        bench.send(&new_calls(3));
        let spool = bench.spool.clone();
        let started = std::time::Instant::now();
        let handle = bench.writer.spawn();
        handle.drain_by(Instant::now() + Duration::from_secs(60)).await;
        assert!(started.elapsed() < Duration::from_secs(5), "{:?}", started.elapsed());
        assert_eq!(spooled(&spool), 3);
    }

    /// A connection still under way when the drain starts is waited for (until the
    /// deadline), and what was spooled meanwhile is committed: a service stopped right after
    /// it started, or during a slow migration, leaves nothing to the next start.
    #[tokio::test]
    async fn a_drain_waits_for_a_connection_under_way_and_commits_into_it() {
        let mut bench = Bench::new(sleepy());
        bench.writer.connect();
        bench.send(&new_calls(3));
        bench.writer.stopping = Some(Instant::now() + Duration::from_secs(60));
        let (db, spool) = (bench.db.clone(), bench.spool.clone());
        bench.writer.drain().await;
        assert_eq!((stored(&db).await, spooled(&spool)), ((3, 3), 0));
    }

    /// The running writer, stopped before its first tick, still commits what it was sent.
    #[tokio::test]
    async fn a_running_writer_stopped_before_its_tick_commits_what_it_was_sent() {
        let bench = Bench::connected(sleepy()).await;
        bench.send(&new_calls(4));
        let (db, spool) = (bench.db.clone(), bench.spool.clone());
        bench.writer.spawn().drain().await;
        assert_eq!((stored(&db).await, spooled(&spool)), ((4, 4), 0));
    }
}
