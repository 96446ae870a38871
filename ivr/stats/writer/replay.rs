//! The spool back into the database, once it takes writes again.
//!
//! Files go oldest first, a batch at a time, and a file is removed only once every record
//! in it is committed. Between batches the channel's records go first: they are the ones
//! with a deadline. A call's row is refolded from all its stored records, and a record
//! stored twice counts once, so neither the order nor a file replayed again after a crash
//! changes the totals. A replay stops at the first failure, at a stop request, or at the
//! shutdown deadline, and what it did not finish stays for the next one.

use std::path::PathBuf;
use std::sync::Arc;

use tokio::time::Instant;

use super::handoff::Fate;
use super::{SPOOL_MARGIN, Writer};
use crate::stats::record::Record;
use crate::stats::spool::SpoolReader;

impl Writer {
    /// Replays the spool, oldest file first, a batch at a time; between batches the
    /// channel's records go first. Stops at the first failure, at a stop request, or at
    /// `until`, keeping what is not replayed for later.
    pub(super) async fn replay(&mut self, until: Option<Instant>) {
        let Some(files) = self.files_to_replay().await else { return };
        let mut replayed = 0;
        for file in files {
            match self.replay_file(file.clone(), until).await {
                Ok(count) => {
                    replayed += count;
                    crate::instruments::replayed(count);
                }
                Err(count) => {
                    replayed += count;
                    self.spool.mark_dirty();
                    self.backoff.defer();
                    break;
                }
            }
            if let Err(error) = self.spool.remove(&file) {
                tracing::error!(%error, "cannot remove a replayed spool file");
            }
        }
        if replayed > 0 {
            tracing::info!(records = replayed, "statistics spool replayed");
        }
    }

    /// The spool's files, oldest first, the pending one moved aside to be the last.
    async fn files_to_replay(&self) -> Option<Vec<PathBuf>> {
        let spool = Arc::clone(&self.spool);
        match tokio::task::spawn_blocking(move || spool.take_for_replay()).await {
            Ok(Ok(files)) => Some(files),
            Ok(Err(error)) => {
                tracing::error!(%error, "cannot read the statistics spool");
                None
            }
            Err(error) => {
                tracing::error!(%error, "cannot read the statistics spool");
                None
            }
        }
    }

    /// The records of one spool file, committed; `Err` with what was replayed when stopped short.
    async fn replay_file(&mut self, file: PathBuf, until: Option<Instant>) -> Result<usize, usize> {
        let mut reader = SpoolReader::open(&file).map_err(|error| {
            tracing::error!(%error, "cannot open a spool file");
            0_usize
        })?;
        let mut count = 0;
        loop {
            if until.is_none() && !self.rx.is_empty() {
                self.take_all().await;
            }
            if self.replay_must_stop(until) {
                return Err(count);
            }
            let (batch, rest) = next_batch(reader, self.config.batch_size).await.ok_or(count)?;
            reader = rest;
            if batch.is_empty() {
                return Ok(count);
            }
            let batch = self.unexpired(batch);
            if !batch.is_empty() && self.write(&batch, None, until).await != Fate::Committed {
                return Err(count);
            }
            count += batch.len();
        }
    }

    /// Whether a replay stops before its next batch: too close to `until` for a batch, or
    /// (with no `until`: not the shutdown's own replay) shutdown asked for.
    fn replay_must_stop(&mut self, until: Option<Instant>) -> bool {
        match until {
            Some(until) => Instant::now() + SPOOL_MARGIN >= until,
            None => self.stop_requested(),
        }
    }
}

/// The next batch of up to `size` records of a spool file, read on the blocking pool, and
/// the reader for the rest; `None` (logged) if the file cannot be read.
async fn next_batch(mut reader: SpoolReader, size: usize) -> Option<(Vec<Record>, SpoolReader)> {
    match tokio::task::spawn_blocking(move || (reader.next_batch(size), reader)).await {
        Ok((Ok(batch), reader)) => Some((batch, reader)),
        Ok((Err(error), _)) => {
            tracing::error!(%error, "cannot read a spool file");
            None
        }
        Err(error) => {
            tracing::error!(%error, "spool reader failed");
            None
        }
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use tokio::time::Instant;

    use crate::stats::writer::WriterConfig;
    use crate::stats::writer::fixture::{Bench, config, new_calls, spooled, stored};

    /// Small batches, and time enough that no deadline passes while a test runs.
    fn small_batches() -> WriterConfig {
        WriterConfig { batch_size: 2, write_timeout: Duration::from_secs(60), ..config() }
    }

    /// Every record in every kind of spool file (a replay file left by an earlier replay,
    /// a slow write's set-aside batch, the pending file) is committed, a record spooled
    /// twice counts once, and the spool is left empty and clean.
    #[tokio::test]
    async fn a_replay_commits_every_spooled_record_once_and_empties_the_spool() {
        let mut bench = Bench::connected(small_batches()).await;
        let (earlier, set_aside, pending) = (new_calls(3), new_calls(2), new_calls(4));
        bench.spool.append(&earlier).unwrap();
        bench.spool.take_for_replay().unwrap();
        bench.spool.set_aside(&set_aside).unwrap();
        bench.spool.append(&earlier[..1]).unwrap();
        bench.spool.append(&pending).unwrap();
        bench.writer.replay(None).await;
        assert_eq!((stored(&bench.db).await, spooled(&bench.spool)), ((9, 9), 0));
        assert!(!bench.spool.is_dirty() && !bench.spool.has_pending());
    }

    /// Files are replayed oldest first, and a replay stops at the first one it cannot
    /// finish: the files before it are committed and gone, it and every later one stay
    /// (none skipped), and the next try waits. Once it can be read, the next replay
    /// finishes the rest.
    #[tokio::test]
    async fn a_replay_goes_oldest_file_first_and_stops_at_the_first_it_cannot_finish() {
        let mut bench = Bench::connected(small_batches()).await;
        let (first, last) = (new_calls(3), new_calls(2));
        bench.spool.append(&first).unwrap();
        let oldest = bench.spool.take_for_replay().unwrap().remove(0);
        // The second file: a folder where a file's records should be, so reading it fails.
        let unreadable = oldest.with_file_name("replay-00000002.jsonl");
        std::fs::create_dir(&unreadable).unwrap();
        bench.spool.append(&last).unwrap();

        bench.writer.replay(None).await;
        assert_eq!(stored(&bench.db).await, (3, 3), "the oldest file only");
        assert!(!oldest.exists() && unreadable.exists());
        assert_eq!(spooled(&bench.spool), 2, "the newest is kept");
        assert!(bench.spool.is_dirty(), "to be replayed");
        assert!(bench.writer.backoff.retry_at() > Instant::now(), "after a wait");

        std::fs::remove_dir(&unreadable).unwrap();
        bench.writer.replay(None).await;
        assert_eq!((stored(&bench.db).await, spooled(&bench.spool)), ((5, 5), 0));
    }

    /// Between a replay's batches, records reaching the channel are committed too, not
    /// left waiting behind the backlog.
    #[tokio::test]
    async fn the_channel_is_committed_between_a_replays_batches() {
        let mut bench = Bench::connected(small_batches()).await;
        bench.spool.append(&new_calls(6)).unwrap();
        bench.send(&new_calls(3));
        bench.writer.replay(None).await;
        assert_eq!((stored(&bench.db).await, spooled(&bench.spool)), ((9, 9), 0));
        assert!(bench.writer.rx.is_empty());
    }

    /// A replay with no time left replays nothing and keeps everything.
    #[tokio::test]
    async fn a_replay_out_of_time_keeps_every_record() {
        let mut bench = Bench::connected(small_batches()).await;
        bench.spool.append(&new_calls(4)).unwrap();
        bench.writer.replay(Some(Instant::now())).await;
        assert_eq!((stored(&bench.db).await, spooled(&bench.spool)), ((0, 0), 4));
        assert!(bench.spool.is_dirty());
    }
}
