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
