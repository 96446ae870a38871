//! The default database: one SQLite file, in WAL mode so reports read while the writer writes.
//!
//! Writes go through a pool of exactly one connection and open with `BEGIN IMMEDIATE`
//! ([`Sqlite::begin_write`]), so there is one writer and it takes the write lock up front
//! instead of failing half-way; reads use read-only connections. `synchronous = FULL`: a
//! committed batch survives a power cut, because "nothing lost" includes the statistics
//! already acknowledged.
//!
//! A new file is made whole before anyone can open it: switching a file to WAL takes a lock
//! that two processes opening the same new file at once would fight over, and the loser
//! failed with "database is locked" before any migration ran. So no pool ever creates the
//! file; [`Sqlite::create_if_missing`] builds it, already in WAL mode, under a name of its
//! own beside the target, and hard-links it into place, which fails if another process got
//! there first (then its file is used). Once a file is in WAL mode, any number of
//! processes open it side by side.

use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

use sqlx::migrate::Migrator;
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteSynchronous};
use sqlx::{ConnectOptions, Connection, Transaction};

use super::{DbError, Migrated};

static MIGRATOR: Migrator = sqlx::migrate!("migrations/sqlite");

/// The writing connection's page cache: 32 MiB (a negative `cache_size` counts KiB).
const WRITER_CACHE_KIB: &str = "-32768";

/// A SQLite database: its single writing connection and its readers.
#[derive(Clone, Debug)]
pub struct Sqlite {
    writer: SqlitePool,
    reader: SqlitePool,
    /// What the pools connect with, for making a new file.
    options: Arc<SqliteConnectOptions>,
    pub(super) migrated: Migrated,
}

impl Sqlite {
    /// The database of a `sqlite://` URL, opening the file only when first used.
    pub fn connect_lazy(url: &str) -> Result<Sqlite, DbError> {
        let options = SqliteConnectOptions::from_str(url)?
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Full)
            .busy_timeout(Duration::from_secs(5))
            .create_if_missing(false);
        // The writer's page cache holds the tables' pages a batch touches (SQLite's default
        // is 2 MiB: past it, every statistics batch re-read pages from the file).
        let writing = options
            .clone()
            .pragma("cache_size", WRITER_CACHE_KIB)
            .pragma("wal_autocheckpoint", "16384")
            .pragma("temp_store", "memory");
        let writer = SqlitePoolOptions::new().max_connections(1).connect_lazy_with(writing);
        let reader = SqlitePoolOptions::new().max_connections(4).connect_lazy_with(options.clone().read_only(true));
        Ok(Sqlite { writer, reader, options: Arc::new(options), migrated: Migrated::default() })
    }

    /// The read-only connections, for reports and pages.
    pub fn reader(&self) -> &SqlitePool {
        &self.reader
    }

    /// The single writing connection's pool.
    pub fn writer(&self) -> &SqlitePool {
        &self.writer
    }

    /// A write transaction holding the write lock from its first statement.
    pub async fn begin_write(&self) -> Result<Transaction<'static, sqlx::Sqlite>, sqlx::Error> {
        self.writer.begin_with("BEGIN IMMEDIATE").await
    }

    pub(super) async fn ready(&self) -> Result<(), DbError> {
        self.migrated.get_or_try_init(|| self.migrate()).await?;
        Ok(())
    }

    /// Creates the file (if missing) and applies the embedded migrations. SQLite has no
    /// advisory lock for sqlx's migrator to take, so two processes starting at once
    /// (`ivr serve` and `ivr report`) could both apply a migration: holding the write lock
    /// makes the second wait and then find it applied.
    async fn migrate(&self) -> Result<(), DbError> {
        self.create_if_missing().await?;
        let mut tx = self.begin_write().await?;
        // `run_direct` is `run` on a connection we hold (sqlx's way around an `Acquire`
        // lifetime error in `Send` futures).
        MIGRATOR.run_direct(None, &mut *tx, false).await?;
        tx.commit().await?;
        Ok(())
    }

    /// Whether the database can be written now, told by a write: the write lock taken and a
    /// table made, then rolled back. A `SELECT 1` answers while another process holds the
    /// write lock, or on a read-only file, so it cannot tell.
    pub(super) async fn ping(&self) -> Result<(), DbError> {
        let mut tx = self.writer.begin_with("BEGIN IMMEDIATE").await?;
        sqlx::query("CREATE TABLE ivr_write_probe (written INTEGER)").execute(&mut *tx).await?;
        tx.rollback().await?;
        Ok(())
    }

    /// Readers first: the writer, closing last, checkpoints the log into the file and
    /// removes it (a read-only connection cannot).
    pub(super) async fn close(&self) {
        self.reader.close().await;
        self.writer.close().await;
    }

    /// Makes the file, empty and in WAL mode, unless it exists; safe from any number of
    /// processes at once (see the module's comment).
    pub(super) async fn create_if_missing(&self) -> Result<(), DbError> {
        let path = self.options.get_filename();
        if path.as_os_str().to_string_lossy().starts_with("file:") || path.exists() {
            return Ok(()); // in memory, or made already
        }
        let draft = draft_name(path);
        let made = self.make_draft(&draft).await;
        let placed = made.and_then(|()| place(&draft, path).map_err(DbError::Create));
        for leftover in [draft.clone(), with_suffix(&draft, "-wal"), with_suffix(&draft, "-shm")] {
            let _ = std::fs::remove_file(leftover);
        }
        placed
    }

    /// An empty database in WAL mode at `draft`, closed (so its log is folded and removed).
    async fn make_draft(&self, draft: &Path) -> Result<(), DbError> {
        let options = (*self.options).clone().filename(draft).create_if_missing(true);
        // Connecting applies `journal_mode = WAL`, which writes the file's first page.
        let connection = options.connect().await?;
        connection.close().await?;
        Ok(())
    }
}

/// A name beside `path` that no other process uses.
fn draft_name(path: &Path) -> PathBuf {
    let name = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    path.with_file_name(format!(".{name}.{}.{:016x}.new", std::process::id(), rand::random::<u64>()))
}

fn with_suffix(path: &Path, suffix: &str) -> PathBuf {
    let mut name = path.as_os_str().to_owned();
    name.push(suffix);
    PathBuf::from(name)
}

/// Puts the finished draft at `path`, unless a file is there already (another process
/// made it first: theirs is used, and is just as new).
fn place(draft: &Path, path: &Path) -> std::io::Result<()> {
    match std::fs::hard_link(draft, path) {
        Ok(()) => Ok(()),
        Err(error) if error.kind() == std::io::ErrorKind::AlreadyExists => Ok(()),
        // A file system without hard links: a rename can replace a file made meanwhile,
        // so it is only done when none is there.
        Err(_) if !path.exists() => std::fs::rename(draft, path),
        Err(_) => Ok(()),
    }
}
