//! What the writer's unit tests stand on: a [`Writer`] over a real SQLite file and a real
//! spool in a temporary folder, the sending end of its channel, records to send, and a
//! look at what reached the database, the spool and the log.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use chrono::{NaiveDate, Utc};
use sqlx::Connection;
use tokio::sync::{Notify, mpsc, oneshot};
use tokio::time::Instant;

use super::{Writer, WriterConfig, WriterStatus};
use crate::db::Db;
use crate::flow::CallId;
use crate::stats::range::DateRange;
use crate::stats::record::{CallEvent, Record, call_key, to_minute};
use crate::stats::recorder::{Message, Overflow};
use crate::stats::spool::{Spool, SpoolReader};
use crate::stats::store::Store;

/// The service's own timing: batches of 512, records spooled 200 ms after their answer.
pub(super) fn config() -> WriterConfig {
    WriterConfig {
        batch_size: 512,
        batch_delay: Duration::from_millis(50),
        write_timeout: Duration::from_millis(200),
        retention_days: 365,
    }
}

/// A writer, its channel and its spool, over a database file in a folder of its own.
pub(super) struct Bench {
    pub(super) writer: Writer,
    pub(super) tx: mpsc::Sender<Message>,
    pub(super) spool: Arc<Spool>,
    pub(super) db: Db,
    url: String,
    /// Holds the database and the spool.
    pub(super) dir: tempfile::TempDir,
    /// The writer's stop signal: a writer not spawned would take its dropped sender for one.
    _stop: oneshot::Sender<Instant>,
}

impl Bench {
    /// A writer that has not connected yet (nothing is opened until it does).
    pub(super) fn new(config: WriterConfig) -> Bench {
        Bench::at("stats.sqlite3", config)
    }

    /// A writer whose database cannot be made: its file is in a folder that does not exist.
    pub(super) fn unreachable(config: WriterConfig) -> Bench {
        Bench::at("not-yet/stats.sqlite3", config)
    }

    /// A writer connected to its migrated database, as after start-up, with retention's
    /// first run over.
    pub(super) async fn connected(config: WriterConfig) -> Bench {
        let mut bench = Bench::new(config);
        assert!(bench.writer.probe().await, "the database is ready");
        if let Some(purge) = bench.writer.purging.take() {
            purge.await.unwrap();
        }
        bench
    }

    fn at(file: &str, config: WriterConfig) -> Bench {
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}", dir.path().join(file).display());
        let db = Db::connect_lazy(&url).unwrap();
        let spool = Arc::new(Spool::new(dir.path()));
        let overflow = Arc::new(Overflow::new(Arc::clone(&spool)));
        let (tx, rx) = mpsc::channel(1024);
        let (flush, status) = (Arc::new(Notify::new()), Arc::new(WriterStatus::default()));
        let mut writer = Writer::new(rx, config, db.clone(), Arc::clone(&spool), overflow, flush, status);
        let (stop, stopped) = oneshot::channel();
        writer.stop = stopped;
        Bench { writer, tx, spool, db, url, dir, _stop: stop }
    }

    /// Sends records down the channel, as the recorder does.
    pub(super) fn send(&self, records: &[Record]) {
        for record in records {
            self.tx.try_send(Message::Record(record.clone())).unwrap();
        }
    }

    /// Logs what is said on this thread (the writer's, in a current-thread test) while the
    /// guard lives, to a file read by [`lines_with`].
    pub(super) fn capture_logs(&self) -> (PathBuf, tracing::subscriber::DefaultGuard) {
        let path = self.dir.path().join("log.txt");
        let file = Arc::new(std::fs::File::create(&path).unwrap());
        let subscriber = tracing_subscriber::fmt().with_writer(file).with_ansi(false).finish();
        (path, tracing::subscriber::set_default(subscriber))
    }

    /// Takes the database's write lock from a connection of its own, as another process
    /// would, and holds it until [`release`].
    pub(super) async fn lock_writes(&self) -> sqlx::SqliteConnection {
        let mut lock = sqlx::SqliteConnection::connect(&self.url).await.unwrap();
        sqlx::query("BEGIN IMMEDIATE").execute(&mut lock).await.unwrap();
        lock
    }
}

/// Gives the write lock back.
pub(super) async fn release(mut lock: sqlx::SqliteConnection) {
    sqlx::query("ROLLBACK").execute(&mut lock).await.unwrap();
}

/// The first record of each of `count` new calls, today.
pub(super) fn new_calls(count: usize) -> Vec<Record> {
    (0..count).map(|_| call_on(Utc::now().date_naive())).collect()
}

/// The first record of a new call on `day`.
pub(super) fn call_on(day: NaiveDate) -> Record {
    Record {
        call: call_key(CallId::random()),
        seq: 1,
        day,
        started_at: Some(to_minute(Utc::now())),
        elapsed: Some(0),
        events: vec![CallEvent::Started],
    }
}

/// Today's calls in the database: its call rows, and the calls its daily totals count.
pub(super) async fn stored(db: &Db) -> (usize, i64) {
    let today = Utc::now().date_naive();
    let range = DateRange::new(today, today).unwrap();
    let rows = db.calls(range).await.unwrap().len();
    let totals = db.range_totals(range).await.unwrap();
    (rows, totals.days.iter().map(|day| day.calls).sum())
}

/// The records waiting in the spool, over all its files.
pub(super) fn spooled(spool: &Spool) -> usize {
    let Ok(entries) = std::fs::read_dir(spool.dir()) else { return 0 };
    let files = entries.map(|entry| entry.unwrap().path()).filter(|path| path.is_file());
    files.map(|file| SpoolReader::open(&file).unwrap().next_batch(usize::MAX).unwrap().len()).sum()
}

/// The captured lines that hold `text`.
pub(super) fn lines_with(logs: &Path, text: &str) -> Vec<String> {
    let logs = std::fs::read_to_string(logs).unwrap();
    logs.lines().filter(|line| line.contains(text)).map(str::to_owned).collect()
}
