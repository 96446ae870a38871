//! What the channel holds, taken a batch at a time, and whether each batch is written or
//! goes to the spool at once.
//!
//! A batch takes up to `batch_size` records; while batches come out full (the writer is
//! behind), each next one is twice as large, up to [`PRESSURE_BATCHES`] times: fewer
//! transactions, fewer fsyncs. A batch gets only what is left of its oldest record's time,
//! counted from when the channel was last seen empty (the writer cannot see each record's
//! arrival): one already past it (the writer was behind) or met while the database is down
//! or backing off goes to the spool without a try. Flush requests met in the channel are
//! answered once the records before them are committed or spooled.

use tokio::sync::mpsc::error::TryRecvError;
use tokio::time::Instant;

use super::handoff::Fate;
use super::{SPOOL_MARGIN, Writer};
use crate::stats::record::Record;
use crate::stats::recorder::{FlushReport, Message};

/// How many times `batch_size` a batch grows to while the channel stays full.
const PRESSURE_BATCHES: usize = 8;

impl Writer {
    /// Commits (or spools) everything the channel holds, a batch at a time. Flush requests
    /// are kept for [`Writer::answer_flushes`]. `false` once the channel is closed.
    pub(super) async fn take_all(&mut self) -> bool {
        let mut size = self.config.batch_size;
        loop {
            let (records, open) = self.take_batch(size);
            let full = records.len() >= size;
            // Every record taken arrived after the channel was last seen empty.
            let deadline = self.record_deadline();
            self.commit(records, deadline).await;
            if !open || !full {
                return open;
            }
            size = next_batch_size(size, self.config.batch_size);
        }
    }

    /// Up to `size` records from the channel, and whether it is still open. Seeing it empty
    /// restarts the time of the records that reach it next.
    fn take_batch(&mut self, size: usize) -> (Vec<Record>, bool) {
        let mut records = Vec::with_capacity(size);
        let open = loop {
            match self.next_record() {
                Ok(record) => records.push(record),
                Err(TryRecvError::Empty) => {
                    self.emptied_at = Instant::now();
                    break true;
                }
                Err(TryRecvError::Disconnected) => break false,
            }
            if records.len() >= size {
                break true;
            }
        };
        (records, open)
    }

    /// Every record the channel holds now; flush requests are kept for later.
    pub(super) fn take_channel(&mut self) -> Vec<Record> {
        std::iter::from_fn(|| self.next_record().ok()).collect()
    }

    /// The channel's next record; flush requests met on the way are kept for later.
    fn next_record(&mut self) -> Result<Record, TryRecvError> {
        loop {
            match self.rx.try_recv()? {
                Message::Record(record) => return Ok(record),
                Message::Flush(reply) => self.flushes.push(reply),
            }
        }
    }

    /// By when the records now in the channel must be committed, or the spool started.
    pub(super) fn record_deadline(&self) -> Instant {
        self.emptied_at + self.config.write_timeout.saturating_sub(SPOOL_MARGIN)
    }

    /// Commits a batch, or spools it: at once if it is already past `deadline` (the writer
    /// was behind) or the database is down, and by `deadline` if the write is still running.
    async fn commit(&mut self, records: Vec<Record>, deadline: Instant) {
        let records = self.unexpired(records);
        if records.is_empty() {
            return;
        }
        if Instant::now() < deadline
            && self.may_write()
            && self.write(&records, Some(deadline), None).await != Fate::Refused
        {
            return;
        }
        self.to_spool(records).await;
    }

    /// Answers flush requests: the database is tried now (if it was down) and the spool
    /// replayed if it is up. Only tests and tools flush; webhooks never wait for it.
    pub(super) async fn answer_flushes(&mut self) {
        if self.flushes.is_empty() {
            return;
        }
        if self.probe().await && self.spool.is_dirty() {
            self.replay(None).await;
        }
        self.reply_to_flushes();
    }

    /// Tells every flush request kept so far where things stand now.
    pub(super) fn reply_to_flushes(&mut self) -> FlushReport {
        let report = FlushReport { database_up: self.up, spooled: self.spool.has_pending() };
        for reply in self.flushes.drain(..) {
            let _ = reply.send(report);
        }
        report
    }
}

/// The size of the batch after a full one of `last` records: twice as large, up to
/// [`PRESSURE_BATCHES`] times `base`.
fn next_batch_size(last: usize, base: usize) -> usize {
    (last * 2).min(base * PRESSURE_BATCHES)
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use tokio::sync::oneshot;
    use tokio::time::{Instant, advance};

    use super::next_batch_size;
    use crate::stats::recorder::{FlushReport, Message};
    use crate::stats::writer::WriterConfig;
    use crate::stats::writer::fixture::{Bench, config, new_calls, spooled, stored};

    /// Time enough that no deadline passes while a test runs on the real clock.
    fn unhurried(batch_size: usize) -> WriterConfig {
        WriterConfig { batch_size, write_timeout: Duration::from_secs(60), ..config() }
    }

    /// While batches come out full, each next one is twice as large, up to eight times
    /// the configured size.
    #[test]
    fn a_full_batch_is_followed_by_one_twice_as_large_up_to_eight_times_the_size() {
        let sizes = |base| {
            std::iter::successors(Some(base), |&last| Some(next_batch_size(last, base))).take(6).collect::<Vec<_>>()
        };
        assert_eq!(sizes(512), [512, 1024, 2048, 4096, 4096, 4096]);
        assert_eq!(sizes(3), [3, 6, 12, 24, 24, 24]);
    }

    /// A batch takes no more than its size, keeps the flush requests it meets for later,
    /// and tells an open channel from a closed one.
    #[tokio::test]
    async fn a_batch_takes_at_most_its_size_and_keeps_the_flush_requests_it_meets() {
        let mut bench = Bench::new(config());
        let records = new_calls(5);
        bench.send(&records[..2]);
        bench.tx.try_send(Message::Flush(oneshot::channel().0)).unwrap();
        bench.send(&records[2..]);
        assert_eq!(bench.writer.take_batch(3), (records[..3].to_vec(), true));
        assert_eq!(bench.writer.flushes.len(), 1);
        assert_eq!(bench.writer.take_batch(3), (records[3..].to_vec(), true), "the rest, the channel open");
        bench.writer.rx.close();
        assert_eq!(bench.writer.take_batch(3), (Vec::new(), false), "closed");
    }

    /// The records' time runs from when the channel was last seen empty: a batch cut
    /// off by its size leaves it, one that empties the channel starts it again.
    #[tokio::test(start_paused = true)]
    async fn the_records_time_runs_from_when_the_channel_was_last_seen_empty() {
        let mut bench = Bench::new(config());
        let first = bench.writer.record_deadline();
        advance(Duration::from_secs(1)).await;
        bench.send(&new_calls(2));
        bench.writer.take_batch(1);
        assert_eq!(bench.writer.record_deadline(), first, "the channel was not seen empty");
        bench.writer.take_batch(2);
        assert_eq!(
            bench.writer.record_deadline(),
            Instant::now() + Duration::from_millis(150),
            "200 ms less the margin"
        );
    }

    /// A batch whose time is already up (the writer was behind) goes to the spool
    /// without a try; one in time is committed, not spooled.
    #[tokio::test]
    async fn a_batch_past_its_deadline_is_spooled_without_a_try_and_one_in_time_is_committed() {
        let mut bench = Bench::connected(unhurried(512)).await;
        bench.writer.commit(new_calls(3), Instant::now()).await;
        assert_eq!((stored(&bench.db).await, spooled(&bench.spool)), ((0, 0), 3));
        bench.writer.commit(new_calls(2), Instant::now() + Duration::from_secs(60)).await;
        assert_eq!((stored(&bench.db).await, spooled(&bench.spool)), ((2, 2), 3));
    }

    /// While the database is backing off, or not connected yet, a batch is spooled at once.
    #[tokio::test]
    async fn a_batch_met_while_the_database_is_down_is_spooled_at_once() {
        let mut bench = Bench::connected(unhurried(512)).await;
        bench.writer.down("refused");
        bench.writer.commit(new_calls(2), Instant::now() + Duration::from_secs(60)).await;
        assert_eq!((stored(&bench.db).await, spooled(&bench.spool)), ((0, 0), 2));

        let mut unconnected = Bench::new(unhurried(512));
        unconnected.writer.commit(new_calls(2), Instant::now() + Duration::from_secs(60)).await;
        assert_eq!(spooled(&unconnected.spool), 2);
    }

    /// One take commits everything the channel holds, whatever the batch size, and a flush
    /// request met on the way is answered after it; a closed channel ends the writer's loop.
    #[tokio::test]
    async fn one_take_commits_everything_the_channel_holds_before_a_flush_is_answered() {
        let mut bench = Bench::connected(unhurried(2)).await;
        let (reply, mut answer) = oneshot::channel();
        bench.send(&new_calls(6));
        bench.tx.try_send(Message::Flush(reply)).unwrap();
        bench.send(&new_calls(5));
        assert!(bench.writer.take_all().await, "the channel is open");
        assert_eq!((stored(&bench.db).await, spooled(&bench.spool)), ((11, 11), 0));
        bench.writer.answer_flushes().await;
        assert_eq!(answer.try_recv().expect("answered"), FlushReport { database_up: true, spooled: false });
        bench.writer.rx.close();
        assert!(!bench.writer.take_all().await, "closed");
    }

    /// A flush with the database unreachable is answered at once: down, records spooled.
    #[tokio::test]
    async fn a_flush_with_the_database_unreachable_says_so_and_that_the_records_are_spooled() {
        let mut bench = Bench::unreachable(unhurried(512));
        let (reply, mut answer) = oneshot::channel();
        bench.send(&new_calls(3));
        bench.tx.try_send(Message::Flush(reply)).unwrap();
        bench.writer.take_all().await;
        bench.writer.answer_flushes().await;
        assert_eq!(answer.try_recv().expect("answered"), FlushReport { database_up: false, spooled: true });
        assert_eq!(spooled(&bench.spool), 3);
    }
}
