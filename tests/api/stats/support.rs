//! What the statistics tests share: a fresh database of either kind per test, one that is
//! unreachable until the test brings it up, and a macro that runs a test on both kinds.
//!
//! SQLite: a file in a temporary folder; "unreachable" is a file in a folder that does not
//! exist yet. PostgreSQL (when `IVR_TEST_POSTGRES_URL` is set): a database of its own per
//! test on that server; "unreachable" is a database not created yet, so connecting fails as
//! with a server that is not ready.

use std::path::PathBuf;

use ivr::db::Db;
use ivr::stats::{Summarize, Summary};
use sqlx::Connection;

/// Runs each listed `async fn name(backend: Backend)` once on SQLite and once on
/// PostgreSQL (which passes without running when `IVR_TEST_POSTGRES_URL` is unset, and
/// fails then when `CI` is set: see `optional.rs`).
macro_rules! on_both_databases {
    ($($name:ident),* $(,)?) => {
        mod sqlite {
            $(
                #[tokio::test]
                async fn $name() {
                    super::$name($crate::stats::support::Backend::Sqlite).await
                }
            )*
        }
        mod postgres {
            $(
                #[tokio::test]
                async fn $name() {
                    if let Some(backend) = $crate::stats::support::Backend::postgres() {
                        super::$name(backend).await
                    }
                }
            )*
        }
    };
}
pub(crate) use on_both_databases;

#[derive(Clone, Debug)]
pub enum Backend {
    Sqlite,
    /// The server's URL, from `IVR_TEST_POSTGRES_URL`.
    Postgres(String),
}

impl Backend {
    pub fn postgres() -> Option<Backend> {
        crate::optional::suite("IVR_TEST_POSTGRES_URL", "PostgreSQL suite").map(Backend::Postgres)
    }
}

/// A database of this test's own, deleted at the end.
pub struct TestDatabase {
    pub url: String,
    /// Holds the SQLite file; also a data folder the test may use.
    pub dir: tempfile::TempDir,
    pub sqlite_file: Option<PathBuf>,
    postgres: Option<(String, String)>,
}

impl TestDatabase {
    /// A fresh, empty, reachable database.
    pub async fn new(backend: &Backend) -> TestDatabase {
        let db = TestDatabase::unreachable(backend);
        db.bring_up().await;
        db
    }

    /// A database that cannot be used until [`TestDatabase::bring_up`].
    pub fn unreachable(backend: &Backend) -> TestDatabase {
        let dir = tempfile::tempdir().expect("a temporary folder");
        match backend {
            Backend::Sqlite => {
                let file = dir.path().join("not-yet").join("stats.sqlite3");
                let url = format!("sqlite://{}", file.display());
                TestDatabase { url, dir, sqlite_file: Some(file), postgres: None }
            }
            Backend::Postgres(server) => {
                // A database per test, not a schema: sqlx's migrator locks per database, so
                // tests in schemas of one database wait on each other.
                let database = format!("ivr_test_{:016x}", rand::random::<u64>());
                let url = with_database(server, &database);
                TestDatabase { url, dir, sqlite_file: None, postgres: Some((server.clone(), database)) }
            }
        }
    }

    /// Makes the database usable.
    pub async fn bring_up(&self) {
        if let Some(file) = &self.sqlite_file {
            std::fs::create_dir_all(file.parent().expect("a folder")).expect("the folder is made");
        }
        if let Some((server, database)) = &self.postgres {
            let mut admin = sqlx::PgConnection::connect(server).await.expect("IVR_TEST_POSTGRES_URL is reachable");
            // An identifier cannot be a bind parameter; the name is this test's own hex.
            let create = sqlx::AssertSqlSafe(format!("CREATE DATABASE {database}"));
            sqlx::query(create).execute(&mut admin).await.expect("the test database is made");
        }
    }

    /// The store, migrated.
    pub async fn store(&self) -> Db {
        let store = Db::connect(&self.url).await.expect("the test database opens");
        store.ready().await.expect("the test database migrates");
        store
    }

    /// The summary of the days around today (tests may run across midnight UTC).
    pub async fn summary_around_today(&self) -> Summary {
        self.store().await.summary(around_today()).await.expect("a summary")
    }

    /// Everything stored, as bytes a test can search: the SQLite files, or every row of
    /// every table as JSON text.
    pub async fn contents(&self) -> Vec<u8> {
        if let Some(file) = &self.sqlite_file {
            let mut bytes = Vec::new();
            for suffix in ["", "-wal", "-shm", "-journal"] {
                let path = PathBuf::from(format!("{}{suffix}", file.display()));
                bytes.extend(std::fs::read(path).unwrap_or_default());
            }
            return bytes;
        }
        let store = self.store().await;
        let Db::Postgres(pg) = &store else { unreachable!("a PostgreSQL test database") };
        let mut text = String::new();
        for sql in [
            "SELECT row_to_json(t)::text FROM call_steps t",
            "SELECT row_to_json(t)::text FROM calls t",
            "SELECT row_to_json(t)::text FROM daily_totals t",
            "SELECT row_to_json(t)::text FROM recent_callers t",
            "SELECT row_to_json(t)::text FROM _sqlx_migrations t",
        ] {
            let rows: Vec<String> = sqlx::query_scalar(sql).fetch_all(pg.reader()).await.expect("rows");
            text.extend(rows.into_iter().map(|r| r + "\n"));
        }
        text.into_bytes()
    }
}

impl Drop for TestDatabase {
    fn drop(&mut self) {
        let Some((server, database)) = self.postgres.take() else { return };
        // Drop runs inside the test's runtime: use a thread with a runtime of its own.
        let dropped = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("a runtime");
            runtime.block_on(async {
                let mut admin = sqlx::PgConnection::connect(&server).await.ok()?;
                // FORCE ends this test's own pooled connections instead of waiting on them.
                let drop = sqlx::AssertSqlSafe(format!("DROP DATABASE IF EXISTS {database} WITH (FORCE)"));
                sqlx::query(drop).execute(&mut admin).await.ok()
            })
        });
        let _ = dropped.join();
    }
}

/// `server` (a PostgreSQL URL) with its database name replaced by `database`.
fn with_database(server: &str, database: &str) -> String {
    let (base, query) = server.split_once('?').map_or((server, None), |(b, q)| (b, Some(q)));
    let base = match base.rfind('/') {
        Some(slash) if slash > base.find("//").map_or(0, |i| i + 1) => &base[..slash],
        _ => base,
    };
    match query {
        Some(query) => format!("{base}/{database}?{query}"),
        None => format!("{base}/{database}"),
    }
}

pub fn today() -> chrono::NaiveDate {
    chrono::Utc::now().date_naive()
}

pub fn around_today() -> ivr::stats::DateRange {
    let day = chrono::TimeDelta::days(1);
    ivr::stats::DateRange::new(today() - day, today() + day).expect("a range")
}

/// A provider `CallSid` no other call in the test binary uses.
pub fn new_call_sid() -> String {
    format!("CA{:032x}", rand::random::<u128>())
}

/// Whether `needle` occurs anywhere in `haystack`.
pub fn contains(haystack: &[u8], needle: &str) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle.as_bytes())
}

/// Waits for `condition` to hold, polling every 20 ms for at most 10 s: for work the
/// service does on its own schedule (the retention purge runs beside the writer).
pub async fn eventually<F: Future<Output = bool>>(what: &str, mut condition: impl FnMut() -> F) {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while !condition().await {
        assert!(std::time::Instant::now() < deadline, "still not true after 10 s: {what}");
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
}
