//! The spool: records the database could not take yet, in append-only JSON-lines files in
//! `IVR_DATA_DIR/spool/`, flushed and fsync'd per batch so an acknowledged batch survives a
//! crash. New records go to `pending.jsonl`. A replay first renames it to
//! `replay-<n>.jsonl`, so appends carry on in a fresh file while the renamed one is read,
//! and deletes a file only once every record in it is committed. A crash in between
//! replays the file again; the database's `(call, seq)` keys make that count once.
//!
//! A batch the database is still writing when its records' time is up is
//! [set aside](Spool::set_aside) in a replay file of its own, removed once the write commits.
//!
//! A line cut short by a crash mid-append is skipped with a warning naming the file and line.

use std::fs::{self, File, OpenOptions};
use std::io::{self, BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, Ordering};

use super::record::Record;

const PENDING: &str = "pending.jsonl";

/// Records the database could not take in time, on disk (`IVR_DATA_DIR/spool`), replayed
/// into the database when it is back.
#[derive(Debug)]
pub struct Spool {
    dir: PathBuf,
    /// Held while appending or rotating, so lines from two writers never interleave.
    lock: Mutex<()>,
    /// Something was appended since the last replay began (or was left by a previous run).
    dirty: AtomicBool,
    /// The last append failed: records are being lost (readiness and metrics say so).
    failing: AtomicBool,
}

/// What the spool holds now: files waiting for the database, and their size.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct SpoolUsage {
    /// Files waiting.
    pub files: u64,
    /// Their size in bytes.
    pub bytes: u64,
}

impl Spool {
    /// The spool under `data_dir`; what a previous run left is replayed first.
    pub fn new(data_dir: &Path) -> Spool {
        let spool = Spool {
            dir: data_dir.join("spool"),
            lock: Mutex::new(()),
            dirty: AtomicBool::new(false),
            failing: AtomicBool::new(false),
        };
        spool.dirty.store(spool.has_pending(), Ordering::SeqCst);
        spool
    }

    /// The spool's folder.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Appends records as one batch: written, flushed and fsync'd before this returns.
    pub fn append(&self, records: &[Record]) -> io::Result<()> {
        if records.is_empty() {
            return Ok(());
        }
        let appended = self.append_batch(records);
        self.failing.store(appended.is_err(), Ordering::SeqCst);
        appended
    }

    /// Whether the last append failed.
    pub fn is_failing(&self) -> bool {
        self.failing.load(Ordering::SeqCst)
    }

    /// The files waiting for replay (the pending one included) and their bytes.
    pub fn usage(&self) -> io::Result<SpoolUsage> {
        let mut usage = SpoolUsage::default();
        let pending = self.dir.join(PENDING);
        for path in self.files()?.into_iter().chain(pending.exists().then_some(pending)) {
            let bytes = fs::metadata(&path).map_or(0, |m| m.len());
            if bytes > 0 {
                usage.files += 1;
                usage.bytes += bytes;
            }
        }
        Ok(usage)
    }

    /// Writes a batch the database is still writing to a replay file of its own, fsync'd
    /// before this returns: the writer's promise is kept while the write goes on. Once the
    /// write commits the writer [removes](Spool::remove) the file; if it does not, the file
    /// is replayed like any other (the spool is not marked dirty here: the writer does that
    /// when the write fails).
    pub fn set_aside(&self, records: &[Record]) -> io::Result<PathBuf> {
        let text = lines(records)?;
        let _guard = self.lock.lock().unwrap_or_else(|p| p.into_inner());
        self.ensure_dir()?;
        let path = self.dir.join(replay_name(self.next_replay_number()?));
        let mut file = OpenOptions::new().create_new(true).write(true).open(&path)?;
        file.write_all(text.as_bytes())?;
        file.sync_data()?;
        sync_dir(&self.dir)?;
        Ok(path)
    }

    fn append_batch(&self, records: &[Record]) -> io::Result<()> {
        let text = lines(records)?;
        let _guard = self.lock.lock().unwrap_or_else(|p| p.into_inner());
        let created = self.ensure_dir()?;
        let path = self.dir.join(PENDING);
        let fresh = !path.exists();
        let mut file = OpenOptions::new().create(true).append(true).open(&path)?;
        file.write_all(text.as_bytes())?;
        file.sync_data()?;
        self.dirty.store(true, Ordering::SeqCst);
        if fresh || created {
            sync_dir(&self.dir)?;
        }
        Ok(())
    }

    /// Whether a replay may find something: cheaper than [`Spool::has_pending`].
    pub fn is_dirty(&self) -> bool {
        self.dirty.load(Ordering::SeqCst)
    }

    /// Says a replay stopped short: its files are still there to replay.
    pub fn mark_dirty(&self) {
        self.dirty.store(true, Ordering::SeqCst);
    }

    /// Whether any records wait to be replayed.
    pub fn has_pending(&self) -> bool {
        self.files().map(|files| !files.is_empty()).unwrap_or(false)
            || fs::metadata(self.dir.join(PENDING)).is_ok_and(|m| m.len() > 0)
    }

    /// Moves the pending file aside for replay and lists every file to replay, oldest first.
    pub fn take_for_replay(&self) -> io::Result<Vec<PathBuf>> {
        let _guard = self.lock.lock().unwrap_or_else(|p| p.into_inner());
        self.dirty.store(false, Ordering::SeqCst);
        let pending = self.dir.join(PENDING);
        if fs::metadata(&pending).is_ok_and(|m| m.len() > 0) {
            fs::rename(&pending, self.dir.join(replay_name(self.next_replay_number()?)))?;
            sync_dir(&self.dir)?;
        }
        self.files()
    }

    /// The number after the newest replay file's (taken under the lock).
    fn next_replay_number(&self) -> io::Result<u64> {
        Ok(self.files()?.iter().filter_map(|p| replay_number(p)).max().map_or(1, |n| n + 1))
    }

    /// The files already set aside for replay, oldest first.
    fn files(&self) -> io::Result<Vec<PathBuf>> {
        let entries = match fs::read_dir(&self.dir) {
            Ok(entries) => entries,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(Vec::new()),
            Err(e) => return Err(e),
        };
        let mut files: Vec<(u64, PathBuf)> = Vec::new();
        for entry in entries {
            let path = entry?.path();
            if let Some(n) = replay_number(&path) {
                files.push((n, path));
            }
        }
        files.sort();
        Ok(files.into_iter().map(|(_, p)| p).collect())
    }

    /// Forgets a replayed file: every record in it is committed.
    pub fn remove(&self, file: &Path) -> io::Result<()> {
        fs::remove_file(file)?;
        sync_dir(&self.dir)
    }

    fn ensure_dir(&self) -> io::Result<bool> {
        if self.dir.is_dir() {
            return Ok(false);
        }
        fs::create_dir_all(&self.dir)?;
        if let Some(parent) = self.dir.parent() {
            sync_dir(parent)?;
        }
        Ok(true)
    }
}

/// Records as JSON lines, one per record.
fn lines(records: &[Record]) -> io::Result<String> {
    let mut text = String::new();
    for record in records {
        text.push_str(&serde_json::to_string(record).map_err(io::Error::other)?);
        text.push('\n');
    }
    Ok(text)
}

fn replay_name(number: u64) -> String {
    format!("replay-{number:08}.jsonl")
}

fn replay_number(path: &Path) -> Option<u64> {
    let name = path.file_name()?.to_str()?;
    name.strip_prefix("replay-")?.strip_suffix(".jsonl")?.parse().ok()
}

/// Makes a created, renamed or removed file's directory entry durable.
fn sync_dir(dir: &Path) -> io::Result<()> {
    #[cfg(unix)]
    File::open(dir)?.sync_all()?;
    #[cfg(not(unix))]
    let _ = dir;
    Ok(())
}

/// Reads a spool file a batch at a time.
pub struct SpoolReader {
    path: PathBuf,
    lines: io::Lines<BufReader<File>>,
    line: usize,
}

impl SpoolReader {
    pub fn open(path: &Path) -> io::Result<SpoolReader> {
        let lines = BufReader::new(File::open(path)?).lines();
        Ok(SpoolReader { path: path.to_owned(), lines, line: 0 })
    }

    /// Up to `max` records; empty at the end of the file.
    pub fn next_batch(&mut self, max: usize) -> io::Result<Vec<Record>> {
        let mut batch = Vec::new();
        while batch.len() < max {
            let Some(line) = self.lines.next() else { break };
            self.line += 1;
            match serde_json::from_str(&line?) {
                Ok(record) => batch.push(record),
                Err(error) => tracing::warn!(
                    file = %self.path.display(), line = self.line, %error, "skipped an unreadable spool line"
                ),
            }
        }
        Ok(batch)
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, reason = "a test stops at the first surprise")]
mod tests {
    use chrono::Utc;

    use super::*;
    use crate::call_edge::CallEnd;
    use crate::flow::CallId;

    fn records(count: usize) -> Vec<Record> {
        (0..count).map(|_| Record::ended(CallId::random(), CallEnd::Completed, Utc::now(), Some(30))).collect()
    }

    /// A slow write's copy comes after every file already waiting, never over one, is read
    /// back whole, leaves the spool clean for the writer to decide, and goes when removed.
    #[test]
    fn a_set_aside_batch_is_a_replay_file_of_its_own() {
        let dir = tempfile::tempdir().unwrap();
        let spool = Spool::new(dir.path());
        spool.append(&records(2)).unwrap();
        let waiting = spool.take_for_replay().unwrap();
        spool.append(&records(1)).unwrap();
        let dirty = spool.is_dirty();

        let batch = records(3);
        let copy = spool.set_aside(&batch).unwrap();
        assert_eq!(spool.is_dirty(), dirty, "setting aside does not ask for a replay");
        let read = SpoolReader::open(&copy).unwrap().next_batch(10).unwrap();
        assert_eq!(read.iter().map(|r| r.call).collect::<Vec<_>>(), batch.iter().map(|r| r.call).collect::<Vec<_>>());

        let all = spool.take_for_replay().unwrap();
        assert_eq!(all.len(), 3, "the first replay file, the copy, and the pending one rotated after it: {all:?}");
        assert_eq!((all[0].clone(), all[1].clone()), (waiting[0].clone(), copy.clone()));
        spool.remove(&copy).unwrap();
        assert_eq!(spool.take_for_replay().unwrap(), [all[0].clone(), all[2].clone()]);
    }
}
